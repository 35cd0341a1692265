# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Paper table 3: the cosine distance ``1 - cos`` between English-Burmese word pairs, before and after the eq. 2
mapping.

The loaders read what ``python -m modeling_ctam.alignment`` and ``save_pretrained`` write: :func:`load_mapping` (an
alignment's ``mapping.safetensors`` through :func:`modeling_ctam.vxlm.load_mapping_file`, or the trained map inside a
model folder), :func:`load_word_vectors` and :func:`default_word_pairs` (sentiment words from the myPar lexicon).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SENTIMENT_WORDS",
    "load_mapping",
    "load_word_vectors",
    "default_word_pairs",
    "read_word_pairs",
    "cosine_distance_table",
    "cosine_markdown",
]

DEFAULT_SENTIMENT_WORDS = (
    "good",
    "bad",
    "happy",
    "sad",
    "angry",
    "great",
    "smile",
    "cry",
    "love",
    "hate",
    "like",
    "nice",
    "beautiful",
    "ugly",
    "cheap",
    "expensive",
    "delicious",
    "excellent",
    "terrible",
    "wonderful",
    "poor",
    "clean",
    "dirty",
    "broken",
    "fast",
    "slow",
    "comfortable",
    "satisfied",
    "disappointed",
    "useful",
    "easy",
    "difficult",
    "new",
    "old",
    "hungry",
    "big",
    "small",
)
"""English sentiment words looked up in the myPar lexicon by :func:`default_word_pairs` (those it holds are used).
"sweet" and "well" are left out on purpose: myPar translates them in their noun senses (candy, a water well)."""


# --------------------------------------------------------------------------------------------------------------------
# table 3: cosine distance between aligned word pairs
# --------------------------------------------------------------------------------------------------------------------


def load_mapping(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The eq. 2 mapping ``W``, ``mu_tgt``, ``mu_src`` from a trained model folder or an alignment result.

    Args:
        path (`str` or `os.PathLike`): one of

            - a model folder written by ``save_pretrained`` (``model.safetensors`` or a sharded index; the tensors
              ``*mapping.weight``, ``*mapping.target_mean``, ``*mapping.source_mean``: the trained, "dynamic" map);
            - an alignment folder or file written by ``python -m modeling_ctam.alignment`` (``mapping.safetensors``
              with ``weight``, ``target_mean``, ``source_mean``: the Procrustes solution).

    Returns:
        `dict`: ``weight`` `(d, d)` acting on column vectors, ``target_mean`` `(d,)`, ``source_mean`` `(d,)`, float64,
        and ``source`` (`str`, which file they came from).

    Raises:
        FileNotFoundError / ValueError: nothing that holds a mapping (e.g. an ``xlmr-base`` model, which has none).
    """
    from safetensors import safe_open

    from ..vxlm import MAPPING_FILE, MAPPING_TENSORS, load_mapping_file

    path = Path(path)
    found: dict[str, Any] = {}
    alignment = path / MAPPING_FILE if path.is_dir() else path
    if alignment.is_file() and not alignment.name.startswith("model"):
        tensors, _ = load_mapping_file(alignment)  # an alignment result: the one mapping loader
        found = {part: tensors[part].double().numpy() for part in MAPPING_TENSORS}
        found["source"] = str(alignment)
        return found
    if path.is_dir():  # a model folder: the trained ("dynamic") map among the model weights
        candidates = [path / "model.safetensors"]
        index = path / "model.safetensors.index.json"
        if index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
            candidates += sorted({path / f for k, f in weight_map.items() if "mapping." in k})
        files = [c for c in candidates if c.is_file()]
    else:
        files = [path] if path.is_file() else []
    if not files:
        raise FileNotFoundError(
            f"{path}: no mapping.safetensors or model.safetensors; give a CTAM model folder or an alignment folder "
            "written by `python -m modeling_ctam.alignment`."
        )
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():
                for part in MAPPING_TENSORS:
                    if part not in found and key.endswith(f"mapping.{part}"):
                        found[part] = handle.get_tensor(key).double().numpy()
                        found.setdefault("source", str(file))
    if "weight" not in found:
        raise ValueError(
            f"{path} holds no eq. 2 mapping (no 'weight' / '*mapping.weight' tensor): it is not a VXLM/CTAM model "
            "(an xlmr-base ablation has no mapping) nor an alignment result."
        )
    d = found["weight"].shape[0]
    if found["weight"].shape != (d, d):
        raise ValueError(f"{found['source']}: mapping weight has shape {found['weight'].shape}, expected square.")
    for part in ("target_mean", "source_mean"):
        if part not in found:
            found[part] = np.zeros(d)
    return found


def load_word_vectors(path: str | os.PathLike, words: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Reads static word vectors: a word2vec text file (``V d`` header, then ``word v1 ... vd``; what
    ``python -m modeling_ctam.alignment --save-vectors`` writes) or a
    :class:`modeling_ctam.alignment.static_vectors.StaticVectors` file pair (``PATH.json`` + ``PATH.safetensors``,
    first layer).

    Args:
        path (`str` or `os.PathLike`): the file (or the common stem of the pair).
        words (`Iterable[str]`, *optional*): only keep these words (the file is streamed, so a large vocabulary
            costs no memory). In word2vec files spaces inside words are written as ``_``; both forms match.

    Returns:
        `dict[str, np.ndarray]`: word -> vector (float64); the first occurrence of a repeated word wins.
    """
    path = Path(path)
    wanted = None if words is None else set(words) | {w.replace(" ", "_") for w in words}
    stem_json = Path(str(path) + ".json")
    if not path.is_file() and stem_json.is_file():
        from safetensors.torch import load_file

        info = json.loads(stem_json.read_text(encoding="utf-8"))
        matrix = load_file(str(path) + ".safetensors")["vectors"][0].double().numpy()
        return {w: matrix[i] for i, w in enumerate(info["words"]) if wanted is None or w in wanted}
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no word-vector file (word2vec text, or PATH.json + PATH.safetensors).")
    out: dict[str, np.ndarray] = {}
    with path.open("r", encoding="utf-8") as handle:
        first = handle.readline().split()
        dim = None
        if len(first) == 2 and all(p.isdigit() for p in first):
            dim = int(first[1])
        else:  # no header: the first line is a vector
            handle.seek(0)
        for number, line in enumerate(handle, 2 if dim is not None else 1):
            word, _, rest = line.rstrip("\n").partition(" ")
            if not word or (wanted is not None and word not in wanted) or word in out:
                continue
            vector = np.array(rest.split(), dtype=float)
            if dim is None:
                dim = vector.size
            if vector.size != dim:
                raise ValueError(f"{path}:{number}: {vector.size} values for {word!r}, expected {dim}.")
            out[word] = vector
            out.setdefault(word.replace("_", " "), vector)
    return out


def read_word_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """English-Burmese word pairs from a file: ``English | Burmese`` lines (myPar style) or a TSV
    (``english<TAB>burmese``, an optional header starting with ``english``). Blank lines and ``#`` comments are
    skipped."""
    path = Path(path)
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("|") if "|" in line else line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"{path}:{number}: expected 'English | Burmese' or 'english<TAB>burmese', got {line!r}.")
        english, burmese = parts[0].strip(), parts[1].strip()
        if number == 1 and english.lower() == "english":
            continue
        pairs.append((english, burmese))
    if not pairs:
        raise ValueError(f"{path} holds no word pairs.")
    return pairs


def default_word_pairs(
    data_dir: str | os.PathLike | None = None,
    words: Sequence[str] = DEFAULT_SENTIMENT_WORDS,
    limit: int | None = 12,
) -> list[tuple[str, str]]:
    """A handful of sentiment word pairs from the myPar lexicon (``lexicon/English-Myanmar-one-to-one.ver0.9.txt``).

    The single-word pairs are read with :func:`modeling_ctam.alignment.lexicon.read_mypar` (the same normalisation as
    the alignment's dictionaries); the first Burmese translation of each word of ``words`` that the lexicon holds is
    kept, in the order of ``words``.

    Args:
        data_dir (`str` or `os.PathLike`, *optional*): the shared data folder (default
            :func:`modeling_ctam.utils.paths.data_dir`, i.e. ``CTAM_DATA_DIR``).
        words (`Sequence[str]`, *optional*): English words to look up (default :data:`DEFAULT_SENTIMENT_WORDS`).
        limit (`int`, *optional*, defaults to 12): at most this many pairs (`None` for all found).
    """
    from ..alignment.lexicon import MYPAR_FILE, read_mypar
    from ..utils.paths import data_dir as default_data_dir

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    path = root.joinpath(*MYPAR_FILE)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; point CTAM_DATA_DIR (or --data-dir) at the shared data folder."
        )
    first: dict[str, str] = {}
    for entry in read_mypar(path, duplicates="ignore"):
        first.setdefault(entry.english, entry.burmese)
    pairs = [(w, first[w]) for w in words if w in first]
    if not pairs:
        raise ValueError(f"{path} holds none of the words {list(words)[:8]} ...")
    return pairs[:limit] if limit else pairs


def _cos_distance(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(1.0 - np.dot(a, b) / (na * nb))


def cosine_distance_table(
    pairs: Sequence[tuple[str, str]],
    source_vectors: Mapping[str, np.ndarray],
    target_vectors: Mapping[str, np.ndarray],
    mapping: Mapping[str, np.ndarray],
) -> dict[str, Any]:
    """``1 - cos`` between English-Burmese word pairs before and after the eq. 2 mapping (paper table 3).

    *Before* compares the raw static vectors, ``1 - cos(x_my, y_en)`` (the identity mapping). *After* maps the
    Burmese vector as the model does, ``W (x_my - mu_tgt) + mu_src``, and compares it with the English one. Lower is
    better aligned.

    Args:
        pairs (`Sequence[tuple[str, str]]`): ``(english, burmese)`` word pairs.
        source_vectors (`Mapping[str, np.ndarray]`): English static vectors (``y``).
        target_vectors (`Mapping[str, np.ndarray]`): Burmese static vectors (``x``).
        mapping (`Mapping[str, np.ndarray]`): ``weight`` `(d, d)`, ``target_mean``, ``source_mean`` (see
            :func:`load_mapping`).

    Returns:
        `dict`: ``rows`` (one per pair: ``english``, ``burmese``, ``before``, ``after``, ``found``), ``mean_before``,
        ``mean_after`` (over pairs found on both sides), ``n_pairs``, ``n_found``, ``missing`` (pairs with a word
        absent from the vectors).
    """
    weight = np.asarray(mapping["weight"], dtype=float)
    d = weight.shape[0]
    mu_t = np.asarray(mapping.get("target_mean", np.zeros(d)), dtype=float)
    mu_s = np.asarray(mapping.get("source_mean", np.zeros(d)), dtype=float)
    rows, missing = [], []
    for english, burmese in pairs:
        y = source_vectors.get(english)
        x = target_vectors.get(burmese)
        if y is None or x is None:
            missing.append(
                {
                    "english": english,
                    "burmese": burmese,
                    "absent": [s for s, v in (("english", y), ("burmese", x)) if v is None],
                }
            )
            rows.append({"english": english, "burmese": burmese, "before": None, "after": None, "found": False})
            continue
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != (d,) or y.shape != (d,):
            raise ValueError(
                f"vectors of {english!r}/{burmese!r} have shapes {x.shape}/{y.shape}, the mapping needs ({d},)."
            )
        mapped = weight @ (x - mu_t) + mu_s  # eq. 2
        rows.append(
            {
                "english": english,
                "burmese": burmese,
                "before": _cos_distance(x, y),
                "after": _cos_distance(mapped, y),
                "found": True,
            }
        )
    found = [r for r in rows if r["found"]]
    mean = lambda key: float(np.mean([r[key] for r in found])) if found else None  # noqa: E731
    if missing:
        logger.warning(
            "%d of %d word pairs are missing from the vectors (e.g. %s).", len(missing), len(pairs), missing[0]
        )
    return {
        "rows": rows,
        "mean_before": mean("before"),
        "mean_after": mean("after"),
        "n_pairs": len(pairs),
        "n_found": len(found),
        "missing": missing,
    }


def cosine_markdown(table: Mapping[str, Any], title: str | None = None) -> str:
    """Renders :func:`cosine_distance_table` as Markdown."""
    lines = [f"## {title}", ""] if title else []
    lines += [
        "Cosine distance `1 - cos` between English and Burmese static word vectors; *after* applies the eq. 2 mapping "
        "`W (x - mu_tgt) + mu_src` to the Burmese vector. Lower is closer.",
        "",
        "| English | Burmese | before | after |",
        "|---|---|---:|---:|",
    ]
    for row in table["rows"]:
        if row["found"]:
            lines.append(f"| {row['english']} | {row['burmese']} | {row['before']:.4f} | {row['after']:.4f} |")
        else:
            lines.append(f"| {row['english']} | {row['burmese']} | missing | missing |")
    if table["n_found"]:
        lines.append(
            f"| **mean** ({table['n_found']} pairs) | | **{table['mean_before']:.4f}** | "
            f"**{table['mean_after']:.4f}** |"
        )
    return "\n".join(lines) + "\n"
