from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.photo_response import PhotoResponse
from ...models.photo_update_request import PhotoUpdateRequest
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    session_id: str | UUID,
    photo_id: str | UUID,
    *,
    body: PhotoUpdateRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/sessions/{session_id}/photos/{photo_id}".format(
            session_id=quote(str(session_id), safe=""),
            photo_id=quote(str(photo_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PhotoResponse | Problem | None:
    if response.status_code == 200:
        response_200 = PhotoResponse.from_dict(response.json())

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
) -> Response[PhotoResponse | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str | UUID,
    photo_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoUpdateRequest,
) -> Response[PhotoResponse | Problem]:
    """Change a photo's type or metadata

     Sets the photo's `photo_type` (which decides the vision extractor it goes to) and
    merges `metadata` into its stored metadata. The photo must belong to the session in
    the path (`404` otherwise), and the session must be `ACTIVE` (`409` otherwise).

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        photo_id (str | UUID): An object id as a request may give it: the 22-character shortuuid,
            or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        body (PhotoUpdateRequest): New type and metadata changes for a photo.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PhotoResponse | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        photo_id=photo_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str | UUID,
    photo_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoUpdateRequest,
) -> PhotoResponse | Problem | None:
    """Change a photo's type or metadata

     Sets the photo's `photo_type` (which decides the vision extractor it goes to) and
    merges `metadata` into its stored metadata. The photo must belong to the session in
    the path (`404` otherwise), and the session must be `ACTIVE` (`409` otherwise).

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        photo_id (str | UUID): An object id as a request may give it: the 22-character shortuuid,
            or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        body (PhotoUpdateRequest): New type and metadata changes for a photo.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PhotoResponse | Problem
    """

    return sync_detailed(
        session_id=session_id,
        photo_id=photo_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    session_id: str | UUID,
    photo_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoUpdateRequest,
) -> Response[PhotoResponse | Problem]:
    """Change a photo's type or metadata

     Sets the photo's `photo_type` (which decides the vision extractor it goes to) and
    merges `metadata` into its stored metadata. The photo must belong to the session in
    the path (`404` otherwise), and the session must be `ACTIVE` (`409` otherwise).

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        photo_id (str | UUID): An object id as a request may give it: the 22-character shortuuid,
            or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        body (PhotoUpdateRequest): New type and metadata changes for a photo.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PhotoResponse | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        photo_id=photo_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str | UUID,
    photo_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoUpdateRequest,
) -> PhotoResponse | Problem | None:
    """Change a photo's type or metadata

     Sets the photo's `photo_type` (which decides the vision extractor it goes to) and
    merges `metadata` into its stored metadata. The photo must belong to the session in
    the path (`404` otherwise), and the session must be `ACTIVE` (`409` otherwise).

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        photo_id (str | UUID): An object id as a request may give it: the 22-character shortuuid,
            or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        body (PhotoUpdateRequest): New type and metadata changes for a photo.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PhotoResponse | Problem
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            photo_id=photo_id,
            client=client,
            body=body,
        )
    ).parsed
