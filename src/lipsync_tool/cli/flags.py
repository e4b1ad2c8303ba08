"""Command-line flags made from option specs: the request's fields and every engine's settings and options."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..option_specs import OptionField


def help_text(field: OptionField) -> str:
    """The flag's help line: the spec's help, its range and its default."""
    spec = field.spec
    text = spec.help
    if spec.minimum is not None and spec.maximum is not None:
        text += f", {spec.minimum:g} to {spec.maximum:g}"
    elif spec.minimum is not None:
        text += f", at least {spec.minimum:g}"
    if isinstance(field.default, bool) or spec.both_ways or field.default is None:
        return text
    return f"{text} (default: {field.describe_default()})"


def add_flags(
    container: argparse._ActionsContainer, fields: Iterable[OptionField], dest: str
) -> None:
    """Add one flag per field; each stores under `{dest}{name}` only when given (defaults stay in the dataclass)."""
    for field in fields:
        if field.spec.cli:
            _add_flag(container, field, dest + field.name)


def _add_flag(container: argparse._ActionsContainer, field: OptionField, dest: str) -> None:
    spec = field.spec
    common: dict[str, Any] = {"dest": dest, "default": argparse.SUPPRESS, "help": help_text(field)}
    if spec.both_ways:
        pair = container.add_mutually_exclusive_group()
        pair.add_argument(field.flag, action="store_true", **common)
        negative = "--" + field.flag[2:].replace(
            field.name.replace("_", "-"), "no-" + field.name.replace("_", "-")
        )
        pair.add_argument(
            negative,
            dest=dest,
            action="store_false",
            default=argparse.SUPPRESS,
            help=f"the opposite of {field.flag}",
        )
        return
    if isinstance(field.default, bool):
        action = "store_false" if spec.negate else "store_true"
        container.add_argument(field.flag, action=action, **common)
        return
    kind = spec.kind or _item_type(field.default)
    common["metavar"] = spec.metavar or (None if spec.choices else field.name.upper())
    if isinstance(spec.metavar, tuple):
        common["nargs"] = len(spec.metavar)
    if spec.const is not None:
        common.update(nargs="?", const=spec.const)
    if spec.choices is not None and not spec.open_choices:
        common["choices"] = spec.choices
    target = container
    if spec.file_flag is not None:
        target = container.add_mutually_exclusive_group()
    target.add_argument(field.flag, type=kind, **common)
    if spec.file_flag is not None:
        target.add_argument(
            spec.file_flag,
            dest=dest + FILE_SUFFIX,
            type=Path,
            default=argparse.SUPPRESS,
            metavar="PATH",
            help=f"as {field.flag}, read from this UTF-8 text file",
        )


FILE_SUFFIX = "__file"


def _item_type(default: Any) -> type:
    if isinstance(default, tuple):
        return type(default[0]) if default else str
    return str if default is None else type(default)


def given(args: argparse.Namespace, fields: Iterable[OptionField], dest: str) -> dict[str, Any]:
    """The fields whose flags were given, with their values (tuples for several values, files read)."""
    values: dict[str, Any] = {}
    namespace = vars(args)
    for field in fields:
        key = dest + field.name
        if key + FILE_SUFFIX in namespace:
            values[field.name] = read_text_file(namespace[key + FILE_SUFFIX], field.spec.file_flag)
        elif key in namespace:
            value = namespace[key]
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return values


def given_flags(args: argparse.Namespace, fields: Iterable[OptionField], dest: str) -> list[str]:
    """The flags of `fields` that were given."""
    namespace: Mapping[str, Any] = vars(args)
    return [
        f.flag
        for f in fields
        if dest + f.name in namespace or dest + f.name + FILE_SUFFIX in namespace
    ]


def read_text_file(path: Path, flag: str | None) -> str:
    """The UTF-8 text of `path`, or InputError naming `flag`."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {flag} {path}: {exc}") from exc
