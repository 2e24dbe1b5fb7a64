from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.freshness_thresholds import FreshnessThresholds
from ...models.problem import Problem
from ...types import UNSET, Response


def _get_kwargs(
    *,
    gtin: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["gtin"] = gtin

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/freshness-thresholds",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> FreshnessThresholds | Problem | None:
    if response.status_code == 200:
        response_200 = FreshnessThresholds.from_dict(response.json())

        return response_200

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
) -> Response[FreshnessThresholds | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    gtin: str,
) -> Response[FreshnessThresholds | Problem]:
    """Look up freshness thresholds for a GTIN

     Returns the shelf-life thresholds for the product's category, taken from the first
    configuration layer that matches, in this order: the organisation's override for the
    product's GPC brick, the organisation's fallback, then any freshness plugin the
    server runs (`source` `plugin`, with its name in `pluginName`), then the global
    default for the brick, the global fallback, and finally built-in values. `source`
    names the layer used. A server may be configured to ask its plugins before the
    organisation's rules.

    The organisation layers are those of the caller's organisation (first) and of the
    organisation that claims the product's brand (per-brand overrides), so a product of
    a claimed brand gets its owner's rules on anonymous calls too.

    The operation is public: anonymous calls are allowed, a valid credential adds its
    organisation's layers, and a credential that fails (malformed, unknown, expired or
    revoked, or an `Authorization` header of another scheme, such as a proxy's `Basic`)
    is ignored rather than refused. The answer is always `200` for a `gtin` of
    acceptable length: an unknown or malformed GTIN simply falls through to the fallback
    layers.

    A client shows a date as *fresh* when the days left are at least `warningDays`,
    *expired* when fewer than `criticalDays`, and *warning* in between.

    Args:
        gtin (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FreshnessThresholds | Problem]
    """

    kwargs = _get_kwargs(
        gtin=gtin,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    gtin: str,
) -> FreshnessThresholds | Problem | None:
    """Look up freshness thresholds for a GTIN

     Returns the shelf-life thresholds for the product's category, taken from the first
    configuration layer that matches, in this order: the organisation's override for the
    product's GPC brick, the organisation's fallback, then any freshness plugin the
    server runs (`source` `plugin`, with its name in `pluginName`), then the global
    default for the brick, the global fallback, and finally built-in values. `source`
    names the layer used. A server may be configured to ask its plugins before the
    organisation's rules.

    The organisation layers are those of the caller's organisation (first) and of the
    organisation that claims the product's brand (per-brand overrides), so a product of
    a claimed brand gets its owner's rules on anonymous calls too.

    The operation is public: anonymous calls are allowed, a valid credential adds its
    organisation's layers, and a credential that fails (malformed, unknown, expired or
    revoked, or an `Authorization` header of another scheme, such as a proxy's `Basic`)
    is ignored rather than refused. The answer is always `200` for a `gtin` of
    acceptable length: an unknown or malformed GTIN simply falls through to the fallback
    layers.

    A client shows a date as *fresh* when the days left are at least `warningDays`,
    *expired* when fewer than `criticalDays`, and *warning* in between.

    Args:
        gtin (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FreshnessThresholds | Problem
    """

    return sync_detailed(
        client=client,
        gtin=gtin,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    gtin: str,
) -> Response[FreshnessThresholds | Problem]:
    """Look up freshness thresholds for a GTIN

     Returns the shelf-life thresholds for the product's category, taken from the first
    configuration layer that matches, in this order: the organisation's override for the
    product's GPC brick, the organisation's fallback, then any freshness plugin the
    server runs (`source` `plugin`, with its name in `pluginName`), then the global
    default for the brick, the global fallback, and finally built-in values. `source`
    names the layer used. A server may be configured to ask its plugins before the
    organisation's rules.

    The organisation layers are those of the caller's organisation (first) and of the
    organisation that claims the product's brand (per-brand overrides), so a product of
    a claimed brand gets its owner's rules on anonymous calls too.

    The operation is public: anonymous calls are allowed, a valid credential adds its
    organisation's layers, and a credential that fails (malformed, unknown, expired or
    revoked, or an `Authorization` header of another scheme, such as a proxy's `Basic`)
    is ignored rather than refused. The answer is always `200` for a `gtin` of
    acceptable length: an unknown or malformed GTIN simply falls through to the fallback
    layers.

    A client shows a date as *fresh* when the days left are at least `warningDays`,
    *expired* when fewer than `criticalDays`, and *warning* in between.

    Args:
        gtin (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FreshnessThresholds | Problem]
    """

    kwargs = _get_kwargs(
        gtin=gtin,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    gtin: str,
) -> FreshnessThresholds | Problem | None:
    """Look up freshness thresholds for a GTIN

     Returns the shelf-life thresholds for the product's category, taken from the first
    configuration layer that matches, in this order: the organisation's override for the
    product's GPC brick, the organisation's fallback, then any freshness plugin the
    server runs (`source` `plugin`, with its name in `pluginName`), then the global
    default for the brick, the global fallback, and finally built-in values. `source`
    names the layer used. A server may be configured to ask its plugins before the
    organisation's rules.

    The organisation layers are those of the caller's organisation (first) and of the
    organisation that claims the product's brand (per-brand overrides), so a product of
    a claimed brand gets its owner's rules on anonymous calls too.

    The operation is public: anonymous calls are allowed, a valid credential adds its
    organisation's layers, and a credential that fails (malformed, unknown, expired or
    revoked, or an `Authorization` header of another scheme, such as a proxy's `Basic`)
    is ignored rather than refused. The answer is always `200` for a `gtin` of
    acceptable length: an unknown or malformed GTIN simply falls through to the fallback
    layers.

    A client shows a date as *fresh* when the days left are at least `warningDays`,
    *expired* when fewer than `criticalDays`, and *warning* in between.

    Args:
        gtin (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FreshnessThresholds | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            gtin=gtin,
        )
    ).parsed
