"""Objects as files under one root folder (the embedded default: ``<data_dir>/objects``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from . import ObjectExists, ObjectNotFound, check_key


class LocalObjectStore:
    def __init__(self, root: Path):
        self.root = root

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

    def size(self, key: str) -> int | None:
        try:
            stat = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat.st_size if not os.path.isdir(self._path(key)) else None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
