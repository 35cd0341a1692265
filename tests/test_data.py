"""Tests of modeling_ctam.data on the real shared datasets (CTAM_DATA_DIR) and on small bad files in tmp_path."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest
import torch

from modeling_ctam import data as D
from modeling_ctam.data import (
    LABEL_SCHEMES,
    CTAMCollator,
    DataFormatError,
    PairedDataset,
    PairingConfig,
    balanced_subsample,
    check_label_schemes,
    drop_labels,
    examples_from_hf_dataset,
    few_shot_subsample,
    get_load_stats,
    id2label,
    label2id,
    label_scheme_of,
    load_examples,
    load_parallel,
    resolve_format,
    tokenize_for_eval,
)
from modeling_ctam.utils.paths import data_path

GKLMIP_TRAIN = ("my", "gklmip", "product_sentiment_dataset_train.json")
GKLMIP_DEV = ("my", "gklmip", "product_sentiment_dataset_dev.json")
SST2_DEV = ("en", "sst2", "dev.tsv")
UCI_YELP = ("en", "uci_sentiment_labelled", "yelp_labelled.txt")


def counts(dataset) -> dict[int, int]:
    return dict(Counter(dataset["label"]))


def assert_stats_consistent(stats):
    assert stats.rows_read == stats.rows_kept + stats.num_dropped + stats.num_skipped


@pytest.fixture(scope="module")
def gklmip_binary():
    return load_examples(data_path(*GKLMIP_DEV))


@pytest.fixture(scope="module")
def uci_yelp():
    return load_examples(data_path(*UCI_YELP))


@pytest.fixture(scope="module")
def tokenizer(offline_encoder_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(offline_encoder_dir)
    assert tok.is_fast
    return tok


# ---------------------------------------------------------------------------------------------------------------------
# Real files: row counts and label distributions
# ---------------------------------------------------------------------------------------------------------------------


def test_gklmip_raw_stars():
    ds, stats = load_examples(data_path(*GKLMIP_TRAIN), labels="raw", return_stats=True)
    assert len(ds) == 2492
    assert counts(ds) == {5: 1969, 4: 182, 3: 100, 2: 73, 1: 168}
    assert ds.column_names == ["text", "label", "source_line"]
    assert ds[0]["source_line"] == "product_sentiment_dataset_train.json[0]"
    assert stats.language == "my" and stats.dropped == {} and stats.skipped == {}


def test_gklmip_binary_drops_three_stars_and_counts_them():
    ds = load_examples(data_path(*GKLMIP_TRAIN))
    assert len(ds) == 2392
    assert counts(ds) == {0: 168 + 73, 1: 182 + 1969}
    assert ds.features["label"].names == ["negative", "positive"]
    assert label_scheme_of(ds) == "binary"
    stats = get_load_stats(ds)
    assert stats.rows_read == 2492 and stats.rows_kept == 2392
    assert stats.dropped == {"3_star_in_binary": 100}
    assert stats.label_counts == {"0": 241, "1": 2151}
    assert_stats_consistent(stats)
    # the stats describe the load and survive derived datasets
    assert get_load_stats(ds.select(range(10))).rows_kept == 2392
    assert get_load_stats(ds.shuffle(seed=0)) == stats


def test_gklmip_three_class_mapping():
    train = load_examples(data_path(*GKLMIP_TRAIN), labels="three-class")
    assert len(train) == 2492
    assert counts(train) == {0: 168 + 73, 1: 100, 2: 182 + 1969}  # 1-2 / 3 / 4-5 stars
    assert label_scheme_of(train) == "three-class"
    dev = load_examples(data_path(*GKLMIP_DEV), labels="three-class")
    assert counts(dev) == {0: 24 + 11, 1: 15, 2: 26 + 282}
    five = load_examples(data_path(*GKLMIP_DEV), labels="five-class")
    assert counts(five) == {0: 24, 1: 11, 2: 15, 3: 26, 4: 282} and label_scheme_of(five) == "five-class"
    assert five["text"] == load_examples(data_path(*GKLMIP_DEV), labels="raw")["text"]
    dev_binary = load_examples(data_path(*GKLMIP_DEV))
    assert len(dev_binary) == 358 - 15


def test_gklmip_texts_go_through_burmese_preprocess():
    from modeling_ctam.data import burmese

    raw = json.loads(data_path(*GKLMIP_DEV).read_text(encoding="utf-8"))
    ds = load_examples(data_path(*GKLMIP_DEV), labels="raw")
    assert ds["text"] == [burmese.preprocess(r["text"].strip()) for r in raw]
    # loaded texts are fixed points, so re-preprocessing in eval paths gives the same text
    assert all(burmese.preprocess(t) == t for t in ds["text"][:200])


def test_zawgyi_is_converted_by_the_loader_and_eval_path(tmp_path, tokenizer):
    zawgyi, unicode = "ေနေကာင္းရဲ႕လား။", "နေကောင်းရဲ့လား။"  # the same greeting, Zawgyi then Unicode
    assert zawgyi != unicode
    path = tmp_path / "product_sentiment_dataset_z.json"
    path.write_text(json.dumps([{"bpe": [], "text": zawgyi, "label": "5"}]), encoding="utf-8")
    assert load_examples(path)["text"] == [unicode]
    from_zawgyi = tokenize_for_eval(tokenizer, [zawgyi], "my")["input_ids"]
    assert torch.equal(from_zawgyi, tokenize_for_eval(tokenizer, [unicode], "my")["input_ids"])


def test_sst2_label_first_tsv():
    dev = load_examples(data_path(*SST2_DEV))  # header "label<TAB>content"
    assert len(dev) == 872
    assert counts(dev) == {0: 428, 1: 444}
    assert dev[0] == {"text": "one long string of cliches .", "label": 0, "source_line": "dev.tsv:2"}
    test = load_examples(data_path("en", "sst2", "test.tsv"))
    assert len(test) == 1821


@pytest.mark.parametrize("name", ["yelp_labelled.txt", "amazon_cells_labelled.txt", "imdb_labelled.txt"])
def test_uci_sentences(name):
    ds = load_examples(data_path("en", "uci_sentiment_labelled", name))
    assert len(ds) == 1000
    assert counts(ds) == {0: 500, 1: 500}
    assert ds[0]["source_line"] == f"{name}:1"


def test_uci_yelp_first_rows(uci_yelp):
    assert uci_yelp[0]["text"] == "Wow... Loved this place." and uci_yelp[0]["label"] == 1
    assert uci_yelp[1]["text"] == "Crust is not good." and uci_yelp[1]["label"] == 0


def test_mr_folder_and_files_latin1():
    ds = load_examples(data_path("en", "mr"))
    assert len(ds) == 10662
    assert counts(ds) == {0: 5331, 1: 5331}
    by_line = dict(zip(ds["source_line"], ds["text"]))
    assert by_line["rt-polarity.neg:32"] == "the action clichés just pile up ."  # 0xe9 in the Latin-1 file
    assert "amélie's audrey tautou" in by_line["rt-polarity.neg:58"]
    pos = load_examples(data_path("en", "mr", "rt-polarity.pos"))
    assert len(pos) == 5331 and set(pos["label"]) == {1}
    # the same file read as UTF-8 has undecodable bytes: a clear error naming the line
    with pytest.raises(DataFormatError, match=r"^rt-polarity\.neg:32: invalid UTF-8 \(byte 0xe9"):
        load_examples(data_path("en", "mr", "rt-polarity.neg"), encoding="utf-8")


def test_format_autodetection_and_hub_routing(tmp_path):
    assert resolve_format(data_path(*GKLMIP_TRAIN)) == "gklmip-json"
    assert resolve_format(data_path(*SST2_DEV)) == "sst2-tsv"
    assert resolve_format(data_path(*UCI_YELP)) == "uci-tsv"
    assert resolve_format(data_path("en", "mr")) == "mr"
    assert resolve_format(data_path("en", "mr", "rt-polarity.neg")) == "mr"
    for hub_id in ("SEACrowd/gklmip_sentiment", "fancyzhx/yelp_polarity", "Yelp/yelp_review_full"):
        assert resolve_format(hub_id) == "hub"
    # a missing local file is not mistaken for a Hub id
    with pytest.raises(FileNotFoundError):
        resolve_format("nowhere/train.tsv")
    with pytest.raises(FileNotFoundError):
        load_examples("nowhere-at-all")
    with pytest.raises(ValueError, match="cannot tell"):
        resolve_format(data_path("en", "uci_sentiment_labelled", "readme.txt"))
    with pytest.raises(ValueError, match="data_format="):
        resolve_format(data_path(*SST2_DEV), "yaml")
    # an explicit format wins over the name
    assert resolve_format(data_path(*SST2_DEV), "csv") == "csv"


# ---------------------------------------------------------------------------------------------------------------------
# Label schemes
# ---------------------------------------------------------------------------------------------------------------------


def test_label_scheme_helpers():
    assert LABEL_SCHEMES == {
        "binary": ["negative", "positive"],
        "three-class": ["negative", "neutral", "positive"],
        "five-class": ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"],
    }
    assert id2label("binary") == {0: "negative", 1: "positive"}
    assert label2id("three-class") == {"negative": 0, "neutral": 1, "positive": 2}
    with pytest.raises(ValueError, match="Unknown label scheme"):
        id2label("raw")


@pytest.mark.parametrize("parts", [SST2_DEV, UCI_YELP, ("en", "mr")])
def test_binary_source_cannot_be_three_class(parts):
    with pytest.raises(ValueError, match="binary English data cannot train a three-class"):
        load_examples(data_path(*parts), labels="three-class")
    with pytest.raises(ValueError, match="binary English data cannot train a five-class.*use_source_labels: false"):
        load_examples(data_path(*parts), labels="five-class")


def test_check_label_schemes():
    check_label_schemes("binary", "binary")
    check_label_schemes("binary", None)
    with pytest.raises(ValueError, match="no neutral"):
        check_label_schemes("binary", "three-class")
    with pytest.raises(ValueError, match="Label schemes differ"):
        check_label_schemes("three-class", "binary")


def test_hub_datasets_labels_without_network():
    """Hub ids go to datasets.load_dataset; the conversion of what it returns is tested on real in-memory Datasets."""
    from datasets import ClassLabel, Dataset, Features, Value

    polarity = Dataset.from_dict(
        {"text": ["bad food", "great food", "meh"], "label": [0, 1, 0]},
        features=Features({"text": Value("string"), "label": ClassLabel(names=["1", "2"])}),
    )
    spec = D.HUB_DATASETS["fancyzhx/yelp_polarity"]
    ds = examples_from_hf_dataset(polarity, name="fancyzhx/yelp_polarity:train", spec=spec)
    assert ds["label"] == [0, 1, 0]  # class '1' (stars 1-2) is negative, '2' positive
    assert ds[1]["source_line"] == "fancyzhx/yelp_polarity:train:1"
    with pytest.raises(ValueError, match="three-class"):
        examples_from_hf_dataset(polarity, spec=D.HUB_DATASETS["fancyzhx/yelp_polarity"], labels="three-class")

    full = Dataset.from_dict(
        {"text": [f"review {i}" for i in range(5)], "label": [0, 1, 2, 3, 4]},
        features=Features(
            {"text": Value("string"), "label": ClassLabel(names=["1 star", "2 star", "3 stars", "4 stars", "5 stars"])}
        ),
    )
    spec = D.HUB_DATASETS["Yelp/yelp_review_full"]
    binary = examples_from_hf_dataset(full, spec=spec)
    assert binary["label"] == [0, 0, 1, 1] and get_load_stats(binary).dropped == {"3_star_in_binary": 1}
    assert examples_from_hf_dataset(full, spec=spec, labels="three-class")["label"] == [0, 0, 1, 2, 2]
    assert examples_from_hf_dataset(full, spec=spec, labels="five-class")["label"] == [0, 1, 2, 3, 4]
    assert examples_from_hf_dataset(full, spec=spec, labels="raw")["label"] == [1, 2, 3, 4, 5]
    # unknown Hub datasets with more than two classes need source_labels=
    with pytest.raises(ValueError, match="source_labels="):
        examples_from_hf_dataset(full)


# ---------------------------------------------------------------------------------------------------------------------
# Bad rows: errors name file and line; skip mode counts
# ---------------------------------------------------------------------------------------------------------------------

GOOD_SST2 = "label\tsentence\n1\tgood film\n0\tbad film\n"

BAD_ROWS = [
    # (file name, content, kwargs, reason, expected message regex)
    ("bad.tsv", GOOD_SST2 + "1\tgood\textra\n", {}, "wrong_column_count", r"^bad\.tsv:4: expected 2 tab-separated"),
    (
        "bad.tsv",
        GOOD_SST2 + "x\tsome text\n",
        {},
        "unknown_label",
        r"^bad\.tsv:4: unknown label 'x' \(expected one of 0, 1\)",
    ),
    ("x_labelled.txt", "nice\t1\nawful\t \n", {}, "unknown_label", r"^x_labelled\.txt:2: unknown label ' '"),
    ("bad.tsv", GOOD_SST2 + "1\t   \n", {}, "empty_text", r"^bad\.tsv:4: empty or whitespace-only text"),
    (
        "bad.tsv",
        GOOD_SST2 + "1\t" + "a" * 50 + "\n",
        {"max_chars": 20},
        "text_too_long",
        r"^bad\.tsv:4: text has 50 characters, over max_chars=20",
    ),
    (
        "bad.tsv",
        GOOD_SST2.encode() + b"1\tcaf\xe9 au lait\n",
        {},
        "invalid_utf8",
        r"^bad\.tsv:4: invalid UTF-8 \(byte 0xe9",
    ),
    (
        "x_labelled.txt",
        "nice\t1\nawful\t6\n",
        {},
        "unknown_label",
        r"^x_labelled\.txt:2: unknown label '6' \(expected one of 0, 1\)",
    ),
    ("x_labelled.txt", "nice\t1\nawful\tpos\n", {}, "unknown_label", r"^x_labelled\.txt:2: unknown label 'pos'"),
    ("x_labelled.txt", "nice\t1\nno label here\n", {}, "wrong_column_count", r"^x_labelled\.txt:2: expected 2"),
    (
        "product_sentiment_dataset_x.json",
        json.dumps([{"text": "a", "label": "5"}, {"text": "b", "label": "6"}]),
        {},
        "unknown_label",
        r"^product_sentiment_dataset_x\.json\[1\]: unknown label '6' \(expected one of 1, 2, 3, 4, 5\)",
    ),
    (
        "product_sentiment_dataset_x.json",
        json.dumps([{"text": "a", "label": "5"}, {"bpe": [], "label": "4"}]),
        {},
        "missing_field",
        r"^product_sentiment_dataset_x\.json\[1\]: missing field 'text'",
    ),
    (
        "d.jsonl",
        '{"text": "fine", "label": 1}\n{"text": "oops", "label": 1\n',
        {},
        "bad_record",
        r"^d\.jsonl:2: invalid JSON",
    ),
    ("d.jsonl", '{"text": "fine", "label": 1}\n{"text": "", "label": 0}\n', {}, "empty_text", r"^d\.jsonl:2: empty"),
    ("d.csv", 'text,label\n"fine, really",1\nonly one\n', {}, "wrong_column_count", r"^d\.csv:3: expected 2 columns"),
    ("rt-polarity.pos", "a fine film\n \t \n", {}, "empty_text", r"^rt-polarity\.pos:2: empty or whitespace-only"),
]


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("name,content,kwargs,reason,message", BAD_ROWS)
def test_bad_row_raises_with_file_and_line(tmp_path, name, content, kwargs, reason, message):
    path = _write(tmp_path, name, content)
    with pytest.raises(DataFormatError, match=message) as info:
        load_examples(path, **kwargs)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("name,content,kwargs,reason,message", BAD_ROWS)
def test_bad_row_skip_mode_counts(tmp_path, caplog, name, content, kwargs, reason, message):
    path = _write(tmp_path, name, content)
    with caplog.at_level(logging.WARNING, logger="modeling_ctam.data"):
        ds, stats = load_examples(path, on_error="skip", return_stats=True, **kwargs)
    assert stats.skipped == {reason: 1}
    assert len(ds) == stats.rows_kept == stats.rows_read - 1
    assert_stats_consistent(stats)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 1 bad rows" in warnings[0].getMessage()


def test_skip_mode_summarises_several_reasons(tmp_path, caplog):
    lines = ["label\tsentence"] + [f"{i % 2}\tgood text {i}" for i in range(10)]
    lines[3] = "x\tunknown"
    lines[5] = "1\t   "
    lines[7] = "1\ta\tb"
    lines[8] = "7\talso unknown"
    path = _write(tmp_path, "mixed.tsv", "\n".join(lines) + "\n\n")
    with caplog.at_level(logging.WARNING, logger="modeling_ctam.data"):
        ds = load_examples(path, on_error="skip")
    stats = get_load_stats(ds)
    assert stats.skipped == {"unknown_label": 2, "empty_text": 1, "wrong_column_count": 1}
    assert stats.rows_read == 10 and stats.rows_kept == 6 == len(ds) and stats.blank_lines == 1
    assert stats.first_skipped[0].startswith("mixed.tsv:4: unknown label 'x'")
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = warning.getMessage()
    assert "skipped 4 bad rows" in text and "unknown_label: 2" in text and "mixed.tsv:9" in text
    # the kept rows keep their provenance
    assert ds["source_line"] == [f"mixed.tsv:{n}" for n in (2, 3, 5, 7, 10, 11)]


def test_file_level_errors_always_raise(tmp_path):
    no_header = _write(tmp_path, "nohead.tsv", "1\tgood\n0\tbad\n")
    with pytest.raises(DataFormatError, match=r"^nohead\.tsv:1: expected a header"):
        load_examples(no_header, data_format="sst2-tsv", on_error="skip")
    broken = _write(tmp_path, "broken.json", '[{"text": "a", "label": 1},\n {"text": "b" "label": 0}]')
    with pytest.raises(DataFormatError, match=r"^broken\.json:2:\d+: invalid JSON"):
        load_examples(broken, on_error="skip")
    csv_path = _write(tmp_path, "cols.csv", "review,stars\nfine,5\n")
    with pytest.raises(DataFormatError, match=r"^cols\.csv:1: no column 'text'"):
        load_examples(csv_path)


def test_generic_csv_json_jsonl_with_column_mapping(tmp_path):
    csv_path = _write(tmp_path, "reviews.csv", 'review,sentiment\n"good, very good",pos\nawful,neg\n')
    ds = load_examples(csv_path, text_column="review", label_column="sentiment", label_map={"neg": 0, "pos": 1})
    assert ds["text"] == ["good, very good", "awful"] and ds["label"] == [1, 0]
    with pytest.raises(DataFormatError, match=r"^reviews\.csv:2: unknown label 'pos' \(expected one of 0, 1\)"):
        load_examples(csv_path, text_column="review", label_column="sentiment")

    stars = _write(tmp_path, "stars.json", json.dumps([{"body": "ok", "stars": 3}, {"body": "wow", "stars": 5}]))
    ds = load_examples(stars, text_column="body", label_column="stars", source_labels="stars", labels="three-class")
    assert ds["label"] == [1, 2] and ds["source_line"] == ["stars.json[0]", "stars.json[1]"]

    unlabelled = _write(tmp_path, "u.jsonl", '{"text": "one"}\n\n{"text": "two"}\n')
    ds = load_examples(unlabelled, label_column=None)
    assert ds["label"] == [-1, -1] and ds["source_line"] == ["u.jsonl:1", "u.jsonl:3"]


# ---------------------------------------------------------------------------------------------------------------------
# Subsampling
# ---------------------------------------------------------------------------------------------------------------------


def test_balanced_subsample():
    sst2 = load_examples(data_path(*SST2_DEV))
    sample = balanced_subsample(sst2, 400, seed=3)
    assert len(sample) == 400 and counts(sample) == {0: 200, 1: 200}
    assert len(set(sample["source_line"])) == 400  # without replacement
    assert balanced_subsample(sst2, 400, seed=3)["source_line"] == sample["source_line"]
    assert balanced_subsample(sst2, 400, seed=4)["source_line"] != sample["source_line"]
    with pytest.raises(ValueError, match="class 0 has only 428"):
        balanced_subsample(sst2, 900, seed=0)
    with pytest.raises(ValueError, match="not divisible"):
        balanced_subsample(sst2, 401)
    with pytest.raises(ValueError, match="unlabelled"):
        balanced_subsample(drop_labels(sst2), 10)


def test_few_shot_subsample():
    gklmip = load_examples(data_path(*GKLMIP_TRAIN), labels="three-class")
    few = few_shot_subsample(gklmip, 16, seed=0)
    assert len(few) == 48 and counts(few) == {0: 16, 1: 16, 2: 16}
    assert few_shot_subsample(gklmip, 16, seed=0)["text"] == few["text"]
    with pytest.raises(ValueError, match="class 0 has only 241"):
        few_shot_subsample(gklmip, 250)


# ---------------------------------------------------------------------------------------------------------------------
# Pairing
# ---------------------------------------------------------------------------------------------------------------------


def test_pairing_config_validation():
    with pytest.raises(ValueError, match="PairingConfig.mode"):
        PairingConfig(mode="nearest")
    with pytest.raises(ValueError, match="PairingConfig.driver"):
        PairingConfig(driver="both")
    with pytest.raises(ValueError, match="seed"):
        PairingConfig(seed="1")


def test_label_mode_pairs_same_labels(uci_yelp, gklmip_binary):
    for driver, length in (("source", len(uci_yelp)), ("target", len(gklmip_binary))):
        pairs = PairedDataset(uci_yelp, gklmip_binary, mode="label", driver=driver, seed=0)
        assert len(pairs) == length
        items = [pairs[i] for i in range(len(pairs))]
        assert all(item["label"] == item["source_label"] for item in items)
        assert set(items[0].keys()) == {"text", "label", "source_text", "source_label"}
    # driver=source: 500 English negatives cycle through the 35 Burmese negatives, each used before any repeats
    pairs = PairedDataset(uci_yelp, gklmip_binary, mode="label", seed=0)
    negatives = [pairs.partner(i) for i in range(len(uci_yelp)) if uci_yelp[i]["label"] == 0]
    n_neg = counts(gklmip_binary)[0]
    assert len(set(negatives[:n_neg])) == n_neg


def test_label_mode_needs_target_labels_and_same_scheme(uci_yelp, gklmip_binary):
    with pytest.raises(ValueError, match="needs labels on every target"):
        PairedDataset(uci_yelp, drop_labels(gklmip_binary), mode="label")
    three = load_examples(data_path(*GKLMIP_DEV), labels="three-class")
    with pytest.raises(ValueError, match="binary English data cannot train a three-class"):
        PairedDataset(uci_yelp, three, mode="label")
    with pytest.raises(ValueError, match="binary English data cannot train a three-class"):
        PairedDataset(uci_yelp, three, mode="random")
    # zero-shot: target labels unused, so no scheme clash and labels are -100
    pairs = PairedDataset(uci_yelp, three, mode="random", use_target_labels=False)
    assert {pairs[i]["label"] for i in range(50)} == {-100}


def test_random_mode_epochs_and_seed(uci_yelp, gklmip_binary):
    pairs = PairedDataset(uci_yelp, gklmip_binary, seed=7)  # random, driver=source
    assert len(pairs) == 1000
    epoch0 = [pairs.partner(i) for i in range(len(pairs))]
    m = len(gklmip_binary)
    assert sorted(epoch0[:m]) == list(range(m))  # a permutation of the Burmese set, then cycled
    assert pairs[5]["text"] == gklmip_binary[epoch0[5]]["text"]
    assert pairs[5]["source_text"] == uci_yelp[5]["text"] and pairs[5]["source_label"] == uci_yelp[5]["label"]
    pairs.set_epoch(1)
    epoch1 = [pairs.partner(i) for i in range(len(pairs))]
    assert epoch1 != epoch0
    pairs.set_epoch(0)
    assert [pairs.partner(i) for i in range(len(pairs))] == epoch0
    same_seed = PairedDataset(uci_yelp, gklmip_binary, seed=7)
    assert [same_seed[i] for i in range(20)] == [pairs[i] for i in range(20)]
    other_seed = PairedDataset(uci_yelp, gklmip_binary, seed=8)
    assert [other_seed.partner(i) for i in range(len(pairs))] != epoch0
    by_target = PairedDataset(uci_yelp, gklmip_binary, driver="target", seed=7)
    assert len(by_target) == m
    assert by_target[0]["text"] == gklmip_binary[0]["text"]


def test_parallel_pairs_are_translations_by_id():
    from modeling_ctam.data import burmese

    talpco = load_parallel(data_path("parallel", "talpco"))
    stats = get_load_stats(talpco)
    assert stats.rows_read == 1372 and stats.skipped == {}
    assert_stats_consistent(stats)

    def by_id(name):
        rows = data_path("parallel", "talpco", name).read_text(encoding="utf-8").splitlines()
        return {r.split("\t")[0]: r.split("\t")[1].strip() for r in rows}

    english, myanmar = by_id("data_eng.txt"), by_id("data_myn.txt")
    pairs = PairedDataset(mode="parallel", parallel=talpco)
    assert len(pairs) == len(talpco)
    for i in (0, 100, 700, len(talpco) - 1):
        pair_id = talpco[i]["pair_id"]
        item = pairs[i]
        assert item["source_text"] == english[pair_id]
        assert item["text"] == burmese.preprocess(myanmar[pair_id])
        assert item["label"] == -100 and item["source_label"] == -100
    assert talpco[0]["source_text"] == "Mr Tanaka is not a student."


def test_myxnli_pairs():
    xnli = load_parallel(data_path("parallel", "myxnli", "my.genre.dev.tsv"))
    stats = get_load_stats(xnli)
    assert stats.rows_read == 2 * 2490
    assert stats.rows_kept + stats.dropped.get("duplicate_pair", 0) == 2 * 2490
    rows = data_path("parallel", "myxnli", "my.genre.dev.tsv").read_text(encoding="utf-8").splitlines()
    first = rows[1].split("\t")
    assert xnli[0]["source_text"] == first[2]
    assert xnli[1]["source_text"] == first[3]
    assert xnli[0]["source_line"] == "my.genre.dev.tsv:2:sentence1"


def test_parallel_unaligned_ids(tmp_path):
    folder = tmp_path / "talpco"
    folder.mkdir()
    (folder / "data_eng.txt").write_text("1\tHello.\n2\tThanks.\n3\tBye.\n", encoding="utf-8")
    (folder / "data_myn.txt").write_text("1\tမင်္ဂလာပါ။\n3\tသွားပြီ။\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"^data_eng\.txt:2: id '2' has no Burmese sentence"):
        load_parallel(folder)
    ds = load_parallel(folder, on_error="skip")
    assert ds["pair_id"] == ["1", "3"] and get_load_stats(ds).skipped == {"unaligned_id": 1}


def test_paired_dataset_input_errors(uci_yelp, gklmip_binary):
    with pytest.raises(ValueError, match="needs parallel="):
        PairedDataset(uci_yelp, gklmip_binary, mode="parallel")
    with pytest.raises(ValueError, match="needs source="):
        PairedDataset(None, gklmip_binary)


# ---------------------------------------------------------------------------------------------------------------------
# Collator and eval tokenisation
# ---------------------------------------------------------------------------------------------------------------------


def test_collator_keys_shapes_padding(tokenizer, uci_yelp, gklmip_binary):
    pairs = PairedDataset(uci_yelp, drop_labels(gklmip_binary), seed=0)
    items = [pairs[i] for i in range(6)]
    batch = CTAMCollator(tokenizer, max_length=512)(items)
    assert set(batch) == {
        "input_ids",
        "attention_mask",
        "labels",
        "source_input_ids",
        "source_attention_mask",
        "source_labels",
    }
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.long for v in batch.values())
    assert batch["labels"].tolist() == [-100] * 6
    assert batch["source_labels"].tolist() == [item["source_label"] for item in items]
    for prefix, key in (("", "text"), ("source_", "source_text")):
        ids, mask = batch[f"{prefix}input_ids"], batch[f"{prefix}attention_mask"]
        assert ids.shape == mask.shape and ids.shape[0] == 6
        lengths = [len(tokenizer(item[key])["input_ids"]) for item in items]
        assert ids.shape[1] == max(lengths)  # dynamic padding to the longest
        assert mask.sum(1).tolist() == lengths
        assert (ids[mask == 0] == tokenizer.pad_token_id).all()


def test_collator_plain_items_and_labels(tokenizer, gklmip_binary):
    batch = CTAMCollator(tokenizer)([gklmip_binary[i] for i in range(4)])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["labels"].tolist() == gklmip_binary["label"][:4]


def test_collator_truncation_warns_once(tokenizer, uci_yelp, caplog):
    collator = CTAMCollator(tokenizer, max_length=8, language="en")
    items = [uci_yelp[i] for i in range(10)]
    long_ones = sum(len(tokenizer(item["text"])["input_ids"]) > 8 for item in items)
    assert long_ones > 0
    with caplog.at_level(logging.WARNING, logger="modeling_ctam.data"):
        batch = collator(items)
        collator(items)
    assert batch["input_ids"].shape[1] == 8
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"{long_ones} of 10" in warnings[0].getMessage()
    assert collator.num_truncated == 2 * long_ones


def test_collator_word_ids(tokenizer, uci_yelp, gklmip_binary):
    pairs = PairedDataset(uci_yelp, gklmip_binary, seed=0)
    items = [pairs[i] for i in range(5)]
    batch = CTAMCollator(tokenizer, max_length=64, word_ids=True)(items)
    assert set(batch) >= {"word_ids", "source_word_ids"}
    for prefix, key in (("", "text"), ("source_", "source_text")):
        word_ids, mask = batch[f"{prefix}word_ids"], batch[f"{prefix}attention_mask"]
        assert word_ids.shape == batch[f"{prefix}input_ids"].shape and word_ids.dtype == torch.long
        assert (word_ids[mask == 0] == -1).all()  # padding
        assert (word_ids[:, 0] == -1).all()  # <s>
        for row, m in zip(word_ids, mask):
            real = row[: int(m.sum())]
            assert real[-1] == -1  # </s>
            words = real[real >= 0]
            assert words[0] == 0 and (words.diff() >= 0).all()
    # Burmese word ids come from the segmenter (burmese.batch_word_ids), English ones from the fast tokenizer
    from modeling_ctam.data import burmese

    segmented = burmese.batch_word_ids(tokenizer, [item["text"] for item in items], max_length=64)
    for i in range(5):
        n = len(segmented["word_ids"][i])
        assert batch["word_ids"][i, :n].tolist() == segmented["word_ids"][i]
    # English word ids are the fast tokenizer's
    english = tokenizer([item["source_text"] for item in items], truncation=True, max_length=64)
    expected = [[-1 if w is None else w for w in english.word_ids(i)] for i in range(5)]
    for i in range(5):
        n = len(expected[i])
        assert batch["source_word_ids"][i, :n].tolist() == expected[i]


def test_tokenize_for_eval_matches_training(tokenizer):
    raw = [r["text"] for r in json.loads(data_path(*GKLMIP_DEV).read_text(encoding="utf-8"))[:8]]
    loaded = load_examples(data_path(*GKLMIP_DEV), labels="raw").select(range(8))
    train_batch = CTAMCollator(tokenizer, max_length=128)(list(loaded))
    eval_batch = tokenize_for_eval(tokenizer, raw, "my", max_length=128)
    assert set(eval_batch) == {"input_ids", "attention_mask"}
    assert torch.equal(train_batch["input_ids"], eval_batch["input_ids"])
    assert torch.equal(train_batch["attention_mask"], eval_batch["attention_mask"])
    single = tokenize_for_eval(tokenizer, "good film", "en", word_ids=True)
    assert single["input_ids"].shape[0] == 1 and single["word_ids"].shape == single["input_ids"].shape


def test_collator_validation(tokenizer):
    with pytest.raises(ValueError, match="max_length"):
        CTAMCollator(tokenizer, max_length=1)
    with pytest.raises(ValueError, match="language"):
        CTAMCollator(tokenizer, language="fr")
    with pytest.raises(ValueError, match="some items have 'source_text'"):
        CTAMCollator(tokenizer)([{"text": "a", "source_text": "b"}, {"text": "c"}])
