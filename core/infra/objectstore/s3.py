"""Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, moto...), through boto3.

On when ``s3_bucket`` is set; ``s3_endpoint_url`` points at a service other than AWS,
``s3_region`` and the credentials come from settings (or, left empty, from boto3's usual
chain: environment, shared config, instance role). Presigned uploads are boto3's presigned
POST: the client posts straight to the bucket, and S3 itself enforces the key, the content
type and the size range of the policy.

Write-once: ``put`` sends ``If-None-Match: *``, so S3 refuses to replace an existing object.
A presigned POST cannot say so: S3 takes conditional writes on PutObject and
CompleteMultipartUpload only, not on a browser POST (moto ignores them there too), and the
policy may be posted again, with other bytes, until it expires. Issue 15: re-posting the
fields after the photo was registered replaced it with 41 bytes of JPEG magic and HTML.

So a policy never names the key a photo points at. It names the inbox key
``incoming/<key>`` (:func:`inbox_key`); :meth:`S3ObjectStore.claim_upload`, which
registration calls before judging the upload, reads it (at most ``max_bytes``) and writes it
to ``<key>`` with ``If-None-Match: *``: once, by the server, under a key no policy names.
Reads (``get``, ``peek``, ``size``) only ever look at ``<key>``, so the bytes judged at
registration are the bytes served afterwards, whatever is posted to the inbox later. Each key
still holds a fresh random id, which no other upload gets. ``delete`` removes both.

An inbox object re-posted after its claim is never read. Operators may add a lifecycle rule
expiring ``incoming/`` after a day.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from scanserve.infra.objectstore.base import (
    ObjectExists,
    ObjectNotFound,
    ObjectTooLarge,
    PresignedPost,
    check_key,
)

if TYPE_CHECKING:
    from scanserve.settings import Settings

INBOX = "incoming/"
_MISSING = ("NoSuchKey", "404", "NotFound")


def inbox_key(key: str) -> str:
    """Where a presigned POST for ``key`` lands, until registration claims it."""
    return INBOX + check_key(key)


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str):
        self.client = client
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: Settings) -> S3ObjectStore:
        import boto3  # noqa: PLC0415 - boto3 (slow to import) loads only when S3 is used
        from botocore.config import Config  # noqa: PLC0415 - as boto3

        config = Config(
            region_name=settings.s3_region or None,
            signature_version="s3v4",
            s3={"addressing_style": settings.s3_addressing_style},
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key.get_secret_value() or None,
            config=config,
        )
        return cls(client, settings.s3_bucket)

    @staticmethod
    def _code(exc: Exception) -> str:
        response = getattr(exc, "response", None) or {}
        return str(response.get("Error", {}).get("Code", ""))

    def put(self, key: str, data: bytes, *, content_type: str) -> int:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - as boto3

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=check_key(key),
                Body=data,
                ContentType=content_type,
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if self._code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ObjectExists(key) from None
            raise
        return len(data)

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - as boto3

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if self._code(exc) in _MISSING:
                raise ObjectNotFound(key) from None
            raise
        body = response["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def peek(self, key: str, length: int) -> bytes:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - as boto3

        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=check_key(key), Range=f"bytes=0-{max(0, length - 1)}"
            )
        except ClientError as exc:
            if self._code(exc) in _MISSING:
                raise ObjectNotFound(key) from None
            raise
        body = response["Body"]
        try:
            return bytes(body.read(length))
        finally:
            body.close()

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - as boto3

        try:
            response = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if self._code(exc) in _MISSING:
                return None
            raise
        return int(response["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        if not key.startswith(INBOX):
            self.client.delete_object(Bucket=self.bucket, Key=inbox_key(key))

    def claim_upload(self, key: str, *, max_bytes: int) -> None:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - as boto3

        inbox = inbox_key(key)
        try:
            # one byte more than allowed tells a too large upload apart, without reading it
            response = self.client.get_object(
                Bucket=self.bucket, Key=inbox, Range=f"bytes=0-{max_bytes}"
            )
        except ClientError as exc:
            code = self._code(exc)
            if code in _MISSING:
                return  # nothing uploaded, or claimed already (the inbox is emptied then)
            if code not in ("InvalidRange", "416"):
                raise
            data, content_type = b"", "application/octet-stream"  # an empty upload
        else:
            body = response["Body"]
            try:
                data = bytes(body.read(max_bytes + 1))
            finally:
                body.close()
            content_type = str(response.get("ContentType") or "application/octet-stream")
        if len(data) > max_bytes:
            raise ObjectTooLarge(key, max_bytes)
        with contextlib.suppress(ObjectExists):  # claimed before: that copy stays
            self.put(key, data, content_type=content_type)
        self.client.delete_object(Bucket=self.bucket, Key=inbox)

    def presign_post(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        own_upload_url: str,
    ) -> PresignedPost:
        presigned = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=inbox_key(key),
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return PresignedPost(
            url=presigned["url"],
            fields={k: str(v) for k, v in presigned["fields"].items()},
            expires_in=expires_in,
        )
