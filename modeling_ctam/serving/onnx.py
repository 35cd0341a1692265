# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""CTAM's student path as an int8 ONNX graph for CPU serving: export, quantisation, and the runtime.

:func:`export_onnx` traces the inference forward of :class:`~modeling_ctam.CTAMForSequenceClassification`, the
student path only (encoder, eq. 1 word pooling from the in-model word-start table, eq. 2 mapping, eq. 3 gate, mean
pooling, classifier, and the n-gram view where the model has one; the teacher path, the BiGRUs and the discriminator
are training-only), with ``torch.onnx.export``
(TorchScript exporter, opset 17), with dynamic batch and sequence axes. It checks that ONNX Runtime reproduces
PyTorch's logits on texts of several lengths and batch sizes, quantises the graph to int8 (:func:`quantize_graph`) and
writes the folder that ``eval.py predict --backend onnx`` reads. The default quantisation (``method="blockwise"``)
stores the encoder's weights as int8 in blocks of 32 input channels (``MatMulNBits``) and quantises each token's
activations per block at run time; ``method="dynamic"`` is ``onnxruntime.quantization.quantize_dynamic`` (int8
weights per output channel, one activation scale per tensor), optionally after SmoothQuant (:func:`smooth_graph`).
The word-embedding table is int8 with one scale per row. docs/evaluation.md gives what each does to the labels.

- ``model_quantized.onnx``: the int8 graph (``model.onnx``, the fp32 graph, too with ``keep_fp32=True``);
- ``config.json`` (the model's, with ``ctam_inference``: the training ``max_length``) and the tokenizer files;
- ``ctam_onnx.json``: how it was made (opset, quantisation options, versions) and the export check.

Inputs of the graph: ``input_ids`` and ``attention_mask`` (int64, ``(batch, sequence)``), and ``word_ids`` for
models trained with Burmese word-segmenter boundaries; output ``logits`` ``(batch, num_labels)``.

:class:`OnnxSequenceClassifier` runs the graph in an ``onnxruntime.InferenceSession`` and answers like a
transformers model (``model(input_ids=..., attention_mask=...).logits``), so the evaluation code drives both.

Needs the optional extra ``pip install -e ".[onnx]"`` (``onnx``, ``onnxruntime``, ``onnx-ir``).
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
# Nodes kept in fp32 by default: the eq. 2 mapping, the eq. 3 gate, the classifier (a sliver of the compute, and what
# the logits hang on most directly) and the n-gram view's tables. More with `fp32_nodes` (regular expressions over
# node names).
FP32_NODES = (r"/ctam/mapping/", r"/ctam/gate/", r"/classifier/", r"/ngram_head/")
WEIGHT_TYPES = ("int8", "uint8")
METHODS = ("dynamic", "blockwise")
EMBEDDINGS = ("rows", "tensor", "fp32")
EMBEDDING_MIN_ROWS = 4096  # Gather tables at least this long are embedding tables worth quantising
CALIBRATION_ROWS = 256  # reviews the activation ranges of the smoothing are measured on
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
            f'ONNX export and serving need the optional extra: pip install -e ".[onnx]". ({error})'
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


def calibration_feeds(tokenizer, max_length: int, word_ids: bool, texts, names, batch_size: int = 32) -> list[dict]:
    """The graph's inputs for `texts` (Burmese reviews), in batches of `batch_size` sorted by length, as ``predict``
    batches them."""
    import numpy as np

    from ..data import tokenize_for_eval

    texts = [t for t in (texts or ()) if t and t.strip()][:CALIBRATION_ROWS]
    if not texts:
        raise ValueError("smoothing needs calibration texts (training reviews of the target language).")
    texts = sorted(texts, key=len)
    feeds = []
    for start in range(0, len(texts), batch_size):
        batch = tokenize_for_eval(
            tokenizer,
            texts[start : start + batch_size],
            "my",
            max_length=max_length,
            word_ids=word_ids,
            preprocess=True,
        )
        feeds.append({name: np.ascontiguousarray(batch[name].numpy().astype(np.int64)) for name in names})
    return feeds


def calibration_texts(
    data: str | os.PathLike, text_column: str = "text", rows: int = CALIBRATION_ROWS, seed: int = 0
) -> list[str]:
    """`rows` valid reviews of `data` (any file ``eval.py predict`` reads, or a JSON array), drawn at random with
    `seed`, preprocessed as ``predict`` preprocesses them: what :func:`smooth_graph` is calibrated on."""
    import random

    from ..data.stream import stream_rows

    texts: list[str] = []
    stream_rows(data, lambda row: texts.append(row.text) if row.reason is None else None, text_column=text_column)
    if not texts:
        raise ValueError(f"--calibration-data {data}: no valid row in column {text_column!r}.")
    return random.Random(seed).sample(texts, min(rows, len(texts)))


def _activation_ranges(model_path: Path, tensors: Sequence[str], calibration: Sequence[dict]) -> dict:
    """Per channel (last axis), the largest |value| of each of `tensors` over the calibration batches."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    graph = onnx.load(str(model_path))
    known = {o.name for o in graph.graph.output}
    for name in tensors:
        if name not in known:
            graph.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    ranges: dict = {}
    for feed in calibration:
        for name, value in zip(tensors, session.run(list(tensors), feed)):
            peak = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            ranges[name] = peak if name not in ranges else np.maximum(ranges[name], peak)
    return ranges


def smooth_graph(
    fp32_path: str | os.PathLike,
    out_path: str | os.PathLike,
    calibration: Sequence[dict],
    alpha: float = 0.5,
    skip: Sequence[str] = (),
) -> dict:
    r"""SmoothQuant (Xiao et al. 2023) for dynamic int8: moves the activations' outlier channels into the weights.

    For each MatMul ``Y = X W`` with a constant ``W`` (those sharing one input ``X`` together, as the query, key and
    value projections do), with ``a_j`` the largest ``|X_j|`` of channel ``j`` over the calibration batches and
    ``w_j`` the largest ``|W_j.|`` of its row::

        s_j = a_j^alpha / w_j^(1 - alpha),      Y = (X diag(1/s)) (diag(s) W)

    exactly in real arithmetic. The division is an inserted ``Mul`` (BERT's LayerNorm outputs also feed the residual,
    so the scale cannot fold into them); ``diag(s) W`` replaces the weights. After it, one int8 scale per tensor
    fits the activations better (their outlier channels are divided down), and the weights, quantised per output
    channel, take the difference.

    Args:
        skip: regular expressions over node names; matching MatMuls are left alone (those that stay fp32).

    Returns:
        `dict`: what was smoothed (MatMuls, inputs, alpha, calibration batches and rows).
    """
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(fp32_path))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    patterns = [re.compile(p) for p in skip]
    groups: dict[str, list] = {}
    for node in graph.node:
        if node.op_type != "MatMul" or any(p.search(node.name) for p in patterns):
            continue
        if node.input[0] in weights or node.input[1] not in weights or len(weights[node.input[1]].dims) != 2:
            continue
        groups.setdefault(node.input[0], []).append(node)
    ranges = _activation_ranges(Path(fp32_path), list(groups), calibration)
    for index, (tensor, nodes) in enumerate(groups.items()):
        matrices = [numpy_helper.to_array(weights[n.input[1]]) for n in nodes]
        w_max = np.max([np.abs(m).max(axis=1) for m in matrices], axis=0)
        a_max = ranges[tensor]
        scale = np.power(np.maximum(a_max, 1e-5), alpha) / np.power(np.maximum(w_max, 1e-5), 1.0 - alpha)
        scale = np.where((a_max > 0) & (w_max > 0), scale, 1.0).astype(np.float32)
        prefix = nodes[0].name.rsplit("/", 1)[0]
        inverse = f"{prefix}/smooth_{index}/inverse_scale"
        smoothed = f"{prefix}/smooth_{index}/output"
        graph.initializer.append(numpy_helper.from_array((1.0 / scale).astype(np.float32), inverse))
        graph.node.append(
            onnx.helper.make_node("Mul", [tensor, inverse], [smoothed], name=f"{prefix}/smooth_{index}/Mul")
        )
        for node, matrix in zip(nodes, matrices):
            name = f"{node.input[1]}_smoothed"
            graph.initializer.append(numpy_helper.from_array((matrix * scale[:, None]).astype(np.float32), name))
            node.input[0], node.input[1] = smoothed, name
    used = {i for n in graph.node for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    model = _topological(model)
    onnx.save(model, str(out_path))
    return {
        "alpha": alpha,
        "matmuls": sum(len(n) for n in groups.values()),
        "inputs": len(groups),
        "calibration_batches": len(calibration),
        "calibration_rows": int(sum(len(next(iter(f.values()))) for f in calibration)),
    }


def _topological(model):
    """The graph's nodes in an order where every input is produced before it is read (appended nodes moved up)."""
    graph = model.graph
    produced = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        rest = []
        for node in pending:
            if all(i in produced for i in node.input):
                ordered.append(node)
                produced.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise OnnxExportError(f"the graph has inputs nothing produces: {[n.name for n in rest][:5]}")
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)
    return model


def quantize_graph(
    fp32_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    method: str = "blockwise",
    per_channel: bool = True,
    reduce_range: bool = False,
    weight_type: str = "int8",
    block_size: int = 32,
    embeddings: str = "rows",
    fp32_nodes: Sequence[str] = (),
    smooth_alpha: float | None = None,
    calibration: Sequence[dict] | None = None,
) -> dict:
    r"""Int8 quantisation of an fp32 CTAM graph.

    Args:
        method (`str`, *optional*, defaults to `"blockwise"`): ``"blockwise"``: ``MatMulNBits`` with 8-bit
            symmetric weights in blocks of `block_size` along the input dimension and int8 compute
            (``accuracy_level=4``), the activations quantised at run time per row (token) and block; ``"dynamic"``:
            ``quantize_dynamic``, int8 weights (per output channel with `per_channel`; `reduce_range`,
            `weight_type`) and the activations quantised on the fly with one scale per tensor (the whole batch).
        embeddings (`str`, *optional*, defaults to `"rows"`): the word-embedding table (a Gather): ``"rows"``, int8
            with one scale per row (token); ``"tensor"``, ``quantize_dynamic``'s one scale for the whole table;
            ``"fp32"``.
        fp32_nodes (`Sequence[str]`): regular expressions over node names kept fp32, beside :data:`FP32_NODES`.
        smooth_alpha (`float`, *optional*): smooth the graph first (:func:`smooth_graph`) on `calibration`.

    Returns:
        `dict`: the ``quantization`` entry of ``ctam_onnx.json``.
    """
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if method not in METHODS:
        raise ValueError(f"method={method!r}: one of {METHODS}.")
    if weight_type not in WEIGHT_TYPES:
        raise ValueError(f"weight_type={weight_type!r}: one of {WEIGHT_TYPES}.")
    if embeddings not in EMBEDDINGS:
        raise ValueError(f"embeddings={embeddings!r}: one of {EMBEDDINGS}.")
    patterns = [*FP32_NODES, *fp32_nodes]
    compiled = [re.compile(p) for p in patterns]
    record: dict[str, Any] = {"method": method, "embeddings": embeddings, "fp32_nodes": patterns}
    if method == "dynamic":
        record.update(
            {
                "tool": "onnxruntime.quantization.quantize_dynamic",
                "weight_type": {"int8": "QInt8", "uint8": "QUInt8"}[weight_type],
                "per_channel": per_channel,
                "reduce_range": reduce_range,
            }
        )
    else:
        record.update({"tool": "onnxruntime MatMulNBits", "bits": 8, "block_size": block_size, "accuracy_level": 4})
    disabled = logging.root.manager.disable
    logging.disable(max(disabled, logging.WARNING))  # the quantisers log per tensor on the root logger
    try:
        with tempfile.TemporaryDirectory(prefix="ctam-onnx-quantize-") as tmp:
            source = Path(fp32_path)
            if smooth_alpha is not None:
                if not calibration:
                    raise ValueError("smooth_alpha needs calibration batches.")
                source = Path(tmp) / "smoothed.onnx"
                record["smoothing"] = smooth_graph(fp32_path, source, calibration, alpha=smooth_alpha, skip=patterns)
            graph = onnx.load(str(source), load_external_data=False).graph
            excluded = [n.name for n in graph.node if any(p.search(n.name) for p in compiled)]
            record["fp32_matmuls"] = sum(
                1 for n in graph.node if n.name in excluded and n.op_type in ("MatMul", "Gemm")
            )
            op_types = ["MatMul", "Gather"] if embeddings == "tensor" else ["MatMul"]
            if method == "dynamic":
                quantize_dynamic(
                    str(source),
                    str(out_path),
                    weight_type=QuantType.QInt8 if weight_type == "int8" else QuantType.QUInt8,
                    per_channel=per_channel,
                    reduce_range=reduce_range,
                    nodes_to_exclude=excluded,
                    op_types_to_quantize=op_types,
                )
            else:
                _quantize_blockwise(source, Path(out_path), excluded, block_size)
                if embeddings == "tensor":
                    quantize_dynamic(
                        str(out_path),
                        str(out_path),
                        weight_type=QuantType.QInt8,
                        nodes_to_exclude=excluded,
                        op_types_to_quantize=["Gather"],
                    )
            if embeddings == "rows":
                record["embedding_tables"] = _quantize_embedding_rows(Path(out_path), excluded)
    finally:
        logging.disable(disabled)
    return record


def _quantize_blockwise(source: Path, out_path: Path, excluded: Sequence[str], block_size: int) -> None:
    """Every MatMul with a constant weight, outside `excluded`, to ``MatMulNBits`` (8 bits, symmetric, blocks of
    `block_size` along the input dimension, ``accuracy_level=4``: int8 compute, each activation row quantised per
    block at run time)."""
    try:  # onnxruntime's blockwise quantiser imports onnx_ir, which onnxruntime does not require
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    except ImportError as error:
        raise ImportError(f'--method blockwise needs onnx-ir: pip install -e ".[onnx]" ({error})') from error
    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(source)),
        bits=8,
        block_size=block_size,
        is_symmetric=True,
        accuracy_level=4,
        nodes_to_exclude=list(excluded),
        op_types_to_quantize=("MatMul",),
    )
    quantizer.process()
    quantizer.model.save_model_to_file(str(out_path), use_external_data_format=False)


def _quantize_embedding_rows(path: Path, excluded: Sequence[str], min_rows: int = EMBEDDING_MIN_ROWS) -> list[str]:
    """Each large float table read by a Gather (the word embeddings) to int8 with one scale per row, in place::

        Gather(table, ids)  ->  Cast(Gather(int8_table, ids), float) * Gather(row_scales, ids)

    Rows are quantised symmetrically, ``scale = max |row| / 127``; small tables (positions, token types) stay fp32.
    Returns the names of the tables quantised."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    tables = {i.name: i for i in graph.initializer}
    done, nodes = [], []
    for node in graph.node:
        table = tables.get(node.input[0]) if node.op_type == "Gather" else None
        attribute_axis = [a.i for a in node.attribute if a.name == "axis"]
        if (
            table is None
            or node.name in excluded
            or table.data_type != onnx.TensorProto.FLOAT
            or len(table.dims) != 2
            or table.dims[0] < min_rows
            or (attribute_axis and attribute_axis[0] != 0)
        ):
            nodes.append(node)
            continue
        weights = numpy_helper.to_array(table)
        scale = np.maximum(np.abs(weights).max(axis=1, keepdims=True), 1e-12) / 127.0
        quantized = np.clip(np.rint(weights / scale), -127, 127).astype(np.int8)
        base = f"{table.name}_int8_rows"
        graph.initializer.extend(
            [
                numpy_helper.from_array(quantized, base),
                numpy_helper.from_array(scale.astype(np.float32), f"{base}_scale"),
            ]
        )
        prefix, out = node.name, node.output[0]
        nodes += [
            helper.make_node("Gather", [base, node.input[1]], [f"{prefix}/q"], name=f"{prefix}/int8", axis=0),
            helper.make_node(
                "Cast", [f"{prefix}/q"], [f"{prefix}/f"], name=f"{prefix}/cast", to=onnx.TensorProto.FLOAT
            ),
            helper.make_node(
                "Gather", [f"{base}_scale", node.input[1]], [f"{prefix}/s"], name=f"{prefix}/scale", axis=0
            ),
            helper.make_node("Mul", [f"{prefix}/f", f"{prefix}/s"], [out], name=f"{prefix}/dequantize"),
        ]
        done.append(table.name)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.save(model, str(path))
    return done


def export_onnx(
    model: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    quantize: bool = True,
    per_channel: bool = True,
    reduce_range: bool = False,
    weight_type: str = "int8",
    fp32_nodes: Sequence[str] = (),
    smooth_alpha: float | None = None,
    calibration_texts: Sequence[str] | None = None,
    method: str = "blockwise",
    block_size: int = 32,
    embeddings: str = "rows",
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
        quantize (`bool`, *optional*, defaults to `True`): write ``model_quantized.onnx`` (int8); `False` keeps the
            fp32 ``model.onnx`` only.
        method (`str`, *optional*, defaults to `"blockwise"`), block_size (`int`, *optional*, defaults to 32),
            embeddings (`str`, *optional*, defaults to `"rows"`), per_channel (`bool`, *optional*, defaults to
            `True`), reduce_range (`bool`, *optional*, defaults to `False`), weight_type (`str`, *optional*, defaults
            to `"int8"`): how to quantise (:func:`quantize_graph`; the last three for ``method="dynamic"``).
        fp32_nodes (`Sequence[str]`, *optional*): regular expressions; nodes whose ONNX name matches one stay fp32,
            beside :data:`FP32_NODES` (e.g. ``r"layer\.\d+/output/dense"``: the encoder's FFN output projections).
        smooth_alpha (`float`, *optional*): SmoothQuant before quantising (:func:`smooth_graph`), calibrated on
            `calibration_texts` (training reviews of the target language, :func:`calibration_texts`).
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
        calibration = None
        if smooth_alpha is not None:
            calibration = calibration_feeds(tokenizer, settings["max_length"], word_ids, calibration_texts, names)
        record["file"] = ONNX_MODEL_FILE
        record["quantization"] = quantize_graph(
            fp32,
            quantized,
            per_channel=per_channel,
            reduce_range=reduce_range,
            weight_type=weight_type,
            fp32_nodes=fp32_nodes,
            smooth_alpha=smooth_alpha,
            calibration=calibration,
            method=method,
            block_size=block_size,
            embeddings=embeddings,
        )
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
