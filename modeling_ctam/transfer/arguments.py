"""The two-stage recipe's arguments ([`TransferArguments`], the `training:` keys of the recipe, checked in
`__post_init__`) and the data of one two-stage run ([`TransferData`])."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .prior import PRIOR_ESTIMATORS
from .streams import UNLABELLED_PAIRINGS

RECIPES = ("joint", "two-stage")


@dataclass
class TransferArguments:
    """How CTAM is trained: the paper's one joint stage, or the two-stage recipe of method.md section 3."""

    recipe: str = field(
        default="joint",
        metadata={
            "help": (
                "'joint': one stage, every eq. 13 term from the first step (the paper's letter). 'two-stage': stage 1 "
                "trains the English teacher, stage 2 trains the student against the frozen teacher (method.md section "
                "3)."
            )
        },
    )
    stage1_steps: int = field(
        default=60, metadata={"help": "two-stage: optimisation steps of stage 1 (English only)."}
    )
    stage2_steps: int = field(default=60, metadata={"help": "two-stage: optimisation steps of each stage-2 round."})
    stage2_learning_rate: Optional[float] = field(
        default=None,
        metadata={"help": ("two-stage: peak learning rate of stage 2 (default: the run's learning_rate).")},
    )
    parallel_share: float = field(
        default=0.3,
        metadata={
            "help": (
                "two-stage: share of stage-2 Burmese rows that are parallel sentences (L_R against their English "
                "side); 0 switches the parallel stream off. Needs parallel_data."
            )
        },
    )
    unlabelled_pairing: str = field(
        default="pseudo-label",
        metadata={
            "help": (
                "two-stage: eq. 10 pair of an unlabelled Burmese review: 'pseudo-label' (an English review of the "
                "class the teacher predicts), 'random' (any English review: a control) or 'none'."
            )
        },
    )
    shuffle_parallel: bool = field(
        default=False,
        metadata={
            "help": ("two-stage control: keep the parallel sentences but break the translation link (a permutation).")
        },
    )
    parallel_distillation: float = field(
        default=0.0,
        metadata={
            "help": (
                "two-stage: weight of cross-lingual distillation on the parallel stream: a parallel Burmese "
                "sentence's L_T target is the frozen teacher's posterior on its English side (Xu and Yang 2017; "
                "beyond the paper). 0 switches it off; 1 weighs a sentence like a gold row."
            )
        },
    )
    self_training: bool = field(
        default=True,
        metadata={
            "help": (
                "two-stage: the teacher's pseudo-labels on unlabelled Burmese reviews join L_T (beyond the paper)."
            )
        },
    )
    pseudo_fraction: float = field(
        default=0.6,
        metadata={
            "help": (
                "Share of the unlabelled reviews that may be pseudo-labelled; class quotas follow the EM target prior."
            )
        },
    )
    pseudo_threshold: float = field(
        default=0.0, metadata={"help": "Minimum prior-adjusted confidence of a pseudo-label."}
    )
    soft_labels: bool = field(
        default=True,
        metadata={
            "help": (
                "Pseudo-labels as the teacher's prior-adjusted posteriors (sharpened by soft_temperature) rather than "
                "one-hot."
            )
        },
    )
    soft_temperature: float = field(default=0.5, metadata={"help": "Sharpening temperature of soft pseudo-labels."})
    pseudo_weight: float = field(
        default=1.0, metadata={"help": "Weight of a pseudo-labelled row in L_T (1 = a gold row)."}
    )
    self_training_rounds: int = field(
        default=1,
        metadata={"help": ("Stage-2 rounds; each later round relabels the reviews with the current student.")},
    )
    heldout_fraction: float = field(
        default=0.1,
        metadata={
            "help": (
                "Share of the English rows held out of training (stratified): the teacher's confusion matrix on them "
                "corrects the target-prior estimate when EM degenerates (BBSE). 0 = none (classify-and-count "
                "fallback)."
            )
        },
    )
    heldout_data: Optional[str] = field(
        default=None,
        metadata={
            "help": (
                "Labelled English rows that no stage trains on, from another domain than the training rows (e.g. "
                "en/uci_sentiment_labelled/imdb_labelled.txt): BBSE's held-out set in place of the heldout_fraction "
                "split, which then stays in training. A teacher errs more off its training domain, as it does on "
                "Burmese (bench/results/prior_estimates.md)."
            )
        },
    )
    cross_lingual_prior: bool = field(
        default=False,
        metadata={
            "help": (
                "When EM degenerates, correct the BBSE prior estimate for reading Burmese too: the teacher's change "
                "of decision between the two sides of the translation pairs (parallel_data) joins its confusion on "
                "held-out English rows (docs/transfer.md). Needs parallel_data and heldout_fraction > 0."
            )
        },
    )
    min_prior: float = field(
        default=0.02,
        metadata={
            "help": (
                "Clamp of the EM target-prior estimate: no class below this share (a degenerate estimate is logged)."
            )
        },
    )
    prior_trust_ratio: Optional[float] = field(
        default=None,
        metadata={
            "help": (
                "Hold EM's target-prior estimate within this factor of BBSE's on the held-out English rows: no class "
                "below bbse / ratio (beyond the paper; needs heldout_data or heldout_fraction > 0). EM swings with "
                "the teacher (0.03-0.18 negative on the main job), and a low estimate starves the n-gram view of "
                "negatives. None = EM as it is (only the min_prior guard)."
            )
        },
    )
    prior_estimator: str = field(
        default="em",
        metadata={
            "help": (
                "The target-prior estimator: 'em' (Saerens et al.'s EM on the teacher's posteriors, guarded by "
                "min_prior and prior_trust_ratio) or 'bbse' (beyond the paper: BBSE on the held-out English rows "
                "used outright, EM only recorded; needs heldout_data or heldout_fraction > 0). A converged EM "
                "estimate swung from 0.011 to 0.35 negative on the main job's budget, BBSE on the IMDb rows stayed "
                "at 0.12-0.17 on all teachers but one (0.236; docs/transfer.md)."
            )
        },
    )
    domain_importance_weights: bool = field(
        default=True,
        metadata={
            "help": (
                "Weight English rows in L_S by pi_target(y) / pi_source(y) (EM prior), so L_S does not erase "
                "sentiment."
            )
        },
    )
    stage2_lambda_align: Optional[float] = field(
        default=None,
        metadata={
            "help": (
                "two-stage: l2 (L_R weight) in stage 2; default: the model's lambda_align. 0 switches L_R off "
                "(ablation)."
            )
        },
    )
    stage2_lambda_domain: Optional[float] = field(
        default=None,
        metadata={
            "help": (
                "two-stage: l3 (L_S weight) in stage 2; default: the model's lambda_domain. 0 switches L_S off "
                "(ablation)."
            )
        },
    )
    stage1_target_labels: bool = field(
        default=True,
        metadata={
            "help": (
                "Few-shot and supervised settings: the teacher also learns from the labelled Burmese reviews in stage "
                "1 (through the teacher path, beside the English rows; docs/transfer.md)."
            )
        },
    )
    labelled_share: float = field(
        default=0.5,
        metadata={
            "help": (
                "Few-shot and supervised settings: share of the non-parallel stage-2 Burmese rows drawn from the "
                "labelled reviews when unlabelled ones are there too (all of them otherwise)."
            )
        },
    )
    match_prior: bool = field(
        default=False,
        metadata={
            "help": (
                "After stage 2, shift the classifier's output bias so that the student predicts each class on the "
                "target prior's share of the unlabelled Burmese reviews (zero-shot, few-shot: the first round's "
                "estimate; no Burmese label) or, in the supervised setting, of the labelled reviews (their label "
                "prior). A decision rule for a student that over-predicts the minority (beyond the paper; "
                "docs/transfer.md)."
            )
        },
    )
    ngram_view: bool = field(
        default=False,
        metadata={
            "help": (
                "After stage 2, fit the n-gram view (a linear model over hashed token n-grams, inside the model) on "
                "the student's class-quota pseudo-labels of the unlabelled reviews and any gold target labels; the "
                "saved model predicts with the product of both views (beyond the paper; docs/transfer.md)."
            )
        },
    )
    ngram_fraction: float = field(
        default=0.8,
        metadata={
            "help": "n-gram view: share of the unlabelled reviews that may be pseudo-labelled (class quotas from the "
            "prior)."
        },
    )
    ngram_weight: float = field(
        default=0.7,
        metadata={
            "help": "n-gram view: its share a of the ensemble log-posterior, (1 - a) log p_student + a log p_ngram."
        },
    )
    ngram_C: float = field(default=3.0, metadata={"help": "n-gram view: inverse L2 strength of its regression."})
    teacher_from: Optional[str] = field(
        default=None,
        metadata={
            "help": (
                "two-stage: reuse a finished stage 1 (a run folder or its stage1/teacher.safetensors) instead of "
                "training it; it must come from the same preset, encoder and seed."
            )
        },
    )

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe={self.recipe!r} is not supported; use one of {list(RECIPES)}.")
        if self.unlabelled_pairing not in UNLABELLED_PAIRINGS:
            raise ValueError(
                f"unlabelled_pairing={self.unlabelled_pairing!r}: use one of {list(UNLABELLED_PAIRINGS)}."
            )
        for name in ("stage1_steps", "stage2_steps", "self_training_rounds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1.")
        if not 0.0 <= self.parallel_share <= 1.0:
            raise ValueError(f"parallel_share={self.parallel_share} must lie in [0, 1] (0 = no parallel stream).")
        if not 0.0 < self.pseudo_fraction <= 1.0:
            raise ValueError(f"pseudo_fraction={self.pseudo_fraction} must lie in (0, 1].")
        if not 0.0 <= self.pseudo_threshold < 1.0:
            raise ValueError(f"pseudo_threshold={self.pseudo_threshold} must lie in [0, 1).")
        if self.soft_temperature <= 0 or self.pseudo_weight < 0:
            raise ValueError("soft_temperature must be positive and pseudo_weight non-negative.")
        if not 0.0 <= self.heldout_fraction < 0.5:
            raise ValueError(f"heldout_fraction={self.heldout_fraction} must lie in [0, 0.5).")
        if not 0.0 <= self.min_prior < 0.5:
            raise ValueError(f"min_prior={self.min_prior} must lie in [0, 0.5).")
        if self.prior_trust_ratio is not None:
            if not self.prior_trust_ratio > 1.0:
                raise ValueError(
                    f"prior_trust_ratio={self.prior_trust_ratio} must be above 1 (e.g. 2: EM's estimate at least "
                    "half of BBSE's), or null to leave EM's estimate as it is."
                )
            if self.heldout_fraction == 0 and not self.heldout_data:
                raise ValueError(
                    "prior_trust_ratio compares EM with BBSE on held-out English rows; set heldout_data (e.g. "
                    "en/uci_sentiment_labelled/imdb_labelled.txt) or heldout_fraction > 0, or prior_trust_ratio: null."
                )
        if self.prior_estimator not in PRIOR_ESTIMATORS:
            raise ValueError(f"prior_estimator={self.prior_estimator!r}: use one of {list(PRIOR_ESTIMATORS)}.")
        if self.prior_estimator == "bbse" and self.heldout_fraction == 0 and not self.heldout_data:
            raise ValueError(
                "prior_estimator: bbse needs held-out English rows; set heldout_data (e.g. "
                "en/uci_sentiment_labelled/imdb_labelled.txt) or heldout_fraction > 0, or prior_estimator: em."
            )
        for name in ("stage2_lambda_align", "stage2_lambda_domain"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name}={value} must be non-negative (or null for the model's own weight).")
        if self.cross_lingual_prior and self.heldout_fraction == 0 and not self.heldout_data:
            raise ValueError(
                "cross_lingual_prior corrects BBSE on held-out English rows; set heldout_fraction > 0 "
                "(e.g. 0.1) or cross_lingual_prior: false."
            )
        if self.parallel_distillation < 0:
            raise ValueError(f"parallel_distillation={self.parallel_distillation} must be non-negative (0 = off).")
        if self.parallel_distillation > 0 and self.parallel_share == 0:
            raise ValueError(
                "parallel_distillation distils on the parallel stream; it needs parallel_share > 0 and parallel_data."
            )
        if not 0.0 <= self.labelled_share <= 1.0:
            raise ValueError(f"labelled_share={self.labelled_share} must lie in [0, 1].")
        if not 0.0 < self.ngram_fraction <= 1.0 or not 0.0 <= self.ngram_weight <= 1.0 or self.ngram_C <= 0:
            raise ValueError(
                f"ngram_fraction={self.ngram_fraction} must lie in (0, 1], ngram_weight={self.ngram_weight} in [0, 1] "
                f"and ngram_C={self.ngram_C} must be positive."
            )
        if self.shuffle_parallel and self.parallel_share == 0:
            raise ValueError("shuffle_parallel is a control of the parallel stream; it needs parallel_share > 0.")


@dataclass
class TransferData:
    """The data of one two-stage run, already loaded and preprocessed.

    Args:
        english_texts / english_labels: labelled English rows (both stages).
        unlabelled (`list[str]`): unlabelled Burmese reviews (stage 2; never their labels).
        parallel (`list[tuple[str, str]]`): `(burmese, english)` translation pairs.
        target_texts / target_labels: labelled Burmese reviews (the few-shot and supervised settings only): the
            teacher learns from them in stage 1 and they are stage 2's gold stream.
    """

    english_texts: list[str]
    english_labels: list[int]
    unlabelled: list[str]
    parallel: list[tuple[str, str]] = field(default_factory=list)
    heldout_texts: list[str] = field(default_factory=list)
    heldout_labels: list[int] = field(default_factory=list)
    target_texts: list[str] = field(default_factory=list)
    target_labels: list[int] = field(default_factory=list)

    def __post_init__(self):
        if len(self.target_texts) != len(self.target_labels):
            raise ValueError(
                f"TransferData: {len(self.target_texts)} labelled Burmese texts but {len(self.target_labels)} labels."
            )

    def hold_out(self, fraction: float, seed: int) -> "TransferData":
        """A copy whose English rows lose a stratified `fraction` to `heldout_*` (never trained on); itself when it
        has held-out rows already (`heldout_data`) or `fraction` is 0."""
        if fraction <= 0 or self.heldout_texts:
            return self
        rng = np.random.default_rng(seed)
        labels = np.asarray(self.english_labels)
        held = np.zeros(len(labels), dtype=bool)
        for c in np.unique(labels):
            rows = rng.permutation(np.flatnonzero(labels == c))
            held[rows[: int(round(fraction * len(rows)))]] = True
        pick = lambda values, mask: [v for v, m in zip(values, mask) if m]  # noqa: E731
        return dataclasses.replace(
            self,
            english_texts=pick(self.english_texts, ~held),
            english_labels=pick(self.english_labels, ~held),
            heldout_texts=pick(self.english_texts, held),
            heldout_labels=pick(self.english_labels, held),
        )
