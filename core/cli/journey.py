"""The contract's journey, walked against any server of the Scanner API (the first part of
``scanserve conformance``).

A client's life with the API, every answer judged against the contract
(:class:`~scanserve.http.contract_check.ContractCheck`: status declared, media type, required
headers, body schema) and against what the contract says in prose: sessions; a capture of
each kind (a GTIN, a GS1 Digital Link, a GS1 element string, a URL) followed until it
settles; a retry; photos by presigned upload (upload, register, reclassify, reorder) and an
image capture by upload-image; a URL resolved; freshness thresholds, with a key and without;
a redirect saved; a browser session signed in and out; extraction (submit, proposals, a
review, apply); an ended session refusing captures; error shapes (422 naming the field, 404,
401); the rate-limit headers on every answer; and, with a second organisation's key, that its
view of the first one's objects is 404.

Each check lands in a :class:`~scanserve.http.contract_check.Tally` under the operation it is
about.
"""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import click
import httpx

from scanserve.http.contract_check import ContractCheck, Tally

RATE_LIMIT_HEADERS = (
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)
SETTLED = ("COMPLETED", "FAILED", "NOT_FOUND")
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def png(colour: str = "olive") -> bytes:
    """A small picture with no code in it."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


class JourneyStopped(Exception):
    """The server gave no answer: the rest of the walk cannot be judged."""


class Journey:
    """One walk through the contract against ``base`` (the URL of the base path)."""

    def __init__(
        self,
        base: str,
        key: str,
        key2: str | None,
        check: ContractCheck,
        *,
        gtin: str,
        settle_seconds: float = 60,
    ) -> None:
        self.base = base.rstrip("/")
        self.key = key
        self.key2 = key2
        self.check = check
        self.gtin = gtin
        self.settle_seconds = settle_seconds
        self.tally = Tally()
        self.http = httpx.Client(timeout=60)

    # -- recording -----------------------------------------------------------------------------

    def expect(self, operation_id: str, condition: bool, message: str) -> bool:
        """One check of what the contract says in prose about ``operation_id``."""
        self.tally.record(operation_id, [] if condition else [f"journey: {message}"])
        return condition

    def call(
        self,
        operation_id: str,
        method: str,
        path: str,
        expect: int | tuple[int, ...],
        *,
        key: str | bool | None = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request (``key``: True for the run's key, a key, or None for none), then
        judge the answer: against the contract, the status expected, the rate-limit headers."""
        headers = dict(kwargs.pop("headers", {}))
        if key is True:
            headers["X-API-Key"] = self.key
        elif isinstance(key, str):
            headers["X-API-Key"] = key
        url = path if "://" in path else self.base + path
        if method == "POST" and path.startswith("/"):
            headers.setdefault("Idempotency-Key", f"conformance-{secrets.token_hex(8)}")
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            self.tally.record(operation_id, [f"journey: {method} {path}: no answer: {error!r}"])
            raise JourneyStopped(f"{method} {url}: no answer: {error!r}") from None
        request_path = response.request.url.path
        failures = [
            v.header_value()
            for v in self.check.check_response(
                method, request_path, response.status_code, response.headers, response.content
            )
        ]
        wanted = expect if isinstance(expect, tuple) else (expect,)
        if response.status_code not in wanted:
            failures.append(
                f"journey: {method} {path}: {response.status_code}, expected "
                f"{' or '.join(map(str, wanted))}: {response.text[:200]}"
            )
        if self.check.in_contract(request_path):
            missing = [name for name in RATE_LIMIT_HEADERS if name not in response.headers]
            if missing:
                failures.append(f"journey: {method} {path}: no {', '.join(missing)}")
        self.tally.record(operation_id, failures)
        return response

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def settle(self, capture_id: str) -> dict[str, Any]:
        """The capture once it has settled (COMPLETED, FAILED, NOT_FOUND), polled."""
        deadline = time.monotonic() + self.settle_seconds
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = self.json(self.call("getCapture", "GET", f"/captures/{capture_id}", 200)) or {}
            if body.get("status", SETTLED[0]) in SETTLED:  # no status: judged, no use waiting
                return body
            time.sleep(0.2)
        self.expect(
            "getCapture", False, f"capture {capture_id} not settled in {self.settle_seconds:g} s"
        )
        return body

    # -- the walk -----------------------------------------------------------------------------

    def run(self, say: Callable[[str], None] = click.echo) -> Tally:
        steps = [
            self.probes,
            self.sessions,
            self.captures,
            self.photos,
            self.resolving,
            self.freshness,
            self.redirects,
            self.browser_session,
            self.isolation,
            self.extraction,
            self.ended_session,
            self.errors,
        ]
        self.state: dict[str, Any] = {}
        try:
            for step in steps:
                name = step.__name__.replace("_", " ")
                say(f"conformance: journey: {name}")
                try:
                    step()
                except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
                    # an answer the next request needed was not what the contract says (its
                    # own check has failed already): the step cannot go on, the next may
                    self.tally.record(f"(journey: {name})", [f"could not go on: {error!r}"])
        except JourneyStopped as stopped:
            say(f"conformance: journey stopped: {stopped}")
        finally:
            self.http.close()
        return self.tally

    def probes(self) -> None:
        self.call("getLiveness", "GET", "/health/live", 200, key=None)
        self.call("getReadiness", "GET", "/health/ready", (200, 503), key=None)

    def sessions(self) -> None:
        created = self.call(
            "createSession",
            "POST",
            "/sessions",
            201,
            json={"capture_mode": "both", "metadata": {"run": "conformance"}},
        )
        session = self.json(created) or {}
        sid = session.get("id", "")
        self.state["session"] = sid
        self.expect("createSession", session.get("status") == "ACTIVE", "a new session is ACTIVE")
        read = self.json(self.call("getSession", "GET", f"/sessions/{sid}", 200)) or {}
        self.expect(
            "getSession", read.get("id") == sid, "getSession answers the session asked for"
        )
        self.call("listSessions", "GET", "/sessions", 200, params={"page_size": 5})
        self.call("getSessionStatus", "GET", f"/sessions/{sid}/status", 200)

    def _capture(self, raw_value: str, **fields: Any) -> dict[str, Any]:
        body = {"session_id": self.state["session"], "capture_type": "BARCODE"}
        answer = self.call(
            "createCapture",
            "POST",
            "/captures",
            201,
            json={**body, "raw_value": raw_value, **fields},
        )
        created = self.json(answer) or {}
        return self.settle(created["id"]) if "id" in created else created

    def captures(self) -> None:
        gtin = self._capture(self.gtin)
        self.state["product_capture"] = gtin
        self.expect(
            "createCapture",
            gtin.get("gtin") == self.gtin.zfill(14),
            f"a GTIN capture's gtin is the GTIN-14 {self.gtin.zfill(14)} ({gtin.get('gtin')!r})",
        )
        link = self._capture("https://id.gs1.org/01/09506000134352/10/ABC123")
        self.expect(
            "createCapture",
            (link.get("gs1_dl_data") or {}).get("10") == "ABC123"
            and link.get("gtin") == "09506000134352",
            f"a GS1 Digital Link fills gtin and gs1_dl_data ({link.get('gs1_dl_data')!r})",
        )
        element = self._capture("]d2010950600013435217291231" + "10LOT42")
        self.expect(
            "createCapture",
            (element.get("gs1_dl_data") or {}).get("17") == "291231"
            and element.get("gtin") == "09506000134352",
            f"a GS1 element string fills gtin and gs1_dl_data ({element.get('gs1_dl_data')!r})",
        )
        url = self._capture("https://example.com/conformance")
        self.state["url_capture"] = url
        self.expect(
            "createCapture",
            isinstance(url.get("qr_analysis"), dict)
            and url["qr_analysis"].get("initial_url") == "https://example.com/conformance",
            "a URL capture, settled, has its qr_analysis",
        )
        unknown = self._capture("5901234123457")  # in no demo catalog
        retry_status = 200 if unknown.get("status") in ("FAILED", "NOT_FOUND") else 409
        retried = self.json(
            self.call("retryCapture", "POST", f"/captures/{unknown.get('id')}/retry", retry_status)
        )
        if retry_status == 200 and retried:
            # back to PENDING, and processed again: its answer may already show a later state
            # (the server's own workers can take it up before the answer is written)
            again = self.settle(retried["id"])
            self.expect(
                "retryCapture",
                again.get("status") in SETTLED,
                f"a retried capture settles again ({again.get('status')!r})",
            )

    def photos(self) -> None:
        sid = self.state["session"]
        slip = self.json(
            self.call(
                "getPresignedUploadUrl",
                "GET",
                f"/sessions/{sid}/presigned-upload-url",
                200,
                params={"photo_type": "front", "original_filename": "front.png"},
            )
        )
        if not slip:
            return
        upload_url = urljoin(self.base + "/", slip["upload_url"])
        uploaded = self.http.post(
            upload_url,
            data=slip["upload_fields"],
            files={"file": ("front.png", png(), "image/png")},
        )
        in_contract = self.check.in_contract(uploaded.request.url.path)
        failures = [
            v.header_value()
            for v in self.check.check_response(
                "POST",
                uploaded.request.url.path,
                uploaded.status_code,
                uploaded.headers,
                uploaded.content,
            )
        ]
        if uploaded.status_code not in (200, 201, 204):
            failures.append(f"journey: the presigned upload answered {uploaded.status_code}")
        self.tally.record("receiveUpload" if in_contract else "(presigned upload)", failures)
        photo = self.json(
            self.call(
                "registerPhoto",
                "POST",
                f"/sessions/{sid}/photos",
                201,
                json={
                    "s3_key": slip["s3_key"],
                    "photo_type": "front",
                    "original_filename": "front.png",
                },
            )
        )
        pid = (photo or {}).get("id", "")
        changed = self.json(
            self.call(
                "updatePhoto",
                "PATCH",
                f"/sessions/{sid}/photos/{pid}",
                200,
                json={"photo_type": "nutrition"},
            )
        )
        self.expect(
            "updatePhoto", (changed or {}).get("photo_type") == "nutrition", "a photo reclassified"
        )
        self.call(
            "reorderPhotos",
            "POST",
            f"/sessions/{sid}/photos/reorder",
            200,
            json={"photo_short_ids": [pid]},
        )
        image = self.json(
            self.call(
                "uploadCaptureImage",
                "POST",
                "/captures/upload-image",
                201,
                data={"session_id": sid},
                files={"image": ("shelf.png", png("teal"), "image/png")},
            )
        )
        self.expect(
            "uploadCaptureImage",
            (image or {}).get("capture_type") == "IMAGE",
            "an uploaded image is an IMAGE capture",
        )

    def resolving(self) -> None:
        answer = self.json(
            self.call(
                "resolveUrl", "POST", "/resolve-url", 200, json={"url": "https://example.com/"}
            )
        )
        if answer:
            self.expect(
                "resolveUrl",
                answer.get("succeeded") == (answer.get("error_message") == ""),
                "succeeded is true exactly when error_message is empty",
            )

    def freshness(self) -> None:
        for key in (True, None):
            answer = self.json(
                self.call(
                    "getFreshnessThresholds",
                    "GET",
                    "/freshness-thresholds",
                    200,
                    key=key,
                    params={"gtin": self.gtin},
                )
            )
            if answer:
                self.expect(
                    "getFreshnessThresholds",
                    answer.get("criticalDays", 0) <= answer.get("warningDays", 0)
                    and bool(answer.get("categoryLabel")),
                    "criticalDays <= warningDays, and a categoryLabel",
                )

    def redirects(self) -> None:
        product = self.state["product_capture"]
        if product.get("product_short_id"):
            self.call(
                "saveCaptureRedirect",
                "POST",
                f"/captures/{product['id']}/save-redirect",
                201,
                json={"url": "https://example.com/products/conformance"},
            )
        else:
            self.expect(
                "saveCaptureRedirect",
                False,
                f"the capture of --gtin {self.gtin} found no product (give one the server knows)",
            )
        plain = self.state["url_capture"]
        self.call(
            "saveCaptureRedirect",
            "POST",
            f"/captures/{plain.get('id')}/save-redirect",
            400,
            json={"url": "https://example.com/elsewhere"},
        )

    def browser_session(self) -> None:
        signed_in = self.call("signIn", "POST", "/auth/session", 201)
        token = (self.json(signed_in) or {}).get("csrf_token", "")
        cookie = signed_in.cookies.get("sessionid", "")
        self.http.cookies.clear()
        self.call(
            "signOut",
            "DELETE",
            "/auth/session",
            204,
            key=None,
            headers={"Cookie": f"sessionid={cookie}", "X-CSRF-Token": token},
        )

    def isolation(self) -> None:
        if not self.key2:
            return
        sid, cid = self.state["session"], self.state["product_capture"].get("id")
        self.call("getSession", "GET", f"/sessions/{sid}", 404, key=self.key2)
        self.call("getSessionStatus", "GET", f"/sessions/{sid}/status", 404, key=self.key2)
        self.call("getCapture", "GET", f"/captures/{cid}", 404, key=self.key2)
        self.call("listCaptureProposals", "GET", f"/captures/{cid}/proposals", 404, key=self.key2)
        listed = self.json(
            self.call(
                "listSessions", "GET", "/sessions", 200, key=self.key2, params={"page_size": 100}
            )
        )
        ids = [each.get("id") for each in (listed or {}).get("data", [])]
        self.expect(
            "listSessions", sid not in ids, "another organisation's list leaves the session out"
        )

    def extraction(self) -> None:
        sid = self.state["session"]
        self.call("submitSession", "POST", f"/sessions/{sid}/submit", 200)
        deadline = time.monotonic() + self.settle_seconds
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = (
                self.json(self.call("getSessionStatus", "GET", f"/sessions/{sid}/status", 200))
                or {}
            )
            if status.get("extraction_status") not in ("pending", "processing"):
                break
            time.sleep(0.2)
        self.expect(
            "submitSession",
            status.get("extraction_status") in ("ready", "accepted", "rejected"),
            f"extraction ends ({status.get('extraction_status')!r}, {self.settle_seconds:g} s)",
        )
        product = self.state["product_capture"]
        proposals = self.json(
            self.call(
                "listCaptureProposals", "GET", f"/captures/{product.get('id')}/proposals", 200
            )
        )
        pending = [p for p in proposals or [] if p.get("status") == "PENDING"]
        if pending:
            reviewed = self.json(
                self.call(
                    "reviewProposal",
                    "PATCH",
                    f"/proposals/{pending[0]['id']}",
                    200,
                    json={"status": "ACCEPTED"},
                )
            )
            self.expect(
                "reviewProposal",
                (reviewed or {}).get("status") == "ACCEPTED",
                "a reviewed proposal has its new status",
            )
        if product.get("product_short_id"):
            applied = self.json(
                self.call("applyCaptureProposals", "POST", f"/captures/{product['id']}/apply", 200)
            )
            self.expect(
                "applyCaptureProposals",
                (applied or {}).get("product_short_id") == product["product_short_id"],
                "apply names the capture's product",
            )
        url = self.state["url_capture"]
        self.call("applyCaptureProposals", "POST", f"/captures/{url.get('id')}/apply", 400)

    def ended_session(self) -> None:
        sid = (self.json(self.call("createSession", "POST", "/sessions", 201, json={})) or {}).get(
            "id"
        )
        for _ in range(2):  # ending is idempotent
            ended = self.json(self.call("endSession", "POST", f"/sessions/{sid}/end", 200))
            self.expect(
                "endSession",
                (ended or {}).get("status") == "COMPLETED",
                "an ended session is COMPLETED",
            )
        body = {"session_id": sid, "capture_type": "BARCODE", "raw_value": self.gtin}
        self.call("createCapture", "POST", "/captures", 409, json=body)
        self.call("submitSession", "POST", f"/sessions/{sid}/submit", 409)

    def errors(self) -> None:
        sid = self.state["session"]
        refused = self.json(
            self.call("createCapture", "POST", "/captures", 422, json={"session_id": sid})
        )
        pointers = [e.get("pointer") for e in (refused or {}).get("errors", [])]
        self.expect(
            "createCapture",
            "/raw_value" in pointers,
            f"a 422 names the missing field in errors ({pointers})",
        )
        unknown = "".join(secrets.choice(_ALPHABET) for _ in range(22))
        missing = self.json(self.call("getSession", "GET", f"/sessions/{unknown}", 404))
        self.expect(
            "getSession", (missing or {}).get("error_code") == "not_found", "a 404 is not_found"
        )
        for key in (None, "csb_" + "A" * 32 + "_00000000"):
            denied = self.json(self.call("listSessions", "GET", "/sessions", 401, key=key))
            self.expect(
                "listSessions",
                (denied or {}).get("error_code") == "unauthorized",
                "a 401 is unauthorized",
            )
