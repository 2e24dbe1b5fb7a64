"""The object store's interface: its errors, the key rule, a presigned POST and the
:class:`ObjectStore` protocol every backend implements (see :mod:`scanserve.infra.objectstore`).
The backends import this module, never the package that picks among them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

MAX_KEY_LENGTH = 500
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class ObjectStoreError(Exception):
    """Base of the object store's own errors; the services map them to API errors."""


class ObjectNotFound(ObjectStoreError):
    pass


class ObjectExists(ObjectStoreError):
    pass


class InvalidKey(ObjectStoreError):
    pass


class ObjectTooLarge(ObjectStoreError):
    """A presigned upload larger than the claim allows; it is left unclaimed."""

    def __init__(self, key: str, max_bytes: int):
        super().__init__(f"{key}: more than {max_bytes} bytes")
        self.max_bytes = max_bytes


def check_key(key: str) -> str:
    """Return ``key`` when it is a safe relative object key, else raise :class:`InvalidKey`."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey("an object key is 1 to 500 characters")
    segments = key.split("/")
    if any(not _SEGMENT.match(s) or s.strip(".") == "" for s in segments):
        raise InvalidKey("an object key is /-separated names of letters, digits, '.', '_', '-'")
    return key


@dataclass(frozen=True)
class PresignedPost:
    """Where and how to POST one object: ``url`` and the form ``fields`` to send, unchanged,
    before the ``file`` part, within ``expires_in`` seconds."""

    url: str
    fields: dict[str, str] = field(default_factory=dict)
    expires_in: int = 0


class ObjectStore(Protocol):
    """What the services need of a storage backend."""

    def put(self, key: str, data: bytes, *, content_type: str) -> int:
        """Store ``data`` under ``key``; return its size. Raises :class:`ObjectExists` when
        the key is taken (nothing is replaced)."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; raises :class:`ObjectNotFound`."""
        ...

    def size(self, key: str) -> int | None:
        """The stored object's size in bytes, or None when there is no such object."""
        ...

    def peek(self, key: str, length: int) -> bytes:
        """The object's first ``length`` bytes (fewer if it is shorter), without reading the
        rest; raises :class:`ObjectNotFound`."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object if it exists."""
        ...

    def claim_upload(self, key: str, *, max_bytes: int) -> None:
        """Make what a presigned POST uploaded for ``key`` the object under ``key``, for good:
        after this no POST of that policy, however often repeated before it expires, changes
        what :meth:`get`, :meth:`peek` and :meth:`size` of ``key`` return. Call it before
        judging the upload. Nothing uploaded (yet): nothing happens, and :meth:`size` says
        None. Already claimed: nothing changes. Raises :class:`ObjectTooLarge`, and claims
        nothing, when the upload holds more than ``max_bytes``."""
        ...

    def presign_post(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        own_upload_url: str,
    ) -> PresignedPost:
        """A presigned POST that lets a client upload one object of ``content_type``, 1 to
        ``max_bytes`` bytes, at ``key`` within ``expires_in`` seconds. ``own_upload_url`` is
        scanserve's own receiving endpoint (``POST /uploads``), for backends that have no
        upload endpoint of their own."""
        ...
