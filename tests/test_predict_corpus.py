"""Corpus-scale prediction (``eval.py predict``): streaming input, bad rows with reasons, shards, resume after a kill.

The model is a tiny random CTAM (hidden 32, 2 layers) with the real offline XLM-R tokenizer as a CTAMTokenizer, saved
as train.py saves a run; the texts are real GKLMIP reviews.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tiny_runs import GKLMIP_DEV, needs_gklmip, save_tiny_run
from transformers import AutoTokenizer

from modeling_ctam import CTAMTokenizer
from modeling_ctam.data import load_examples
from modeling_ctam.data import readers as readers_module
from modeling_ctam.data.stream import stream_rows
from modeling_ctam.evaluation import cli as eval_cli
from modeling_ctam.evaluation.corpus import finish_run, predict_corpus
from modeling_ctam.evaluation.manifest import ResumeError
from modeling_ctam.evaluation.predict import predict
from modeling_ctam.serving import load_classifier

REPO = Path(__file__).resolve().parent.parent
ZAWGYI = "ေပးရတဲ့ေစ်းနဲ႔တန္တဲ့ပစၥည္းေလးပါ။ သံုးရတာအဆင္ေျပပါတယ္ ။"  # a GKLMIP review stored in Zawgyi
UNICODE = "သုံးရတာ အရမ်းအဆင်ပြေပါတယ် ပစ္စည်းကောင်းပါတယ်"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, offline_encoder_dir) -> Path:
    """A folder as train.py leaves it: model, CTAMTokenizer (with its flat code), train_config.json."""
    tokenizer = CTAMTokenizer.from_tokenizer(AutoTokenizer.from_pretrained(offline_encoder_dir))
    return save_tiny_run(tmp_path_factory.mktemp("run") / "tiny", tokenizer, max_length=48)


@pytest.fixture(scope="module")
def classifier(tiny_run):
    return load_classifier(tiny_run, "pytorch", batch_size=8, device="cpu")


def _reviews(n: int) -> list[str]:
    texts = [r["text"] for r in json.loads(GKLMIP_DEV.read_text(encoding="utf-8"))]
    return [texts[i % len(texts)] for i in range(n)]


def _write_csv(path: Path, rows: list[list[str]], header=("id", "comment")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _mixed_csv(path: Path) -> Path:
    """Good Unicode and Zawgyi rows, and one bad row of each reason a CSV can have."""
    path = _write_csv(path, [["1", UNICODE], ["2", "   "], ["3", "great phone"], ["4", ZAWGYI], ["5", "x" * 10_001]])
    with open(path, "ab") as handle:
        handle.write(b"6,\xff\xfe broken bytes\n")  # not UTF-8
        handle.write("7,ကောင်းပါတယ်,extra\n".encode())  # a column too many
        handle.write(f"8,{UNICODE}\n".encode())
    return path


def _rows(out: Path) -> list[dict]:
    rows = []
    for shard in sorted(out.glob("predictions-*.jsonl")):
        rows += [json.loads(line) for line in shard.read_text(encoding="utf-8").splitlines()]
    return sorted(rows, key=lambda r: r["row"])


# --------------------------------------------------------------------------------------------------------- reading
def test_stream_hands_on_every_row_with_its_number_location_encoding_or_reason(tmp_path):
    seen = []
    stats = stream_rows(_mixed_csv(tmp_path / "in.csv"), seen.append, text_column="comment", keep_columns=["id"])
    assert [r.index for r in seen] == list(range(8)) and stats.rows_read == 8
    assert [r.reason for r in seen] == [
        None,
        "empty_text",
        "not_burmese",
        None,
        "text_too_long",
        "invalid_utf8",
        "wrong_column_count",
        None,
    ]
    assert [r.encoding for r in seen if r.text] == ["unicode", "zawgyi", "unicode"]
    assert seen[3].text == seen[0].text.split()[0] or seen[3].text != ZAWGYI  # converted to Unicode
    assert seen[1].message == "in.csv:3: empty or whitespace-only text" and seen[6].location == "in.csv:8"
    assert [r.record["id"] for r in seen if r.record] == ["1", "2", "3", "4", "5", "6", "8"]
    assert stats.rows_kept == 3 and sum(stats.skipped.values()) == 5


def test_local_files_are_streamed_never_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(readers_module, "read_text_file", lambda *a: pytest.fail("a whole file was read into memory"))
    csv_path = _write_csv(tmp_path / "a.csv", [[str(i), UNICODE] for i in range(5)])
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("".join(json.dumps({"comment": UNICODE}) + "\n" for _ in range(4)), encoding="utf-8")
    for path in (csv_path, jsonl):
        seen = []
        stream_rows(path, seen.append, text_column="comment")
        assert len(seen) == (5 if path == csv_path else 4) and all(r.text for r in seen)
    assert len(load_examples(csv_path, "csv", text_column="comment", label_column=None)) == 5  # load_examples too


def test_a_folder_of_shards_is_one_input_numbered_across_files(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for part in range(3):
        pq.write_table(
            pa.table({"comment": [UNICODE, "", ZAWGYI], "id": [part * 3, part * 3 + 1, part * 3 + 2]}),
            tmp_path / f"part-{part:05d}.parquet",
        )
    (tmp_path / "_SUCCESS").write_text("")
    seen = []
    stream_rows(tmp_path, seen.append, text_column="comment", keep_columns=["id"])
    assert [r.index for r in seen] == list(range(9)) and [r.record["id"] for r in seen] == list(range(9))
    assert seen[4].location == "part-00001.parquet[1]" and seen[4].reason == "empty_text"
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for part in range(2):
        _write_csv(csv_dir / f"part-{part}.csv", [[str(part), UNICODE]])
    seen = []
    stream_rows(csv_dir, seen.append, text_column="comment")  # the format comes from the files' names
    assert [r.location for r in seen] == ["part-0.csv:2", "part-1.csv:2"]


def test_only_this_processs_rows_are_read_from_the_resume_position(tmp_path):
    path = _write_csv(tmp_path / "in.csv", [[str(i), UNICODE if i % 3 else ""] for i in range(10)])
    seen = []
    stats = stream_rows(path, seen.append, text_column="comment", rank=1, world_size=2, start=4)
    assert [r.index for r in seen] == [5, 7, 9] and stats.rows_read == 10
    assert sum(stats.skipped.values()) == 1  # row 9 is empty; rows 0, 3 and 6 belong to others or came before


# ------------------------------------------------------------------------------------------------------ predicting
def test_every_row_is_written_once_with_probabilities_reasons_and_kept_columns(classifier, tmp_path):
    path = _mixed_csv(tmp_path / "in.csv")
    out = tmp_path / "out"
    predict_corpus(classifier, path, out, text_column="comment", keep_columns=["id"], chunk_size=3, progress=False)
    manifest = finish_run(out, 1)
    rows = _rows(out)
    assert [r["row"] for r in rows] == list(range(8)) and manifest["rows"] == 8
    good = [r for r in rows if r["reason"] is None]
    assert [r["id"] for r in good] == ["1", "4", "8"] and all(r["error"] is None for r in good)
    assert all(abs(r["p_negative"] + r["p_positive"] - 1) < 1e-5 for r in good)
    assert all(r["label"] == max(("negative", "positive"), key=lambda n: r[f"p_{n}"]) for r in good)
    bad = {r["reason"]: r for r in rows if r["reason"]}
    assert bad["invalid_utf8"]["error"].startswith("in.csv:7: invalid UTF-8") and bad["invalid_utf8"]["label"] is None
    assert manifest["bad_rows"] == {
        "empty_text": 1,
        "invalid_utf8": 1,
        "not_burmese": 1,
        "text_too_long": 1,
        "wrong_column_count": 1,
    }
    assert manifest["encodings"] == {"unicode": 2, "zawgyi": 1} and manifest["rows_predicted"] == 3
    # the probabilities are those of the evaluation path on the same texts
    texts = load_examples(path, "csv", text_column="comment", label_column=None, on_error="skip", language="my")[
        "text"
    ]
    texts = [t for t in texts if t != "great phone"]  # load_examples keeps English, predict calls it not_burmese
    _, info = predict(classifier.model, classifier.tokenizer, texts, max_length=48, device="cpu")
    assert [[r["p_negative"], r["p_positive"]] for r in good] == info["probabilities"]


def test_shards_of_two_processes_hold_the_single_process_output(classifier, tmp_path):
    path = _write_csv(tmp_path / "in.csv", [[str(i), text] for i, text in enumerate(_reviews(23))])
    for world, ranks in ((1, [0]), (2, [0, 1])):
        for rank in ranks:
            predict_corpus(
                classifier,
                path,
                tmp_path / f"w{world}",
                text_column="comment",
                chunk_size=4,
                rank=rank,
                world_size=world,
                progress=False,
            )
        finish_run(tmp_path / f"w{world}", world)
    shard0 = [
        json.loads(line)["row"]
        for line in (tmp_path / "w2" / "predictions-00000-of-00002.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert shard0 == list(range(0, 23, 2))
    one, two = _rows(tmp_path / "w1"), _rows(tmp_path / "w2")
    assert [r["row"] for r in two] == list(range(23))
    assert [r["label"] for r in one] == [r["label"] for r in two]
    assert max(abs(a["p_positive"] - b["p_positive"]) for a, b in zip(one, two)) < 1e-5
    manifest = json.loads((tmp_path / "w2" / "manifest.json").read_text())
    assert manifest["world_size"] == 2 and [s["rows"] for s in manifest["shards"]] == [12, 11]


class _Crash(RuntimeError):
    """The simulated kill: raised by `_CrashingClassifier` between two chunks."""


class _CrashingClassifier:
    """The classifier, dying after `chunks` chunks (as a killed process would, between two chunks)."""

    def __init__(self, inner, chunks: int):
        self.inner, self.left = inner, chunks

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def probabilities(self, texts):
        if self.left == 0:
            raise _Crash()
        self.left -= 1
        return self.inner.probabilities(texts)


@needs_gklmip
def test_a_crashed_run_resumes_to_the_uninterrupted_output(classifier, tmp_path):
    path = _write_csv(tmp_path / "in.csv", [[str(i), text] for i, text in enumerate(_reviews(40))] + [["x", ""]])
    kwargs = dict(text_column="comment", keep_columns=["id"], chunk_size=6, progress=False)
    predict_corpus(classifier, path, tmp_path / "whole", **kwargs)
    whole = (tmp_path / "whole" / "predictions-00000-of-00001.jsonl").read_bytes()
    out = tmp_path / "crashed"
    with pytest.raises(_Crash):
        predict_corpus(_CrashingClassifier(classifier, 3), path, out, **kwargs)
    shard, manifest = out / "predictions-00000-of-00001.jsonl", out / "predictions-00000-of-00001.manifest.json"
    state = json.loads(manifest.read_text())
    assert state["rows_written"] == 18 and state["next_row"] == 18 and not state["done"]
    with open(shard, "ab") as handle:  # a chunk written but not recorded, then half a line: as a kill leaves it
        handle.write(whole[state["bytes"] : state["bytes"] + 700])
    with pytest.raises(ResumeError, match="merge|not finished"):
        finish_run(out, 1)
    predict_corpus(classifier, path, out, **kwargs)
    assert shard.read_bytes() == whole
    assert finish_run(out, 1)["rows"] == 41


def test_a_shard_shorter_than_its_manifest_or_other_settings_are_refused(classifier, tmp_path):
    path = _write_csv(tmp_path / "in.csv", [[str(i), UNICODE] for i in range(9)])
    out = tmp_path / "out"
    predict_corpus(classifier, path, out, text_column="comment", chunk_size=4, progress=False)
    with pytest.raises(ResumeError, match="other settings.*chunk_size: 4 then, 5 now"):
        predict_corpus(classifier, path, out, text_column="comment", chunk_size=5, progress=False)
    shard = out / "predictions-00000-of-00001.jsonl"
    shard.write_bytes(shard.read_bytes()[:-30])
    with pytest.raises(ResumeError, match="records 9 rows"):
        predict_corpus(classifier, path, out, text_column="comment", chunk_size=4, progress=False)
    predict_corpus(classifier, path, out, text_column="comment", chunk_size=4, progress=False, resume=False)
    assert len(_rows(out)) == 9


def _predict_argv(model: Path, data: Path, out: Path, *options: str) -> list[str]:
    """`eval.py predict` on the tiny run, one thread a process (a tiny model gains nothing from two, and loses much
    when another job holds the second core)."""
    return [
        str(REPO / "eval.py"),
        "predict",
        "--model",
        str(model),
        "--data",
        str(data),
        "--text-column",
        "comment",
        "--output-dir",
        str(out),
        "--num-threads",
        "1",
        "--no-progress",
        *options,
    ]


@needs_gklmip
def test_a_killed_process_resumes_where_it_stopped(tiny_run, tmp_path):
    """A real SIGKILL of `eval.py predict` in the middle of its input, then the same command again."""
    n = 400
    path = _write_csv(tmp_path / "in.csv", [[str(i), text] for i, text in enumerate(_reviews(n))])
    argv = [sys.executable, *_predict_argv(tiny_run, path, tmp_path / "out", "--batch-size", "1", "--chunk-size", "8")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    manifest = tmp_path / "out" / "predictions-00000-of-00001.manifest.json"
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    written = 0
    for _ in range(6000):  # at most 2 minutes
        if manifest.is_file():
            written = json.loads(manifest.read_text())["rows_written"]
            if written >= 16:
                break
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = json.loads(manifest.read_text())
    assert 16 <= state["rows_written"] < n and not state["done"], "the run ended before it could be killed"
    resumed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{n} rows" in resumed.stdout
    rows = _rows(tmp_path / "out")
    assert [r["row"] for r in rows] == list(range(n))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        classifier = load_classifier(tiny_run, "pytorch", batch_size=1, device="cpu")
        predict_corpus(classifier, str(path), tmp_path / "whole", text_column="comment", chunk_size=8, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert [r["label"] for r in _rows(tmp_path / "whole")] == [r["label"] for r in rows]
    assert [r["p_positive"] for r in _rows(tmp_path / "whole")] == [r["p_positive"] for r in rows]


def test_cli_predict_writes_parquet_too_and_evaluate_reads_a_folder(tiny_run, tmp_path):
    import pyarrow.parquet as pq

    data = tmp_path / "shards"
    data.mkdir()
    for part in range(2):
        _write_csv(
            data / f"part-{part}.csv",
            [[f"{part}-{i}", text] for i, text in enumerate([UNICODE, ZAWGYI])],
            header=("id", "text"),
        )
    out = tmp_path / "out"
    manifest = eval_cli.main(
        [
            "predict",
            "--model",
            str(tiny_run),
            "--data",
            str(data),
            "--data-format",
            "csv",
            "--keep-columns",
            "id",
            "--output-dir",
            str(out),
            "--output-format",
            "parquet",
            "--no-progress",
        ]
    )
    assert manifest["rows"] == 4 and manifest["shards"][0]["parquet"] == "predictions-00000-of-00001.parquet"
    table = pq.read_table(out / manifest["shards"][0]["parquet"]).to_pylist()
    assert table == _rows(out) and [r["id"] for r in table] == ["0-0", "0-1", "1-0", "1-1"]
    assert [r["encoding"] for r in table] == ["unicode", "zawgyi"] * 2
    with pytest.raises(SystemExit, match="other settings"):
        eval_cli.main(
            ["predict", "--model", str(tiny_run), "--data", str(data), "--output-dir", str(out), "--no-progress"]
        )
    labelled = tmp_path / "labelled"
    labelled.mkdir()
    for part in range(2):
        _write_csv(labelled / f"part-{part}.csv", [[UNICODE, "1"], [ZAWGYI, "0"]], header=("text", "label"))
    record = eval_cli.main(
        ["--model", str(tiny_run), "--data", str(labelled), "--output-dir", str(tmp_path / "eval"), "--no-figure"]
    )  # a folder: no IsADirectoryError
    assert record["n_examples"] == 4


def test_stock_pipeline_refuses_whitespace_only_text(tiny_run):
    from transformers import pipeline

    classify = pipeline("sentiment-analysis", model=str(tiny_run), trust_remote_code=True)
    assert classify(UNICODE)[0]["label"] in ("negative", "positive")
    for text in ("   ", "\u200b \n", ""):
        with pytest.raises(ValueError, match="empty or whitespace-only"):
            classify(text)
    with pytest.raises(ValueError, match=r"position \[1\]"):
        classify.tokenizer([UNICODE, "  "])


def test_a_batch_in_memory_gets_the_rows_a_file_gets(classifier, tmp_path):
    """What the Ray Data recipe of docs/evaluation.md runs per batch: the same rows as `eval.py predict`."""
    from modeling_ctam.evaluation.corpus import predict_texts

    texts = [UNICODE, "  ", "great phone", ZAWGYI, None]
    rows = predict_texts(classifier, texts, first_row=10)
    assert [r["row"] for r in rows] == [10, 11, 12, 13, 14]
    assert [r["reason"] for r in rows] == [None, "empty_text", "not_burmese", None, "missing_field"]
    assert rows[1]["error"] == "batch[11]: empty or whitespace-only text"
    path = _write_csv(tmp_path / "in.csv", [[str(i), t] for i, t in enumerate(texts[:4])])
    predict_corpus(classifier, path, tmp_path / "out", text_column="comment", progress=False)
    from_file = _rows(tmp_path / "out")
    for a, b in zip(rows, from_file):
        assert {k: a[k] for k in ("label", "p_positive", "encoding", "reason")} == {
            k: b[k] for k in ("label", "p_positive", "encoding", "reason")
        }


def test_accelerate_launch_writes_one_shard_per_process(tiny_run, tmp_path):
    """`accelerate launch` with two CPU processes (the repository's torchrun configuration): rows split i % 2."""
    path = _write_csv(tmp_path / "in.csv", [[str(i), UNICODE if i % 5 else " "] for i in range(30)])
    config = REPO / "configs" / "accelerate" / "cpu_2proc.yaml"
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)]
    argv += _predict_argv(tiny_run, path, tmp_path / "out", "--chunk-size", "4")
    done = subprocess.run(
        argv, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["world_size"] == 2 and [s["rows"] for s in manifest["shards"]] == [15, 15]
    assert manifest["bad_rows"] == {"empty_text": 6}
    odd = (tmp_path / "out" / "predictions-00001-of-00002.jsonl").read_text().splitlines()
    assert [json.loads(line)["row"] for line in odd] == list(range(1, 30, 2))
