"""The sandbox (``scanserve sandbox``): the real server made repeatable for a client's CI.

A :class:`Sandbox` holds what makes two runs alike: a clock that stands at :data:`START`
until told to move, ids drawn from the seed, credentials derived from the seed, and a
:class:`Script` of outcomes a client asked for (the next lookup, URL resolve or extraction
found, not found, failed or timed out). The composition root installs its clock and ids
(:meth:`Sandbox.install`), puts its scripted providers in front of the plugins'
(:meth:`Sandbox.attach`), and :meth:`Sandbox.reset` brings the database back to the seeded
start, so that the same requests get the same ids again.

Outside providers stay offline: the lookup chain is the catalog (and what the operator
added in process); URLs are analysed from the URL alone, never fetched.
"""

from __future__ import annotations

import collections
import hashlib
import random
import shutil
import string
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args
from urllib.parse import urlsplit

import peewee

from scanserve.domain import catalog_import, gs1
from scanserve.identity.keys import checksum, hash_secret
from scanserve.identity.tokens import SCOPES, TOKEN_PREFIX
from scanserve.identity.tokens import hint as token_hint
from scanserve.plugins.providers import (
    ExtractionInput,
    ProductRecord,
    ProposalDraft,
    ProviderError,
    QrResolution,
)
from scanserve.sources import SeededIds, SettableClock
from scanserve.sources import install as install_sources
from scanserve.storage import models

if TYPE_CHECKING:
    from scanserve.domain.services import Services

# Where the sandbox's clock starts (and starts again at every reset).
START = datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)
ORG_NAME = "Sandbox Shop"
USER_EMAIL = "sandbox@example.com"

Kind = Literal["lookup", "resolve", "extract"]
Outcome = Literal["found", "not_found", "failed", "timeout"]
KINDS: tuple[str, ...] = get_args(Kind)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Credentials:
    """The well-known test credentials of a seed: the same for every run with that seed."""

    business_key: str  # csb_...: the organisation's server-side key
    publishable_key: str  # cpk_...: the key a web page may hold
    access_token: str  # cst_...: a personal access token of USER_EMAIL, for the organisation

    def as_dict(self) -> dict[str, str]:
        return {
            "business_key": self.business_key,
            "publishable_key": self.publishable_key,
            "access_token": self.access_token,
        }


def credentials_for(seed: int) -> Credentials:
    """Keys and a token derived from ``seed`` (their CRC-32 checksums right, so the server
    takes them), different for every seed."""
    rng = random.Random(f"scanserve-sandbox-credentials:{seed}")  # noqa: S311 - test keys

    def body() -> str:
        return "".join(rng.choice(_ALPHABET) for _ in range(32))

    csb, cpk, cst = body(), body(), body()
    return Credentials(
        business_key=f"csb_{csb}_{checksum(csb)}",
        publishable_key=f"cpk_{cpk}_{checksum(cpk)}",
        access_token=f"{TOKEN_PREFIX}_{cst}_{checksum(cst)}",
    )


def upload_secret_for(seed: int) -> str:
    """The presigned-upload signing secret of a seed (hex), so signed policies repeat too."""
    return hashlib.sha256(f"scanserve-sandbox-upload:{seed}".encode()).hexdigest()


class Script:
    """Outcomes asked for, per kind, taken first in, first out by the next call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[str, collections.deque[str]] = {k: collections.deque() for k in KINDS}

    def push(self, kind: str, outcome: str, times: int = 1) -> None:
        with self._lock:
            self._queued[kind].extend([outcome] * times)

    def take(self, kind: str) -> str | None:
        with self._lock:
            queued = self._queued[kind]
            return queued.popleft() if queued else None

    def pending(self) -> dict[str, list[str]]:
        with self._lock:
            return {kind: list(queued) for kind, queued in self._queued.items()}

    def clear(self) -> None:
        with self._lock:
            for queued in self._queued.values():
                queued.clear()


def _forced_timeout(what: str) -> TimeoutError:
    return TimeoutError(f"no answer within the deadline (the sandbox was told: {what} timeout)")


class ScriptedLookup:
    """The sandbox's one lookup provider: a scripted outcome when one is queued, else the
    real chain it wraps (the catalog), asked in order."""

    name = "sandbox"
    external = False

    def __init__(self, script: Script, chain: Sequence[Any]) -> None:
        self.script = script
        self.chain = list(chain)

    def lookup(self, gtin: str) -> ProductRecord | None:
        outcome = self.script.take("lookup")
        if outcome == "found":
            return ProductRecord(
                gtin=gtin, name=f"Sandbox product {gtin}", brand="Sandbox", source="sandbox"
            )
        if outcome == "not_found":
            return None
        if outcome == "failed":
            raise ProviderError("the lookup failed (the sandbox was told: lookup failed)")
        if outcome == "timeout":
            raise _forced_timeout("lookup")
        restricted = gs1.is_restricted(gtin)
        for provider in self.chain:
            if restricted and provider.external:
                continue
            record = provider.lookup(gtin)
            if record is not None:
                return record  # type: ignore[no-any-return]
        return None


class ScriptedResolver:
    """URLs analysed offline, from the URL alone (no request leaves the sandbox), or as the
    script says."""

    name = "sandbox"

    def __init__(self, script: Script) -> None:
        self.script = script

    def resolve(self, url: str) -> QrResolution | None:
        outcome = self.script.take("resolve")
        reading = gs1.interpret(url)
        gtin = "" if outcome == "not_found" else reading.gtin
        error = {
            "failed": "the chain could not be followed (the sandbox was told: resolve failed)",
            "timeout": "no answer within the deadline (the sandbox was told: resolve timeout)",
        }.get(outcome or "", "")
        if error:
            gtin = ""
        return QrResolution(
            initial_url=url,
            final_url=url,
            hops=[],
            hop_count=0,
            resolver_domain=(urlsplit(url).hostname or "") if not error else "",
            resolver_type="GS1_DL" if gtin else ("UNKNOWN" if error else "DIRECT"),
            is_closient_resolver=False,
            extracted_gtin=gtin,
            error_message=error,
        )


class ScriptedExtractor:
    """A real extractor, unless the script says what its next call answers; with no
    ``inner``, the sandbox's own product extractor (run once per capture with a product,
    always available), which proposes nothing unless told."""

    def __init__(self, script: Script, inner: Any = None) -> None:
        self.script = script
        self.inner = inner
        self.name = "sandbox" if inner is None else inner.name
        self.photo_types = frozenset() if inner is None else inner.photo_types

    def unavailable_reason(self) -> str | None:
        reason = getattr(self.inner, "unavailable_reason", None)
        return reason() if reason is not None else None

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        outcome = self.script.take("extract")
        if outcome == "found":
            return [
                ProposalDraft(
                    field_name="description",
                    proposed_value=f"Sandbox description of {item.gtin or 'the product'}",
                    confidence=0.9,
                    reasoning="the sandbox was told: extract found",
                    source="sandbox",
                )
            ]
        if outcome == "not_found":
            return []
        if outcome == "failed":
            raise ProviderError("the extraction failed (the sandbox was told: extract failed)")
        if outcome == "timeout":
            raise _forced_timeout("extract")
        if self.inner is None:
            return []
        return self.inner.extract(item)  # type: ignore[no-any-return]


class Sandbox:
    """The seeded state of one sandbox process (see the module's docstring)."""

    def __init__(self, seed: int, *, real_time: bool = False) -> None:
        self.seed = seed
        self.clock = SettableClock(START, ticking=real_time)
        self.ids = SeededIds(seed)
        self.script = Script()
        self.credentials = credentials_for(seed)
        self._reset_lock = threading.Lock()

    def install(self) -> None:
        """Make the sandbox's clock and ids the process's (before anything is built)."""
        install_sources(self.clock, self.ids)

    def prepare(self, data_dir: Path) -> None:
        """Write what the server would otherwise make at random into ``data_dir``."""
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "upload-secret").write_text(upload_secret_for(self.seed) + "\n")

    def attach(self, services: Services) -> None:
        """Scripted providers in front of the plugins' own."""
        plugins = services.plugins
        plugins.lookup_providers = [ScriptedLookup(self.script, plugins.lookup_providers)]
        plugins.qr_resolvers = [ScriptedResolver(self.script)]
        plugins.extractors = [
            *(ScriptedExtractor(self.script, e) for e in plugins.extractors),
            ScriptedExtractor(self.script),
        ]

    def reset(self, services: Services, on_reset: Callable[[], None] = lambda: None) -> None:
        """Back to the seeded start: every table emptied and seeded again, the clock at
        :data:`START`, the ids drawn from the seed's first again, nothing scripted, stored
        files gone. ``on_reset``: what the caller holds besides (rate-limit counts)."""
        with self._reset_lock:
            self.script.clear()
            self.clock.reset()
            self.ids.reset()
            _empty(services)
            on_reset()
            self._seed_rows()

    def _seed_rows(self) -> None:
        org = models.Organization.create(name=ORG_NAME)
        with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
            catalog_import.seed_file(path, source="demo")
        for kind, raw in (
            ("csb", self.credentials.business_key),
            ("cpk", self.credentials.publishable_key),
        ):
            models.ApiKey.create(
                organization=org,
                kind=kind,
                name=f"sandbox {kind}",
                key_hash=hash_secret(raw),
                hint=raw[:10],
            )
        user = models.User.create(email=USER_EMAIL)
        models.Membership.create(user=user, organization=org)
        token = self.credentials.access_token
        models.AccessToken.create(
            user=user,
            organization=org,
            token_hash=hash_secret(token),
            hint=token_hint(token),
            name="sandbox",
            scopes=" ".join(sorted(SCOPES)),
        )


def _empty(services: Services) -> None:
    db = services.db
    tables = [m for m in _models() if m.table_exists()]
    with db.atomic():
        for model in reversed(tables):
            model.delete().execute()
        if db.table_exists("sqlite_sequence"):
            db.execute_sql("DELETE FROM sqlite_sequence")
    root = getattr(services.objects, "root", None)
    if isinstance(root, Path) and root.exists():
        shutil.rmtree(root)
        root.mkdir(parents=True)


def _models() -> list[Any]:
    """Every table's model, parents before children (peewee's dependency order)."""
    found = [
        value
        for value in vars(models).values()
        if isinstance(value, type)
        and issubclass(value, models.BaseModel)
        and value is not models.BaseModel
    ]
    # peewee's own dependency sort (create_tables uses it); its stubs do not declare it
    return list(peewee.sort_models(found))  # type: ignore[attr-defined]
