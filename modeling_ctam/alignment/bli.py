# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Bilingual lexicon induction (BLI): how well a mapping translates held-out Burmese words into English.

:func:`bli_evaluate` reports precision@1/5/10 with CSLS and with plain nearest neighbours, and coverage;
:func:`drop_overlap` keeps the evaluation dictionary disjoint from the seed (MUSE's convention).
"""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict
from typing import Iterable, Sequence

import torch

from .lexicon import LexiconEntry
from .retrieval import retrieve, topk_mean_similarity

logger = logging.getLogger(__name__)


def bli_evaluate(
    x_mapped: torch.Tensor,
    y: torch.Tensor,
    pairs: Iterable[LexiconEntry | tuple[str, str]],
    source_words: Sequence[str],
    target_words: Sequence[str],
    ks: Sequence[int] = (1, 5, 10),
    csls_k: int = 10,
    chunk_size: int | None = None,
) -> dict:
    """Bilingual lexicon induction, Burmese to English, with CSLS and with plain nearest neighbours.

    Each Burmese word of a covered pair is a query; it counts as a hit at `k` when any of its gold English
    translations is among its `k` best English words (MUSE's convention). Retrieval runs over the whole English
    vocabulary; the CSLS neighbourhood terms are taken against the whole vocabularies.

    Args:
        x_mapped (`torch.Tensor` of shape `(Vx, d)`): Burmese vectors mapped into the English space, unit rows.
        y (`torch.Tensor` of shape `(Vy, d)`): English vectors, unit rows.
        pairs (`Iterable`): evaluation pairs `(english, burmese)`, disjoint from the seed.
        source_words, target_words (`Sequence[str]`): vocabularies, in row order of `y` and `x_mapped`.
        ks (`Sequence[int]`, *optional*, defaults to `(1, 5, 10)`): cut-offs.
        csls_k (`int`, *optional*, defaults to 10): CSLS neighbourhood.
        chunk_size (`int`, *optional*): rows per similarity block.

    Returns:
        `dict`: `p_at_{k}` (CSLS), `nn_p_at_{k}` (nearest neighbours), `coverage` (covered pairs / pairs),
        `pairs`, `covered_pairs`, `queries`, `mean_cosine` (mean cosine of the covered gold pairs; the paper's table 3
        reports `1 - cos`). Precisions are `None` when nothing is covered.
    """
    src_index = {w: i for i, w in enumerate(source_words)}
    tgt_index = {w: i for i, w in enumerate(target_words)}
    unique = {p.pair if isinstance(p, LexiconEntry) else tuple(p) for p in pairs}
    gold: dict[int, set[int]] = defaultdict(set)
    covered = 0
    for english, burmese in unique:
        if english in src_index and burmese in tgt_index:
            gold[tgt_index[burmese]].add(src_index[english])
            covered += 1
    result: dict = {
        "pairs": len(unique),
        "covered_pairs": covered,
        "queries": len(gold),
        "coverage": covered / len(unique) if unique else 0.0,
    }
    ks = sorted(set(int(k) for k in ks))
    if not gold:
        for k in ks:
            result[f"p_at_{k}"] = result[f"nn_p_at_{k}"] = None
        result["mean_cosine"] = None
        return result
    queries = torch.tensor(sorted(gold), dtype=torch.long, device=x_mapped.device)
    q = x_mapped[queries]  # (Q, d)
    key_knn = topk_mean_similarity(y, x_mapped, csls_k, chunk_size) if csls_k > 0 else None  # (Vy,) r over Burmese
    for method, prefix in (("csls", "p_at_"), ("nn", "nn_p_at_")):
        _, top = retrieve(q, y, max(ks), method=method, csls_k=csls_k, key_knn=key_knn, chunk_size=chunk_size)
        top = top.cpu().tolist()
        for k in ks:
            hits = sum(1 for qi, row in zip(queries.tolist(), top) if gold[qi] & set(row[:k]))
            result[f"{prefix}{k}"] = hits / len(gold)
    gx = torch.tensor([i for i, js in gold.items() for _ in js], dtype=torch.long, device=x_mapped.device)
    gy = torch.tensor([j for js in gold.values() for j in js], dtype=torch.long, device=x_mapped.device)
    result["mean_cosine"] = float((x_mapped[gx] * y[gy]).sum(dim=1).mean())
    return result


def drop_overlap(
    eval_pairs: Iterable[LexiconEntry | tuple[str, str]],
    seed_pairs: Iterable[LexiconEntry | tuple[str, str]],
    name: str = "eval dictionary",
    sides: str = "burmese",
) -> list[tuple[str, str]]:
    """Remove evaluation pairs whose query word (Burmese) occurs in the seed dictionary, with a warning.

    BLI must be measured on query words the mapping was not fitted on (MUSE's convention: the source side of the test
    dictionary is disjoint from the training dictionary). The English side may occur in the seed: with
    `--identical`, hundreds of English words pair with their Latin-script twins inside Burmese text, which says
    nothing about the Burmese-script query. `sides="both"` also drops pairs whose English word is in the seed.
    """
    if sides not in ("burmese", "both"):
        raise ValueError(f"sides={sides!r}: use 'burmese' or 'both'.")
    seed = [p.pair if isinstance(p, LexiconEntry) else tuple(p) for p in seed_pairs]
    seed_en, seed_my = {e for e, _ in seed}, {m for _, m in seed}
    pairs = [p.pair if isinstance(p, LexiconEntry) else tuple(p) for p in eval_pairs]
    kept = [(e, m) for e, m in pairs if m not in seed_my and (sides == "burmese" or e not in seed_en)]
    if len(kept) < len(pairs):
        which = "Burmese word" if sides == "burmese" else "word"
        message = (
            f"{name}: {len(pairs) - len(kept)} of {len(pairs)} pairs share a {which} with the seed dictionary "
            "and are left out of the evaluation."
        )
        logger.warning(message)
        warnings.warn(message, stacklevel=2)
    return kept
