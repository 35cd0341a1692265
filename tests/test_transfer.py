"""Tests of the two-stage transfer recipe's parts (modeling_ctam.transfer and the model inputs it feeds): the EM class
prior and its guard, pseudo-label quotas on the real GKLMIP label distribution, the stage-2 streams on real rows with
the real tokenizer, and the model's stage-1 / stage-2 forward (teacher head, cached teacher states, soft
pseudo-labels, importance-weighted L_S)."""

from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pytest
import torch

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification
from modeling_ctam.transfer.arguments import TransferArguments, TransferData
from modeling_ctam.transfer.prior import (
    adjust_posteriors,
    bbse_prior,
    em_prior,
    estimate_target_prior,
    language_confusion,
)
from modeling_ctam.transfer.pseudo_label import select_pseudo_labels, sharpen
from modeling_ctam.transfer.streams import Stage2Collator, Stage2Streams, attach_teacher_states, build_stage2_items
from modeling_ctam.utils.paths import data_dir

TINY = dict(
    model_type="xlm-roberta",
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=37,
    vocab_size=99,
    max_position_embeddings=80,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)
GKLMIP_TRAIN = data_dir() / "my" / "gklmip" / "product_sentiment_dataset_train.json"
needs_data = pytest.mark.skipif(not GKLMIP_TRAIN.is_file(), reason="shared data folder not found (set CTAM_DATA_DIR)")


def _calibrated_posteriors(labels: np.ndarray, source_prior: np.ndarray, separation: float, seed: int) -> np.ndarray:
    """Exact Bayes posteriors under `source_prior` for 1-D Gaussian scores with class means -/+ separation/2."""
    rng = np.random.default_rng(seed)
    means = np.array([-separation / 2, separation / 2])
    x = rng.normal(means[labels], 1.0)
    lik = np.exp(-0.5 * (x[:, None] - means[None, :]) ** 2)  # (N, 2)
    joint = lik * source_prior
    return joint / joint.sum(1, keepdims=True)


# ---------------------------------------------------------------------------------------------------- class prior
def test_em_recovers_a_shifted_prior_from_calibrated_posteriors():
    rng = np.random.default_rng(0)
    labels = (rng.random(5000) < 0.9).astype(int)  # 10% negative, like GKLMIP
    probs = _calibrated_posteriors(labels, np.array([0.5, 0.5]), separation=2.5, seed=1)
    prior, adjusted, iterations, converged = em_prior(probs, np.array([0.5, 0.5]))
    assert converged and iterations > 1
    assert abs(prior[0] - 0.1) < 0.02  # the naive predicted share is far off
    assert abs((probs.argmax(1) == 0).mean() - 0.1) > 0.05
    np.testing.assert_allclose(adjusted.sum(1), 1.0)
    np.testing.assert_allclose(adjusted, adjust_posteriors(probs, [0.5, 0.5], prior), atol=1e-6)
    estimate = estimate_target_prior(probs, [0.5, 0.5])
    assert estimate.fallback is None and not estimate.clamped and estimate.prior == pytest.approx(prior.tolist())


def test_a_degenerate_em_estimate_falls_back_to_classify_and_count_and_says_so(caplog):
    # over-confident posteriors: every review looks positive, so EM drives the negative prior to zero
    probs = np.array([[0.01, 0.99]] * 85 + [[0.7, 0.3]] * 15)
    with caplog.at_level(logging.WARNING, logger="modeling_ctam.transfer.prior"):
        estimate = estimate_target_prior(probs, [0.5, 0.5], min_prior=0.05)
    assert estimate.em_prior[0] < 0.05 < estimate.prior[0]
    assert estimate.fallback == "classify-and-count"
    assert estimate.prior == pytest.approx([0.15, 0.85])
    assert "degenerate" in caplog.text and "classify-and-count" in caplog.text
    # classify-and-count itself below the floor is clamped, and the prior stays a distribution
    estimate = estimate_target_prior(np.array([[0.001, 0.999]] * 100), [0.5, 0.5], min_prior=0.05)
    assert estimate.clamped and estimate.prior == pytest.approx([0.05, 0.95])


def _hard_posteriors(labels: np.ndarray, accuracy: float, rng) -> np.ndarray:
    """Over-confident posteriors (0.99 on the predicted class) of a classifier right `accuracy` of the time."""
    predicted = np.where(rng.random(len(labels)) < accuracy, labels, 1 - labels)
    probs = np.full((len(labels), 2), 0.01)
    probs[np.arange(len(labels)), predicted] = 0.99
    return probs


def test_bbse_corrects_classify_and_count_with_held_out_source_rows(caplog):
    rng = np.random.default_rng(3)
    source = (rng.random(4000) < 0.5).astype(int)
    target = (rng.random(5000) < 0.9).astype(int)  # 10% negative
    held, tgt = _hard_posteriors(source, 0.8, rng), _hard_posteriors(target, 0.8, rng)
    share = (tgt.argmax(1) == 0).mean()
    assert share > 0.2  # classify-and-count is off by the classifier's errors
    assert abs(bbse_prior(tgt, held, source)[0] - 0.1) < 0.03
    # the guard: EM on a teacher whose target posteriors are over-confident positive degenerates; BBSE replaces it
    skewed = tgt.copy()
    skewed[:, 0] = np.where(skewed[:, 0] > 0.5, 0.55, 0.001)
    skewed[:, 1] = 1 - skewed[:, 0]
    with caplog.at_level(logging.WARNING, logger="modeling_ctam.transfer.prior"):
        estimate = estimate_target_prior(skewed, [0.5, 0.5], heldout=(held, source))
    assert estimate.fallback == "bbse" and "bbse" in caplog.text
    assert abs(estimate.prior[0] - 0.1) < 0.03


def _leaning(probs: np.ndarray, shift: float) -> np.ndarray:
    """Two-class posteriors with their log-odds shifted by `shift`: a teacher biased towards the positive class
    (shift > 0) or the negative one (shift < 0), calibrated otherwise."""
    log_odds = np.log(probs[:, 1] / probs[:, 0]) + shift
    positive = 1.0 / (1.0 + np.exp(-log_odds))
    return np.stack([1.0 - positive, positive], axis=1)


def test_prior_trust_ratio_holds_a_low_em_estimate_within_a_factor_of_bbse(caplog):
    """A calibrated teacher with a bias towards the majority (its log-odds shifted by 1.5, on English and Burmese
    alike): EM's estimate falls to about a third of the truth without degenerating, while BBSE, which needs no
    calibration, stays near it. With a trust ratio the estimate is raised to BBSE / ratio; a teacher without the bias
    gives an EM estimate inside the band, left exactly as it is."""
    rng = np.random.default_rng(5)
    source = (rng.random(4000) < 0.5).astype(int)
    target = (rng.random(5000) < 0.9).astype(int)  # 10% negative

    held0 = _calibrated_posteriors(source, np.array([0.5, 0.5]), separation=2.5, seed=3)
    tgt0 = _calibrated_posteriors(target, np.array([0.5, 0.5]), separation=2.5, seed=2)
    held, tgt = _leaning(held0, 1.5), _leaning(tgt0, 1.5)
    reference = bbse_prior(tgt, held, source)
    assert abs(reference[0] - 0.1) < 0.02
    plain = estimate_target_prior(tgt, [0.5, 0.5], heldout=(held, source))
    assert plain.fallback is None and 0.02 < plain.prior[0] < reference[0] / 2  # the failure the guard is for
    with caplog.at_level(logging.WARNING, logger="modeling_ctam.transfer.prior"):
        guarded = estimate_target_prior(tgt, [0.5, 0.5], heldout=(held, source), trust_ratio=2.0)
    assert guarded.fallback == "em-held-to-bbse" and guarded.clamped
    assert guarded.prior[0] == pytest.approx(reference[0] / 2)
    assert sum(guarded.prior) == pytest.approx(1.0)
    assert guarded.em_prior == pytest.approx(plain.em_prior)
    assert guarded.reference_prior == pytest.approx(reference.tolist()) and guarded.trust_ratio == 2.0
    assert "BBSE" in caplog.text
    # no bias: EM inside the band is untouched, and the reference is still recorded
    free = estimate_target_prior(tgt0, [0.5, 0.5])
    inside = estimate_target_prior(tgt0, [0.5, 0.5], heldout=(held0, source), trust_ratio=2.0)
    assert inside.fallback is None and not inside.clamped and inside.prior == pytest.approx(free.prior)
    assert inside.reference_prior is not None
    with pytest.raises(ValueError, match="trust_ratio"):
        estimate_target_prior(tgt0, [0.5, 0.5], heldout=(held0, source), trust_ratio=1.0)


def test_prior_estimator_bbse_uses_bbse_whatever_em_converges_to():
    """The leaning teacher of the trust-band test, in both directions: EM converges to a third of the true negative
    share (log-odds shifted towards the majority) or to well above it (shifted the other way). BBSE, which needs no
    calibration, stays near the truth both times; `estimator="bbse"` uses it and records EM's estimate."""
    rng = np.random.default_rng(5)
    source = (rng.random(4000) < 0.5).astype(int)
    target = (rng.random(5000) < 0.9).astype(int)  # 10% negative
    held0 = _calibrated_posteriors(source, np.array([0.5, 0.5]), separation=2.5, seed=3)
    tgt0 = _calibrated_posteriors(target, np.array([0.5, 0.5]), separation=2.5, seed=2)

    for shift, em_wrong in ((1.5, lambda p: p < 0.05), (-1.0, lambda p: p > 0.15)):
        held, tgt = _leaning(held0, shift), _leaning(tgt0, shift)
        em = estimate_target_prior(tgt, [0.5, 0.5], heldout=(held, source))
        assert em.estimator == "em" and em.fallback is None and em_wrong(em.prior[0]), (shift, em.prior)
        used = estimate_target_prior(tgt, [0.5, 0.5], heldout=(held, source), estimator="bbse")
        assert used.estimator == "bbse" and used.to_dict()["estimator"] == "bbse"
        assert abs(used.prior[0] - 0.1) < 0.02 and used.prior == pytest.approx(used.reference_prior)
        assert used.em_prior == pytest.approx(em.em_prior) and sum(used.prior) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="heldout"):
        estimate_target_prior(tgt0, [0.5, 0.5], estimator="bbse")
    with pytest.raises(ValueError, match="estimator"):
        estimate_target_prior(tgt0, [0.5, 0.5], heldout=(held0, source), estimator="mle")
    with pytest.raises(ValueError, match="heldout_data"):
        TransferArguments(recipe="two-stage", prior_estimator="bbse", heldout_fraction=0.0)
    with pytest.raises(ValueError, match="prior_estimator"):
        TransferArguments(recipe="two-stage", prior_estimator="mle")


def test_cross_lingual_bbse_removes_the_language_shift_that_english_bbse_keeps(caplog):
    """A teacher right 80% of the time on English that, reading Burmese, also turns 20% of its positive decisions
    negative: BBSE on English rows keeps that bias; measuring the shift on translation pairs removes it."""
    rng = np.random.default_rng(4)

    def shifted(probs: np.ndarray) -> np.ndarray:  # the Burmese reading: positive decisions flip with p = 0.2
        out = probs.copy()
        flip = (probs.argmax(1) == 1) & (rng.random(len(probs)) < 0.2)
        out[flip] = out[flip][:, ::-1]
        return out

    source = (rng.random(4000) < 0.5).astype(int)
    target = (rng.random(5000) < 0.9).astype(int)  # 10% negative
    held = _hard_posteriors(source, 0.8, rng)
    tgt = shifted(_hard_posteriors(target, 0.8, rng))
    content = (rng.random(3000) < 0.5).astype(int)  # translation pairs: the same content on both sides
    english_side = _hard_posteriors(content, 0.8, rng)
    burmese_side = shifted(english_side)
    shift = language_confusion(burmese_side, english_side)
    assert shift[0, 1] == pytest.approx(0.2, abs=0.03) and shift[0, 0] == 1.0  # (target pred, source pred)
    assert bbse_prior(tgt, held, source)[0] > 0.25  # English-only BBSE: off by the language shift
    assert abs(bbse_prior(tgt, held, source, shift=shift)[0] - 0.1) < 0.03
    skewed = tgt.copy()  # over-confident on the positive class: EM degenerates and the guard picks the fallback
    skewed[:, 0] = np.where(tgt[:, 0] > 0.5, 0.55, 0.001)
    skewed[:, 1] = 1 - skewed[:, 0]
    with caplog.at_level(logging.WARNING, logger="modeling_ctam.transfer.prior"):
        estimate = estimate_target_prior(
            skewed, [0.5, 0.5], heldout=(held, source), parallel=(burmese_side, english_side)
        )
    assert estimate.fallback == "bbse-cross-lingual" and "bbse-cross-lingual" in caplog.text
    assert abs(estimate.prior[0] - 0.1) < 0.03
    with pytest.raises(ValueError, match="heldout_fraction"):
        TransferArguments(recipe="two-stage", cross_lingual_prior=True, heldout_fraction=0.0)


def test_held_out_english_rows_are_stratified_and_never_trained_on():
    data = TransferData(
        english_texts=[f"t{i}" for i in range(40)], english_labels=[i % 2 for i in range(40)], unlabelled=["u"]
    )
    split = data.hold_out(0.1, seed=0)
    assert len(split.heldout_texts) == 4 and sorted(split.heldout_labels) == [0, 0, 1, 1]
    assert not set(split.heldout_texts) & set(split.english_texts)
    assert len(split.english_texts) == 36 and data.hold_out(0.0, seed=0) is data


def test_prior_estimate_refuses_bad_input():
    with pytest.raises(ValueError, match="min_prior"):
        estimate_target_prior(np.array([[0.5, 0.5]]), [0.5, 0.5], min_prior=0.6)
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        estimate_target_prior(np.zeros((0, 2)), [0.5, 0.5])


# ---------------------------------------------------------------------------------------------------- pseudo-labels
@needs_data
def test_pseudo_label_quotas_follow_the_prior_on_the_real_gklmip_label_distribution():
    rows = json.loads(GKLMIP_TRAIN.read_text(encoding="utf-8"))
    stars = np.array([int(r["label"]) for r in rows])
    keep = stars != 3
    labels = (stars[keep] >= 4).astype(int)  # the binary scheme: 1-2 negative, 4-5 positive
    assert 0.05 < (labels == 0).mean() < 0.15
    probs = _calibrated_posteriors(labels, np.array([0.5, 0.5]), separation=3.0, seed=2)
    estimate = estimate_target_prior(probs, [0.5, 0.5])
    adjusted = adjust_posteriors(probs, [0.5, 0.5], estimate.prior)
    pseudo = select_pseudo_labels(adjusted, estimate.prior, fraction=0.6)
    n = len(labels)
    assert pseudo.quotas == [round(0.6 * n * p) for p in estimate.prior]
    assert all(c <= q for c, q in zip(pseudo.counts, pseudo.quotas))
    assert pseudo.counts[0] > 0.5 * pseudo.quotas[0]  # the minority class gets its share, not nothing
    share = pseudo.counts[0] / sum(pseudo.counts)
    assert abs(share - (labels == 0).mean()) < 0.05  # the selected set keeps the target's proportions
    # each class's selection is the rows ranked highest by p(c | x)
    for c in (0, 1):
        chosen = pseudo.indices[pseudo.labels == c]
        others = np.setdiff1d(np.arange(n), pseudo.indices)
        assert adjusted[chosen, c].min() >= adjusted[others, c].max()
    # and they are mostly right: precision above the teacher's overall accuracy
    assert (labels[pseudo.indices] == pseudo.labels).mean() > (labels == adjusted.argmax(1)).mean()
    np.testing.assert_array_equal(pseudo.targets, np.eye(2)[pseudo.labels])


def test_soft_pseudo_labels_and_threshold():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]])
    pseudo = select_pseudo_labels(probs, [0.5, 0.5], fraction=1.0, threshold=0.7, soft=True, temperature=0.5)
    assert pseudo.indices.tolist() == [0, 2]  # 0.6 and 0.55 are under the threshold
    np.testing.assert_allclose(pseudo.targets, sharpen(probs[[0, 2]], 0.5))
    assert pseudo.targets[0, 0] > 0.9  # sharpened


def test_the_minority_class_is_ranked_not_argmaxed():
    # a teacher unsure of its negatives: after the prior shift no row has a negative argmax, yet rows 0-2 rank first
    probs = np.array([[0.45, 0.55], [0.40, 0.60], [0.35, 0.65]] + [[0.05, 0.95]] * 27)
    assert (probs.argmax(1) == 0).sum() == 0
    pseudo = select_pseudo_labels(probs, [0.1, 0.9], fraction=1.0, soft=True)
    assert pseudo.quotas == [3, 27] and pseudo.counts == [3, 27]
    assert sorted(pseudo.indices[pseudo.labels == 0].tolist()) == [0, 1, 2]
    np.testing.assert_array_equal(pseudo.targets[pseudo.labels == 0], [[1.0, 0.0]] * 3)  # one-hot against argmax
    with pytest.raises(ValueError, match="fraction"):
        select_pseudo_labels(probs, [0.5, 0.5], fraction=0.0)


# ---------------------------------------------------------------------------------------------------- streams
def _streams(**kw) -> Stage2Streams:
    english = [f"english {c} {i}" for i in range(10) for c in ("neg", "pos")]
    labels = [i % 2 for i in range(20)]
    return Stage2Streams(
        english_texts=english,
        english_labels=labels,
        parallel=[(f"my-{i}", f"en-{i}") for i in range(7)],
        unlabelled=[f"review {i}" for i in range(11)],
        pseudo_targets={0: np.array([0.0, 1.0]), 3: np.array([0.8, 0.2])},
        pseudo_labels={0: 1, 3: 0},
        source_weights=np.array([0.2, 1.8]),
        **kw,
    )


def test_stage2_items_mix_the_streams_in_the_asked_share_and_pair_as_asked():
    items = build_stage2_items(_streams(), 40, parallel_share=0.25, pairing="pseudo-label", seed=0)
    assert len(items) == 40 and sum(it["stream"] == "parallel" for it in items) == 10
    for it in items:
        assert it["source_weight"] == (0.2 if it["source_label"] == 0 else 1.8)
        if it["stream"] == "parallel":  # its translation is the teacher pair
            assert it["teacher_text"] == "en-" + it["text"].split("-")[1] and it["soft_label"] is None
        elif it["text"] == "review 3":  # pseudo-label 0: an English review of class 0
            assert it["teacher_text"].startswith("english neg") and it["soft_label"].tolist() == [0.8, 0.2]
        elif it["text"] in ("review 0",):
            assert it["teacher_text"].startswith("english pos")
        else:  # no pseudo-label, no pair
            assert it["teacher_text"] is None and it["soft_label"] is None
    again = build_stage2_items(_streams(), 40, parallel_share=0.25, pairing="pseudo-label", seed=0)
    assert [it["text"] for it in again] == [it["text"] for it in items]  # seed-stable


def test_controls_random_pairing_and_shuffled_parallel():
    items = build_stage2_items(_streams(), 60, parallel_share=0.5, pairing="random", shuffle_parallel=True, seed=1)
    parallel = [it for it in items if it["stream"] == "parallel"]
    broken = [it for it in parallel if it["teacher_text"] != "en-" + it["text"].split("-")[1]]
    assert len(broken) > len(parallel) // 2  # the translation link is broken for most
    assert {it["teacher_text"] for it in parallel} <= {f"en-{i}" for i in range(7)}  # same sentences
    reviews = [it for it in items if it["stream"] == "unlabelled"]
    assert all(it["teacher_text"] is not None for it in reviews)  # every review gets an arbitrary partner
    with pytest.raises(ValueError, match="parallel"):
        build_stage2_items(Stage2Streams(["a"], [0], unlabelled=["x"]), 4, parallel_share=0.5, pairing="none")


@needs_data
def test_stage2_collator_on_real_rows_with_the_real_tokenizer(offline_encoder_dir):
    from transformers import AutoTokenizer

    from modeling_ctam.data import CTAMCollator, load_examples, load_parallel

    tok = AutoTokenizer.from_pretrained(offline_encoder_dir)
    reviews = load_examples(str(GKLMIP_TRAIN), labels="binary")["text"][:6]
    pairs = load_parallel(str(data_dir() / "parallel" / "talpco"))
    english = load_examples(str(data_dir() / "en" / "uci_sentiment_labelled" / "yelp_labelled.txt"), labels="binary")
    streams = Stage2Streams(
        english_texts=english["text"][:20],
        english_labels=english["label"][:20],
        parallel=list(zip(pairs["target_text"][:5], pairs["source_text"][:5])),
        unlabelled=list(reviews),
        pseudo_targets={1: np.array([0.3, 0.7])},
        pseudo_labels={1: 1},
    )
    items = build_stage2_items(streams, 8, parallel_share=0.5, pairing="pseudo-label", seed=0)
    states = {t: torch.full((3, 4), float(len(t))) for t in {it["teacher_text"] for it in items} if t is not None}
    attach_teacher_states(items, states)
    batch = Stage2Collator(CTAMCollator(tokenizer=tok, max_length=32), num_labels=2)(items)
    assert batch["input_ids"].shape[0] == batch["source_input_ids"].shape[0] == 8
    assert batch["teacher_states"].shape == (8, 3, 4)
    has_pair = torch.tensor([it["teacher_text"] is not None for it in items], dtype=torch.float32)
    assert torch.equal(batch["teacher_weights"], has_pair) and has_pair.sum() >= 4
    for i, it in enumerate(items):
        expected = float(len(it["teacher_text"])) if it["teacher_text"] else 0.0
        assert torch.all(batch["teacher_states"][i] == expected)
    soft_rows = [i for i, it in enumerate(items) if it["soft_label"] is not None]
    if soft_rows:
        assert torch.allclose(batch["soft_labels"][soft_rows[0]], torch.tensor([0.3, 0.7]))
    assert (batch["labels"] == -100).all()  # no Burmese gold label reaches a zero-shot batch


def test_transfer_arguments_validate_with_clear_messages():
    with pytest.raises(ValueError, match="recipe"):
        TransferArguments(recipe="three-stage")
    with pytest.raises(ValueError, match="shuffle_parallel"):
        TransferArguments(recipe="two-stage", parallel_share=0.0, shuffle_parallel=True)
    with pytest.raises(ValueError, match="unlabelled_pairing"):
        TransferArguments(unlabelled_pairing="label")
    with pytest.raises(ValueError, match="prior_trust_ratio=1.0 must be above 1"):
        TransferArguments(recipe="two-stage", prior_trust_ratio=1.0)
    with pytest.raises(ValueError, match="heldout_data"):
        TransferArguments(recipe="two-stage", prior_trust_ratio=2.0, heldout_fraction=0.0)
    assert TransferArguments(recipe="two-stage", prior_trust_ratio=2.0).prior_trust_ratio == 2.0


# ---------------------------------------------------------------------------------------------------- model inputs
def _model(seed=0, **kw) -> CTAMForSequenceClassification:
    torch.manual_seed(seed)
    config = CTAMConfig(encoder_config=dict(TINY), num_labels=2, align_reduction="mean", **kw)
    return CTAMForSequenceClassification(config)


def _ids(seed, b=4, t=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, 99, (b, t), generator=g), torch.ones(b, t, dtype=torch.long)


def test_stage1_teacher_only_forward_trains_the_teacher_head_not_the_student():
    model = _model(teacher_head=True).train()
    sids, smask = _ids(1)
    out = model(source_input_ids=sids, source_attention_mask=smask, source_labels=torch.tensor([0, 1, 1, 0]))
    assert out.loss_teacher is not None and out.loss_cls is not None
    torch.testing.assert_close(out.loss, out.loss_cls + out.loss_teacher)
    out.loss.backward()
    dp = model.dual_path
    assert dp.teacher_head.weight.grad.abs().sum() > 0 and dp.teacher_gru.weight_ih_l0.grad.abs().sum() > 0
    assert dp.student_gru.weight_ih_l0.grad is None  # the student path is not run in stage 1
    assert model.ctam.mapping.weight.grad is None  # English takes no mapping


def test_cached_teacher_states_give_l_r_only_for_paired_rows():
    model = _model(teacher_head=True).eval()
    ids, mask = _ids(2)
    sids, smask = _ids(3)
    k = 2 * model.config.resolved_gru_hidden_size
    states = torch.randn(4, 2, k)
    weights = torch.tensor([1.0, 1.0, 0.0, 0.0])
    common = dict(
        input_ids=ids,
        attention_mask=mask,
        source_input_ids=sids,
        source_attention_mask=smask,
        source_labels=torch.tensor([0, 1, 0, 1]),
    )
    a = model(**common, teacher_states=states, teacher_weights=weights)
    changed = states.clone()
    changed[2:] = 5.0  # unpaired rows' states must not matter
    b = model(**common, teacher_states=changed, teacher_weights=weights)
    torch.testing.assert_close(a.loss_align, b.loss_align)
    c = model(**common, teacher_states=changed, teacher_weights=torch.ones(4))
    assert not torch.allclose(a.loss_align, c.loss_align)
    assert a.loss_teacher is None  # the cached teacher replaces the teacher BiGRU in stage 2


def test_soft_pseudo_labels_enter_eq12_by_their_weight():
    model = _model(lambda_align=0.0, lambda_domain=0.0).eval()
    ids, mask = _ids(4)
    sids, smask = _ids(5)
    slabels = torch.tensor([0, 1, 0, 1])
    soft = torch.tensor([[0.0, 0.0], [0.2, 0.6], [0.0, 1.0], [0.0, 0.0]])  # rows 1 and 2, weights 0.8 and 1
    out = model(
        input_ids=ids,
        attention_mask=mask,
        source_input_ids=sids,
        source_attention_mask=smask,
        source_labels=slabels,
        soft_labels=soft,
    )
    src_logits, tgt_logits = out.source_logits.float(), out.logits.float()
    ce_src = torch.nn.functional.cross_entropy(src_logits, slabels, reduction="sum")
    ce_soft = -(soft * torch.log_softmax(tgt_logits, -1)).sum()
    torch.testing.assert_close(out.loss_cls, (ce_src + ce_soft) / (4 + 1.8))


def test_importance_weights_scale_the_english_rows_of_l_s_and_path_by_path_matches_joint():
    model = _model(teacher_head=True).train()
    for m in model.modules():  # no dropout: the two passes must see the same function
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    ids, mask = _ids(6)
    sids, smask = _ids(7)
    k = 2 * model.config.resolved_gru_hidden_size
    batch = dict(
        input_ids=ids,
        attention_mask=mask,
        source_input_ids=sids,
        source_attention_mask=smask,
        source_labels=torch.tensor([0, 1, 0, 1]),
        teacher_states=torch.randn(4, 2, k),
        teacher_weights=torch.tensor([1.0, 0.0, 1.0, 1.0]),
        soft_labels=torch.tensor([[0.1, 0.9]] * 4),
        training_progress=0.5,
    )
    plain = model(**batch).loss_domain
    weighted = model(**batch, source_weights=torch.tensor([0.0, 2.0, 0.0, 2.0])).loss_domain
    assert not torch.allclose(plain, weighted)
    zero = model(**batch, source_weights=torch.zeros(4)).loss_domain
    assert zero < plain  # English rows weighted 0 leave only the Burmese rows' share
    batch["source_weights"] = torch.tensor([0.2, 1.8, 0.2, 1.8])
    model.zero_grad()
    model(**batch).loss.backward()
    joint = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    for part, _ in model.path_by_path_losses(**batch):
        part.backward()
    for name, grad in joint.items():
        torch.testing.assert_close(model.get_parameter(name).grad, grad, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------------------------------- distillation
@needs_data
def test_parallel_distillation_targets_are_the_frozen_teachers_english_posteriors(offline_encoder_dir):
    from transformers import AutoTokenizer

    from modeling_ctam.data import load_parallel
    from modeling_ctam.transfer.recipe import attach_distillation_targets
    from modeling_ctam.transfer.teacher import teacher_posteriors

    tok = AutoTokenizer.from_pretrained(offline_encoder_dir)
    torch.manual_seed(0)
    model = CTAMForSequenceClassification(CTAMConfig(encoder_config=dict(TINY, vocab_size=len(tok)), num_labels=2))
    with torch.no_grad():  # a classifier with an opinion, so that posteriors differ between sentences
        model.classifier.out_proj.weight.mul_(50.0)
    pairs = load_parallel(str(data_dir() / "parallel" / "talpco"))
    parallel = list(zip(pairs["target_text"][:6], pairs["source_text"][:6]))
    streams = Stage2Streams(
        english_texts=["good", "bad"],
        english_labels=[1, 0],
        parallel=parallel,
        unlabelled=["review one", "review two"],
        pseudo_targets={0: np.array([0.1, 0.9])},
        pseudo_labels={0: 1},
    )
    for shuffle in (False, True):
        items = build_stage2_items(
            streams, 16, parallel_share=0.5, pairing="pseudo-label", shuffle_parallel=shuffle, seed=3
        )
        cache: dict = {}
        count = attach_distillation_targets(model, tok, items, 0.5, cache, max_length=32, batch_size=4)
        par = [it for it in items if it["stream"] == "parallel"]
        assert count == len(par) == 8 and set(cache) == {it["teacher_text"] for it in par}
        english = [it["teacher_text"] for it in par]  # the translation, or the shuffled partner in the control
        expected = teacher_posteriors(model, tok, english, language="en", max_length=32)
        for it, p in zip(par, expected):
            np.testing.assert_allclose(it["soft_label"], 0.5 * p, rtol=1e-6)
        assert len({round(float(it["soft_label"][0]), 6) for it in par}) > 1  # sentence-specific targets
        for it in items:  # the review stream keeps its own pseudo-labels
            if it["stream"] == "unlabelled":
                assert it["soft_label"] is None or it["soft_label"].tolist() == [0.1, 0.9]
    # later rounds: the model has become the student, the targets stay the frozen teacher's (read from the cache)
    with torch.no_grad():
        model.classifier.out_proj.weight.neg_()
    again = build_stage2_items(streams, 16, parallel_share=0.5, pairing="pseudo-label", shuffle_parallel=True, seed=3)
    attach_distillation_targets(model, tok, again, 0.5, cache, max_length=32, batch_size=4)
    for a, b in zip(again, items):
        if a["stream"] == "parallel":
            np.testing.assert_allclose(a["soft_label"], b["soft_label"])


def test_parallel_distillation_needs_the_parallel_stream():
    with pytest.raises(ValueError, match="parallel_share > 0"):
        TransferArguments(recipe="two-stage", parallel_share=0.0, parallel_distillation=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        TransferArguments(recipe="two-stage", parallel_distillation=-1.0)


@needs_data
def test_heldout_data_gives_bbse_its_own_english_rows_and_names_a_missing_file(tmp_path):
    from modeling_ctam.training import load_config
    from modeling_ctam.training.assembly import build_transfer_data

    imdb = "en/uci_sentiment_labelled/imdb_labelled.txt"
    overrides = {
        "recipe": "two-stage",
        "parallel_share": 0.0,
        "source_data": "en/uci_sentiment_labelled/yelp_labelled.txt",
        "max_source_examples": 200,
        "target_train": "my/gklmip/product_sentiment_dataset_dev.json",
        "target_dev": "my/gklmip/product_sentiment_dataset_dev.json",
        "output_dir": str(tmp_path),
        "eval_strategy": "no",
        "save_strategy": "no",
        "load_best_model_at_end": False,
        "heldout_data": imdb,
    }
    cfg = load_config(None, overrides)
    data, _, summary = build_transfer_data(cfg.data, 0, False, cfg.run.heldout_data)
    assert summary["heldout_examples"] == len(data.heldout_texts) == 1000  # the UCI IMDb file, balanced
    assert sorted(set(data.heldout_labels)) == [0, 1] and sum(data.heldout_labels) == 500
    assert len(data.english_texts) == 200 and not set(data.heldout_texts) & set(data.english_texts)
    assert data.hold_out(0.1, seed=0) is data  # the run's heldout_fraction split is not taken on top
    cfg = load_config(None, dict(overrides, heldout_data="en/no-such-file.txt"))
    with pytest.raises(FileNotFoundError, match="heldout_data"):
        build_transfer_data(cfg.data, 0, False, cfg.run.heldout_data)


# ------------------------------------------------------------------------------ prior matching, labelled streams
def test_prior_matching_bias_puts_each_class_on_its_prior_share():
    from modeling_ctam.transfer.prior import prior_matching_bias

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1000, 2)) + np.array([0.5, 0.0])  # leans to class 0: about 64% of the argmaxes
    bias = prior_matching_bias(logits, np.array([0.1, 0.9]))
    share = np.bincount((logits + bias).argmax(1), minlength=2) / 1000
    assert abs(share[0] - 0.1) <= 0.001 and share[0] < (logits.argmax(1) == 0).mean() - 0.4
    assert abs(bias.sum()) < 1e-9  # a shift of the decision, not of the logits' level
    three = rng.normal(size=(900, 3))
    bias3 = prior_matching_bias(three, np.array([0.2, 0.3, 0.5]))
    share3 = np.bincount((three + bias3).argmax(1), minlength=3) / 900
    assert np.abs(share3 - [0.2, 0.3, 0.5]).max() < 0.01
    with pytest.raises(ValueError, match="not a distribution"):
        prior_matching_bias(logits, np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match=r"\(N, C\) log-posteriors"):
        prior_matching_bias(logits, np.array([0.2, 0.3, 0.5]))


def test_labelled_stream_carries_gold_labels_and_label_aware_pairs():
    english = [f"en {i}" for i in range(20)]
    english_labels = [i % 2 for i in range(20)]
    labelled = [(f"my gold {i}", int(i < 3)) for i in range(10)]  # 3 of class 1, 7 of class 0
    streams = Stage2Streams(
        english_texts=english,
        english_labels=english_labels,
        unlabelled=[f"my u{i}" for i in range(30)],
        labelled=labelled,
    )
    items = build_stage2_items(streams, 200, parallel_share=0.0, pairing="pseudo-label", seed=1, labelled_share=0.25)
    gold = [it for it in items if it["stream"] == "labelled"]
    assert len(gold) == 50 and all(it["soft_label"] is None for it in gold)
    truth = dict(labelled)
    for it in gold:
        assert it["label"] == truth[it["text"]]
        assert english_labels[english.index(it["teacher_text"])] == it["label"]  # paired with its gold class
    assert all(it["label"] == -100 for it in items if it["stream"] == "unlabelled")
    # supervised: no unlabelled review, so every non-parallel row is a gold one whatever labelled_share says
    alone = build_stage2_items(
        dataclasses.replace(streams, unlabelled=[]),
        40,
        parallel_share=0.0,
        pairing="none",
        seed=1,
        labelled_share=0.25,
    )
    assert all(it["stream"] == "labelled" and it["teacher_text"] is None for it in alone)
    with pytest.raises(ValueError, match="labelled_share"):
        TransferArguments(labelled_share=1.5)
    with pytest.raises(ValueError, match="labels"):
        TransferData(
            english_texts=english, english_labels=english_labels, unlabelled=[], target_texts=["a"], target_labels=[]
        )
