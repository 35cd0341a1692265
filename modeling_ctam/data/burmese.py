"""Burmese text as it really comes: legacy Zawgyi encoding, no spaces between words, mixed with English and emoji.

This module is the **one place** where CTAM turns raw Burmese text into model input (training, evaluation, the
pipeline and the inference handler all call :func:`preprocess`) and where it finds Burmese word boundaries for
eq. 1 (:func:`segment_words`, :func:`batch_word_ids`).

It is self-contained on purpose: it imports nothing from the ``modeling_ctam`` package, because it is copied flat
next to the model files on the Hub and imported from an inference handler or a custom pipeline. Third-party
packages are imported lazily, inside the functions that need them, and a missing one raises an `ImportError` that
names the pip package to install.

Which package does what, and why
    - **Zawgyi detection: ``myanmartools``** (Google's ``myanmar-tools``, Apache-2.0). A bigram Markov model over
      Myanmar code points that gives a calibrated probability that a string is Zawgyi. It is the reference
      detector (rule-based checks such as ``burmesenlp.is_zawgyi`` also fire on genuine Shan/Mon text). The
      detector object is loaded once, lazily, and shared (:func:`zawgyi_probability`).
    - **Zawgyi to Unicode: ``burmesenlp.zg2uni``** (Apache-2.0; rules from the Rabbit converter). Measured on the
      895-row Zawgyi phrasebook (``lexicon/open-lexicon.my-en.zawgyi.tsv``) against ``python-myanmar``'s
      ``myanmar.converter.convert``: the two agree on 870 of 893 Burmese entries. Where they disagree,
      burmesenlp's output was the correct Unicode spelling in every case checked (``ဈေး``, ``အိန္ဒိယ``,
      ``အင်္ကျီ``, ``ဓား``, ``ဉ`` for Zawgyi's ``ဥ္``). python-myanmar left Zawgyi-only code points
      (U+1060..U+1097) in 7 outputs and turned ``ဓာ`` into ``ဓါ``. burmesenlp left none. So CTAM converts
      with burmesenlp only; ``python-myanmar`` is not used by this module.
    - **Normalisation: ``unicodedata`` + ``burmesenlp.canonical_order``.** NFC, then burmesenlp's reordering of
      the combining marks within each syllable into the Unicode Standard's storage order (table 16-4). This fixes
      the common typing-order variants that look the same but are different strings. The most frequent one in
      GKLMIP is ``သံုး`` (anusvara before vowel u) for ``သုံး``. On real data it changes 61 of 2,221 Unicode
      GKLMIP train texts beyond what NFC does, and 1 of 8,394 myPar lines.
    - **Word segmentation: ``burmesenlp``** (syllable breaking, then greedy longest match over its bundled
      23,886-word lexicon). It is pure Python and works offline. Its lexicon is built once, lazily (about 3 s), and
      shared. Boundary F1 against myPar's hand segmentation (spaces removed, 7,972 multi-word lines) is 0.88
      (precision 0.92, recall 0.85; word-span F1 0.71). Plain syllable breaking gets 0.84. Most of the misses
      are convention differences, not errors: burmesenlp keeps ``ပါတယ်``, ``ကျနော်`` and numeral +
      classifier (``တစ်ယောက်``) as one word, where myPar splits them.

Known limits
    - **Detector threshold.** A line is converted when its Zawgyi probability is at least ``zawgyi_threshold``
      (default :data:`ZAWGYI_THRESHOLD` = 0.95) **and** the converted line scores below the threshold (the
      conversion must give text that the detector reads as Unicode). Converting Unicode text by mistake is
      destructive (``zg2uni`` rewrites 8,246 of 8,394 Unicode myPar lines), and missing Zawgyi only leaves the
      text as it was, so the threshold sits high. Measured: 95.1% of the phrasebook entries that conversion
      changes are detected (entries that read the same in both encodings, such as ``ဒါ``, need no
      conversion). After :func:`preprocess`, 99.9% of those entries read as Unicode. A few short words with
      Zawgyi-only glyph codes are missed (``အဘိဓမၼာ`` scores 0.02). False positives: 22 of 8,394 Unicode myPar
      lines (0.26%) and 6 of 1,077 myPar words (0.56%) score >= 0.95. preprocess converts none of them, because
      the conversion guard rejects them. It does wrongly convert 3 of 6,352 TALPCo/myXNLI sentences. Two of those
      are partly typed Zawgyi-style (``ေကြာင့်``); one, ``မိုးရွာမလိုပဲ။``, reads validly in both encodings. The
      detector is weak on very short strings (one or two syllables): they can score anywhere.
    - **GKLMIP.** 269 of 2,492 train reviews (10.8%) and 46 of 358 dev reviews (12.8%) are Zawgyi. After
      preprocess, 1 train review still scores as Zawgyi (a line that mixes both encodings).
    - **Mixed encodings.** Detection is per line (after line-break normalisation). A text that mixes Zawgyi and
      Unicode *within one line* is judged as a whole: the majority encoding wins and the minority part stays
      wrong.
    - **Not Burmese.** Shan, Mon and Karen share the Myanmar block. The Markov detector mostly scores them as
      Unicode, but nothing here is tuned for them.
    - :func:`zawgyi_to_unicode` converts unconditionally. Call it only on text known to be Zawgyi.

Output of :func:`preprocess`
    Zawgyi lines converted to Unicode, then :func:`normalize_burmese`: NFC, look-alike spellings unified
    (``စျေး`` -> ``ဈေး``, ``၀ယ်`` -> ``ဝယ်``, the forms the Zawgyi converter gives), canonical mark order, zero-width
    spaces, word joiners and BOM removed (zero-width joiners and non-joiners are removed next to Burmese, spaces
    or string ends, and kept inside emoji sequences such as 👨‍👩‍👧), runs of spaces collapsed to one space, line
    breaks to one ``"\\n"``, ends stripped. English, digits and emoji are left alone. It is idempotent:
    ``preprocess(preprocess(x)) == preprocess(x)``. This was checked on all 19,566 texts of GKLMIP, myPar (lines
    and words), the Zawgyi phrasebook, TALPCo and myXNLI, with no failure; ``tests/test_burmese.py`` checks a
    subset of them.

Speed
    The detector and the segmenter are module-level lazy singletons. preprocess handles about 650-900 GKLMIP
    reviews per second on one CPU core (92 characters on average), so 10k texts take 11-15 s. Half of that
    time is the detector and half the mark reordering, both pure Python. segment_words handles about 450-600
    reviews per second after the one-off lexicon load.

Example (``from modeling_ctam.data.burmese import ...`` in the package; ``from burmese import ...`` when copied flat)::

    >>> from modeling_ctam.data.burmese import preprocess, segment_words
    >>> preprocess("ေနေကာင္းရဲ႕လား။  👍")  # Zawgyi in, Unicode out
    'နေကောင်းရဲ့လား။ 👍'
    >>> segment_words("ကျနော်ဘောလုံးကစားတတ်ပါတယ်။ good 👍")
    ['ကျ', 'နော်', 'ဘောလုံး', 'ကစား', 'တတ်', 'ပါတယ်', '။', 'good', '👍']
"""

from __future__ import annotations

import re
import threading
import unicodedata
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ZAWGYI_THRESHOLD",
    "batch_word_ids",
    "contains_myanmar",
    "is_zawgyi",
    "normalize_burmese",
    "preprocess",
    "preprocess_with_encoding",
    "segment_words",
    "word_ids_from_segmentation",
    "word_spans",
    "zawgyi_probability",
    "zawgyi_to_unicode",
]

ZAWGYI_THRESHOLD = 0.95
"""Default Zawgyi probability at and above which :func:`is_zawgyi` says Zawgyi and :func:`preprocess` converts."""

# Myanmar (U+1000..U+109F), Myanmar Extended-B (U+A9E0..U+A9FF) and Extended-A (U+AA60..U+AA7F).
_MYANMAR_CLASS = "\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f"
_MYANMAR_RE = re.compile(f"[{_MYANMAR_CLASS}]")
_MYANMAR_RUN_RE = re.compile(f"[{_MYANMAR_CLASS}]+")
# Invisible characters that split or glue syllables without being seen. Always removed:
_ALWAYS_REMOVED = "\u200b\u2060\ufeff"  # zero-width space, word joiner, BOM / zero-width no-break space
_ALWAYS_REMOVED_TABLE = dict.fromkeys(map(ord, _ALWAYS_REMOVED))
# Zero-width non-joiner / joiner: removed next to Burmese, whitespace or the string ends, kept elsewhere (emoji ZWJ
# sequences, Persian / Indic text use them legitimately).
_JOINERS_RE = re.compile(f"(?:(?<=[{_MYANMAR_CLASS}\\s])|^)[\u200c\u200d]+|[\u200c\u200d]+(?=[{_MYANMAR_CLASS}\\s]|$)")
_SPACES_RE = re.compile(r"\s+")
# Look-alike spellings that Unicode typists use and the Zawgyi converter never produces: sa + medial ya for the
# letter jha (``စျေး`` for ``ဈေး``), and the digit zero for the letter wa inside a word (``၀ယ်`` for ``ဝယ်``; a zero
# next to a digit, as in ``၁၀``, stays a digit).
_VARIANTS = (
    (re.compile("\u1005\u103b"), "\u1008"),
    (
        re.compile(
            "(?<![\u1040-\u10490-9])\u1040(?![\u1040-\u10490-9])(?:(?<=[\u1000-\u103f]\u1040)|(?=[\u1000-\u103f]))"
        ),
        "\u101d",
    ),
)
# Segmentation runs: Myanmar text, whitespace, anything else (English, digits, emoji, punctuation).
_RUN_RE = re.compile(f"[{_MYANMAR_CLASS}]+|\\s+|[^{_MYANMAR_CLASS}\\s]+")

_lock = threading.Lock()
_detector: Any = None
_segmenter: Any = None


# ---------------------------------------------------------------------------------------------------------------------
# Lazy third-party imports
# ---------------------------------------------------------------------------------------------------------------------


def _missing(package: str, purpose: str, error: ImportError) -> ImportError:
    return ImportError(
        f"{purpose} needs the `{package}` package, which is not installed: `pip install {package}`. ({error})"
    )


def _get_detector():
    """The shared ``myanmartools.ZawgyiDetector`` (loaded once, thread-safe)."""
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                try:
                    from myanmartools import ZawgyiDetector
                except ImportError as error:
                    raise _missing("myanmartools", "Zawgyi detection", error) from error
                with warnings.catch_warnings():  # myanmartools 1.2 uses the deprecated importlib.resources.open_binary
                    warnings.simplefilter("ignore", DeprecationWarning)
                    _detector = ZawgyiDetector()
    return _detector


def _burmesenlp(purpose: str):
    try:
        import burmesenlp
    except ImportError as error:
        raise _missing("burmesenlp", purpose, error) from error
    return burmesenlp


def _get_segmenter():
    """The shared burmesenlp longest-match segmenter over its default lexicon (built once, about 3 s)."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                _burmesenlp("Burmese word segmentation")
                from burmesenlp.lexicon import Lexicon
                from burmesenlp.tokenize import WordSegmenter, tokenize

                segmenter = WordSegmenter(Lexicon.default())
                _segmenter = (segmenter, tokenize)
    return _segmenter


def _check_str(text: Any, name: str = "text") -> str:
    if not isinstance(text, str):
        raise ValueError(f"`{name}` must be a str, got {type(text).__name__}: {text!r:.80}")
    return text


# ---------------------------------------------------------------------------------------------------------------------
# Zawgyi
# ---------------------------------------------------------------------------------------------------------------------


def contains_myanmar(text: str) -> bool:
    """Whether `text` has at least one character of the Myanmar Unicode blocks (where Zawgyi also lives)."""
    return _MYANMAR_RE.search(_check_str(text)) is not None


def zawgyi_probability(text: str) -> float:
    """
    Probability that `text` is Zawgyi-encoded rather than Unicode, from ``myanmartools``' Markov detector.

    Args:
        text (`str`): any text; only its Myanmar-block characters (and their neighbours) carry evidence.

    Returns:
        `float` in [0, 1]. `0.0` when `text` has no Myanmar-block character (English, emoji, empty), where the
        question has no answer. Strings of one or two syllables carry little evidence and can score anywhere.

    Raises:
        ValueError: `text` is not a `str`.
        ImportError: ``myanmartools`` is not installed.
    """
    if not contains_myanmar(text):
        return 0.0
    probability = _get_detector().get_zawgyi_probability(text)
    return max(0.0, float(probability))  # the detector says -inf when it saw nothing it knows


def is_zawgyi(text: str, threshold: float = ZAWGYI_THRESHOLD) -> bool:
    """
    Whether `text` is Zawgyi-encoded: ``zawgyi_probability(text) >= threshold``.

    Args:
        text (`str`): the text to check.
        threshold (`float`, *optional*, defaults to 0.95): decision threshold in (0, 1]. It is set high because
            converting Unicode text by mistake damages it (see the module docstring for measured rates).

    Returns:
        `bool`: `False` for text without Myanmar-block characters.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"`threshold` must be in (0, 1], got {threshold}")
    return contains_myanmar(text) and zawgyi_probability(text) >= threshold


def zawgyi_to_unicode(text: str) -> str:
    """
    Convert Zawgyi-encoded text to Unicode Burmese (``burmesenlp.zg2uni``, then NFC), unconditionally.

    Non-Myanmar characters pass through unchanged. The conversion is **not** safe on text that is already Unicode
    (it rewrites e.g. ``လုပ်`` into ``လုပျ``): use :func:`preprocess`, which converts only what the detector
    says is Zawgyi, unless the encoding is known.

    Raises:
        ValueError: `text` is not a `str`.
        ImportError: ``burmesenlp`` is not installed.
    """
    _check_str(text)
    if not contains_myanmar(text):
        return text
    converted = _burmesenlp("Zawgyi to Unicode conversion").zg2uni(text)
    return unicodedata.normalize("NFC", converted)


# ---------------------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------------------


def _remove_invisibles(text: str) -> str:
    text = text.translate(_ALWAYS_REMOVED_TABLE)
    if "\u200c" in text or "\u200d" in text:
        text = _JOINERS_RE.sub("", text)
    return text


def _collapse_whitespace(text: str) -> str:
    """Runs of spaces to one space within a line, line breaks to one ``\\n``, blank lines dropped, ends stripped."""
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _fix_variants(run: str) -> str:
    for pattern, replacement in _VARIANTS:
        run = pattern.sub(replacement, run)
    return run


def _normalize_line(text: str) -> str:
    """NFC, look-alike variants (``စျ`` -> ``ဈ``, ``၀`` -> ``ဝ`` in words), canonical mark order, on one line that has
    no line breaks and no invisibles left."""
    text = unicodedata.normalize("NFC", text)
    if contains_myanmar(text):
        canonical_order = _burmesenlp("Burmese normalisation").canonical_order
        text = unicodedata.normalize(
            "NFC", _MYANMAR_RUN_RE.sub(lambda run: _fix_variants(canonical_order(_fix_variants(run.group(0)))), text)
        )
    return text


def normalize_burmese(text: str) -> str:
    """
    Normalise Unicode Burmese text so that equal-looking text is the same string (and tokenises the same way).

    Steps: remove zero-width spaces, word joiners and BOMs (and zero-width (non-)joiners next to Burmese or
    spaces), Unicode NFC, the look-alike spellings the Zawgyi converter never produces (``စျ`` -> ``ဈ``, as in
    ``စျေး`` -> ``ဈေး``; the digit ``၀`` -> the letter ``ဝ`` inside a word, not next to a digit), reorder each
    syllable's combining marks into the Unicode storage order (``burmesenlp.canonical_order``, e.g. ``သံုး`` ->
    ``သုံး``), collapse runs of spaces to one space and line breaks to one ``"\\n"``, strip the ends. English, digits
    and emoji are left alone.

    Apply it to **Unicode** text only: reordering Zawgyi text scrambles it. :func:`preprocess` converts Zawgyi
    first.

    Raises:
        ValueError: `text` is not a `str`.
        ImportError: ``burmesenlp`` is not installed (needed only when `text` contains Myanmar characters).
    """
    text = _collapse_whitespace(_remove_invisibles(_check_str(text)))
    return _collapse_whitespace(_normalize_line(text)) if text else ""


def preprocess(
    text: str,
    *,
    convert_zawgyi: bool = True,
    normalize: bool = True,
    zawgyi_threshold: float = ZAWGYI_THRESHOLD,
) -> str:
    """
    The one Burmese preprocessing step of CTAM: detect and convert Zawgyi, then normalise.

    Each line is handled on its own. The line is cleaned (invisible characters, whitespace). If its Zawgyi
    probability, as it came or once normalised, is at least `zawgyi_threshold`, it is converted
    (:func:`zawgyi_to_unicode`). The converted line is kept only when the detector reads it as Unicode (probability
    below the threshold); otherwise the line is left as it was. The line is then normalised
    (:func:`normalize_burmese`). With the defaults the result is idempotent.

    Args:
        text (`str`): raw text (Burmese in Unicode or Zawgyi, possibly mixed with English, digits, emoji).
        convert_zawgyi (`bool`, *optional*, defaults to `True`): detect and convert Zawgyi lines.
        normalize (`bool`, *optional*, defaults to `True`): apply :func:`normalize_burmese`. With `False`, only
            invisible characters and whitespace are cleaned (before detection) and Zawgyi is converted.
        zawgyi_threshold (`float`, *optional*, defaults to 0.95): see :func:`is_zawgyi`.

    Returns:
        `str`: the preprocessed text; `""` for empty or whitespace-only input (the caller decides whether an empty
        text is an error).

    Raises:
        ValueError: `text` is not a `str`, or `zawgyi_threshold` is not in (0, 1].
        ImportError: ``myanmartools`` / ``burmesenlp`` is missing (only asked for when `text` contains Myanmar).

    Example:

    ```python
    >>> preprocess("ေနေကာင္းရဲ႕လား။")
    'နေကောင်းရဲ့လား။'
    >>> preprocess("  Great phone 👍  ")
    'Great phone 👍'
    ```
    """
    return preprocess_with_encoding(
        text, convert_zawgyi=convert_zawgyi, normalize=normalize, zawgyi_threshold=zawgyi_threshold
    )[0]


def preprocess_with_encoding(
    text: str,
    *,
    convert_zawgyi: bool = True,
    normalize: bool = True,
    zawgyi_threshold: float = ZAWGYI_THRESHOLD,
) -> tuple[str, str | None]:
    """
    :func:`preprocess`, and the encoding it detected: `"zawgyi"` when it converted a line from Zawgyi, `"unicode"`
    when the text has Burmese and nothing was converted, `None` when it has no Myanmar character.

    Returns:
        `tuple[str, str | None]`: `(preprocess(text, ...), encoding)`.
    """
    _check_str(text)
    if not 0.0 < zawgyi_threshold <= 1.0:
        raise ValueError(f"`zawgyi_threshold` must be in (0, 1], got {zawgyi_threshold}")
    cleaned = _collapse_whitespace(_remove_invisibles(text))
    encoding = "unicode" if contains_myanmar(cleaned) else None
    if not cleaned:
        return "", None
    out = []
    for line in cleaned.split("\n"):
        if not contains_myanmar(line):
            out.append(unicodedata.normalize("NFC", line) if normalize else line)
            continue
        final = _normalize_line(line) if normalize else line
        # Detection looks at the line as it came and as it would be output: the first catches Zawgyi that
        # normalisation (meant for Unicode) would blur, the second makes a later pass over the output decide alike.
        if convert_zawgyi and (
            zawgyi_probability(line) >= zawgyi_threshold
            or (final != line and zawgyi_probability(final) >= zawgyi_threshold)
        ):
            converted = zawgyi_to_unicode(line)
            if normalize:
                converted = _normalize_line(converted)
            if zawgyi_probability(converted) < zawgyi_threshold:
                final, encoding = converted, "zawgyi"
        out.append(final)
    return _collapse_whitespace("\n".join(out)), encoding


# ---------------------------------------------------------------------------------------------------------------------
# Word segmentation and word ids
# ---------------------------------------------------------------------------------------------------------------------


def _myanmar_run_spans(run: str, offset: int) -> list[tuple[int, int]]:
    segmenter, syllable_tokenize = _get_segmenter()
    spans = []
    position = 0
    for token in segmenter.segment(syllable_tokenize(run)):
        if token.start > position:  # never expected (a Myanmar run has no whitespace); keep full coverage
            spans.append((offset + position, offset + token.start))
        spans.append((offset + token.start, offset + token.end))
        position = token.end
    if position < len(run):
        spans.append((offset + position, offset + len(run)))
    return spans


def word_spans(text: str) -> list[tuple[int, int]]:
    """
    Character spans ``(start, end)`` of the words of :func:`segment_words`, in order, in `text`.

    Every non-whitespace character is in exactly one span, except invisible format characters (zero-width space
    etc.) standing alone between words, which belong to none.
    """
    _check_str(text)
    spans: list[tuple[int, int]] = []
    for match in _RUN_RE.finditer(text):
        run = match.group(0)
        if run[0].isspace():
            continue
        if _MYANMAR_RE.match(run[0]):
            spans.extend(_myanmar_run_spans(run, match.start()))
        elif not all(unicodedata.category(c) == "Cf" for c in run):
            spans.append((match.start(), match.end()))
    return spans


def segment_words(text: str) -> list[str]:
    """
    Split text into words: Burmese runs by ``burmesenlp``'s dictionary segmenter, everything else on whitespace.

    Burmese has no spaces between words; this recovers word boundaries for eq. 1. English words, numbers, emoji
    and punctuation attached to them are kept as the whitespace-separated pieces they are; Myanmar punctuation
    (``၊``, ``။``) and Myanmar digits come out as their own words. Apply it to :func:`preprocess`-ed text (the
    segmenter's dictionary is Unicode; Zawgyi text segments into nonsense).

    Args:
        text (`str`): the text.

    Returns:
        `list[str]`: the words, in order, each a substring of `text`; `[]` for an empty or blank text.

    Example:

    ```python
    >>> segment_words("ကျနော်ဘောလုံးကစားတတ်ပါတယ်။ good 👍")
    ['ကျ', 'နော်', 'ဘောလုံး', 'ကစား', 'တတ်', 'ပါတယ်', '။', 'good', '👍']
    ```
    """
    return [text[start:end] for start, end in word_spans(text)]


def _spans_of_words(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    spans = []
    position = 0
    for index, word in enumerate(words):
        if not isinstance(word, str) or not word:
            raise ValueError(f"`words[{index}]` must be a non-empty str, got {word!r}")
        start = text.find(word, position)
        if start < 0:
            raise ValueError(
                f"word {index} ({word!r}) is not found in the text after character {position}: `words` must be "
                "substrings of `text`, in order (segment the same preprocessed text that was tokenised)."
            )
        spans.append((start, start + len(word)))
        position = start + len(word)
    return spans


def word_ids_from_segmentation(
    text: str,
    offsets: Sequence[Sequence[int]],
    words: Sequence[str] | None = None,
    *,
    special_tokens_mask: Sequence[int] | None = None,
) -> list[int | None]:
    """
    Per-token word indices from a word segmentation and a fast tokenizer's offsets.

    Args:
        text (`str`): the text that was tokenised (normally a :func:`preprocess` output).
        offsets (`list[tuple[int, int]]`): the tokenizer's ``offset_mapping`` for `text`, one ``(start, end)``
            character span per token.
        words (`list[str]`, *optional*): the words, in order, each a substring of `text`; they are found in the
            text left to right. Defaults to :func:`segment_words`.
        special_tokens_mask (`list[int]`, *optional*): the tokenizer's ``special_tokens_mask`` (1 = special or
            padding). Without it, tokens with offsets ``(0, 0)`` count as special.

    Returns:
        `list[int | None]`: for each token, the index (0..) of the word it belongs to, `None` for special and
        padding tokens. A token spanning a word boundary takes the word of its first non-space character. A token
        covering only whitespace or nothing (e.g. a lone ``▁``) takes the next word, or the previous one at the
        end of the text.

    Raises:
        ValueError: an offset lies outside `text`, or a word is not found in it.
    """
    _check_str(text)
    if special_tokens_mask is not None and len(special_tokens_mask) != len(offsets):
        raise ValueError(
            f"`special_tokens_mask` has {len(special_tokens_mask)} entries but there are {len(offsets)} offsets"
        )
    spans = word_spans(text) if words is None else _spans_of_words(text, words)
    return _word_ids(text, offsets, spans, special_tokens_mask)


def _word_ids(
    text: str,
    offsets: Sequence[Sequence[int]],
    spans: Sequence[tuple[int, int]],
    special_tokens_mask: Sequence[int] | None,
) -> list[int | None]:
    char_to_word = [-1] * len(text)
    for index, (start, end) in enumerate(spans):
        for position in range(start, end):
            char_to_word[position] = index
    # next_word[i]: the first word starting at or after character i (for tokens that cover only whitespace)
    next_word = [-1] * (len(text) + 1)
    word_starts = {start: index for index, (start, _) in enumerate(spans)}
    following = -1
    for position in range(len(text), -1, -1):
        following = word_starts.get(position, following)
        next_word[position] = following

    result: list[int | None] = []
    for token, offset in enumerate(offsets):
        start, end = int(offset[0]), int(offset[1])
        is_special = special_tokens_mask[token] if special_tokens_mask is not None else (start, end) == (0, 0)
        if is_special:
            result.append(None)
            continue
        if not 0 <= start <= end <= len(text):
            raise ValueError(
                f"token {token} has offsets ({start}, {end}) outside the text of {len(text)} characters: the offsets "
                "must come from tokenising this exact text."
            )
        word = next((char_to_word[p] for p in range(start, end) if char_to_word[p] >= 0), -1)
        if word < 0:  # whitespace only or empty: the next word, else the previous one
            word = next_word[start]
        if word < 0:
            word = next((char_to_word[p] for p in range(start - 1, -1, -1) if char_to_word[p] >= 0), -1)
        result.append(word if word >= 0 else None)
    return result


def batch_word_ids(tokenizer: Any, texts: str | Sequence[str], **tokenizer_kwargs: Any):
    """
    Tokenise texts and give each token the index of its Burmese-segmenter word (eq. 1 word boundaries).

    The texts are tokenised as given: pass :func:`preprocess`-ed text, the same text the model will see.

    Args:
        tokenizer (`PreTrainedTokenizerFast`): a fast tokenizer (offsets are needed).
        texts (`str` or `list[str]`): the texts.
        **tokenizer_kwargs: passed to the tokenizer call (`max_length`, `truncation`, `padding`,
            `return_tensors`, ...). `padding` defaults to `True` (longest), and `truncation` to `True` when
            `max_length` is given. Text pairs are not supported.

    Returns:
        `transformers.BatchEncoding` with ``input_ids``, ``attention_mask`` (and whatever else the tokenizer
        returns, e.g. ``token_type_ids``) and ``word_ids``: per sequence, one int per token, words numbered 0..
        within each sequence, ``-1`` for special and padding tokens. Lists, or tensors with `return_tensors`.
        ``offset_mapping`` and ``special_tokens_mask`` are included only when asked for.

    Raises:
        ValueError: the tokenizer is not fast, a text is not a `str`, or `text_pair` is passed.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"batch_word_ids needs a fast tokenizer (offset mappings); got {type(tokenizer).__name__}. Load it with "
            "AutoTokenizer.from_pretrained(..., use_fast=True)."
        )
    if "text_pair" in tokenizer_kwargs:
        raise ValueError("batch_word_ids does not support text pairs (`text_pair`).")
    if isinstance(texts, str):
        texts = [texts]
    texts = [_check_str(t, f"texts[{i}]") for i, t in enumerate(texts)]
    kwargs = dict(tokenizer_kwargs)
    return_tensors = kwargs.pop("return_tensors", None)
    keep_offsets = kwargs.pop("return_offsets_mapping", False)
    keep_special = kwargs.pop("return_special_tokens_mask", False)
    kwargs.setdefault("padding", True)
    if kwargs.get("max_length") is not None:
        kwargs.setdefault("truncation", True)
    encoding = tokenizer(texts, return_offsets_mapping=True, return_special_tokens_mask=True, **kwargs)

    sample_of_row = encoding.get("overflow_to_sample_mapping", list(range(len(texts))))
    spans_cache: dict[int, list[tuple[int, int]]] = {}
    word_ids = []
    for row, (offsets, special) in enumerate(zip(encoding["offset_mapping"], encoding["special_tokens_mask"])):
        sample = int(sample_of_row[row])
        if sample not in spans_cache:
            spans_cache[sample] = word_spans(texts[sample])
        ids = _word_ids(texts[sample], offsets, spans_cache[sample], special)
        word_ids.append([-1 if w is None else w for w in ids])

    from transformers import BatchEncoding

    data = {key: value for key, value in encoding.items()}
    data["word_ids"] = word_ids
    if not keep_offsets:
        data.pop("offset_mapping")
    if not keep_special:
        data.pop("special_tokens_mask")
    return BatchEncoding(data, tensor_type=return_tensors)
