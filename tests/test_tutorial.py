"""docs/tutorial.md against the contract: every ``curl`` names an operation of the spec, and
every output shown (a JSON body, a status, a response head) is one that operation may answer,
its body valid against the spec's schema for that status. A field renamed or removed in the
spec, or an operation gone, fails here until the tutorial follows."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
SPEC = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
SUBSTITUTION = re.compile(r"\$\(jq [^()]*\)")  # $(jq -r .id photo2.json) and the like
ASSIGNED = re.compile(r"^\w+=\$\((curl .*)\)(; .*)?$")  # SID=$(curl ... | jq -r .id)


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _route(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The spec's path template and operation for ``method path``; a literal path wins over a
    template (``/captures/upload-image`` is not ``/captures/{id}``)."""
    candidates = []
    for template, item in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method in item:
            candidates.append((template.count("{"), template, item[method]))
    assert candidates, f"the tutorial calls {method.upper()} {path}, which the spec does not have"
    _, template, operation = min(candidates)
    return template, operation


class Call:
    def __init__(self, command: str) -> None:
        assigned = ASSIGNED.match(command)
        command = assigned.group(1) if assigned else command
        words = shlex.split(
            SUBSTITUTION.sub(
                "X", command.replace("$(jq -r .upload_url upload.json)", "$B/uploads")
            )
        )
        self.method = "get"
        self.head = "-i" in words
        url = ""
        for i, word in enumerate(words):
            if word == "-X":
                self.method = words[i + 1].lower()
            elif word in ("-d", "-F") and self.method == "get":
                self.method = "post"
            elif word.startswith("$B/"):
                url = word
        assert url, f"no $B/... URL in {command!r}"
        self.path = url.removeprefix("$B").split("?", 1)[0]
        self.template, self.operation = _route(self.method, self.path)

    def response(self, status: int) -> dict[str, Any]:
        responses = self.operation["responses"]
        assert str(status) in responses, (
            f"the tutorial shows {status} for {self.method.upper()} {self.template}; "
            f"the spec answers {sorted(responses)}"
        )
        return _resolve(responses[str(status)])

    def success(self) -> int:
        return min(int(code) for code in self.operation["responses"] if code.startswith("2"))

    def check_body(self, status: int, body: Any) -> None:
        response = self.response(status)
        (media, _), *_ = response["content"].items()
        where = _pointer("paths", self.template, self.method, "responses", str(status))
        if "$ref" in self.operation["responses"][str(status)]:
            where = self.operation["responses"][str(status)]["$ref"]
        schema = {"$ref": f"urn:spec{where}/content/{media.replace('/', '~1')}/schema"}
        registry = Registry().with_resource("urn:spec", Resource.from_contents(SPEC, DRAFT202012))
        errors = list(Draft202012Validator(schema, registry=registry).iter_errors(body))
        assert not errors, (
            f"the tutorial's output of {self.method.upper()} {self.template} does not "
            f"conform: {[e.message for e in errors]}"
        )


def _commands(script: str) -> list[str]:
    """Shell commands of a block, continuation lines joined."""
    return [c.strip() for c in script.replace("\\\n", " ").splitlines() if c.strip()]


def walk() -> list[tuple[str, Call | None, str, str]]:
    """(language, the block's last curl, the block, the text before it) for every block."""
    steps = []
    last: Call | None = None
    text = TUTORIAL.read_text(encoding="utf-8")
    for match in BLOCK.finditer(text):
        language, block = match.groups()
        if language == "sh":
            calls = [Call(c) for c in _commands(block) if re.search(r"(^|[ (])curl ", c)]
            last = calls[-1] if calls else None
        steps.append((language, last, block, text[: match.start()]))
    return steps


def test_the_tutorial_calls_only_operations_of_the_spec():
    steps = walk()
    calls = [call for language, call, _, _ in steps if language == "sh" and call is not None]
    assert len(calls) >= 20
    # the tutorial walks every tag a client of the quick start uses
    tags = {tag for call in calls for tag in call.operation.get("tags", [])}
    assert {"Scanner Sessions", "Scanner Captures", "Scanner Photos", "Scanner Upload"} <= tags


def _after_the_cli(before: str) -> bool:
    return "bin/scanserve " in before.rsplit("```sh", 1)[-1]


OUTPUTS = [s for s in walk() if s[0] != "sh" and not _after_the_cli(s[3])]


@pytest.mark.parametrize("step", OUTPUTS, ids=lambda s: s[1].template if s[1] else s[0])
def test_every_output_in_the_tutorial_is_one_the_spec_answers(step):
    language, call, block, _ = step
    assert call is not None, f"an output with no curl before it: {block[:80]}"
    if language == "json":
        call.check_body(call.success(), json.loads(block))
        return
    if not call.head:  # curl -w '%{http_code}': the status alone
        call.response(int(block.strip()))
        return
    head, _, body = block.partition("\n\n")
    status_line, *headers = head.splitlines()
    status = int(status_line.split()[1])
    declared = {name.lower() for name in call.response(status).get("headers", {})}
    for line in headers:
        name = line.split(":", 1)[0].lower()
        assert name == "content-type" or name in declared, f"{name} is not in the spec"
    assert headers[0] == f"content-type: {next(iter(call.response(status)['content']))}"
    call.check_body(status, json.loads(body))


def test_the_catalog_show_output_is_what_the_command_prints(tmp_path):
    """The one command-line output of the tutorial: the demo product after an applied
    proposal. Run on a fresh demo database, the command prints the same lines but for the
    organisation's own values (none yet) and the time of the last change."""
    (shown,) = [b for lang, _, b, before in walk() if lang != "sh" and _after_the_cli(before)]
    command = re.search(r"bin/scanserve (catalog show .*)", TUTORIAL.read_text(encoding="utf-8"))
    assert command is not None
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(tmp_path / "data"),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
    }
    seed = (
        "from scanserve.cli import seed_demo; from scanserve.settings import Settings; "
        "from scanserve.storage.database import open_database; s = Settings(); "
        "db = open_database(s.effective_database_url); seed_demo(s); db.close()"
    )
    scanserve = [sys.executable, "-c", "from scanserve.cli import main; main()"]
    for args in (["db", "upgrade"], None, shlex.split(command.group(1))):
        argv = [sys.executable, "-c", seed] if args is None else [*scanserve, *args]
        printed = subprocess.run(
            argv, capture_output=True, text=True, env=env, check=True, timeout=60
        ).stdout

    def fields(text: str) -> dict[str, str]:
        return dict(line.partition(": ")[::2] for line in text.strip().splitlines())

    shown_fields, printed_fields = fields(shown), fields(printed)
    assert list(shown_fields) == list(printed_fields)
    changed = {"ingredients", "organisation's own values", "modified"}
    for name in set(shown_fields) - changed:
        assert shown_fields[name].strip() == printed_fields[name].strip(), name
    assert shown_fields["organisation's own values"] == "ingredients"
    assert shown_fields["ingredients"] in _tutorial_ingredients()


def _tutorial_ingredients() -> str:
    """The text the tutorial's ingredients photo shows, as one line."""
    text = TUTORIAL.read_text(encoding="utf-8")
    drawn = re.search(r"'INGREDIENTS: (.*?)', font", text)
    assert drawn is not None
    return drawn.group(1).replace("\\n", " ")
