# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The training data of a run: the labelled English source, the Burmese train texts with the labels the setting
allows, the labelled Burmese dev set, and the paired training items (`modeling_ctam.data.PairedDataset`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from .arguments import DataArguments

logger = logging.getLogger(__name__)

_DATA_SUFFIXES = (".json", ".jsonl", ".csv", ".tsv", ".txt", ".pos", ".neg")


def resolve_data(spec: str, key: str, data_dir: Optional[str]) -> str:
    """A data spec as a path that exists, or a Hub id; a FileNotFoundError naming the places looked in otherwise."""
    from modeling_ctam.utils.paths import data_dir as default_data_dir
    from modeling_ctam.utils.paths import is_hub_id

    path = Path(spec).expanduser()
    if path.exists():
        return str(path)
    base = Path(data_dir).expanduser() if data_dir else default_data_dir()
    looked = [str(path)]
    if not path.is_absolute():
        candidate = base / spec
        if candidate.exists():
            return str(candidate)
        looked.append(str(candidate))
        if is_hub_id(spec) and not spec.lower().endswith(_DATA_SUFFIXES):
            return spec  # a Hub dataset id
    raise FileNotFoundError(
        f"--{key}: {spec!r} not found (looked for {' and '.join(looked)}) and it is not a Hub dataset id. Point "
        "--data_dir or CTAM_DATA_DIR at the shared data folder (it holds en/, my/, lexicon/, parallel/), or give an "
        "existing path."
    )


def _load(
    key: str, spec: str, data: DataArguments, *, data_format, split, revision, language, labelled=True, labels=None
):
    from modeling_ctam.data import load_examples

    path = resolve_data(spec, key, data.data_dir)
    try:
        dataset = load_examples(
            path,
            data_format=data_format,
            split=split,
            labels=labels or data.labels,
            on_error=data.on_error,
            language=language,
            revision=revision,
        )
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{key}: {err}") from err
    except ValueError as err:
        raise ValueError(f"{key}={spec!r}: {err}") from err
    if len(dataset) == 0:
        raise ValueError(f"{key}={spec!r}: no examples were kept (check the file and labels={data.labels!r}).")
    if labelled:
        unlabelled = sum(1 for v in dataset["label"] if v < 0)
        if unlabelled:
            raise ValueError(
                f"{key}={spec!r}: {unlabelled} of {len(dataset)} examples have no label; it must be labelled."
            )
    return dataset


def label_counts(dataset, names: list[str]) -> dict[str, int]:
    """Examples per class name, plus `unlabelled` when some have no label."""
    counts = {name: 0 for name in names}
    unlabelled = 0
    for v in dataset["label"]:
        if v is None or v < 0:
            unlabelled += 1
        else:
            counts[names[v]] += 1
    if unlabelled:
        counts["unlabelled"] = unlabelled
    return counts


def load_source(data: DataArguments, seed: int):
    """The labelled English data: concatenated, then subsampled to max_source_examples (balanced by default). With
    `use_source_labels: false` the labels are read in the source's own values (balanced on them) and then dropped."""
    import numpy as np
    from datasets import concatenate_datasets

    from modeling_ctam.data import balanced_subsample, drop_labels

    parts = [
        _load(
            f"source_data[{i}]" if len(data.source_data) > 1 else "source_data",
            spec,
            data,
            data_format=data.source_format,
            split=data.source_split,
            revision=data.source_revision,
            language="en",
            labels=None if data.use_source_labels else "raw",
        )
        for i, spec in enumerate(data.source_data)
    ]
    source = parts[0] if len(parts) == 1 else concatenate_datasets(parts)
    n = data.max_source_examples
    if n is not None and n < len(source):
        if data.balance_source:
            labels = np.asarray(source["label"])
            names = data.class_names if data.use_source_labels else [str(v) for v in sorted(set(labels.tolist()))]
            values = range(len(names)) if data.use_source_labels else sorted(set(labels.tolist()))
            k = len(names)
            counts = [int((labels == c).sum()) for c in values]
            if min(counts) == 0:
                raise ValueError(
                    f"source_data has no example of class {names[counts.index(0)]!r} "
                    f"(counts {dict(zip(names, counts))}); set balance_source=false."
                )
            per_class = min(n // k, min(counts))
            if per_class * k < n:
                logger.warning(
                    "source_data: %d balanced examples asked, the smallest class allows %d.", n, per_class * k
                )
            source = balanced_subsample(source, per_class * k, seed=seed)
        else:
            source = source.shuffle(seed=seed).select(range(n))
    return source if data.use_source_labels else drop_labels(source)


def load_target(data: DataArguments, seed: int):
    """(train, dev): Burmese train data with the labels the setting allows (-1 elsewhere), labelled dev data."""
    from modeling_ctam.data import drop_labels, few_shot_subsample

    train = _load(
        "target_train",
        data.target_train,
        data,
        data_format=data.target_format,
        split=data.target_train_split,
        revision=None,
        language="my",
        labelled=data.setting != "zero-shot",
    )
    dev = _load(
        "target_dev",
        data.target_dev,
        data,
        data_format=data.target_format,
        split=data.target_dev_split,
        revision=None,
        language="my",
    )
    if data.setting == "zero-shot":
        train = drop_labels(train)
    elif data.setting == "few-shot":
        indexed = train.add_column("_row", list(range(len(train))))
        try:
            chosen = few_shot_subsample(indexed, data.few_shot_n, seed=seed)
        except ValueError as err:
            raise ValueError(f"few_shot_n={data.few_shot_n}: {err}") from err
        keep = set(chosen["_row"])
        logger.info(
            "few-shot: %d labelled Burmese reviews per class drawn with seed %d: rows %s",
            data.few_shot_n,
            seed,
            sorted(keep),
        )
        if data.few_shot_keep_unlabelled:
            train = train.map(
                lambda ex, i: {"label": ex["label"] if i in keep else -1},
                with_indices=True,
                desc="few-shot: keep the chosen labels",
            )
        else:
            train = train.select(sorted(keep))
    return train, dev


class ConcatPairs:
    """Several paired datasets one after the other (pairing='parallel': random pairs + translation pairs)."""

    def __init__(self, parts):
        self.parts = list(parts)
        self._offsets = [0]
        for part in self.parts:
            self._offsets.append(self._offsets[-1] + len(part))

    def __len__(self):
        return self._offsets[-1]

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        for i, part in enumerate(self.parts):
            if index < self._offsets[i + 1]:
                return part[index - self._offsets[i]]
        raise IndexError(index)

    def set_epoch(self, epoch: int) -> None:
        for part in self.parts:
            part.set_epoch(epoch)


def build_datasets(data: DataArguments, seed: int) -> tuple[Any, Any, dict]:
    """(train_dataset, dev_dataset, summary): the paired training items of the setting and the Burmese dev set;
    `seed` drives the English subsample, the few-shot draw and the pairing permutations."""
    from modeling_ctam.data import PairedDataset, PairingConfig

    source = load_source(data, seed)
    target, dev = load_target(data, seed)
    names = data.class_names
    pairing = PairingConfig(
        mode="label" if data.pairing == "label" else "random",
        driver=data.pairing_driver,
        seed=seed,
        use_target_labels=data.setting != "zero-shot",
    )
    train = PairedDataset(source, target, pairing)
    summary = {
        "setting": data.setting,
        "source_examples": len(source),
        "source_labels": label_counts(source, names),
        "target_train_examples": len(target),
        "target_train_labels": label_counts(target, names)
        if data.setting != "zero-shot"
        else {"unlabelled": len(target)},
        "dev_examples": len(dev),
        "dev_labels": label_counts(dev, names),
        "train_items_per_epoch": len(train),
    }
    if data.setting == "few-shot":  # the k per class drawn with this seed, by file location (e.g. "train.json[16]")
        summary["few_shot_rows"] = {"k": data.few_shot_n, "seed": seed, "rows": _labelled_locations(target)}
    if data.pairing == "parallel":
        parallel = load_parallel_data(data)
        train = ConcatPairs(
            [train, PairedDataset(parallel=parallel, mode="parallel", seed=seed, use_target_labels=False)]
        )
        summary["parallel_pairs"] = len(parallel)
        summary["train_items_per_epoch"] = len(train)
    _add_load_stats(summary, source=source, target_train=target, dev=dev)
    return train, dev, summary


def _labelled_locations(dataset) -> list:
    """Where each labelled row came from (its `source_line`, else its index)."""
    where = dataset["source_line"] if "source_line" in dataset.column_names else list(range(len(dataset)))
    return [loc for loc, label in zip(where, dataset["label"]) if label is not None and label >= 0]


def _add_load_stats(summary: dict, **datasets) -> None:
    from modeling_ctam.data import get_load_stats

    for key, dataset in datasets.items():
        stats = get_load_stats(dataset)
        if stats is not None:
            summary[f"{key}_load"] = stats.summary()


def load_parallel_data(data: DataArguments):
    """Every `parallel_data` entry read by `load_parallel` and concatenated (columns `source_text` English,
    `target_text` Burmese)."""
    from datasets import concatenate_datasets

    from modeling_ctam.data import load_parallel

    parts = []
    for i, spec in enumerate(data.parallel_data or []):
        key = f"parallel_data[{i}]" if len(data.parallel_data) > 1 else "parallel_data"
        parts.append(load_parallel(resolve_data(spec, key, data.data_dir), on_error=data.on_error))
    if not parts:
        raise ValueError("parallel_data is empty; give translation pairs such as 'parallel/talpco'.")
    return parts[0] if len(parts) == 1 else concatenate_datasets(parts)


def build_transfer_data(
    data: DataArguments, seed: int, with_parallel: bool, heldout_data: Optional[str] = None
) -> tuple[Any, Any, dict]:
    """(TransferData, dev_dataset, summary) for the two-stage recipe: the English rows, the Burmese train texts
    (the labelled ones apart in the few-shot and supervised settings, the rest unlabelled), the pairs and, with
    `heldout_data`, labelled English rows that no stage trains on (the prior estimate's held-out set)."""
    from modeling_ctam.transfer.arguments import TransferData

    source = load_source(data, seed)
    target, dev = load_target(data, seed)
    parallel = load_parallel_data(data) if with_parallel else None
    names = data.class_names
    texts, labels = list(target["text"]), [int(y) for y in target["label"]]
    labelled = [i for i, y in enumerate(labels) if y >= 0] if data.setting != "zero-shot" else []
    chosen = set(labelled)
    transfer = TransferData(
        english_texts=list(source["text"]),
        english_labels=[int(y) for y in source["label"]],
        unlabelled=[t for i, t in enumerate(texts) if i not in chosen],
        parallel=list(zip(parallel["target_text"], parallel["source_text"])) if parallel is not None else [],
        target_texts=[texts[i] for i in labelled],
        target_labels=[labels[i] for i in labelled],
    )
    if heldout_data:
        heldout = _load(
            "heldout_data", heldout_data, data, data_format=None, split="train", revision=None, language="en"
        )
        transfer.heldout_texts, transfer.heldout_labels = list(heldout["text"]), [int(y) for y in heldout["label"]]
    summary = {
        "setting": data.setting,
        "recipe": "two-stage",
        "source_examples": len(source),
        "source_labels": label_counts(source, names),
        "target_train_examples": len(target),
        "target_train_labels": label_counts(target, names) if labelled else {"unlabelled": len(target)},
        "dev_examples": len(dev),
        "dev_labels": label_counts(dev, names),
        "parallel_pairs": len(transfer.parallel),
        "heldout_examples": len(transfer.heldout_texts),
    }
    if data.setting == "few-shot":
        summary["few_shot_rows"] = {"k": data.few_shot_n, "seed": seed, "rows": _labelled_locations(target)}
    _add_load_stats(summary, source=source, target_train=target, dev=dev)
    return transfer, dev, summary
