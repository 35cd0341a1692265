"""End-to-end tests of `python -m modeling_ctam.alignment`, of the static-vector builder
(modeling_ctam.alignment.static_vectors) and of the alignment corpora (modeling_ctam.data.corpus).

A tiny random BERT with a WordPiece tokenizer is saved to a temporary folder, so no download and no big encoder is
needed; one slow test runs the real offline encoder (fixture `offline_encoder_dir` in conftest.py).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("burmesenlp")

from modeling_ctam.alignment import cli as align  # noqa: E402
from modeling_ctam.alignment import lexicon as lex  # noqa: E402
from modeling_ctam.alignment import static_vectors as sv  # noqa: E402
from modeling_ctam.alignment.mapping import load_mapping  # noqa: E402
from modeling_ctam.data import corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

PAIRS = [  # (english, burmese): a small parallel vocabulary for synthetic corpora
    ("cat", "ကြောင်"),
    ("dog", "ခွေး"),
    ("house", "အိမ်"),
    ("water", "ရေ"),
    ("rice", "ထမင်း"),
    ("fish", "ငါး"),
    ("book", "စာအုပ်"),
    ("school", "ကျောင်း"),
    ("teacher", "ဆရာ"),
    ("mother", "အမေ"),
    ("father", "အဖေ"),
    ("tree", "သစ်ပင်"),
    ("flower", "ပန်း"),
    ("car", "ကား"),
    ("road", "လမ်း"),
    ("good", "ကောင်း"),
    ("big", "ကြီး"),
    ("eat", "စား"),
    ("drink", "သောက်"),
    ("go", "သွား"),
    ("come", "လာ"),
    ("see", "မြင်"),
    ("sleep", "အိပ်"),
    ("money", "ပိုက်ဆံ"),
    ("phone", "ဖုန်း"),
    ("shop", "ဆိုင်"),
    ("river", "မြစ်"),
    ("moon", "လ"),
    ("sun", "နေ"),
    ("rain", "မိုး"),
]
SEED, EVAL = PAIRS[:18], PAIRS[18:]


def write_corpora(folder: Path, n: int = 240, seed: int = 0) -> tuple[Path, Path]:
    """Parallel synthetic sentences: English plain text, Burmese TALPCo-style `id<TAB>sentence`."""
    rng = random.Random(seed)
    en_lines, my_lines = [], []
    for i in range(n):
        idx = [rng.randrange(len(PAIRS)) for _ in range(rng.randint(3, 8))]
        extra = rng.random() < 0.3
        en_lines.append(" ".join(PAIRS[j][0] for j in idx) + (" ok 5" if extra else "") + " .")
        my_lines.append(f"{1000 + i}\t" + " ".join(PAIRS[j][1] for j in idx) + (" ok ၅" if extra else "") + " ။")
    en, my = folder / "english.txt", folder / "burmese_talpco.txt"
    en.write_text("\n".join(en_lines) + "\n", encoding="utf-8")
    my.write_text("\n".join(my_lines) + "\n", encoding="utf-8")
    return en, my


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory) -> str:
    """A random 2-layer BERT (hidden 32) with a WordPiece tokenizer covering the synthetic corpora."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-encoder")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = [w for pair in PAIRS for w in pair] + ["ok", "5", "၅", ".", "။"]
    chars = sorted({c for w in words for c in w})
    vocab_list = specials + sorted(set(words)) + chars + [f"##{c}" for c in chars]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(vocab_list))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    return str(folder)


@pytest.fixture()
def corpora(tmp_path):
    en, my = write_corpora(tmp_path)
    seed = tmp_path / "seed.txt"
    seed.write_text("".join(f"{e} | {m}\n" for e, m in SEED), encoding="utf-8")
    dev = lex.write_pairs_tsv(EVAL, tmp_path / "dev.tsv")
    return {"en": en, "my": my, "seed": seed, "dev": dev, "dir": tmp_path}


def base_args(tiny_encoder, corpora, *extra) -> list[str]:
    return [
        "--encoder",
        tiny_encoder,
        "--source-corpus",
        str(corpora["en"]),
        "--target-corpus",
        str(corpora["my"]),
        "--seed-dict",
        str(corpora["seed"]),
        "--eval-dict",
        str(corpora["dev"]),
        "--output-dir",
        str(corpora["dir"] / "out"),
        "--layer",
        "1",
        "--batch-size",
        "16",
        "--quiet",
        *extra,
    ]


REPORT_KEYS = {
    "p_at_1",
    "p_at_5",
    "p_at_10",
    "nn_p_at_1",
    "nn_p_at_5",
    "nn_p_at_10",
    "coverage",
    "iterations",
    "seconds",
    "seed_dictionary_size",
    "dictionary_size",
    "vocab_size_source",
    "vocab_size_target",
}


def test_cli_writes_mapping_and_report(tiny_encoder, corpora):
    from modeling_ctam.vxlm import VecMapMapping

    rc = align.main(base_args(tiny_encoder, corpora, "--identical", "--numerals", "--save-vectors"))
    assert rc == 0
    out = corpora["dir"] / "out"
    tensors, meta = load_mapping(out)
    assert tensors["weight"].shape == (32, 32)
    assert tensors["target_mean"].shape == (32,) and tensors["source_mean"].shape == (32,)
    assert meta["encoder"] == tiny_encoder and meta["layer"] == "1"
    assert meta["formula"] == "h_vec = W (h_static - target_mean) + source_mean"
    w = tensors["weight"].double()
    assert torch.allclose(w @ w.T, torch.eye(32, dtype=torch.float64), atol=1e-4), "W should be orthogonal"

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert REPORT_KEYS <= set(report)
    assert report["vocab_size_source"] == len(PAIRS) + 2  # + "ok", "5"
    assert report["vocab_size_target"] == len(PAIRS) + 2  # + "ok", "၅" ("။" is punctuation)
    assert report["coverage"] == 1.0 and report["eval"]["queries"] == len(EVAL)
    assert 0.0 <= report["p_at_1"] <= report["p_at_5"] <= report["p_at_10"] <= 1.0
    assert report["seed_dictionaries"]["identical"]["pairs"] == 1  # "ok"
    assert report["seed_dictionaries"]["numerals"]["pairs"] == 1  # 5 / ၅
    assert report["seed_dictionary_size"] == len(SEED) + 2

    # the stored means are the means of the static vectors written with --save-vectors
    def read_w2v(path):
        lines = path.read_text(encoding="utf-8").splitlines()
        v, d = map(int, lines[0].split())
        rows = {l.split(" ")[0]: [float(t) for t in l.split(" ")[1:]] for l in lines[1:]}
        assert len(rows) == v and all(len(r) == d for r in rows.values())
        return rows

    my_vectors = read_w2v(out / "vectors.my.txt")
    en_vectors = read_w2v(out / "vectors.en.txt")
    assert "ကြောင်" in my_vectors and "cat" in en_vectors
    assert torch.allclose(torch.tensor(list(my_vectors.values())).mean(0), tensors["target_mean"], atol=1e-4)
    assert torch.allclose(torch.tensor(list(en_vectors.values())).mean(0), tensors["source_mean"], atol=1e-4)

    mapping = VecMapMapping(32)
    mapping.load_alignment(tensors["weight"], tensors["target_mean"], tensors["source_mean"])
    h = torch.tensor(my_vectors["ကြောင်"])
    expected = tensors["weight"] @ (h - tensors["target_mean"]) + tensors["source_mean"]
    assert torch.allclose(mapping(h[None, None], is_target=True)[0, 0], expected, atol=1e-5)


def test_cli_as_a_subprocess(tiny_encoder, corpora):
    out = corpora["dir"] / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "modeling_ctam.alignment", *base_args(tiny_encoder, corpora, "--whiten")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["coverage"] == 1.0
    assert (out / "mapping.safetensors").is_file() and (out / "report.json").is_file()
    assert json.loads((out / "report.json").read_text())["config"]["whiten"] is True


def test_cli_seed_without_vocabulary_words_names_the_file(tiny_encoder, corpora, capsys):
    bad = corpora["dir"] / "foreign_seed.txt"
    bad.write_text("zebra | မြင်းကျား\nlion | ခြင်္သေ့\n", encoding="utf-8")
    args = base_args(tiny_encoder, corpora)
    args[args.index(str(corpora["seed"]))] = str(bad)
    assert align.main(args) == 2
    err = capsys.readouterr().err
    assert "foreign_seed.txt" in err and "none of its 2 pairs" in err


def test_cli_malformed_seed_names_file_and_line(tiny_encoder, corpora, capsys):
    bad = corpora["dir"] / "lexicon.txt"
    bad.write_text("cat | ကြောင်\ndog ခွေး\n", encoding="utf-8")
    args = base_args(tiny_encoder, corpora)
    args[args.index(str(corpora["seed"]))] = str(bad)
    assert align.main(args) == 2
    assert "lexicon.txt:2: expected 'English | Burmese'" in capsys.readouterr().err


def test_cli_non_utf8_corpus_names_file_and_byte(tiny_encoder, corpora, capsys):
    bad = corpora["dir"] / "latin1.txt"
    bad.write_bytes(b"a fine film .\nan caf\xe9 film .\n")
    args = base_args(tiny_encoder, corpora)
    args[args.index(str(corpora["en"]))] = str(bad)
    assert align.main(args) == 2
    err = capsys.readouterr().err
    assert "latin1.txt:2: invalid UTF-8 (byte 0xe9 at character 6)" in err  # file, line and the byte


def test_cli_requires_a_seed(tiny_encoder, corpora):
    args = [a for a in base_args(tiny_encoder, corpora)]
    i = args.index("--seed-dict")
    del args[i : i + 2]
    with pytest.raises(SystemExit, match="no seed dictionary"):
        align.main(args)


# ---------------------------------------------------------------------------------------------------------------
# static vectors
# ---------------------------------------------------------------------------------------------------------------


def test_static_vectors_are_corpus_means_over_subtokens(tiny_encoder):
    """Eq. 1 over a corpus, checked against a direct per-token computation."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    model = AutoModel.from_pretrained(tiny_encoder).eval()
    texts = ["cat dog cat .", "Dog house", "the cat, the DOG!"]  # "the" is unknown: split into char pieces
    vectors = sv.compute_static_vectors(
        model, tokenizer, texts, "en", layers=[0, 2], vocab_size=None, batch_size=2, show_progress=False
    )
    assert vectors.words[:2] == ["cat", "dog"] and vectors.counts[:2] == [3, 3]  # frequency order, lower-cased
    assert vectors.vectors.shape == (2, len(vectors.words), 32)
    sums = {w: torch.zeros(32, dtype=torch.float64) for w in vectors.words}
    n = {w: 0 for w in vectors.words}
    with torch.no_grad():
        for text in texts:
            enc = tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
            hidden = model(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True
            ).hidden_states[2][0]
            spans = sv.english_words(text)
            for t, (s, e) in enumerate(enc["offset_mapping"][0].tolist()):
                for word, ws, we in spans:
                    if s < we and ws < e and e > s:
                        sums[word] += hidden[t].double()
                        n[word] += 1
                        break
    for i, w in enumerate(vectors.words):
        assert vectors.token_counts[i] == n[w]
        assert torch.allclose(vectors.layer(2)[i].double(), sums[w] / n[w], atol=1e-5), w
    assert n["the"] > 2  # a multi-piece word: every sub-token position counts


def test_static_vectors_burmese_segmentation_and_cache(tiny_encoder, tmp_path):
    en, my = write_corpora(tmp_path, n=40)
    tok_model = sv.load_encoder(tiny_encoder, "cpu")
    first = sv.cached_static_vectors(
        tiny_encoder,
        [str(my)],
        "my",
        [1],
        None,
        cache=tmp_path / "cache",
        model_and_tokenizer=tok_model,
        show_progress=False,
    )
    files = sorted((tmp_path / "cache").iterdir())
    assert [f.suffix for f in files] == [".json", ".safetensors"]
    again = sv.cached_static_vectors(
        tiny_encoder,
        [str(my)],
        "my",
        [1],
        None,
        cache=tmp_path / "cache",
        model_and_tokenizer=None,
        show_progress=False,
    )  # no model: must hit the cache
    assert again.words == first.words and torch.equal(again.vectors, first.vectors)
    assert "ကြောင်" in first.words and "။" not in first.words
    assert first.counts == sorted(first.counts, reverse=True)


def test_read_corpus_formats(tmp_path):
    from modeling_ctam.utils.paths import data_dir

    root = data_dir()
    if not root.is_dir():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    assert len(corpus.read_corpus(root / "en/mr/rt-polarity.pos", "en")) == 5331  # Latin-1, U+0085 is not a newline
    assert corpus.read_corpus(root / "en/sst2/train.tsv", "en")[0] == "hide new secretions from the parental units"
    assert (
        corpus.read_corpus(root / "en/uci_sentiment_labelled/yelp_labelled.txt", "en")[0] == "Wow... Loved this place."
    )
    assert len(corpus.read_corpus(root / "parallel/talpco/data_myn.txt", "my")) == 1372
    xnli_my = corpus.read_corpus(root / "parallel/myxnli/my.genre.dev.tsv", "my")
    xnli_en = corpus.read_corpus(root / "parallel/myxnli/my.genre.dev.tsv", "en")
    assert len(xnli_my) == len(xnli_en) == 2 * 2490 and xnli_en[0] == "And he said, Mama, I'm home."
    gk = corpus.read_corpus(root / "my/gklmip/product_sentiment_dataset_train.json", "my")
    assert len(gk) == 2492
    with pytest.raises(FileNotFoundError, match="not a Hub dataset id"):
        corpus.read_corpus(tmp_path / "missing.txt", "en")


def test_dedupe_subsumed_phrases():
    phrases = ["a fine film", "fine film", "a fine", "film", "another thing", "a fine film"]
    assert corpus.dedupe_sentences(phrases, "exact") == ["a fine film", "fine film", "a fine", "film", "another thing"]
    assert corpus.dedupe_sentences(phrases, "subsumed") == ["a fine film", "another thing"]


@pytest.mark.slow
def test_cli_on_the_offline_encoder(offline_encoder_dir, tmp_path):
    from modeling_ctam.utils.paths import data_dir

    root = data_dir()
    split = lex.write_default_split(tmp_path / "split")
    rc = align.main(
        [
            "--encoder",
            offline_encoder_dir,
            "--layer",
            "6",
            "--max-sentences",
            "400",
            "--vocab-size",
            "3000",
            "--source-corpus",
            str(root / "en/uci_sentiment_labelled/yelp_labelled.txt"),
            "--target-corpus",
            str(root / "parallel/talpco/data_myn.txt"),
            "--seed-dict",
            str(split["seed"]),
            "--identical",
            "--numerals",
            "--eval-dict",
            str(split["dev"]),
            "--output-dir",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    assert rc == 0
    tensors, meta = load_mapping(tmp_path / "out")
    assert tensors["weight"].shape == (384, 384) and meta["layer"] == "6"
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert REPORT_KEYS <= set(report) and 0 < report["coverage"] < 1


def test_early_exit_gives_the_same_vectors(tiny_encoder):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    model = AutoModel.from_pretrained(tiny_encoder).eval()
    texts = ["cat dog cat .", "the house of the good teacher", "rain and sun"]
    full = sv.compute_static_vectors(
        model, tokenizer, texts, "en", layers=[0, 1], vocab_size=None, show_progress=False, early_exit=False
    )
    fast = sv.compute_static_vectors(
        model, tokenizer, texts, "en", layers=[0, 1], vocab_size=None, show_progress=False, early_exit=True
    )
    assert full.words == fast.words
    assert torch.allclose(full.vectors, fast.vectors, atol=1e-6)
    assert sv._layer_stack(model) is model.encoder.layer


def test_cache_of_all_layers_serves_a_single_layer_request(tiny_encoder, tmp_path):
    en, _ = write_corpora(tmp_path, n=40)
    tok_model = sv.load_encoder(tiny_encoder, "cpu")
    full = sv.cached_static_vectors(
        tiny_encoder,
        [str(en)],
        "en",
        [0, 1, 2],
        None,
        cache=tmp_path / "cache",
        model_and_tokenizer=tok_model,
        show_progress=False,
    )
    # no model given: only a cache hit can answer
    part = sv.cached_static_vectors(
        tiny_encoder,
        [str(en)],
        "en",
        1,
        10,
        cache=tmp_path / "cache",
        model_and_tokenizer=("no tokenizer", "no model"),
        show_progress=False,
    )
    direct = sv.compute_static_vectors(
        tok_model[1], tok_model[0], corpus.load_corpora([str(en)], "en"), "en", [1], 10, show_progress=False
    )
    assert part.layers == [1] and part.words == direct.words == full.words[:10]
    assert torch.allclose(part.vectors, direct.vectors, atol=1e-6)


def test_cli_merges_repeated_dictionary_pairs_with_a_count(tiny_encoder, corpora):
    """Public dictionaries repeat pairs: the CLI merges the repeats, counts them in the report and goes on (a TSV
    seed dictionary with each pair twice, and an evaluation dictionary with a repeat)."""
    seed = corpora["dir"] / "seed_repeats.tsv"
    seed.write_text("english\tburmese\n" + "".join(f"{e}\t{m}\n" for e, m in SEED + SEED[:3]), encoding="utf-8")
    dev = corpora["dir"] / "dev_repeats.tsv"
    dev.write_text("english\tburmese\n" + "".join(f"{e}\t{m}\n" for e, m in EVAL + EVAL[:1]), encoding="utf-8")
    args = base_args(tiny_encoder, corpora)
    args[args.index(str(corpora["seed"]))] = str(seed)
    args[args.index(str(corpora["dev"]))] = str(dev)
    assert align.main(args) == 0
    report = json.loads((corpora["dir"] / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["seed_dictionaries"]["seed_repeats.tsv"]["repeated_pairs"] == 3
    assert report["seed_dictionary_size"] == len(SEED) and report["eval"]["queries"] == len(EVAL)
    entries = lex.read_lexicon(seed)
    assert entries.repeated == 3 and len(entries) == len(SEED)
    with pytest.raises(lex.LexiconFormatError, match=r"seed_repeats\.tsv:\d+: duplicate pair"):
        lex.read_pairs_tsv(seed, duplicates="error")
