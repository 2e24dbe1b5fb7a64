from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.presigned_upload import PresignedUpload
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: PresignedUpload,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/uploads",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

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
) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: PresignedUpload,
) -> Response[Any | Problem]:
    """Receive a presigned photo upload (local storage)

     Where `getPresignedUploadUrl` points when photos are stored on the server's own
    disk: the local counterpart of an S3 presigned POST. Send every `upload_fields`
    entry unchanged, then the file as the `file` part. No API key is needed: the
    signed policy is the credential, and it allows exactly one object key, one
    `Content-Type`, a size range and a time window. (A credential sent anyway must be
    valid: a broken one answers `401`, as everywhere.)

    A policy whose signature does not match (it was changed), that has expired, or
    whose `key` differs from the `key` sent answers `403`; a `Content-Type` the policy
    does not allow, or a file whose bytes are not an image of that type, `415`; a file
    over the policy's size `413` (the rest is not read); an empty file `422`; a key
    that already holds an object `409` (nothing is ever overwritten).

    Args:
        body (PresignedUpload): The multipart form of an upload to `receiveUpload`: the
            `upload_fields` of
            `getPresignedUploadUrl`, unchanged, then the file.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: PresignedUpload,
) -> Any | Problem | None:
    """Receive a presigned photo upload (local storage)

     Where `getPresignedUploadUrl` points when photos are stored on the server's own
    disk: the local counterpart of an S3 presigned POST. Send every `upload_fields`
    entry unchanged, then the file as the `file` part. No API key is needed: the
    signed policy is the credential, and it allows exactly one object key, one
    `Content-Type`, a size range and a time window. (A credential sent anyway must be
    valid: a broken one answers `401`, as everywhere.)

    A policy whose signature does not match (it was changed), that has expired, or
    whose `key` differs from the `key` sent answers `403`; a `Content-Type` the policy
    does not allow, or a file whose bytes are not an image of that type, `415`; a file
    over the policy's size `413` (the rest is not read); an empty file `422`; a key
    that already holds an object `409` (nothing is ever overwritten).

    Args:
        body (PresignedUpload): The multipart form of an upload to `receiveUpload`: the
            `upload_fields` of
            `getPresignedUploadUrl`, unchanged, then the file.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: PresignedUpload,
) -> Response[Any | Problem]:
    """Receive a presigned photo upload (local storage)

     Where `getPresignedUploadUrl` points when photos are stored on the server's own
    disk: the local counterpart of an S3 presigned POST. Send every `upload_fields`
    entry unchanged, then the file as the `file` part. No API key is needed: the
    signed policy is the credential, and it allows exactly one object key, one
    `Content-Type`, a size range and a time window. (A credential sent anyway must be
    valid: a broken one answers `401`, as everywhere.)

    A policy whose signature does not match (it was changed), that has expired, or
    whose `key` differs from the `key` sent answers `403`; a `Content-Type` the policy
    does not allow, or a file whose bytes are not an image of that type, `415`; a file
    over the policy's size `413` (the rest is not read); an empty file `422`; a key
    that already holds an object `409` (nothing is ever overwritten).

    Args:
        body (PresignedUpload): The multipart form of an upload to `receiveUpload`: the
            `upload_fields` of
            `getPresignedUploadUrl`, unchanged, then the file.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: PresignedUpload,
) -> Any | Problem | None:
    """Receive a presigned photo upload (local storage)

     Where `getPresignedUploadUrl` points when photos are stored on the server's own
    disk: the local counterpart of an S3 presigned POST. Send every `upload_fields`
    entry unchanged, then the file as the `file` part. No API key is needed: the
    signed policy is the credential, and it allows exactly one object key, one
    `Content-Type`, a size range and a time window. (A credential sent anyway must be
    valid: a broken one answers `401`, as everywhere.)

    A policy whose signature does not match (it was changed), that has expired, or
    whose `key` differs from the `key` sent answers `403`; a `Content-Type` the policy
    does not allow, or a file whose bytes are not an image of that type, `415`; a file
    over the policy's size `413` (the rest is not read); an empty file `422`; a key
    that already holds an object `409` (nothing is ever overwritten).

    Args:
        body (PresignedUpload): The multipart form of an upload to `receiveUpload`: the
            `upload_fields` of
            `getPresignedUploadUrl`, unchanged, then the file.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
