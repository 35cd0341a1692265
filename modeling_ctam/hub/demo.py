# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""What the CTAM Space shows, without the user interface: load a model, classify one review (with the Zawgyi
detection and the eq. 3 gate per word), classify an uploaded CSV, and the HTML the page shows for each.

``hub/space/app.py`` (the Gradio app) is a thin layer over :class:`DemoModel`; everything here runs and is tested
without Gradio. Texts go through the package's one Burmese preprocessing
(:func:`modeling_ctam.data.burmese.preprocess`) and tokenisation (:func:`modeling_ctam.data.tokenize_for_eval`), CSV
files through eval.py's reader (:func:`modeling_ctam.data.load_examples`, with its label names and its bad-row
handling), so the page gives what ``pipeline("text-classification", ...)`` and eval.py give.

The gate view (eq. 3, ``g = sigmoid(W_g [h_xlm; h_vec] + b_g)``, ``h = g h_xlm + (1 - g) h_vec``): the gate module's
output is read with a forward hook during the ordinary forward pass, so the probabilities shown are those of the
same pass. Each word of the Burmese segmenter (:func:`~modeling_ctam.data.burmese.word_spans`) gets ``1 - mean(g)``
over the dimensions of the tokens that overlap it: the share of the aligned static vector ``h_vec`` against the
contextual state ``h_xlm``.
"""

from __future__ import annotations

import csv
import html
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 128  # the pipeline's default when config.json has no ctam_inference
BATCH_SIZE = 32
MAX_BATCH_ROWS = 5_000  # rows of one uploaded CSV
# What a CSV's label column holds, per label scheme of the model (load_examples' source_labels).
SOURCE_LABELS = {"binary": "binary", "three-class": "three-class", "five-class": "stars"}


class DemoInputError(ValueError):
    """Input the demo cannot classify; the message is shown in the page as it is."""


@dataclass
class Analysis:
    """One review, classified: what the page shows."""

    label: str
    probabilities: dict[str, float]
    encoding: str  # "Unicode" or "Zawgyi"
    zawgyi_probability: float
    converted: bool
    text: str  # the model's input text (preprocessed: Unicode, normalised)
    words: list[tuple[str, float | None]] = field(default_factory=list)  # (word, static share) ; None = not read
    num_tokens: int = 0
    max_length: int = 0
    truncated: bool = False
    has_gate: bool = True


def _train_config(model: str) -> dict[str, Any]:
    """`config` of a local train.py folder's train_config.json ({} for Hub ids and other folders)."""
    path = Path(model) / "train_config.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return record.get("config") or {} if isinstance(record, dict) else {}


class DemoModel:
    """A CTAM model (folder or Hub id, pinned to `revision`) with its tokenizer and inference settings."""

    def __init__(self, model: str, revision: str | None = None, device: str = "cpu"):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from ..data import LABEL_SCHEMES
        from ..data.rows import DEFAULT_MAX_CHARS

        try:
            import modeling_ctam  # noqa: F401  (registers CTAM with the Auto classes)
        except ImportError:  # pragma: no cover
            pass
        self.name, self.revision = str(model), revision
        self.model = (
            AutoModelForSequenceClassification.from_pretrained(
                self.name, revision=revision, trust_remote_code=True, dtype=torch.float32
            )
            .to(device)
            .eval()
        )
        self.tokenizer = AutoTokenizer.from_pretrained(self.name, revision=revision, trust_remote_code=True)
        config = self.model.config
        settings = dict(getattr(config, "ctam_inference", None) or {})  # written by hub/push.py
        trained = _train_config(self.name)  # a train.py folder
        self.max_length = int(settings.get("max_length") or trained.get("max_length") or DEFAULT_MAX_LENGTH)
        self.word_ids = bool(settings.get("word_ids", trained.get("word_ids", False)))
        self.max_chars = DEFAULT_MAX_CHARS  # the readers' limit, so one review and a CSV row are held to the same
        schemes = [s for s, names in LABEL_SCHEMES.items() if len(names) == config.num_labels]
        self.scheme = schemes[0] if schemes else None
        id2label = getattr(config, "id2label", None) or {}
        names = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(config.num_labels)]
        if self.scheme and all(n.upper().startswith("LABEL_") for n in names):
            names = list(LABEL_SCHEMES[self.scheme])
        self.label_names = names
        ctam = getattr(self.model, "ctam", None)
        self.gate_module = getattr(ctam, "gate", None) if ctam is not None else None

    # ------------------------------------------------------------------ one review
    def check_text(self, text: Any) -> str:
        """The text, stripped; :class:`DemoInputError` with a message for the page when it cannot be classified."""
        from ..data import burmese

        if not isinstance(text, str) or not text.strip():
            raise DemoInputError(
                "The text box is empty: type or paste a Burmese review (Unicode or Zawgyi), or "
                "click one of the examples."
            )
        text = text.strip()
        if len(text) > self.max_chars:
            raise DemoInputError(
                f"The text is too long: {len(text):,} characters, and the demo takes at most "
                f"{self.max_chars:,} (the limit eval.py's readers apply to a row). The model reads "
                f"only its first {self.max_length} tokens anyway: paste one review."
            )
        if not burmese.contains_myanmar(text):
            raise DemoInputError(
                "No Burmese characters in this text. This model classifies Burmese reviews "
                "(Unicode or Zawgyi); it was not trained to classify other languages."
            )
        return text

    def _forward(self, texts: list[str]):
        """Logits `(B, C)` and, when the model has a VXLM gate, the gate `(B, T, d or 1)` of the same forward pass."""
        import torch

        from ..data import tokenize_for_eval

        encoded = tokenize_for_eval(
            self.tokenizer, texts, "my", max_length=self.max_length, word_ids=self.word_ids, preprocess=False
        )
        captured = {}
        hook = None
        if self.gate_module is not None:
            hook = self.gate_module.register_forward_hook(lambda m, i, out: captured.__setitem__("gate", out[1]))
        try:
            device = next(self.model.parameters()).device
            with torch.inference_mode():
                logits = self.model(**{k: v.to(device) for k, v in encoded.items()}).logits.float()
        finally:
            if hook is not None:
                hook.remove()
        return encoded, logits, captured.get("gate")

    def analyse(self, text: Any) -> Analysis:
        """Detect and convert Zawgyi, classify, and read the eq. 3 gate per word."""
        import torch

        from ..data import burmese

        raw = self.check_text(text)
        clean = burmese.preprocess(raw)
        converted = clean != burmese.preprocess(raw, convert_zawgyi=False)
        probability = burmese.zawgyi_probability(raw)
        encoded, logits, gate = self._forward([clean])
        probs = torch.softmax(logits[0], dim=-1).tolist()
        full = self.tokenizer(clean, truncation=False, verbose=False)["input_ids"]
        analysis = Analysis(
            label=self.label_names[int(logits[0].argmax())],
            probabilities={name: float(p) for name, p in zip(self.label_names, probs)},
            encoding="Zawgyi" if converted else "Unicode",
            zawgyi_probability=probability,
            converted=converted,
            text=clean,
            num_tokens=len(full),
            max_length=self.max_length,
            truncated=len(full) > self.max_length,
            has_gate=gate is not None,
        )
        if gate is not None:
            analysis.words = self._word_gates(clean, encoded["input_ids"][0], gate[0])
        else:
            analysis.words = [(clean[s:e], None) for s, e in burmese.word_spans(clean)]
        return analysis

    def _word_gates(self, text: str, input_ids, gate) -> list[tuple[str, float | None]]:
        """Per segmenter word, ``1 - mean(g)`` over the tokens overlapping it (`None` when truncation cut it off)."""
        from ..data import burmese

        enc = self.tokenizer(
            text, truncation=True, max_length=self.max_length, return_offsets_mapping=True, return_token_type_ids=False
        )
        if list(enc["input_ids"]) != [int(i) for i in input_ids]:
            raise RuntimeError("the tokenizer's offsets do not belong to the model's input")
        static = (1.0 - gate.float().mean(-1)).tolist()  # (T,) share of h_vec per token
        words = []
        for start, end in burmese.word_spans(text):
            shares = [static[t] for t, (a, b) in enumerate(enc["offset_mapping"]) if b > a and a < end and b > start]
            words.append((text[start:end], sum(shares) / len(shares) if shares else None))
        return words

    # ------------------------------------------------------------------ batch
    def predict_csv(
        self,
        path: str | os.PathLike,
        *,
        skip_bad_rows: bool = True,
        text_column: str = "text",
        label_column: str = "label",
        output_dir: str | os.PathLike | None = None,
    ) -> tuple[Path, str]:
        """Classify every row of a CSV, read by eval.py's reader; returns the predictions CSV and a summary.

        The file is read by :func:`modeling_ctam.data.load_examples` as eval.py reads it: the same label names, the
        same checks of each row, and ``skip_bad_rows`` is eval.py's ``--skip-bad-rows`` (``on_error="skip"``; off, the
        first bad row stops with its file and line). A label column, when the header has one, is read with the
        model's label scheme and copied to the output beside the prediction.
        """
        import torch

        from ..data import LABEL_SCHEMES, load_examples
        from ..data.rows import DataFormatError

        path = Path(path)
        if path.suffix.lower() not in (".csv", ".tsv"):
            raise DemoInputError(f"{path.name} is not a CSV file: upload a .csv with a {text_column!r} column.")
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                header = [
                    h.strip() for h in next(csv.reader(handle, delimiter="\t" if path.suffix == ".tsv" else ","), [])
                ]
        except (UnicodeDecodeError, OSError) as err:
            raise DemoInputError(f"{path.name} cannot be read as UTF-8 text ({err.__class__.__name__}).") from err
        has_labels = label_column in header
        try:
            dataset, stats = load_examples(
                path,
                "csv",
                labels=self.scheme or "raw",
                text_column=text_column,
                label_column=label_column if has_labels else None,
                on_error="skip" if skip_bad_rows else "raise",
                source_labels=SOURCE_LABELS.get(self.scheme) if has_labels else None,
                language="my",
                return_stats=True,
            )
        except DataFormatError as err:
            hint = "" if skip_bad_rows else ' Tick "Skip bad rows" to classify the other rows.'
            raise DemoInputError(f"{str(err).rstrip('.')}.{hint}") from err
        except (ValueError, FileNotFoundError) as err:
            raise DemoInputError(f"{path.name}: {err}") from err
        if len(dataset) > MAX_BATCH_ROWS:
            raise DemoInputError(
                f"{path.name} has {len(dataset):,} rows; the demo classifies at most "
                f"{MAX_BATCH_ROWS:,} at once (use eval.py for more)."
            )
        texts = list(dataset["text"])
        probabilities: list[list[float]] = [[] for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for begin in range(0, len(order), BATCH_SIZE):
            index = order[begin : begin + BATCH_SIZE]
            _, logits, _ = self._forward([texts[i] for i in index])
            for i, row in zip(index, torch.softmax(logits, dim=-1).tolist()):
                probabilities[i] = row
        out_dir = Path(output_dir or tempfile.mkdtemp(prefix="ctam-demo-"))
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / f"{path.stem}-predictions.csv"
        names = self.label_names
        scheme_names = LABEL_SCHEMES.get(self.scheme, names)  # the data's label ids are the scheme's
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["source_line", "text"]
                + (["label"] if has_labels else [])
                + ["prediction"]
                + [f"p_{n}" for n in names]
            )
            labels = list(dataset["label"])
            for where, text, label, probs in zip(dataset["source_line"], texts, labels, probabilities):
                best = max(range(len(probs)), key=probs.__getitem__) if probs else 0
                gold = [scheme_names[label] if 0 <= label < len(scheme_names) else label] if has_labels else []
                writer.writerow([where, text] + gold + [names[best]] + [f"{p:.4f}" for p in probs])
        return out, self._batch_summary(path.name, len(texts), stats, has_labels, label_column)

    @staticmethod
    def _batch_summary(name: str, n: int, stats, has_labels: bool, label_column: str) -> str:
        parts = [f"Classified {n} row{'s' if n != 1 else ''} of {name}."]
        if stats.num_skipped:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(stats.skipped.items()))
            first = "; ".join(stats.first_skipped[:3])
            parts.append(
                f"Skipped {stats.num_skipped} bad row{'s' if stats.num_skipped != 1 else ''} ({reasons}): {first}."
            )
        if stats.num_dropped:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(stats.dropped.items()))
            parts.append(f"Left out by the label scheme: {reasons}.")
        if not has_labels:
            parts.append(f"No {label_column!r} column: predictions only.")
        return " ".join(parts)


# ---------------------------------------------------------------------------------------------------------------------
# HTML for the page
# ---------------------------------------------------------------------------------------------------------------------
CONTEXT_RGB = (37, 99, 235)  # the contextual state h_xlm (blue)
STATIC_RGB = (234, 88, 12)  # the aligned static vector h_vec (orange)


def _mix(t: float) -> str:
    r, g, b = (round(c + (s - c) * t) for c, s in zip(CONTEXT_RGB, STATIC_RGB))
    return f"rgba({r}, {g}, {b}, {0.22 + 0.5 * abs(t - 0.5) * 2:.2f})"


def message_html(text: str, kind: str = "error") -> str:
    return f'<div class="ctam-message ctam-{kind}" role="alert">{html.escape(text)}</div>' if text else ""


def result_html(analysis: Analysis) -> str:
    rows = []
    for name, p in sorted(analysis.probabilities.items(), key=lambda kv: -kv[1]):
        rows.append(
            f'<div class="ctam-prob" data-label="{html.escape(name)}" data-p="{p:.4f}">'
            f'<span class="ctam-prob-name">{html.escape(name)}</span>'
            f'<span class="ctam-bar"><span style="width:{100 * p:.1f}%"></span></span>'
            f'<span class="ctam-prob-value">{p:.4f}</span></div>'
        )
    return (
        f'<div class="ctam-result" data-label="{html.escape(analysis.label)}">'
        f'<div class="ctam-label">{html.escape(analysis.label)}</div>{"".join(rows)}</div>'
    )


def detection_html(analysis: Analysis) -> str:
    if analysis.converted:
        head = (
            f"Detected <b>Zawgyi</b> (Zawgyi probability {analysis.zawgyi_probability:.2f}): converted to "
            "Unicode before the model read it:"
        )
        body = f'<div class="ctam-converted" lang="my">{html.escape(analysis.text)}</div>'
    else:
        head = (
            f"Detected <b>Unicode</b> (Zawgyi probability {analysis.zawgyi_probability:.2f}): read as it is, "
            "after normalisation."
        )
        body = ""
    note = ""
    if analysis.truncated:
        note = (
            f'<div class="ctam-note">The text has {analysis.num_tokens} tokens and the model reads the first '
            f"{analysis.max_length} (its training length): the grey words in the gate view were not read.</div>"
        )
    return f'<div class="ctam-detection" data-encoding="{analysis.encoding}">{head}{body}{note}</div>'


def gate_html(analysis: Analysis) -> str:
    if not analysis.has_gate:
        return (
            '<div class="ctam-gate ctam-no-gate">This model has no VXLM gate (eq. 3): it is a plain encoder '
            "classifier, so there is no static-vector share to show.</div>"
        )
    values = [v for _, v in analysis.words if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    spans = []
    for word, value in analysis.words:
        word_html = html.escape(word)
        if value is None:
            spans.append(
                f'<span class="ctam-word ctam-unread" title="not read (after the truncation)">{word_html}</span>'
            )
            continue
        t = 0.5 if hi - lo < 1e-6 else (value - lo) / (hi - lo)
        spans.append(
            f'<span class="ctam-word" data-static="{value:.4f}" style="background:{_mix(t)}" '
            f'title="static h_vec {100 * value:.1f}% / contextual h_xlm {100 * (1 - value):.1f}%">'
            f"{word_html}</span>"
        )
    legend = (
        '<div class="ctam-legend"><span>contextual h<sub>xlm</sub></span><span class="ctam-scale"></span>'
        f'<span>static h<sub>vec</sub></span><span class="ctam-range">share of h<sub>vec</sub> here: '
        f"{100 * lo:.1f}% to {100 * hi:.1f}%</span></div>"
    )
    return (
        '<div class="ctam-gate"><div class="ctam-gate-title">What the model leant on, word by word: VXLM\'s gate '
        f'(eq. 3)</div><div class="ctam-gate-words" lang="my">{" ".join(spans)}</div>{legend}'
        '<div class="ctam-gate-note">g = σ(W<sub>g</sub>[h<sub>xlm</sub>; h<sub>vec</sub>] + b<sub>g</sub>), '
        "h = g·h<sub>xlm</sub> + (1−g)·h<sub>vec</sub>. Each word of the Burmese segmenter is coloured by "
        "1 − mean(g) over its tokens: how much the model leant on the aligned static word vector rather than "
        "the contextual state. Colours span this text's range; hover a word for its value.</div></div>"
    )
