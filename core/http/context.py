"""What a handler may ask about the request it serves."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from anyio import CapacityLimiter, to_thread
from connexion.context import _scope

from scanserve.domain import imaging
from scanserve.http.asgi_keys import PRINCIPAL_KEY, SERVICES_KEY
from scanserve.identity.auth import Principal
from scanserve.storage.database import is_sqlite

if TYPE_CHECKING:
    from scanserve.domain.services import Services


# connexion.request builds a ConnexionRequest on every attribute access; the scope is all
# these need, read from the context variable that Connexion's ContextMiddleware (or
# scanserve.http.fastpath) sets, without the werkzeug proxy in front of it.


def services() -> Services:
    return cast("Services", _scope.get()[SERVICES_KEY])


def principal() -> Principal:
    return cast(Principal, _scope.get()[PRINCIPAL_KEY])


P = ParamSpec("P")
T = TypeVar("T")


def reads_inline() -> bool:
    """May an async handler run a small, bounded read on the event loop? On SQLite, yes: in
    WAL mode a reader never waits for a writer, and a read of a few rows takes tens of
    microseconds, less than the hop to a worker thread. A database across the network, no."""
    return is_sqlite(services().db)


async def read(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a small, bounded read-only database function for an async handler: inline where
    :func:`reads_inline`, else in a worker thread, as a sync handler would."""
    if reads_inline():
        return fn(*args, **kwargs)
    return await to_thread.run_sync(lambda: fn(*args, **kwargs))


# One per event loop (a limiter belongs to the loop it is used on), made there on first use.
_large_reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


async def read_large(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a read too large for the event loop (a session of hundreds of captures) in a
    worker thread; on SQLite one such read at a time per process. Python's sqlite3 lets go of
    the GIL for every row it steps through, so large reads in many threads at once hand the
    GIL to each other row by row: 32 concurrent reads of a 1,000-capture session took 46 ms
    of CPU each instead of 7. Queued one behind the other they take 7, and the event loop
    keeps serving everything else meanwhile."""
    if not reads_inline():
        return await to_thread.run_sync(lambda: fn(*args, **kwargs))
    loop = asyncio.get_running_loop()
    limiter = _large_reads.get(loop)
    if limiter is None:
        limiter = _large_reads[loop] = CapacityLimiter(1)
    return await to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=limiter)


# Image requests that may wait for a thread of their lane at most, beyond the lane's threads
# (each holds its upload, up to 1 MiB of it in memory); past that a request is answered 503
# at once, with Retry-After.
IMAGE_WORK_WAITING = 60


async def image_work(fn: Callable[[], T], lane: Any, key: str) -> T:
    """Run a request's image work (decoding an upload, checking a photo) in its
    organisation's lane (``services.image_lane``, :mod:`scanserve.infra.request_lanes`:
    ``image_check_concurrency`` threads in all, ``image_check_concurrency_per_org`` for one
    organisation, ``key``), counted for the decode budget's memory trim, with at most
    :data:`IMAGE_WORK_WAITING` requests waiting beyond the lane's threads (then 503)."""
    if imaging.work_in_flight() >= lane.overall_size + IMAGE_WORK_WAITING:
        raise imaging.decoders_busy(
            "The server is checking as many images as it takes at once; retry shortly.", 5
        )
    imaging.work_started()
    try:
        return await lane.run(key, fn)
    finally:
        imaging.work_finished()  # the last one out gives the memory back (malloc_trim)
