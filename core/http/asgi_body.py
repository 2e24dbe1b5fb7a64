"""Handing a request body on after reading it: the one replay helper of the request path.

The gateway reads a chunked body whole (to bound it), the idempotency middleware reads a
POST's body (to fingerprint it) and the fast path reads a JSON body (to validate it); each
then passes the app further in a ``receive`` that gives the same messages again.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Message, Receive


def whole_body(body: bytes) -> Message:
    """The one ``http.request`` message of a body read whole."""
    return {"type": "http.request", "body": body, "more_body": False}


def replaying(
    receive: Receive, messages: Iterable[Message], failure: BaseException | None = None
) -> Receive:
    """``receive`` as it was before ``messages`` were read from it: those messages, then
    the exception receiving ended with (if it did, on every call after), then ``receive``
    itself."""
    left = iter(messages)

    async def replay() -> Message:
        for message in left:
            return message
        if failure is not None:
            raise failure
        return await receive()

    return replay
