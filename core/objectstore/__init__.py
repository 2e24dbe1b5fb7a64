"""Object storage for photos and uploaded images: one interface, several backends.

A key is a ``/``-separated relative path (``org/<org>/sessions/<session>/<photo_type>/<id>.jpg``);
:func:`check_key` refuses anything that could escape a prefix (``..``, empty segments, a
leading ``/``, control characters). Objects are written once: ``put`` never replaces an
existing object, so a client can never overwrite another upload.

Backends: :class:`~scanserve.objectstore.local.LocalObjectStore` (files under the data
directory, the embedded default; presigned uploads come back to scanserve's own
``POST /uploads``, signed by :mod:`scanserve.objectstore.policy`) and
:class:`~scanserve.objectstore.s3.S3ObjectStore` (any S3-compatible service, through boto3,
when ``s3_bucket`` is set). :func:`open_object_store` picks the backend from settings.

Presigned uploads work the same way on both: :meth:`ObjectStore.presign_post` returns a URL
and form fields; the client POSTs them with the file as ``multipart/form-data`` (the fields
first, the file last, as S3 requires) before the policy expires. A policy can be posted again
until it expires, so registering the upload first *claims* it
(:meth:`ObjectStore.claim_upload`): from then on the object under its key never changes. The
local backend is write-once and has nothing to do; S3 cannot refuse a second POST of the
same policy, so there the policy names an inbox key and the claim copies the upload, once,
to the key itself (see :mod:`scanserve.objectstore.s3`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..settings import Settings

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


def open_object_store(settings: Settings) -> ObjectStore:
    if settings.s3_bucket:
        from .s3 import S3ObjectStore

        return S3ObjectStore.from_settings(settings)
    from .local import LocalObjectStore
    from .policy import PolicySigner

    return LocalObjectStore(settings.data_dir / "objects", signer=PolicySigner(settings.data_dir))
