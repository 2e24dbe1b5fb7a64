from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.plugin_list import PluginList
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/plugins",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PluginList | Problem | None:
    if response.status_code == 200:
        response_200 = PluginList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
) -> Response[PluginList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[PluginList | Problem]:
    """List the loaded plugins and their providers

     What `scanserve plugins list` shows, for the running server: each loaded plugin (name,
    version, whether it is built in, the hooks it implements) in load order, and each
    provider the plugins registered, by kind, in the order the server asks them (`order`
    from 1 within a kind). Freshness providers are the plugins implementing the
    first-answer `freshness_thresholds` hook. Vision extractors (kind `extractor`, in the
    order extraction runs them) also say which photo types are routed to them (none: a
    product extractor, run once per capture with a product) and whether they can run on
    this server now, with the reason when they cannot (a missing program, no
    configuration): an unavailable extractor is skipped.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PluginList | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> PluginList | Problem | None:
    """List the loaded plugins and their providers

     What `scanserve plugins list` shows, for the running server: each loaded plugin (name,
    version, whether it is built in, the hooks it implements) in load order, and each
    provider the plugins registered, by kind, in the order the server asks them (`order`
    from 1 within a kind). Freshness providers are the plugins implementing the
    first-answer `freshness_thresholds` hook. Vision extractors (kind `extractor`, in the
    order extraction runs them) also say which photo types are routed to them (none: a
    product extractor, run once per capture with a product) and whether they can run on
    this server now, with the reason when they cannot (a missing program, no
    configuration): an unavailable extractor is skipped.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PluginList | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[PluginList | Problem]:
    """List the loaded plugins and their providers

     What `scanserve plugins list` shows, for the running server: each loaded plugin (name,
    version, whether it is built in, the hooks it implements) in load order, and each
    provider the plugins registered, by kind, in the order the server asks them (`order`
    from 1 within a kind). Freshness providers are the plugins implementing the
    first-answer `freshness_thresholds` hook. Vision extractors (kind `extractor`, in the
    order extraction runs them) also say which photo types are routed to them (none: a
    product extractor, run once per capture with a product) and whether they can run on
    this server now, with the reason when they cannot (a missing program, no
    configuration): an unavailable extractor is skipped.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PluginList | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> PluginList | Problem | None:
    """List the loaded plugins and their providers

     What `scanserve plugins list` shows, for the running server: each loaded plugin (name,
    version, whether it is built in, the hooks it implements) in load order, and each
    provider the plugins registered, by kind, in the order the server asks them (`order`
    from 1 within a kind). Freshness providers are the plugins implementing the
    first-answer `freshness_thresholds` hook. Vision extractors (kind `extractor`, in the
    order extraction runs them) also say which photo types are routed to them (none: a
    product extractor, run once per capture with a product) and whether they can run on
    this server now, with the reason when they cannot (a missing program, no
    configuration): an unavailable extractor is skipped.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PluginList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
