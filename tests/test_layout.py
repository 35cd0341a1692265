"""Tests of the project's layout: no `sys.path` edits, no import cycle, no oversized module, the one mapping loader's
layer check, and the one default static layer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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


DEPRECATED_SHIMS = {  # old import path -> where the code lives now
    "modeling_ctam.lexicon": "modeling_ctam.alignment.lexicon",
    "modeling_ctam.metrics": "modeling_ctam.evaluation",
    "modeling_ctam.figures": "modeling_ctam.evaluation",
}


def test_nothing_in_the_tree_imports_the_deprecated_shims():
    # The shims keep old imports and `python -m modeling_ctam.lexicon` working for users; the project itself uses the
    # concept folders. (`modeling_ctam.align` is not a shim: it is the documented alignment command line.)
    offenders = []
    for path in _tree_files():
        if _module_name(path) in DEPRECATED_SHIMS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n in DEPRECATED_SHIMS]
    assert not offenders, f"imports of deprecated shims (use {sorted(set(DEPRECATED_SHIMS.values()))}): {offenders}"


@pytest.mark.parametrize("old", sorted(DEPRECATED_SHIMS))
def test_deprecated_shims_still_import_with_a_warning_naming_the_new_place(old):
    code = (
        f"import warnings; warnings.simplefilter('always')\n"
        f"with warnings.catch_warnings(record=True) as caught:\n    import {old}\n"
        f"print(' | '.join(str(w.message) for w in caught if w.category is DeprecationWarning))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert DEPRECATED_SHIMS[old] in out, out


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
