"""Declarative payloads: VariablePayload, vp_compile and dataclass payloads (py-ipv8's API).

A payload class lists its ``format_list`` and ``names``; the Serializer packs the attributes in that
order. ``vp_compile`` gives a class a fast explicit ``__init__``; dataclass payloads derive both lists
from their annotations (on first instantiation or first use by a Serializer, whichever comes first).
"""
from __future__ import annotations

import builtins
import dataclasses
import inspect
import keyword
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from ._core.serializable import Layout, Payload, Serializable

__all__ = ["VariablePayload", "VariablePayloadWID", "vp_compile", "DataClassPayload", "DataClassPayloadWID",
           "type_from_format", "type_map", "convert_to_payload"]

_LAYOUT = "_ipv8fast_layout_cache"
_COMPILED = "_ipv8fast_compiled"


class VariablePayload(Payload):
    """A payload described by ``format_list`` and the attribute ``names`` that fill it."""

    format_list: list = []
    names: list[str] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        setattr(cls, "__match_args__", tuple(cls.names))  # noqa: B010 - mypy refuses a plain assignment

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        names = list(cls.names)
        base_init, base_params = _old_style_base(cls)
        if base_init is not None:
            taken = list(args[:len(base_params)])
            args = args[len(base_params):]
            for param in base_params[len(taken):]:
                if param.name in kwargs:
                    taken.append(kwargs.pop(param.name))
                elif param.default is not inspect.Parameter.empty:
                    taken.append(param.default)
                else:
                    raise KeyError(param.name)
            base_init(self, *taken)
            names = names[len(base_params):]
        if len(args) > len(names):
            raise KeyError(f"{cls.__name__} missing {len(args) - len(names)} arguments!")
        for name, value in zip(names, args, strict=False):  # len(args) <= len(names), checked above
            setattr(self, name, value)
        for name in names[len(args):]:
            if name not in kwargs:
                raise KeyError(name)
            setattr(self, name, kwargs.pop(name))
        if kwargs:
            raise KeyError(f"{cls.__name__} has leftover keyword arguments: {kwargs}!")

    @classmethod
    def from_unpack_list(cls, *args: Any) -> VariablePayload:
        """Build an instance from unpacked values, passing each through ``fix_unpack_<name>`` if defined."""
        layout = cls._ipv8fast_layout()
        hooks = layout.unpack_hooks
        if any(hooks):
            skip_none = layout.hooks_skip_none
            args = tuple(
                value if hook is None or (skip_none and value is None) else hook(value)
                for value, hook in zip(args, hooks, strict=False)  # extra values pass through, unhooked
            ) + args[len(hooks):]
        return cls(*args)

    def to_pack_list(self) -> list[tuple]:
        """``(format, value...)`` per format entry; values pass through ``fix_pack_<name>`` if defined."""
        cls = type(self)
        layout = cls._ipv8fast_layout()
        result = []
        position = 0
        for entry in cls.format_list:
            if isinstance(entry, str):
                width = 8 if entry == "bits" else 1
                fmt = entry
            else:
                width = 1
                fmt = "payload-list" if isinstance(entry, list) else "payload"
            values = []
            for index in range(position, position + width):
                value = getattr(self, layout.names[index])
                hook = layout.pack_hooks[index]
                values.append(value if hook is None else hook(self, value))
            result.append((fmt, *values))
            position += width
        return result

    @classmethod
    def _ipv8fast_layout(cls) -> Layout:
        """The class's Layout (computed once per class)."""
        layout = cls.__dict__.get(_LAYOUT)
        if layout is None or layout.names != tuple(cls.names):
            layout = _compute_layout(cls)
            setattr(cls, _LAYOUT, layout)
        return layout


class VariablePayloadWID(VariablePayload):
    """A VariablePayload that declares its message id."""

    msg_id: int


def _old_style_base(cls: type) -> tuple[Callable | None, list[inspect.Parameter]]:
    """A non-VariablePayload base class's own ``__init__`` and its positional parameters, if any."""
    for base in cls.__mro__[1:]:
        if base is object or issubclass(base, VariablePayload) or base in (Payload, Serializable):
            continue
        init = base.__dict__.get("__init__")
        if init is None or not inspect.isfunction(init):
            continue
        params = [p for p in list(inspect.signature(init).parameters.values())[1:]
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return init, params
    return None, []


def _pack_hook(cls: type, name: str) -> Callable | None:
    attribute = f"fix_pack_{name}"
    if not hasattr(cls, attribute):
        return None
    if inspect.isfunction(inspect.getattr_static(cls, attribute)):
        return getattr(cls, attribute)
    return lambda obj, value: getattr(obj, attribute)(value)


def _compute_layout(cls: Any) -> Layout:
    names = tuple(cls.names)
    pack_hooks = tuple(_pack_hook(cls, name) for name in names)
    unpack_hooks = tuple(getattr(cls, f"fix_unpack_{name}", None) for name in names)
    inherited_build = VariablePayload.__dict__["from_unpack_list"].__func__
    direct_build = getattr(cls.from_unpack_list, "__func__", None) is inherited_build
    fast_construct = (getattr(cls.__init__, _COMPILED, None) == names
                      and cls.__new__ in (object.__new__, DataClassPayload.__new__))
    direct_pack = cls.to_pack_list is VariablePayload.to_pack_list
    return Layout(names, pack_hooks, unpack_hooks, bool(cls.__dict__.get(_COMPILED, False)),
                  direct_build, fast_construct, direct_pack)


# --- vp_compile ----------------------------------------------------------------------------------------

_MISSING = object()
_T = TypeVar("_T", bound=type)


def _make_init(cls: Any, names: tuple[str, ...]) -> Callable:
    """An ``__init__(self, <names>)`` taking defaults, by name, from the class's current ``__init__``."""
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        for param in signature.parameters.values():
            if param.default is not inspect.Parameter.empty:
                defaults[param.name] = param.default
    for field in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ():
        if field.default_factory is not dataclasses.MISSING:
            factories[field.name] = field.default_factory
            defaults.pop(field.name, None)
    params: list[str] = []
    seen_default = False
    for name in names:
        if name in defaults or name in factories:
            params.append(f"{name}=_d_{name}")
            seen_default = True
        elif seen_default:
            raise TypeError(f"vp_compile({cls.__name__}): field {name!r} has no default but an earlier field has")
        else:
            params.append(name)
    body = [f"    if {name} is _MISSING: {name} = _f_{name}()" for name in factories]
    body += [f"    self.{name} = {name}" for name in names] or ["    pass"]
    source = f"def __init__(self{''.join(', ' + p for p in params)}):\n" + "\n".join(body) + "\n"
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    namespace.update({f"_d_{name}": value for name, value in defaults.items()})
    namespace.update({f"_d_{name}": _MISSING for name in factories})
    namespace.update({f"_f_{name}": factory for name, factory in factories.items()})
    exec(compile(source, f"<vp_compile {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(init, _COMPILED, names)
    return init


def vp_compile(cls: _T) -> _T:
    """Give a VariablePayload class an explicit, fast ``__init__`` (one parameter per name)."""
    klass: Any = cls
    names = tuple(klass.names)
    if all(name.isidentifier() and not keyword.iskeyword(name) for name in names) and len(set(names)) == len(names):
        klass.__init__ = _make_init(klass, names)
    setattr(klass, _COMPILED, True)
    setattr(klass, "__match_args__", names)  # noqa: B010 - mypy refuses a plain assignment
    if _LAYOUT in klass.__dict__:
        delattr(klass, _LAYOUT)
    return cls


# --- dataclass payloads -----------------------------------------------------------------------------------

def type_from_format(fmt: str) -> Any:
    """An annotation that makes a dataclass field use the serializer format ``fmt`` as it is."""
    return TypeVar(fmt)


_SCALAR_FORMATS: dict[type, str] = {bool: "?", int: "q", float: "d", bytes: "varlenH", str: "varlenHutf8"}


def _is_class(annotation: Any) -> bool:
    """A real class: ``list[int]`` is not one (on Python 3.10 ``isinstance(list[int], type)`` is true)."""
    return isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias)


def type_map(annotation: Any) -> Any:
    """The format-list entry for one dataclass field annotation."""
    if isinstance(annotation, TypeVar):
        return annotation.__name__
    if isinstance(annotation, (list, tuple, set)):
        return list(annotation)
    if _is_class(annotation) and annotation in _SCALAR_FORMATS:
        return _SCALAR_FORMATS[annotation]
    if _is_class(annotation) and issubclass(annotation, Serializable):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        item = typing.get_args(annotation)[0]
        if _is_class(item) and issubclass(item, Serializable):
            return [item]
        item_format = type_map(item)
        return f"arrayH-{item_format}"
    raise NotImplementedError(f"{annotation!r} cannot be used as a payload field type")


def convert_to_payload(cls: Any, msg_id: int | None = None) -> None:
    """Derive ``names`` and ``format_list`` of a dataclass payload from its fields, then vp_compile it."""
    fields = dataclasses.fields(cls)
    cls.names = [field.name for field in fields]
    cls.format_list = [type_map(_resolve(cls, field.type)) for field in fields]
    if msg_id is not None:
        cls.msg_id = msg_id
    vp_compile(cls)


def _resolve(cls: type, annotation: Any) -> Any:
    """A field's annotation, evaluated if it is a string (``from __future__ import annotations``)."""
    if not isinstance(annotation, str):
        return annotation
    module = sys.modules.get(cls.__module__)
    namespace = {**vars(builtins), **(vars(module) if module else {}), cls.__name__: cls}
    try:
        return eval(annotation, namespace)  # noqa: S307 - the class's own annotation text
    except Exception as exc:
        raise NotImplementedError(f"cannot resolve the annotation {annotation!r} of {cls.__name__}") from exc


class DataClassPayload(VariablePayload):
    """Base of ``@dataclass`` payloads; ``DataClassPayload[n]`` gives the message id ``n``."""

    def __class_getitem__(cls, msg_id: int) -> type:
        return type("DataClassPayload", (DataClassPayloadWID,), {"msg_id": msg_id, "__module__": cls.__module__})

    def __new__(cls, *args: Any, **kwargs: Any) -> DataClassPayload:
        cls._ipv8fast_prepare()
        return object.__new__(cls)

    @classmethod
    def _ipv8fast_prepare(cls) -> None:
        """Convert the dataclass once (its fields exist only after ``@dataclass`` has run)."""
        if "_ipv8fast_converted" not in cls.__dict__ and dataclasses.is_dataclass(cls) \
                and "__dataclass_fields__" in cls.__dict__:
            convert_to_payload(cls)
            cls._ipv8fast_converted = True


class DataClassPayloadWID(DataClassPayload, VariablePayloadWID):
    """A dataclass payload with a message id (what ``DataClassPayload[n]`` derives from)."""
