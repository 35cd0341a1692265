# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Blocked similarity search over unit-length word vectors: CSLS terms, retrieval and dictionary induction.

Used by the VecMap loop (:mod:`.vecmap`, step 3) and by bilingual lexicon induction (:mod:`.bli`). The similarity
matrix is never held whole: rows are scored `chunk_size` at a time (matmul + top-k), so memory stays bounded by
``chunk_size * V`` floats whatever the vocabulary size.
"""

from __future__ import annotations

import math

import torch

DIRECTIONS = ("union", "forward", "backward")
RETRIEVALS = ("csls", "nn")
DEFAULT_BLOCK_ELEMENTS = 1 << 24  # 16M floats = 64 MB per similarity block when chunk_size is automatic


def auto_chunk_size(n_columns: int, chunk_size: int | None = None) -> int:
    """Rows per similarity block: `chunk_size`, or as many as keep a block of `n_columns` under 16M floats."""
    if chunk_size is not None:
        return max(1, int(chunk_size))
    return max(1, min(8192, DEFAULT_BLOCK_ELEMENTS // max(1, n_columns)))


def topk_mean_similarity(
    queries: torch.Tensor, keys: torch.Tensor, k: int, chunk_size: int | None = None
) -> torch.Tensor:
    """For each query row, the mean cosine of its `k` most similar key rows (CSLS's `r` term).

    Rows are assumed unit length (cosine = dot product). Blocked over queries.

    Args:
        queries (`torch.Tensor` of shape `(Nq, d)`).
        keys (`torch.Tensor` of shape `(Nk, d)`).
        k (`int`): neighbourhood size; clipped to `Nk`; 0 gives zeros.
        chunk_size (`int`, *optional*): query rows per block.

    Returns:
        `torch.Tensor` of shape `(Nq,)`.
    """
    out = queries.new_zeros(queries.shape[0])
    k = min(k, keys.shape[0])
    if k <= 0:
        return out
    step = auto_chunk_size(keys.shape[0], chunk_size)
    for i in range(0, queries.shape[0], step):
        sims = queries[i : i + step] @ keys.T  # (c, Nk)
        out[i : i + step] = sims.topk(k, dim=1).values.mean(dim=1)  # CSLS r term
    return out


def retrieve(
    queries: torch.Tensor,
    keys: torch.Tensor,
    k: int = 10,
    method: str = "csls",
    csls_k: int = 10,
    key_knn: torch.Tensor | None = None,
    chunk_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-`k` keys for each query by CSLS or plain cosine (nearest neighbours), blocked over queries.

    CSLS (Conneau et al. 2018): `CSLS(q, t) = 2 cos(q, t) - r_K(q) - r_Q(t)`, where `r_K(q)` is the mean cosine of `q`
    to its `csls_k` nearest keys and `r_Q(t)` the mean cosine of key `t` to its `csls_k` nearest queries. For ranking
    the keys of one query, `r_K(q)` is a constant, so `2 cos - r_Q(t)` ranks the same. Rows are assumed unit length.

    Args:
        queries (`torch.Tensor` of shape `(Nq, d)`): e.g. mapped Burmese vectors.
        keys (`torch.Tensor` of shape `(Nk, d)`): e.g. English vectors.
        k (`int`, *optional*, defaults to 10): how many keys to return per query.
        method (`str`, *optional*, defaults to `"csls"`): `"csls"` or `"nn"`.
        csls_k (`int`, *optional*, defaults to 10): CSLS neighbourhood.
        key_knn (`torch.Tensor` of shape `(Nk,)`, *optional*): precomputed `r_Q(t)` (e.g. against the whole query
            vocabulary rather than the queries given); computed from `queries` when omitted.
        chunk_size (`int`, *optional*): query rows per block.

    Returns:
        `tuple(torch.Tensor, torch.Tensor)`: scores and indices, both of shape `(Nq, min(k, Nk))`, best first.
    """
    if method not in RETRIEVALS:
        raise ValueError(f"retrieval method {method!r}: use 'csls' or 'nn'.")
    k = min(k, keys.shape[0])
    penalty = None
    if method == "csls" and csls_k > 0:
        penalty = key_knn if key_knn is not None else topk_mean_similarity(keys, queries, csls_k, chunk_size)  # (Nk,)
    step = auto_chunk_size(keys.shape[0], chunk_size)
    scores = queries.new_empty(queries.shape[0], k)
    indices = torch.empty(queries.shape[0], k, dtype=torch.long, device=queries.device)
    for i in range(0, queries.shape[0], step):
        sims = queries[i : i + step] @ keys.T  # (c, Nk) cosine
        if penalty is not None:
            sims = 2 * sims - penalty  # CSLS up to the per-query constant r_K(q)
        top = sims.topk(k, dim=1)
        scores[i : i + step], indices[i : i + step] = top.values, top.indices
    return scores, indices


def induce_dictionary(
    xw: torch.Tensor,
    yw: torch.Tensor,
    csls_k: int = 10,
    direction: str = "union",
    keep_prob: float = 1.0,
    generator: torch.Generator | None = None,
    chunk_size: int | None = None,
    cache_mb: float = 0,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """One dictionary-induction step: best CSLS (or cosine) partner of every word, in one or both directions.

    The `(Nx, Ny)` similarity matrix is never held whole: it is computed in row blocks into one reused buffer, in at
    most three passes (English rows: CSLS term `r_y` and best similarities; Burmese rows: `r_x` and the forward
    argmax; English rows again: the backward argmax, which needs `r_x`). Plain nearest neighbours need two passes.

    Args:
        xw (`torch.Tensor` of shape `(Nx, d)`): mapped Burmese vectors (unit rows), the induction vocabulary.
        yw (`torch.Tensor` of shape `(Ny, d)`): English vectors (unit rows).
        csls_k (`int`, *optional*, defaults to 10): CSLS neighbourhood; 0 = nearest neighbour.
        direction (`str`, *optional*, defaults to `"union"`): `"forward"`, `"backward"` or `"union"`.
        keep_prob (`float`, *optional*, defaults to 1.0): stochastic induction: each candidate score survives with
            this probability (dropped ones are set to `-inf`).
        generator (`torch.Generator`, *optional*): CPU random generator for `keep_prob < 1`.
        chunk_size (`int`, *optional*): rows per block.
        cache_mb (`float`, *optional*, defaults to 0): when the whole `(Nx, Ny)` matrix fits in this many MB it is
            computed once instead (one matmul pass); same result.

    Returns:
        `tuple`: `x_indices` `(n,)`, `y_indices` `(n,)`, and the objective: the mean best cosine similarity of each
        word, averaged over the directions used (no dropout in the objective).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r}: use one of {', '.join(DIRECTIONS)}.")
    if xw.shape[0] * yw.shape[0] * xw.element_size() <= cache_mb * 2**20:
        return _induce_cached(xw, yw, csls_k, direction, keep_prob, generator, chunk_size)
    return _induce_blocked(xw, yw, csls_k, direction, keep_prob, generator, chunk_size)


def _drop(scores: torch.Tensor, keep_prob: float, generator: torch.Generator | None) -> None:
    """Stochastic induction: each candidate survives with probability `keep_prob` (others set to -inf), in place."""
    if keep_prob < 1.0:
        mask = torch.rand(scores.shape, generator=generator) >= keep_prob
        scores.masked_fill_(mask.to(scores.device), -math.inf)


def _finish(nx, ny, fwd_arg, bwd_arg, fwd_best, bwd_best, forward, backward, device):
    xs, ys, objectives = [], [], []
    if forward:
        xs.append(torch.arange(nx, device=device))
        ys.append(fwd_arg)
        objectives.append(fwd_best.mean())
    if backward:
        xs.append(bwd_arg)
        ys.append(torch.arange(ny, device=device))
        objectives.append(bwd_best.mean())
    return torch.cat(xs), torch.cat(ys), float(torch.stack(objectives).mean())


def _induce_cached(xw, yw, csls_k, direction, keep_prob, generator, chunk_size):
    """:func:`induce_dictionary` with the whole similarity matrix in memory: one matmul, then blocked reductions."""
    nx, ny = xw.shape[0], yw.shape[0]
    forward, backward = direction in ("forward", "union"), direction in ("backward", "union")
    sims = xw @ yw.T  # (Nx, Ny) cosine
    kx, ky = max(1, min(csls_k, ny)), max(1, min(csls_k, nx))
    top_x = sims.topk(kx, dim=1).values  # (Nx, kx)
    step = auto_chunk_size(ny, chunk_size)
    top_y = None  # (ky, Ny): column top-k merged over row blocks (a dim-0 top-k of the whole matrix is slow)
    for i in range(0, nx, step):
        block_top = sims[i : i + step].topk(min(ky, sims[i : i + step].shape[0]), dim=0).values
        if top_y is not None:
            merged = torch.cat([top_y, block_top])
            block_top = merged.topk(min(ky, merged.shape[0]), dim=0).values
        top_y = block_top
    fwd_best, bwd_best = top_x[:, 0], top_y[0]
    r_x = top_x.mean(dim=1) if csls_k > 0 else xw.new_zeros(nx)  # CSLS r terms
    r_y = top_y.mean(dim=0) if csls_k > 0 else yw.new_zeros(ny)
    del top_x, top_y
    buf = xw.new_empty(min(step, nx) * ny)
    fwd_arg = torch.zeros(nx, dtype=torch.long, device=xw.device)
    bwd_arg = torch.zeros(ny, dtype=torch.long, device=xw.device)
    bwd_score = yw.new_full((ny,), -math.inf)
    for i in range(0, nx, step):
        block = sims[i : i + step]  # (c, Ny) view
        scores = buf[: block.numel()].view(block.shape)
        if forward:
            torch.sub(block, r_y / 2, out=scores)  # CSLS(x_i, y_j) / 2 + const(i)
            _drop(scores, keep_prob, generator)
            fwd_arg[i : i + step] = scores.argmax(dim=1)
        if backward:
            torch.sub(block, r_x[i : i + step, None] / 2, out=scores)  # CSLS(x_i, y_j) / 2 + const(j)
            _drop(scores, keep_prob, generator)
            best, arg = scores.max(dim=0)
            better = best > bwd_score
            bwd_score = torch.where(better, best, bwd_score)
            bwd_arg = torch.where(better, arg + i, bwd_arg)
    return _finish(nx, ny, fwd_arg, bwd_arg, fwd_best, bwd_best, forward, backward, xw.device)


def _induce_blocked(xw, yw, csls_k, direction, keep_prob, generator, chunk_size):
    """:func:`induce_dictionary` block by block: at most three matmul passes, memory of one block."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r}: use one of {', '.join(DIRECTIONS)}.")
    nx, ny = xw.shape[0], yw.shape[0]
    step = auto_chunk_size(max(nx, ny), chunk_size)
    buf = xw.new_empty(min(step, max(nx, ny)) * max(nx, ny))  # one reused block, bounded memory
    forward, backward = direction in ("forward", "union"), direction in ("backward", "union")
    csls = csls_k > 0

    def block(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        out = buf[: queries.shape[0] * keys.shape[0]].view(queries.shape[0], keys.shape[0])
        return torch.mm(queries, keys.T, out=out)  # (c, N) cosine similarities

    def drop(scores: torch.Tensor) -> None:
        _drop(scores, keep_prob, generator)

    r_x = xw.new_zeros(nx)  # (Nx,) CSLS r term: mean top-k cosine of each Burmese word to English words
    r_y = yw.new_zeros(ny)  # (Ny,) same for each English word to Burmese words
    fwd_best = xw.new_empty(nx)  # best cosine per Burmese word
    bwd_best = yw.new_empty(ny)  # best cosine per English word
    fwd_arg = torch.zeros(nx, dtype=torch.long, device=xw.device)
    bwd_arg = torch.zeros(ny, dtype=torch.long, device=xw.device)
    # pass 1, English rows: r_y, best cosine; with plain NN also the backward argmax
    for i in range(0, ny, step):
        sims = block(yw[i : i + step], xw)  # (c, Nx)
        top = sims.topk(max(1, min(csls_k, nx)), dim=1)
        bwd_best[i : i + step] = top.values[:, 0]
        if csls:
            r_y[i : i + step] = top.values.mean(dim=1)  # r_y(j) = mean of the top-k cos(y_j, x)
        elif backward:
            drop(sims)
            bwd_arg[i : i + step] = sims.argmax(dim=1)
    # pass 2, Burmese rows: r_x, best cosine, forward argmax of CSLS(x_i, .) = 2 cos - r_x(i) - r_y(.)
    for i in range(0, nx, step):
        sims = block(xw[i : i + step], yw)  # (c, Ny)
        top = sims.topk(max(1, min(csls_k, ny)), dim=1)
        fwd_best[i : i + step] = top.values[:, 0]
        if csls:
            r_x[i : i + step] = top.values.mean(dim=1)
        if forward:
            if csls:
                sims.sub_(r_y / 2)  # CSLS / 2 + const: same argmax over j
            drop(sims)
            fwd_arg[i : i + step] = sims.argmax(dim=1)
    # pass 3, English rows again: backward argmax of CSLS(., y_j), which needs r_x
    if csls and backward:
        for i in range(0, ny, step):
            sims = block(yw[i : i + step], xw)  # (c, Nx)
            sims.sub_(r_x / 2)
            drop(sims)
            bwd_arg[i : i + step] = sims.argmax(dim=1)
    return _finish(nx, ny, fwd_arg, bwd_arg, fwd_best, bwd_best, forward, backward, xw.device)
