"""Object storage for photos and uploaded images: one interface, several backends.

A key is a ``/``-separated relative path (``org/<org>/sessions/<session>/<photo_type>/<id>.jpg``);
:func:`check_key` refuses anything that could escape a prefix (``..``, empty segments, a
leading ``/``, control characters). Objects are written once: ``put`` never replaces an
existing object, so a client can never overwrite another upload.

Backends: :class:`~scanserve.objectstore.local.LocalObjectStore` (files under the data
directory, the embedded default). :func:`open_object_store` picks the backend from settings.
"""

from __future__ import annotations

import re
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


def check_key(key: str) -> str:
    """Return ``key`` when it is a safe relative object key, else raise :class:`InvalidKey`."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey("an object key is 1 to 500 characters")
    segments = key.split("/")
    if any(not _SEGMENT.match(s) or s.strip(".") == "" for s in segments):
        raise InvalidKey("an object key is /-separated names of letters, digits, '.', '_', '-'")
    return key


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

    def delete(self, key: str) -> None:
        """Remove the object if it exists."""
        ...


def open_object_store(settings: Settings) -> ObjectStore:
    from .local import LocalObjectStore

    return LocalObjectStore(settings.data_dir / "objects")
