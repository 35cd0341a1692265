"""CTAM demo: a Gradio app for a trained CTAM model (Burmese product-review sentiment).

    python hub/space/app.py --model DIR_OR_HUB_ID [--revision COMMIT] [--host 127.0.0.1] [--port 7860]

On a Hugging Face Space (the folder ``python hub/push.py --space-dir`` writes) it runs with no arguments and reads
the model id and its pinned revision from ``space_config.json`` beside this file. Needs ``pip install -e ".[demo]"``
(Gradio) in a CTAM checkout; the Space folder carries the package with it. The page shows the label and the class
probabilities, the Zawgyi detection, and VXLM's eq. 3 gate per word; a second tab classifies a CSV as eval.py would
read it. The logic lives in :mod:`modeling_ctam.hub.demo`; see docs/hub.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
PREVIEW_ROWS = 20  # rows of a CSV's predictions shown in the page (the file has them all)

# Real reviews of the GKLMIP product sentiment dataset (dev split; Jiang et al. 2021, github
# GKLMIP/Pretrained-Models-For-Myanmar), quoted as they are, stars in the comment. Two are in Zawgyi, as in the data.
EXAMPLES = [
    "သုံးရတာ အရမ်းအဆင်ပြေပါတယ် ပစ္စည်းကောင်းပါတယ်",  # 5 stars: "Very convenient to use, good product"
    "အသံအရည်အသွေးအရမ်းညံ့တယ်",  # 1 star: "The sound quality is very poor"
    "ေပးရတဲ့ေစ်းနဲ႔တန္တဲ့ပစၥည္းေလးပါ။ သံုးရတာအဆင္ေျပပါတယ္ ။",  # 5 stars, Zawgyi: "Worth the price, convenient"
    "နားတော်တော်နာတယ် မဝယ်သင့်ခဲ့ဘူး",  # 1 star: "Hurts my ears a lot, shouldn't have bought it"
    "data ေတြ ပ်က္တယ္  အစဥ္မေျပပါဝူး",  # 1 star, Zawgyi: "The data gets corrupted, it never works well"
]

CSS = """
.gradio-container {max-width: 1080px !important; margin: auto;}
#ctam-title h1 {margin-bottom: 0.1em;} #ctam-title p {margin-top: 0.2em; color: #475569;}
@font-face {font-family: "CTAM Myanmar"; unicode-range: U+1000-109F, U+A9E0-A9FF, U+AA60-AA7F;
  src: local("Pyidaungsu"), local("Noto Sans Myanmar"), local("Myanmar Text"), local("Padauk"), local("Myanmar3");}
#ctam-text textarea {font-size: 1.15em; line-height: 1.8;}
.ctam-message {padding: 10px 14px; border-radius: 8px; margin-bottom: 6px; font-weight: 500;}
.ctam-error {background: #fef2f2; color: #991b1b; border: 1px solid #fecaca;}
.ctam-info {background: #f0f9ff; color: #075985; border: 1px solid #bae6fd;}
.ctam-result {padding: 4px 2px;}
.ctam-label {font-size: 1.9em; font-weight: 700; margin-bottom: 8px; text-transform: capitalize;}
.ctam-prob {display: grid; grid-template-columns: 6.5em 1fr 4em; align-items: center; gap: 8px; margin: 5px 0;}
.ctam-bar {background: #e2e8f0; border-radius: 5px; height: 12px; overflow: hidden;}
.ctam-bar span {display: block; height: 100%; background: #6366f1; border-radius: 5px;}
.ctam-prob-value {font-variant-numeric: tabular-nums; text-align: right;}
.ctam-detection {font-size: 0.95em; color: #334155; margin-top: 8px;}
.ctam-converted {margin-top: 4px; padding: 6px 10px; background: #f8fafc; border-radius: 6px; font-size: 1.1em;}
.ctam-note {margin-top: 6px; color: #92400e;}
.ctam-gate-words {font-size: 1.35em; line-height: 2.3; padding: 6px 0;}
.ctam-word {padding: 3px 5px; border-radius: 5px; margin: 0 1px;}
.ctam-unread {background: #e5e7eb; color: #9ca3af;}
.ctam-legend {display: flex; align-items: center; gap: 10px; font-size: 0.85em; color: #475569; margin-top: 6px;}
.ctam-scale {flex: 0 0 120px; height: 10px; border-radius: 5px;
  background: linear-gradient(90deg, rgba(37,99,235,.72), rgba(136,93,124,.22), rgba(234,88,12,.72));}
.ctam-gate-title {font-weight: 600; margin-top: 14px;}
.ctam-legend {flex-wrap: wrap;} .ctam-legend > span {white-space: nowrap;} .ctam-range {flex-basis: 100%;}
.ctam-gate-note {font-size: 0.8em; color: #64748b; margin-top: 8px;}
"""


def read_space_config() -> dict:
    path = HERE / "space_config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def parse_args(argv=None) -> argparse.Namespace:
    space = read_space_config()
    parser = argparse.ArgumentParser(prog="python hub/space/app.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        default=os.environ.get("CTAM_MODEL") or space.get("model"),
        help="trained model folder or Hub id (default: space_config.json beside the app)",
    )
    parser.add_argument(
        "--revision",
        default=os.environ.get("CTAM_REVISION") or space.get("revision"),
        help="Hub revision to pin (a commit hash); the Space's space_config.json pins one",
    )
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1; Spaces set 0.0.0.0)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    args = parser.parse_args(argv)
    if not args.model:
        parser.error("no model: pass --model DIR_OR_HUB_ID (or put space_config.json beside the app)")
    return args


def build_app(demo_model):
    """The Gradio Blocks of the page, around a :class:`modeling_ctam.hub.demo.DemoModel`."""
    import gradio as gr

    from modeling_ctam.hub.demo import DemoInputError, detection_html, gate_html, message_html, result_html

    def classify(text):
        try:
            analysis = demo_model.analyse(text)
        except DemoInputError as err:
            return message_html(str(err)), "", "", ""
        except Exception as err:  # noqa: BLE001  (the page shows a message, never a traceback)
            logger.exception("classification failed")
            return (
                message_html(
                    f"The model could not classify this text ({type(err).__name__}). Try another "
                    "text; the server log has the details."
                ),
                "",
                "",
                "",
            )
        return "", result_html(analysis), detection_html(analysis), gate_html(analysis)

    def classify_csv(file, skip_bad_rows):
        empty = gr.update(value=None, visible=False)
        if file is None:
            return None, message_html("Upload a CSV file first (a 'text' column, and optionally 'label')."), empty
        try:
            out, summary = demo_model.predict_csv(getattr(file, "name", file), skip_bad_rows=skip_bad_rows)
        except DemoInputError as err:
            return None, message_html(str(err)), empty
        except Exception as err:  # noqa: BLE001
            logger.exception("batch classification failed")
            return (
                None,
                message_html(
                    f"The file could not be classified ({type(err).__name__}); the server log has the details."
                ),
                empty,
            )
        with open(out, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        preview = gr.update(value={"headers": rows[0], "data": rows[1 : PREVIEW_ROWS + 1]}, visible=len(rows) > 1)
        return str(out), message_html(summary, "info"), preview

    revision = f" @ {demo_model.revision[:10]}" if demo_model.revision else ""
    shown = Path(demo_model.name).name if Path(demo_model.name).is_dir() else demo_model.name  # no local paths
    with gr.Blocks(title="CTAM: Burmese sentiment", analytics_enabled=False) as app:
        gr.Markdown(
            f"# CTAM: Burmese product-review sentiment\n"
            f"Cross-lingual transfer from English to Burmese (VXLM + dual-path attention). Model "
            f"`{shown}`{revision}, classes: {', '.join(demo_model.label_names)}. Unicode or Zawgyi input.",
            elem_id="ctam-title",
        )
        with gr.Tab("One review"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=5):
                    text = gr.Textbox(
                        label="Burmese review (Unicode or Zawgyi)",
                        lines=3,
                        max_lines=8,
                        elem_id="ctam-text",
                        placeholder="ဒီပစ္စည်း အရမ်းကောင်းတယ်",
                    )
                    with gr.Row():
                        gr.ClearButton([text], value="Clear")
                        submit = gr.Button("Classify", variant="primary", elem_id="ctam-submit")
                    gr.Examples(EXAMPLES, inputs=[text], label="Real GKLMIP reviews (two in Zawgyi): click one")
                with gr.Column(scale=4):
                    message = gr.HTML(elem_id="ctam-message")
                    result = gr.HTML(elem_id="ctam-result")
                    detection = gr.HTML(elem_id="ctam-detection")
                    gate = gr.HTML(elem_id="ctam-gate")
        with gr.Tab("Batch (CSV)"):
            gr.Markdown(
                "Upload a CSV with a `text` column (and optionally `label`). It is read as `eval.py` reads "
                "it: the same label names and row checks; with *Skip bad rows* (eval.py's `--skip-bad-rows`) "
                "malformed rows are skipped and counted, without it the first one stops the run."
            )
            with gr.Row():
                upload = gr.File(label="CSV file", file_types=[".csv"], elem_id="ctam-csv")
                download = gr.File(label="Predictions (CSV)", elem_id="ctam-predictions", interactive=False)
            skip = gr.Checkbox(value=True, label="Skip bad rows", elem_id="ctam-skip")
            run = gr.Button("Classify the file", variant="primary", elem_id="ctam-batch-submit")
            batch_message = gr.HTML(elem_id="ctam-batch-message")
            preview = gr.Dataframe(
                label=f"First rows of the predictions (up to {PREVIEW_ROWS})",
                visible=False,
                interactive=False,
                wrap=True,
                elem_id="ctam-preview",
            )
        outputs = [message, result, detection, gate]
        submit.click(classify, inputs=[text], outputs=outputs)
        text.submit(classify, inputs=[text], outputs=outputs)
        run.click(classify_csv, inputs=[upload, skip], outputs=[download, batch_message, preview])
    return app


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        import gradio as gr
    except ImportError:
        print('error: the demo needs Gradio: pip install -e ".[demo]"', file=sys.stderr)
        return 2
    from modeling_ctam.hub.demo import DemoModel
    from modeling_ctam.utils.paths import is_hub_id

    if not Path(args.model).is_dir() and not is_hub_id(args.model):
        print(f"error: --model {args.model!r} is neither a model folder nor a Hub id OWNER/NAME", file=sys.stderr)
        return 2
    try:
        demo_model = DemoModel(args.model, revision=args.revision, device=args.device)
    except Exception as err:  # noqa: BLE001  (a missing folder, a wrong id or revision, unreadable weights)
        print(f"error: cannot load a CTAM model from {args.model!r}: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    theme = gr.themes.Soft(
        primary_hue="indigo",
        font=["CTAM Myanmar", "ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["CTAM Myanmar", "ui-monospace", "monospace"],
    )
    build_app(demo_model).launch(
        server_name=args.host,
        server_port=args.port,
        theme=theme,
        css=CSS,
        show_error=False,
        ssr_mode=False,
        footer_links=[],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
