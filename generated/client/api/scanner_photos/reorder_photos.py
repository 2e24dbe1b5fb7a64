from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.photo_reorder_request import PhotoReorderRequest
from ...models.photo_response import PhotoResponse
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str | UUID,
    *,
    body: PhotoReorderRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sessions/{session_id}/photos/reorder".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | list[PhotoResponse] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = PhotoResponse.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 408:
        response_408 = Problem.from_dict(response.json())

        return response_408

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 431:
        response_431 = Problem.from_dict(response.json())

        return response_431

    if response.status_code == 500:
        response_500 = Problem.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if response.status_code == 507:
        response_507 = Problem.from_dict(response.json())

        return response_507

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | list[PhotoResponse]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoReorderRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | list[PhotoResponse]]:
    """Reorder a session's photo gallery

     Sets the display order of the session's photos. `photo_short_ids` must list every
    photo of the session exactly once, in the new order; a list that misses a photo,
    repeats one or names a photo of another session answers `422`. Each photo's
    `sort_order` becomes its index in the list. A session that is no longer `ACTIVE`
    answers `409`.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (PhotoReorderRequest): The complete new gallery order of a session.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[PhotoResponse]]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoReorderRequest,
    idempotency_key: str | Unset = UNSET,
) -> Problem | list[PhotoResponse] | None:
    """Reorder a session's photo gallery

     Sets the display order of the session's photos. `photo_short_ids` must list every
    photo of the session exactly once, in the new order; a list that misses a photo,
    repeats one or names a photo of another session answers `422`. Each photo's
    `sort_order` becomes its index in the list. A session that is no longer `ACTIVE`
    answers `409`.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (PhotoReorderRequest): The complete new gallery order of a session.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[PhotoResponse]
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoReorderRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | list[PhotoResponse]]:
    """Reorder a session's photo gallery

     Sets the display order of the session's photos. `photo_short_ids` must list every
    photo of the session exactly once, in the new order; a list that misses a photo,
    repeats one or names a photo of another session answers `422`. Each photo's
    `sort_order` becomes its index in the list. A session that is no longer `ACTIVE`
    answers `409`.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (PhotoReorderRequest): The complete new gallery order of a session.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[PhotoResponse]]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoReorderRequest,
    idempotency_key: str | Unset = UNSET,
) -> Problem | list[PhotoResponse] | None:
    """Reorder a session's photo gallery

     Sets the display order of the session's photos. `photo_short_ids` must list every
    photo of the session exactly once, in the new order; a list that misses a photo,
    repeats one or names a photo of another session answers `422`. Each photo's
    `sort_order` becomes its index in the list. A session that is no longer `ACTIVE`
    answers `409`.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (PhotoReorderRequest): The complete new gallery order of a session.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[PhotoResponse]
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
