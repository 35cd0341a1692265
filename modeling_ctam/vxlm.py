"""VXLM: VecMap static word vectors fused with the contextual encoder (paper section 3.1, method.md section 2).

Three pieces, one per equation:

- eq. 1 :func:`static_pooling_matrix` + :func:`pool_static_word_vectors`: every token carries the mean layer-``l``
  state of its word form, taken over every sub-token of every occurrence of that form in the sequence. Dense, batched,
  no Python loop over tokens and no host synchronisation.
- eq. 2 :class:`VecMapMapping`: the affine map ``h_vec = W (h_static - mu_tgt) + mu_src`` applied to target-language
  (Burmese) inputs only; source-language (English) inputs pass through unchanged.
- eq. 3 :class:`VXLMGate`: ``g = sigmoid(W_g [h_xlm; h_vec] + b_g)``, ``h = g * h_xlm + (1 - g) * h_vec``.

This file is part of the flat set of files copied next to a checkpoint on the Hub: it imports nothing from the package
but its sibling `dual_path.py` (relatively, for [`full_precision`]).
"""

from __future__ import annotations

import torch
from torch import nn

from .dual_path import full_precision

NOT_A_WORD = -1  # word id of special and padding tokens


def word_ids_from_start_table(
    input_ids: torch.LongTensor, attention_mask: torch.Tensor | None, word_start_table: torch.Tensor
) -> torch.LongTensor:
    """Word ids from a per-vocabulary-entry table (the tokenizer's own word boundaries).

    Args:
        input_ids (`torch.LongTensor` of shape `(B, T)`): token ids.
        attention_mask (`torch.Tensor` of shape `(B, T)`, *optional*): 1 for real tokens.
        word_start_table (`torch.Tensor` of shape `(V,)`): per token id, 1 if the token starts a word (a SentencePiece
            piece with U+2581, a WordPiece piece without `##`), 0 if it continues one, -1 for special tokens.

    Returns:
        `torch.LongTensor` of shape `(B, T)`: word index within each sequence (0, 1, ...) or -1 for special/pad tokens.
    """
    kind = word_start_table[input_ids]  # (B, T) in {-1, 0, 1}
    valid = kind >= 0
    if attention_mask is not None:
        valid = valid & attention_mask.bool()
    prev_valid = torch.nn.functional.pad(valid[:, :-1], (1, 0), value=False)  # (B, T)
    starts = valid & ((kind == 1) | ~prev_valid)  # a continuation right after a special token still starts a word
    word_ids = torch.cumsum(starts.long(), dim=1) - 1  # (B, T)
    return torch.where(valid, word_ids, torch.full_like(word_ids, NOT_A_WORD))


def word_start_table_from_tokenizer(tokenizer) -> torch.Tensor:
    """Per vocabulary entry: 1 if the token starts a word, 0 if it continues one, -1 for special tokens.

    SentencePiece pieces start a word with U+2581, byte-level BPE with U+0120; WordPiece continuations start with `##`.
    """
    vocab_size = len(tokenizer)
    tokens = tokenizer.convert_ids_to_tokens(list(range(vocab_size)))
    wordpiece = any(t is not None and t.startswith("##") for t in tokens)
    table = torch.zeros(vocab_size, dtype=torch.int8)
    for i, tok in enumerate(tokens):
        if tok is None:
            continue
        if wordpiece:
            starts = not tok.startswith("##")
        else:
            starts = tok.startswith("\u2581") or tok.startswith("\u0120")
        table[i] = 1 if starts else 0
    for i in tokenizer.all_special_ids:
        if 0 <= i < vocab_size:
            table[i] = -1
    return table


# Two independent polynomial hashes of a word's sub-token ids; a false match needs both to collide (~2^-60).
_HASH_BASES = (1_000_003, 998_244_353)
_HASH_MODULI = (2_147_483_647, 2_147_483_629)


_POWERS_CACHE: dict[tuple[int, int, int, str], torch.Tensor] = {}
# The power tables cover at least this many positions, so that one table (a constant in an exported ONNX graph)
# serves every sequence length up to it.
_MIN_POWERS = 512


def _powers(base: int, mod: int, length: int, device: torch.device) -> torch.Tensor:
    """`base**k % mod` for k < max(length, 512), computed once per (length, device) and cached."""
    length = max(length, _MIN_POWERS)
    key = (base, mod, length, str(device))
    if key not in _POWERS_CACHE:
        values, p = [], 1
        for _ in range(length):
            values.append(p)
            p = p * base % mod
        _POWERS_CACHE[key] = torch.tensor(values, dtype=torch.long, device=device)
    return _POWERS_CACHE[key]


def _word_form_keys(input_ids: torch.LongTensor, word_ids: torch.LongTensor) -> torch.LongTensor:
    """Per token, a key of its word's form: (two polynomial hashes of the sub-token ids, word length). `(B, T, 3)`."""
    B, T = input_ids.shape
    valid = word_ids >= 0  # (B, T)
    slot = word_ids.clamp_min(0)  # (B, T) words are numbered below T, so T slots always suffice: no host sync
    pos = torch.arange(T, device=input_ids.device).expand(B, T)  # (B, T)
    first = torch.full((B, T), T, dtype=torch.long, device=input_ids.device)
    first = first.scatter_reduce(1, slot, torch.where(valid, pos, T), reduce="amin")  # (B, T) first position per word
    rank = (pos - first.gather(1, slot)).clamp_min(0)  # (B, T) position of each token inside its word
    keys = []
    for base, mod in zip(_HASH_BASES, _HASH_MODULI):
        powers = _powers(base, mod, T, input_ids.device)  # (T,)
        term = (input_ids + 1) % mod * powers[rank] % mod * valid  # (B, T) < 2^62, no overflow
        word_hash = torch.zeros(B, T, dtype=torch.long, device=input_ids.device).scatter_add(1, slot, term) % mod
        keys.append(word_hash.gather(1, slot))  # (B, T) each token carries its word's hash
    length = torch.zeros(B, T, dtype=torch.long, device=input_ids.device).scatter_add(1, slot, valid.long())
    keys.append(length.gather(1, slot))
    return torch.stack(keys, dim=-1)  # (B, T, 3)


def static_pooling_matrix(
    input_ids: torch.LongTensor, word_ids: torch.LongTensor, by_form: bool = True
) -> torch.Tensor:
    """Eq. 1 as a row-stochastic matrix `A` (B, T, T): `h_static = A @ h_l`.

    Row `t` averages every sub-token position of every occurrence of token `t`'s word form in the sequence (or of its
    own word occurrence with `by_form=False`). Tokens outside words (special, padding) keep their own state.
    Dense and free of host synchronisation, so it runs at full speed on GPUs; its `O(B T^2 d)` cost is small next to
    the encoder's attention.

    Args:
        input_ids (`torch.LongTensor` of shape `(B, T)`): token ids.
        word_ids (`torch.LongTensor` of shape `(B, T)`): word index per token (< T), -1 for tokens outside any word.
        by_form (`bool`, *optional*, defaults to `True`): group equal word forms (eq. 1) or only word occurrences.

    Returns:
        `torch.Tensor` of shape `(B, T, T)`, float32, rows summing to 1.
    """
    B, T = input_ids.shape
    valid = word_ids >= 0  # (B, T)
    if by_form:
        keys = _word_form_keys(input_ids, word_ids)  # (B, T, 3)
        same = (keys.unsqueeze(2) == keys.unsqueeze(1)).all(-1)  # (B, T, T) same word form
    else:
        same = word_ids.unsqueeze(2) == word_ids.unsqueeze(1)  # (B, T, T) same word occurrence
    same = same & valid.unsqueeze(1) & valid.unsqueeze(2)
    pos = torch.arange(T, device=input_ids.device)
    eye = (pos.unsqueeze(1) == pos.unsqueeze(0)).expand(B, T, T)  # not torch.eye: it exports as a bool EyeLike
    same = same | (eye & ~valid.unsqueeze(2))  # outside words: identity row
    matrix = same.float()
    return matrix / matrix.sum(-1, keepdim=True)  # each row sums to 1


def pool_static_word_vectors(hidden: torch.Tensor, pooling_matrix: torch.Tensor) -> torch.Tensor:
    """Eq. 1: `h_static(w)` = mean layer-`l` state over every sub-token of every occurrence of `w`.

    Args:
        hidden (`torch.Tensor` of shape `(B, T, d)`): layer-`l` hidden states.
        pooling_matrix (`torch.Tensor` of shape `(B, T, T)`): from :func:`static_pooling_matrix`.

    Returns:
        `torch.Tensor` of shape `(B, T, d)`: `h_static`, each position carrying its word's vector.
    """
    return torch.bmm(pooling_matrix.to(hidden.dtype), hidden)  # (B, T, T) @ (B, T, d) -> (B, T, d)


class VecMapMapping(nn.Module):
    """Eq. 2 in the model: ``h_vec = W (h_static - mu_tgt) + mu_src`` for target-language inputs, identity otherwise.

    `W` is initialised to the identity (and both means to zero) unless an alignment result is loaded with
    :meth:`load_alignment`. Whether `W` trains is `CTAMConfig.mapping_trainable`; the means stay fixed.
    """

    def __init__(self, hidden_size: int, trainable: bool = True, static_layer: int = -1):
        super().__init__()
        self.weight = nn.Parameter(torch.eye(hidden_size), requires_grad=trainable)  # (d, d)
        self.register_buffer("target_mean", torch.zeros(hidden_size))  # (d,) mu_tgt, Burmese
        self.register_buffer("source_mean", torch.zeros(hidden_size))  # (d,) mu_src, English
        # The encoder layer whose states the mapping was built for (`CTAMConfig.static_layer`), saved with the
        # weights, so that a config.json whose static_layer was moved is caught on loading (`loading_problems`).
        self.register_buffer("static_layer", torch.tensor(static_layer, dtype=torch.long))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Weights saved before the layer was recorded (e.g. a cached stage-1 teacher) lack it: keep this model's own.
        state_dict.setdefault(prefix + "static_layer", self.static_layer.detach().clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, h_static: torch.Tensor, is_target: bool) -> torch.Tensor:
        if not is_target:
            return h_static  # source-language inputs bypass the mapping
        # eq. 2: (B, T, d) @ (d, d)^T -> (B, T, d)
        return torch.nn.functional.linear(h_static - self.target_mean, self.weight) + self.source_mean

    @torch.no_grad()
    def load_alignment(
        self, weight: torch.Tensor, target_mean: torch.Tensor | None = None, source_mean: torch.Tensor | None = None
    ) -> None:
        """Set `W`, `mu_tgt`, `mu_src` from a VecMap alignment result (`modeling_ctam.alignment` writes them)."""
        d = self.weight.shape[0]
        if tuple(weight.shape) != (d, d):
            raise ValueError(
                f"mapping weight has shape {tuple(weight.shape)}, but this model's hidden size needs ({d}, {d})."
            )
        self.weight.copy_(weight.to(self.weight))
        for name, value in (("target_mean", target_mean), ("source_mean", source_mean)):
            buf = getattr(self, name)
            if value is None:
                buf.zero_()
            elif tuple(value.shape) != (d,):
                raise ValueError(f"mapping {name} has shape {tuple(value.shape)}, expected ({d},).")
            else:
                buf.copy_(value.to(buf))

    def orthogonality_penalty(self) -> torch.Tensor:
        """``||W^T W - I||_F^2``: keeps the dynamic mapping close to a rotation."""
        w = self.weight.float()
        eye = torch.eye(w.shape[0], device=w.device)
        return ((w.t() @ w - eye) ** 2).sum()


MAPPING_FILE = "mapping.safetensors"
MAPPING_TENSORS = ("weight", "target_mean", "source_mean")


def load_mapping_file(path, expected_layer: int | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read an eq. 2 mapping written by the alignment CLI: the one loader used by the model, the CLI and the figures.

    Args:
        path (`str` or `os.PathLike`): an alignment folder (holding `mapping.safetensors`) or the file itself.
        expected_layer (`int`, *optional*): the model's `static_layer`. When the file records the layer its static
            vectors came from (metadata `layer`) and it differs, a `ValueError` says so: a mapping learnt on one
            layer's vectors does not fit another layer's.

    Returns:
        `(tensors, metadata)`: tensors `weight` `(d, d)`, `target_mean` `(d,)`, `source_mean` `(d,)` (and any extra
        tensors such as the dictionary vectors), and the metadata strings.
    """
    import os

    from safetensors import SafetensorError, safe_open

    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, MAPPING_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path}: no alignment mapping here; write one with `python -m modeling_ctam.alignment`."
        )
    try:
        with safe_open(path, framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{path}: not a readable safetensors mapping ({err}).") from err
    missing = [k for k in MAPPING_TENSORS if k not in tensors]
    if missing:
        raise ValueError(f"{path} lacks tensors {missing}; it was not written by `python -m modeling_ctam.alignment`.")
    layer = meta.get("layer")
    if expected_layer is not None and layer not in (None, "") and int(layer) != int(expected_layer):
        raise ValueError(
            f"{path} maps static vectors of encoder layer {layer}, but this model's static_layer is {expected_layer}: "
            f"re-run the alignment with --layer {expected_layer}, or build the model with static_layer={layer}."
        )
    return tensors, meta


class VXLMGate(nn.Module):
    """Eq. 3: ``g = sigmoid(W_g [h_xlm; h_vec] + b_g)``; ``h = g * h_xlm + (1 - g) * h_vec``.

    Kept out of `torch.autocast` on purpose: the gate computes in its own weights' dtype (float32 in training) under
    bf16 / fp16 mixed precision. `h` mixes two views of each token that differ little; in bf16 the mixture, and the
    gate's gradient (proportional to `h_xlm - h_vec`), would be mostly rounding. One `(2d, d)` projection: a
    negligible share of the step's cost.
    """

    def __init__(self, hidden_size: int, gate_type: str = "vector"):
        super().__init__()
        out = hidden_size if gate_type == "vector" else 1
        self.proj = nn.Linear(2 * hidden_size, out)

    def forward(self, h_xlm: torch.Tensor, h_vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert h_xlm.shape == h_vec.shape, f"gate inputs differ: {tuple(h_xlm.shape)} vs {tuple(h_vec.shape)}"
        with full_precision(h_xlm):
            dtype = self.proj.weight.dtype
            return self._mix(h_xlm.to(dtype), h_vec.to(dtype))

    def _mix(self, h_xlm: torch.Tensor, h_vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.sigmoid(self.proj(torch.cat([h_xlm, h_vec], dim=-1)))  # (B, T, d) or (B, T, 1)   eq. 3, bias inside
        h = g * h_xlm + (1.0 - g) * h_vec  # (B, T, d)
        return h, g


LEGACY_OPTIONAL_KEYS = ("mapping.static_layer",)
"""Weights a CTAM checkpoint written before they existed lacks; their absence is not an error."""


def loading_problems(model, info: dict, source: str) -> list[str]:
    """What makes a loaded CTAM checkpoint disagree with its config: missing or unexpected weights (a config with
    other layer counts, `use_vxlm` or `vecmap_integrations` than the weights), and a `static_layer` other than the
    one the weights' mapping was built for. Empty when the checkpoint fits.

    Args:
        model: the loaded `CTAMPreTrainedModel`.
        info (`dict`): `from_pretrained`'s loading info (`missing_keys`, `unexpected_keys`).
        source (`str`): the folder or Hub id, named in the messages.
    """
    missing = sorted(k for k in info.get("missing_keys") or () if not k.endswith(LEGACY_OPTIONAL_KEYS))
    unexpected = sorted(info.get("unexpected_keys") or ())
    if not hasattr(model, "ctam"):  # the base model (AutoModel) from a classifier checkpoint: the head is not its own
        own = {name for name, _ in model.named_children()}
        unexpected = [k for k in unexpected if k.split(".")[0] in own]
    problems = []
    for what, keys in (
        ("that config.json's model needs are missing from model.safetensors", missing),
        ("in model.safetensors have no place in the model config.json describes", unexpected),
    ):
        if keys:
            shown = ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
            problems.append(f"{len(keys)} weights {what}: {shown}")
    mapping = getattr(getattr(model, "ctam", model), "mapping", None)
    saved = int(mapping.static_layer) if mapping is not None else -1
    if mapping is not None and saved >= 0 and saved != model.config.static_layer:
        problems.append(
            f"config.json says static_layer={model.config.static_layer}, but the weights' eq. 2 mapping "
            f"was built for layer {saved}"
        )
    if problems:
        problems.append(
            f"{source}: config.json and model.safetensors come from different models; restore the config "
            "the run saved (num_hidden_layers, static_layer, use_vxlm, vecmap_integrations, ...), or pass "
            "allow_partial_load=True to load what fits and initialise the rest"
        )
    return problems


def gate_mean(gate: torch.Tensor | None, attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """The eq. 3 gate's mean over the real tokens and the hidden size (a training diagnostic), or None."""
    if gate is None:
        return None
    if attention_mask is None:
        return gate.detach().float().mean()
    mask = attention_mask.to(gate.device).unsqueeze(-1).float()  # (B, T, 1)
    return (gate.detach().float() * mask).sum() / (mask.sum() * gate.shape[-1]).clamp_min(1.0)
