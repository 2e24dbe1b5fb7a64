"""docs/tutorial.md is checked two ways.

Against the contract: every ``curl`` names an operation of the spec, and every output shown (a
JSON body, a status, a response head) is one that operation may answer, its body valid
against the spec's schema for that status; a field renamed or removed in the spec, or an
operation gone, fails until the tutorial follows.

As written: every block runs in order in bash against ``scanserve serve --demo`` and each
output shown is compared with what the server answered (``test_the_tutorial_runs_as_written``;
it needs curl and jq, as the tutorial does, and no Tesseract: the default OCR engine is
RapidOCR, installed with scanserve, and Tesseract is named missing).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cli_fork
import pytest
import yaml
from cli_fork import run_command
from cli_runner import banner_and_base
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
SPEC = yaml.load(
    (ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader
)
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
    run_command(["db", "upgrade"], env, check=True)
    subprocess.run(
        [sys.executable, "-c", seed], env=env, check=True, capture_output=True, timeout=60
    )
    printed = run_command(shlex.split(command.group(1)), env, check=True).stdout

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


# -- the tutorial run as written, against `scanserve serve --demo` ---------------------------

SHORT_ID = re.compile(r"\b[1-9A-HJ-NP-Za-km-z]{22}\b")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
# Values that differ from run to run without being ids or times: the signed upload policy and
# its signature, the bytes Pillow writes for a JPEG, the OCR engine's confidence in its reading.
VARYING = {"policy", "x-scanserve-signature", "file_size", "confidence", "reasoning"}


class Ids:
    """The ids the tutorial shows, mapped to the ones this run made."""

    def __init__(self, base: str) -> None:
        self.seen: dict[str, str] = {}
        self.base = base  # the tutorial's server listens on port 8000, this one elsewhere

    def match(self, shown: str, actual: str, where: str) -> None:
        shown = shown.replace("http://127.0.0.1:8000/scanner/api/v1", self.base)
        shown_ids = SHORT_ID.findall(shown) + UUID.findall(shown)
        actual_ids = SHORT_ID.findall(actual) + UUID.findall(actual)
        assert len(shown_ids) == len(actual_ids), f"{where}: {shown!r} and {actual!r}"
        for a, b in zip(shown_ids, actual_ids, strict=True):
            assert self.seen.setdefault(a, b) == b, f"{where}: {a} stood for {self.seen[a]}"
        normal = [TIME.sub("T", UUID.sub("U", SHORT_ID.sub("I", s))) for s in (shown, actual)]
        assert normal[0] == normal[1], (
            f"{where}: the tutorial shows {shown!r}, the server {actual!r}"
        )

    def apply(self, text: str) -> str:
        for shown, actual in self.seen.items():
            text = text.replace(shown, actual)
        return text


# A capture's answer to its POST is read after it was queued: the server's capture threads may
# already have moved it on (seen: LOOKING_UP where the tutorial shows PENDING). Then only what
# the pipeline does not touch is compared.
MOVED_ON = {"LOOKING_UP", "ENRICHING", "RESOLVING", "COMPLETED"}
UNTOUCHED = {"id", "session_id", "capture_type", "created", "uploaded_image_key"}


def _same(shown: Any, actual: Any, ids: Ids, where: str = "") -> None:
    if isinstance(shown, dict):
        assert isinstance(actual, dict) and list(shown) == list(actual), (where, shown, actual)
        moved_on = shown.get("status") == "PENDING" and actual.get("status") in MOVED_ON
        for key in shown:
            if key not in VARYING and (not moved_on or key in UNTOUCHED):
                _same(shown[key], actual[key], ids, f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(actual, list) and len(shown) == len(actual), (where, shown, actual)
        for i, (a, b) in enumerate(zip(shown, actual, strict=True)):
            _same(a, b, ids, f"{where}[{i}]")
    elif isinstance(shown, str) and isinstance(actual, str):
        ids.match(shown, actual, where)
    else:
        assert shown == actual, f"{where}: the tutorial shows {shown!r}, the server {actual!r}"


def _last_json(text: str) -> Any:
    """The last JSON document of a block's output (curl -s prints bodies back to back)."""
    decoder, found, at = json.JSONDecoder(), None, 0
    while at < len(text):
        if text[at] in "{[":
            try:
                found, at = decoder.raw_decode(text, at)
                continue
            except json.JSONDecodeError:
                pass
        at += 1
    return found


def _compare(language: str, shown: str, actual: str, ids: Ids) -> None:
    if language == "json":
        _same(json.loads(shown), _last_json(actual), ids)
    elif shown.startswith("HTTP/"):
        shown_head, _, shown_body = shown.partition("\n\n")
        actual = actual.replace("\r\n", "\n")
        actual_head, _, actual_body = actual.partition("\n\n")
        assert actual_head.splitlines()[0] == shown_head.splitlines()[0]
        names = [line.split(":")[0].lower() for line in shown_head.splitlines()[1:]]
        got = [line.split(":")[0].lower() for line in actual_head.splitlines()[1:]]
        assert set(names) <= set(got), f"headers shown {names}, sent {got}"
        _same(json.loads(shown_body), json.loads(actual_body), ids)
    elif ": " in shown:  # catalog show
        lines = [line.split(": ", 1) for line in shown.strip().splitlines()]
        got = [line.split(": ", 1) for line in actual.strip().splitlines()]
        assert [k for k, *_ in lines] == [k for k, *_ in got]
        for (key, *value), (_, *other) in zip(lines, got, strict=True):
            if key != "modified":
                ids.match("".join(value).strip(), "".join(other).strip(), key)
    else:
        assert actual.strip() == shown.strip()


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (Debian jq)")
def test_the_tutorial_runs_as_written(tmp_path):
    """Every block of the tutorial run in order by bash in a fresh directory, against
    ``scanserve serve --demo``; each output shown is compared with what the server answered:
    the same fields and values, ids as a consistent renaming (an id shown once stands for the
    same object later), times and the VARYING fields free. A block that only reads, whose
    output shows work still to finish (a capture processed, a session ready), is run again
    until it matches."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(sys.prefix)  # the tutorial calls .venv/bin/python
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(tmp_path / "scanserve-data"),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        # as on a machine without Tesseract: the quick start's install alone reads the panel
        # (the default engine, RapidOCR); were Tesseract asked, it would fail, saying so
        "SCANSERVE_TESSERACT_CMD": "tesseract-not-installed-here",
    }
    serve = [*cli_fork.COMMAND, "serve"]
    with (
        open(tmp_path / "serve.log", "w") as log,
        cli_fork.Popen(
            [*serve, "--demo", "--port", "0"],  # the banner names the port taken
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        ) as server,
    ):
        try:
            banner, base = banner_and_base(server)
            key = banner[-1].removeprefix("API key: ")
            _walk(work, {**env, "KEY": key, "B": base})
        finally:
            server.terminate()
            server.wait(timeout=30)


def _walk(work: Path, env: dict[str, str]) -> None:
    blocks = [m.groups() for m in BLOCK.finditer(TUTORIAL.read_text(encoding="utf-8"))]
    ids = Ids(env["B"])
    (work / ".vars").write_text("")
    compared = 0
    for i, (language, block) in enumerate(blocks):
        if language != "sh":
            continue
        shown = blocks[i + 1] if i + 1 < len(blocks) and blocks[i + 1][0] != "sh" else None
        # KEY and B come from the environment: the key this server printed, its base URL
        script = "\n".join(line for line in block.splitlines() if not re.match(r"(KEY|B)=", line))
        script = ids.apply(script)
        repeatable = not re.search(r"-X (POST|PATCH)|\s-[dF]\s", script)
        deadline = time.monotonic() + 60
        while True:
            ran = subprocess.run(
                [
                    "bash",
                    "-c",
                    f"set -e\n. ./.vars\n{script}\n"
                    "declare -p SID CID IID > .vars 2>/dev/null || true",
                ],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert ran.returncode == 0, f"{script}\n{ran.stderr}"
            if shown is None:
                # No output shown: the reader expects it to work. (curl -s exits 0 on a 409;
                # the Idempotency-Key example once ran after its session had ended.)
                assert '"error_code"' not in ran.stdout, f"{script}\nanswered {ran.stdout}"
                break
            before = dict(ids.seen)
            try:
                _compare(shown[0], shown[1], ran.stdout, ids)
                compared += 1
                break
            except AssertionError:
                ids.seen = before
                if not repeatable or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    assert compared == sum(1 for language, _ in blocks if language != "sh")
    assert len(ids.seen) >= 10  # sessions, captures, photos, a proposal, the organisation
