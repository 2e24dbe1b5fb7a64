"""Signed upload policies for the local backend, in the manner of S3's presigned POST.

A policy names one object ``key``, when it stops being accepted (``expiration``), the size
range of the file (``content_length_range``) and the content types it may declare
(``content_types``). It travels base64-encoded in the ``policy`` form field, with an
HMAC-SHA256 of that text under a server secret in ``x-scanserve-signature``; whoever holds
both may upload that one object, and nothing else, until the policy expires. Changing one byte
of the policy breaks the signature.

The secret is 32 random bytes, generated once into ``<data_dir>/upload-secret`` (mode 0600,
created exclusively so two processes starting at once agree on it) and read from there by
every server and worker sharing the data directory. Deleting the file invalidates every
upload URL handed out so far.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from scanserve import sources

SECRET_FILE = "upload-secret"  # noqa: S105 - a file name, not a secret
ALGORITHM = "HMAC-SHA256"
POLICY_FIELD = "policy"
SIGNATURE_FIELD = "x-scanserve-signature"
ALGORITHM_FIELD = "x-scanserve-algorithm"


class PolicyError(ValueError):
    """The policy is not one this server signed (``tampered``), is past its expiration
    (``expired``), or cannot be read (``malformed``)."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class UploadPolicy:
    key: str
    expiration: datetime
    min_bytes: int
    max_bytes: int
    content_types: tuple[str, ...]


class PolicySigner:
    def __init__(self, data_dir: Path):
        self.path = data_dir / SECRET_FILE
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = _load_or_create_secret(self.path)
        return self._secret

    def sign(
        self,
        key: str,
        *,
        content_types: tuple[str, ...],
        max_bytes: int,
        expires_in: int,
        now: datetime | None = None,
    ) -> dict[str, str]:
        """The form fields (besides ``key`` and ``Content-Type``) carrying the policy."""
        expiration = (now or sources.utcnow()) + timedelta(seconds=expires_in)
        document = {
            "expiration": expiration.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "key": key,
            "content_length_range": [1, max_bytes],
            "content_types": list(content_types),
        }
        policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
        return {
            POLICY_FIELD: policy,
            ALGORITHM_FIELD: ALGORITHM,
            SIGNATURE_FIELD: self._signature(policy),
        }

    def _signature(self, policy: str) -> str:
        return hmac.new(self._key(), policy.encode(), hashlib.sha256).hexdigest()

    def verify(self, policy: str, signature: str, *, now: datetime | None = None) -> UploadPolicy:
        """The policy, once its signature checks out and it has not expired."""
        expected = self._signature(policy).encode()
        if not hmac.compare_digest(expected, signature.strip().lower().encode()):
            raise PolicyError("tampered", "the upload policy's signature does not match")
        try:
            document = json.loads(base64.b64decode(policy, validate=True))
            expiration = datetime.fromisoformat(document["expiration"].replace("Z", "+00:00"))
            low, high = (int(v) for v in document["content_length_range"])
            parsed = UploadPolicy(
                key=str(document["key"]),
                expiration=expiration,
                min_bytes=low,
                max_bytes=high,
                content_types=tuple(str(t) for t in document["content_types"]),
            )
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            # Only a server with the secret can sign: this is a bug of ours, not of the client.
            raise PolicyError("malformed", f"the upload policy cannot be read: {exc}") from exc
        if (now or sources.utcnow()) >= parsed.expiration:
            raise PolicyError("expired", "the upload policy has expired; ask for a new upload URL")
        return parsed


def _load_or_create_secret(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # the first process to link wins; the others read its secret
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return _read(path)


def _read(path: Path) -> bytes:
    secret = bytes.fromhex(path.read_text().strip())
    if len(secret) < 32:
        raise ValueError(f"{path} holds no usable upload secret; delete it to make a new one")
    return secret
