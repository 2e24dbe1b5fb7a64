from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.health_status import HealthStatus
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/health/ready",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> HealthStatus | Problem | None:
    if response.status_code == 200:
        response_200 = HealthStatus.from_dict(response.json())

        return response_200

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
) -> Response[HealthStatus | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[HealthStatus | Problem]:
    """Readiness probe

     Answers `200` when the server can do its work, with `checks` naming each dependency
    and its state (`ok`, or `unavailable: <reason>`, or `degraded: <reason>` for one that
    is not required, or for `disk` `low: <free>`): `database` (answers a query), `queue`
    (its storage, the embedded SQLite queue or Redis, answers; not required: writes are
    still accepted while it is down and handed over once it is back), `objects` (the
    object store answers), `limits` (the rate-limit store answers; not required:
    requests are served without it, counted in the process meanwhile) and `disk` (the
    data directory's filesystem has at least
    `SCANSERVE_MIN_FREE_DISK_MB` free). While a required one is not `ok` the answer is
    `503` (`service_unavailable`) with the same `checks`. No credential is needed, and
    one that fails is ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HealthStatus | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> HealthStatus | Problem | None:
    """Readiness probe

     Answers `200` when the server can do its work, with `checks` naming each dependency
    and its state (`ok`, or `unavailable: <reason>`, or `degraded: <reason>` for one that
    is not required, or for `disk` `low: <free>`): `database` (answers a query), `queue`
    (its storage, the embedded SQLite queue or Redis, answers; not required: writes are
    still accepted while it is down and handed over once it is back), `objects` (the
    object store answers), `limits` (the rate-limit store answers; not required:
    requests are served without it, counted in the process meanwhile) and `disk` (the
    data directory's filesystem has at least
    `SCANSERVE_MIN_FREE_DISK_MB` free). While a required one is not `ok` the answer is
    `503` (`service_unavailable`) with the same `checks`. No credential is needed, and
    one that fails is ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HealthStatus | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[HealthStatus | Problem]:
    """Readiness probe

     Answers `200` when the server can do its work, with `checks` naming each dependency
    and its state (`ok`, or `unavailable: <reason>`, or `degraded: <reason>` for one that
    is not required, or for `disk` `low: <free>`): `database` (answers a query), `queue`
    (its storage, the embedded SQLite queue or Redis, answers; not required: writes are
    still accepted while it is down and handed over once it is back), `objects` (the
    object store answers), `limits` (the rate-limit store answers; not required:
    requests are served without it, counted in the process meanwhile) and `disk` (the
    data directory's filesystem has at least
    `SCANSERVE_MIN_FREE_DISK_MB` free). While a required one is not `ok` the answer is
    `503` (`service_unavailable`) with the same `checks`. No credential is needed, and
    one that fails is ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HealthStatus | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> HealthStatus | Problem | None:
    """Readiness probe

     Answers `200` when the server can do its work, with `checks` naming each dependency
    and its state (`ok`, or `unavailable: <reason>`, or `degraded: <reason>` for one that
    is not required, or for `disk` `low: <free>`): `database` (answers a query), `queue`
    (its storage, the embedded SQLite queue or Redis, answers; not required: writes are
    still accepted while it is down and handed over once it is back), `objects` (the
    object store answers), `limits` (the rate-limit store answers; not required:
    requests are served without it, counted in the process meanwhile) and `disk` (the
    data directory's filesystem has at least
    `SCANSERVE_MIN_FREE_DISK_MB` free). While a required one is not `ok` the answer is
    `503` (`service_unavailable`) with the same `checks`. No credential is needed, and
    one that fails is ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HealthStatus | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
