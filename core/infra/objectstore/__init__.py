"""Object storage for photos and uploaded images: one interface, several backends.

A key is a ``/``-separated relative path (``org/<org>/sessions/<session>/<photo_type>/<id>.jpg``);
:func:`check_key` refuses anything that could escape a prefix (``..``, empty segments, a
leading ``/``, control characters). Objects are written once: ``put`` never replaces an
existing object, so a client can never overwrite another upload.

Backends: :class:`~scanserve.infra.objectstore.local.LocalObjectStore` (files under the data
directory, the embedded default; presigned uploads come back to scanserve's own
``POST /uploads``, signed by :mod:`scanserve.infra.objectstore.policy`) and
:class:`~scanserve.infra.objectstore.s3.S3ObjectStore` (any S3-compatible service, through boto3,
when ``s3_bucket`` is set). :func:`open_object_store` picks the backend from settings.

Presigned uploads work the same way on both: :meth:`ObjectStore.presign_post` returns a URL
and form fields; the client POSTs them with the file as ``multipart/form-data`` (the fields
first, the file last, as S3 requires) before the policy expires. A policy can be posted again
until it expires, so registering the upload first *claims* it
(:meth:`ObjectStore.claim_upload`): from then on the object under its key never changes. The
local backend is write-once and has nothing to do; S3 cannot refuse a second POST of the
same policy, so there the policy names an inbox key and the claim copies the upload, once,
to the key itself (see :mod:`scanserve.infra.objectstore.s3`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanserve.infra.objectstore.base import (
    MAX_KEY_LENGTH,
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreError,
    ObjectTooLarge,
    PresignedPost,
    check_key,
)
from scanserve.infra.objectstore.local import LocalObjectStore
from scanserve.infra.objectstore.policy import PolicySigner
from scanserve.infra.objectstore.s3 import S3ObjectStore

if TYPE_CHECKING:
    from scanserve.settings import Settings

__all__ = [
    "MAX_KEY_LENGTH",
    "InvalidKey",
    "ObjectExists",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "ObjectTooLarge",
    "PresignedPost",
    "check_key",
    "open_object_store",
]


def open_object_store(settings: Settings) -> ObjectStore:
    if settings.s3_bucket:
        return S3ObjectStore.from_settings(settings)
    return LocalObjectStore(settings.data_dir / "objects", signer=PolicySigner(settings.data_dir))
