from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.redirect_rule import RedirectRule
from ...models.save_redirect_request import SaveRedirectRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    short_id: str | UUID,
    *,
    body: SaveRedirectRequest | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/captures/{short_id}/save-redirect".format(
            short_id=quote(str(short_id), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | RedirectRule | None:
    if response.status_code == 201:
        response_201 = RedirectRule.from_dict(response.json())

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
) -> Response[Problem | RedirectRule]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    short_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: SaveRedirectRequest | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | RedirectRule]:
    """Save a URL as a redirect rule of the capture's product

     Stores `url` as a product-scoped redirect rule on the product the capture is linked
    to, placed after the product's existing rules. The body is optional, as the published
    pages show none: without one, the capture's own resolved URL (`final_url` of its
    `qr_analysis`) is saved, and a capture that has none answers `422` naming `url`. A
    capture that has no linked product yet answers `400` (`bad_request`), as does an
    unparseable body.

    Args:
        short_id (str | UUID): An object id as a request may give it: the 22-character shortuuid,
            or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (SaveRedirectRequest | Unset): A URL to store as a redirect rule of the capture's
            product.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RedirectRule]
    """

    kwargs = _get_kwargs(
        short_id=short_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    short_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: SaveRedirectRequest | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Problem | RedirectRule | None:
    """Save a URL as a redirect rule of the capture's product

     Stores `url` as a product-scoped redirect rule on the product the capture is linked
    to, placed after the product's existing rules. The body is optional, as the published
    pages show none: without one, the capture's own resolved URL (`final_url` of its
    `qr_analysis`) is saved, and a capture that has none answers `422` naming `url`. A
    capture that has no linked product yet answers `400` (`bad_request`), as does an
    unparseable body.

    Args:
        short_id (str | UUID): An object id as a request may give it: the 22-character shortuuid,
            or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (SaveRedirectRequest | Unset): A URL to store as a redirect rule of the capture's
            product.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RedirectRule
    """

    return sync_detailed(
        short_id=short_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    short_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: SaveRedirectRequest | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Problem | RedirectRule]:
    """Save a URL as a redirect rule of the capture's product

     Stores `url` as a product-scoped redirect rule on the product the capture is linked
    to, placed after the product's existing rules. The body is optional, as the published
    pages show none: without one, the capture's own resolved URL (`final_url` of its
    `qr_analysis`) is saved, and a capture that has none answers `422` naming `url`. A
    capture that has no linked product yet answers `400` (`bad_request`), as does an
    unparseable body.

    Args:
        short_id (str | UUID): An object id as a request may give it: the 22-character shortuuid,
            or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (SaveRedirectRequest | Unset): A URL to store as a redirect rule of the capture's
            product.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RedirectRule]
    """

    kwargs = _get_kwargs(
        short_id=short_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    short_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: SaveRedirectRequest | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Problem | RedirectRule | None:
    """Save a URL as a redirect rule of the capture's product

     Stores `url` as a product-scoped redirect rule on the product the capture is linked
    to, placed after the product's existing rules. The body is optional, as the published
    pages show none: without one, the capture's own resolved URL (`final_url` of its
    `qr_analysis`) is saved, and a capture that has none answers `422` naming `url`. A
    capture that has no linked product yet answers `400` (`bad_request`), as does an
    unparseable body.

    Args:
        short_id (str | UUID): An object id as a request may give it: the 22-character shortuuid,
            or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (SaveRedirectRequest | Unset): A URL to store as a redirect rule of the capture's
            product.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RedirectRule
    """

    return (
        await asyncio_detailed(
            short_id=short_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
