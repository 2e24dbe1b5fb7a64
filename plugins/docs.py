"""Render the hook reference (``docs/hooks.md``) from :mod:`scanserve.plugins.hookspecs`.

``python -m scanserve.plugins.docs > docs/hooks.md`` regenerates it; a test fails when the
committed file differs from what this renders, or when a hook's docstring lacks a parameter
description or its ``:returns:``. Hooks keep their order in ``hookspecs.py`` and are grouped
under its ``# --- concern ---`` comments.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import hookspecs as default_hookspecs

_SECTION = re.compile(r"^# -+ (?P<title>.+?) -*$")
_FIELD = re.compile(r"^:(?P<kind>param|returns?)(?: (?P<name>\w+))?:\s*(?P<text>.*)$")


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
        if kind == "param" and name:
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
        "Mark implementations with `hookimpl` from `scanserve.plugins.hookspecs`. A plugin may"
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
    return "\n".join(out) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
