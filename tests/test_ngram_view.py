"""The n-gram view: hashed token n-grams inside the model (ngram_head.py) and its fit on pseudo-labels
(transfer/ngram_view.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification
from modeling_ctam.configuration_ctam import resolve_ngram_head_config
from modeling_ctam.ngram_head import NGRAM_MULTIPLIERS, NGRAM_ORDER_SALT, NgramHead, ensemble_logits, hashed_ngrams
from modeling_ctam.transfer.ngram_view import fit_ngram_head, ngram_counts, smooth_idf, tfidf_features

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
)


def _reference_bins(ids: list[int], max_order: int, buckets: int) -> list[int]:
    """The documented hash, one n-gram at a time in Python integers (no int64, no vectorisation)."""
    out = []
    for n in range(1, max_order + 1):
        for start in range(len(ids) - n + 1):
            h = NGRAM_ORDER_SALT * n
            for k in range(n):
                h = (h + (ids[start + k] * NGRAM_MULTIPLIERS[n - 1][k]) % buckets) % buckets
            out.append(h)
    return out


def test_hashed_ngrams_match_the_documented_hash_and_skip_special_and_padded_tokens():
    ids = torch.tensor([[0, 250000, 17, 17, 9, 2], [0, 5, 2, 1, 1, 1]])  # <s> ... </s> <pad>
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    bins, valid = hashed_ngrams(ids, mask, max_order=3, buckets=1048573, ignore_ids=[0, 1, 2])
    assert bins.shape == valid.shape == (2, 6 + 5 + 4)
    got = sorted(bins[0][valid[0]].tolist())
    assert got == sorted(_reference_bins([250000, 17, 17, 9], 3, 1048573))  # 4 + 3 + 2 n-grams
    assert sorted(bins[1][valid[1]].tolist()) == _reference_bins([5], 3, 1048573)  # one unigram, nothing else
    # order matters: (17, 9) and (9, 17) are different bigrams
    a, _ = hashed_ngrams(torch.tensor([[17, 9]]), torch.ones(1, 2), 2, 1048573)
    b, _ = hashed_ngrams(torch.tensor([[9, 17]]), torch.ones(1, 2), 2, 1048573)
    assert a[0, 2] != b[0, 2]


def test_the_head_computes_the_features_the_fit_uses(tiny_encoder_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    texts = ["ကောင်းတယ် ကောင်းတယ်", "မကောင်းပါဘူး", "good good product", "bad"]
    head = NgramHead({"ignore_ids": tokenizer.all_special_ids, "buckets": 1009}, num_labels=3)
    torch.manual_seed(0)
    with torch.no_grad():
        head.weight.normal_()
        head.bias.normal_()
    counts = ngram_counts(head, tokenizer, texts, max_length=16)
    idf = smooth_idf(counts)
    with torch.no_grad():
        head.idf.copy_(torch.from_numpy(idf))
    expected = tfidf_features(counts, idf) @ head.weight.detach().double().numpy() + head.bias.detach().numpy()
    from modeling_ctam.data import tokenize_for_eval

    enc = tokenize_for_eval(tokenizer, texts, "my", max_length=16)
    got = head(enc["input_ids"], enc["attention_mask"]).detach().double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert counts[0].sum() > counts[3].sum() > 0  # a repeated word counts twice


def test_ensemble_weight_zero_is_the_student_and_one_is_the_ngram_view():
    student, ngram = torch.randn(4, 2), torch.randn(4, 2)
    torch.testing.assert_close(ensemble_logits(student, ngram, 0.0), torch.log_softmax(student, -1))
    torch.testing.assert_close(ensemble_logits(student, ngram, 1.0), torch.log_softmax(ngram, -1))
    mixed = ensemble_logits(student, ngram, 0.5)
    torch.testing.assert_close(mixed, 0.5 * (torch.log_softmax(student, -1) + torch.log_softmax(ngram, -1)))


def test_ngram_head_config_is_validated_with_clear_messages():
    assert resolve_ngram_head_config(None) is None
    assert resolve_ngram_head_config({})["weight"] == 0.5
    with pytest.raises(ValueError, match="unknown keys"):
        resolve_ngram_head_config({"orders": 3})
    with pytest.raises(ValueError, match="weight"):
        resolve_ngram_head_config({"weight": 1.5})
    with pytest.raises(ValueError, match="max_order"):
        resolve_ngram_head_config({"max_order": 5})


def test_fit_attaches_a_head_that_learns_the_pseudo_labels_and_survives_save_and_load(tiny_encoder_dir, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    torch.manual_seed(0)
    model = CTAMForSequenceClassification(
        CTAMConfig(encoder_config=dict(TINY, vocab_size=250037), num_labels=2, lambda_align=0.0, lambda_domain=0.0)
    ).eval()
    negative = ["ဒီပစ္စည်း မကောင်းပါဘူး", "လုံးဝ မကောင်းဘူး ပြန်ပို့ချင်တယ်", "အရမ်း ညံ့တယ် မကောင်းဘူး"]
    positive = ["ဒီပစ္စည်း ကောင်းတယ်", "အရမ်း ကောင်းတယ် ကြိုက်တယ်", "ပို့ဆောင်မှု မြန်တယ် ကောင်းတယ်"]
    texts = (negative + positive) * 4
    # the student's posteriors: it is sure of the labels (the fit learns whatever the student says)
    posteriors = np.tile(np.array([[0.9, 0.1]] * 3 + [[0.1, 0.9]] * 3), (4, 1))
    record = fit_ngram_head(
        model, tokenizer, texts, posteriors, prior=[0.5, 0.5], fraction=1.0, weight=1.0, max_length=32
    )
    assert record["pseudo_labelled"] == [12, 12] and record["rows"] == 24
    assert model.config.ngram_head["weight"] == 1.0 and model.ngram_head is not None
    assert set(tokenizer.all_special_ids) == set(model.config.ngram_head["ignore_ids"])
    from modeling_ctam.data import tokenize_for_eval

    enc = tokenize_for_eval(tokenizer, ["မကောင်းဘူး", "ကောင်းတယ်"], "my", max_length=32)
    with torch.no_grad():
        logits = model(**enc).logits
    assert logits.argmax(-1).tolist() == [0, 1]  # the n-gram view alone (weight 1) learnt the words
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["ngram_head"]["buckets"] == model.ngram_head.buckets
    assert (tmp_path / "ngram_head.py").is_file()  # travels with the flat model files
    reloaded = CTAMForSequenceClassification.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**enc).logits, logits)


def test_fit_refuses_a_single_class():
    model = CTAMForSequenceClassification(
        CTAMConfig(encoder_config=dict(TINY), num_labels=2, lambda_align=0.0, lambda_domain=0.0)
    )

    class _Tok:
        all_special_ids = [0, 1, 2]

    with pytest.raises(ValueError, match="at least two classes"):
        fit_ngram_head(model, _Tok(), [], None, [0.5, 0.5], labelled_texts=["a", "b"], labelled_labels=[1, 1])


def test_each_view_scored_from_the_ensemble_logits_matches_the_view_run_alone(tiny_encoder_dir):
    from transformers import AutoTokenizer

    from modeling_ctam.data import tokenize_for_eval
    from modeling_ctam.evaluation.metrics import compute_metrics
    from modeling_ctam.transfer.ngram_view import score_views

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    torch.manual_seed(1)
    model = CTAMForSequenceClassification(
        CTAMConfig(encoder_config=dict(TINY, vocab_size=250037), num_labels=2, lambda_align=0.0, lambda_domain=0.0)
    ).eval()
    texts = ["ဒီပစ္စည်း မကောင်းပါဘူး", "အရမ်း ကောင်းတယ် ကြိုက်တယ်", "ညံ့တယ်", "မြန်တယ် ကောင်းတယ်"] * 3
    posteriors = np.tile(np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]]), (3, 1))
    fit_ngram_head(model, tokenizer, texts, posteriors, prior=[0.5, 0.5], weight=0.3, max_length=32)
    references = [0, 1, 0, 1] * 3
    enc = tokenize_for_eval(tokenizer, texts, "my", max_length=32)
    with torch.no_grad():
        ensemble = model(**enc).logits.numpy()
        head = model.ngram_head
        model.ngram_head = None  # the student alone
        student = model(**enc).logits.argmax(-1).numpy()
        ngram = head(enc["input_ids"], enc["attention_mask"]).argmax(-1).numpy()
        model.ngram_head = head
    views = score_views(model, tokenizer, texts, ensemble, references, ["negative", "positive"], max_length=32)
    names = ["negative", "positive"]
    assert views["student"] == compute_metrics(student, references, names)
    assert views["ngram"] == compute_metrics(ngram, references, names)
