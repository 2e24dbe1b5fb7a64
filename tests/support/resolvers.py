"""QR resolvers for tests, registered as plugins."""

from __future__ import annotations

import threading

from scanserve import QrResolution
from scanserve.plugins.hookspecs import hookimpl


class BlockingResolver:
    """A QR resolver that holds its first request until released."""

    name = "blocking"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def resolve(self, url: str) -> QrResolution:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(30), "the test never released the resolver"
        return QrResolution(url, url, [], 0, "e.com", "DIRECT", False, "", "")

    @hookimpl(tryfirst=True)
    def register_qr_resolvers(self, register, settings):
        register(self)
