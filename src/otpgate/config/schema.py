"""The settings a section (one table of the file) has, declared on its fields.

A section is a frozen dataclass deriving from :class:`Section`; each field is
a setting whose kind follows from its annotation
(:func:`~otpgate.config.kinds.kind_of`) and whose rule
(:mod:`otpgate.config.rules`) is given where it is declared::

    timeout: float = setting(0.25, between(0.001, 10, "must be ..."))

:func:`fixed` declares a field the file may not set, :func:`nested` one whose
object is built from flat settings of the same table.  The rules run when
:func:`otpgate.config.loader.load_config` reads a value (it reports every
problem with where the value came from) and again whenever a section is built
by hand (``ValueError`` with every problem).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .kinds import Kind, kind_of
from .rules import Rule

__all__ = ["Schema", "Section", "Setting", "build", "fixed", "nested", "schema", "setting"]

_KEY: Final = "otpgate.setting"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name, how its value is read, and its rule."""

    name: str
    kind: Kind
    optional: bool = False
    rule: Rule | None = None

    def read(self, value: object, from_text: bool) -> object:
        """The value of this setting's kind; ``None`` (``""``, ``none``, ``off`` as
        text) for an optional one.

        Raises:
            ValueError: not of its kind.
        """
        if self.optional and (
            value is None or (from_text and str(value).strip().lower() in ("", "none", "off"))
        ):
            return None
        return self.kind.read(value, from_text)

    def problem(self, value: object) -> str | None:
        """What is wrong with a value of this setting, said after its name."""
        if value is None and self.optional:
            return None
        if not self.kind.accepts(value):
            return f"must be {self.kind.expected}"
        return None if self.rule is None else self.rule(value)


@dataclass(frozen=True, slots=True)
class _Declared:
    rule: Rule | None = None
    settable: bool = True
    flat: tuple[Setting, ...] = ()


def setting(default: object, rule: Rule | None = None, *, secret: bool = False) -> Any:
    """A setting with its default and rule; a ``secret`` one is left out of ``repr``."""
    return dataclasses.field(default=default, repr=not secret, metadata={_KEY: _Declared(rule)})


def fixed(default: object, rule: Rule | None = None) -> Any:
    """A field checked like a setting that the file does not set."""
    return dataclasses.field(default=default, metadata={_KEY: _Declared(rule, settable=False)})


def nested(default: object, *flat: Setting) -> Any:
    """A field whose object (of ``type(default)``) the flat settings ``flat`` build."""
    return dataclasses.field(default=default, metadata={_KEY: _Declared(None, False, flat)})


@dataclass(frozen=True, slots=True)
class Schema:
    """What a section accepts.

    Attributes:
        settings: every name its table accepts.
        checked: the fields checked when it is built (settable or fixed), each with
            its default (which a test holds to its rule, so it is not checked again).
        nested: a field -> its object's type and the flat names that build it.
    """

    settings: Mapping[str, Setting]
    checked: tuple[tuple[Setting, object], ...]
    nested: Mapping[str, tuple[type[Any], tuple[str, ...]]]


_SCHEMAS: Final[dict[type[Any], Schema]] = {}


def schema(cls: type[Any]) -> Schema:
    """A section's schema, read once from its fields."""
    found = _SCHEMAS.get(cls)
    if found is None:
        found = _SCHEMAS[cls] = _read_schema(cls)
    return found


def _read_schema(cls: type[Any]) -> Schema:
    settings: dict[str, Setting] = {}
    checked: list[tuple[Setting, object]] = []
    inner: dict[str, tuple[type[Any], tuple[str, ...]]] = {}
    for f in dataclasses.fields(cls):
        declared = f.metadata.get(_KEY, _Declared())
        if declared.flat:
            settings |= {s.name: s for s in declared.flat}
            inner[f.name] = (type(f.default), tuple(s.name for s in declared.flat))
            continue
        kind, optional = kind_of(f.type)
        one = Setting(f.name, kind, optional, declared.rule)
        checked.append((one, f.default))
        if declared.settable:
            settings[f.name] = one
    return Schema(settings, tuple(checked), inner)


def build(cls: type[Any], values: Mapping[str, object]) -> Any:
    """A section from its table's values (a nested object from its flat ones).

    Raises:
        ValueError: a value breaks its rule.
    """
    fields = dict(values)
    for name, (make, flat) in schema(cls).nested.items():
        fields[name] = make(**{n: fields.pop(n) for n in flat if n in fields})
    return cls(**fields)


class Section:
    """A table's settings: a frozen dataclass checked by its fields' rules when built."""

    __slots__ = ()

    def __post_init__(self) -> None:
        problems = []
        for one, default in schema(type(self)).checked:
            value = getattr(self, one.name)
            problem = None if value is default else one.problem(value)
            if problem:
                problems.append(f"{one.name} {problem}")
        if problems:
            raise ValueError("; ".join(problems))
