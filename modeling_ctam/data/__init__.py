# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Data for CTAM: everything that turns files (or Hub datasets) into model inputs, so that training, evaluation, the
alignment and the pipeline see the same text and the same token ids.

One concept per module:

- :mod:`.labels`: label schemes (binary / three-class / raw), how each source's raw labels map onto them, and the
  class prior of labelled rows;
- :mod:`.rows`: row validation shared by every reader, :class:`DataFormatError` and :class:`LoadStats`;
- :mod:`.formats`: the data formats, the known Hub datasets and :func:`resolve_format`;
- :mod:`.readers`: the format readers (each written once) and :func:`load_examples`;
- :mod:`.parallel`: translation pairs (TALPCo, myXNLI), :func:`load_parallel`;
- :mod:`.corpus`: unlabelled sentences of one language for the alignment, read with the same readers;
- :mod:`.pairing`: balanced / few-shot subsampling and :class:`PairedDataset`;
- :mod:`.collator`: tokenisation and :class:`CTAMCollator`;
- :mod:`.burmese`: Burmese preprocessing and word segmentation (copied flat into Hub repositories).

The public names are re-exported here: ``from modeling_ctam.data import load_examples, PairedDataset, ...``.
"""

from .collator import CTAMCollator, tokenize_for_eval
from .corpus import DEDUPE_MODES, DEFAULT_CORPORA, dedupe_sentences, default_corpora, load_corpora, read_corpus
from .formats import DATA_FORMATS, HUB_DATASETS, HubDatasetSpec, resolve_format
from .labels import (
    LABEL_CHOICES,
    LABEL_SCHEMES,
    SOURCE_LABEL_KINDS,
    check_label_schemes,
    class_prior,
    id2label,
    label2id,
    label_scheme_of,
)
from .pairing import (
    PAIRING_DRIVERS,
    PAIRING_MODES,
    PairedDataset,
    PairingConfig,
    balanced_subsample,
    few_shot_subsample,
)
from .parallel import PARALLEL_FORMATS, load_parallel
from .readers import drop_labels, examples_from_hf_dataset, load_examples
from .rows import BAD_ROW_REASONS, DEFAULT_MAX_CHARS, LANGUAGES, DataFormatError, LoadStats, get_load_stats

__all__ = [
    "LABEL_SCHEMES",
    "LABEL_CHOICES",
    "DATA_FORMATS",
    "PARALLEL_FORMATS",
    "PAIRING_MODES",
    "PAIRING_DRIVERS",
    "SOURCE_LABEL_KINDS",
    "HUB_DATASETS",
    "LANGUAGES",
    "BAD_ROW_REASONS",
    "DEFAULT_MAX_CHARS",
    "DEDUPE_MODES",
    "DEFAULT_CORPORA",
    "DataFormatError",
    "LoadStats",
    "HubDatasetSpec",
    "PairingConfig",
    "PairedDataset",
    "CTAMCollator",
    "id2label",
    "label2id",
    "label_scheme_of",
    "check_label_schemes",
    "class_prior",
    "resolve_format",
    "load_examples",
    "examples_from_hf_dataset",
    "load_parallel",
    "read_corpus",
    "load_corpora",
    "dedupe_sentences",
    "default_corpora",
    "get_load_stats",
    "drop_labels",
    "balanced_subsample",
    "few_shot_subsample",
    "tokenize_for_eval",
]
