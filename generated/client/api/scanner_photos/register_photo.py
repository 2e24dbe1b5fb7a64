from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.photo_create_request import PhotoCreateRequest
from ...models.photo_response import PhotoResponse
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str | UUID,
    *,
    body: PhotoCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sessions/{session_id}/photos".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PhotoResponse | Problem | None:
    if response.status_code == 201:
        response_201 = PhotoResponse.from_dict(response.json())

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
) -> Response[PhotoResponse | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[PhotoResponse | Problem]:
    """Register an uploaded photo

     Records a photo already uploaded through `getPresignedUploadUrl` as a product photo
    of an `ACTIVE` session, appended at the end of the gallery. `s3_key` must be a photo
    key issued for this session (another session's or organisation's key, or one the
    server never issued, answers `422`), and the object must have been uploaded and be a
    whole JPEG, PNG or WebP image of the type its key's extension names, within the
    server's `max_upload_bytes` and `image_max_pixels`: the server reads it and decodes
    it, so a file whose first bytes look like an image but whose rest is not one (HTML
    behind a JPEG signature), or a truncated one, answers `422`, and the object is
    deleted. An upload never registered and deleted after it expired answers `422`.
    When the server's image decoders stay busy for longer than the request may wait the
    answer is `503` with `Retry-After`. `file_size` in the response is the stored
    object's real size, whatever the request said. `capture_short_id` optionally ties the photo to one
    of the
    session's captures (`404` when it names no such capture). A session that is no
    longer `ACTIVE`, or an object already registered as a photo, answers `409`.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (PhotoCreateRequest): A photo uploaded with a presigned URL, to register with the
            session.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PhotoResponse | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> PhotoResponse | Problem | None:
    """Register an uploaded photo

     Records a photo already uploaded through `getPresignedUploadUrl` as a product photo
    of an `ACTIVE` session, appended at the end of the gallery. `s3_key` must be a photo
    key issued for this session (another session's or organisation's key, or one the
    server never issued, answers `422`), and the object must have been uploaded and be a
    whole JPEG, PNG or WebP image of the type its key's extension names, within the
    server's `max_upload_bytes` and `image_max_pixels`: the server reads it and decodes
    it, so a file whose first bytes look like an image but whose rest is not one (HTML
    behind a JPEG signature), or a truncated one, answers `422`, and the object is
    deleted. An upload never registered and deleted after it expired answers `422`.
    When the server's image decoders stay busy for longer than the request may wait the
    answer is `503` with `Retry-After`. `file_size` in the response is the stored
    object's real size, whatever the request said. `capture_short_id` optionally ties the photo to one
    of the
    session's captures (`404` when it names no such capture). A session that is no
    longer `ACTIVE`, or an object already registered as a photo, answers `409`.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (PhotoCreateRequest): A photo uploaded with a presigned URL, to register with the
            session.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PhotoResponse | Problem
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[PhotoResponse | Problem]:
    """Register an uploaded photo

     Records a photo already uploaded through `getPresignedUploadUrl` as a product photo
    of an `ACTIVE` session, appended at the end of the gallery. `s3_key` must be a photo
    key issued for this session (another session's or organisation's key, or one the
    server never issued, answers `422`), and the object must have been uploaded and be a
    whole JPEG, PNG or WebP image of the type its key's extension names, within the
    server's `max_upload_bytes` and `image_max_pixels`: the server reads it and decodes
    it, so a file whose first bytes look like an image but whose rest is not one (HTML
    behind a JPEG signature), or a truncated one, answers `422`, and the object is
    deleted. An upload never registered and deleted after it expired answers `422`.
    When the server's image decoders stay busy for longer than the request may wait the
    answer is `503` with `Retry-After`. `file_size` in the response is the stored
    object's real size, whatever the request said. `capture_short_id` optionally ties the photo to one
    of the
    session's captures (`404` when it names no such capture). A session that is no
    longer `ACTIVE`, or an object already registered as a photo, answers `409`.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (PhotoCreateRequest): A photo uploaded with a presigned URL, to register with the
            session.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PhotoResponse | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient | Client,
    body: PhotoCreateRequest,
    idempotency_key: str | Unset = UNSET,
) -> PhotoResponse | Problem | None:
    """Register an uploaded photo

     Records a photo already uploaded through `getPresignedUploadUrl` as a product photo
    of an `ACTIVE` session, appended at the end of the gallery. `s3_key` must be a photo
    key issued for this session (another session's or organisation's key, or one the
    server never issued, answers `422`), and the object must have been uploaded and be a
    whole JPEG, PNG or WebP image of the type its key's extension names, within the
    server's `max_upload_bytes` and `image_max_pixels`: the server reads it and decodes
    it, so a file whose first bytes look like an image but whose rest is not one (HTML
    behind a JPEG signature), or a truncated one, answers `422`, and the object is
    deleted. An upload never registered and deleted after it expired answers `422`.
    When the server's image decoders stay busy for longer than the request may wait the
    answer is `503` with `Retry-After`. `file_size` in the response is the stored
    object's real size, whatever the request said. `capture_short_id` optionally ties the photo to one
    of the
    session's captures (`404` when it names no such capture). A session that is no
    longer `ACTIVE`, or an object already registered as a photo, answers `409`.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        idempotency_key (str | Unset):
        body (PhotoCreateRequest): A photo uploaded with a presigned URL, to register with the
            session.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PhotoResponse | Problem
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
