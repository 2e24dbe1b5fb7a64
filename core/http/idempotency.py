"""``Idempotency-Key`` on every POST, with Stripe's semantics, in one middleware.

A client that lost the answer to a POST cannot know whether it landed; sending the same
``Idempotency-Key`` again makes the retry safe:

- The first request with a key runs, and its answer (status, media type and body) is kept in
  the database (``idempotency_record``) for ``idempotency_ttl_seconds`` (24 h), so it survives
  a restart and every server process on the database sees it.
- The same key with the same request (method, path, media type and body; JSON compared after
  parsing, multipart with its boundary left out) answers the kept response again, with
  ``Idempotent-Replayed: true``; nothing runs twice.
- The same key with another request is ``422 validation_error`` (``header/Idempotency-Key``).
- While the first request is still running, a repeat is ``409 conflict`` with
  ``retryable: true`` (and ``Retry-After``) rather than waiting. The first request holds its
  key by a lease of ``idempotency_lock_seconds`` (10 s), renewed by its server every third
  of that while it runs (:class:`_Leases`: one UPDATE for all of a process's running
  requests, none for a request quicker than that). A lease not renewed was held by a server
  that died (``kill -9``, a crash): a repeat after it lapses takes the key over and runs.
- Answers of 500 and above are not kept (they are retryable by definition): the key is
  released and a repeat runs again. So is a request whose client went away before the answer
  was complete, and an answer that sets a cookie (signing in): the server never stores a
  session secret, so such a request runs again each time. When the database cannot even
  release the key (it is down), the lease lapses instead.
- Keys are per organisation for API keys (every key of the organisation shares them) and per
  user for bearer tokens and browser sessions, and within those per the caller's rights now
  (organisations and scopes, :func:`scope_of`): a replay is served only to a caller with the
  rights of the first request. Any other caller's request runs as itself and is answered as
  it would be without the key (a read-only token gets its 403, a member removed from the
  organisation its 404), so a key never discloses another request's answer. Anonymous
  requests are not recorded (no POST admits them; they get their 401 as usual).

The middleware sits just inside the gateway (which authenticated the caller and adds the
rate-limit headers to whatever is sent, a replay included) and outside Connexion's exception
middleware, so it sees every answer as the client does, error documents included.

The answer is recorded before its last byte goes out, so a client that has the whole answer
can count on the replay. Limit: the record is written after the handler's own transaction; a
server that dies between the two leaves a record "in progress", and after its lease a
repeat runs again (and acts again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import anyio
import peewee
from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanserve.domain import keyed
from scanserve.errors import (
    FieldError,
    IdempotencyInProgress,
    PayloadTooLarge,
    ScanserveError,
    ServiceUnavailable,
    ValidationFailed,
)
from scanserve.http.asgi_body import replaying, whole_body
from scanserve.http.asgi_keys import PRINCIPAL_KEY
from scanserve.http.problems import send_problem
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.storage.prepared import Prepared

if TYPE_CHECKING:
    from scanserve.domain.services import Services
    from scanserve.identity.auth import Principal

HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
POINTER = "header/Idempotency-Key"
# What the spec's IdempotencyKey parameter allows: 1-255 printable ASCII, no outer spaces.
_VALID_KEY = re.compile(r"[!-~]([ -~]{0,253}[!-~])?")


@dataclass(frozen=True)
class Started:
    record_id: int


@dataclass(frozen=True)
class Replay:
    status: int
    content_type: str
    body: bytes


class Mismatch:
    pass


class InFlight:
    pass


Outcome = Started | Replay | Mismatch | InFlight


logger = logging.getLogger("scanserve.idempotency")
_SCOPE_LENGTH = 64  # IdempotencyRecord.scope


def scope_of(principal: Principal) -> str | None:
    """Whose keys these are: the organisation of an API key, else the user (rate key); and
    within those, the caller's rights now (the organisations it may act in and its scopes).
    A record is found, and replayed, only by a caller with the same rights as the first
    request's (a publishable key's rights are its own: it sees only its sessions): a
    read-only token, a token limited to another organisation, a member since
    removed, find no record and run the request as themselves."""
    if principal.is_anonymous:
        return None
    if principal.via == "api_key" and principal.default_org_id is not None:
        owner = f"org:{principal.default_org_id}"
    else:
        owner = principal.rate_key
    scopes = "*" if principal.scopes is None else ",".join(sorted(principal.scopes))
    orgs = ",".join(str(org) for org in sorted(principal.org_ids))
    if principal.publishable_key_id is not None:
        # a publishable key sees only its own sessions: its answers are its own too
        scopes += f"|cpk:{principal.publishable_key_id}"
    rights = hashlib.sha256(f"{orgs}|{scopes}".encode()).hexdigest()[:16]
    scope = f"{owner}/{rights}"
    if len(scope) > _SCOPE_LENGTH:  # a long JWT subject
        scope = "h:" + hashlib.sha256(scope.encode()).hexdigest()
    return scope


def fingerprint(method: str, path: str, content_type: str, body: bytes) -> str:
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    canonical = body
    if media_type.endswith("json"):
        try:
            canonical = json.dumps(
                json.loads(body), sort_keys=True, separators=(",", ":")
            ).encode()
        except (ValueError, RecursionError):
            canonical = body  # not JSON: the bytes as sent
    elif media_type.startswith("multipart/"):
        boundary = re.search(r'boundary="?([^";]+)"?', params)
        if boundary:  # each client library draws its own boundary per attempt
            canonical = body.replace(boundary.group(1).encode("latin-1"), b"")
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode("utf-8", "surrogateescape"), media_type.encode()):
        digest.update(part + b"\0")
    digest.update(canonical)
    return digest.hexdigest()


# -- the records (blocking database calls: run them in a worker thread) --------------------

_R = models.IdempotencyRecord
# Rendered once (see storage.prepared): every POST with a key claims and finishes a record.
_CLAIM = Prepared(
    lambda ph: _R.insert(
        scope=ph("scope"),
        key=ph("key"),
        fingerprint=ph("fingerprint"),
        status=0,
        content_type="",
        body=None,
        created=ph("now", _R.created),
        locked_at=ph("now", _R.locked_at),
    ),
    returns_id=True,
)
# A running record has status 0, or the negated status of a provisional answer kept with
# the object its request created (scanserve.domain.keyed); finishing replaces either.
_FINISH = Prepared(
    lambda ph: _R.update(
        status=ph("status"), content_type=ph("content_type"), body=ph("body", _R.body)
    ).where(_R.id == ph("id"), _R.status <= 0)
)
_ABANDON = Prepared(lambda ph: _R.delete().where(_R.id == ph("id"), _R.status == 0))


def begin(scope: str, key: str, print_: str, *, ttl_seconds: int, lock_seconds: int) -> Outcome:
    """Claim ``key`` for a new request, or say what an earlier one with it decides."""
    record = models.IdempotencyRecord
    for _ in range(3):
        now = utcnow()
        try:
            with record._meta.database.atomic():
                record_id = _CLAIM.insert(scope=scope, key=key, fingerprint=print_, now=now)
            return Started(record_id)
        except peewee.IntegrityError:
            pass
        row = record.get_or_none(record.scope == scope, record.key == key)
        if row is None:
            continue  # dropped meanwhile: try again
        if row.created < now - timedelta(seconds=ttl_seconds):
            record.delete().where(record.id == row.id, record.created == row.created).execute()
            continue  # expired: the key is free again
        outcome = _decide(row, print_, now, lock_seconds)
        if outcome is not None:
            return outcome
    return InFlight()


def _decide(
    row: models.IdempotencyRecord, print_: str, now: datetime, lock_seconds: int
) -> Outcome | None:
    """What an unexpired record of the key says to a new request with ``print_``; None: the
    record was dropped, claim the key afresh."""
    if row.fingerprint != print_:
        return Mismatch()
    if row.status > 0:
        return Replay(row.status, row.content_type, bytes(row.body or b""))
    lapsed = row.locked_at < now - timedelta(seconds=lock_seconds)
    if row.status < 0:  # its object was created; its server has not confirmed the answer
        if lapsed:  # and never will: it died after the commit
            return Replay(-row.status, row.content_type, bytes(row.body or b""))
        return InFlight()
    if lapsed:
        # Its server died before the commit: take the key over, as a new record (a new id),
        # so that whatever the first request still does acts on a record that is gone (its
        # transaction's keep_answer fails, its finish and release change nothing).
        record = models.IdempotencyRecord
        record.delete().where(
            record.id == row.id, record.status == 0, record.locked_at == row.locked_at
        ).execute()
        return None
    return InFlight()


def finish(record_id: int, status: int, content_type: str, body: bytes) -> None:
    _FINISH.run(id=record_id, status=status, content_type=content_type, body=body)


def abandon(record_id: int) -> None:
    """Release the key of a request that failed, unless its object was created (a
    provisional answer was kept with it): then that answer becomes the record's."""
    if not _ABANDON.run(id=record_id):
        _R.update(status=_R.status * -1).where(_R.id == record_id, _R.status < 0).execute()


class _Leases:
    """The records this process's running requests hold, their leases renewed together by
    one thread every third of the lease (``idempotency_lock_seconds``) while any is held. A
    request quicker than that costs no write of its own here."""

    def __init__(self, lease_seconds: int):
        self._every = max(0.2, lease_seconds / 3)
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, record_id: int) -> None:
        with self._lock:
            self._held.add(record_id)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._renew, name="scanserve-idempotency-leases", daemon=True
                )
                self._thread.start()

    def release(self, record_id: int) -> None:
        with self._lock:
            self._held.discard(record_id)

    def _renew(self) -> None:
        while True:
            time.sleep(self._every)
            with self._lock:
                held = list(self._held)
                if not held:
                    self._thread = None  # the next hold starts another
                    return
            try:
                _R.update(locked_at=utcnow()).where(_R.id.in_(held), _R.status == 0).execute()
            except Exception as exc:  # the database is down: the leases may lapse meanwhile
                logger.debug("could not renew %d idempotency lease(s): %s", len(held), exc)


def purge(ttl_seconds: int) -> int:
    """Delete records older than the TTL; returns how many."""
    cutoff = utcnow() - timedelta(seconds=ttl_seconds)
    record = models.IdempotencyRecord
    return int(record.delete().where(record.created < cutoff).execute())


# -- the middleware ------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _headers(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope["headers"] if key.lower() == name]


async def _read_all(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, services: Services):
        self.app = app
        self.services = services
        self._leases = _Leases(services.settings.idempotency_lock_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        keys = _headers(scope, HEADER.encode()) if scope["type"] == "http" else []
        principal = scope.get(PRINCIPAL_KEY)
        owner = scope_of(principal) if principal is not None else None
        if not keys or scope["method"] != "POST" or owner is None:
            await self.app(scope, receive, send)
            return
        settings = self.services.settings
        key = keys[0]
        if len(keys) > 1:  # which one the client meant is anyone's guess
            message = "was sent more than once; send one key"
            await self._refuse(send, ValidationFailed([FieldError(POINTER, message)]))
            return
        if not _VALID_KEY.fullmatch(key):
            message = "must be 1 to 255 printable ASCII characters, without outer spaces"
            await self._refuse(send, ValidationFailed([FieldError(POINTER, message)]))
            return
        try:
            body = await _read_all(receive)
        except PayloadTooLarge as exc:
            await self._refuse(send, exc)
            return
        print_ = fingerprint(
            scope["method"], scope["path"], _header(scope, b"content-type") or "", body
        )
        try:
            outcome = await to_thread.run_sync(
                lambda: begin(
                    owner,
                    key,
                    print_,
                    ttl_seconds=settings.idempotency_ttl_seconds,
                    lock_seconds=settings.idempotency_lock_seconds,
                )
            )
        except (peewee.OperationalError, peewee.InterfaceError) as exc:
            # The database cannot claim the key: nothing ran and nothing is stored.
            logger.warning("idempotency key not claimed, database unavailable: %s", exc)
            unavailable = ServiceUnavailable(
                {"database": "unavailable"},
                "The database is unavailable; nothing was done. Retry shortly.",
                headers={"Retry-After": "1"},
            )
            await self._refuse(send, unavailable)
            return
        if isinstance(outcome, Replay):
            await self._replay(send, outcome)
        elif isinstance(outcome, Mismatch):
            message = "was used for another request; a retry must repeat the first one exactly"
            await self._refuse(send, ValidationFailed([FieldError(POINTER, message)]))
        elif isinstance(outcome, InFlight):
            # the first request ends, or its lease lapses, within the lease
            retry_after = str(max(1, settings.idempotency_lock_seconds // 3))
            await self._refuse(send, IdempotencyInProgress(headers={"Retry-After": retry_after}))
        else:
            self._leases.hold(outcome.record_id)
            try:
                await self._run(scope, body, receive, send, outcome.record_id)
            finally:
                self._leases.release(outcome.record_id)

    async def _run(
        self, scope: Scope, body: bytes, receive: Receive, send: Send, record_id: int
    ) -> None:
        status = 0
        content_type = ""
        chunks: list[bytes] = []
        recorded = False
        keep = True

        async def recording_send(message: Message) -> None:
            nonlocal status, content_type, recorded, keep
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
                    elif name.lower() == b"set-cookie":
                        keep = False  # a session secret: never stored
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                last = not message.get("more_body", False)
                if last and keep and 0 < status < 500:
                    # Kept before the client has the whole answer: a client holding it may
                    # rely on the replay, even if this server dies right after sending it.
                    answer = b"".join(chunks)
                    with anyio.CancelScope(shield=True):
                        await to_thread.run_sync(finish, record_id, status, content_type, answer)
                    recorded = True
            await send(message)

        # for the handler's transaction (scanserve.domain.keyed)
        claim = keyed.CLAIM.set(record_id)
        try:
            await self.app(scope, replaying(receive, [whole_body(body)]), recording_send)
        finally:
            keyed.CLAIM.reset(claim)
            if not recorded:  # a 5xx, an exception, or a client gone away: a repeat runs again
                with anyio.CancelScope(shield=True):
                    try:
                        await to_thread.run_sync(abandon, record_id)
                    except Exception as exc:  # the database is down: the lease lapses instead
                        logger.warning("could not release an idempotency key: %s", exc)

    async def _replay(self, send: Send, replay: Replay) -> None:
        headers = [
            (b"content-length", str(len(replay.body)).encode()),
            (REPLAYED_HEADER.encode(), b"true"),
        ]
        if replay.content_type:
            headers.append((b"content-type", replay.content_type.encode("latin-1")))
        await send({"type": "http.response.start", "status": replay.status, "headers": headers})
        await send({"type": "http.response.body", "body": replay.body})

    async def _refuse(self, send: Send, error: ScanserveError) -> None:
        await send_problem(send, error, {}, type_base=self.services.settings.problem_type_base)
