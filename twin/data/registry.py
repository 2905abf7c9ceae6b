"""Station types and phase models: where the spec learns every kind it accepts.

A station type is a spec class (a subclass of :class:`twin.data.spec.StationBase` with a
``type: Literal["<name>"]`` field) that declares, as class attributes, what the rest of
Pilot Twin reads about it: ``signals`` (the signal kinds its stations offer to alarms and
live twins, from :data:`STATION_SIGNALS`) and ``drawing`` (:class:`Drawing`: its box colour
and the spec keys its box shows in the line diagrams of the report and the dashboard). A
phase model is a spec class (a subclass of :class:`twin.data.process.PhaseBase` with a
``phase: Literal["<name>"]`` field) that declares the species it names
(``species_refs``).

The built-in kinds are the classes of :data:`twin.data.spec.BUILTIN_STATIONS` and
:data:`twin.data.process.BUILTIN_PHASES`. Others are added with :func:`register_station`
and :func:`register_phase`; the layers above register what runs them
(:func:`twin.simulation.register_station`: the node class; :func:`twin.process.register_phase`:
the handler and its kernels), and that is the call an extension makes. An installed package
can declare an entry point in the group :data:`ENTRY_POINT_GROUP` (a function without
arguments that registers its kinds): it is loaded the first time a kind is not found, so
every process (a worker of a process pool or a Dask cluster too) finds it without a call.

The spec validates stations and recipe phases through :func:`station_adapter` and
:func:`phase_adapter`: pydantic tagged unions over the registered classes, rebuilt when a
kind is registered, so validation errors, their key paths and the JSON Schema
(``twin schema``) cover registered kinds exactly as built-in ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    Discriminator,
    Field,
    PlainValidator,
    SerializeAsAny,
    Tag,
    TypeAdapter,
    ValidationInfo,
)

STATION_SIGNALS = ("buffer", "tank", "temperature")
"""Signal kinds a station can offer (``<kind>.<station>`` tags, :mod:`twin.data.alarms`):
parts in its input buffers, contents of a tank, batch temperature."""

ENTRY_POINT_GROUP = "pilot_twin.extensions"
"""Entry-point group of installed extensions: each names a function without arguments that
registers station types and phase models."""

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class RegistrationError(ValueError):
    """A station type or phase model cannot be registered (the message says why)."""


@dataclass(frozen=True)
class Drawing:
    """How a station type is drawn in line diagrams (report figure and dashboard page).

    ``colour`` is the box fill (``#rrggbb``); ``box`` lists ``(spec key, label)`` pairs shown
    on the box's second line after the type, servers and buffer (``("batch_size", "batch")``
    shows ``batch 4``).
    """

    colour: str = "#dddddd"
    box: tuple[tuple[str, str], ...] = ()


@dataclass
class _Kinds:
    """The registered classes of one kind (stations or phases) by union tag."""

    classes: dict[str, type]
    adapter: TypeAdapter[Any] | None = None


_STATIONS = _Kinds({})
_PHASES = _Kinds({})
_LOADED: set[str] = set()


def _literal_values(cls: type, key: str) -> tuple[str, ...]:
    """The values of the ``Literal`` field ``key`` of a pydantic class."""
    field = getattr(cls, "model_fields", {}).get(key)
    ann = None if field is None else field.annotation
    if ann is None or get_origin(ann) is not Literal or not all(
            isinstance(v, str) for v in get_args(ann)):
        raise RegistrationError(f"{cls.__name__} needs a field {key}: Literal[\"<name>\"] "
                                "(the value that chooses it in a line file)")
    return tuple(get_args(ann))


def type_name(cls: type) -> str:
    """The ``type`` of a station spec class (what a line file writes)."""
    return _literal_values(cls, "type")[0]


def _builtins() -> None:
    """Register the built-in kinds (on first use: the spec modules import this one)."""
    if _STATIONS.classes and _PHASES.classes:
        return
    from twin.data import process, spec

    for cls in spec.BUILTIN_STATIONS:
        _STATIONS.classes.setdefault(type_name(cls), cls)
    for cls in process.BUILTIN_PHASES:
        for tag in cls.union_tags():
            _PHASES.classes.setdefault(tag, cls)


def _add(kinds: _Kinds, tags: tuple[str, ...], cls: type, what: str) -> None:
    _builtins()
    for tag in tags:
        held = kinds.classes.get(tag)
        if held is not None and held is not cls:
            raise RegistrationError(f"{what} {tag!r} is already {held.__module__}."
                                    f"{held.__qualname__}")
    for tag in tags:
        kinds.classes[tag] = cls
    kinds.adapter = None


def register_station(cls: type) -> type:
    """Accept stations of the spec class ``cls`` in line specs (idempotent; returns ``cls``).

    Raises
    ------
    RegistrationError
        If ``cls`` is not a ``StationBase`` with one ``type`` literal, its ``type`` is taken by
        another class, or its ``signals`` or ``drawing`` are not valid.
    """
    from twin.data.spec import StationBase

    if not (isinstance(cls, type) and issubclass(cls, StationBase)):
        raise RegistrationError(f"{cls!r} is not a station spec class (a subclass of "
                                "twin.data.spec.StationBase, or of Equipment for servers)")
    names = _literal_values(cls, "type")
    if len(names) != 1:
        raise RegistrationError(f"{cls.__name__}.type must be one name, not {names}")
    bad = [s for s in cls.signals if s not in STATION_SIGNALS]
    if bad:
        raise RegistrationError(f"{cls.__name__}.signals: {bad} are not station signals "
                                f"(known: {', '.join(STATION_SIGNALS)})")
    if not isinstance(cls.drawing, Drawing) or not _COLOUR.match(cls.drawing.colour):
        raise RegistrationError(f"{cls.__name__}.drawing must be a Drawing with a colour "
                                "'#rrggbb'")
    _add(_STATIONS, names, cls, "station type")
    return cls


def register_phase(cls: type) -> type:
    """Accept recipe phases of the spec class ``cls`` (idempotent; returns ``cls``).

    Raises
    ------
    RegistrationError
        If ``cls`` is not a ``PhaseBase`` with a ``phase`` literal, or a value is taken.
    """
    from twin.data.process import PhaseBase

    if not (isinstance(cls, type) and issubclass(cls, PhaseBase)):
        raise RegistrationError(f"{cls!r} is not a phase spec class (a subclass of "
                                "twin.data.process.PhaseBase)")
    _literal_values(cls, "phase")
    _add(_PHASES, cls.union_tags(), cls, "phase model")
    return cls


def unregister(cls: type) -> None:
    """Forget a registered (not built-in) station type or phase model (tests, notebooks)."""
    from twin.data import process, spec

    if cls in spec.BUILTIN_STATIONS or cls in process.BUILTIN_PHASES:
        raise RegistrationError(f"{cls.__name__} is built in")
    for kinds in (_STATIONS, _PHASES):
        for tag in [t for t, c in kinds.classes.items() if c is cls]:
            del kinds.classes[tag]
            kinds.adapter = None


def load_extensions() -> list[str]:
    """Call every installed extension's registration function (once per entry point per
    process); returns the names newly loaded.

    Raises
    ------
    RegistrationError
        If an extension cannot be imported or its registration fails (named, with why).
    """
    done = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        key = f"{ep.name}={ep.value}"
        if key in _LOADED:
            continue
        _LOADED.add(key)
        try:
            hook: Callable[[], Any] = ep.load()
            hook()
        except Exception as exc:
            raise RegistrationError(f"the installed extension {ep.name!r} ({ep.value}) "
                                    f"could not register: {type(exc).__name__}: {exc}"
                                    ) from exc
        done.append(ep.name)
    return done


def _lookup(kinds: _Kinds, tag: Any) -> type | None:
    _builtins()
    if isinstance(tag, str) and tag not in kinds.classes:
        load_extensions()  # an installed extension may declare it
    return kinds.classes.get(tag) if isinstance(tag, str) else None


def station_class(name: Any) -> type | None:
    """The spec class of station type ``name`` (extensions loaded if it is unknown)."""
    return _lookup(_STATIONS, name)


def phase_class(tag: Any) -> type | None:
    """The spec class of the phase model with union tag ``tag`` (extensions loaded if it is
    unknown)."""
    return _lookup(_PHASES, tag)


def station_types() -> dict[str, type]:
    """Every registered station type: name -> spec class, built-in ones first."""
    _builtins()
    return dict(_STATIONS.classes)


def phase_models() -> dict[str, type]:
    """Every registered phase model: union tag -> spec class, built-in ones first."""
    _builtins()
    return dict(_PHASES.classes)


def _union(kinds: _Kinds, discriminator: str | Callable[[Any], Any]) -> TypeAdapter[Any]:
    _builtins()
    if kinds.adapter is None:
        if isinstance(discriminator, str):  # a field: the classes' literals are the tags
            members = tuple(dict.fromkeys(kinds.classes.values()))
            union: Any = Annotated[Union[members], Field(discriminator=discriminator)]  # noqa: UP007
        else:
            members = tuple(Annotated[cls, Tag(tag)] for tag, cls in kinds.classes.items())
            union = Annotated[Union[members], Discriminator(discriminator)]  # noqa: UP007
        kinds.adapter = TypeAdapter(union)
    return kinds.adapter


def station_adapter() -> TypeAdapter[Any]:
    """The tagged union of every registered station type, chosen by ``type`` (call
    :func:`station_class` first so that an extension declaring it is loaded)."""
    return _union(_STATIONS, "type")


def phase_adapter(tag_of: Callable[[Any], Any]) -> TypeAdapter[Any]:
    """The tagged union of every registered phase model, chosen by ``tag_of(value)`` (the
    same function every call: the union is built once per set of registered models)."""
    return _union(_PHASES, tag_of)


class _UnionSchema:
    """JSON Schema of a registered union, made when the schema is (so it lists the kinds
    registered by then)."""

    def __init__(self, adapter: Callable[[], TypeAdapter[Any]]) -> None:
        self.adapter = adapter

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        return handler(self.adapter().core_schema)


def union_type(base: type, tag_of: Callable[[Any], Any], lookup: Callable[[Any], Any],
               adapter: Callable[[], TypeAdapter[Any]]) -> Any:
    """The annotation of a field holding any registered kind derived from ``base``: a value
    is validated by the union ``adapter()`` (after ``lookup(tag_of(value))`` has loaded an
    extension that declares it), an instance is kept, and it is written by its own class."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, base):
            return value
        lookup(tag_of(value))
        return adapter().validate_python(value, context=info.context)

    return Annotated[SerializeAsAny[base], PlainValidator(validate),  # type: ignore[valid-type]
                     _UnionSchema(adapter)]
