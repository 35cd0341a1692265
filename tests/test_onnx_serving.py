"""Int8 ONNX serving: the student path exported, checked against PyTorch, quantised, and used by ``eval.py predict``.

A tiny random CTAM (hidden 32, 2 layers) with the real offline XLM-R tokenizer; the texts are real GKLMIP reviews.
Skipped cleanly without the ``[onnx]`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from tiny_runs import GKLMIP_DEV, needs_gklmip, save_tiny_run

from modeling_ctam import CTAMForSequenceClassification, CTAMTokenizer
from modeling_ctam.data import load_examples, tokenize_for_eval
from modeling_ctam.evaluation import cli as eval_cli
from modeling_ctam.serving import load_classifier
from modeling_ctam.serving.onnx import FP32_NODES, OnnxSequenceClassifier, export_onnx


def _save_run(folder: Path, tokenizer, *, word_ids: bool = False, gate_type: str = "vector") -> Path:
    return save_tiny_run(folder, tokenizer, max_length=64, word_ids=word_ids, gate_type=gate_type)


@pytest.fixture(scope="module")
def tokenizer(offline_encoder_dir):
    return CTAMTokenizer.from_tokenizer(AutoTokenizer.from_pretrained(offline_encoder_dir))


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tokenizer):
    root = tmp_path_factory.mktemp("onnx")
    run = _save_run(root / "run", tokenizer)
    record = export_onnx(run, root / "onnx", keep_fp32=True)
    return run, root / "onnx", record


def _texts(n: int | None = None) -> list[str]:
    texts = list(load_examples(GKLMIP_DEV, "gklmip-json", labels="raw")["text"])
    return texts[:n] if n else texts


def test_export_writes_the_serving_folder(exported):
    run, folder, record = exported
    assert {"model_quantized.onnx", "model.onnx", "ctam_onnx.json", "config.json", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()
    }
    saved = json.loads((folder / "ctam_onnx.json").read_text())
    assert saved == record and saved["inputs"] == ["input_ids", "attention_mask"] and saved["opset"] == 17
    assert saved["inference"]["max_length"] == 64 and saved["max_abs_logit_difference_fp32"] < 1e-4
    assert json.loads((folder / "config.json").read_text())["ctam_inference"]["max_length"] == 64
    assert saved["quantization"]["method"] == "blockwise" and saved["quantization"]["block_size"] == 32  # the default
    assert (folder / "model_quantized.onnx").stat().st_size < (folder / "model.onnx").stat().st_size / 3
    with pytest.raises(FileExistsError, match="--overwrite"):
        export_onnx(run, folder)


@needs_gklmip
def test_fp32_graph_reproduces_pytorch_at_every_batch_size_and_length(exported, tokenizer):
    run, folder, _ = exported
    model = CTAMForSequenceClassification.from_pretrained(run).eval()
    session = OnnxSequenceClassifier(folder / "model.onnx")
    texts = _texts(40)
    for batch, max_length in ((texts[:1], 64), (texts[:7], 64), (texts, 64), (texts[:5], 300)):
        encoded = tokenize_for_eval(
            tokenizer, [" ".join(batch)] * 2 if max_length == 300 else batch, max_length=max_length
        )
        with torch.inference_mode():
            expected = model(**encoded).logits
        assert torch.allclose(session(**encoded).logits, expected, atol=1e-4), encoded["input_ids"].shape


@needs_gklmip
def test_int8_graph_agrees_with_pytorch_on_gklmip_reviews(exported):
    run, folder, _ = exported
    texts = _texts(200)
    reference = np.array(load_classifier(run, "pytorch", device="cpu").probabilities(texts))
    served = np.array(load_classifier(folder, "onnx").probabilities(texts))
    assert served.shape == reference.shape == (len(texts), 2)
    assert (served.argmax(1) == reference.argmax(1)).mean() >= 0.95
    assert np.abs(served - reference).max() < 0.05
    fp32 = load_classifier(folder, "onnx")
    fp32.model = OnnxSequenceClassifier(folder / "model.onnx")
    assert np.abs(np.array(fp32.probabilities(texts)) - reference).max() < 1e-5


def test_word_ids_models_export_with_a_word_ids_input(tmp_path, tokenizer):
    run = _save_run(tmp_path / "run", tokenizer, word_ids=True, gate_type="scalar")
    record = export_onnx(run, tmp_path / "onnx", quantize=False)
    assert record["inputs"] == ["input_ids", "attention_mask", "word_ids"] and record["file"] == "model.onnx"
    classifier = load_classifier(tmp_path / "onnx", "onnx")
    assert classifier.word_ids and len(classifier.probabilities(["သုံးရတာ အရမ်းအဆင်ပြေပါတယ်"])) == 1


@needs_gklmip
def test_predict_backend_onnx_end_to_end(exported, tmp_path):
    run, folder, _ = exported
    data = tmp_path / "reviews.jsonl"
    data.write_text(
        "".join(json.dumps({"text": t, "n": i, "label": "5"}) + "\n" for i, t in enumerate(_texts(30))) + "\n{}\n",
        encoding="utf-8",
    )
    outputs = {}
    for backend, model in (("pytorch", run), ("onnx", folder)):
        manifest = eval_cli.main(
            [
                "predict",
                "--model",
                str(model),
                "--backend",
                backend,
                "--data",
                str(data),
                "--keep-columns",
                "n",
                "label",
                "--output-dir",
                str(tmp_path / backend),
                "--no-progress",
            ]
        )
        assert manifest["rows"] == 31 and manifest["bad_rows"] == {"missing_field": 1}
        assert manifest["settings"]["backend"] == backend
        outputs[backend] = [
            json.loads(line)
            for line in (tmp_path / backend / "predictions-00000-of-00001.jsonl").read_text().splitlines()
        ]
    assert [r["n"] for r in outputs["onnx"]] == list(range(30)) + [None]
    assert outputs["onnx"][0]["input_label"] == "5" and outputs["onnx"][0]["label"] in ("negative", "positive")
    agree = np.mean([a["label"] == b["label"] for a, b in zip(outputs["onnx"][:30], outputs["pytorch"][:30])])
    assert agree >= 0.9
    with pytest.raises(SystemExit, match="export-onnx"):
        eval_cli.main(
            [
                "predict",
                "--model",
                str(run),
                "--backend",
                "onnx",
                "--data",
                str(data),
                "--output-dir",
                str(tmp_path / "nope"),
                "--no-progress",
            ]
        )


def test_cli_export_onnx(exported, tmp_path):
    run, _, _ = exported
    record = eval_cli.main(
        [
            "export-onnx",
            "--model",
            str(run),
            "--output-dir",
            str(tmp_path / "cli"),
            "--method",
            "dynamic",
            "--no-per-channel",
        ]
        + ["--fp32-nodes", r"layer\.1/output/dense"]
    )
    quantization = record["quantization"]
    assert quantization["method"] == "dynamic" and quantization["per_channel"] is False
    assert (tmp_path / "cli" / "model_quantized.onnx").is_file()
    assert record["quantization"]["fp32_matmuls"] == 5  # mapping, gate, the classifier's two, one FFN output
    assert not (tmp_path / "cli" / "model.onnx").exists()
    with pytest.raises(SystemExit, match="already holds an ONNX export"):
        eval_cli.main(["export-onnx", "--model", str(run), "--output-dir", str(tmp_path / "cli")])


@needs_gklmip
def test_a_model_with_the_ngram_view_exports_it_in_the_graph(tmp_path, tokenizer):
    from modeling_ctam.transfer.ngram_view import fit_ngram_head

    run = _save_run(tmp_path / "run", tokenizer)
    model = CTAMForSequenceClassification.from_pretrained(run).eval()
    texts = _texts(120)
    rng = np.random.default_rng(0)
    posteriors = rng.dirichlet([1.0, 1.0], size=len(texts))  # any student: the head learns what it is given
    fit_ngram_head(model, tokenizer, texts, posteriors, prior=[0.3, 0.7], max_length=64)
    model.save_pretrained(run)
    export_onnx(run, tmp_path / "onnx", quantize=False)
    session = OnnxSequenceClassifier(tmp_path / "onnx" / "model.onnx")
    reloaded = CTAMForSequenceClassification.from_pretrained(run).eval()
    encoded = tokenize_for_eval(tokenizer, _texts(30), max_length=64)
    with torch.inference_mode():
        expected = reloaded(**encoded).logits
        reloaded.ngram_head = None
        student = reloaded(**encoded).logits
    assert not torch.allclose(torch.log_softmax(student, -1), expected, atol=1e-3)  # the view changes the output
    assert torch.allclose(session(**encoded).logits, expected, atol=1e-4)


@needs_gklmip
def test_smoothing_keeps_the_fp32_graph_exact_and_divides_the_outlier_channels(exported, tokenizer, tmp_path):
    import onnx

    from modeling_ctam.serving.onnx import calibration_feeds, smooth_graph

    _, folder, _ = exported
    names = ["input_ids", "attention_mask"]
    calibration = calibration_feeds(tokenizer, 64, False, _texts(64), names)
    record = smooth_graph(folder / "model.onnx", tmp_path / "smoothed.onnx", calibration, alpha=0.5, skip=FP32_NODES)
    # each layer: one input shared by query, key and value, then the attention output, FFN input and FFN output
    assert record["inputs"] == 2 * 4 and record["matmuls"] == 2 * 6 and record["calibration_rows"] == 64
    original, smoothed = (
        OnnxSequenceClassifier(folder / "model.onnx"),
        OnnxSequenceClassifier(tmp_path / "smoothed.onnx"),
    )
    encoded = tokenize_for_eval(tokenizer, _texts(200)[100:140], max_length=64)
    assert torch.allclose(smoothed(**encoded).logits, original(**encoded).logits, atol=1e-4)
    graph = onnx.load(str(tmp_path / "smoothed.onnx")).graph
    scales = [onnx.numpy_helper.to_array(i) for i in graph.initializer if i.name.endswith("/inverse_scale")]
    assert len(scales) == 8 and not all(np.allclose(s, 1.0) for s in scales)


@needs_gklmip
def test_blockwise_int8_and_row_embeddings_stay_close_to_the_fp32_graph(exported, tokenizer, tmp_path):
    import onnx

    from modeling_ctam.serving.onnx import quantize_graph

    _, folder, _ = exported
    record = quantize_graph(folder / "model.onnx", tmp_path / "q.onnx", method="blockwise", block_size=16)
    assert record["block_size"] == 16 and record["fp32_matmuls"] == 4  # mapping, gate, the classifier's two
    assert record["embedding_tables"] == ["inner.ctam.encoder.embeddings.word_embeddings.weight"]
    graph = onnx.load(str(tmp_path / "q.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("MatMulNBits") == 2 * 6 and "MatMul" in ops  # the encoder's six per layer; the head stays fp32
    table = next(i for i in graph.initializer if i.name.endswith("word_embeddings.weight_int8_rows"))
    assert table.data_type == onnx.TensorProto.INT8 and list(table.dims) == [250037, 32]
    encoded = tokenize_for_eval(tokenizer, _texts(40), max_length=64)
    reference = torch.softmax(OnnxSequenceClassifier(folder / "model.onnx")(**encoded).logits, -1)
    served = torch.softmax(OnnxSequenceClassifier(tmp_path / "q.onnx")(**encoded).logits, -1)
    assert (served - reference).abs().max() < 0.02


def test_cli_smoothing_needs_calibration_data(exported, tmp_path):
    run, _, _ = exported
    with pytest.raises(SystemExit, match="--calibration-data"):
        eval_cli.main(
            ["export-onnx", "--model", str(run), "--output-dir", str(tmp_path / "x"), "--smooth-alpha", "0.5"]
        )


@needs_gklmip
def test_calibration_texts_are_a_reproducible_draw_of_valid_reviews():
    from modeling_ctam.serving.onnx import calibration_texts

    drawn = calibration_texts(GKLMIP_DEV, rows=50)
    assert drawn == calibration_texts(GKLMIP_DEV, rows=50) and len(drawn) == 50 and all(t.strip() for t in drawn)
    assert drawn != calibration_texts(GKLMIP_DEV, rows=50, seed=1)
    everything = calibration_texts(GKLMIP_DEV, rows=100_000)
    assert set(drawn) <= set(everything) and len(everything) < 400
