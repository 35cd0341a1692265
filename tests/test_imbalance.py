"""Issue 12: the few-shot sampler (k labelled Burmese reviews per class), the class-imbalance options of the supervised
and few-shot settings (modeling_ctam.training.imbalance) and the three- and five-class schemes end to end, on real
GKLMIP rows, the real offline tokenizer and tiny random encoders (hidden 32, 2 layers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import modeling_ctam.training as T
from modeling_ctam import CTAMConfig, CTAMForSequenceClassification
from modeling_ctam.training.imbalance import (
    ClassBalancedSampler,
    ImbalanceArguments,
    balanced_sample_weights,
    plan_imbalance,
)
from modeling_ctam.utils.paths import data_dir

GKLMIP = data_dir() / "my" / "gklmip"
needs_data = pytest.mark.skipif(not GKLMIP.is_dir(), reason="shared data folder not found (set CTAM_DATA_DIR)")


# ----------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def small_gklmip(tmp_path_factory) -> dict[str, str]:
    """Real GKLMIP rows, every 8th train row and every 3rd dev row (the files are sorted by stars, so every star
    rating stays), in the original format."""
    if not GKLMIP.is_dir():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    out = tmp_path_factory.mktemp("gklmip")
    paths = {}
    for split, step in (("train", 8), ("dev", 3)):
        name = f"product_sentiment_dataset_{split}.json"
        rows = json.loads((GKLMIP / name).read_text(encoding="utf-8"))[::step]
        (out / name).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        paths[split] = str(out / name)
    paths["source"] = str(data_dir() / "en" / "sst2" / "dev.tsv")
    return paths


# ---------------------------------------------------------------------------------------------------- few-shot sampler
def _few_shot(k: int, seed: int, keep_unlabelled: bool = False, labels: str = "binary"):
    cfg = T.load_config(
        None,
        setting="few-shot",
        few_shot_n=k,
        few_shot_keep_unlabelled=keep_unlabelled,
        labels=labels,
        seed=seed,
        pairing="label" if not keep_unlabelled else "random",
    )
    train, _ = T.load_target(cfg.data, seed)
    return train


@needs_data
def test_few_shot_sampler_exact_counts_seed_stable_and_nested():
    draws = {}
    for k in (8, 32, 128):
        train = _few_shot(k, seed=1)
        assert sorted(np.bincount(train["label"]).tolist()) == [k, k]  # exactly k per class
        assert len(set(train["source_line"])) == 2 * k  # without replacement
        draws[k] = set(train["source_line"])
    assert draws[8] < draws[32] < draws[128]  # one seed adds labels along the learning curve, it does not redraw
    again = _few_shot(32, seed=1)
    assert set(again["source_line"]) == draws[32] and list(again["text"]) == list(_few_shot(32, seed=1)["text"])
    assert set(_few_shot(32, seed=2)["source_line"]) != draws[32]
    # keep_unlabelled: every train text stays, exactly k per class labelled, and they are the same k rows
    kept = _few_shot(8, seed=1, keep_unlabelled=True)
    labelled = [loc for loc, y in zip(kept["source_line"], kept["label"]) if y >= 0]
    assert len(kept) == 2392 and sorted(labelled) == sorted(draws[8])
    # three classes: the neutral class has 100 train reviews, so k=128 is refused with the counts
    assert np.bincount(_few_shot(32, seed=1, labels="three-class")["label"]).tolist() == [32, 32, 32]
    with pytest.raises(ValueError, match="few_shot_n=128.*class 1 has only 100"):
        _few_shot(128, seed=1, labels="three-class")


@needs_data
def test_few_shot_rows_are_logged_in_the_summary(small_gklmip, tmp_path):
    cfg = T.load_config(
        None,
        output_dir=str(tmp_path),
        setting="few-shot",
        few_shot_n=3,
        seed=4,
        pairing="label",
        few_shot_keep_unlabelled=False,
        source_data=[small_gklmip["source"]],
        max_source_examples=16,
        target_train=small_gklmip["train"],
        target_dev=small_gklmip["dev"],
    )
    train, _, summary = T.build_datasets(cfg.data, cfg.training.seed)
    record = summary["few_shot_rows"]
    assert record["k"] == 3 and record["seed"] == 4 and len(record["rows"]) == 6
    assert all(row.startswith("product_sentiment_dataset_train.json[") for row in record["rows"])


# --------------------------------------------------------------------------------------------------- imbalance options
def _tiny_model(num_labels: int = 2) -> CTAMForSequenceClassification:
    torch.manual_seed(0)
    encoder = dict(
        model_type="bert",
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        vocab_size=99,
        max_position_embeddings=64,
        pad_token_id=0,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    config = CTAMConfig(encoder_config=encoder, num_labels=num_labels, classifier_dropout=0.0)
    return CTAMForSequenceClassification(config)


def _gradient_shares(method: str, labels: list[int]) -> tuple[float, torch.Tensor]:
    """(minority rows' share of |dL/dlogits| over the Burmese rows, dL/d source logits) after one dual-path forward
    with the plan of `method` for these Burmese labels."""
    model = _tiny_model()
    model.train()
    plan = plan_imbalance(
        ImbalanceArguments(imbalance=method), "supervised", "joint", labels, ["negative", "positive"]
    )
    g = torch.Generator().manual_seed(1)
    n = len(labels)
    ids, source_ids = torch.randint(3, 99, (n, 7), generator=g), torch.randint(3, 99, (n, 7), generator=g)
    out = model(
        **(plan.label_loss.forward_kwargs() if plan.label_loss is not None else {}),  # as CTAMTrainer passes it
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        labels=torch.tensor(labels),
        source_input_ids=source_ids,
        source_attention_mask=torch.ones_like(source_ids),
        source_labels=torch.tensor([0, 1] * (n // 2)),
    )
    out.logits.retain_grad()
    out.source_logits.retain_grad()
    out.loss.backward()
    per_row = out.logits.grad.abs().sum(-1)
    minority = torch.tensor(labels) == 0
    return float(per_row[minority].sum() / per_row.sum()), out.source_logits.grad.clone()


def test_each_imbalance_option_raises_the_minority_gradient_share():
    labels = [0] + [1] * 9  # GKLMIP's 90/10 split in one batch
    plain, plain_source = _gradient_shares("none", labels)
    assert 0.05 < plain < 0.2  # about 1 row in 10
    for method in ("logit-adjustment", "class-weights"):
        share, source = _gradient_shares(method, labels)
        assert share > plain + 0.15, (method, share, plain)
        assert torch.allclose(source, plain_source)  # only the Burmese (target) path is adjusted
    # the class-balanced sampler: the minority class is drawn about as often as the majority
    sampler = ClassBalancedSampler(balanced_sample_weights(labels * 100, 2), seed=3)
    drawn = np.asarray(labels * 100)[list(sampler)]
    assert len(drawn) == 1000 and 0.42 < (drawn == 0).mean() < 0.58
    plain_draw = np.asarray(labels * 100)  # what one epoch without the sampler visits
    assert (drawn == 0).mean() > (plain_draw == 0).mean() + 0.3


def test_logit_adjustment_is_menon_et_al_and_leaves_inference_alone():
    labels = [0] * 10 + [1] * 90
    plan = plan_imbalance(
        ImbalanceArguments(imbalance="logit-adjustment", logit_adjustment_tau=1.0),
        "supervised",
        "joint",
        labels,
        ["negative", "positive"],
    )
    prior = np.array([11 / 102, 91 / 102])  # one smoothing count per class
    assert plan.record["prior"] == {"negative": round(prior[0], 4), "positive": round(prior[1], 4)}
    model = _tiny_model()
    ids = torch.randint(3, 99, (4, 6), generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 1, 0])
    model.train()
    logits = model(input_ids=ids).logits.detach()
    adjusted = model(input_ids=ids, labels=y, **plan.label_loss.forward_kwargs()).loss_cls
    expected = torch.nn.functional.cross_entropy(logits + torch.tensor(np.log(prior), dtype=torch.float32), y)
    assert torch.allclose(adjusted, expected, atol=1e-5)
    # without the trainer's arguments the model computes plain eq. 12, in training as in evaluation: it keeps no policy
    plain = model(input_ids=ids, labels=y)
    assert torch.allclose(plain.loss_cls, torch.nn.functional.cross_entropy(plain.logits, y), atol=1e-6)
    assert not torch.allclose(plain.loss_cls, adjusted, atol=1e-3)
    model.eval()  # evaluation and inference: the plain eq. 12 loss and the model's own logits
    with torch.no_grad():
        out = model(input_ids=ids, labels=y)
    assert torch.allclose(out.loss_cls, torch.nn.functional.cross_entropy(out.logits, y), atol=1e-6)


def test_each_path_is_adjusted_by_its_own_prior():
    # label-aware pairing driven by the Burmese side: every English partner has its Burmese review's label, so the
    # English stream is 90/10 too and gets its own offsets; balanced English gets constant ones (no change)
    names, burmese = ["negative", "positive"], [0] * 10 + [1] * 90
    paired = plan_imbalance(ImbalanceArguments(), "supervised", "joint", burmese, names, source_labels=burmese)
    assert paired.record["source_prior"] == paired.record["prior"]
    assert paired.record["source_logit_offsets"] == paired.record["logit_offsets"]
    balanced = plan_imbalance(
        ImbalanceArguments(imbalance="class-weights"), "supervised", "joint", burmese, names, source_labels=[0, 1] * 50
    )
    assert balanced.record["source_class_weights"] == {"negative": 1.0, "positive": 1.0}
    model = _tiny_model()
    model.train()
    ids = torch.randint(3, 99, (4, 6), generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 1, 1])
    out = model(
        **paired.source_label_loss.forward_kwargs(source=True),
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        source_input_ids=ids,
        source_attention_mask=torch.ones_like(ids),
        source_labels=y,
    )
    offsets = torch.log(torch.tensor([11 / 102, 91 / 102]))
    expected = torch.nn.functional.cross_entropy(out.source_logits.detach() + offsets, y)
    assert torch.allclose(out.loss_cls, expected, atol=1e-5)  # only the English rows are labelled here


def test_the_trainer_owns_the_policy_and_applies_it_in_training_steps_only(tmp_path):
    from transformers import TrainingArguments

    from modeling_ctam.training.trainer import CTAMTrainer

    names, burmese = ["negative", "positive"], [0] * 10 + [1] * 90
    plan = plan_imbalance(ImbalanceArguments(), "supervised", "joint", burmese, names, source_labels=burmese)
    model = _tiny_model()
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    trainer = CTAMTrainer(model=model, args=args, label_loss=plan.label_loss, source_label_loss=plan.source_label_loss)
    g = torch.Generator().manual_seed(0)
    ids, source_ids = torch.randint(3, 99, (4, 6), generator=g), torch.randint(3, 99, (4, 6), generator=g)
    inputs = dict(
        input_ids=ids,
        labels=torch.tensor([0, 1, 1, 1]),
        source_input_ids=source_ids,
        source_labels=torch.tensor([0, 1, 1, 0]),
    )
    kwargs = {**plan.label_loss.forward_kwargs(), **plan.source_label_loss.forward_kwargs(source=True)}
    assert sorted(kwargs) == ["logit_offsets", "source_logit_offsets"]
    model.train()
    by_trainer = trainer.compute_loss(model, inputs)
    expected = model(**inputs, training_progress=None, **kwargs).loss
    assert torch.equal(by_trainer, expected)
    assert not torch.allclose(by_trainer, model(**inputs, training_progress=None).loss, atol=1e-3)
    model.eval()  # evaluation: plain eq. 12, as the saved model computes it
    with torch.no_grad():
        assert torch.equal(trainer.compute_loss(model, inputs), model(**inputs, training_progress=None).loss)
    assert not hasattr(model, "label_loss") and not hasattr(model, "source_label_loss")


def test_imbalance_plan_records_why_nothing_applies():
    args = ImbalanceArguments()
    assert args.imbalance == "logit-adjustment"  # the default
    names = ["negative", "positive"]
    assert not plan_imbalance(args, "zero-shot", "joint", [], names).record["applied"]
    two_stage = plan_imbalance(args, "supervised", "two-stage", [0] * 10 + [1] * 90, names)
    assert two_stage.record["applied"] and two_stage.label_loss is not None  # stage 2's gold Burmese stream
    with pytest.raises(ValueError, match="two-stage recipe draws its own streams"):
        plan_imbalance(ImbalanceArguments(imbalance="balanced-sampler"), "supervised", "two-stage", [0, 1], names)
    few = plan_imbalance(args, "few-shot", "joint", [0] * 8 + [1] * 8 + [-100] * 50, names)
    assert few.record["prior"] == {"negative": 0.5, "positive": 0.5}  # k per class: balanced, no adjustment left
    assert few.record["logit_offsets"]["negative"] == few.record["logit_offsets"]["positive"]
    with pytest.raises(ValueError, match="pairing_driver: target"):
        plan_imbalance(
            ImbalanceArguments(imbalance="balanced-sampler"),
            "supervised",
            "joint",
            [0, 1],
            names,
            pairing_driver="source",
        )
    with pytest.raises(ValueError, match="imbalance='focal' is not supported"):
        ImbalanceArguments(imbalance="focal")
    with pytest.raises(ValueError, match="logit_adjustment_tau"):
        ImbalanceArguments(logit_adjustment_tau=-1)


def test_balanced_sampler_is_seed_and_epoch_stable():
    weights = balanced_sample_weights([0, 1, 1, 1, -100, -100], 2)
    assert np.isclose(sum(weights), 1.0) and np.isclose(weights[4], 1 / 6)  # unlabelled rows keep their share
    assert np.isclose(weights[0], 3 * weights[1])
    a, b = ClassBalancedSampler(weights, seed=1), ClassBalancedSampler(weights, seed=1)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first


# ----------------------------------------------------------------------------------------------------- label schemes
@needs_data
@pytest.mark.parametrize(
    "labels,imbalance,names",
    [
        ("three-class", "balanced-sampler", ["negative", "neutral", "positive"]),
        ("five-class", "class-weights", ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]),
    ],
)
def test_three_and_five_class_train_end_to_end(labels, imbalance, names, tiny_encoder_dir, small_gklmip, tmp_path):
    from modeling_ctam.hub.card import training_rows

    out = tmp_path / labels
    cfg = T.load_config(
        None,
        output_dir=str(out),
        encoder=tiny_encoder_dir,
        setting="supervised",
        labels=labels,
        use_source_labels=False,
        imbalance=imbalance,
        pairing_driver="target",
        source_data=[small_gklmip["source"]],
        max_source_examples=32,
        target_train=small_gklmip["train"],
        target_dev=small_gklmip["dev"],
        max_length=24,
        max_steps=3,
        per_device_train_batch_size=8,
        per_device_eval_batch_size=64,
        learning_rate=1e-3,
        logging_steps=1,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        use_cpu=True,
        disable_tqdm=True,
        seed=3,
    )
    report = T.train(cfg)
    dev_rows = json.loads(Path(small_gklmip["dev"]).read_text(encoding="utf-8"))
    assert list(report["per_class"]) == names == report["label_names"]  # the per-class table
    assert report["n_examples"] == len(dev_rows)  # no star is dropped outside the binary scheme
    stars = [int(row["label"]) for row in dev_rows]
    expected = (
        [stars.count(s) for s in range(1, 6)]
        if labels == "five-class"
        else [stars.count(1) + stars.count(2), stars.count(3), stars.count(4) + stars.count(5)]
    )  # 1-2 / 3 / 4-5
    assert [row["support"] for row in report["per_class"].values()] == expected
    assert np.asarray(report["confusion_matrix"]["matrix"]).shape == (len(names), len(names))
    config = json.loads((out / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(len(names))] == names
    train_config = json.loads((out / "train_config.json").read_text())
    record = train_config["imbalance_handling"]
    assert record["method"] == imbalance and record["applied"] and list(record["prior"]) == names
    assert train_config["data"]["source_labels"] == {**{n: 0 for n in names}, "unlabelled": 32}
    card = dict(training_rows(train_config, config))
    assert card["class imbalance"].startswith(imbalance) and names[-1] in card["class imbalance"]


def test_label_loss_for_follows_each_label_sets_own_prior():
    from modeling_ctam.training.imbalance import label_loss_for

    make = label_loss_for(ImbalanceArguments(), 2)
    mixed = make([0] * 9 + [1] * 91)  # stage 1: English and Burmese labels together
    assert torch.allclose(mixed.offsets, torch.log(torch.tensor([10 / 102, 92 / 102])))
    assert make([0, 1] * 50) is None  # the balanced English stream of stage 2: nothing to adjust
    weights = label_loss_for(ImbalanceArguments(imbalance="class-weights"), 2)([0] * 9 + [1] * 91)
    assert weights.offsets is None and weights.weights[0] > 4 * weights.weights[1]
    assert label_loss_for(ImbalanceArguments(imbalance="none"), 2)([0] * 9 + [1] * 91) is None
