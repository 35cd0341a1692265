# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Figures and tables of the CTAM paper, rebuilt from ``metrics.json`` files and alignment results.

- :func:`plot_confusion_matrix`: the confusion matrix of one evaluation (paper figure 2).
- :func:`plot_per_class_f1`: per-class F1 bars, one bar per method (paper figure 3); with several seeds per method the
  bar is the mean and the error bar the sample standard deviation.
- :func:`ablation_table` / :func:`ablation_markdown`: macro-F1 (and the other metrics) per method over seeds, mean
  and spread (paper tables 1-2).
- :func:`cosine_distance_table` / :func:`cosine_markdown`: ``1 - cos`` between English-Burmese word pairs, before
  and after the eq. 2 mapping (paper table 3).

Every function takes plain Python / NumPy data; the loaders (:func:`group_metrics`, :func:`load_mapping`,
:func:`load_word_vectors`, :func:`default_word_pairs`) read what ``eval.py``, ``train.py`` and
``python -m modeling_ctam.align`` write. ``eval.py`` exposes all of it on the command line (see docs/evaluation.md).
Matplotlib runs with the non-interactive ``Agg`` backend, so no display is needed.
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .metrics import read_metrics

logger = logging.getLogger(__name__)

__all__ = [
    "ABLATION_METRICS",
    "DEFAULT_SENTIMENT_WORDS",
    "plot_confusion_matrix",
    "plot_per_class_f1",
    "group_metrics",
    "ablation_table",
    "ablation_markdown",
    "load_mapping",
    "load_word_vectors",
    "default_word_pairs",
    "read_word_pairs",
    "cosine_distance_table",
    "cosine_markdown",
]

ABLATION_METRICS = ("macro_f1", "weighted_f1", "accuracy", "macro_precision", "macro_recall")
"""Averaged metrics summarised by :func:`ablation_table` (per-class F1 is added for every class)."""

DEFAULT_SENTIMENT_WORDS = (
    "good", "bad", "happy", "sad", "angry", "great", "smile", "cry", "love", "hate", "like", "nice", "beautiful",
    "ugly", "cheap", "expensive", "delicious", "excellent", "terrible", "wonderful", "poor", "clean", "dirty",
    "broken", "fast", "slow", "comfortable", "satisfied", "disappointed", "useful", "easy", "difficult", "new",
    "old", "hungry", "big", "small",
)
"""English sentiment words looked up in the myPar lexicon by :func:`default_word_pairs` (those it holds are used).
"sweet" and "well" are left out on purpose: myPar translates them in their noun senses (candy, a water well)."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike, dpi: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".").lower() or "png")
    _pyplot().close(fig)
    return path


# --------------------------------------------------------------------------------------------------------------------
# figure 2: confusion matrix
# --------------------------------------------------------------------------------------------------------------------


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]],
    label_names: Sequence[str],
    path: str | os.PathLike,
    title: str | None = None,
    dpi: int = 150,
) -> Path:
    """Draws a confusion matrix (paper figure 2) and saves it (PNG by default, from the suffix of ``path``).

    Cells show the count and the share of the true class (row-normalised); the colour is the row share, so a
    minority class's errors are as visible as the majority class's.

    Args:
        matrix (`Sequence[Sequence[int]]`): counts, rows = true class, columns = predicted class.
        label_names (`Sequence[str]`): class names in row / column order.
        path (`str` or `os.PathLike`): output file.
        title (`str`, *optional*): figure title.
        dpi (`int`, *optional*, defaults to 150): resolution.

    Returns:
        `Path`: the file written.
    """
    m = np.asarray(matrix, dtype=float)
    k = len(label_names)
    if m.shape != (k, k):
        raise ValueError(f"confusion matrix has shape {m.shape} but there are {k} label names {list(label_names)}.")
    row_sums = m.sum(axis=1, keepdims=True)
    share = np.divide(m, row_sums, out=np.zeros_like(m), where=row_sums > 0)
    plt = _pyplot()
    size = 1.2 + 1.1 * k
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(k), labels=list(label_names))
    ax.set_yticks(range(k), labels=list(label_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(m[i, j])}\n{share[i, j]:.0%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black", fontsize=10)
    ax.set_title(title or "Confusion matrix")
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------------------------------------------------
# grouping metrics.json files by method
# --------------------------------------------------------------------------------------------------------------------


def _method_of(record: Mapping[str, Any]) -> str:
    method = record.get("method")
    if method:
        return str(method)
    path = record.get("_path")
    if path:  # runs/<method>/seed-1/metrics.json -> the folder above the seed folder, else the folder
        parent = Path(path).parent
        return parent.parent.name if parent.name.lower().startswith("seed") else parent.name
    return str(record.get("model", "model"))


def group_metrics(
    records_or_paths: Iterable[Mapping[str, Any] | str | os.PathLike],
    method_order: Sequence[str] | None = None,
) -> "OrderedDict[str, list[dict]]":
    """Groups ``metrics.json`` records by method.

    The method of a record is its ``method`` field (``eval.py --method-name``); without one, the name of its folder
    (or of the folder above a ``seed*`` folder).

    Args:
        records_or_paths: records (dicts) or paths of ``metrics.json`` files / folders holding one. A string
            ``"NAME=PATH"`` forces the method name of that file.
        method_order (`Sequence[str]`, *optional*): methods in this order first, the others after in order of
            appearance. A name in ``method_order`` that no record has raises a `ValueError`.

    Returns:
        `OrderedDict[str, list[dict]]`: method -> its records.
    """
    groups: "OrderedDict[str, list[dict]]" = OrderedDict()
    for item in records_or_paths:
        forced = None
        if isinstance(item, (str, os.PathLike)):
            text = os.fspath(item)
            if "=" in text and not Path(text).exists():
                forced, text = text.split("=", 1)
            record = read_metrics(text)
        else:
            record = dict(item)
        method = forced or _method_of(record)
        groups.setdefault(method, []).append(record)
    if method_order:
        unknown = [m for m in method_order if m not in groups]
        if unknown:
            raise ValueError(f"method_order names {unknown}, but the metrics files hold only {list(groups)}.")
        ordered = OrderedDict((m, groups[m]) for m in method_order)
        ordered.update((m, r) for m, r in groups.items() if m not in ordered)
        groups = ordered
    return groups


def _check_comparable(groups: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """All records must score the same classes on the same data; returns the label names."""
    names = None
    seen_data: dict[tuple, str] = {}
    for method, records in groups.items():
        if not records:
            raise ValueError(f"method {method!r} has no metrics records.")
        for record in records:
            where = record.get("_path", method)
            if names is None:
                names = list(record["label_names"])
            elif list(record["label_names"]) != names:
                raise ValueError(
                    f"{where}: classes {record['label_names']} differ from {names}; put binary and three-class runs "
                    "in separate tables."
                )
            data = record.get("data_sha256") or record.get("data_name") or Path(str(record.get("data"))).name
            key = (data, record.get("split"), record.get("label_scheme"), record.get("n_examples"))
            seen_data.setdefault(key, str(where))
    if len(seen_data) > 1:
        listing = "; ".join(f"data={k[0]!r} split={k[1]!r} labels={k[2]!r} n={k[3]} (e.g. {v})"
                            for k, v in seen_data.items())
        raise ValueError(
            "The metrics files were computed on different evaluation data, so their numbers are not comparable: "
            f"{listing}. Evaluate every run on the same file."
        )
    return names or []


# --------------------------------------------------------------------------------------------------------------------
# figure 3: per-class F1 bars
# --------------------------------------------------------------------------------------------------------------------


def plot_per_class_f1(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | os.PathLike,
    title: str | None = None,
    include_macro: bool = True,
    dpi: int = 150,
) -> Path:
    """Per-class F1 bars across methods (paper figure 3).

    Args:
        groups (`Mapping[str, Sequence[Mapping]]`): method -> ``metrics.json`` records (one per seed); see
            :func:`group_metrics`. All records must score the same classes on the same data.
        path (`str` or `os.PathLike`): output file (PNG by default).
        title (`str`, *optional*): figure title.
        include_macro (`bool`, *optional*, defaults to `True`): add a "macro" group of bars.
        dpi (`int`, *optional*, defaults to 150): resolution.

    Returns:
        `Path`: the file written. Bars are means over a method's records; error bars (sample standard deviation)
        are drawn when a method has more than one record.
    """
    names = _check_comparable(groups)
    categories = names + (["macro"] if include_macro else [])
    methods = list(groups)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.4 * len(categories) * max(1, len(methods)) * 0.5 + 2), 4.0))
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(categories))
    for k, method in enumerate(methods):
        values = np.array([
            [r["per_class"][n]["f1"] for n in names] + ([r["macro_f1"]] if include_macro else [])
            for r in groups[method]
        ])  # (runs, categories)
        mean = values.mean(axis=0)
        err = None
        if values.shape[0] > 1:  # sample std, drawn inside the [0, 1] range F1 lives in
            std = values.std(axis=0, ddof=1)
            err = np.vstack([np.minimum(std, mean), np.minimum(std, 1.0 - mean)])
        label = f"{method} (n={values.shape[0]})" if values.shape[0] > 1 else method
        bars = ax.bar(x - 0.4 + width * (k + 0.5), mean, width, yerr=err, capsize=3, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    ax.set_xticks(x, labels=categories)
    ax.set_ylim(0.0, 1.1)
    ax.set_ylabel("F1")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(4, len(methods)), fontsize=8, frameon=False)
    ax.set_title(title or "F1 per class")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path, dpi)


# --------------------------------------------------------------------------------------------------------------------
# tables 1-2: ablations over seeds
# --------------------------------------------------------------------------------------------------------------------


def _summary(values: Sequence[float]) -> dict[str, Any]:
    v = np.asarray(values, dtype=float)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if v.size > 1 else None,
        "min": float(v.min()),
        "max": float(v.max()),
        "values": [float(x) for x in v],
    }


def ablation_table(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    metrics: Sequence[str] = ABLATION_METRICS,
    baseline: str | None = None,
) -> dict[str, Any]:
    """Mean and spread of each metric per method, over its runs (seeds): paper tables 1-2.

    Args:
        groups (`Mapping[str, Sequence[Mapping]]`): method -> ``metrics.json`` records (see :func:`group_metrics`).
            All records must score the same classes on the same data.
        metrics (`Sequence[str]`, *optional*): averaged metrics to summarise; per-class F1 (``f1_<class>``) is added
            for every class.
        baseline (`str`, *optional*): a method name; each other method gets ``delta_macro_f1`` (difference of mean
            macro-F1) and ``beats_baseline_by_more_than_spread`` (the difference exceeds the larger of the two
            methods' standard deviations, and the two min-max ranges do not overlap).

    Returns:
        `dict`: ``{"label_names", "data", "split", "n_examples", "metrics", "methods": {method: {"n_runs", "seeds",
        "runs", <metric>: {"mean", "std", "min", "max", "values"}, ...}}, "baseline"}``. ``std`` is the sample standard
        deviation (``ddof=1``), `None` with a single run.
    """
    names = _check_comparable(groups)
    first = next(iter(groups.values()))[0]
    columns = list(metrics) + [f"f1_{n}" for n in names]
    table: dict[str, Any] = {
        "label_names": names,
        "data": first.get("data"),
        "split": first.get("split"),
        "n_examples": first.get("n_examples"),
        "metrics": columns,
        "methods": {},
        "baseline": baseline,
    }
    for method, records in groups.items():
        row: dict[str, Any] = {
            "n_runs": len(records),
            "seeds": [r.get("seed") for r in records],
            "runs": [r.get("model") or r.get("_path") for r in records],
        }
        for column in columns:
            if column.startswith("f1_") and column[3:] in names:
                values = [r["per_class"][column[3:]]["f1"] for r in records]
            else:
                missing = [r.get("_path", method) for r in records if column not in r]
                if missing:
                    raise ValueError(f"metric {column!r} is missing from {missing}.")
                values = [r[column] for r in records]
            row[column] = _summary(values)
        table["methods"][method] = row
    if baseline is not None:
        if baseline not in table["methods"]:
            raise ValueError(f"baseline {baseline!r} is not among the methods {list(table['methods'])}.")
        base = table["methods"][baseline]["macro_f1"]
        for method, row in table["methods"].items():
            if method == baseline:
                continue
            mine = row["macro_f1"]
            delta = mine["mean"] - base["mean"]
            spread = max(s for s in (mine["std"], base["std"], 0.0) if s is not None)
            row["delta_macro_f1"] = delta
            row["beats_baseline_by_more_than_spread"] = bool(delta > spread and mine["min"] > base["max"])
    return table


def _pm(summary: Mapping[str, Any]) -> str:
    if summary["std"] is None:
        return f"{summary['mean']:.4f}"
    return f"{summary['mean']:.4f} ± {summary['std']:.4f}"


def ablation_markdown(table: Mapping[str, Any], title: str | None = None) -> str:
    """Renders :func:`ablation_table` as Markdown: one row per method, ``mean ± std`` per metric, the seeds' range."""
    columns = list(table["metrics"])
    header = ["method", "runs"] + columns + ["macro_f1 min-max"]
    has_delta = table.get("baseline") is not None
    if has_delta:
        header += [f"Δ macro_f1 vs {table['baseline']}", "beats by > spread"]
    lines = []
    if title:
        lines += [f"## {title}", ""]
    lines += [
        f"Evaluation data: {table.get('data')}"
        + (f" (split {table['split']})" if table.get("split") else "")
        + f", n = {table.get('n_examples')}; cells are mean ± sample standard deviation over runs (seeds).",
        "",
        "| " + " | ".join(header) + " |",
        "|---|---:|" + "---:|" * (len(header) - 2),
    ]
    for method, row in table["methods"].items():
        cells = [method, str(row["n_runs"])] + [_pm(row[c]) for c in columns]
        cells.append(f"{row['macro_f1']['min']:.4f}-{row['macro_f1']['max']:.4f}")
        if has_delta:
            if method == table["baseline"]:
                cells += ["-", "-"]
            else:
                cells += [f"{row['delta_macro_f1']:+.4f}", "yes" if row["beats_baseline_by_more_than_spread"] else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------------
# table 3: cosine distance between aligned word pairs
# --------------------------------------------------------------------------------------------------------------------


def load_mapping(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The eq. 2 mapping ``W``, ``mu_tgt``, ``mu_src`` from a trained model folder or an alignment result.

    Args:
        path (`str` or `os.PathLike`): one of

            - a model folder written by ``save_pretrained`` (``model.safetensors`` or a sharded index; the tensors
              ``*mapping.weight``, ``*mapping.target_mean``, ``*mapping.source_mean``: the trained, "dynamic" map);
            - an alignment folder or file written by ``python -m modeling_ctam.align`` (``mapping.safetensors`` with
              ``weight``, ``target_mean``, ``source_mean``: the Procrustes solution).

    Returns:
        `dict`: ``weight`` `(d, d)` acting on column vectors, ``target_mean`` `(d,)`, ``source_mean`` `(d,)`, float64,
        and ``source`` (`str`, which file they came from).

    Raises:
        FileNotFoundError / ValueError: nothing that holds a mapping (e.g. an ``xlmr-base`` model, which has none).
    """
    from safetensors import safe_open

    path = Path(path)
    if path.is_dir():
        candidates = [path / "mapping.safetensors", path / "model.safetensors"]
        index = path / "model.safetensors.index.json"
        if index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
            candidates += sorted({path / f for k, f in weight_map.items() if "mapping." in k})
        files = [c for c in candidates if c.is_file()]
    else:
        files = [path] if path.is_file() else []
    if not files:
        raise FileNotFoundError(
            f"{path}: no mapping.safetensors or model.safetensors; give a CTAM model folder or an alignment folder "
            "written by `python -m modeling_ctam.align`."
        )
    found: dict[str, np.ndarray] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():
                for part in ("weight", "target_mean", "source_mean"):
                    if part in found:
                        continue
                    if key == part or key.endswith(f"mapping.{part}"):
                        found[part] = handle.get_tensor(key).double().numpy()
                        found.setdefault("source", str(file))
    if "weight" not in found:
        raise ValueError(
            f"{path} holds no eq. 2 mapping (no 'weight' / '*mapping.weight' tensor): it is not a VXLM/CTAM model "
            "(an xlmr-base ablation has no mapping) nor an alignment result."
        )
    d = found["weight"].shape[0]
    if found["weight"].shape != (d, d):
        raise ValueError(f"{found['source']}: mapping weight has shape {found['weight'].shape}, expected square.")
    for part in ("target_mean", "source_mean"):
        if part not in found:
            found[part] = np.zeros(d)
    return found


def load_word_vectors(path: str | os.PathLike, words: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Reads static word vectors: a word2vec text file (``V d`` header, then ``word v1 ... vd``; what
    ``python -m modeling_ctam.align --save-vectors`` writes) or a :class:`modeling_ctam.static_vectors.StaticVectors`
    file pair (``PATH.json`` + ``PATH.safetensors``, first layer).

    Args:
        path (`str` or `os.PathLike`): the file (or the common stem of the pair).
        words (`Iterable[str]`, *optional*): only keep these words (the file is streamed, so a large vocabulary
            costs no memory). In word2vec files spaces inside words are written as ``_``; both forms match.

    Returns:
        `dict[str, np.ndarray]`: word -> vector (float64); the first occurrence of a repeated word wins.
    """
    path = Path(path)
    wanted = None if words is None else set(words) | {w.replace(" ", "_") for w in words}
    stem_json = Path(str(path) + ".json")
    if not path.is_file() and stem_json.is_file():
        from safetensors.torch import load_file

        info = json.loads(stem_json.read_text(encoding="utf-8"))
        matrix = load_file(str(path) + ".safetensors")["vectors"][0].double().numpy()
        return {w: matrix[i] for i, w in enumerate(info["words"]) if wanted is None or w in wanted}
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no word-vector file (word2vec text, or PATH.json + PATH.safetensors).")
    out: dict[str, np.ndarray] = {}
    with path.open("r", encoding="utf-8") as handle:
        first = handle.readline().split()
        dim = None
        if len(first) == 2 and all(p.isdigit() for p in first):
            dim = int(first[1])
        else:  # no header: the first line is a vector
            handle.seek(0)
        for number, line in enumerate(handle, 2 if dim is not None else 1):
            word, _, rest = line.rstrip("\n").partition(" ")
            if not word or (wanted is not None and word not in wanted) or word in out:
                continue
            vector = np.array(rest.split(), dtype=float)
            if dim is None:
                dim = vector.size
            if vector.size != dim:
                raise ValueError(f"{path}:{number}: {vector.size} values for {word!r}, expected {dim}.")
            out[word] = vector
            out.setdefault(word.replace("_", " "), vector)
    return out


def read_word_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """English-Burmese word pairs from a file: ``English | Burmese`` lines (myPar style) or a TSV
    (``english<TAB>burmese``, an optional header starting with ``english``). Blank lines and ``#`` comments are
    skipped."""
    path = Path(path)
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("|") if "|" in line else line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"{path}:{number}: expected 'English | Burmese' or 'english<TAB>burmese', got {line!r}.")
        english, burmese = parts[0].strip(), parts[1].strip()
        if number == 1 and english.lower() == "english":
            continue
        pairs.append((english, burmese))
    if not pairs:
        raise ValueError(f"{path} holds no word pairs.")
    return pairs


def default_word_pairs(
    data_dir: str | os.PathLike | None = None,
    words: Sequence[str] = DEFAULT_SENTIMENT_WORDS,
    limit: int | None = 12,
) -> list[tuple[str, str]]:
    """A handful of sentiment word pairs from the myPar lexicon (``lexicon/English-Myanmar-one-to-one.ver0.9.txt``).

    The single-word pairs are read with :func:`modeling_ctam.lexicon.read_mypar` (the same normalisation as the
    alignment's dictionaries); the first Burmese translation of each word of ``words`` that the lexicon holds is
    kept, in the order of ``words``.

    Args:
        data_dir (`str` or `os.PathLike`, *optional*): the shared data folder (default
            :func:`modeling_ctam.paths.data_dir`, i.e. ``CTAM_DATA_DIR``).
        words (`Sequence[str]`, *optional*): English words to look up (default :data:`DEFAULT_SENTIMENT_WORDS`).
        limit (`int`, *optional*, defaults to 12): at most this many pairs (`None` for all found).
    """
    from .lexicon import MYPAR_FILE, read_mypar
    from .paths import data_dir as default_data_dir

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    path = root.joinpath(*MYPAR_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; point CTAM_DATA_DIR (or --data-dir) at the shared data folder.")
    first: dict[str, str] = {}
    for entry in read_mypar(path, duplicates="ignore"):
        first.setdefault(entry.english, entry.burmese)
    pairs = [(w, first[w]) for w in words if w in first]
    if not pairs:
        raise ValueError(f"{path} holds none of the words {list(words)[:8]} ...")
    return pairs[:limit] if limit else pairs


def _cos_distance(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(1.0 - np.dot(a, b) / (na * nb))


def cosine_distance_table(
    pairs: Sequence[tuple[str, str]],
    source_vectors: Mapping[str, np.ndarray],
    target_vectors: Mapping[str, np.ndarray],
    mapping: Mapping[str, np.ndarray],
) -> dict[str, Any]:
    """``1 - cos`` between English-Burmese word pairs before and after the eq. 2 mapping (paper table 3).

    *Before* compares the raw static vectors, ``1 - cos(x_my, y_en)`` (the identity mapping). *After* maps the
    Burmese vector as the model does, ``W (x_my - mu_tgt) + mu_src``, and compares it with the English one. Lower is
    better aligned.

    Args:
        pairs (`Sequence[tuple[str, str]]`): ``(english, burmese)`` word pairs.
        source_vectors (`Mapping[str, np.ndarray]`): English static vectors (``y``).
        target_vectors (`Mapping[str, np.ndarray]`): Burmese static vectors (``x``).
        mapping (`Mapping[str, np.ndarray]`): ``weight`` `(d, d)`, ``target_mean``, ``source_mean`` (see
            :func:`load_mapping`).

    Returns:
        `dict`: ``rows`` (one per pair: ``english``, ``burmese``, ``before``, ``after``, ``found``), ``mean_before``,
        ``mean_after`` (over pairs found on both sides), ``n_pairs``, ``n_found``, ``missing`` (pairs with a word
        absent from the vectors).
    """
    weight = np.asarray(mapping["weight"], dtype=float)
    d = weight.shape[0]
    mu_t = np.asarray(mapping.get("target_mean", np.zeros(d)), dtype=float)
    mu_s = np.asarray(mapping.get("source_mean", np.zeros(d)), dtype=float)
    rows, missing = [], []
    for english, burmese in pairs:
        y = source_vectors.get(english)
        x = target_vectors.get(burmese)
        if y is None or x is None:
            missing.append({"english": english, "burmese": burmese,
                            "absent": [s for s, v in (("english", y), ("burmese", x)) if v is None]})
            rows.append({"english": english, "burmese": burmese, "before": None, "after": None, "found": False})
            continue
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != (d,) or y.shape != (d,):
            raise ValueError(f"vectors of {english!r}/{burmese!r} have shapes {x.shape}/{y.shape}, the mapping needs ({d},).")
        mapped = weight @ (x - mu_t) + mu_s  # eq. 2
        rows.append({"english": english, "burmese": burmese, "before": _cos_distance(x, y),
                     "after": _cos_distance(mapped, y), "found": True})
    found = [r for r in rows if r["found"]]
    mean = lambda key: float(np.mean([r[key] for r in found])) if found else None  # noqa: E731
    if missing:
        logger.warning("%d of %d word pairs are missing from the vectors (e.g. %s).", len(missing), len(pairs), missing[0])
    return {"rows": rows, "mean_before": mean("before"), "mean_after": mean("after"), "n_pairs": len(pairs),
            "n_found": len(found), "missing": missing}


def cosine_markdown(table: Mapping[str, Any], title: str | None = None) -> str:
    """Renders :func:`cosine_distance_table` as Markdown."""
    lines = [f"## {title}", ""] if title else []
    lines += [
        "Cosine distance `1 - cos` between English and Burmese static word vectors; *after* applies the eq. 2 mapping "
        "`W (x - mu_tgt) + mu_src` to the Burmese vector. Lower is closer.",
        "",
        "| English | Burmese | before | after |",
        "|---|---|---:|---:|",
    ]
    for row in table["rows"]:
        if row["found"]:
            lines.append(f"| {row['english']} | {row['burmese']} | {row['before']:.4f} | {row['after']:.4f} |")
        else:
            lines.append(f"| {row['english']} | {row['burmese']} | missing | missing |")
    if table["n_found"]:
        lines.append(f"| **mean** ({table['n_found']} pairs) | | **{table['mean_before']:.4f}** | **{table['mean_after']:.4f}** |")
    return "\n".join(lines) + "\n"
