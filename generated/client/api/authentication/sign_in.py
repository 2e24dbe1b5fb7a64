from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.web_session import WebSession
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/auth/session",
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | WebSession | None:
    if response.status_code == 201:
        response_201 = WebSession.from_dict(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

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
) -> Response[Problem | WebSession]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | WebSession]:
    """Sign a browser in with an API key or bearer token

     Exchanges the credential of this request (an `X-API-Key` or an
    `Authorization: Bearer` token), once, for a browser session: the answer sets the
    `sessionid` cookie (`HttpOnly`, `SameSite=Lax`, `Path` the API's base path, `Secure`
    over HTTPS) and carries a `csrf_token` to send as `X-CSRF-Token` with every unsafe
    request made with the cookie. The session acts as the credential did (same
    organisations and scopes), expires with it or after the server's browser-session
    lifetime, whichever comes first, and ends when the key or token is revoked. The CSRF
    token is shown only here; sign in again to get a new one. No request body. An
    `Idempotency-Key` is taken as on every `POST`, but this answer is never kept (the
    server stores no session secret): a repeat signs in again.

    Args:
        idempotency_key (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebSession]
    """

    kwargs = _get_kwargs(
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    idempotency_key: str | Unset = UNSET,
) -> Problem | WebSession | None:
    """Sign a browser in with an API key or bearer token

     Exchanges the credential of this request (an `X-API-Key` or an
    `Authorization: Bearer` token), once, for a browser session: the answer sets the
    `sessionid` cookie (`HttpOnly`, `SameSite=Lax`, `Path` the API's base path, `Secure`
    over HTTPS) and carries a `csrf_token` to send as `X-CSRF-Token` with every unsafe
    request made with the cookie. The session acts as the credential did (same
    organisations and scopes), expires with it or after the server's browser-session
    lifetime, whichever comes first, and ends when the key or token is revoked. The CSRF
    token is shown only here; sign in again to get a new one. No request body. An
    `Idempotency-Key` is taken as on every `POST`, but this answer is never kept (the
    server stores no session secret): a repeat signs in again.

    Args:
        idempotency_key (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebSession
    """

    return sync_detailed(
        client=client,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | WebSession]:
    """Sign a browser in with an API key or bearer token

     Exchanges the credential of this request (an `X-API-Key` or an
    `Authorization: Bearer` token), once, for a browser session: the answer sets the
    `sessionid` cookie (`HttpOnly`, `SameSite=Lax`, `Path` the API's base path, `Secure`
    over HTTPS) and carries a `csrf_token` to send as `X-CSRF-Token` with every unsafe
    request made with the cookie. The session acts as the credential did (same
    organisations and scopes), expires with it or after the server's browser-session
    lifetime, whichever comes first, and ends when the key or token is revoked. The CSRF
    token is shown only here; sign in again to get a new one. No request body. An
    `Idempotency-Key` is taken as on every `POST`, but this answer is never kept (the
    server stores no session secret): a repeat signs in again.

    Args:
        idempotency_key (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebSession]
    """

    kwargs = _get_kwargs(
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    idempotency_key: str | Unset = UNSET,
) -> Problem | WebSession | None:
    """Sign a browser in with an API key or bearer token

     Exchanges the credential of this request (an `X-API-Key` or an
    `Authorization: Bearer` token), once, for a browser session: the answer sets the
    `sessionid` cookie (`HttpOnly`, `SameSite=Lax`, `Path` the API's base path, `Secure`
    over HTTPS) and carries a `csrf_token` to send as `X-CSRF-Token` with every unsafe
    request made with the cookie. The session acts as the credential did (same
    organisations and scopes), expires with it or after the server's browser-session
    lifetime, whichever comes first, and ends when the key or token is revoked. The CSRF
    token is shown only here; sign in again to get a new one. No request body. An
    `Idempotency-Key` is taken as on every `POST`, but this answer is never kept (the
    server stores no session secret): a repeat signs in again.

    Args:
        idempotency_key (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebSession
    """

    return (
        await asyncio_detailed(
            client=client,
            idempotency_key=idempotency_key,
        )
    ).parsed
