# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""CTAM's student path as an int8 ONNX graph for CPU serving: export, dynamic quantisation, and the runtime.

:func:`export_onnx` traces the inference forward of :class:`~modeling_ctam.CTAMForSequenceClassification`, the
student path only (encoder, eq. 1 word pooling from the in-model word-start table, eq. 2 mapping, eq. 3 gate, mean
pooling, classifier; the teacher path, the BiGRUs and the discriminator are training-only), with ``torch.onnx.export``
(TorchScript exporter, opset 17), with dynamic batch and sequence axes. It checks that ONNX Runtime reproduces
PyTorch's logits on texts of several lengths and batch sizes, quantises the graph's weights to int8 with
``onnxruntime.quantization.quantize_dynamic`` (activations are quantised on the fly), and writes the folder that
``eval.py predict --backend onnx`` reads:

- ``model_quantized.onnx``: the int8 graph (``model.onnx``, the fp32 graph, too with ``keep_fp32=True``);
- ``config.json`` (the model's, with ``ctam_inference``: the training ``max_length``) and the tokenizer files;
- ``ctam_onnx.json``: how it was made (opset, quantisation options, versions) and the export check.

Inputs of the graph: ``input_ids`` and ``attention_mask`` (int64, ``(batch, sequence)``), and ``word_ids`` for
models trained with Burmese word-segmenter boundaries; output ``logits`` ``(batch, num_labels)``.

:class:`OnnxSequenceClassifier` runs the graph in an ``onnxruntime.InferenceSession`` and answers like a
transformers model (``model(input_ids=..., attention_mask=...).logits``), so the evaluation code drives both.

Needs the optional extra ``pip install -e ".[onnx]"`` (``onnx``, ``onnxruntime``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ONNX_MODEL_FILE = "model_quantized.onnx"
ONNX_FP32_FILE = "model.onnx"
ONNX_RECORD_FILE = "ctam_onnx.json"
OPSET = 17
# MatMuls kept in fp32 by default: the eq. 2 mapping, the eq. 3 gate and the classifier (a sliver of the compute,
# and what the logits hang on most directly). More with `fp32_nodes` (regular expressions over node names).
FP32_NODES = (r"/ctam/mapping/", r"/ctam/gate/", r"/classifier/")
EXPORT_TOLERANCE = 1e-3  # largest |logit difference| allowed between ONNX Runtime (fp32) and PyTorch
# Texts the export is traced and checked on: Burmese of several lengths, with a repeated word (eq. 1 pools forms).
PROBE_TEXTS = (
    "သုံးရတာ အရမ်းအဆင်ပြေပါတယ် ပစ္စည်းကောင်းပါတယ်",
    "ကောင်းပါတယ်",
    "ပစ္စည်း မကောင်းဘူး ပစ္စည်း ပြန်ပို့ချင်တယ် ဝယ်ရတာ စိတ်ပျက်တယ် ပို့ဆောင်ရေး နှေးတယ်",
)


class OnnxExportError(RuntimeError):
    """The exported graph does not reproduce the PyTorch model."""


def _require_onnx():
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f'ONNX export and serving need the optional extra: pip install -e ".[onnx]" (onnx, onnxruntime). ({error})'
        ) from error
    return onnx, onnxruntime


def onnx_model_file(folder: str | os.PathLike) -> Path:
    """The graph to serve in `folder`: ``model_quantized.onnx``, else ``model.onnx``.

    Raises:
        FileNotFoundError: `folder` holds neither (the message says how to write one).
    """
    folder = Path(folder)
    for name in (ONNX_MODEL_FILE, ONNX_FP32_FILE):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"{folder} holds no {ONNX_MODEL_FILE} (or {ONNX_FP32_FILE}): write one with "
        f"`python eval.py export-onnx --model MODEL_DIR --output-dir {folder}`."
    )


@dataclass
class _Output:
    logits: Any


class OnnxSequenceClassifier:
    """An exported CTAM graph in an ONNX Runtime session, called like a transformers model.

    Args:
        path (`str` or `os.PathLike`): an ``.onnx`` file, or a folder holding one (:func:`onnx_model_file`).
        num_threads (`int`, *optional*): intra-op threads (default: ONNX Runtime's, one per core).
        device (*optional*): ``"cuda"`` (or a CUDA `torch.device`) runs on the CUDA execution provider when this
            onnxruntime build has it; otherwise the CPU.
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None, device: Any = None):
        _, ort = _require_onnx()
        path = Path(path)
        self.path = onnx_model_file(path) if path.is_dir() else path
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Errors only: the optimiser's own nodes warn about shapes it inferred for the example's rank on every call.
        options.log_severity_level = 3
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if str(device or "").startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        self.input_names = [i.name for i in self.session.get_inputs()]

    @property
    def takes_word_ids(self) -> bool:
        return "word_ids" in self.input_names

    def eval(self) -> OnnxSequenceClassifier:
        return self

    def __call__(self, input_ids, attention_mask=None, word_ids=None, **_) -> _Output:
        import numpy as np
        import torch

        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "word_ids": word_ids}
        if feeds["attention_mask"] is None:
            feeds["attention_mask"] = torch.ones_like(input_ids)
        if self.takes_word_ids and word_ids is None:
            raise ValueError(f"{self.path.name} was exported from a model trained with Burmese word_ids: pass them.")
        arrays = {name: np.ascontiguousarray(feeds[name].cpu().numpy().astype(np.int64)) for name in self.input_names}
        (logits,) = self.session.run(["logits"], arrays)
        return _Output(logits=torch.from_numpy(logits))


def load_onnx_model(folder: str | os.PathLike, num_threads: int | None = None, device: Any = None):
    """:class:`OnnxSequenceClassifier` over the graph in `folder` (see :func:`onnx_model_file`)."""
    return OnnxSequenceClassifier(folder, num_threads=num_threads, device=device)


def _student_module(model, word_ids: bool):
    import torch

    class StudentLogits(torch.nn.Module):
        """The inference forward: Burmese text through the student path, logits out."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, word_ids=None):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, word_ids=word_ids).logits

    return StudentLogits(model).eval()


def _probe_batches(tokenizer, max_length: int, word_ids: bool, texts: Sequence[str] = PROBE_TEXTS) -> list[dict]:
    """Tokenised probe batches of several sizes and lengths (the export's dynamic axes must serve them all)."""
    from ..data import tokenize_for_eval

    texts = list(texts)
    batches = [texts, texts[:1], texts[1:2], [" ".join(texts)] * 3]
    return [
        tokenize_for_eval(tokenizer, batch, "my", max_length=max_length, word_ids=word_ids, preprocess=True)
        for batch in batches
    ]


def _strip_shapes(path: Path) -> None:
    """Drops the intermediate shape annotations the tracer wrote for the example inputs (they name the example's
    sizes, and ONNX Runtime warns on every call whose sizes differ); the graph's own shape inference still runs."""
    import onnx

    graph = onnx.load(str(path))
    del graph.graph.value_info[:]
    onnx.save(graph, str(path))


def _max_logit_difference(session_path: Path, module, batches: list[dict], word_ids: bool) -> float:
    import torch

    session = OnnxSequenceClassifier(session_path)
    worst = 0.0
    with torch.inference_mode():
        for batch in batches:
            inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
            if word_ids:
                inputs["word_ids"] = batch["word_ids"]
            expected = module(**inputs)
            worst = max(worst, float((session(**inputs).logits - expected).abs().max()))
    return worst


def export_onnx(
    model: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    quantize: bool = True,
    per_channel: bool = True,
    reduce_range: bool = False,
    fp32_nodes: Sequence[str] = (),
    keep_fp32: bool = False,
    opset: int = OPSET,
    max_length: int | None = None,
    write_tokenizer: bool = True,
    overwrite: bool = False,
) -> dict:
    r"""Exports the student path of a trained CTAM model to ONNX, quantised to int8, with its tokenizer and config.

    Args:
        model (`str` or `os.PathLike`): a train.py / ``save_pretrained`` folder. It is loaded with the installed
            package's modeling code (not the copy saved beside the weights), strictly.
        output_dir (`str` or `os.PathLike`): where the ONNX folder goes (created; it must not hold an export unless
            `overwrite`).
        quantize (`bool`, *optional*, defaults to `True`): write ``model_quantized.onnx`` (int8 weights, dynamic
            activation quantisation); `False` keeps the fp32 ``model.onnx`` only.
        per_channel (`bool`, *optional*, defaults to `True`), reduce_range (`bool`, *optional*, defaults to
            `False`): ``quantize_dynamic`` options (docs/evaluation.md gives what each does to the agreement).
        fp32_nodes (`Sequence[str]`, *optional*): regular expressions; MatMuls whose ONNX node name matches one stay
            fp32, beside :data:`FP32_NODES` (e.g. ``r"layer\.\d+/output/dense"``: the encoder's FFN output
            projections, whose inputs carry the largest activation outliers).
        keep_fp32 (`bool`, *optional*, defaults to `False`): keep ``model.onnx`` beside the quantised graph.
        opset (`int`, *optional*, defaults to 17): ONNX opset.
        max_length (`int`, *optional*): the truncation length to record; default: the training run's.
        write_tokenizer (`bool`, *optional*, defaults to `True`): also write the tokenizer and ``config.json``
            (`False` when the folder already has them, as a Hub folder does).
        overwrite (`bool`, *optional*, defaults to `False`): replace an earlier export in `output_dir`.

    Returns:
        `dict`: the record written to ``ctam_onnx.json``.

    Raises:
        OnnxExportError: ONNX Runtime's logits differ from PyTorch's by more than 1e-3 on the probe texts.
    """
    onnx, ort = _require_onnx()
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoTokenizer

    from .. import CTAMForSequenceClassification
    from .settings import inference_settings

    source, out = Path(model), Path(output_dir)
    if not (source / "config.json").is_file():
        raise FileNotFoundError(f"--model {source} has no config.json: give a folder train.py wrote.")
    if out.resolve() == source.resolve():
        raise ValueError("--output-dir must not be the model folder (the ONNX folder gets its own config.json).")
    if (out / ONNX_RECORD_FILE).exists() and not overwrite:
        raise FileExistsError(f"{out} already holds an ONNX export; pass --overwrite to replace it.")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    net = CTAMForSequenceClassification.from_pretrained(source, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    settings = inference_settings(source, net.config)
    if max_length:
        settings["max_length"] = int(max_length)
    word_ids = settings["word_ids"]
    module = _student_module(net, word_ids)
    batches = _probe_batches(tokenizer, settings["max_length"], word_ids)
    names = ["input_ids", "attention_mask"] + (["word_ids"] if word_ids else [])
    example = tuple(batches[0][name] for name in names)
    fp32 = out / ONNX_FP32_FILE
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["logits"] = {0: "batch"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-level shape arithmetic
        torch.onnx.export(
            module,
            example,
            str(fp32),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
            do_constant_folding=True,
        )
    _strip_shapes(fp32)
    onnx.checker.check_model(str(fp32))
    difference = _max_logit_difference(fp32, module, batches, word_ids)
    if difference > EXPORT_TOLERANCE:
        raise OnnxExportError(
            f"ONNX Runtime's logits differ from PyTorch's by up to {difference:.2e} on the probe "
            f"texts (allowed {EXPORT_TOLERANCE:.0e}); the graph in {fp32} is not served."
        )
    record: dict[str, Any] = {
        "format": "ctam-onnx",
        "version": 1,
        "source_model": source.name,
        "graph": "student path: encoder, eq. 1 word pooling, eq. 2 mapping, eq. 3 gate, classifier",
        "inputs": names,
        "outputs": ["logits"],
        "opset": opset,
        "exporter": "torch.onnx.export (TorchScript)",
        "max_abs_logit_difference_fp32": difference,
        "inference": settings,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__},
    }
    if quantize:
        quantized = out / ONNX_MODEL_FILE
        disabled = logging.root.manager.disable
        logging.disable(max(disabled, logging.WARNING))  # quantize_dynamic logs per tensor on the root logger
        patterns = [re.compile(p) for p in (*FP32_NODES, *fp32_nodes)]
        graph = onnx.load(str(fp32), load_external_data=False).graph
        excluded = [
            n.name for n in graph.node if n.op_type in ("MatMul", "Gemm") and any(p.search(n.name) for p in patterns)
        ]
        try:
            quantize_dynamic(
                str(fp32),
                str(quantized),
                weight_type=QuantType.QInt8,
                per_channel=per_channel,
                reduce_range=reduce_range,
                nodes_to_exclude=excluded,
            )
        finally:
            logging.disable(disabled)
        record["file"] = ONNX_MODEL_FILE
        record["quantization"] = {
            "method": "onnxruntime.quantization.quantize_dynamic",
            "weight_type": "QInt8",
            "per_channel": per_channel,
            "reduce_range": reduce_range,
            "fp32_nodes": [p.pattern for p in patterns],
            "fp32_matmuls": len(excluded),
        }
        record["max_abs_logit_difference_int8_probe"] = _max_logit_difference(quantized, module, batches, word_ids)
        if not keep_fp32:
            fp32.unlink()
    else:
        record["file"] = ONNX_FP32_FILE
        record["quantization"] = None
    record["bytes"] = (out / record["file"]).stat().st_size
    record["seconds"] = round(time.perf_counter() - start, 1)
    if write_tokenizer:
        net.config.ctam_inference = dict(settings)
        net.config.save_pretrained(out)
        tokenizer.save_pretrained(out)
        for flat in ("tokenization_ctam.py", "burmese.py"):  # AutoTokenizer's auto_map without the package
            if (source / flat).is_file() and not (out / flat).exists():
                shutil.copyfile(source / flat, out / flat)
    (out / ONNX_RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "exported %s to %s (%.1f MB, %.1f s)", source, out / record["file"], record["bytes"] / 1e6, record["seconds"]
    )
    return record
