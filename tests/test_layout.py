"""Tests of the project's layout: no `sys.path` edits, no import cycle, no oversized module, the one mapping loader's
layer check, and the one default static layer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from modeling_ctam.utils.deprecation import MOVED_MODULES

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "modeling_ctam"
TINY_ENCODER = dict(
    model_type="bert",
    hidden_size=16,
    num_hidden_layers=3,
    num_attention_heads=2,
    intermediate_size=20,
    vocab_size=50,
    max_position_embeddings=32,
)


def _tree_files(suffix: str = ".py") -> list[Path]:
    """The files git tracks, and the untracked ones it does not ignore (what a commit would hold)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return [REPO / name for name in listed if name.endswith(suffix) and (REPO / name).is_file()]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_modules() -> dict[str, Path]:
    """Importable modules of the package (the Hub templates and the by-path checker are not modules)."""
    files = [p for p in PACKAGE.rglob("*.py") if "templates" not in p.parts and p.name != "isolated_check.py"]
    return {_module_name(p): p for p in files}


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Package modules that `path` imports anywhere (module level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def test_no_sys_path_insert_anywhere():
    needle = "sys.path." + "insert"  # split, so that this file does not match itself
    offenders = [str(p.relative_to(REPO)) for p in _tree_files() if needle in p.read_text(encoding="utf-8")]
    assert not offenders, f"{needle} in {offenders}: import the installed package (pip install -e .) instead"


def test_no_import_cycle_among_package_modules():
    modules = _package_modules()
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, f"import cycles: {cycles}"
    # the known circle of the old layout stays broken: the card does not import the builder
    assert "modeling_ctam.hub.prepare" not in graph["modeling_ctam.hub.card"]


def test_concept_folders_import_downwards_only():
    # training runs the transfer recipe and reads data; the recipe never reaches back into training, and the data
    # readers reach into neither (a back arrow would tie the lower folder to the one above it)
    modules = _package_modules()
    below = {"modeling_ctam.transfer": "modeling_ctam.training", "modeling_ctam.data": "modeling_ctam.training"}
    below["modeling_ctam.data."] = "modeling_ctam.transfer"
    arrows = []
    for name, path in modules.items():
        for lower, upper in below.items():
            if name == lower.rstrip(".") or name.startswith(lower.rstrip(".") + "."):
                arrows += [f"{name} -> {m}" for m in _imports(path, name, modules) if m.startswith(upper)]
    assert not arrows, f"imports against the layering: {arrows}"


def test_every_relative_import_resolves():
    modules = _package_modules()
    broken = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
                if base not in modules:  # `from .x import y` and `from . import y` both need the module `base`
                    broken.append(f"{name}: {base}")
    assert not broken, f"relative imports of missing modules: {broken}"


def test_hub_tools_and_bench_import_the_installed_package():
    for path in [REPO / "hub" / "push.py", *sorted((REPO / "bench").glob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local = [
            n.module
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.module.split(".")[0] == "hub"
        ]
        assert not local, f"{path.name} imports the checkout's hub folder {local}; use modeling_ctam.hub"
    templates = PACKAGE / "hub" / "templates"
    assert {p.name for p in templates.iterdir()} >= {"pipeline_ctam.py", "handler.py", "model_card_template.md"}
    assert not (templates / "__init__.py").exists() and not (REPO / "hub" / "__init__.py").exists()


MODEL_FILES = {
    "configuration_ctam.py",  # CTAMConfig
    "modeling_ctam.py",  # CTAMModel, CTAMForSequenceClassification
    "outputs_ctam.py",  # the ModelOutput dataclasses
    "loss_ctam.py",  # the training forward and eq. 12-13
    "vxlm.py",  # eqs. 1-3
    "dual_path.py",  # eqs. 4-10
    "domain.py",  # eq. 11
    "ngram_head.py",  # the n-gram view (beyond the paper)
}
"""The package root's modules: exactly the files `save_pretrained` copies next to the weights (remote code)."""

OLD_PATHS = {  # the modules that moved to a concept folder; their old paths import, with a warning, until 0.3.0
    "modeling_ctam.align",
    "modeling_ctam.lexicon",
    "modeling_ctam.metrics",
    "modeling_ctam.figures",
    "modeling_ctam.trainer",
    "modeling_ctam.peft_utils",
    "modeling_ctam.paths",
}
OLD_COMMANDS = {  # python -m OLD -> the command that replaces it
    "modeling_ctam.align": "modeling_ctam.alignment",
    "modeling_ctam.lexicon": "modeling_ctam.alignment.lexicon",
}


def test_the_package_root_holds_only_the_model():
    root = {p.name for p in PACKAGE.iterdir() if p.suffix == ".py"}
    assert root == MODEL_FILES | {"__init__.py"}, (
        f"modeling_ctam/ holds {sorted(root - MODEL_FILES - {'__init__.py'})} beside the model files; the root is "
        "for the files save_pretrained copies: put the others in their concept folder"
    )


def test_the_model_files_import_only_each_other():
    # save_pretrained copies them flat: an absolute import of the package, or of a subfolder, breaks remote code
    for name in sorted(MODEL_FILES):
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and f"{node.module}.py" in MODEL_FILES, f"{name}: from {node.module} import"
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not [n for n in names if n.split(".")[0] == "modeling_ctam"], f"{name} imports the package: {names}"


def test_save_pretrained_copies_exactly_the_model_files(tmp_path):
    from modeling_ctam import CTAMConfig, CTAMForSequenceClassification

    model = CTAMForSequenceClassification(CTAMConfig(encoder_config=dict(TINY_ENCODER), num_labels=2))
    model.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.glob("*.py")} == MODEL_FILES
    for name in MODEL_FILES:  # copied as they are
        assert (tmp_path / name).read_bytes() == (PACKAGE / name).read_bytes(), name


def test_the_package_table_of_moved_modules_is_this_one():
    from modeling_ctam.utils import deprecation

    assert set(deprecation.MOVED_MODULES) == OLD_PATHS and deprecation.MOVED_COMMANDS == OLD_COMMANDS
    assert deprecation.REMOVED_IN == "0.3.0"
    for old, new in deprecation.MOVED_MODULES.items():
        assert not (PACKAGE / f"{old.rpartition('.')[2]}.py").exists(), f"{old}: a shim file in the package root"
        assert (PACKAGE / new.split(".")[1]).is_dir(), f"{old} moved to {new}, which is not in a concept folder"


def test_nothing_in_the_tree_uses_the_old_paths():
    # The old paths keep users' imports and commands working; the project itself uses the concept folders.
    import re

    allowed = {"modeling_ctam/utils/deprecation.py", "modeling_ctam/utils/__init__.py", "modeling_ctam/__init__.py"}
    allowed |= {"tests/test_layout.py", "README.md"}  # this test; the README's note on the old paths
    pattern = re.compile("|".join(rf"\b{re.escape(old)}(?![\w.])" for old in OLD_PATHS))
    offenders = []
    for path in _tree_files(".py") + _tree_files(".md") + _tree_files(".yaml") + _tree_files(".sh"):
        if str(path.relative_to(REPO)) not in allowed:
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not offenders, f"old import paths (use {sorted(set(MOVED_MODULES.values()))}): {offenders}"


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_old_import_paths_still_work_with_a_warning_naming_the_new_place(old):
    new = MOVED_MODULES[old]
    code = (
        f"import importlib, warnings; warnings.simplefilter('always')\n"
        f"with warnings.catch_warnings(record=True) as caught:\n    import {old} as old\n"
        f"new = importlib.import_module({new!r})\n"
        f"assert [n for n in dir(new) if not n.startswith('_')], 'nothing to reach'\n"
        f"assert all(getattr(old, n) is getattr(new, n) for n in dir(new) if not n.startswith('_'))\n"
        f"print(' | '.join(str(w.message) for w in caught if w.category is DeprecationWarning))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"{old} moved to {new}" in out.stdout and "removed in 0.3.0" in out.stdout, out.stdout


@pytest.mark.parametrize("old", sorted(OLD_COMMANDS))
def test_old_commands_still_run_with_a_warning_naming_the_new_one(old):
    proc = subprocess.run([sys.executable, "-m", old, "--help"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"use python -m {OLD_COMMANDS[old]} (the old name is removed in 0.3.0)" in proc.stderr
    assert proc.stdout.startswith(f"usage: python -m {OLD_COMMANDS[old]}"), proc.stdout[:200]


@pytest.mark.parametrize("script", ["train.py", "eval.py"])
def test_the_scripts_are_shells_over_the_package(script):
    # the command lines live in the package (modeling_ctam.training, modeling_ctam.evaluation.cli), tested in process
    text = (REPO / script).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "json", "logging", "os", "sys", "modeling_ctam"}, imported
    assert "argparse" not in text and len(text.splitlines()) < 70


def test_loggers_are_named_after_their_module_and_only_entry_points_configure_logging():
    # a library module logs to `logging.getLogger(__name__)` (the flat model files: transformers' get_logger);
    # where the records go is the command line's choice: basicConfig only in a `main` or in training's setup_logging
    problems = []
    for path in _tree_files():
        if path.parent == REPO / "tests":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        configuring = {id(c) for f in functions if f.name in ("main", "setup_logging") for c in ast.walk(f)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if node.func.attr in ("getLogger", "get_logger"):
                if not (len(node.args) == 1 and isinstance(node.args[0], ast.Name) and node.args[0].id == "__name__"):
                    problems.append(f"{where}: a logger not named __name__")
            elif node.func.attr == "basicConfig" and id(node) not in configuring:
                problems.append(f"{where}: logging configured outside an entry point")
    assert not problems, problems


def test_no_private_name_is_imported_from_another_module():
    # a name another module needs is public (its docstring says what it promises); _names stay in their module
    offenders = []
    for path in _tree_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("modeling_ctam")):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                offenders += [f"{path.relative_to(REPO)}:{node.lineno}: {name}" for name in private]
    assert not offenders, offenders


def test_no_module_over_700_lines():
    long = {
        str(p.relative_to(REPO)): n
        for p in _tree_files()
        if p.parent != REPO / "tests" and (n := len(p.read_text(encoding="utf-8").splitlines())) > 700
    }
    assert not long, f"modules over 700 lines: {long}"


def test_every_docs_reference_exists():
    import re

    # docs and configs, and the repository's own code files (e.g. `modeling_ctam/data/burmese.py`, `hub/push.py`)
    pattern = re.compile(
        r"(?<![\w./-])((?:docs|configs)/[\w./-]+\.(?:md|yaml)"
        r"|(?:modeling_ctam|hub|bench|tests|scripts)/[\w./-]+\.(?:py|sh))"
    )
    missing = set()
    for path in _tree_files(".py") + _tree_files(".md") + _tree_files(".yaml"):
        for ref in pattern.findall(path.read_text(encoding="utf-8")):
            if not (REPO / ref).is_file():
                missing.add(f"{path.relative_to(REPO)} -> {ref}")
    assert not missing, sorted(missing)


def test_imports_shown_in_the_docs_work_without_deprecation():
    import re

    pattern = re.compile(r"^\s*from modeling_ctam[\w.]* import [\w, ]+$", re.M)
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    lines = sorted({m.strip() for path in docs for m in pattern.findall(path.read_text(encoding="utf-8"))})
    assert lines
    # the package's own deprecations fail (the shims' messages name modeling_ctam); third-party ones do not
    code = "import warnings\nwarnings.filterwarnings('error', '.*modeling_ctam', DeprecationWarning)\n" + "\n".join(
        lines
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_mapping_of_another_layer_is_refused(tmp_path):
    from safetensors.torch import save_file

    from modeling_ctam import CTAMConfig, CTAMModel
    from modeling_ctam.alignment.mapping import load_mapping
    from modeling_ctam.vxlm import MAPPING_FILE

    d = TINY_ENCODER["hidden_size"]
    tensors = {"weight": torch.eye(d), "target_mean": torch.zeros(d), "source_mean": torch.zeros(d)}
    save_file(tensors, str(tmp_path / MAPPING_FILE), metadata={"layer": "3", "encoder": "tiny"})
    model = CTAMModel(CTAMConfig(encoder_config=dict(TINY_ENCODER), static_layer=2))
    with pytest.raises(ValueError, match=r"layer 3.*static_layer is 2"):
        model.load_alignment(tmp_path)
    with pytest.raises(ValueError, match=r"layer 3.*static_layer is 2"):
        load_mapping(tmp_path, expected_layer=2)
    model = CTAMModel(CTAMConfig(encoder_config=dict(TINY_ENCODER), static_layer=3))
    model.load_alignment(tmp_path / MAPPING_FILE)  # the matching layer loads
    assert torch.equal(model.mapping.weight.detach(), torch.eye(d))


def test_alignment_default_layer_is_ctam_configs():
    from transformers import AutoConfig

    from modeling_ctam import CTAMConfig
    from modeling_ctam.alignment.mapping import default_static_layer

    encoder_config = AutoConfig.for_model(**TINY_ENCODER)
    assert default_static_layer(encoder_config) == CTAMConfig(encoder_config=dict(TINY_ENCODER)).static_layer == 3
