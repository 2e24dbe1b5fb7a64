"""Objects as files under one root folder (the embedded default: ``<data_dir>/objects``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from scanserve.infra.objectstore.base import ObjectExists, ObjectNotFound, PresignedPost, check_key

if TYPE_CHECKING:
    from scanserve.infra.objectstore.policy import PolicySigner


class LocalObjectStore:
    def __init__(self, root: Path, signer: PolicySigner | None = None):
        self.root = root
        self.signer = signer

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, data: bytes, *, content_type: str) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written to a private temporary name, then linked into place: the link fails when
        # the key exists, so an object is never replaced and never seen half-written.
        tmp = path.parent / f".{path.name}.{os.getpid()}.{id(data)}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise ObjectExists(key) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return len(data)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def peek(self, key: str, length: int) -> bytes:
        try:
            with self._path(key).open("rb") as stored:
                return stored.read(length)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def size(self, key: str) -> int | None:
        try:
            stat = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat.st_size if not os.path.isdir(self._path(key)) else None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def claim_upload(self, key: str, *, max_bytes: int) -> None:
        """Nothing to do: ``POST /uploads`` writes a key once (:meth:`put`), so the object a
        policy uploaded can never be replaced by posting it again."""
        check_key(key)

    def presign_post(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        expires_in: int,
        own_upload_url: str,
    ) -> PresignedPost:
        if self.signer is None:
            raise RuntimeError("this local object store was built without a policy signer")
        fields = {"key": check_key(key), "Content-Type": content_type}
        fields.update(
            self.signer.sign(
                key, content_types=(content_type,), max_bytes=max_bytes, expires_in=expires_in
            )
        )
        return PresignedPost(url=own_upload_url, fields=fields, expires_in=expires_in)
