"""Every hook is documented in its spec, and docs/hooks.md is what the specs render to
(as datasette's tests/test_docs.py does for its plugin hooks)."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path
from typing import NotRequired, TypedDict

import pluggy
import pytest
from pydantic import BaseModel

import scanserve
from scanserve.plugins import DOCUMENTED_TYPES, hookspecs
from scanserve.plugins.docs import hook_docs, parse_docstring, render, type_doc, type_docs

HOOKS_MD = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
REGENERATE = "run `python -m scanserve.plugins.docs > docs/hooks.md`"


def _registered_hook_names() -> set[str]:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return {name for name in vars(pm.hook) if not name.startswith("_")}


HOOKS = hook_docs()


def test_the_renderer_sees_every_hook_pluggy_sees():
    assert {hook.name for hook in HOOKS} == _registered_hook_names()
    assert all(hook.section for hook in HOOKS), "each hook sits under a '# --- concern ---' line"


@pytest.mark.parametrize("hook", HOOKS, ids=[hook.name for hook in HOOKS])
def test_hook_is_documented(hook):
    assert hook.summary, f"{hook.name} has no docstring"
    missing = [name for name in hook.parameters if not hook.params.get(name)]
    assert not missing, f"{hook.name}: no ':param NAME:' description for {missing}"
    unknown = sorted(set(hook.params) - set(hook.parameters))
    assert not unknown, f"{hook.name}: ':param:' for parameters it does not have: {unknown}"
    assert hook.returns, f"{hook.name}: no ':returns:' (say what an implementation returns)"


@pytest.mark.parametrize("hook", HOOKS, ids=[hook.name for hook in HOOKS])
def test_hook_says_whether_the_first_answer_wins(hook):
    text = " ".join([hook.summary, hook.returns or "", hook.body]).lower()
    if hook.firstresult:
        assert "first answer wins" in text, (
            f"{hook.name} is firstresult; its docstring must say so"
        )
    else:
        assert "every implementation is called" in text, hook.name


def test_parse_docstring_reads_fields_and_continuations():
    summary, params, returns, body = parse_docstring(
        """Do a thing.

        :param register: takes a provider
            and more text.
        :param settings: the settings.
        :returns: nothing.

        More about it.
        """
    )
    assert summary == "Do a thing."
    assert params == {"register": "takes a provider and more text.", "settings": "the settings."}
    assert returns == "nothing."
    assert body == "More about it."


def test_a_missing_param_is_seen():
    _, params, returns, _ = parse_docstring("Summary.\n\n:param a: yes.\n")
    assert params == {"a": "yes."}
    assert returns is None


def test_hooks_md_is_up_to_date():
    assert HOOKS_MD.exists(), f"docs/hooks.md is missing: {REGENERATE}"
    assert HOOKS_MD.read_text(encoding="utf-8") == render(), (
        f"docs/hooks.md is stale: {REGENERATE}"
    )


def test_module_entry_point_prints_the_rendering():
    result = subprocess.run(
        [sys.executable, "-m", "scanserve.plugins.docs"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == render()


# --- the types a plugin builds or receives ---------------------------------------------------

TYPES = type_docs()


@pytest.mark.parametrize("doc", TYPES, ids=[doc.name for doc in TYPES])
def test_type_is_documented_field_by_field(doc):
    assert doc.summary, f"{doc.path} has no docstring"
    assert doc.members or doc.kind == "exception", f"{doc.path}: nothing to document?"
    assert not doc.undocumented, (
        f"{doc.path}: no ':ivar NAME:' line (or docstring) for {doc.undocumented}"
    )


def test_every_documented_type_is_the_short_import():
    for path in DOCUMENTED_TYPES:
        module, _, name = path.rpartition(".")
        assert getattr(scanserve, name) is getattr(importlib.import_module(module), name)
        assert name in scanserve.__all__
    assert scanserve.hookimpl is hookspecs.hookimpl
    with pytest.raises(AttributeError, match="no attribute 'Settings'"):
        _ = scanserve.Settings


def test_type_checkers_see_the_same_names():
    # scanserve/__init__.py imports the documented types under TYPE_CHECKING, so that
    # `from scanserve import ProductRecord` has its real type in a plugin's mypy run.
    tree = ast.parse(Path(scanserve.__file__).read_text(encoding="utf-8"))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    imported = {alias.name for node in block.body for alias in node.names}  # type: ignore[attr-defined]
    assert imported == {path.rpartition(".")[2] for path in DOCUMENTED_TYPES}, (
        "add the new type's import under TYPE_CHECKING in scanserve/__init__.py"
    )


def test_every_type_a_hook_names_is_documented():
    documented = {path.rpartition(".")[2] for path in DOCUMENTED_TYPES}
    named = set()
    for hook in HOOKS:
        named |= set(re.findall(r"\b([A-Z][A-Za-z]+)\b", hook.signature))
    named -= {"Callable", "Sequence", "Any", "None", "Settings"}  # typing, and the settings
    assert named <= documented, named - documented
    assert {"ProductRecord", "QrResolution", "Thresholds", "OrgRule"} <= documented


def test_hooks_md_documents_the_types():
    text = HOOKS_MD.read_text(encoding="utf-8")
    for doc in TYPES:
        assert f"### {doc.name}\n" in text
        for member in doc.members:
            assert f"- `{member.signature}` ({member.kind}): " in text, member


class DraftDict(TypedDict):
    """A proposal as a dict.

    :ivar field_name: the product field.
    :ivar confidence: how sure, 0 to 1.
    """

    field_name: str
    confidence: NotRequired[float]


class DraftModel(BaseModel):
    """A proposal as a pydantic model.

    :ivar field_name: the product field.
    """

    field_name: str
    sources: list[str] = []


class Undocumented(TypedDict):
    """No field lines."""

    value: int


def test_the_renderer_documents_typeddicts_and_pydantic_models_too():
    # So that a new type (an extractor's proposal, say) is one line in DOCUMENTED_TYPES
    # whichever of these it is.
    as_dict = type_doc(f"{__name__}.DraftDict")
    assert as_dict.kind == "typeddict"
    assert [(m.signature, m.text) for m in as_dict.members] == [
        ("field_name: str", "the product field."),
        ("confidence: NotRequired[float]", "how sure, 0 to 1."),
    ]
    model = type_doc(f"{__name__}.DraftModel")
    assert model.kind == "model"
    assert [m.signature for m in model.members] == ["field_name: str", "sources: list[str] = []"]
    assert model.undocumented == ["sources"]
    assert type_doc(f"{__name__}.Undocumented").undocumented == ["value"]
    with pytest.raises(TypeError, match="only dataclasses"):
        type_doc("pathlib.Path")
