"""Render the hook reference (``docs/hooks.md``) from :mod:`scanserve.plugins.hookspecs`,
and the reference of the types a plugin builds or receives from their classes.

``python -m scanserve.plugins.docs > docs/hooks.md`` regenerates it; a test fails when the
committed file differs from what this renders, or when a hook's docstring lacks a parameter
description or its ``:returns:``. Hooks keep their order in ``hookspecs.py`` and are grouped
under its ``# --- concern ---`` comments.

Types: :data:`scanserve.plugins.DOCUMENTED_TYPES` lists them, once; ``scanserve`` exports
each by its name (``from scanserve import ProductRecord``). A type's docstring is its
reference: the first paragraph the summary, ``:ivar NAME:`` one line per field or
attribute (a test fails when one is missing), public methods and properties by their own
docstrings. Adding a type is one line in that list (and its import in
``scanserve/__init__.py`` for type checkers; a test compares).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from scanserve.plugins import DOCUMENTED_TYPES
from scanserve.plugins import hookspecs as default_hookspecs

_SECTION = re.compile(r"^# -+ (?P<title>.+?) -*$")
_FIELD = re.compile(r"^:(?P<kind>param|returns?|ivar)(?: (?P<name>\w+))?:\s*(?P<text>.*)$")


@dataclass(frozen=True)
class HookDoc:
    """One hook as its spec declares and documents it."""

    name: str
    section: str
    signature: str
    parameters: tuple[str, ...]
    firstresult: bool
    historic: bool
    summary: str
    params: dict[str, str]
    returns: str | None
    body: str


def parse_docstring(doc: str) -> tuple[str, dict[str, str], str | None, str]:
    """Split a hook docstring into (summary, ``:param:`` texts, ``:returns:`` text, the rest).

    A field runs on over the following indented lines; the first paragraph is the summary and
    any paragraphs that are not fields form the rest.
    """
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    rest: list[str] = []
    params: dict[str, str] = {}
    returns: str | None = None
    current: list[str] | None = None  # the field being continued
    fields: list[tuple[str, str | None, list[str]]] = []
    in_summary = True
    for line in lines:
        match = _FIELD.match(line)
        if match:
            in_summary = False
            current = [match["text"]]
            fields.append((match["kind"], match["name"], current))
        elif current is not None and line.startswith((" ", "\t")) and line.strip():
            current.append(line.strip())
        elif in_summary:
            if line.strip():
                summary.append(line.strip())
            elif summary:
                in_summary = False
        else:
            current = None
            rest.append(line)
    for kind, name, texts in fields:
        text = " ".join(t for t in texts if t)
        if kind in ("param", "ivar") and name:
            params[name] = text
        elif kind in ("return", "returns"):
            returns = text
    return " ".join(summary), params, returns, "\n".join(rest).strip()


def _spec_options(fn: Callable[..., Any], project: str) -> dict[str, Any] | None:
    options = getattr(fn, f"{project}_spec", None)
    return options if isinstance(options, dict) else None


def _signature(fn: Callable[..., Any]) -> tuple[str, tuple[str, ...]]:
    # hookspecs uses `from __future__ import annotations`: annotations are the source text.
    sig = inspect.signature(fn)
    parts = []
    for param in sig.parameters.values():
        annotation = param.annotation
        if annotation is inspect.Parameter.empty:
            parts.append(param.name)
        else:
            parts.append(f"{param.name}: {annotation}")
    returns = "" if sig.return_annotation is inspect.Signature.empty else sig.return_annotation
    tail = f" -> {returns}" if returns else ""
    one_line = f"def {fn.__name__}({', '.join(parts)}){tail}: ..."
    if len(one_line) <= 88:
        return one_line, tuple(sig.parameters)
    inner = "".join(f"    {part},\n" for part in parts)
    return f"def {fn.__name__}(\n{inner}){tail}: ...", tuple(sig.parameters)


def _sections(module: ModuleType) -> list[tuple[int, str]]:
    source, _ = inspect.getsourcelines(module)
    found = []
    for number, line in enumerate(source, start=1):
        match = _SECTION.match(line.strip())
        if match:
            found.append((number, match["title"].strip()))
    return found


def hook_docs(module: ModuleType = default_hookspecs) -> list[HookDoc]:
    """Every hook spec in ``module``, in source order."""
    project = module.PROJECT_NAME
    sections = _sections(module)
    found = []
    for name, fn in vars(module).items():
        if not inspect.isfunction(fn):
            continue
        options = _spec_options(fn, project)
        if options is None:
            continue
        line = inspect.getsourcelines(fn)[1]
        section = ""
        for start, title in sections:
            if start < line:
                section = title
        signature, parameters = _signature(fn)
        summary, params, returns, body = parse_docstring(fn.__doc__ or "")
        found.append(
            (
                line,
                HookDoc(
                    name=name,
                    section=section,
                    signature=signature,
                    parameters=parameters,
                    firstresult=bool(options.get("firstresult")),
                    historic=bool(options.get("historic")),
                    summary=summary,
                    params=params,
                    returns=returns,
                    body=body,
                ),
            )
        )
    return [doc for _, doc in sorted(found, key=lambda item: item[0])]


@dataclass(frozen=True)
class MemberDoc:
    """One field, attribute, property or method of a documented type."""

    name: str
    kind: str  # "field", "key", "attribute", "property" or "method"
    signature: str  # "name: type" (with " = default" for fields that have one) or "name(...)"
    text: str


@dataclass(frozen=True)
class TypeDoc:
    """One documented type, read from its class."""

    name: str
    path: str
    kind: str  # "dataclass", "protocol", "typeddict", "model" or "exception"
    definition: str
    summary: str
    members: tuple[MemberDoc, ...]
    body: str

    @property
    def undocumented(self) -> list[str]:
        return [member.name for member in self.members if not member.text]


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        return f" = {f.default!r}"
    if f.default_factory is not dataclasses.MISSING:
        return f" = {f.default_factory()!r}"
    return ""


def _callable_signature(name: str, fn: Callable[..., Any], *, drop_self: bool = True) -> str:
    sig = inspect.signature(fn)
    parts = []
    for index, param in enumerate(sig.parameters.values()):
        if drop_self and index == 0 and param.name == "self":
            continue
        text = param.name
        if param.annotation is not inspect.Parameter.empty:
            text += f": {param.annotation}"
        if param.default is not inspect.Parameter.empty:
            text += f" = {param.default!r}"
        parts.append(text)
    returns = sig.return_annotation
    tail = "" if returns is inspect.Signature.empty else f" -> {returns}"
    return f"{name}({', '.join(parts)}){tail}"


def _own_public(cls: type) -> list[tuple[str, Any]]:
    return [
        (name, value)
        for name, value in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))
    ]


def _summary_of(obj: Any) -> str:
    return parse_docstring(obj.__doc__ or "")[0] if obj.__doc__ else ""


_Declared = tuple[str, str, list[tuple[str, str, str]]]  # kind, header, (name, kind, line)


def _dataclass(cls: Any, name: str) -> _Declared:
    frozen = getattr(cls, "__dataclass_params__").frozen  # noqa: B009 -- not in typeshed
    header = ("@dataclass(frozen=True)" if frozen else "@dataclass") + f"\nclass {name}:"
    fields = [
        (f.name, "field", f"{f.name}: {f.type}{_default(f)}") for f in dataclasses.fields(cls)
    ]
    return "dataclass", header, fields


def _protocol(cls: Any, name: str) -> _Declared:
    annotations = vars(cls).get("__annotations__", {})
    attributes = [(a, "attribute", f"{a}: {t}") for a, t in annotations.items()]
    return "protocol", f"class {name}(Protocol):", attributes


def _typeddict(cls: Any, name: str) -> _Declared:
    required = set(getattr(cls, "__required_keys__", frozenset()))
    # Python 3.11 misses NotRequired[...] in annotations kept as strings (PEP 563): it keeps
    # them as ForwardRefs.
    raw = getattr(cls, "__annotations__", {})
    required -= {
        key
        for key, value in raw.items()
        if str(getattr(value, "__forward_arg__", value)).startswith("NotRequired[")
    }
    keys = []
    for attr, annotation in typing.get_type_hints(cls).items():
        shown = inspect.formatannotation(annotation)
        keys.append(
            (attr, "key", f"{attr}: {shown if attr in required else f'NotRequired[{shown}]'}")
        )
    return "typeddict", f"class {name}(TypedDict):", keys


def _model(cls: Any, name: str) -> _Declared:
    fields = []
    for attr, info in cls.model_fields.items():
        line = f"{attr}: {inspect.formatannotation(info.annotation)}"
        if not info.is_required():
            line += f" = {info.get_default(call_default_factory=True)!r}"
        fields.append((attr, "field", line))
    return "model", f"class {name}(BaseModel):", fields


def _exception(cls: Any, name: str) -> _Declared:
    bases = ", ".join(base.__name__ for base in cls.__bases__)
    header = f"class {name}({bases}):"
    init = vars(cls).get("__init__")
    if init is not None:
        header += (
            f"\n    def {_callable_signature('__init__', init).replace('(', '(self, ', 1)}: ..."
        )
    # An exception's attributes are those its docstring names (``:ivar:``).
    return "exception", header, []


def _declared(cls: Any, name: str, path: str) -> _Declared:
    if dataclasses.is_dataclass(cls):
        return _dataclass(cls, name)
    if getattr(cls, "_is_protocol", False):
        return _protocol(cls, name)
    if typing.is_typeddict(cls):
        return _typeddict(cls, name)
    if hasattr(cls, "model_fields"):  # a pydantic model
        return _model(cls, name)
    if isinstance(cls, type) and issubclass(cls, BaseException):
        return _exception(cls, name)
    raise TypeError(
        f"{path}: only dataclasses, protocols, TypedDicts, pydantic models and exceptions"
        " are documented"
    )


def type_doc(path: str) -> TypeDoc:
    """The reference of one type, ``module.Name``, from its class and docstring."""
    module_name, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), name)
    summary, texts, _, body = parse_docstring(cls.__doc__ or "")
    kind, definition, declared = _declared(cls, name, path)
    members = [MemberDoc(attr, what, line, texts.get(attr, "")) for attr, what, line in declared]
    definition += "".join(f"\n    {line}" for _, _, line in declared)
    if kind == "exception":
        members += [MemberDoc(attr, "attribute", attr, text) for attr, text in texts.items()]
    for attr, value in _own_public(cls):
        if isinstance(value, property):
            annotation = inspect.signature(value.fget).return_annotation  # type: ignore[arg-type]
            definition += f"\n    @property\n    def {attr}(self) -> {annotation}: ..."
            members.append(
                MemberDoc(attr, "property", f"{attr}: {annotation}", _summary_of(value.fget))
            )
        else:
            signature = _callable_signature(attr, value)
            definition += f"\n    def {signature.replace(attr + '(', attr + '(self, ', 1)}: ..."
            members.append(MemberDoc(attr, "method", signature, _summary_of(value)))
    return TypeDoc(
        name=name,
        path=path,
        kind=kind,
        definition=definition.replace("(self, )", "(self)"),
        summary=summary,
        members=tuple(members),
        body=body,
    )


def type_docs() -> list[TypeDoc]:
    """Every type in :data:`DOCUMENTED_TYPES`, in that order."""
    return [type_doc(path) for path in DOCUMENTED_TYPES]


_KIND_NOTE = {
    "dataclass": "A dataclass: build it with keyword arguments; fields without a default are"
    " required.",
    "protocol": "A protocol: any object with these attributes and methods will do (no need to"
    " subclass).",
    "exception": "An exception a provider raises.",
    "typeddict": "A dict with these keys (a `TypedDict`); `NotRequired` keys may be left out.",
    "model": "A pydantic model: build it with keyword arguments; it checks its values.",
}


def _render_type(doc: TypeDoc) -> list[str]:
    out = ["", f"### {doc.name}", "", "```python", f"from scanserve import {doc.name}", ""]
    out += [doc.definition, "```", "", _markdown(doc.summary), "", _KIND_NOTE[doc.kind], ""]
    for member in doc.members:
        out.append(f"- `{member.signature}` ({member.kind}): {_markdown(member.text)}")
    if doc.members:
        out.append("")
    if doc.body:
        out += [_markdown(doc.body), ""]
    while out and out[-1] == "":
        out.pop()
    return out


def _markdown(text: str) -> str:
    # reST inline literals and roles to Markdown code spans.
    text = re.sub(r":(?:mod|class|func|data|meth|attr):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def render(module: ModuleType = default_hookspecs) -> str:
    """The Markdown reference for every hook in ``module``."""
    hooks = hook_docs(module)
    out = [
        "# Hook reference",
        "",
        "<!-- Rendered from plugins/hookspecs.py by `python -m scanserve.plugins.docs`;"
        " do not edit by hand. -->",
        "",
        _markdown(inspect.cleandoc(module.__doc__ or "")),
        "",
        "Mark implementations with `hookimpl` (`from scanserve import hookimpl`); the types the"
        " hooks take and return are under [Types](#types). A plugin may"
        " leave out parameters it does not use. The plugin author's guide is"
        " [plugins.md](plugins.md).",
        "",
        "| Hook | Concern | Answers |",
        "| --- | --- | --- |",
    ]
    for hook in hooks:
        answers = "first answer wins" if hook.firstresult else "every implementation is called"
        out.append(f"| [`{hook.name}`](#{hook.name}) | {hook.section} | {answers} |")
    section = None
    for hook in hooks:
        if hook.section != section:
            section = hook.section
            title = section[:1].upper() + section[1:] if section else "Hooks"
            out += ["", f"## {title}"]
        out += ["", f"### {hook.name}", "", "```python", hook.signature, "```", ""]
        kind = (
            "**First result**: the first implementation that returns something other than"
            " `None` answers; the rest are not called."
            if hook.firstresult
            else "**Every implementation** is called: `tryfirst` ones first, then the others"
            " (the last registered first), then `trylast` ones."
        )
        if hook.historic:
            kind += " Historic: a plugin registered later is called with earlier calls."
        out += [kind, "", _markdown(hook.summary), ""]
        if hook.params:
            out.append("Parameters:")
            out.append("")
            for name in hook.parameters:
                if name in hook.params:
                    out.append(f"- `{name}`: {_markdown(hook.params[name])}")
            out.append("")
        if hook.returns is not None:
            out += [f"Returns: {_markdown(hook.returns)}", ""]
        if hook.body:
            out += [_markdown(hook.body), ""]
        while out and out[-1] == "":
            out.pop()
    types = type_docs()
    out += [
        "",
        "## Types",
        "",
        "The types a plugin builds or receives, rendered from their classes. Import each from"
        " `scanserve`.",
        "",
        "| Type | What it is |",
        "| --- | --- |",
    ]
    for doc in types:
        out.append(f"| [`{doc.name}`](#{doc.name.lower()}) | {_markdown(doc.summary)} |")
    for doc in types:
        out += _render_type(doc)
    return "\n".join(out) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
