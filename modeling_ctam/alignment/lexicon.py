# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Bilingual dictionaries for the VecMap alignment: readers, seeds and the Burmese BLI split.

There is no Burmese bilingual-lexicon-induction dictionary (MUSE has none), so CTAM builds one from the two word
lists in the shared data (method.md section 2):

- myPar ``lexicon/English-Myanmar-one-to-one.ver0.9.txt``: ``English | Burmese`` per line, the Burmese side
  word-segmented with spaces;
- myth ``lexicon/open-lexicon.my-en.zawgyi.tsv``: a phrasebook TSV with header ``Genre English Pronunciation
  Burmese`` whose Burmese column is Zawgyi-encoded (converted with :func:`modeling_ctam.data.burmese.preprocess`).

Only single-word pairs are kept: one English word, and one Burmese word after dropping a few grammatical particles
(:data:`BURMESE_PARTICLES`, e.g. ``angry | စိတ်ဆိုး သော`` -> ``angry / စိတ်ဆိုး``). :func:`split_lexicon` splits the
pairs into seed / dev / test parts that share no English and no Burmese word (connected components of the
translation graph are kept whole), with a fixed random seed; :func:`write_pairs_tsv` writes a part as a TSV with the
header ``english<TAB>burmese``, which every reader here accepts. ``python -m modeling_ctam.alignment.lexicon
--output-dir DIR`` writes the default split.

Seeds also come from identical strings (:func:`identical_pairs`) and numerals (:func:`numeral_pairs`, Burmese digits
U+1040..U+1049 read as ASCII digits). BLI evaluation itself lives in :mod:`.bli`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import random
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch

from ..data import burmese as burmese_mod

logger = logging.getLogger(__name__)

PAIR_SEPARATOR = " | "
BURMESE_DIGITS = "\u1040\u1041\u1042\u1043\u1044\u1045\u1046\u1047\u1048\u1049"  # ၀..၉
_TO_ASCII_DIGITS = str.maketrans(BURMESE_DIGITS, "0123456789")
BURMESE_PARTICLES = frozenset({"သည်", "သော", "များ", "လဲ", "လား"})
"""Grammatical particles dropped from a dictionary's Burmese side before the one-word test: sentence-final verb
marker, adjective marker, plural marker, question particles."""
BURMESE_PUNCTUATION = frozenset({"။", "၊"})
_NUMERAL = re.compile(r"^\d+(?:[.,]\d+)*$")
_EDGE_PUNCT = re.compile(r"^[\s\"'“”‘’(\[]+|[\s\"'“”‘’)\].,!?;:]+$")
DEFAULT_SPLIT_FRACTIONS = (0.4, 0.3, 0.3)
DEFAULT_SPLIT_SEED = 13
SPLIT_NAMES = ("seed", "dev", "test")
MYPAR_FILE = ("lexicon", "English-Myanmar-one-to-one.ver0.9.txt")
MYTH_FILE = ("lexicon", "open-lexicon.my-en.zawgyi.tsv")


class LexiconFormatError(ValueError):
    """A dictionary file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class LexiconEntry:
    """One dictionary pair.

    Args:
        english (`str`): the English word, lower-cased.
        burmese (`str`): the Burmese word (Unicode, normalised by `burmese.preprocess`).
        origin (`str`): `file:line` it was read from.
    """

    english: str
    burmese: str
    origin: str = ""

    @property
    def pair(self) -> tuple[str, str]:
        return (self.english, self.burmese)


# --------------------------------------------------------------------------------------------------------------------
# text and word normalisation
# --------------------------------------------------------------------------------------------------------------------


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """Read a whole text file, with an error naming the file, byte offset and line when it does not decode.

    Args:
        path (`str` or `Path`): the file.
        encoding (`str`, *optional*, defaults to `"utf-8"`): e.g. `"latin-1"` for the MR corpus. A UTF-8 BOM is
            dropped.

    Raises:
        UnicodeDecodeError: with a message like `file.txt: not valid utf-8 at byte 1234 (line 17, column 5) ...`.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise UnicodeDecodeError(
            err.encoding,
            err.object,
            err.start,
            err.end,
            f"{path}: not valid {encoding} at byte {err.start} (line {line}, column {column}): {err.reason}. "
            "Convert the file to UTF-8, or pass its real encoding (e.g. encoding='latin-1' for the MR corpus).",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def normalize_english(word: str) -> str:
    """An English dictionary or corpus word as stored in the vocabulary: stripped of edge punctuation, lower-case."""
    return _EDGE_PUNCT.sub("", word.strip()).lower()


def normalize_burmese(text: str, convert_zawgyi: bool = False) -> str:
    """A Burmese word as stored in the vocabulary: `burmese.preprocess` (normalisation, and Zawgyi to Unicode when
    `convert_zawgyi`), lower-cased (for Latin letters inside Burmese text).

    Zawgyi detection is off by default: it is unreliable on one or two syllables (see `modeling_ctam.data.burmese`), so
    files known to be Zawgyi (the myth lexicon) are converted a whole cell at a time instead.
    """
    return burmese_mod.preprocess(text, convert_zawgyi=convert_zawgyi).strip().lower()


def burmese_digits_to_ascii(text: str) -> str:
    """Replace Burmese digits U+1040..U+1049 by ASCII 0..9."""
    return text.translate(_TO_ASCII_DIGITS)


def _pair_of_words(
    english_words: list[str], burmese_words: list[str], single_words: bool, strip_particles: bool
) -> tuple[str, str] | None:
    """One dictionary pair from the words of a line: single words only (particles stripped), or whole phrases."""
    if single_words:
        if len(english_words) != 1:
            return None
        english = normalize_english(english_words[0])
        burmese = _one_burmese_word(burmese_words, strip_particles)
        return None if not english or burmese is None else (english, burmese)
    return " ".join(normalize_english(w) for w in english_words), " ".join(w for w in burmese_words if w)


def _one_burmese_word(words: Sequence[str], strip_particles: bool) -> str | None:
    kept = [w for w in words if w and w not in BURMESE_PUNCTUATION]
    if strip_particles and len(kept) > 1:
        kept = [w for w in kept if w not in BURMESE_PARTICLES]
    return kept[0] if len(kept) == 1 else None


# --------------------------------------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------------------------------------


class LexiconEntries(list):
    """The entries a reader kept (a `list` of [`LexiconEntry`]), with `repeated`: how many exact repeats of a pair
    the file held and were merged into its first occurrence."""

    repeated: int = 0


class _Collector:
    """Collects pairs, merging exact repeats (per file) and counting them; `duplicates="error"` refuses them, naming
    file and line; `"warn"` logs one line with the count."""

    def __init__(self, path: Path, duplicates: str):
        if duplicates not in ("error", "warn", "ignore"):
            raise ValueError(f"duplicates={duplicates!r}: use 'error', 'warn' or 'ignore'.")
        self.path, self.duplicates = path, duplicates
        self.seen: dict[tuple[str, str], int] = {}
        self.entries: list[LexiconEntry] = []
        self.n_duplicates = 0

    def add(self, english: str, burmese: str, line: int) -> None:
        key = (english, burmese)
        if key in self.seen:
            self.n_duplicates += 1
            message = (
                f"{self.path.name}:{line}: duplicate pair {english!r} / {burmese!r} (first at line {self.seen[key]})"
            )
            if self.duplicates == "error":
                raise LexiconFormatError(
                    f"{self.path}:{line}: duplicate pair {english!r} / {burmese!r} (first at "
                    f"line {self.seen[key]}); remove it or read with duplicates='warn'."
                )
            if self.n_duplicates == 1:
                self.first_repeat = message
            return
        self.seen[key] = line
        self.entries.append(LexiconEntry(english, burmese, f"{self.path.name}:{line}"))

    def finish(self) -> LexiconEntries:
        """The kept entries, with the repeat count; logs it once (`duplicates="warn"`)."""
        if self.n_duplicates and self.duplicates == "warn":
            logger.warning(
                "%s: merged %d repeated pairs into their first occurrence (the first: %s); %d pairs kept.",
                self.path.name,
                self.n_duplicates,
                self.first_repeat,
                len(self.entries),
            )
        entries = LexiconEntries(self.entries)
        entries.repeated = self.n_duplicates
        return entries


def read_mypar(
    path: str | Path,
    single_words: bool = True,
    strip_particles: bool = True,
    duplicates: str = "warn",
) -> list[LexiconEntry]:
    """Read a myPar-style word list: `English | Burmese` per line, Burmese side segmented with spaces.

    Args:
        path (`str` or `Path`): the file (UTF-8).
        single_words (`bool`, *optional*, defaults to `True`): keep only pairs with one English word and (after
            `strip_particles`) one Burmese word; others are skipped silently. `False` keeps every line, words joined
            by single spaces.
        strip_particles (`bool`, *optional*, defaults to `True`): drop :data:`BURMESE_PARTICLES` from a multi-word
            Burmese side before the one-word test.
        duplicates (`str`, *optional*, defaults to `"warn"`): an exact repeat of a pair: `"error"`, `"warn"` (log
            it with both line numbers, keep the first) or `"ignore"`. The shipped myPar file repeats 5 lines.

    Raises:
        LexiconFormatError: a line that is not `English | Burmese` (`lexicon.txt:17: expected 'English | Burmese'`).
        UnicodeDecodeError: the file is not UTF-8 (names file, byte offset and line).
    """
    path = Path(path)
    text = read_text(path)
    out = _Collector(path, duplicates)
    for number, raw in enumerate(text.split("\n"), 1):
        raw = raw.rstrip("\r")
        if not raw.strip():
            continue
        parts = raw.split("|")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise LexiconFormatError(f"{path}:{number}: expected 'English | Burmese', got {raw[:80]!r}.")
        english_words = parts[0].split()
        burmese_words = normalize_burmese(parts[1]).split()  # myPar is Unicode: no Zawgyi detection
        pair = _pair_of_words(english_words, burmese_words, single_words, strip_particles)
        if pair is not None:
            out.add(*pair, number)
    return out.finish()


def read_myth(
    path: str | Path,
    single_words: bool = True,
    strip_particles: bool = True,
    duplicates: str = "warn",
    burmese_encoding: str = "auto",
) -> list[LexiconEntry]:
    """Read the myth phrasebook TSV (header `Genre English Pronunciation Burmese`, Burmese in Zawgyi or Unicode).

    The Burmese column is converted from Zawgyi when the file is Zawgyi, normalised (`burmese.preprocess`) and
    segmented (`burmese.segment_words`). Zawgyi detection is done once for the whole column (the detector is
    unreliable on one-word cells such as `ေစ်း`), then every cell is converted. With
    `single_words`, rows whose English side is one word and whose Burmese side is one word after dropping
    punctuation and :data:`BURMESE_PARTICLES` are kept (e.g. `what? | ဘာလဲ` -> `what / ဘာ`).

    Args:
        path (`str` or `Path`): the TSV (UTF-8).
        single_words (`bool`, *optional*, defaults to `True`): see above; `False` keeps every row, segmented.
        strip_particles (`bool`, *optional*, defaults to `True`): see :func:`read_mypar`.
        duplicates (`str`, *optional*, defaults to `"warn"`): see :func:`read_mypar`.
        burmese_encoding (`str`, *optional*, defaults to `"auto"`): `"auto"` (detect on the whole column),
            `"zawgyi"` or `"unicode"`.

    Raises:
        LexiconFormatError: missing `English`/`Burmese` header columns, or a row with too few fields.
    """
    path = Path(path)
    rows = list(csv.reader(io.StringIO(read_text(path)), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise LexiconFormatError(f"{path}:1: empty file; expected a header 'Genre English Pronunciation Burmese'.")
    header = [h.strip().lower() for h in rows[0]]
    if "english" not in header or "burmese" not in header:
        raise LexiconFormatError(f"{path}:1: expected a header with columns 'English' and 'Burmese', got {rows[0]!r}.")
    ie, ib = header.index("english"), header.index("burmese")
    if burmese_encoding not in ("auto", "zawgyi", "unicode"):
        raise ValueError(f"burmese_encoding={burmese_encoding!r}: use 'auto', 'zawgyi' or 'unicode'.")
    for number, row in enumerate(rows[1:], 2):
        if any(cell.strip() for cell in row) and len(row) <= max(ie, ib):
            raise LexiconFormatError(f"{path}:{number}: expected {len(header)} tab-separated fields, got {len(row)}.")
    if burmese_encoding == "auto":
        column = " ".join(row[ib] for row in rows[1:] if len(row) > ib)
        zawgyi = burmese_mod.is_zawgyi(column)
    else:
        zawgyi = burmese_encoding == "zawgyi"
    out = _Collector(path, duplicates)
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        english_words = row[ie].split()
        cell = burmese_mod.zawgyi_to_unicode(row[ib]) if zawgyi else row[ib]
        unicode_text = burmese_mod.preprocess(cell, convert_zawgyi=False)
        burmese_words = [w.strip().lower() for w in burmese_mod.segment_words(unicode_text) if w.strip()]
        pair = _pair_of_words(english_words, burmese_words, single_words, strip_particles)
        if pair is not None:
            out.add(*pair, number)
    return out.finish()


def read_pairs_tsv(path: str | Path, duplicates: str = "warn") -> list[LexiconEntry]:
    """Read a dictionary TSV whose header names the columns `english` and `burmese` (any order, other columns ignored).

    This is the format :func:`write_pairs_tsv` writes (e.g. the BLI dev/test split). The Burmese column must be
    Unicode (it is normalised, not converted from Zawgyi).

    Raises:
        LexiconFormatError: no such header, a row with too few fields, an empty word, or a duplicate pair (with
            `duplicates="error"`), naming the file and line. By default repeated pairs are merged and counted
            (`LexiconEntries.repeated`), as public dictionaries repeat pairs.
    """
    path = Path(path)
    lines = [l.rstrip("\r") for l in read_text(path).split("\n")]
    if not lines:
        raise LexiconFormatError(f"{path}:1: empty file; expected a header 'english<TAB>burmese'.")
    header = [h.strip().lower() for h in lines[0].split("\t")]
    if "english" not in header or "burmese" not in header:
        raise LexiconFormatError(
            f"{path}:1: expected a tab-separated header naming 'english' and 'burmese', got {lines[0][:80]!r}."
        )
    ie, ib = header.index("english"), header.index("burmese")
    out = _Collector(path, duplicates)
    for number, raw in enumerate(lines[1:], 2):
        if not raw.strip():
            continue
        row = raw.split("\t")
        if len(row) <= max(ie, ib):
            raise LexiconFormatError(
                f"{path}:{number}: expected {len(header)} tab-separated fields ({lines[0]!r}), got {len(row)}."
            )
        english, burmese = normalize_english(row[ie]), normalize_burmese(row[ib])
        if not english or not burmese:
            raise LexiconFormatError(f"{path}:{number}: empty english or burmese word.")
        out.add(english, burmese, number)
    return out.finish()


def read_lexicon(path: str | Path, **kwargs) -> list[LexiconEntry]:
    """Read any supported dictionary, telling the format from the first line.

    - a tab-separated header naming `english` and `burmese` and no `genre`: :func:`read_pairs_tsv`;
    - a tab-separated header with `Genre`, `English`, `Burmese`: :func:`read_myth`;
    - otherwise lines with `|`: :func:`read_mypar`.

    `kwargs` go to the reader chosen (`duplicates`, and `single_words` / `strip_particles` for myPar and myth).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dictionary file {path} does not exist.")
    first = read_text(path).split("\n", 1)[0]
    header = [h.strip().lower() for h in first.split("\t")]
    if "english" in header and "burmese" in header:
        if "genre" in header:
            return read_myth(path, **kwargs)
        return read_pairs_tsv(path, **{k: v for k, v in kwargs.items() if k == "duplicates"})
    if "|" in first:
        return read_mypar(path, **kwargs)
    raise LexiconFormatError(
        f"{path}:1: unknown dictionary format; expected 'English | Burmese' lines, a TSV header "
        "'english<TAB>burmese', or the myth header 'Genre English Pronunciation Burmese'."
    )


def write_pairs_tsv(pairs: Iterable[LexiconEntry | tuple[str, str]], path: str | Path) -> Path:
    """Write pairs as a UTF-8 TSV with the header `english<TAB>burmese` (readable by :func:`read_pairs_tsv`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write("english\tburmese\n")
        for p in pairs:
            english, burmese = p.pair if isinstance(p, LexiconEntry) else p
            if "\t" in english or "\t" in burmese or "\n" in english or "\n" in burmese:
                raise ValueError(f"cannot write pair {english!r} / {burmese!r}: it contains a tab or newline.")
            f.write(f"{english}\t{burmese}\n")
    return path


# --------------------------------------------------------------------------------------------------------------------
# seeds from the vocabularies
# --------------------------------------------------------------------------------------------------------------------


def identical_pairs(
    source_words: Sequence[str], target_words: Sequence[str], min_length: int = 1
) -> list[tuple[str, str]]:
    """Words spelled the same in both vocabularies (Latin words and numbers inside Burmese text).

    Args:
        source_words (`Sequence[str]`): English vocabulary.
        target_words (`Sequence[str]`): Burmese vocabulary.
        min_length (`int`, *optional*, defaults to 1): shortest word kept.

    Returns:
        `list[tuple[str, str]]`: `(english, burmese)` pairs, in Burmese frequency order.
    """
    english = set(source_words)
    return [(w, w) for w in target_words if len(w) >= min_length and w in english]


def numeral_pairs(source_words: Sequence[str], target_words: Sequence[str]) -> list[tuple[str, str]]:
    """Numerals: a Burmese word made of digits (Burmese U+1040..U+1049 or ASCII, with `.`/`,` separators) paired with
    the English word that is the same number in ASCII digits (`၁၀` / `10`).

    Returns:
        `list[tuple[str, str]]`: `(english, burmese)` pairs, in Burmese frequency order.
    """
    english = set(source_words)
    out = []
    for w in target_words:
        ascii_form = burmese_digits_to_ascii(w)
        if _NUMERAL.match(ascii_form) and ascii_form in english:
            out.append((ascii_form, w))
    return out


def pairs_to_indices(
    pairs: Iterable[LexiconEntry | tuple[str, str]],
    source_words: Sequence[str],
    target_words: Sequence[str],
    name: str = "dictionary",
    require: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Turn `(english, burmese)` pairs into row indices, dropping pairs with a word outside the vocabularies.

    Args:
        pairs (`Iterable`): `LexiconEntry` or `(english, burmese)` tuples.
        source_words (`Sequence[str]`): English vocabulary (row order of the English vectors).
        target_words (`Sequence[str]`): Burmese vocabulary.
        name (`str`, *optional*, defaults to `"dictionary"`): used in messages (e.g. the file name).
        require (`bool`, *optional*, defaults to `True`): raise when no pair is usable.

    Returns:
        `tuple`: `x_indices` (Burmese rows) `(n,)`, `y_indices` (English rows) `(n,)`, and stats
        `{"pairs": total unique pairs, "usable": n, "missing": total - n}`.

    Raises:
        ValueError: zero usable pairs and `require`, naming `name`.
    """
    src_index = {w: i for i, w in enumerate(source_words)}
    tgt_index = {w: i for i, w in enumerate(target_words)}
    seen, xs, ys = set(), [], []
    total = 0
    for p in pairs:
        english, burmese = p.pair if isinstance(p, LexiconEntry) else p
        if (english, burmese) in seen:
            continue
        seen.add((english, burmese))
        total += 1
        if english in src_index and burmese in tgt_index:
            xs.append(tgt_index[burmese])
            ys.append(src_index[english])
    stats = {"pairs": total, "usable": len(xs), "missing": total - len(xs)}
    if require and not xs:
        raise ValueError(
            f"{name}: none of its {total} pairs has both words in the vocabularies ({len(source_words)} English, "
            f"{len(target_words)} Burmese words). Check the file's languages and normalisation, or use a larger "
            "--vocab-size / corpus."
        )
    if stats["missing"]:
        message = (
            f"{name}: {stats['missing']} of {total} pairs have a word outside the vocabularies and are "
            f"ignored ({len(xs)} usable)."
        )
        logger.warning(message)
        warnings.warn(message, stacklevel=2)
    return torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long), stats


# --------------------------------------------------------------------------------------------------------------------
# the Burmese BLI split
# --------------------------------------------------------------------------------------------------------------------


def default_lexicon_entries(data_dir: str | Path | None = None, use_myth: bool = True) -> list[LexiconEntry]:
    """Single-word pairs of the shared myPar list and (with `use_myth`) the myth phrasebook.

    Args:
        data_dir (`str` or `Path`, *optional*): data folder; defaults to :func:`modeling_ctam.utils.paths.data_dir`.
        use_myth (`bool`, *optional*, defaults to `True`): also read the myth lexicon.
    """
    from ..utils.paths import data_dir as default_data_dir

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    mypar = root.joinpath(*MYPAR_FILE)
    if not mypar.is_file():
        raise FileNotFoundError(
            f"{mypar} does not exist; point CTAM_DATA_DIR (or data_dir) at the shared data folder."
        )
    entries = read_mypar(mypar, duplicates="ignore")
    if use_myth:
        entries += read_myth(root.joinpath(*MYTH_FILE), duplicates="ignore")
    return entries


def split_lexicon(
    pairs: Iterable[LexiconEntry | tuple[str, str]],
    fractions: Sequence[float] = DEFAULT_SPLIT_FRACTIONS,
    seed: int = DEFAULT_SPLIT_SEED,
    names: Sequence[str] = SPLIT_NAMES,
) -> dict[str, list[tuple[str, str]]]:
    """Split pairs into parts that share no word on either side.

    Pairs are nodes' edges in a bipartite graph (English words, Burmese words); each connected component goes whole to
    one part, so no English and no Burmese word appears in two parts. Components are shuffled with `seed` and each is
    given to the part furthest below its target share of pairs. The result depends only on the set of pairs, not on
    their order.

    Args:
        pairs (`Iterable`): `(english, burmese)` pairs or `LexiconEntry`; duplicates are merged.
        fractions (`Sequence[float]`, *optional*, defaults to `(0.4, 0.3, 0.3)`): target share of pairs per part.
        seed (`int`, *optional*, defaults to 13): shuffle seed.
        names (`Sequence[str]`, *optional*, defaults to `("seed", "dev", "test")`): part names.

    Returns:
        `dict[str, list[tuple[str, str]]]`: sorted pairs per part.
    """
    if len(fractions) != len(names) or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"fractions={tuple(fractions)} must be non-negative, one per part {tuple(names)}, sum > 0.")
    unique = sorted({p.pair if isinstance(p, LexiconEntry) else tuple(p) for p in pairs})
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for english, burmese in unique:
        ra, rb = find("en:" + english), find("my:" + burmese)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    components: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for english, burmese in unique:
        components[find("en:" + english)].append((english, burmese))
    order = sorted(components)
    random.Random(seed).shuffle(order)
    total = sum(fractions)
    targets = [f / total * len(unique) for f in fractions]
    parts: list[list[tuple[str, str]]] = [[] for _ in names]
    for key in order:
        deficits = [targets[i] - len(parts[i]) for i in range(len(names))]
        parts[max(range(len(names)), key=lambda i: deficits[i])].extend(components[key])
    return {name: sorted(part) for name, part in zip(names, parts)}


def write_default_split(
    output_dir: str | Path,
    data_dir: str | Path | None = None,
    fractions: Sequence[float] = DEFAULT_SPLIT_FRACTIONS,
    seed: int = DEFAULT_SPLIT_SEED,
    use_myth: bool = True,
) -> dict[str, Path]:
    """Build the Burmese BLI split from the shared lexicons and write `seed.tsv`, `dev.tsv`, `test.tsv` (header
    `english<TAB>burmese`) plus `split.json` describing it into `output_dir`.

    Returns:
        `dict[str, Path]`: file per part.
    """
    entries = default_lexicon_entries(data_dir, use_myth=use_myth)
    parts = split_lexicon(entries, fractions, seed)
    output_dir = Path(output_dir)
    files = {name: write_pairs_tsv(pairs, output_dir / f"{name}.tsv") for name, pairs in parts.items()}
    info = {
        "sources": ["/".join(MYPAR_FILE)] + (["/".join(MYTH_FILE)] if use_myth else []),
        "fractions": list(fractions),
        "seed": seed,
        "sizes": {name: len(pairs) for name, pairs in parts.items()},
        "rule": "single-word pairs; parts disjoint by English and by Burmese word (graph components kept whole)",
    }
    (output_dir / "split.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m modeling_ctam.alignment.lexicon --output-dir DIR`: write the default Burmese BLI split."""
    parser = argparse.ArgumentParser(
        prog="python -m modeling_ctam.alignment.lexicon",
        description="Write the Burmese BLI dictionary split (seed/dev/test, disjoint by word) as TSV files.",
    )
    parser.add_argument("--output-dir", required=True, help="folder for seed.tsv, dev.tsv, test.tsv, split.json")
    parser.add_argument(
        "--data-dir", default=None, help="shared data folder (default: CTAM_DATA_DIR or ../shared/data)"
    )
    parser.add_argument(
        "--fractions",
        type=float,
        nargs=3,
        default=list(DEFAULT_SPLIT_FRACTIONS),
        metavar=("SEED", "DEV", "TEST"),
        help="share of pairs per part (default 0.4 0.3 0.3)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SPLIT_SEED, help="shuffle seed (default 13)")
    parser.add_argument("--no-myth", action="store_true", help="use the myPar list only")
    args = parser.parse_args(argv)
    files = write_default_split(args.output_dir, args.data_dir, args.fractions, args.seed, use_myth=not args.no_myth)
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
