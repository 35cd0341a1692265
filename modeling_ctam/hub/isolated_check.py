"""Load a built Hub folder the way a Hub user does, in a process where the CTAM package is NOT importable.

Run by :func:`modeling_ctam.hub.prepare.run_isolated_checks` as ``python .../isolated_check.py FOLDER REQUEST.json
RESULT.json``, by path (importing it as a module would import the package it blocks), with ``HF_MODULES_CACHE``
pointed at a fresh folder. It blocks ``modeling_ctam`` with an import hook, then uses
only ``transformers`` and the files in FOLDER (``trust_remote_code=True``):

- ``AutoConfig`` from the remote code;
- ``pipeline("text-classification", model=FOLDER, trust_remote_code=True)``: which pipeline and model classes it
  builds, and its model's weights against the safetensors files (missing / unexpected / mismatched);
- that pipeline on each requested text and on its Zawgyi-encoded twin (scores over all labels, and raw logits),
  and the folder's ``burmese.preprocess`` of both;
- ``handler.py``'s ``EndpointHandler(FOLDER)`` on the same texts, against the pipeline.

Each step's outcome (or its error) is written to RESULT.json; the caller decides what is a failure.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys
import traceback


class _BlockCTAMPackage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "modeling_ctam" or name.startswith("modeling_ctam.") or name == "hub" or name.startswith("hub."):
            raise ImportError(f"{name}: the CTAM package is not importable in this process (Hub-user check)")
        return None


def _block_package() -> None:
    sys.meta_path.insert(0, _BlockCTAMPackage())
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.abspath(p) != here]


def main(folder: str, request_path: str, result_path: str) -> int:
    _block_package()
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    result: dict = {"errors": {}}

    def step(name, fn):
        try:
            result[name] = fn()
        except BaseException:  # noqa: BLE001 - every failure is reported, none is fatal here
            result["errors"][name] = traceback.format_exc()[-4000:]

    def package_blocked():
        try:
            import modeling_ctam  # noqa: F401
        except ImportError:
            return True
        return False

    step("package_blocked", package_blocked)

    import torch
    import transformers
    from transformers import AutoConfig, pipeline
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    result["transformers_version"] = transformers.__version__

    def config_info():
        config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
        return {
            "class": type(config).__name__,
            "module": type(config).__module__,
            "id2label": {str(k): v for k, v in config.id2label.items()},
        }

    step("config", config_info)

    pipes = {}

    def pipeline_info():
        pipe = pipeline("text-classification", model=folder, trust_remote_code=True, device=-1)
        pipes["pipe"] = pipe
        return {
            "class": type(pipe).__name__,
            "module": type(pipe).__module__,
            "model_class": type(pipe.model).__name__,
            "model_module": type(pipe.model).__module__,
        }

    def model_info():
        # The pipeline's model (AutoModelForSequenceClassification, remote code) against the weight files: the same
        # missing / unexpected / mismatched report as `output_loading_info`, without loading the weights twice.
        import glob

        from safetensors import safe_open

        model = pipes["pipe"].model
        state = model.state_dict()
        shapes = {}
        for path in sorted(glob.glob(f"{folder}/*.safetensors")):
            with safe_open(path, framework="pt") as f:
                for key in f.keys():
                    shapes[key] = tuple(f.get_slice(key).get_shape())
        return {
            "class": type(model).__name__,
            "module": type(model).__module__,
            "missing_keys": sorted(set(state) - set(shapes)),
            "unexpected_keys": sorted(set(shapes) - set(state)),
            "mismatched_keys": sorted(k for k in set(state) & set(shapes) if tuple(state[k].shape) != shapes[k]),
            "dtype": str(next(model.parameters()).dtype),
        }

    step("pipeline", pipeline_info)
    pipe = pipes.get("pipe")
    if pipe is not None:
        step("model", model_info)
    examples = request.get("examples", [])

    def predictions():
        preprocess = get_class_from_dynamic_module("burmese.preprocess", folder)
        out = []
        for example in examples:
            row = {}
            for key in ("text", "zawgyi"):
                text = example.get(key)
                if text is None:
                    continue
                row[key] = {
                    "preprocessed": preprocess(text),
                    "scores": pipe(text, top_k=None),
                    "logits": [
                        s["score"]
                        for s in sorted(pipe(text, top_k=None, function_to_apply="none"), key=lambda s: s["label"])
                    ],
                }
            out.append(row)
        return out

    if pipe is not None:
        step("predictions", predictions)

    def handler_info():
        spec = importlib.util.spec_from_file_location("ctam_endpoint_handler", f"{folder}/handler.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler = module.EndpointHandler(folder)
        texts = [e["text"] for e in examples] + [e["zawgyi"] for e in examples if e.get("zawgyi")]
        single = handler({"inputs": texts[0]}) if texts else None
        batch = handler({"inputs": texts, "parameters": {"top_k": None}}) if texts else None
        return {
            "pipeline_class": type(handler.pipeline).__name__,
            "single": single,
            "single_pipeline": pipe(texts[0]) if texts else None,
            "batch": batch,
            "batch_pipeline": pipe(texts, top_k=None) if texts else None,
        }

    if pipe is not None:
        step("handler", handler_info)

    result["torch_version"] = torch.__version__
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
