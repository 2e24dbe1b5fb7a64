"""Metadata maps on sessions, captures, photos and proposals: flat string to string,
at most 50 keys, keys up to 40 characters, values up to 500.

Writes merge into what is stored: ``{}`` or ``null`` clears everything, a key sent with ``""``
is deleted, keys not sent are kept. The spec checks the shape of what is sent (the lengths of
keys and values too); the limit on the merged result can only be checked here.
"""

from __future__ import annotations

from collections.abc import Mapping

from scanserve.errors import FieldError, ValidationFailed

MAX_KEYS = 50


def merge(
    stored: Mapping[str, str], update: Mapping[str, str] | None, *, pointer: str = "/metadata"
) -> dict[str, str]:
    if not update:  # None or {}: clear
        return {}
    merged = dict(stored)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_KEYS:
        raise ValidationFailed(
            [
                FieldError(
                    pointer,
                    f"metadata may hold at most {MAX_KEYS} keys after merging; "
                    f"it would hold {len(merged)}",
                )
            ]
        )
    return merged


def initial(update: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata of a new object: the merge rules applied to an empty map."""
    return merge({}, update)
