"""ModelTester-style tests of CTAM on tiny random encoders (hidden 32, 2 layers): shapes, equations, save/load,
remote-code loading in a process where the package is not importable, determinism, config errors, Trainer, PEFT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoModelForSequenceClassification, BertTokenizerFast, TrainingArguments

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification, CTAMModel
from modeling_ctam.domain import gradient_reversal, grl_strength
from modeling_ctam.dual_path import BilinearScore, alignment_loss
from modeling_ctam.vxlm import pool_static_word_vectors, static_pooling_matrix, word_ids_from_start_table

VOCAB = 99
TINY_ENCODERS = {
    "xlm-roberta": dict(
        model_type="xlm-roberta",
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        vocab_size=VOCAB,
        max_position_embeddings=80,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    ),
    "bert": dict(
        model_type="bert",
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        vocab_size=VOCAB,
        max_position_embeddings=64,
        pad_token_id=0,
    ),
}
NO_DROPOUT = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


class CTAMModelTester:
    def __init__(self, encoder="xlm-roberta", batch_size=3, seq_length=9, num_labels=3, **config_kwargs):
        self.encoder = encoder
        self.batch_size, self.seq_length, self.num_labels = batch_size, seq_length, num_labels
        self.config_kwargs = config_kwargs

    def get_config(self, **overrides) -> CTAMConfig:
        kwargs = dict(encoder_config=dict(TINY_ENCODERS[self.encoder]), num_labels=self.num_labels)
        kwargs.update(self.config_kwargs)
        kwargs.update(overrides)
        return CTAMConfig(**kwargs)

    def inputs(self, seed=0, batch_size=None, seq_length=None):
        g = torch.Generator().manual_seed(seed)
        B, T = batch_size or self.batch_size, seq_length or self.seq_length
        ids = torch.randint(3, VOCAB, (B, T), generator=g)
        mask = torch.ones(B, T, dtype=torch.long)
        mask[0, T - 3 :] = 0
        ids[0, T - 3 :] = TINY_ENCODERS[self.encoder]["pad_token_id"]
        return ids, mask

    def training_inputs(self, seed=0):
        ids, mask = self.inputs(seed)
        sids, smask = self.inputs(seed + 1, seq_length=self.seq_length + 2)
        g = torch.Generator().manual_seed(seed + 2)
        return dict(
            input_ids=ids,
            attention_mask=mask,
            source_input_ids=sids,
            source_attention_mask=smask,
            source_labels=torch.randint(0, self.num_labels, (sids.shape[0],), generator=g),
        )

    def model(self, seed=0, **overrides) -> CTAMForSequenceClassification:
        torch.manual_seed(seed)
        return CTAMForSequenceClassification(self.get_config(**overrides)).eval()


@pytest.fixture(params=sorted(TINY_ENCODERS))
def tester(request):
    return CTAMModelTester(request.param)


# ---------------------------------------------------------------------------------------------------- shapes
def test_inference_output_shapes(tester):
    model = tester.model()
    ids, mask = tester.inputs()
    out = model(input_ids=ids, attention_mask=mask)
    assert out.logits.shape == (tester.batch_size, tester.num_labels)
    assert out.loss is None and out.loss_align is None and out.loss_domain is None
    assert list(out.keys())[0] == "logits"  # loss first when present; absent here
    base = model.ctam(ids, mask, output_attentions=False)
    assert base.last_hidden_state.shape == (tester.batch_size, tester.seq_length, 32)
    assert base.pooler_output.shape == (tester.batch_size, 32)
    assert len(base.hidden_states) == 3


def test_training_output_has_every_component(tester):
    model = tester.model()
    out = model(**tester.training_inputs(), training_progress=0.3)
    assert list(out.keys())[0] == "loss"
    for name in ("loss", "loss_cls", "loss_align", "loss_domain", "gate_mean"):
        assert out[name].dim() == 0 and torch.isfinite(out[name]), name
    assert out.source_logits.shape == (tester.batch_size, tester.num_labels)
    cfg = model.config
    expected = cfg.lambda_cls * out.loss_cls + cfg.lambda_align * out.loss_align + cfg.lambda_domain * out.loss_domain
    torch.testing.assert_close(out.loss, expected)  # eq. 13
    out.loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    for part in (
        "ctam.gate",
        "dual_path.student_gru",
        "dual_path.score",
        "domain_discriminator",
        "classifier",
        "ctam.encoder",
    ):
        assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.startswith(part)), part
    # stop-gradient: the teacher BiGRU is trained by L_T only, and L_T does not read it
    assert all(g is None or g.abs().sum() == 0 for n, g in grads.items() if n.startswith("dual_path.teacher_gru"))


def test_target_labels_join_the_classification_loss(tester):
    model = tester.model()
    inputs = tester.training_inputs()
    zero_shot = model(**inputs).loss_cls
    labels = torch.tensor([0, 1, 2])
    few_shot = model(**inputs, labels=labels).loss_cls
    both = torch.cat([model(**inputs).source_logits, model(**inputs).logits])
    expected = torch.nn.functional.cross_entropy(both, torch.cat([inputs["source_labels"], labels]))
    torch.testing.assert_close(few_shot, expected)
    assert not torch.isclose(zero_shot, few_shot)


def test_return_dict_false_gives_the_fields_as_a_tuple_loss_first(tester):
    model = tester.model()
    inputs = tester.training_inputs()
    out = model(**inputs, training_progress=0.3)
    as_tuple = model(**inputs, training_progress=0.3, return_dict=False)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == len(out.to_tuple())
    torch.testing.assert_close(as_tuple[0], out.loss)  # the loss first, as transformers models do
    ids, mask = tester.inputs()
    logits = model(input_ids=ids, attention_mask=mask, return_dict=False)
    assert isinstance(logits, tuple) and torch.equal(logits[0], model(input_ids=ids, attention_mask=mask).logits)
    model.config.return_dict = False  # the config's default, as in transformers
    assert isinstance(model(input_ids=ids, attention_mask=mask), tuple)
    assert isinstance(model(input_ids=ids, attention_mask=mask, return_dict=True).logits, torch.Tensor)
    assert isinstance(model.ctam(ids, mask), tuple) and len(model.ctam(ids, mask, return_dict=True).hidden_states) == 3


@pytest.mark.parametrize("share_encoder", [True, False])
def test_the_dual_path_returns_the_student_attentions_when_asked(share_encoder):
    # attention maps come from eager attention (SDPA returns none), as in transformers
    tester = CTAMModelTester("bert", share_encoder=share_encoder, attn_implementation="eager")
    model = tester.model()
    inputs = tester.training_inputs()
    assert model(**inputs).attentions is None
    out = model(**inputs, output_attentions=True, output_hidden_states=True)
    alone = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], output_attentions=True)
    assert len(out.attentions) == len(alone.attentions) == 2  # one map per layer
    T = out.attentions[0].shape[-1]  # a shared encoder runs both paths at the longer length
    assert out.attentions[0].shape[:2] == (tester.batch_size, 2) and T == (11 if share_encoder else 9)
    assert out.hidden_states[0].shape[:2] == (tester.batch_size, T)
    # the student rows' maps over their real tokens are the student path's own (padding is masked)
    torch.testing.assert_close(out.attentions[1][1:, :, :9, :9], alone.attentions[1][1:], atol=1e-5, rtol=1e-5)


def test_inputs_of_the_wrong_shape_are_a_value_error_that_says_what_to_give(tester):
    model = tester.model(teacher_head=True)
    inputs = tester.training_inputs()
    with pytest.raises(ValueError, match="soft_labels has shape"):
        model(**inputs, soft_labels=torch.ones(tester.batch_size, tester.num_labels + 1))
    with pytest.raises(ValueError, match="cached teacher_states need one"):
        model(**inputs, teacher_states=torch.zeros(tester.batch_size, 5, 3))
    with pytest.raises(ValueError, match="teacher_head=False"):
        tester.model().dual_path.teacher_head_logits(torch.zeros(2, 2, 32))


def test_ablation_xlmr_base_has_no_vxlm_parts():
    model = CTAMModelTester().model(use_vxlm=False, lambda_align=0.0, lambda_domain=0.0)
    names = [n for n, _ in model.named_parameters()]
    assert not any(n.startswith(("ctam.gate", "ctam.mapping", "dual_path", "domain_discriminator")) for n in names)
    out = model(**CTAMModelTester().training_inputs())
    assert out.gate_mean is None and out.loss_align is None and out.loss_domain is None
    torch.testing.assert_close(out.loss, out.loss_cls)


# ---------------------------------------------------------------------------------------------------- eq. 1
def test_eq1_pools_every_subtoken_of_every_occurrence_of_a_repeated_word():
    # words: <s> [A1 A2] [B1] [A1 A2] [A1 C2] </s>: "A1A2" occurs twice, "A1C2" is another form
    A1, A2, B1, C2 = 10, 11, 12, 13
    ids = torch.tensor([[0, A1, A2, B1, A1, A2, A1, C2, 2]])
    table = torch.zeros(VOCAB, dtype=torch.int8)
    table[[A1, B1]] = 1
    table[[0, 1, 2]] = -1
    word_ids = word_ids_from_start_table(ids, torch.ones_like(ids), table)
    assert word_ids.tolist() == [[-1, 0, 0, 1, 2, 2, 3, 3, -1]]
    hidden = torch.randn(1, 9, 4)
    matrix = static_pooling_matrix(ids, word_ids)
    torch.testing.assert_close(matrix.sum(-1), torch.ones(1, 9))
    static = pool_static_word_vectors(hidden, matrix)
    a_mean = hidden[0, [1, 2, 4, 5]].mean(0)
    for t in (1, 2, 4, 5):
        torch.testing.assert_close(static[0, t], a_mean)
    torch.testing.assert_close(static[0, 6], hidden[0, [6, 7]].mean(0))  # A1 C2: its own form
    torch.testing.assert_close(static[0, 3], hidden[0, 3])
    torch.testing.assert_close(static[0, [0, 8]], hidden[0, [0, 8]])  # special tokens keep their own state
    # occurrence mode: each occurrence on its own
    occ = pool_static_word_vectors(hidden, static_pooling_matrix(ids, word_ids, by_form=False))
    torch.testing.assert_close(occ[0, 1], hidden[0, [1, 2]].mean(0))


def test_eq1_word_forms_are_grouped_within_a_sequence_not_across_the_batch():
    ids = torch.tensor([[5, 6, 7], [5, 8, 9]])
    word_ids = torch.tensor([[0, 1, 2], [0, 1, 2]])
    hidden = torch.randn(2, 3, 4)
    static = pool_static_word_vectors(hidden, static_pooling_matrix(ids, word_ids))
    torch.testing.assert_close(static, hidden)


def test_eq1_in_the_model_uses_the_static_layer_and_given_word_ids():
    tester = CTAMModelTester()
    model = tester.model(static_layer=1)
    ids = torch.tensor([[0, 10, 11, 10, 2]])
    word_ids = torch.tensor([[-1, 0, 1, 2, -1]])  # tokens 1 and 3 are the same one-token word
    out = model.ctam(ids, word_ids=word_ids, is_target=False)
    layer = out.hidden_states[1][0]
    torch.testing.assert_close(out.static_vectors[0, 1], layer[[1, 3]].mean(0))
    torch.testing.assert_close(out.static_vectors[0, 2], layer[2])


# ---------------------------------------------------------------------------------------------------- eq. 2, 3
def test_source_language_inputs_bypass_the_mapping():
    tester = CTAMModelTester()
    model = tester.model()
    ids, mask = tester.inputs()
    torch.manual_seed(1)
    model.ctam.load_alignment(
        dict(weight=torch.linalg.qr(torch.randn(32, 32))[0], target_mean=torch.randn(32), source_mean=torch.randn(32))
    )
    src = model.ctam(ids, mask, is_target=False)
    tgt = model.ctam(ids, mask, is_target=True)
    assert not torch.allclose(src.static_vectors, tgt.static_vectors)
    identity = tester.model()
    src_identity = identity.ctam(ids, mask, is_target=False)
    torch.testing.assert_close(src.static_vectors, src_identity.static_vectors)  # W did not touch source rows
    torch.testing.assert_close(src.pooler_output, src_identity.pooler_output)
    # in the joint training pass too: teacher logits do not depend on W
    inputs = tester.training_inputs()
    torch.testing.assert_close(model(**inputs).source_logits, identity(**inputs).source_logits)
    assert not torch.allclose(model(**inputs).logits, identity(**inputs).logits)


def test_gate_values_lie_strictly_between_zero_and_one(tester):
    model = tester.model()
    with torch.no_grad():
        model.ctam.gate.proj.weight.mul_(5)  # spread the gate values out (fp32 sigmoid saturates only past |x| ~ 17)
    ids, mask = tester.inputs()
    gate = model.ctam(ids, mask).gate
    assert gate.shape == (tester.batch_size, tester.seq_length, 32)
    assert bool((gate > 0).all()) and bool((gate < 1).all())
    assert float(gate.detach().min()) < 0.2 and float(gate.detach().max()) > 0.8  # a real spread, not a constant
    scalar = tester.model(gate_type="scalar").ctam(ids, mask).gate
    assert scalar.shape == (tester.batch_size, tester.seq_length, 1)


def test_joint_pass_equals_separate_passes():
    tester = CTAMModelTester()
    model = tester.model()
    inputs = tester.training_inputs()
    out = model(**inputs)
    alone = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    torch.testing.assert_close(out.logits, alone.logits, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------------------------------- eqs. 4-10
def test_attention_weights_sum_to_one():
    torch.manual_seed(0)
    score = BilinearScore(6)
    torch.nn.init.xavier_uniform_(score.weight)
    student, teacher = torch.randn(4, 5, 6), torch.randn(4, 5, 6)
    _, w, x = alignment_loss(student, teacher, score)
    torch.testing.assert_close(w.sum(-1), torch.ones(4, 5))
    torch.testing.assert_close(x.sum(-1), torch.ones(4))
    assert bool((w > 0).all()) and bool((x > 0).all())


@pytest.mark.parametrize("reduction", ["sum", "mean", "normalized"])
def test_alignment_loss_returns_the_attention_weights_whatever_the_reduction(reduction):
    torch.manual_seed(0)
    score = BilinearScore(6)
    torch.nn.init.xavier_uniform_(score.weight)
    student, teacher = torch.randn(4, 5, 6), torch.randn(4, 5, 6)
    _, w, _ = alignment_loss(student, teacher, score, reduction=reduction, row_weights=torch.tensor([1.0, 0, 1, 1]))
    torch.testing.assert_close(w, torch.softmax(score(teacher, student), dim=-1))  # eqs. 4-5, (B, M, M)


@pytest.mark.parametrize("weighting", ["attention", "uniform"])
def test_alignment_loss_zero_for_identical_states_positive_otherwise(weighting):
    torch.manual_seed(0)
    score = BilinearScore(6)
    torch.nn.init.xavier_uniform_(score.weight)
    v = torch.randn(2, 1, 6)
    same = v.expand(2, 4, 6)
    loss, _, _ = alignment_loss(same.clone(), same.clone(), score, weighting)
    assert float(loss) == pytest.approx(0.0, abs=1e-10)
    loss, _, _ = alignment_loss(same.clone(), torch.randn(2, 4, 6), score, weighting)
    assert float(loss) > 0.1


# ---------------------------------------------------------------------------------------------------- eq. 11
def test_gradient_reversal_flips_and_scales_the_gradient():
    x = torch.randn(3, 4, requires_grad=True)
    y = gradient_reversal(x, 0.3)
    torch.testing.assert_close(y, x)
    (y * torch.arange(4.0)).sum().backward()
    torch.testing.assert_close(x.grad, -0.3 * torch.arange(4.0).expand(3, 4))


def test_gradient_reversal_schedule():
    assert grl_strength(0.0) == pytest.approx(0.0)
    assert grl_strength(1.0) == pytest.approx(2 / (1 + torch.e**-10) - 1)
    assert 0 < grl_strength(0.1) < grl_strength(0.5) < 1
    assert grl_strength(0.1, schedule="constant", max_strength=0.5) == 0.5


def test_discriminator_gradient_reaches_the_encoder_reversed():
    tester = CTAMModelTester()
    inputs = tester.training_inputs()
    grads = []
    for strength_progress in (0.0, 1.0):
        model = tester.model(lambda_cls=0.0, lambda_align=0.0, lambda_domain=1.0)
        model(**inputs, training_progress=strength_progress).loss.backward()
        grads.append(model.ctam.encoder.get_input_embeddings().weight.grad)
    assert grads[0] is None or grads[0].abs().sum() == 0  # strength 0 at the start of training
    assert grads[1].abs().sum() > 0


# ---------------------------------------------------------------------------------------------------- save / load
def test_save_and_reload_gives_identical_logits(tester, tmp_path):
    model = tester.model()
    ids, mask = tester.inputs()
    ref = model(input_ids=ids, attention_mask=mask).logits
    model.save_pretrained(tmp_path)
    files = set(os.listdir(tmp_path))
    assert {
        "model.safetensors",
        "config.json",
        "modeling_ctam.py",
        "configuration_ctam.py",
        "vxlm.py",
        "dual_path.py",
        "domain.py",
        "ngram_head.py",
        "outputs_ctam.py",
        "loss_ctam.py",
    } <= files
    assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert auto_map["AutoModel"] == "modeling_ctam.CTAMModel"
    assert auto_map["AutoModelForSequenceClassification"] == "modeling_ctam.CTAMForSequenceClassification"
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert isinstance(reloaded, CTAMForSequenceClassification)
    assert torch.equal(reloaded(input_ids=ids, attention_mask=mask).logits, ref)
    assert isinstance(AutoModel.from_pretrained(tmp_path), CTAMModel)


def test_checkpoint_that_does_not_match_its_config_is_refused(tmp_path):
    model = CTAMModelTester().model()
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["encoder_config"]["intermediate_size"] = 41
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="weights do not match config.json"):
        CTAMForSequenceClassification.from_pretrained(tmp_path)


REMOTE_SCRIPT = textwrap.dedent("""
    import importlib.abc, sys, torch
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "modeling_ctam" or name.startswith("modeling_ctam."):
                raise ImportError("the CTAM package is not importable in this process")
    sys.meta_path.insert(0, Block())
    sys.path = [p for p in sys.path if p not in ("", ".")]
    from transformers import AutoModelForSequenceClassification
    folder, inputs = sys.argv[1], sys.argv[2]
    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
    assert "transformers_modules" in type(model).__module__, type(model).__module__
    try:
        importlib.import_module("modeling_ctam")
        importable = True
    except ImportError:
        importable = False
    assert not importable, "package was importable"
    from safetensors.torch import load_file
    data = load_file(inputs)
    with torch.no_grad():
        logits = model(input_ids=data["ids"], attention_mask=data["mask"]).logits
    print("MAXDIFF", float((logits - data["ref"]).abs().max()))
    print("EQUAL", torch.equal(logits, data["ref"]))
""")


def test_remote_code_loading_in_a_process_without_the_package(tmp_path):
    tester = CTAMModelTester("bert")
    model = tester.model()
    ids, mask = tester.inputs()
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask).logits
    folder = tmp_path / "ckpt"
    model.save_pretrained(folder)
    save_file({"ids": ids, "mask": mask, "ref": ref}, str(tmp_path / "inputs.safetensors"))
    script = tmp_path / "load.py"
    script.write_text(REMOTE_SCRIPT)
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, str(script), str(folder), str(tmp_path / "inputs.safetensors")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "EQUAL True" in result.stdout, result.stdout


# ---------------------------------------------------------------------------------------------------- determinism
def test_same_seed_same_output(tester):
    ids, mask = tester.inputs()
    a, b = tester.model(seed=7), tester.model(seed=7)
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb and torch.equal(pa, pb), na
    assert torch.equal(a(input_ids=ids, attention_mask=mask).logits, b(input_ids=ids, attention_mask=mask).logits)
    assert torch.equal(a(input_ids=ids, attention_mask=mask).logits, a(input_ids=ids, attention_mask=mask).logits)
    c = tester.model(seed=8)
    assert not torch.equal(a(input_ids=ids, attention_mask=mask).logits, c(input_ids=ids, attention_mask=mask).logits)


def test_nothing_is_left_uninitialised():
    model = CTAMModelTester().model()
    for name, param in model.named_parameters():
        assert torch.isfinite(param).all(), name
        if name.startswith(("dual_path", "domain_discriminator", "ctam.gate", "classifier")) and name.endswith(
            "weight"
        ):
            assert param.abs().sum() > 0, name
    torch.testing.assert_close(model.ctam.mapping.weight, torch.eye(32))


# ---------------------------------------------------------------------------------------------------- config errors
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(static_layer=5), "static_layer=5 is out of range"),
        (dict(align_layers=[1, 9]), "align_layers has indices \\[9\\]"),
        (dict(align_layers=[]), "align_layers is empty"),
        (dict(pooling="max"), "pooling='max' is not supported"),
        (dict(gate_type="matrix"), "gate_type"),
        (dict(grl_schedule="linear"), "grl_schedule"),
        (dict(pairing="nearest"), "pairing"),
        (dict(lambda_align=-0.1), "lambda_align=-0.1 must be a non-negative number"),
        (dict(classifier_dropout=1.5), "classifier_dropout"),
        (dict(vecmap_integrations=["fusion", "magic"]), "unknown entries \\['magic'\\]"),
        (dict(gru_hidden_size=0), "gru_hidden_size"),
        (dict(student_gru_init="zeros"), "student_gru_init"),
        (dict(num_labels=1), "at least 2 labels"),
    ],
)
def test_bad_config_values_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CTAMModelTester().get_config(**kwargs)


def test_encoder_config_must_be_an_encoder():
    with pytest.raises(ValueError, match="model_type|Unrecognized|not supported|no `num_hidden_layers`"):
        CTAMConfig(encoder_config={"hidden_size": 32})


def test_config_json_written_before_a_default_changed_keeps_its_meaning(tmp_path):
    config = CTAMModelTester().get_config()
    assert config.align_reduction == "normalized"  # the reading the configs train with
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["align_reduction"] == "normalized"  # save_pretrained writes every CTAM field, defaults included
    assert CTAMConfig.from_pretrained(tmp_path).align_reduction == "normalized"
    # a config.json from before the field existed lacks it: it was trained with the sum, and loads so; a retired
    # field (source_language) loads and is dropped
    del saved["align_reduction"]
    (tmp_path / "config.json").write_text(json.dumps({**saved, "source_language": "en"}))
    legacy = CTAMConfig.from_pretrained(tmp_path)
    assert legacy.align_reduction == "sum" and not hasattr(legacy, "source_language")
    assert CTAMConfig.from_pretrained(tmp_path, align_reduction="mean").align_reduction == "mean"


def test_config_round_trips_with_encoder_sub_config(tester):
    config = tester.get_config(align_layers=[1, 2], lambda_domain=0.2)
    again = CTAMConfig.from_dict(config.to_dict())
    assert again.encoder_config.model_type == tester.encoder
    assert again.align_layers == [1, 2] and again.lambda_domain == 0.2
    assert type(again.encoder_config) is type(config.encoder_config)


# ---------------------------------------------------------------------------------------------------- student GRU init
def test_student_gru_starts_as_the_teacher_only_when_asked(tmp_path):
    tester = CTAMModelTester()

    def gru_pairs(model):
        dp = model.dual_path
        return list(zip(dp.teacher_gru.state_dict().values(), dp.student_gru.state_dict().values()))

    independent = tester.model(seed=0)
    assert not all(torch.equal(a, b) for a, b in gru_pairs(independent))
    copied = tester.model(seed=0, student_gru_init="teacher")
    assert all(torch.equal(a, b) for a, b in gru_pairs(copied))
    # the copy is an initialisation: trained student weights survive save/load, they are not re-copied
    with torch.no_grad():
        copied.dual_path.student_gru.weight_hh_l0.add_(0.5)
    copied.save_pretrained(tmp_path / "m")
    again = CTAMForSequenceClassification.from_pretrained(tmp_path / "m")
    assert torch.equal(again.dual_path.student_gru.weight_hh_l0, copied.dual_path.student_gru.weight_hh_l0)
    assert not torch.equal(again.dual_path.student_gru.weight_hh_l0, again.dual_path.teacher_gru.weight_hh_l0)


# ---------------------------------------------------------------------------------------------------- encoder copy
def test_unshared_encoder_starts_as_a_copy_and_serves_the_student(tmp_path):
    tester = CTAMModelTester("bert")
    encoder = AutoModel.from_config(tester.get_config().encoder_config)
    encoder.save_pretrained(tmp_path / "enc")
    model = CTAMForSequenceClassification.from_encoder_pretrained(
        str(tmp_path / "enc"), share_encoder=False, num_labels=3
    ).eval()
    for (n, a), (_, b) in zip(
        model.ctam.encoder.state_dict().items(), model.ctam.student_encoder.state_dict().items()
    ):
        assert torch.equal(a, b), n
    with torch.no_grad():
        model.ctam.student_encoder.get_input_embeddings().weight.mul_(2)
    ids, mask = tester.inputs()
    src = model.ctam(ids, mask, is_target=False).pooler_output
    tgt = model.ctam(ids, mask, is_target=True).pooler_output
    assert not torch.allclose(src, tgt)


# --------------------------------------------------------------------------------------------- from_encoder_pretrained
def _tiny_wordpiece_tokenizer(folder):
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "##s", "##ly", "very", "not"]
    pieces += [f"w{i}" for i in range(VOCAB - len(pieces))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(pieces) + "\n")
    return BertTokenizerFast.from_pretrained(str(folder))


def test_stock_text_classification_pipeline_batches_ctam(tmp_path):
    from transformers import TextClassificationPipeline

    tokenizer = _tiny_wordpiece_tokenizer(tmp_path / "tok")
    model = CTAMModelTester("bert", num_labels=2).model(seed=2)
    model.ctam.set_word_boundaries(tokenizer)
    pipe = TextClassificationPipeline(model=model, tokenizer=tokenizer)
    texts = ["good film", "bad films very badly", "very good", "not bad", "good good film"]
    batched = pipe(texts, batch_size=4, top_k=None)
    one_by_one = [pipe(t, top_k=None) for t in texts]
    assert len(batched) == len(texts)
    for a, b in zip(batched, one_by_one):
        assert [x["label"] for x in a] == [x["label"] for x in b]
        assert [x["score"] for x in a] == pytest.approx([x["score"] for x in b], abs=1e-5)


def test_from_encoder_pretrained_loads_weights_and_initialises_ctam_parts(tmp_path):
    tester = CTAMModelTester("bert")
    torch.manual_seed(3)
    encoder = AutoModel.from_config(tester.get_config().encoder_config)
    encoder.save_pretrained(tmp_path / "enc")
    tokenizer = _tiny_wordpiece_tokenizer(tmp_path / "enc")
    tokenizer.save_pretrained(tmp_path / "enc")
    model = CTAMForSequenceClassification.from_encoder_pretrained(str(tmp_path / "enc"), num_labels=2)
    loaded = model.ctam.encoder.state_dict()
    for name, value in encoder.state_dict().items():
        if not name.startswith("pooler."):
            assert torch.equal(loaded[name], value), name
    assert model.config.encoder_name_or_path == str(tmp_path / "enc")
    for name, param in model.named_parameters():
        assert torch.isfinite(param).all(), name
    table = model.ctam.word_start_table
    vocab = tokenizer.get_vocab()
    assert table[vocab["good"]] == 1 and table[vocab["##s"]] == 0 and table[vocab["[CLS]"]] == -1
    enc = tokenizer(["good films very goodly"], return_tensors="pt")
    words = word_ids_from_start_table(enc["input_ids"], enc["attention_mask"], table)
    expected = [-1 if w is None else w for w in enc.word_ids(0)]
    assert words[0].tolist() == expected  # the table reproduces the tokenizer's own word boundaries


def test_load_alignment_from_a_safetensors_file(tmp_path):
    from safetensors.torch import save_file

    model = CTAMModelTester().model()
    w = torch.linalg.qr(torch.randn(32, 32))[0]
    save_file(
        {"weight": w.contiguous(), "target_mean": torch.ones(32), "source_mean": torch.zeros(32)},
        str(tmp_path / "mapping.safetensors"),
    )
    model.load_alignment(str(tmp_path))
    torch.testing.assert_close(model.ctam.mapping.weight, w)
    torch.testing.assert_close(model.ctam.mapping.target_mean, torch.ones(32))
    with pytest.raises(ValueError, match="shape"):
        model.load_alignment(dict(weight=torch.eye(16)))


# ---------------------------------------------------------------------------------------------------- Trainer
class _ListDataset(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def _trainer_dataset(tester, n=8):
    items = []
    for i in range(n):
        ex = tester.training_inputs(seed=100 + i)
        items.append(
            {
                "input_ids": ex["input_ids"][1],
                "attention_mask": ex["attention_mask"][1],
                "source_input_ids": ex["source_input_ids"][1],
                "source_attention_mask": ex["source_attention_mask"][1],
                "source_labels": ex["source_labels"][1],
                "labels": torch.tensor(-100),
            }
        )
    return _ListDataset(items)


def _train_one_step(tmp_path, batch_size, accumulation, path_by_path=False, **config):
    from modeling_ctam import CTAMTrainer

    tester = CTAMModelTester("bert")
    enc = dict(TINY_ENCODERS["bert"], **NO_DROPOUT)
    model = tester.model(seed=5, encoder_config=enc, classifier_dropout=0.0, **config).train()
    args = TrainingArguments(
        output_dir=str(tmp_path / f"run{batch_size}{path_by_path}"),
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation,
        max_steps=1,
        learning_rate=1.0,
        optim="sgd",
        lr_scheduler_type="constant",
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        seed=5,
        data_seed=5,
        dataloader_drop_last=True,
    )
    trainer = CTAMTrainer(model=model, args=args, train_dataset=_trainer_dataset(tester, 4), path_by_path=path_by_path)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer.train()
    update = {n: before[n] - p.detach() for n, p in model.named_parameters()}
    return update, trainer.state.log_history


def test_gradient_accumulation_does_not_change_the_update(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.utils.data.RandomSampler, "__iter__", lambda self: iter(range(len(self.data_source))))
    # a per-row reduction of eq. 10: the normalised one divides by the teacher states' variance over the batch, a batch
    # statistic (as batch norm's), which accumulation estimates on each micro-batch
    full, logs = _train_one_step(tmp_path, batch_size=4, accumulation=1, align_reduction="mean")
    half, _ = _train_one_step(tmp_path, batch_size=2, accumulation=2, align_reduction="mean")
    moved = 0
    for name in full:
        torch.testing.assert_close(half[name], full[name], atol=2e-6, rtol=1e-4, msg=name)
        moved += int(full[name].abs().sum() > 0)
    assert moved > 10
    logged = logs[0]
    for name in ("loss", "loss_cls", "loss_align", "loss_domain", "gate_mean"):
        assert name in logged, (name, logged)


@pytest.mark.parametrize("with_target_labels", [False, True])
def test_path_by_path_backward_gives_the_joint_gradients(with_target_labels):
    tester = CTAMModelTester("bert")
    enc = dict(TINY_ENCODERS["bert"], **NO_DROPOUT)
    model = tester.model(seed=3, encoder_config=enc, classifier_dropout=0.0).train()
    inputs = tester.training_inputs(seed=4)
    if with_target_labels:  # few-shot: one Burmese label known, the others -100
        inputs["labels"] = torch.tensor([1, -100, 2])
    out = model(**inputs, training_progress=0.3)
    out.loss.backward()
    joint = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    parts = list(model.path_by_path_losses(**inputs, training_progress=0.3))
    assert len(parts) == 2
    for part, _ in parts:
        part.backward()
    split = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    assert joint.keys() == split.keys() and len(joint) > 20
    for name in joint:
        torch.testing.assert_close(split[name], joint[name], atol=1e-5, rtol=1e-4, msg=name)
    components = parts[-1][1]
    for name in ("loss", "loss_cls", "loss_align", "loss_domain"):
        torch.testing.assert_close(components[name], getattr(out, name).detach(), atol=1e-5, rtol=1e-5, msg=name)
    torch.testing.assert_close(parts[0][0].detach() + parts[1][0].detach(), out.loss.detach(), atol=1e-5, rtol=1e-5)


def test_trainer_path_by_path_makes_the_same_update(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.utils.data.RandomSampler, "__iter__", lambda self: iter(range(len(self.data_source))))
    joint, _ = _train_one_step(tmp_path, batch_size=2, accumulation=2)
    split, logs = _train_one_step(tmp_path, batch_size=2, accumulation=2, path_by_path=True)
    for name in joint:
        torch.testing.assert_close(split[name], joint[name], atol=2e-6, rtol=1e-4, msg=name)
    assert all(name in logs[0] for name in ("loss", "loss_cls", "loss_align", "loss_domain", "gate_mean"))


# ---------------------------------------------------------------------------------------------------- PEFT
def test_lora_adapter_saves_ctam_modules_and_reloads_identically(tmp_path):
    from peft import PeftModel, get_peft_model

    from modeling_ctam.training.lora import ctam_lora_config

    tester = CTAMModelTester()
    base_seed = 11
    model = tester.model(seed=base_seed)
    config = ctam_lora_config(model, r=4)
    peft_model = get_peft_model(model, config)
    lora_names = [n for n, _ in peft_model.named_parameters() if "lora_" in n]
    assert lora_names and all(".ctam.encoder." in n for n in lora_names)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert any("dual_path" in n for n in trainable) and any("classifier" in n for n in trainable)
    # train a little so that adapter and CTAM modules differ from their initial values
    opt = torch.optim.SGD([p for p in peft_model.parameters() if p.requires_grad], lr=0.5)
    peft_model.train()
    for step in range(3):
        peft_model(**tester.training_inputs(seed=step)).loss.backward()
        opt.step()
        opt.zero_grad()
    peft_model.eval()
    ids, mask = tester.inputs()
    with torch.no_grad():
        ref = peft_model(input_ids=ids, attention_mask=mask).logits
    peft_model.save_pretrained(tmp_path / "adapter")
    fresh = tester.model(seed=base_seed)
    reloaded = PeftModel.from_pretrained(fresh, tmp_path / "adapter").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=ids, attention_mask=mask).logits, ref)
    different = tester.model(seed=base_seed)(input_ids=ids, attention_mask=mask).logits
    assert not torch.allclose(different, ref)
