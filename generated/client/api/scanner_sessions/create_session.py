from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.session_create_request import SessionCreateRequest
from ...models.session_response import SessionResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: SessionCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sessions",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SessionResponse | None:
    if response.status_code == 201:
        response_201 = SessionResponse.from_dict(response.json())

        return response_201

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
) -> Response[Problem | SessionResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: SessionCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | SessionResponse]:
    """Start a scanning session

     Opens a new `ACTIVE` session in the caller's organisation. With an API key the
    organisation is the key's and `organization_short_id` is ignored; with a bearer
    token or the session cookie `organization_short_id` is required (`422` when empty)
    and must name an organisation the user belongs to (`404` otherwise). Send `{}` to
    take every default.

    Args:
        idempotency_key (str | Unset):
        body (SessionCreateRequest): Options for a new session. Every field is optional; `{}`
            takes all defaults. Example: {'capture_mode': 'barcode_scan', 'user_agent':
            'ScannerApp/4.2.0 (Android 15; Pixel 9)'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SessionResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: SessionCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Problem | SessionResponse | None:
    """Start a scanning session

     Opens a new `ACTIVE` session in the caller's organisation. With an API key the
    organisation is the key's and `organization_short_id` is ignored; with a bearer
    token or the session cookie `organization_short_id` is required (`422` when empty)
    and must name an organisation the user belongs to (`404` otherwise). Send `{}` to
    take every default.

    Args:
        idempotency_key (str | Unset):
        body (SessionCreateRequest): Options for a new session. Every field is optional; `{}`
            takes all defaults. Example: {'capture_mode': 'barcode_scan', 'user_agent':
            'ScannerApp/4.2.0 (Android 15; Pixel 9)'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SessionResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: SessionCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | SessionResponse]:
    """Start a scanning session

     Opens a new `ACTIVE` session in the caller's organisation. With an API key the
    organisation is the key's and `organization_short_id` is ignored; with a bearer
    token or the session cookie `organization_short_id` is required (`422` when empty)
    and must name an organisation the user belongs to (`404` otherwise). Send `{}` to
    take every default.

    Args:
        idempotency_key (str | Unset):
        body (SessionCreateRequest): Options for a new session. Every field is optional; `{}`
            takes all defaults. Example: {'capture_mode': 'barcode_scan', 'user_agent':
            'ScannerApp/4.2.0 (Android 15; Pixel 9)'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SessionResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: SessionCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Problem | SessionResponse | None:
    """Start a scanning session

     Opens a new `ACTIVE` session in the caller's organisation. With an API key the
    organisation is the key's and `organization_short_id` is ignored; with a bearer
    token or the session cookie `organization_short_id` is required (`422` when empty)
    and must name an organisation the user belongs to (`404` otherwise). Send `{}` to
    take every default.

    Args:
        idempotency_key (str | Unset):
        body (SessionCreateRequest): Options for a new session. Every field is optional; `{}`
            takes all defaults. Example: {'capture_mode': 'barcode_scan', 'user_agent':
            'ScannerApp/4.2.0 (Android 15; Pixel 9)'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SessionResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
