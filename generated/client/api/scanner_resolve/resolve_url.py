from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.resolve_url_request import ResolveUrlRequest
from ...models.resolve_url_response import ResolveUrlResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: ResolveUrlRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/resolve-url",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ResolveUrlResponse | None:
    if response.status_code == 200:
        response_200 = ResolveUrlResponse.from_dict(response.json())

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | ResolveUrlResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ResolveUrlRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | ResolveUrlResponse]:
    """Follow a URL's redirect chain

     Follows `url` through at most 10 HTTP redirects (301, 302, 303, 307, 308, including
    http→https upgrades) within 5 seconds overall; HTML meta-refresh is not followed.
    Every outcome is a `200`: a timeout, refused connection, malformed URL, non-http(s)
    scheme or too many redirects is reported in `error_message`, and `succeeded` is
    true exactly when `error_message` is empty. A failure before any response leaves
    `chain` empty; too many redirects is an error whose `final_url` is `initial_url`
    (no partial result). Nothing is stored.

    Args:
        idempotency_key (str | Unset):
        body (ResolveUrlRequest): A URL to follow.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ResolveUrlResponse]
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
    client: AuthenticatedClient | Client,
    body: ResolveUrlRequest,
    idempotency_key: str | Unset = UNSET,
) -> Problem | ResolveUrlResponse | None:
    """Follow a URL's redirect chain

     Follows `url` through at most 10 HTTP redirects (301, 302, 303, 307, 308, including
    http→https upgrades) within 5 seconds overall; HTML meta-refresh is not followed.
    Every outcome is a `200`: a timeout, refused connection, malformed URL, non-http(s)
    scheme or too many redirects is reported in `error_message`, and `succeeded` is
    true exactly when `error_message` is empty. A failure before any response leaves
    `chain` empty; too many redirects is an error whose `final_url` is `initial_url`
    (no partial result). Nothing is stored.

    Args:
        idempotency_key (str | Unset):
        body (ResolveUrlRequest): A URL to follow.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ResolveUrlResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ResolveUrlRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | ResolveUrlResponse]:
    """Follow a URL's redirect chain

     Follows `url` through at most 10 HTTP redirects (301, 302, 303, 307, 308, including
    http→https upgrades) within 5 seconds overall; HTML meta-refresh is not followed.
    Every outcome is a `200`: a timeout, refused connection, malformed URL, non-http(s)
    scheme or too many redirects is reported in `error_message`, and `succeeded` is
    true exactly when `error_message` is empty. A failure before any response leaves
    `chain` empty; too many redirects is an error whose `final_url` is `initial_url`
    (no partial result). Nothing is stored.

    Args:
        idempotency_key (str | Unset):
        body (ResolveUrlRequest): A URL to follow.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ResolveUrlResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ResolveUrlRequest,
    idempotency_key: str | Unset = UNSET,
) -> Problem | ResolveUrlResponse | None:
    """Follow a URL's redirect chain

     Follows `url` through at most 10 HTTP redirects (301, 302, 303, 307, 308, including
    http→https upgrades) within 5 seconds overall; HTML meta-refresh is not followed.
    Every outcome is a `200`: a timeout, refused connection, malformed URL, non-http(s)
    scheme or too many redirects is reported in `error_message`, and `succeeded` is
    true exactly when `error_message` is empty. A failure before any response leaves
    `chain` empty; too many redirects is an error whose `final_url` is `initial_url`
    (no partial result). Nothing is stored.

    Args:
        idempotency_key (str | Unset):
        body (ResolveUrlRequest): A URL to follow.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ResolveUrlResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
