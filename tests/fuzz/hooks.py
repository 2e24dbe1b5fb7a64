"""schemathesis CLI hooks for the live fuzz run (``tests/fuzz/run.py`` loads them through
``SCHEMATHESIS_HOOKS``): each request gets what ``tests/contract/test_contract.py`` gives it in
process, for the same reasons.

- Real JPEG, PNG and WebP images for the image media types, so uploads get past the byte
  check and their captures are decoded (an EAN-13, a GS1 Digital Link QR code, a photo with
  no code).
- A fresh ``Idempotency-Key`` for every request that carries a valid one: generated keys
  repeat (the spec's example, short strings) across different bodies, and a key reused with
  another body is a 422 by design, which JSON Schema cannot express. The replay rules have
  tests of their own (tests/api/test_idempotency.py). The header is still sent, so every POST is
  exercised with it, and a key the contract forbids is left as it is.
- Scenarios of the stateful phase may start at ``createSession``. schemathesis reads its
  ``organization_short_id`` as a reference to an "OrganizationShort" no operation produces,
  and so never starts a scenario there; every link from a session (captures, photos, and on
  from them) would then begin from a random id. tests/contract/test_contract.py opens a session at the
  start of each scenario for the same reason; here schemathesis's choice of start operations
  (pinned schemathesis, see pyproject.toml) also counts ``createSession``.
- Forms with a file part judged after a link wrote into them. When a link writes a value
  into a generated body (the session of ``uploadCaptureImage``, the policy fields of
  ``receiveUpload``), schemathesis re-validates the body to relabel the case positive or
  negative; it cannot validate a body holding bytes, counts such a body invalid, and so
  labels a valid upload negative and reports its ``201``/``204`` as "schema-violating
  request accepted". ``image_bodies.judge_file_parts_as_declared`` has the re-validation see
  each file part as the string the schema declares (``format: binary``), so the other fields
  are judged as they are: a negative case stays negative, a valid one is positive, and every
  check stays on (the contract suite does the same).
- In the stateful phase, the file of an upload to ``receiveUpload`` of the type its policy
  allows: the link from ``getPresignedUploadUrl`` writes the policy's fields, the file part is
  generated apart, of any of the three image types, and two times in three it is not the one
  the policy names (``415``), which would end most presigned-upload scenarios before
  ``registerPhoto``. The same picture is sent in the policy's type. The other phases keep
  their mismatches, and a file that is not one of these images is left as it is.
- ``signOut`` with a browser session of its own: signed in through the API with the run's
  key just before the request, so the cookie and CSRF token it sends are live.
- A tally of the answers: each response's operation, phase and status is appended as one
  JSON line to ``SCANSERVE_FUZZ_TALLY`` (when set), from which the runner prints how many
  cases each operation got and with which status classes.

The API key comes from ``SCANSERVE_FUZZ_KEY`` (the runner sets it), the server's base URL
from ``SCANSERVE_FUZZ_BASE``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from typing import Any

import httpx
import schemathesis
from image_bodies import (
    FORMATS,
    KINDS,
    image,
    judge_file_parts_as_declared,
    register_image_media_types,
)
from schemathesis.specs.openapi import stateful

register_image_media_types()
judge_file_parts_as_declared()

_likely_root = stateful.is_likely_root_transition


def _root_or_create_session(operation: Any, node: Any, produced_anywhere: set[str]) -> bool:
    if operation.definition.raw.get("operationId") == "createSession":
        return True
    return _likely_root(operation, node, produced_anywhere)


stateful.is_likely_root_transition = _root_or_create_session

# What the spec allows as an Idempotency-Key: 1 to 255 printable ASCII characters, no
# space at either end.
_VALID_KEY = re.compile(r"[!-~]([ -~]{0,253}[!-~])?")
_RUN = uuid.uuid4().hex[:8]  # keys of one run never meet those of another on one database
_count = iter(range(1, 1 << 62))


def _fresh_idempotency_key(case: schemathesis.Case) -> None:
    headers = case.headers or {}
    for name, value in list(headers.items()):
        valid = isinstance(value, str) and _VALID_KEY.fullmatch(value)
        if name.lower() == "idempotency-key" and valid:
            headers[name] = f"fuzz-{_RUN}-{next(_count)}"


@schemathesis.auth(refresh_interval=None).apply_to(operation_id="signOut")
class LiveBrowserSession:
    """signOut's credentials: its security is the session cookie and the CSRF token, not
    the API key the configuration gives, and signing out ends the session, so each request
    gets a session of its own. Registered as auth (not set in ``before_call``) so schemathesis
    knows the cookie is deliberate, and ``ignored_auth`` can probe the operation without it."""

    def get(self, case: schemathesis.Case, context: Any) -> tuple[str, str]:
        response = httpx.post(
            f"{os.environ['SCANSERVE_FUZZ_BASE']}/auth/session",
            headers={"X-API-Key": os.environ["SCANSERVE_FUZZ_KEY"]},
            timeout=30,
        )
        response.raise_for_status()
        return response.cookies["sessionid"], response.json()["csrf_token"]

    def set(self, case: schemathesis.Case, data: tuple[str, str], context: Any) -> None:
        case.cookies = {**(case.cookies or {}), "sessionid": data[0]}
        case.headers = {**(case.headers or {}), "X-CSRF-Token": data[1]}


_IMAGES = {(kind, media_type): image(kind, fmt) for kind in KINDS for media_type, fmt in FORMATS}
_IMAGE_KINDS = {body: kind for (kind, _), body in _IMAGES.items()}


def _file_of_the_policy_type(case: schemathesis.Case) -> None:
    body = case.body
    if (
        case.operation.definition.raw.get("operationId") != "receiveUpload"
        or case.meta is None
        or case.meta.phase.name.value != "stateful"
        or not isinstance(body, dict)
    ):
        return
    allowed, file = body.get("Content-Type"), body.get("file")
    kind = _IMAGE_KINDS.get(file) if isinstance(file, bytes) else None
    if kind is None or (kind, allowed) not in _IMAGES:
        return
    body["file"] = _IMAGES[kind, allowed]
    case.multipart_content_types = {**(case.multipart_content_types or {}), "file": allowed}


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    _fresh_idempotency_key(case)
    _file_of_the_policy_type(case)


_tally_lock = threading.Lock()  # workers are threads of one process


@schemathesis.hook
def after_call(context: Any, case: schemathesis.Case, response: Any) -> None:
    path = os.environ.get("SCANSERVE_FUZZ_TALLY")
    if not path:
        return
    phase = case.meta.phase.name.value if case.meta is not None else "?"
    line = json.dumps(
        {
            "operation": case.operation.definition.raw.get("operationId", case.operation.label),
            "phase": phase,
            "status": response.status_code,
        }
    )
    with _tally_lock, open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")
