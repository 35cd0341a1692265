# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The output side of corpus-scale prediction: prediction shards, their manifests, resuming, and the merged manifest.

Each process writes one shard, ``predictions-RRRRR-of-WWWWW.jsonl`` (one JSON object a line), and beside it
``predictions-RRRRR-of-WWWWW.manifest.json``: the run's settings, the rows written, the shard's size in bytes, the
input position (the next input row to read) and the counts (labels, bad rows per reason, encodings). Rows are
written a chunk at a time: the chunk's lines are appended and fsynced, then the manifest is replaced atomically
(written beside, fsynced, renamed). So at any kill the manifest describes a prefix of the shard: a resumed run
truncates whatever follows it (a chunk written but not recorded, a half-written last line), checks that the shard
then holds exactly the recorded number of rows, and reads on from the recorded input position. The output of a
killed and resumed run is the output of an uninterrupted one.

When every shard is done, the main process merges their manifests into ``manifest.json`` (:func:`merge_manifests`).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SHARD_FORMAT = "ctam-predictions-shard"
MANIFEST_FORMAT = "ctam-predictions"
MANIFEST_VERSION = 1
MANIFEST = "manifest.json"


class ResumeError(RuntimeError):
    """An output folder that cannot be resumed (other settings, or a shard that disagrees with its manifest)."""


def shard_stem(rank: int, world_size: int) -> str:
    """``predictions-RRRRR-of-WWWWW``: the name of process `rank`'s shard, without suffix."""
    return f"predictions-{rank:05d}-of-{world_size:05d}"


def write_json_atomic(path: str | os.PathLike, payload: Mapping[str, Any]) -> None:
    """Writes JSON so that `path` always holds either the old or the new content: a temporary file beside it,
    fsynced, renamed over it, and the folder fsynced."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ResumeError(f"{path}: unreadable manifest ({error}); start again with --overwrite.") from error


def _count_lines(path: Path, size: int) -> int:
    count, left = 0, size
    with open(path, "rb") as handle:
        while left > 0:
            block = handle.read(min(left, 1 << 22))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
    return count


def _differences(saved: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    keys = sorted(set(saved) | set(settings))
    return [f"{k}: {saved.get(k)!r} then, {settings.get(k)!r} now" for k in keys if saved.get(k) != settings.get(k)]


class ShardWriter:
    """Process `rank`'s shard: appends prediction rows a chunk at a time and records each chunk in its manifest.

    Args:
        output_dir: the run's folder.
        rank, world_size: this process and the number of processes.
        settings (`Mapping`): what makes two runs the same run (model, data and its files, options); a resumed shard
            must have been written with equal settings.
        resume (`bool`, *optional*, defaults to `True`): continue a shard found in `output_dir`; `False` starts it
            again (its previous rows are removed).

    Raises:
        ResumeError: the folder holds a shard of other settings, or a shard shorter than its manifest says.
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        rank: int,
        world_size: int,
        settings: Mapping[str, Any],
        resume: bool = True,
    ):
        self.folder = Path(output_dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = shard_stem(rank, world_size)
        self.path = self.folder / f"{stem}.jsonl"
        self.manifest_path = self.folder / f"{stem}.manifest.json"
        self.settings = dict(settings)
        self.resumed = resume and self.manifest_path.is_file()
        if self.resumed:
            self.state = self._verified_state()
        else:
            self.state = {
                "format": SHARD_FORMAT,
                "version": MANIFEST_VERSION,
                "rank": rank,
                "world_size": world_size,
                "settings": self.settings,
                "rows_written": 0,
                "next_row": 0,
                "bytes": 0,
                "done": False,
                "labels": {},
                "bad_rows": {},
                "encodings": {},
                "num_truncated": 0,
                "seconds": 0.0,
            }
        with open(self.path, "ab") as handle:  # create it, then cut what the manifest does not vouch for
            handle.truncate(self.state["bytes"])
        self._handle = open(self.path, "ab")  # noqa: SIM115 (open across chunks; closed by finish or close)
        self._started = time.perf_counter()
        self._seconds_before = float(self.state["seconds"])
        if not self.resumed:
            write_json_atomic(self.manifest_path, self.state)

    def _verified_state(self) -> dict:
        state = _read_json(self.manifest_path)
        if state.get("format") != SHARD_FORMAT:
            raise ResumeError(f"{self.manifest_path} is not a prediction shard manifest.")
        changed = _differences(state.get("settings") or {}, self.settings)
        if changed:
            raise ResumeError(
                f"{self.folder} holds a prediction run with other settings ({'; '.join(changed)}): "
                "give another --output-dir, or --overwrite to start again."
            )
        size = self.path.stat().st_size if self.path.is_file() else 0
        if size < state["bytes"] or _count_lines(self.path, state["bytes"]) != state["rows_written"]:
            found = _count_lines(self.path, min(size, state["bytes"])) if size else 0
            raise ResumeError(
                f"{self.path} holds {found} complete rows in its first {min(size, state['bytes'])} "
                f"bytes, but {self.manifest_path.name} records {state['rows_written']} rows in "
                f"{state['bytes']} bytes: the shard was changed or lost data; start again with "
                "--overwrite."
            )
        return state

    # ------------------------------------------------------------------ progress
    @property
    def done(self) -> bool:
        return bool(self.state["done"])

    @property
    def next_row(self) -> int:
        """The input row to read next (rows before it are written, or belong to other processes)."""
        return int(self.state["next_row"])

    @property
    def rows_written(self) -> int:
        return int(self.state["rows_written"])

    def write_chunk(self, rows: list[Mapping[str, Any]], next_row: int, num_truncated: int = 0) -> None:
        """Appends `rows` (fsynced), then records them and the input position `next_row` in the manifest."""
        data = b"".join(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n" for row in rows)
        self._handle.write(data)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        state = self.state
        for key, field in (("labels", "label"), ("bad_rows", "reason"), ("encodings", "encoding")):
            counts = Counter(state[key])
            counts.update(str(row[field]) for row in rows if row.get(field) is not None)
            state[key] = dict(sorted(counts.items()))
        state["rows_written"] += len(rows)
        state["bytes"] += len(data)
        state["next_row"] = int(next_row)
        state["num_truncated"] += int(num_truncated)
        state["seconds"] = round(self._seconds_before + time.perf_counter() - self._started, 3)
        write_json_atomic(self.manifest_path, state)

    def finish(self, rows_read: int, extra: Mapping[str, Any] | None = None) -> dict:
        """Marks the shard complete (`rows_read`: the input's rows, all processes together) and closes it."""
        self._handle.close()
        self.state.update(done=True, rows_read=int(rows_read), **dict(extra or {}))
        self.state["seconds"] = round(self._seconds_before + time.perf_counter() - self._started, 3)
        write_json_atomic(self.manifest_path, self.state)
        return self.state

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


def merge_manifests(output_dir: str | os.PathLike, world_size: int, extra: Mapping[str, Any] | None = None) -> dict:
    """Merges the shard manifests of a finished run into ``manifest.json`` (written atomically) and returns it.

    Checks that every shard is done, that they agree on the settings and the input's size, and that their rows add
    up to it (each input row is written once, by the process it belongs to).

    Raises:
        ResumeError: a shard is missing, unfinished, or disagrees with the others.
    """
    folder = Path(output_dir)
    shards = []
    for rank in range(world_size):
        stem = shard_stem(rank, world_size)
        path = folder / f"{stem}.manifest.json"
        if not path.is_file():
            raise ResumeError(f"{path} is missing: process {rank} of {world_size} has not written its shard.")
        state = _read_json(path)
        if not state.get("done"):
            raise ResumeError(
                f"{path}: process {rank} has not finished (it stopped at input row "
                f"{state.get('next_row')}); run the same command again to resume it."
            )
        shards.append((stem, state))
    settings = shards[0][1]["settings"]
    rows_read = shards[0][1]["rows_read"]
    for stem, state in shards[1:]:
        if state["settings"] != settings or state["rows_read"] != rows_read:
            raise ResumeError(f"{stem} was written by another run than {shards[0][0]} (settings or input differ).")
    rows = sum(state["rows_written"] for _, state in shards)
    if rows != rows_read:
        raise ResumeError(f"the shards hold {rows} rows but the input has {rows_read}: rows are missing or repeated.")
    totals = {key: Counter() for key in ("labels", "bad_rows", "encodings")}
    for _, state in shards:
        for key, counter in totals.items():
            counter.update(state[key])
    seconds = max(state["seconds"] for _, state in shards)
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "complete": True,
        "settings": settings,
        "world_size": world_size,
        "sharding": "row i is written by process i % world_size, in input order within its shard",
        "rows": rows,
        "rows_predicted": rows - sum(totals["bad_rows"].values()),
        **{key: dict(sorted(counter.items())) for key, counter in totals.items()},
        "num_truncated": sum(state["num_truncated"] for _, state in shards),
        "shards": [
            {
                "file": f"{stem}.jsonl",
                "rows": state["rows_written"],
                "bytes": state["bytes"],
                "seconds": state["seconds"],
                **({"parquet": state["parquet"]} if "parquet" in state else {}),
            }
            for stem, state in shards
        ],
        "seconds": seconds,
        "rows_per_second": round(rows / seconds, 2) if seconds else None,
        **dict(extra or {}),
    }
    write_json_atomic(folder / MANIFEST, manifest)
    return manifest
