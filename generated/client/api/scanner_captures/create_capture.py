from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.capture_create_request import CaptureCreateRequest
from ...models.capture_response import CaptureResponse
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CaptureCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/captures",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CaptureResponse | Problem | None:
    if response.status_code == 201:
        response_201 = CaptureResponse.from_dict(response.json())

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
) -> Response[CaptureResponse | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CaptureCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[CaptureResponse | Problem]:
    """Record a capture

     Stores one scanned or typed value in an `ACTIVE` session and queues its processing;
    the response shows it `PENDING`. The stored capture is itself the message: while the
    queue is unreachable the capture is still stored and answered `201`, and it is
    queued within seconds of the queue's return. The server parses `raw_value` itself:

    * a GTIN-8, -12 (UPC-E expanded), -13 or -14 is normalised to 14 digits after its
      check digit is verified;
    * a GS1 Digital Link URI (any host, optional path prefix) fills `gs1_dl_data` with
      every Application Identifier it carries and `gtin` from AI `01`;
    * a GS1 element string (GS1-128, GS1 DataMatrix, with or without an AIM symbology
      identifier) is decoded the same way;
    * any other http(s) URL is resolved through its redirects into `qr_analysis`.

    The server's reading of `raw_value` wins over a `gtin` or `gs1_dl_data` sent along,
    and the response shows what it used; what the client sends there never makes the
    request fail. A value that cannot be used (a GTIN with a wrong check digit, say) is
    still stored: the capture is created `PENDING` and processing ends it `FAILED`, with
    the reason in `error_message`. Restricted-circulation numbers (prefixes `02` and
    `20`–`29`) are never sent to outside lookup services. An unknown `session_id`
    answers `404`, a session that is no longer `ACTIVE` `409`.

    Args:
        idempotency_key (str | Unset):
        body (CaptureCreateRequest): One scanned or typed value to record. The session is named by
            `session_id`; clients
            written from the published Scanner API pages may name it `session_short_id` (or, in
            the older pages, `session_public_id`) instead. Exactly one of the three is sent: none
            answers `422` naming `session_id`, two answer `422` naming both.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CaptureResponse | Problem]
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
    body: CaptureCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> CaptureResponse | Problem | None:
    """Record a capture

     Stores one scanned or typed value in an `ACTIVE` session and queues its processing;
    the response shows it `PENDING`. The stored capture is itself the message: while the
    queue is unreachable the capture is still stored and answered `201`, and it is
    queued within seconds of the queue's return. The server parses `raw_value` itself:

    * a GTIN-8, -12 (UPC-E expanded), -13 or -14 is normalised to 14 digits after its
      check digit is verified;
    * a GS1 Digital Link URI (any host, optional path prefix) fills `gs1_dl_data` with
      every Application Identifier it carries and `gtin` from AI `01`;
    * a GS1 element string (GS1-128, GS1 DataMatrix, with or without an AIM symbology
      identifier) is decoded the same way;
    * any other http(s) URL is resolved through its redirects into `qr_analysis`.

    The server's reading of `raw_value` wins over a `gtin` or `gs1_dl_data` sent along,
    and the response shows what it used; what the client sends there never makes the
    request fail. A value that cannot be used (a GTIN with a wrong check digit, say) is
    still stored: the capture is created `PENDING` and processing ends it `FAILED`, with
    the reason in `error_message`. Restricted-circulation numbers (prefixes `02` and
    `20`–`29`) are never sent to outside lookup services. An unknown `session_id`
    answers `404`, a session that is no longer `ACTIVE` `409`.

    Args:
        idempotency_key (str | Unset):
        body (CaptureCreateRequest): One scanned or typed value to record. The session is named by
            `session_id`; clients
            written from the published Scanner API pages may name it `session_short_id` (or, in
            the older pages, `session_public_id`) instead. Exactly one of the three is sent: none
            answers `422` naming `session_id`, two answer `422` naming both.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CaptureResponse | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CaptureCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[CaptureResponse | Problem]:
    """Record a capture

     Stores one scanned or typed value in an `ACTIVE` session and queues its processing;
    the response shows it `PENDING`. The stored capture is itself the message: while the
    queue is unreachable the capture is still stored and answered `201`, and it is
    queued within seconds of the queue's return. The server parses `raw_value` itself:

    * a GTIN-8, -12 (UPC-E expanded), -13 or -14 is normalised to 14 digits after its
      check digit is verified;
    * a GS1 Digital Link URI (any host, optional path prefix) fills `gs1_dl_data` with
      every Application Identifier it carries and `gtin` from AI `01`;
    * a GS1 element string (GS1-128, GS1 DataMatrix, with or without an AIM symbology
      identifier) is decoded the same way;
    * any other http(s) URL is resolved through its redirects into `qr_analysis`.

    The server's reading of `raw_value` wins over a `gtin` or `gs1_dl_data` sent along,
    and the response shows what it used; what the client sends there never makes the
    request fail. A value that cannot be used (a GTIN with a wrong check digit, say) is
    still stored: the capture is created `PENDING` and processing ends it `FAILED`, with
    the reason in `error_message`. Restricted-circulation numbers (prefixes `02` and
    `20`–`29`) are never sent to outside lookup services. An unknown `session_id`
    answers `404`, a session that is no longer `ACTIVE` `409`.

    Args:
        idempotency_key (str | Unset):
        body (CaptureCreateRequest): One scanned or typed value to record. The session is named by
            `session_id`; clients
            written from the published Scanner API pages may name it `session_short_id` (or, in
            the older pages, `session_public_id`) instead. Exactly one of the three is sent: none
            answers `422` naming `session_id`, two answer `422` naming both.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CaptureResponse | Problem]
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
    body: CaptureCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> CaptureResponse | Problem | None:
    """Record a capture

     Stores one scanned or typed value in an `ACTIVE` session and queues its processing;
    the response shows it `PENDING`. The stored capture is itself the message: while the
    queue is unreachable the capture is still stored and answered `201`, and it is
    queued within seconds of the queue's return. The server parses `raw_value` itself:

    * a GTIN-8, -12 (UPC-E expanded), -13 or -14 is normalised to 14 digits after its
      check digit is verified;
    * a GS1 Digital Link URI (any host, optional path prefix) fills `gs1_dl_data` with
      every Application Identifier it carries and `gtin` from AI `01`;
    * a GS1 element string (GS1-128, GS1 DataMatrix, with or without an AIM symbology
      identifier) is decoded the same way;
    * any other http(s) URL is resolved through its redirects into `qr_analysis`.

    The server's reading of `raw_value` wins over a `gtin` or `gs1_dl_data` sent along,
    and the response shows what it used; what the client sends there never makes the
    request fail. A value that cannot be used (a GTIN with a wrong check digit, say) is
    still stored: the capture is created `PENDING` and processing ends it `FAILED`, with
    the reason in `error_message`. Restricted-circulation numbers (prefixes `02` and
    `20`–`29`) are never sent to outside lookup services. An unknown `session_id`
    answers `404`, a session that is no longer `ACTIVE` `409`.

    Args:
        idempotency_key (str | Unset):
        body (CaptureCreateRequest): One scanned or typed value to record. The session is named by
            `session_id`; clients
            written from the published Scanner API pages may name it `session_short_id` (or, in
            the older pages, `session_public_id`) instead. Exactly one of the three is sent: none
            answers `422` naming `session_id`, two answer `422` naming both.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CaptureResponse | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
