"""VecMap-style cross-lingual mapping of static word vectors (method.md section 2, eq. 2).

Pure tensor math, no encoder and no files: everything here takes two matrices of row vectors and index tensors.

Naming. CTAM maps the *target* language (Burmese) into the space of the *source* language (English), so:

- ``x`` (`(Vx, d)`) holds the Burmese static vectors: the side that is mapped;
- ``y`` (`(Vy, d)`) holds the English static vectors: the side that stays fixed;
- a dictionary is a pair of index tensors ``(x_indices, y_indices)`` of equal length, row ``i`` pairing Burmese word
  ``x_indices[i]`` with English word ``y_indices[i]``;
- the mapping ``W`` (`(d, d)`) acts on column vectors, ``W x ~ y``, so mapping a matrix of rows is ``x @ W.T``.

The pipeline (:func:`self_learning`) is the one VecMap uses in its semi-supervised mode, rewritten for torch and
bounded memory:

1. normalise both sides (unit rows, centre columns, unit rows; :func:`normalize_embeddings`);
2. solve orthogonal Procrustes on the seed dictionary by SVD (:func:`procrustes`, eq. 2);
3. induce a new dictionary with CSLS nearest neighbours in both directions over the most frequent words
   (:func:`.retrieval.induce_dictionary`), re-solve, and repeat until the mean best similarity stops improving;
4. optionally replace the final orthogonal map by VecMap's "advanced mapping" (whitening, orthogonal map,
   re-weighting, de-whitening; :func:`advanced_mapping`), expressed as one linear map into the English space.

Similarities are always computed block by block (`chunk_size` rows at a time, matmul + top-k), so memory stays
bounded by ``chunk_size * V`` floats whatever the vocabulary size.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch

from .retrieval import DIRECTIONS, induce_dictionary

logger = logging.getLogger(__name__)

NORMALIZATION_ACTIONS = ("unit", "center", "centeremb", "none")
DEWHITEN_CHOICES = ("source", "target", "none")


# --------------------------------------------------------------------------------------------------------------------
# configuration and result
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class AlignmentConfig:
    """Settings of the VecMap-style alignment (:func:`self_learning`).

    Args:
        normalization (`tuple[str, ...]`, *optional*, defaults to `("unit", "center", "unit")`):
            Steps applied to both sides before mapping: `"unit"` (L2-normalise rows), `"center"` (subtract the column
            mean), `"none"`. The default is VecMap's; without centring, BLI accuracy of contextual vectors collapses.
        csls_k (`int`, *optional*, defaults to 10):
            Neighbourhood size of CSLS during dictionary induction. 0 uses plain nearest neighbours.
        direction (`str`, *optional*, defaults to `"union"`):
            Dictionary induction direction: `"forward"` (each Burmese word picks an English word), `"backward"` (each
            English word picks a Burmese word) or `"union"` (both lists concatenated).
        vocabulary_cutoff (`int`, *optional*, defaults to 5000):
            Only the first `vocabulary_cutoff` rows of each side (the most frequent words, rows must be frequency
            sorted) take part in dictionary induction. `0` or `None` uses every row. VecMap uses 20000 on corpora of
            billions of words; on CTAM's corpora (9.7k Burmese words, half seen once) 5000 gave the best dev BLI
            (docs/alignment.md).
        self_learning (`bool`, *optional*, defaults to `True`):
            Iterate dictionary induction and Procrustes. `False` maps with the seed dictionary only.
        keep_seed (`bool`, *optional*, defaults to `True`):
            Keep the seed pairs in every induced dictionary (seed *expansion*). VecMap drops them after the first
            iteration (`False`).
        max_iterations (`int`, *optional*, defaults to 100):
            Hard cap on self-learning iterations.
        threshold (`float`, *optional*, defaults to 1e-4):
            Convergence: an iteration counts as an improvement when the objective (mean best cosine similarity of
            every word in the induction vocabulary, both directions averaged) grows by at least this much.
        patience (`int`, *optional*, defaults to 1):
            Without stochastic induction: stop after this many iterations without improvement.
        stochastic (`bool`, *optional*, defaults to `False`):
            Stochastic dictionary induction (VecMap): each candidate similarity is kept with probability `keep_prob`,
            starting at `stochastic_initial` and multiplied by `stochastic_multiplier` whenever the objective has not
            improved for `stochastic_interval` iterations; learning ends when that happens at `keep_prob = 1`.
        stochastic_initial (`float`, *optional*, defaults to 0.1):
            Initial keep probability, in (0, 1].
        stochastic_multiplier (`float`, *optional*, defaults to 2.0):
            Factor applied to the keep probability, > 1.
        stochastic_interval (`int`, *optional*, defaults to 50):
            Iterations without improvement before the keep probability grows.
        whiten (`bool`, *optional*, defaults to `False`):
            After self-learning, replace the orthogonal map by VecMap's advanced mapping on the final dictionary:
            whitening, orthogonal map, re-weighting, de-whitening. The result is a general linear `W`.
        source_reweight (`float`, *optional*, defaults to 0.0):
            Exponent of the singular values applied to the English side in the re-weighting step (whiten only).
            CTAM keeps English in its own space, so the default 0 (with `source_dewhiten="source"`) leaves the English
            side a pure rotation; VecMap's symmetric 0.5 distorts the English space and ruins retrieval there.
        target_reweight (`float`, *optional*, defaults to 0.5):
            Exponent of the singular values applied to the Burmese side in the re-weighting step (whiten only).
        source_dewhiten (`str`, *optional*, defaults to `"source"`):
            De-whitening of the English side: `"source"` (with its own whitening), `"target"` or `"none"`.
        target_dewhiten (`str`, *optional*, defaults to `"target"`):
            De-whitening of the Burmese side: `"target"` (with its own whitening), `"source"` or `"none"`.
        chunk_size (`int`, *optional*):
            Rows per similarity block. Default: as many as keep a block under 16M floats (64 MB).
        similarity_cache_mb (`float`, *optional*, defaults to 1024):
            When the `(cutoff_x, cutoff_y)` similarity matrix of one induction step fits in this many MB, it is
            computed once per iteration (one matmul pass instead of three); otherwise it is recomputed block by
            block. Memory stays bounded by this cap plus one block. 0 always uses blocks.
        seed (`int`, *optional*, defaults to 0):
            Seed of the stochastic induction's random generator.
        device (`str`, *optional*):
            Torch device for the math. Default: CUDA when available, else CPU.
        dtype (`str`, *optional*, defaults to `"float32"`):
            `"float32"` or `"float64"`.
    """

    normalization: tuple[str, ...] = field(
        default=("unit", "center", "unit"), metadata={"help": "Normalisation steps: unit, center, none."}
    )
    csls_k: int = field(default=10, metadata={"help": "CSLS neighbourhood for induction; 0 = nearest neighbour."})
    direction: str = field(default="union", metadata={"help": "Induction direction: union, forward, backward."})
    vocabulary_cutoff: int | None = field(
        default=5000, metadata={"help": "Induce only among the most frequent rows; 0/None = all."}
    )
    self_learning: bool = field(default=True, metadata={"help": "Iterate induction + Procrustes."})
    keep_seed: bool = field(default=True, metadata={"help": "Keep the seed pairs in every induced dictionary."})
    max_iterations: int = field(default=100, metadata={"help": "Cap on self-learning iterations."})
    threshold: float = field(default=1e-4, metadata={"help": "Minimum objective gain that counts as improvement."})
    patience: int = field(default=1, metadata={"help": "Non-stochastic: iterations without improvement to stop."})
    stochastic: bool = field(default=False, metadata={"help": "VecMap stochastic dictionary induction."})
    stochastic_initial: float = field(default=0.1, metadata={"help": "Initial keep probability."})
    stochastic_multiplier: float = field(default=2.0, metadata={"help": "Keep probability growth factor."})
    stochastic_interval: int = field(default=50, metadata={"help": "Iterations without improvement before growth."})
    whiten: bool = field(default=False, metadata={"help": "Final whitening/re-weighting/de-whitening step."})
    source_reweight: float = field(default=0.0, metadata={"help": "Re-weighting exponent, English side (keep 0)."})
    target_reweight: float = field(default=0.5, metadata={"help": "Re-weighting exponent, Burmese side."})
    source_dewhiten: str = field(default="source", metadata={"help": "De-whitening of English: source/target/none."})
    target_dewhiten: str = field(default="target", metadata={"help": "De-whitening of Burmese: target/source/none."})
    chunk_size: int | None = field(default=None, metadata={"help": "Rows per similarity block; None = automatic."})
    similarity_cache_mb: float = field(
        default=1024, metadata={"help": "Hold the whole induction similarity matrix when it fits in this many MB."}
    )
    seed: int = field(default=0, metadata={"help": "Random seed of stochastic induction."})
    device: str | None = field(default=None, metadata={"help": "Torch device; None = cuda if available else cpu."})
    dtype: str = field(default="float32", metadata={"help": "float32 or float64."})

    def __post_init__(self):
        if isinstance(self.normalization, str):
            self.normalization = tuple(s for s in self.normalization.replace(",", " ").split() if s)
        self.normalization = tuple(self.normalization)
        for step in self.normalization:
            if step not in NORMALIZATION_ACTIONS:
                raise ValueError(
                    f"AlignmentConfig.normalization has unknown step {step!r}; use a sequence of "
                    f"{', '.join(NORMALIZATION_ACTIONS[:2])} or none, e.g. ('unit', 'center', 'unit')."
                )
        if self.csls_k < 0:
            raise ValueError(f"AlignmentConfig.csls_k={self.csls_k} must be >= 0 (0 = plain nearest neighbours).")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"AlignmentConfig.direction={self.direction!r}: use one of {', '.join(DIRECTIONS)}.")
        if self.vocabulary_cutoff is not None and self.vocabulary_cutoff < 0:
            raise ValueError(
                f"AlignmentConfig.vocabulary_cutoff={self.vocabulary_cutoff} must be >= 0 (0 or None = all words)."
            )
        if self.max_iterations < 1:
            raise ValueError(f"AlignmentConfig.max_iterations={self.max_iterations} must be >= 1.")
        if self.threshold < 0:
            raise ValueError(f"AlignmentConfig.threshold={self.threshold} must be >= 0.")
        if self.patience < 1:
            raise ValueError(f"AlignmentConfig.patience={self.patience} must be >= 1.")
        if not 0.0 < self.stochastic_initial <= 1.0:
            raise ValueError(
                f"AlignmentConfig.stochastic_initial={self.stochastic_initial} must be in (0, 1] (VecMap uses 0.1)."
            )
        if self.stochastic_multiplier <= 1.0:
            raise ValueError(
                f"AlignmentConfig.stochastic_multiplier={self.stochastic_multiplier} must be > 1, or the keep "
                "probability never reaches 1 and learning never ends (VecMap uses 2.0)."
            )
        if self.stochastic_interval < 1:
            raise ValueError(f"AlignmentConfig.stochastic_interval={self.stochastic_interval} must be >= 1.")
        for name in ("source_reweight", "target_reweight"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"AlignmentConfig.{name}={value} must be a finite number >= 0 (VecMap uses 0.5).")
        for name in ("source_dewhiten", "target_dewhiten"):
            if getattr(self, name) not in DEWHITEN_CHOICES:
                raise ValueError(
                    f"AlignmentConfig.{name}={getattr(self, name)!r}: use one of {', '.join(DEWHITEN_CHOICES)}."
                )
        if self.similarity_cache_mb < 0:
            raise ValueError(
                f"AlignmentConfig.similarity_cache_mb={self.similarity_cache_mb} must be >= 0 (0 = blocks)."
            )
        if self.whiten and (self.source_reweight != 0 or self.source_dewhiten != "source"):
            logger.warning(
                "AlignmentConfig: with source_reweight=%s / source_dewhiten=%r the English side is not a pure "
                "rotation, so W maps into a distorted English space (BLI there collapsed to ~1%% in our tests). "
                "Keep source_reweight=0 and source_dewhiten='source' for CTAM.",
                self.source_reweight,
                self.source_dewhiten,
            )
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError(f"AlignmentConfig.chunk_size={self.chunk_size} must be >= 1, or None for automatic.")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"AlignmentConfig.dtype={self.dtype!r}: use 'float32' or 'float64'.")

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.float64 if self.dtype == "float64" else torch.float32

    def resolved_device(self) -> torch.device:
        return resolve_device(self.device)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["normalization"] = list(self.normalization)
        return out


@dataclass
class AlignmentResult:
    """Output of :func:`self_learning`.

    Args:
        weight (`torch.Tensor` of shape `(d, d)`):
            The mapping `W` into the English space, acting on column vectors (`W x ~ y`). It maps *normalised* Burmese
            vectors onto normalised English vectors; :meth:`map` applies the model's affine form to raw vectors.
        target_mean (`torch.Tensor` of shape `(d,)`):
            Column mean of the raw Burmese vectors given to :func:`self_learning` (`mu_tgt`).
        source_mean (`torch.Tensor` of shape `(d,)`):
            Column mean of the raw English vectors (`mu_src`).
        x_indices (`torch.LongTensor` of shape `(n,)`):
            Burmese side of the final dictionary (row indices into `x`).
        y_indices (`torch.LongTensor` of shape `(n,)`):
            English side of the final dictionary.
        iterations (`int`):
            Number of self-learning iterations (dictionary inductions); 0 = the seed-only Procrustes map.
        history (`list[dict]`):
            Per iteration: `iteration`, `objective`, `dictionary_size`, `keep_prob`, `seconds`.
        converged (`bool`):
            `True` when learning stopped by the convergence test, `False` when it hit `max_iterations`.
        seconds (`float`):
            Wall-clock time of :func:`self_learning`.
        config (`AlignmentConfig`):
            The settings used.
    """

    weight: torch.Tensor
    target_mean: torch.Tensor
    source_mean: torch.Tensor
    x_indices: torch.Tensor
    y_indices: torch.Tensor
    iterations: int
    history: list = field(default_factory=list)
    converged: bool = False
    seconds: float = 0.0
    config: AlignmentConfig = field(default_factory=AlignmentConfig)

    @property
    def dictionary_size(self) -> int:
        return int(self.x_indices.numel())

    def map(self, x_raw: torch.Tensor) -> torch.Tensor:
        """The model's eq. 2 on raw Burmese vectors: `W (x - mu_tgt) + mu_src`, row-wise.

        Args:
            x_raw (`torch.Tensor` of shape `(..., d)`): raw (unnormalised) Burmese static vectors.

        Returns:
            `torch.Tensor` of shape `(..., d)`: vectors in the English space.
        """
        w = self.weight.to(x_raw)
        return (x_raw - self.target_mean.to(x_raw)) @ w.T + self.source_mean.to(x_raw)  # eq. 2, (..., d)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The tensors the model loads: `weight` (d, d), `target_mean` (d,), `source_mean` (d,), float32, CPU."""
        return {
            "weight": self.weight.detach().to("cpu", torch.float32).contiguous(),
            "target_mean": self.target_mean.detach().to("cpu", torch.float32).contiguous(),
            "source_mean": self.source_mean.detach().to("cpu", torch.float32).contiguous(),
        }


# --------------------------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------------------------


def resolve_device(device: str | torch.device | None) -> torch.device:
    """`device` as a `torch.device`; `None` picks CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def length_normalize(m: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """L2-normalise rows. Zero rows stay zero. `(V, d) -> (V, d)`."""
    return m / m.norm(dim=1, keepdim=True).clamp_min(eps)


def mean_center(m: torch.Tensor) -> torch.Tensor:
    """Subtract the column mean. `(V, d) -> (V, d)`."""
    return m - m.mean(dim=0, keepdim=True)


def normalize_embeddings(
    m: torch.Tensor, actions: tuple[str, ...] | list[str] = ("unit", "center", "unit")
) -> torch.Tensor:
    """Apply normalisation steps in order (VecMap's `--normalize`).

    Args:
        m (`torch.Tensor` of shape `(V, d)`): row vectors.
        actions (`tuple[str, ...]`, *optional*, defaults to `("unit", "center", "unit")`):
            `"unit"` L2-normalises rows, `"center"` subtracts the column mean, `"centeremb"` subtracts each row's mean
            over its dimensions, `"none"` does nothing.

    Returns:
        `torch.Tensor` of shape `(V, d)`: a new tensor.
    """
    out = m.clone()
    for action in actions:
        if action == "unit":
            out = length_normalize(out)
        elif action == "center":
            out = mean_center(out)
        elif action == "centeremb":
            out = out - out.mean(dim=1, keepdim=True)
        elif action != "none":
            raise ValueError(f"unknown normalisation step {action!r}; use one of {', '.join(NORMALIZATION_ACTIONS)}.")
    return out


def procrustes(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Orthogonal Procrustes: the rotation `W` minimising `sum_i ||W x_i - y_i||^2` (eq. 2's solution).

    Args:
        x (`torch.Tensor` of shape `(n, d)`): Burmese dictionary vectors, one pair per row.
        y (`torch.Tensor` of shape `(n, d)`): their English translations.

    Returns:
        `torch.Tensor` of shape `(d, d)`: orthogonal `W` with `x @ W.T ~ y`.
    """
    if x.shape != y.shape:
        raise ValueError(f"procrustes needs paired rows: x has shape {tuple(x.shape)}, y has {tuple(y.shape)}.")
    m = y.T @ x  # (d, d) = sum_i y_i x_i^T
    u, _, vt = torch.linalg.svd(m)  # m = U S V^T
    return u @ vt  # eq. 2: W = U V^T, argmin over orthogonal W of ||X W^T - Y||_F


def whitening_transformation(m: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """The symmetric whitening matrix `(m^T m)^{-1/2}`, so that `(m W)^T (m W) = I`.

    Eigenvalues below `eps` times the largest are clamped there (a dictionary with fewer pairs than dimensions has a
    singular covariance).

    Args:
        m (`torch.Tensor` of shape `(n, d)`): dictionary rows of one side.

    Returns:
        `torch.Tensor` of shape `(d, d)`: symmetric positive definite.
    """
    cov = m.T @ m  # (d, d)
    evals, evecs = torch.linalg.eigh(cov)  # cov = E diag(evals) E^T
    floor = evals.max().clamp_min(torch.finfo(m.dtype).tiny) * eps
    inv_sqrt = evals.clamp_min(floor).rsqrt()  # (d,)
    return (evecs * inv_sqrt) @ evecs.T  # (d, d) = E diag(evals^-1/2) E^T


def advanced_mapping(
    x: torch.Tensor,
    y: torch.Tensor,
    x_indices: torch.Tensor,
    y_indices: torch.Tensor,
    source_reweight: float = 0.0,
    target_reweight: float = 0.5,
    source_dewhiten: str = "source",
    target_dewhiten: str = "target",
) -> torch.Tensor:
    """VecMap's advanced mapping (Artetxe et al. 2018, AAAI), returned as one linear map into the English space.

    Steps on the dictionary rows: whiten each side (`Tx1`, `Ty1`), orthogonal map of the whitened dictionaries
    (`svd(Xw^T Yw) = P S Q^T`), re-weight by `S^a` / `S^b`, de-whiten. VecMap maps *both* sides into a shared space,
    `x Tx ~ y Ty`. CTAM keeps English where it is, so the map returned is `W = (Tx Ty^{-1})^T`: Burmese rows go to
    `x @ W.T ~ y`. With `source_reweight=0` and `source_dewhiten="source"`, `Ty` reduces to the rotation `Q` and the
    two views agree up to that rotation.

    Args:
        x (`torch.Tensor` of shape `(Vx, d)`): normalised Burmese vectors.
        y (`torch.Tensor` of shape `(Vy, d)`): normalised English vectors.
        x_indices, y_indices (`torch.LongTensor` of shape `(n,)`): the dictionary.
        source_reweight (`float`, *optional*, defaults to 0.0): exponent `b` for the English side. Keep 0: a
            re-weighted English side is not a rotation, and `W` then maps into a distorted English space (VecMap
            compares both sides in the shared space instead, where 0.5 / 0.5 is its default).
        target_reweight (`float`, *optional*, defaults to 0.5): exponent `a` for the Burmese side.
        source_dewhiten (`str`, *optional*, defaults to `"source"`): `"source"`, `"target"` or `"none"`.
        target_dewhiten (`str`, *optional*, defaults to `"target"`): `"target"`, `"source"` or `"none"`.

    Returns:
        `torch.Tensor` of shape `(d, d)`: `W`, in general not orthogonal.
    """
    xd, yd = x[x_indices], y[y_indices]  # (n, d)
    if xd.shape[0] < x.shape[1]:
        logger.warning(
            "whitening on %d dictionary pairs in %d dimensions: the covariance is singular and is regularised; "
            "results may be poor. Use a larger dictionary or turn whitening off.",
            xd.shape[0],
            x.shape[1],
        )
    wx1 = whitening_transformation(xd)  # (d, d) step 1: whitening
    wy1 = whitening_transformation(yd)  # (d, d)
    p, s, qt = torch.linalg.svd((xd @ wx1).T @ (yd @ wy1))  # step 2: orthogonal map of whitened dictionaries
    q = qt.T  # (d, d)
    dewhiten = {  # step 4: de-whitening, in the rotated basis of the side whose whitening is undone
        "target": p.T @ torch.linalg.inv(wx1) @ p,
        "source": q.T @ torch.linalg.inv(wy1) @ q,
        "none": torch.eye(x.shape[1], dtype=x.dtype, device=x.device),
    }
    tx = wx1 @ p @ torch.diag(s.pow(target_reweight)) @ dewhiten[target_dewhiten]  # step 3 re-weighting, step 4
    ty = wy1 @ q @ torch.diag(s.pow(source_reweight)) @ dewhiten[source_dewhiten]
    # x Tx ~ y Ty  =>  x Tx Ty^{-1} ~ y ; W acts on columns: W = (Tx Ty^{-1})^T
    return torch.linalg.solve(ty.T, tx.T)  # (d, d) = Ty^{-T} Tx^T


# --------------------------------------------------------------------------------------------------------------------
# the whole alignment
# --------------------------------------------------------------------------------------------------------------------


def _as_index(t, n: int, name: str, device) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=torch.long, device=device).reshape(-1)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= n):
        raise IndexError(f"{name} has an index outside 0..{n - 1}.")
    return t


def self_learning(
    x: torch.Tensor,
    y: torch.Tensor,
    seed_x: torch.Tensor | list[int],
    seed_y: torch.Tensor | list[int],
    config: AlignmentConfig | None = None,
    callback: Callable[[dict], None] | None = None,
) -> AlignmentResult:
    """Map Burmese vectors `x` into the English space of `y`, starting from a seed dictionary (eq. 2).

    Procrustes on the seed, then (with `config.self_learning`) repeated CSLS dictionary induction over the
    `vocabulary_cutoff` most frequent words of each side and Procrustes again, until the objective (mean best
    similarity) stops improving by at least `threshold` (for `patience` iterations; with stochastic induction, until
    no improvement happens at keep probability 1). Optionally the final map is VecMap's advanced mapping.

    Args:
        x (`torch.Tensor` of shape `(Vx, d)`): raw Burmese static vectors, rows sorted by frequency.
        y (`torch.Tensor` of shape `(Vy, d)`): raw English static vectors, rows sorted by frequency.
        seed_x (`torch.LongTensor` of shape `(n,)`): Burmese side of the seed dictionary (row indices into `x`).
        seed_y (`torch.LongTensor` of shape `(n,)`): English side.
        config (`AlignmentConfig`, *optional*): settings; defaults to `AlignmentConfig()`.
        callback (`Callable[[dict], None]`, *optional*): called with each history entry (e.g. a progress bar).

    Returns:
        `AlignmentResult`: `weight` maps normalised Burmese vectors to normalised English ones; `target_mean` and
        `source_mean` are the raw column means (see `docs/alignment.md` for how this composes with the model).
    """
    config = config or AlignmentConfig()
    start = time.perf_counter()
    device, dtype = config.resolved_device(), config.torch_dtype
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (V, d) with the same d; got {tuple(x.shape)} and {tuple(y.shape)}.")
    x_raw = x.to(device=device, dtype=dtype)
    y_raw = y.to(device=device, dtype=dtype)
    target_mean = x_raw.mean(dim=0)  # (d,) mu_tgt, Burmese
    source_mean = y_raw.mean(dim=0)  # (d,) mu_src, English
    xn = normalize_embeddings(x_raw, config.normalization)  # (Vx, d)
    yn = normalize_embeddings(y_raw, config.normalization)  # (Vy, d)
    seed_x = _as_index(seed_x, xn.shape[0], "seed_x", device)
    seed_y = _as_index(seed_y, yn.shape[0], "seed_y", device)
    if seed_x.numel() != seed_y.numel():
        raise ValueError(f"seed_x has {seed_x.numel()} entries but seed_y has {seed_y.numel()}; they must pair up.")
    if seed_x.numel() == 0:
        raise ValueError("the seed dictionary is empty: give at least one pair of words present in both vocabularies.")

    cutoff_x = min(config.vocabulary_cutoff or xn.shape[0], xn.shape[0])
    cutoff_y = min(config.vocabulary_cutoff or yn.shape[0], yn.shape[0])
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    keep_prob = config.stochastic_initial if config.stochastic else 1.0
    x_idx, y_idx = seed_x, seed_y
    history: list[dict] = []
    best_objective = -math.inf
    last_improvement = 0
    it = 1
    end = not config.self_learning
    converged = end
    while True:
        if config.self_learning and it - last_improvement > (
            config.stochastic_interval if config.stochastic else config.patience
        ):
            if keep_prob >= 1.0:
                end, converged = True, True
            keep_prob = min(1.0, config.stochastic_multiplier * keep_prob)
            last_improvement = it
        if it > config.max_iterations and not end:
            end = True
        w = procrustes(xn[x_idx], yn[y_idx])  # eq. 2: W = U V^T from svd(Y_d^T X_d)
        if end:
            break
        xw = xn[:cutoff_x] @ w.T  # (cutoff_x, d) mapped Burmese
        new_x, new_y, objective = induce_dictionary(
            xw,
            yn[:cutoff_y],
            config.csls_k,
            config.direction,
            keep_prob,
            generator,
            config.chunk_size,
            config.similarity_cache_mb,
        )
        if config.keep_seed:
            new_x, new_y = torch.cat([seed_x, new_x]), torch.cat([seed_y, new_y])
        x_idx, y_idx = new_x, new_y
        if objective - best_objective >= config.threshold:
            last_improvement = it
            best_objective = objective
        entry = {
            "iteration": it,
            "objective": objective,
            "dictionary_size": int(x_idx.numel()),
            "keep_prob": keep_prob,
            "seconds": time.perf_counter() - start,
        }
        history.append(entry)
        logger.info(
            "self-learning iteration %d: objective %.6f, dictionary %d, keep_prob %.3f",
            it,
            objective,
            entry["dictionary_size"],
            keep_prob,
        )
        if callback is not None:
            callback(entry)
        it += 1
    if config.whiten:
        w = advanced_mapping(
            xn,
            yn,
            x_idx,
            y_idx,
            config.source_reweight,
            config.target_reweight,
            config.source_dewhiten,
            config.target_dewhiten,
        )
    return AlignmentResult(
        weight=w,
        target_mean=target_mean,
        source_mean=source_mean,
        x_indices=x_idx,
        y_indices=y_idx,
        iterations=len(history),
        history=history,
        converged=converged,
        seconds=time.perf_counter() - start,
        config=config,
    )


def mapped_views(x: torch.Tensor, y: torch.Tensor, result: AlignmentResult) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised Burmese vectors mapped into the English space, and normalised English vectors, both unit rows.

    This is the space where :func:`self_learning` induced its dictionaries and where BLI is measured.

    Args:
        x (`torch.Tensor` of shape `(Vx, d)`): raw Burmese vectors (the ones aligned).
        y (`torch.Tensor` of shape `(Vy, d)`): raw English vectors.
        result (`AlignmentResult`): the alignment.

    Returns:
        `tuple(torch.Tensor, torch.Tensor)`: `(Vx, d)` and `(Vy, d)`.
    """
    w = result.weight
    xn = normalize_embeddings(x.to(w), result.config.normalization)
    yn = normalize_embeddings(y.to(w), result.config.normalization)
    return length_normalize(xn @ w.T), length_normalize(yn)  # eq. 2 on normalised vectors
