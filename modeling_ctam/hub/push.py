"""Publish a trained CTAM model on the Hugging Face Hub.

    python -m modeling_ctam.hub.push --model DIR --repo-id OWNER/NAME [--private] [--revision BRANCH]
    python -m modeling_ctam.hub.push --model DIR --repo-id OWNER/NAME --dry-run --output-dir OUT

``python hub/push.py ...`` (a thin script in the checkout) is the same command. Both build the repository folder with
:func:`modeling_ctam.hub.prepare.build_hub_folder` (config with ``auto_map`` and
``custom_pipelines``, flat modeling files, safetensors weights, tokenizer, ``burmese.py``, ``pipeline_ctam.py``,
``handler.py``, ``requirements.txt``, ``README.md``) and check it: statically, and by loading it with
``trust_remote_code`` in a fresh process where the CTAM package is not importable.

``--dry-run`` writes that folder to OUT and stops: nothing touches the network. Without it the folder is built in a
temporary directory, the card is validated by the Hub (``ModelCard.validate``), and the folder is uploaded with
``HfApi.create_repo`` + ``HfApi.upload_folder``. The card's loading snippet pins ``revision=`` to a commit hash,
which only exists after the upload: a second, README-only commit fills in the hash of the first (the commit that
holds the model and its code). The dry-run card carries a placeholder there instead.

``--space-dir DIR`` also writes the folder of a demo Space for the model (:mod:`modeling_ctam.hub.space`: the Gradio
app of ``hub/space/``, pinned to the uploaded model commit after a real push), and ``--push-space`` uploads it as the
Space ``--space-id`` (default ``REPO_ID-demo``), which the model card links.

Authentication: the token comes from ``HF_TOKEN`` or ``hf auth login`` (huggingface_hub's usual lookup). It is
never taken on the command line and never printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

from .card import build_model_card, check_card
from .prepare import HubBuildError, build_hub_folder
from .space import default_space_id, space_url, upload_space, write_space_folder

logger = logging.getLogger(__name__)


def parse_args(argv=None, prog: str = "python -m modeling_ctam.hub.push") -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="trained model folder (train.py output, save_pretrained)")
    parser.add_argument("--repo-id", required=True, help="Hub repository id, OWNER/NAME")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument(
        "--revision",
        default=None,
        help="branch to push to (created from main if missing); default: the default branch",
    )
    parser.add_argument("--commit-message", default=None, help="message of the upload commit")
    parser.add_argument(
        "--dry-run", action="store_true", help="build and check the folder in --output-dir, upload nothing"
    )
    parser.add_argument("--output-dir", default=None, help="where --dry-run writes the repository folder")
    parser.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty --output-dir")
    parser.add_argument("--license", default="apache-2.0", help="licence identifier for the card (default apache-2.0)")
    parser.add_argument(
        "--base-model", default=None, help="Hub id of the encoder, when config.encoder_name_or_path is not one"
    )
    parser.add_argument(
        "--labels", default=None, help="comma-separated class names in index order, when config.json only has LABEL_i"
    )
    parser.add_argument(
        "--metrics",
        default=None,
        help="metrics JSON to report (default: metrics.json, else dev_metrics.json, in --model)",
    )
    parser.add_argument(
        "--widget-file",
        default=None,
        help='JSON list of widget examples {"text": ..., "example_title": ...} (Burmese, Unicode)',
    )
    parser.add_argument(
        "--space-dir",
        default=None,
        help="also write the folder of a demo Space (Gradio app) for this model here; a real push "
        "pins it to the uploaded model commit",
    )
    parser.add_argument(
        "--space-id",
        default=None,
        help="the demo Space's id, linked from the model card (default: REPO_ID-demo when "
        "--space-dir or --push-space is given)",
    )
    parser.add_argument(
        "--onnx",
        action="store_true",
        help="also ship the student path as int8 ONNX (model_quantized.onnx) beside the safetensors, for "
        "`eval.py predict --backend onnx` (needs the [onnx] extra)",
    )
    parser.add_argument(
        "--push-space", action="store_true", help="after the model, create and upload the demo Space (real push only)"
    )
    args = parser.parse_args(argv)
    if args.dry_run and not args.output_dir:
        parser.error("--dry-run needs --output-dir")
    if args.output_dir and not args.dry_run:
        parser.error("--output-dir is for --dry-run; a real push builds in a temporary folder")
    if args.push_space and args.dry_run:
        parser.error("--push-space uploads; a dry run writes the Space folder with --space-dir")
    if args.space_dir and args.output_dir and Path(args.space_dir).resolve() == Path(args.output_dir).resolve():
        parser.error("--space-dir must differ from --output-dir (the Space sits beside the model folder)")
    if args.space_id is None and (args.space_dir or args.push_space):
        args.space_id = default_space_id(args.repo_id)
    return args


def build(args, output_dir: Path):
    widget = json.loads(Path(args.widget_file).read_text(encoding="utf-8")) if args.widget_file else None
    return build_hub_folder(
        args.model,
        output_dir,
        repo_id=args.repo_id,
        revision=None,
        license=args.license,
        base_model=args.base_model,
        labels=args.labels.split(",") if args.labels else None,
        widget_texts=widget,
        metrics_file=args.metrics,
        overwrite=args.overwrite,
        space_id=args.space_id,
        onnx=args.onnx,
    )


def write_space(args, revision: str | None, folder: Path | None = None) -> Path:
    """The demo Space's folder in --space-dir (or `folder`), loading the model at `revision`."""
    out = write_space_folder(
        folder or args.space_dir,
        repo_id=args.repo_id,
        revision=revision,
        space_id=args.space_id,
        overwrite=args.overwrite,
    )
    pinned = f"pinned to {revision}" if revision else "not pinned (dry run: a real push pins the model commit)"
    print(f"Space folder for {args.space_id}: {out} (model {args.repo_id}, revision {pinned})")
    return out


def pinned_card(report, sha: str, path: Path) -> Path:
    """The built card re-rendered with `revision=sha` in its snippets, written to `path` and checked."""
    build_model_card(**{**report.card_inputs, "revision": sha}).save(path)
    problems = check_card(path, report.card_inputs["config"])
    if problems:
        raise HubBuildError("the pinned model card failed its checks:\n- " + "\n- ".join(problems))
    return path


def summarize(report) -> str:
    lines = [
        f"Hub folder: {report.folder}",
        f"files: {', '.join(report.files)}",
        f"base_model: {report.base_model}",
        "widget outputs (built folder's pipeline, package not importable):",
    ]
    for example in report.widget:
        best = example["output"][0]
        lines.append(f"  {example['example_title']}: {best['label']} {best['score']:.4f}")
    checks = report.checks
    lines.append(
        f"checks: pipeline={checks['pipeline']['class']}, model={checks['model']['class']} "
        f"(remote code), Zawgyi = Unicode on {sum('zawgyi' in r for r in checks['predictions'])} examples, "
        "handler = pipeline, card metadata valid"
    )
    return "\n".join(lines)


def push(args) -> str:
    """Build, validate with the Hub, upload. Returns the URL of the pinned commit."""
    from huggingface_hub import HfApi, ModelCard
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi()  # token from HF_TOKEN or the cached login
    try:
        user = api.whoami()
    except Exception as err:  # noqa: BLE001
        raise SystemExit(
            f"Not authenticated with the Hub ({type(err).__name__}); run `hf auth login` or set HF_TOKEN."
        )
    logger.info("authenticated as %s", user.get("name", "?"))
    with tempfile.TemporaryDirectory(prefix="ctam-hub-") as tmp:
        folder = Path(tmp) / "repo"
        report = build(args, folder)
        print(summarize(report))
        ModelCard.load(folder / "README.md").validate(repo_type="model")  # the Hub's own metadata check
        repo = api.create_repo(args.repo_id, repo_type="model", private=args.private, exist_ok=True)
        if args.revision:
            try:
                api.create_branch(args.repo_id, branch=args.revision, repo_type="model", exist_ok=True)
            except HfHubHTTPError as err:
                raise SystemExit(f"could not create branch {args.revision!r}: {err}")
        commit = api.upload_folder(
            repo_id=args.repo_id,
            folder_path=str(folder),
            repo_type="model",
            revision=args.revision,
            commit_message=args.commit_message or "Upload CTAM model, code and card",
            delete_patterns=["*"],  # the repository mirrors the folder (.gitattributes is always kept)
        )
        sha = commit.oid
        # The card's snippets pin the commit that holds the model and its code; upload only README.md again.
        card_path = pinned_card(report, sha, Path(tmp) / "README.md")
        api.upload_file(
            path_or_fileobj=str(card_path),
            path_in_repo="README.md",
            repo_id=args.repo_id,
            repo_type="model",
            revision=args.revision,
            commit_message=f"Model card: pin revision {sha[:10]}",
        )
        print(f"Uploaded to {repo.url if hasattr(repo, 'url') else args.repo_id} (model commit {sha})")
        if args.space_dir or args.push_space:
            space = write_space(args, sha, None if args.space_dir else Path(tmp) / "space")
            if args.push_space:
                space_commit = upload_space(api, space, args.space_id, private=args.private)
                print(f"Space uploaded: {space_url(args.space_id)} (commit {space_commit})")
    return sha


def main(argv=None, prog: str = "python -m modeling_ctam.hub.push") -> int:
    """The command line in process: build (and with no ``--dry-run``, upload); returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv, prog)
    try:
        if args.dry_run:
            report = build(args, Path(args.output_dir))
            print(summarize(report))
            if args.space_dir:
                write_space(args, None)
            print(
                f"Dry run: nothing uploaded. Upload with: {prog} --model {args.model} "
                f"--repo-id {args.repo_id}" + (" --space-dir DIR --push-space" if args.space_dir else "")
            )
        else:
            push(args)
    except HubBuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
