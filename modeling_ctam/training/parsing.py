# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Config files and command lines into a [`TrainConfig`], through `transformers.HfArgumentParser`.

The parser holds [`ModelArguments`], [`DataArguments`], [`RunArguments`] and `transformers.TrainingArguments`
(CTAM's defaults set on it). Around it, this module keeps the forms every CTAM command line and config file has
used: keys grouped under `model:`/`data:`/`training:`/`hub:` (or `--group.key`), `--ctam.<CTAMConfig field>`,
`--training_args.<TrainingArguments field>`, dashes or underscores, YAML values (`null`, `[a, b]`), a bare
`--resume_from_checkpoint` (`latest`), deprecated keys (accepted with a FutureWarning naming the new key), and unknown
keys refused with a did-you-mean. Precedence: defaults, the config file, mapping overrides, command-line tokens.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import re
import typing
import warnings
from pathlib import Path
from typing import Optional, Sequence, Union

from transformers import HfArgumentParser, TrainingArguments

from .arguments import (
    FIXED_TRAINING_ARGS,
    TRAINING_DEFAULTS,
    DataArguments,
    ModelArguments,
    RunArguments,
    TrainConfig,
    check_recipe,
    check_training,
    resolve_training,
    suggest,
)

GROUPS = ("model", "data", "training", "hub")
DICT_KEYS = ("ctam", "alignment_args")
DEPRECATED_KEYS = {"warmup": "warmup_steps", "gradient_checkpointing": "activation_checkpointing"}
"""Old keys still accepted (with a FutureWarning) and the `TrainingArguments` field each now sets."""
_NULLS = ("null", "none", "~")


def _dataclasses() -> tuple:
    return ModelArguments, DataArguments, RunArguments, TrainingArguments


@functools.lru_cache(maxsize=1)
def key_groups() -> dict[str, str]:
    """Every top-level key and its group: model, data, training (RunArguments and TrainingArguments) or hub."""
    model, data, run, training = _dataclasses()
    groups = {f.name: "model" for f in dataclasses.fields(model)}
    groups.update({f.name: "data" for f in dataclasses.fields(data)})
    for f in dataclasses.fields(run) + dataclasses.fields(training):
        if f.init and f.name not in FIXED_TRAINING_ARGS:
            groups[f.name] = "hub" if f.name == "push_to_hub" or f.name.startswith("hub_") else "training"
    for old, new in DEPRECATED_KEYS.items():
        groups[old] = groups[new]
    return groups


def _unknown_key_error(key: str, where: str) -> ValueError:
    ctam_keys = ", ".join(f.name for cls in _dataclasses()[:3] for f in dataclasses.fields(cls))
    return ValueError(
        f"{where}: unknown key {key!r}{suggest(key, list(key_groups()) + list(GROUPS))}. Valid keys: {ctam_keys}, "
        f"and every transformers.TrainingArguments field (optionally grouped under {', '.join(GROUPS)}; CTAMConfig "
        "fields go under 'ctam.')."
    )


def resolve_key(key: str, where: str) -> tuple[str, Optional[str]]:
    """(name, sub-key) of a possibly dotted key: `lr`, `training.lr`, `ctam.lambda_align`, `training_args.optim`.

    Raises a ValueError for an unknown key (with a did-you-mean), a key in the wrong group, a fixed key, and warns
    (FutureWarning) for a deprecated key, naming its replacement.
    """
    parts = [str(p).strip().replace("-", "_") for p in str(key).split(".")]
    groups = key_groups()
    if len(parts) > 1 and parts[0] in GROUPS:
        if parts[1] in groups and groups[parts[1]] != parts[0]:
            raise ValueError(f"{where}: {parts[1]!r} belongs to the '{groups[parts[1]]}' group, not '{parts[0]}'.")
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in DICT_KEYS:
        if len(parts) != 2:
            raise ValueError(f"{where}: {key!r} is nested too deep; use {parts[0]}.<field>.")
        return parts[0], parts[1]
    if len(parts) == 2 and parts[0] == "training_args":
        name = parts[1]
        allowed = [f.name for f in dataclasses.fields(TrainingArguments) if f.init]
        if name not in allowed:
            raise ValueError(f"training_args.{name} is not a TrainingArguments field{suggest(name, allowed)}.")
        if name in TRAINING_DEFAULTS or name in FIXED_TRAINING_ARGS:
            raise ValueError(f"training_args.{name} is set by train.py; use the top-level key {name!r}.")
        parts = [name]
    if len(parts) != 1:
        raise _unknown_key_error(key, where)
    name = parts[0]
    if name in FIXED_TRAINING_ARGS:
        raise ValueError(
            f"{where}: {name} is set by train.py (always {FIXED_TRAINING_ARGS[name]!r}); CTAM's paired "
            "batches need it."
        )
    if name not in groups:
        raise _unknown_key_error(name, where)
    if name in DEPRECATED_KEYS:
        new = DEPRECATED_KEYS[name]
        warnings.warn(
            f"{where}: '{name}' is deprecated; use '{new}' (the TrainingArguments field, same meaning).",
            FutureWarning,
            stacklevel=3,
        )
        name = new
    return name, None


def flatten(raw: dict, where: str, into: Optional[dict] = None) -> dict:
    """A (possibly grouped) mapping of keys as a flat dict of field names; `ctam`/`alignment_args` merge key by key
    and `training_args: {...}` spreads into top-level TrainingArguments keys."""
    flat = {} if into is None else into
    for key, value in raw.items():
        norm = str(key).strip().replace("-", "_")
        if (norm in GROUPS or norm == "training_args") and isinstance(value, dict):
            flatten({f"{norm}.{sub}": v for sub, v in value.items()}, where, flat)
            continue
        name, sub = resolve_key(str(key), where)
        if sub is not None:
            flat.setdefault(name, {})[sub] = value
        elif name in DICT_KEYS:
            if value is not None and not isinstance(value, dict):
                raise ValueError(f"{where}: {name} must be a mapping, e.g. {name}: {{key: value}}.")
            flat.setdefault(name, {}).update(value or {})
        else:
            flat[name] = value
    return flat


def read_config_file(path: str | os.PathLike) -> dict:
    """A YAML (.yaml/.yml) or JSON (.json) config file as a flat dict of keys."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist (presets live in configs/).")
    suffix = path.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ValueError(f"{path}: config files must end in .yaml, .yml or .json.")
    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: not valid {'JSON' if suffix == '.json' else 'YAML'} ({err}).") from err
    if not isinstance(raw, (dict, type(None))):
        raise ValueError(f"{path}: the top level must be a mapping of keys to values.")
    return flatten(raw or {}, str(path))


def split_command_line(tokens: Sequence[str], flat: dict, parser: "CTAMArgumentParser") -> list[str]:
    """Command-line `tokens` as argv for the parser (names normalised); `ctam.x` values merge into `flat`.

    `--key value`, `--key=value`, `--group.key value`, a bare `--flag` (true; `--resume_from_checkpoint`: latest).
    """
    import yaml

    argv: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or token == "--":
            raise ValueError(f"command line: expected an option like --key value, got {token!r}.")
        body = token[2:]
        if "=" in body:
            key, value = body.split("=", 1)
            i += 1
        elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            key, value = body, tokens[i + 1]
            i += 2
        else:
            key, value = body, None
            i += 1
        norm = key.replace("-", "_")
        if norm.startswith("no_") and value is None and norm in parser.negations():
            argv.append(f"--{norm}")  # HfArgumentParser's --no_<flag> for a flag that defaults to true
            continue
        name, sub = resolve_key(key, "command line")
        if sub is not None or name in DICT_KEYS:
            parsed = yaml.safe_load(value) if value is not None else True
            flatten({f"{name}.{sub}": parsed} if sub else {name: parsed}, "command line", flat)
            continue
        if name == "resume_from_checkpoint" and (value is None or value.lower() == "true"):
            value = "latest"
        argv += [f"--{name}"] if value is None else [f"--{name}", value]
    return argv


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class CTAMArgumentParser(HfArgumentParser):
    """`HfArgumentParser` over [`ModelArguments`], [`DataArguments`], [`RunArguments`] and `TrainingArguments`, with
    CTAM's defaults ([`TRAINING_DEFAULTS`]), friendly type errors (`max_steps: expected an integer, got 'ten'`),
    `null` for optional fields, and errors raised as ValueError."""

    def __init__(self, prog: str = "train.py"):
        super().__init__(
            _dataclasses(),
            prog=prog,
            allow_abbrev=False,
            epilog=HELP_EPILOG,
            usage=USAGE.replace("train.py", prog, 1),
            description="Train CTAM (English -> Burmese cross-lingual sentiment).",
            formatter_class=_HelpFormatter,
        )
        self.add_argument("--config", help="YAML or JSON config file (e.g. configs/zero-shot-ctam.yaml).")
        self.add_argument(
            "--print-config",
            "--print_config",
            action="store_true",
            help="Print the resolved configuration as JSON and exit.",
        )
        self.set_defaults(**TRAINING_DEFAULTS)
        optional = {
            name
            for dtype in _dataclasses()
            for name, hint in typing.get_type_hints(dtype).items()
            if type(None) in typing.get_args(hint)
        }
        for action in self._actions:
            if action.type in (int, float, str) or getattr(action.type, "__name__", "") == "string_to_bool":
                action.type = _friendly_type(action.type, action.dest in optional)

    def negations(self) -> set[str]:
        """The `no_<flag>` options HfArgumentParser adds for boolean fields that default to true."""
        return {opt[2:] for action in self._actions for opt in action.option_strings if opt.startswith("--no_")}

    def error(self, message):
        raise ValueError(re.sub(r"^argument --(\w+)(/--[\w-]+)?: ", r"\1: ", message))


def _friendly_type(convert, optional: bool):
    expected = {int: "an integer", float: "a number", str: "a string"}.get(convert, "true or false")

    def parse(text: str):
        if optional and text.strip().lower() in _NULLS:
            return None
        try:
            if convert is int:
                number = float(text)
                if not number.is_integer():
                    raise ValueError(text)
                return int(number)
            return convert(text)
        except (TypeError, ValueError, argparse.ArgumentTypeError):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}.") from None

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


USAGE = "train.py [--config FILE] --output-dir DIR [--print-config] [--key value ...] (--help: every key)"
HELP_EPILOG = """\
A config file (--config FILE, YAML or JSON) sets the same keys, flat or grouped under model:, data:, training:
and hub:; command-line keys come after it and win. Also accepted: --key=value, --group.key value, dashes or
underscores, --ctam.<CTAMConfig field> value (file: ctam: {field: value}), --training_args.<field> value, a bare
boolean flag (true), a bare --resume_from_checkpoint (latest), null for optional keys, [a, b] or a,b for lists.
--print-config prints the resolved configuration and exits. See docs/training.md."""


def load_config(
    config_file: str | os.PathLike | None = None,
    overrides: Union[Sequence[str], dict, None] = None,
    *,
    require_output_dir: bool = False,
    **kwargs,
) -> TrainConfig:
    """The resolved [`TrainConfig`]: CTAM's defaults, the file's keys, then `overrides` (a mapping, or command-line
    tokens such as `["--max_steps", "50"]`) and `kwargs` (keys, or dotted keys as mappings).

    Raises:
        ValueError: unknown keys (with a did-you-mean), values of the wrong type, invalid combinations, no
            output_dir with `require_output_dir`.
        FileNotFoundError: a missing config file.
    """
    flat = read_config_file(config_file) if config_file else {}
    tokens: list[str] = []
    if isinstance(overrides, dict):
        flatten(overrides, "overrides", flat)
    elif overrides:
        tokens = list(overrides)
    flatten(kwargs, "keyword arguments", flat)
    parser = CTAMArgumentParser()
    argv = split_command_line(tokens, flat, parser)
    parser.set_defaults(**flat)
    values = vars(parser.parse_args(argv))
    del values["config"], values["print_config"]
    if require_output_dir and not values["output_dir"]:
        raise ValueError("no output directory: pass --output-dir DIR.")
    model, data, run = (
        dtype(**{f.name: values.pop(f.name) for f in dataclasses.fields(dtype)}) for dtype in _dataclasses()[:3]
    )
    resolve_training(values)
    check_training(values, data)
    check_recipe(run, data, values)
    return TrainConfig(model=model, data=data, run=run, training=TrainingArguments(**values))


def parse_args(argv: Optional[Sequence[str]] = None) -> tuple[TrainConfig, bool]:
    """(config, print_only) from `train.py`'s command line; exits with the usage and the reason on an error."""
    import sys

    tokens = list(sys.argv[1:] if argv is None else argv)
    if "-h" in tokens or "--help" in tokens:
        CTAMArgumentParser().print_help()
        raise SystemExit(0)
    front = argparse.ArgumentParser(prog="train.py", add_help=False, allow_abbrev=False, usage=USAGE)
    front.add_argument("--config")
    front.add_argument("--print-config", "--print_config", dest="print_config", action="store_true")
    known, rest = front.parse_known_args(tokens)
    try:
        cfg = load_config(known.config, rest, require_output_dir=not known.print_config)
    except (ValueError, FileNotFoundError) as err:
        front.print_usage(sys.stderr)
        front.exit(2, f"train.py: error: {err}\n")
    return cfg, known.print_config
