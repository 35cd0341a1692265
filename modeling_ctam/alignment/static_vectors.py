"""Corpus-level static word vectors from any Hugging Face encoder (eq. 1 over a corpus, method.md section 2).

For each word form `w` among the `V` most frequent words of a corpus, `h_static(w)` is the mean of the layer-`l`
hidden states over every sub-token position of every occurrence of `w` in the corpus. These are the `X` (Burmese)
and `Y` (English) matrices that :mod:`modeling_ctam.alignment.vecmap` aligns.

Word boundaries:

- English: words are runs of letters/digits (with inner `'`, `’` or `-`), found by a regular expression on the raw
  text and lower-cased; tokens are assigned to words through the fast tokenizer's character offsets. Punctuation is
  not a word.
- Burmese: the text is first normalised with :func:`modeling_ctam.data.burmese.preprocess` (Zawgyi to Unicode), words
  come from :func:`modeling_ctam.data.burmese.segment_words`, and tokens are assigned to them by
  :func:`modeling_ctam.data.burmese.word_ids_from_segmentation` (the same function the model uses at run time).

The vocabulary is computed by counting words in the corpus (frequency order, ties broken alphabetically): input
never has to be frequency-sorted. Encoding is batched with sentences sorted by length (little padding), under
`torch.inference_mode`, with a progress bar; several layers are collected in one pass.

The corpora are read by :mod:`modeling_ctam.data.corpus` (the same format readers as training data).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import torch

from ..data import burmese
from ..data.corpus import load_corpora
from ..data.rows import LANGUAGES

logger = logging.getLogger(__name__)

_ENGLISH_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_WORD_CHAR = re.compile(r"[^\W_]")
# --------------------------------------------------------------------------------------------------------------------
# words
# --------------------------------------------------------------------------------------------------------------------


def english_words(text: str) -> list[tuple[str, int, int]]:
    """English words of `text` as `(lower-cased word, start, end)` character spans (punctuation is skipped)."""
    return [(m.group(0).lower(), m.start(), m.end()) for m in _ENGLISH_WORD.finditer(text)]


def _is_word(word: str) -> bool:
    return bool(_WORD_CHAR.search(word))


def prepare_text(text: str, language: str) -> str:
    """The text as it is tokenised: Burmese goes through `burmese.preprocess`; English is unchanged."""
    return burmese.preprocess(text) if language == "my" else text


def segment(text: str, language: str) -> list[str]:
    """Words of an already prepared text, as the segmenter returns them (English ones lower-cased). Vocabulary
    entries are :func:`vocabulary_form` of these; punctuation-only words are filtered at counting."""
    if language == "en":
        return [w for w, _, _ in english_words(text)]
    return list(burmese.segment_words(text))


def vocabulary_form(word: str) -> str:
    """How a segmented word is stored in the vocabulary: stripped and lower-cased."""
    return word.strip().lower()


def token_word_ids(
    text: str, offsets: Sequence[tuple[int, int]], language: str, words: list[str] | None = None
) -> tuple[list[int | None], list[str]]:
    """Word index of every token of `text`, given the fast tokenizer's offsets.

    Args:
        text (`str`): the prepared text (see :func:`prepare_text`), as given to the tokenizer.
        offsets (`Sequence[tuple[int, int]]`): per-token character spans; special tokens are `(0, 0)`.
        language (`str`): `"en"` or `"my"`.
        words (`list[str]`, *optional*): the segmentation, when already computed (Burmese).

    Returns:
        `tuple`: word index per token (`None` outside words) and the word strings (lower-cased).
    """
    if language == "my":
        words = list(words) if words is not None else list(burmese.segment_words(text))
        ids = burmese.word_ids_from_segmentation(text, list(offsets), words)
        return list(ids), [vocabulary_form(w) for w in words]
    spans = english_words(text)
    char_word = [-1] * len(text)
    for j, (_, s, e) in enumerate(spans):
        for c in range(s, e):
            char_word[c] = j
    ids: list[int | None] = []
    for s, e in offsets:
        best = None
        for c in range(s, min(e, len(text))):
            if char_word[c] >= 0:
                best = char_word[c]
                break
        ids.append(best)
    return ids, [w for w, _, _ in spans]


def build_vocabulary(
    texts: Iterable[str],
    language: str,
    vocab_size: int | None = None,
    min_count: int = 1,
    segmented: Iterable[list[str]] | None = None,
) -> tuple[list[str], list[int]]:
    """The `vocab_size` most frequent words of prepared texts, most frequent first (ties alphabetical).

    Words without a letter or digit (punctuation) are left out.

    Returns:
        `tuple`: words and their counts.
    """
    counts: Counter = Counter()
    for words in segmented if segmented is not None else (segment(t, language) for t in texts):
        counts.update(v for v in map(vocabulary_form, words) if v and _is_word(v))
    ranked = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
    if vocab_size:
        ranked = ranked[:vocab_size]
    return [w for w, _ in ranked], [c for _, c in ranked]


# --------------------------------------------------------------------------------------------------------------------
# static vectors
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class StaticVectors:
    """Corpus-level static word vectors of one language, for one or more layers.

    Args:
        words (`list[str]`): vocabulary, most frequent first.
        counts (`list[int]`): word frequency in the corpus.
        vectors (`torch.Tensor` of shape `(L, V, d)`): one `(V, d)` matrix per layer in `layers`.
        layers (`list[int]`): hidden-state indices (0 = embeddings, i = output of layer i).
        language (`str`): `"en"` or `"my"`.
        token_counts (`list[int]`): number of sub-token positions averaged per word.
        meta (`dict`): encoder, corpus, settings.
    """

    words: list[str]
    counts: list[int]
    vectors: torch.Tensor
    layers: list[int]
    language: str
    token_counts: list[int] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.words)

    def layer(self, layer: int) -> torch.Tensor:
        """The `(V, d)` vectors of hidden-state index `layer`."""
        if layer not in self.layers:
            raise KeyError(f"layer {layer} was not computed; available: {self.layers}.")
        return self.vectors[self.layers.index(layer)]

    def save(self, path: str | Path) -> None:
        """Write `path.safetensors` (tensor `vectors` (L, V, d)) and `path.json` (words, counts, layers, meta)."""
        from safetensors.torch import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        save_file({"vectors": self.vectors.contiguous()}, str(tmp) + ".safetensors")
        info = {
            "words": self.words,
            "counts": self.counts,
            "layers": self.layers,
            "language": self.language,
            "token_counts": self.token_counts,
            "meta": self.meta,
        }
        Path(str(tmp) + ".json").write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
        os.replace(str(tmp) + ".safetensors", str(path) + ".safetensors")
        os.replace(str(tmp) + ".json", str(path) + ".json")

    @classmethod
    def load(cls, path: str | Path) -> "StaticVectors":
        """Read what :meth:`save` wrote."""
        from safetensors.torch import load_file

        info = json.loads(Path(str(path) + ".json").read_text(encoding="utf-8"))
        vectors = load_file(str(path) + ".safetensors")["vectors"]
        return cls(
            info["words"],
            info["counts"],
            vectors,
            info["layers"],
            info["language"],
            info.get("token_counts", []),
            info.get("meta", {}),
        )

    def write_word2vec(self, path: str | Path, layer: int | None = None) -> Path:
        """Write one layer's vectors in word2vec text format (`V d` header, then `word v1 ... vd` per line)."""
        layer = self.layers[0] if layer is None else layer
        m = self.layer(layer)
        path = Path(path)
        with path.open("w", encoding="utf-8", newline="\n") as f:
            f.write(f"{m.shape[0]} {m.shape[1]}\n")
            for word, row in zip(self.words, m.tolist()):
                f.write(word.replace(" ", "_") + " " + " ".join(f"{v:.6g}" for v in row) + "\n")
        return path

    def truncate(self, vocab_size: int) -> "StaticVectors":
        """The `vocab_size` most frequent words (rows are frequency-ordered)."""
        n = min(vocab_size, len(self.words))
        return StaticVectors(
            self.words[:n],
            self.counts[:n],
            self.vectors[:, :n].clone(),
            list(self.layers),
            self.language,
            self.token_counts[:n],
            dict(self.meta),
        )


class _StopForward(Exception):
    """Raised by a hook to end the encoder's forward pass once the deepest needed layer is captured."""


def _layer_stack(model) -> torch.nn.ModuleList | None:
    """The encoder's list of transformer layers: the first `ModuleList` with `num_hidden_layers` entries."""
    n = getattr(model.config, "num_hidden_layers", None)
    if n is None:
        return None
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return module
    return None


def _hidden_states(model, inputs: dict, layers: Sequence[int], early_exit: bool) -> dict[int, torch.Tensor]:
    """Hidden states `{l: (B, T, d)}` for the requested indices.

    With `early_exit` and every requested `l` below the number of layers, hidden state `l` is read as the input of
    layer `l` (what `output_hidden_states` reports for BERT-like encoders) by a forward pre-hook, and the pass stops
    after the deepest one: layer 6 of 12 costs about half a full pass.
    """
    stack = _layer_stack(model) if early_exit else None
    if stack is None or max(layers) >= len(stack):
        out = model(**inputs, output_hidden_states=True)
        return {l: out.hidden_states[l] for l in layers}
    captured: dict[int, torch.Tensor] = {}
    deepest = max(layers)
    handles = []

    def make_hook(index: int):
        def hook(module, args, kwargs):
            captured[index] = args[0] if args else kwargs["hidden_states"]
            if index == deepest:
                raise _StopForward

        return hook

    try:
        for l in set(layers):
            handles.append(stack[l].register_forward_pre_hook(make_hook(l), with_kwargs=True))
        try:
            model(**inputs)
        except _StopForward:
            pass
    finally:
        for h in handles:
            h.remove()
    return {l: captured[l] for l in layers}


def load_encoder(name_or_path: str, device: str | torch.device | None = None):
    """Tokenizer and encoder from a name or path (`ctam/e5-small-offline` resolves to the offline build).

    Returns:
        `tuple`: `(tokenizer, model)`, the model in eval mode on `device` (CUDA when available by default).
    """
    from transformers import AutoModel, AutoTokenizer

    try:
        from ..offline_encoder import resolve_encoder
    except ImportError:  # pragma: no cover

        def resolve_encoder(name):
            return name

    resolved = resolve_encoder(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(resolved)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"encoder {name_or_path!r} has no fast tokenizer; static vectors need character offsets "
            "(a tokenizer.json)."
        )
    model = AutoModel.from_pretrained(resolved, dtype=torch.float32)
    from .vecmap import resolve_device

    model.to(resolve_device(device)).eval()
    return tokenizer, model


@torch.inference_mode()
def compute_static_vectors(
    model,
    tokenizer,
    texts: Sequence[str],
    language: str,
    layers: int | Sequence[int],
    vocab_size: int | None = 20000,
    batch_size: int = 64,
    max_length: int | None = None,
    prefix: str = "",
    min_count: int = 1,
    show_progress: bool = True,
    progress_desc: str | None = None,
    early_exit: bool = True,
) -> StaticVectors:
    """Eq. 1 over a corpus: the mean layer-`l` state over every sub-token of every occurrence of each vocabulary word.

    Args:
        model (`PreTrainedModel`): any encoder that returns `hidden_states` with `output_hidden_states=True`.
        tokenizer (`PreTrainedTokenizerFast`): its fast tokenizer (offsets are needed).
        texts (`Sequence[str]`): raw sentences (Burmese ones are preprocessed here).
        language (`str`): `"en"` or `"my"`.
        layers (`int` or `Sequence[int]`): hidden-state indices,
            0 = embeddings, i = output of layer i; several are collected in one pass.
        vocab_size (`int`, *optional*, defaults to 20000): keep the most frequent words; `None` keeps all.
        batch_size (`int`, *optional*, defaults to 64): sentences per forward pass.
        max_length (`int`, *optional*): truncation length; defaults to the model's maximum positions (capped at 512).
        prefix (`str`, *optional*, defaults to `""`): text put before every sentence (e.g. `"passage: "` for e5);
            its tokens belong to no word. Use the same as the model's inputs.
        min_count (`int`, *optional*, defaults to 1): minimum frequency.
        show_progress (`bool`, *optional*, defaults to `True`): tqdm progress bar.
        progress_desc (`str`, *optional*): progress bar label.
        early_exit (`bool`, *optional*, defaults to `True`): stop the forward pass after the deepest requested layer
            (found as the model's `ModuleList` of `num_hidden_layers` layers; full pass when none is found).

    Returns:
        `StaticVectors`: words that received at least one token keep their frequency order.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r}: use 'en' or 'my'.")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("compute_static_vectors needs a fast tokenizer (character offsets).")
    layers = [int(layers)] if isinstance(layers, int) else [int(l) for l in layers]
    n_hidden = getattr(model.config, "num_hidden_layers", None)
    for l in layers:
        if l < 0 or (n_hidden is not None and l > n_hidden):
            raise ValueError(
                f"layer {l} is out of range: the encoder has hidden states 0..{n_hidden} "
                "(0 = embeddings, i = output of layer i)."
            )
    start = time.perf_counter()
    prepared = [prepare_text(t, language) for t in texts]
    segmented = [segment(t, language) for t in prepared]
    words, counts = build_vocabulary(prepared, language, vocab_size, min_count, segmented=segmented)
    if not words:
        raise ValueError(f"the {language} corpus has no words ({len(texts)} sentences).")
    index = {w: i for i, w in enumerate(words)}
    device = next(model.parameters()).device
    d = model.config.hidden_size
    if max_length is None:
        max_length = min(
            int(getattr(model.config, "max_position_embeddings", 512) or 512),
            512,
            int(getattr(tokenizer, "model_max_length", 512) or 512),
        )
        if getattr(model.config, "model_type", "") in ("xlm-roberta", "roberta", "camembert"):
            max_length = min(max_length, 512)
    sums = torch.zeros(len(layers), len(words), d, dtype=torch.float64)  # (L, V, d) sums, float64 for stability
    n_tokens = torch.zeros(len(words), dtype=torch.long)  # (V,)
    # keep only sentences that contain a vocabulary word; sort by length (characters) to reduce padding
    order = [i for i in range(len(prepared)) if any(vocabulary_form(w) in index for w in segmented[i])]
    order.sort(key=lambda i: len(prepared[i]))
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = (
        tqdm(
            total=len(order),
            desc=progress_desc or f"static vectors ({language})",
            unit="sent",
            disable=not show_progress,
        )
        if tqdm
        else None
    )
    for b in range(0, len(order), batch_size):
        batch = order[b : b + batch_size]
        inputs = [prefix + prepared[i] for i in batch]
        enc = tokenizer(
            inputs,
            return_offsets_mapping=True,
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping").tolist()
        model_inputs = {
            k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")
        }
        hidden = _hidden_states(model, model_inputs, layers, early_exit)
        rows, cols, vocab_ids = [], [], []
        for r, i in enumerate(batch):
            text = prepared[i]
            tok_offsets = [
                (max(0, s - len(prefix)), max(0, e - len(prefix))) if e > len(prefix) else (0, 0)
                for s, e in offsets[r]
            ]
            ids, words_r = token_word_ids(text, tok_offsets, language, segmented[i] if language == "my" else None)
            mask = enc["attention_mask"][r].tolist()
            for t, wid in enumerate(ids):
                if wid is None or not mask[t] or (offsets[r][t][1] <= len(prefix)):
                    continue
                v = index.get(words_r[wid])
                if v is not None:
                    rows.append(r), cols.append(t), vocab_ids.append(v)
        if vocab_ids:
            rr = torch.tensor(rows, device=device)
            cc = torch.tensor(cols, device=device)
            vid = torch.tensor(vocab_ids)
            for j, l in enumerate(layers):
                states = hidden[l][rr, cc].to("cpu", torch.float64)  # (N, d)
                sums[j].index_add_(0, vid, states)  # eq. 1: sum over every sub-token of every occurrence
            n_tokens += torch.bincount(vid, minlength=len(words))
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    keep = (n_tokens > 0).nonzero().flatten()  # words whose tokens were all truncated away are dropped
    if keep.numel() < len(words):
        logger.warning(
            "%d of %d %s words received no token (truncation?) and are dropped.",
            len(words) - keep.numel(),
            len(words),
            language,
        )
    vectors = (sums[:, keep] / n_tokens[keep].to(torch.float64)[None, :, None]).to(
        torch.float32
    )  # eq. 1 mean, (L, V, d)
    kept = keep.tolist()
    meta = {
        "encoder": getattr(model.config, "_name_or_path", "") or "",
        "sentences": len(texts),
        "sentences_used": len(order),
        "prefix": prefix,
        "max_length": max_length,
        "seconds": time.perf_counter() - start,
    }
    return StaticVectors(
        [words[i] for i in kept],
        [counts[i] for i in kept],
        vectors,
        layers,
        language,
        [int(n_tokens[i]) for i in kept],
        meta,
    )


def corpus_fingerprint(specs: Sequence[str], extra: dict | None = None) -> str:
    """A short hash of corpus files (name, size, modification time) or Hub ids plus settings, for cache keys."""
    h = hashlib.sha256()
    for spec in specs:
        p = Path(spec)
        if p.exists():
            st = p.stat()
            h.update(f"{p.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode())
        else:
            h.update(str(spec).encode())
    h.update(json.dumps(extra or {}, sort_keys=True).encode())
    return h.hexdigest()[:16]


def static_vectors_cache_path(
    encoder: str,
    corpora: Sequence[str],
    language: str,
    layers: int | Sequence[int],
    vocab_size: int | None,
    max_sentences: int | None = None,
    prefix: str = "",
    text_column: str | None = None,
    dedupe: str = "exact",
    cache: str | Path | None = None,
) -> Path:
    """Cache path (without suffix) of a :func:`cached_static_vectors` request: `<cache>/<language>-<key>`."""
    from ..utils.paths import cache_dir

    layers_list = [int(layers)] if isinstance(layers, int) else sorted(int(l) for l in layers)
    key = corpus_fingerprint(
        corpora,
        {
            "encoder": encoder,
            "language": language,
            "layers": layers_list,
            "vocab": vocab_size,
            "max_sentences": max_sentences,
            "prefix": prefix,
            "text_column": text_column,
            "dedupe": dedupe,
            "format": 1,
        },
    )
    root = Path(cache) if cache is not None else cache_dir() / "static-vectors"
    return root / f"{language}-{key}"


def _cached_superset(
    encoder, corpora, language, layers, vocab_size, max_sentences, prefix, text_column, dedupe, cache
) -> StaticVectors | None:
    """A cached file of every layer and the whole vocabulary (what the benchmarks write), cut down to the request.

    Exact: a word's vector does not depend on which other words are in the vocabulary, and the top-V words of the
    whole vocabulary are the top-V words.
    """
    try:
        from transformers import AutoConfig

        from ..offline_encoder import resolve_encoder

        n_layers = AutoConfig.from_pretrained(resolve_encoder(encoder)).num_hidden_layers
    except Exception:  # no config to be had: no superset to look for
        return None
    wanted = [int(layers)] if isinstance(layers, int) else sorted(int(l) for l in layers)
    path = static_vectors_cache_path(
        encoder, corpora, language, list(range(n_layers + 1)), None, max_sentences, prefix, text_column, dedupe, cache
    )
    if not (Path(str(path) + ".safetensors").is_file() and Path(str(path) + ".json").is_file()):
        return None
    logger.info("reusing cached all-layer static vectors %s", path)
    full = StaticVectors.load(path)
    vectors = torch.stack([full.layer(l) for l in wanted])  # (L', V, d)
    out = StaticVectors(full.words, full.counts, vectors, wanted, full.language, full.token_counts, dict(full.meta))
    return out.truncate(vocab_size) if vocab_size else out


def cached_static_vectors(
    encoder: str,
    corpora: Sequence[str],
    language: str,
    layers: int | Sequence[int],
    vocab_size: int | None,
    max_sentences: int | None = None,
    batch_size: int = 64,
    prefix: str = "",
    text_column: str | None = None,
    dedupe: str = "exact",
    cache: str | Path | None = None,
    model_and_tokenizer: tuple | None = None,
    device: str | None = None,
    show_progress: bool = True,
) -> StaticVectors:
    """Static vectors of several corpus files, cached under `cache` (default `cache_dir()/static-vectors`).

    The cache key covers the encoder, the corpus files (path, size, mtime), language, layers, vocabulary size, maximum
    sentences and prefix. A cached file with more layers or a larger vocabulary is not reused for a smaller request
    (keys are exact); pass all layers at once to share a pass.

    Args:
        encoder (`str`): name or path (`ctam/e5-small-offline` allowed).
        corpora (`Sequence[str]`): files or Hub ids, read with :func:`modeling_ctam.data.corpus.read_corpus` and
            concatenated.
        model_and_tokenizer (`tuple`, *optional*): `(tokenizer, model)` already loaded, to skip loading.
        Other arguments: see :func:`compute_static_vectors` and :func:`modeling_ctam.data.corpus.read_corpus`.
    """
    path = static_vectors_cache_path(
        encoder, corpora, language, layers, vocab_size, max_sentences, prefix, text_column, dedupe, cache
    )
    if Path(str(path) + ".safetensors").is_file() and Path(str(path) + ".json").is_file():
        logger.info("reusing cached static vectors %s", path)
        return StaticVectors.load(path)
    superset = _cached_superset(
        encoder, corpora, language, layers, vocab_size, max_sentences, prefix, text_column, dedupe, cache
    )
    if superset is not None:
        return superset
    layers_list = [int(layers)] if isinstance(layers, int) else sorted(int(l) for l in layers)
    texts = load_corpora(corpora, language, text_column, max_sentences, dedupe)
    tokenizer, model = model_and_tokenizer if model_and_tokenizer is not None else load_encoder(encoder, device)
    sv = compute_static_vectors(
        model,
        tokenizer,
        texts,
        language,
        layers_list,
        vocab_size,
        batch_size,
        prefix=prefix,
        show_progress=show_progress,
    )
    sv.meta.update({"encoder": encoder, "corpora": [os.path.basename(str(c)) for c in corpora], "dedupe": dedupe})
    sv.save(path)
    return sv
