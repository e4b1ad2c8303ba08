"""Options that describe themselves: each dataclass field carries its help, flag, choices and range.

The request, every engine's options and settings are dataclasses whose fields are made with
`option()`. Validation, the CLI's flags and `--help`, the dry-run plan, the note on ignored
flags and `lipsync_tool.engine()` all read these specs: one source for each default and each
choice list.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError


@dataclass(frozen=True)
class OptionSpec:
    """How one option is named, explained and checked."""

    help: str
    """One line for `--help` (the default is appended there)."""
    flag: str | None = None
    """The CLI flag; None: `--` and the field name with dashes (after the owner's prefix)."""
    kind: type | None = None
    """Value type for the CLI; None: the default's type (or its items' type for a tuple)."""
    choices: tuple[Any, ...] | None = None
    """The values accepted; with `open_choices` other values (a path) are accepted too."""
    open_choices: bool = False
    minimum: float | None = None
    maximum: float | None = None
    metavar: str | tuple[str, ...] | None = None
    negate: bool = False
    """A boolean that is on by default and turned off by the flag (`--no-blink` for `blink`)."""
    const: Any = None
    """Value of the flag given without one (`--normalize-loudness` alone means -16)."""
    file_flag: str | None = None
    """A second flag that reads the text from a UTF-8 file (`--text-file`)."""
    both_ways: bool = False
    """A tri-state boolean (default None) with a flag for each way (`--wav2lip-static/--wav2lip-no-static`)."""
    cli: bool = True
    """False: the field is API-only (a path the CLI sets positionally, say)."""
    group: str = "general"
    """The `--help` group of the request's own fields."""


def option(default: Any = dataclasses.MISSING, help: str = "", **spec: Any) -> Any:
    """A dataclass field with its spec; `default` may be a zero-argument factory via `factory=`."""
    factory = spec.pop("factory", dataclasses.MISSING)
    metadata = {"spec": OptionSpec(help=help, **spec)}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class OptionField:
    """One field of an options dataclass with its spec and CLI flag."""

    name: str
    spec: OptionSpec
    default: Any
    flag: str

    def describe_default(self) -> str:
        if self.spec.negate:
            return "off"
        if self.default is None:
            return "none"
        if isinstance(self.default, tuple):
            return " ".join(str(v) for v in self.default)
        if isinstance(self.default, float):
            return f"{self.default:g}"
        return str(self.default)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for `engines()`, a web form or an assistant's schema)."""
        default = self.default
        if isinstance(default, Path):
            default = str(default)
        return {
            "name": self.name,
            "flag": self.flag,
            "help": self.spec.help,
            "default": list(default) if isinstance(default, tuple) else default,
            "choices": list(self.spec.choices) if self.spec.choices else None,
            "open_choices": self.spec.open_choices,
            "minimum": self.spec.minimum,
            "maximum": self.spec.maximum,
        }


def option_fields(cls: type, prefix: str = "") -> tuple[OptionField, ...]:
    """The spec'd fields of dataclass `cls`; flags get `--{prefix}{name}` unless set explicitly."""
    fields = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("spec")
        if spec is None:
            continue
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None if f.default is dataclasses.MISSING else f.default
        flag = spec.flag or "--" + ("no-" if spec.negate else "") + prefix + f.name.replace(
            "_", "-"
        )
        fields.append(OptionField(f.name, spec, default, flag))
    return tuple(fields)


def validate(instance: Any, prefix: str = "") -> None:
    """Check every spec'd field of `instance` against its choices and range.

    The InputError names the field and its flag: `rate (--rate) must be between 80 and 450, not 20`.
    """
    for field in option_fields(type(instance), prefix):
        label = f"{field.name} ({field.flag})"
        value = getattr(instance, field.name)
        if value is None or isinstance(value, bool):
            continue
        spec = field.spec
        if spec.choices is not None and not spec.open_choices and value not in spec.choices:
            listed = ", ".join(str(c) for c in spec.choices)
            raise InputError(f"{label} must be one of {listed}, not {value!r}")
        for item in value if isinstance(value, tuple) else (value,):
            if not isinstance(item, (int, float)):
                continue
            low, high = spec.minimum, spec.maximum
            if low is not None and high is not None and not low <= item <= high:
                raise InputError(f"{label} must be between {low:g} and {high:g}, not {item:g}")
            if low is not None and item < low:
                raise InputError(f"{label} must be at least {low:g}, not {item:g}")
            if high is not None and item > high:
                raise InputError(f"{label} must be at most {high:g}, not {item:g}")


def changed(instance: Any, prefix: str = "") -> Iterator[OptionField]:
    """The spec'd fields of `instance` set to something other than their default."""
    for field in option_fields(type(instance), prefix):
        if getattr(instance, field.name) != field.default:
            yield field


def build(cls: type, values: Mapping[str, Any] | Any | None, what: str, prefix: str = "") -> Any:
    """A validated instance of `cls` from an instance, a mapping of its fields, or None (the defaults).

    Every spec'd field is checked against its choices and range here, whether or not `cls`
    checks itself, so an engine's options need no validation code of their own.
    """
    if values is None:
        instance = cls()
    elif isinstance(values, cls):
        instance = values
    elif not isinstance(values, Mapping):
        raise InputError(f"{what} must be a {cls.__name__} or a mapping of its fields")
    else:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            listed = ", ".join(sorted(known)) or "none"
            raise InputError(f"unknown {what}: {', '.join(unknown)} (known: {listed})")
        coerced = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        instance = cls(**coerced)
    validate(instance, prefix)
    return instance


def as_json(instance: Any) -> dict[str, Any]:
    """The dataclass `instance` as JSON-ready values (paths as strings, tuples as lists)."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = as_json(value)
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return data


def check_json_types(cls: type, values: Mapping[str, Any], what: str) -> None:
    """InputError unless each of `values` has its field's JSON type (a number for a float, …).

    `build` checks ranges and choices; this catches what a JSON client can get wrong beyond
    them, such as `"rate": "fast"`, before it reaches code that assumes a number.
    """
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        hint = hints.get(name)
        if hint is None or value is None and _optional(hint):
            continue
        allowed = _json_types(hint)
        if allowed is None:
            continue
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
            names = " or ".join(
                _JSON_NAMES[t] for t in allowed if not (t is int and float in allowed)
            )
            raise InputError(f"{what} {name} must be {names}, not {json.dumps(value)}")


_JSON_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _json_types(hint: Any) -> tuple[type, ...] | None:
    """The JSON value types a field of type `hint` accepts; None: not checked here."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    types: list[type] = []
    for arg in args:
        if arg is bool:
            types.append(bool)
        elif arg is int:
            types.append(int)
        elif arg is float:
            types += [float, int]
        elif arg in (str, Path):
            types.append(str)
        else:
            return None
    return tuple(dict.fromkeys(types))
