from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.photo_type_enum import PhotoTypeEnum
from ...models.presigned_upload_response import PresignedUploadResponse
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str | UUID,
    *,
    photo_type: PhotoTypeEnum | Unset = UNSET,
    original_filename: str | Unset = "photo.jpg",
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_photo_type: str | Unset = UNSET
    if not isinstance(photo_type, Unset):
        json_photo_type = photo_type.value

    params["photo_type"] = json_photo_type

    params["original_filename"] = original_filename

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/sessions/{session_id}/presigned-upload-url".format(
            session_id=quote(str(session_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PresignedUploadResponse | Problem | None:
    if response.status_code == 200:
        response_200 = PresignedUploadResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PresignedUploadResponse | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient,
    photo_type: PhotoTypeEnum | Unset = UNSET,
    original_filename: str | Unset = "photo.jpg",
) -> Response[PresignedUploadResponse | Problem]:
    """Get a presigned photo upload

     Issues a short-lived presigned POST for uploading one product photo straight to
    object storage. `photo_type` namespaces the storage key and `original_filename`
    picks its extension. Upload with a `multipart/form-data` POST to `upload_url`
    carrying every `upload_fields` entry followed by the `file` part, before
    `expires_in` seconds have passed; then register the photo with `registerPhoto`
    passing `s3_key`.

    The key is `org/<organisation>/sessions/<session>/<photo_type>/<new id><ext>`, made
    by the server: the extension is `.jpg`, `.jpeg`, `.png` or `.webp` from
    `original_filename` (any other name gets `.jpg`), and `upload_fields` fixes the
    matching `Content-Type`. The file may hold 1 byte up to the server's
    `max_upload_bytes` (10 MiB by default). With S3 storage `upload_url` is the bucket
    and the fields are an AWS presigned POST to the inbox key `incoming/<s3_key>`:
    `registerPhoto` moves the file to `s3_key`, where no presigned POST can write, so
    posting the fields again, before they expire, never changes a registered photo. With
    local storage `upload_url` is this API's `receiveUpload` and the fields carry a
    policy signed by the server; a key is written once. Either way an upload is judged
    once, when it is registered: after a `422`, ask for a new URL. A session that is no
    longer `ACTIVE` answers `409`.

    From the moment it is issued until the photo is registered, the upload counts
    against the organisation's storage quota at `max_upload_bytes`, the most it may
    hold; when the quota (bytes or objects) is spent the answer is `507`. An upload
    never registered is deleted some time (the server's `upload_cleanup_grace_seconds`,
    an hour by default) after `expires_in` has passed.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        photo_type (PhotoTypeEnum | Unset): Which side or panel of the product a photo shows. It
            namespaces the photo's storage
            key and routes it to the matching vision extractor (e.g. `nutrition` to the
            nutrition-facts extractor, `ingredients` to the ingredients extractor).
        original_filename (str | Unset):  Default: 'photo.jpg'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PresignedUploadResponse | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        photo_type=photo_type,
        original_filename=original_filename,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient,
    photo_type: PhotoTypeEnum | Unset = UNSET,
    original_filename: str | Unset = "photo.jpg",
) -> PresignedUploadResponse | Problem | None:
    """Get a presigned photo upload

     Issues a short-lived presigned POST for uploading one product photo straight to
    object storage. `photo_type` namespaces the storage key and `original_filename`
    picks its extension. Upload with a `multipart/form-data` POST to `upload_url`
    carrying every `upload_fields` entry followed by the `file` part, before
    `expires_in` seconds have passed; then register the photo with `registerPhoto`
    passing `s3_key`.

    The key is `org/<organisation>/sessions/<session>/<photo_type>/<new id><ext>`, made
    by the server: the extension is `.jpg`, `.jpeg`, `.png` or `.webp` from
    `original_filename` (any other name gets `.jpg`), and `upload_fields` fixes the
    matching `Content-Type`. The file may hold 1 byte up to the server's
    `max_upload_bytes` (10 MiB by default). With S3 storage `upload_url` is the bucket
    and the fields are an AWS presigned POST to the inbox key `incoming/<s3_key>`:
    `registerPhoto` moves the file to `s3_key`, where no presigned POST can write, so
    posting the fields again, before they expire, never changes a registered photo. With
    local storage `upload_url` is this API's `receiveUpload` and the fields carry a
    policy signed by the server; a key is written once. Either way an upload is judged
    once, when it is registered: after a `422`, ask for a new URL. A session that is no
    longer `ACTIVE` answers `409`.

    From the moment it is issued until the photo is registered, the upload counts
    against the organisation's storage quota at `max_upload_bytes`, the most it may
    hold; when the quota (bytes or objects) is spent the answer is `507`. An upload
    never registered is deleted some time (the server's `upload_cleanup_grace_seconds`,
    an hour by default) after `expires_in` has passed.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        photo_type (PhotoTypeEnum | Unset): Which side or panel of the product a photo shows. It
            namespaces the photo's storage
            key and routes it to the matching vision extractor (e.g. `nutrition` to the
            nutrition-facts extractor, `ingredients` to the ingredients extractor).
        original_filename (str | Unset):  Default: 'photo.jpg'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PresignedUploadResponse | Problem
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        photo_type=photo_type,
        original_filename=original_filename,
    ).parsed


async def asyncio_detailed(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient,
    photo_type: PhotoTypeEnum | Unset = UNSET,
    original_filename: str | Unset = "photo.jpg",
) -> Response[PresignedUploadResponse | Problem]:
    """Get a presigned photo upload

     Issues a short-lived presigned POST for uploading one product photo straight to
    object storage. `photo_type` namespaces the storage key and `original_filename`
    picks its extension. Upload with a `multipart/form-data` POST to `upload_url`
    carrying every `upload_fields` entry followed by the `file` part, before
    `expires_in` seconds have passed; then register the photo with `registerPhoto`
    passing `s3_key`.

    The key is `org/<organisation>/sessions/<session>/<photo_type>/<new id><ext>`, made
    by the server: the extension is `.jpg`, `.jpeg`, `.png` or `.webp` from
    `original_filename` (any other name gets `.jpg`), and `upload_fields` fixes the
    matching `Content-Type`. The file may hold 1 byte up to the server's
    `max_upload_bytes` (10 MiB by default). With S3 storage `upload_url` is the bucket
    and the fields are an AWS presigned POST to the inbox key `incoming/<s3_key>`:
    `registerPhoto` moves the file to `s3_key`, where no presigned POST can write, so
    posting the fields again, before they expire, never changes a registered photo. With
    local storage `upload_url` is this API's `receiveUpload` and the fields carry a
    policy signed by the server; a key is written once. Either way an upload is judged
    once, when it is registered: after a `422`, ask for a new URL. A session that is no
    longer `ACTIVE` answers `409`.

    From the moment it is issued until the photo is registered, the upload counts
    against the organisation's storage quota at `max_upload_bytes`, the most it may
    hold; when the quota (bytes or objects) is spent the answer is `507`. An upload
    never registered is deleted some time (the server's `upload_cleanup_grace_seconds`,
    an hour by default) after `expires_in` has passed.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        photo_type (PhotoTypeEnum | Unset): Which side or panel of the product a photo shows. It
            namespaces the photo's storage
            key and routes it to the matching vision extractor (e.g. `nutrition` to the
            nutrition-facts extractor, `ingredients` to the ingredients extractor).
        original_filename (str | Unset):  Default: 'photo.jpg'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PresignedUploadResponse | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        photo_type=photo_type,
        original_filename=original_filename,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str | UUID,
    *,
    client: AuthenticatedClient,
    photo_type: PhotoTypeEnum | Unset = UNSET,
    original_filename: str | Unset = "photo.jpg",
) -> PresignedUploadResponse | Problem | None:
    """Get a presigned photo upload

     Issues a short-lived presigned POST for uploading one product photo straight to
    object storage. `photo_type` namespaces the storage key and `original_filename`
    picks its extension. Upload with a `multipart/form-data` POST to `upload_url`
    carrying every `upload_fields` entry followed by the `file` part, before
    `expires_in` seconds have passed; then register the photo with `registerPhoto`
    passing `s3_key`.

    The key is `org/<organisation>/sessions/<session>/<photo_type>/<new id><ext>`, made
    by the server: the extension is `.jpg`, `.jpeg`, `.png` or `.webp` from
    `original_filename` (any other name gets `.jpg`), and `upload_fields` fixes the
    matching `Content-Type`. The file may hold 1 byte up to the server's
    `max_upload_bytes` (10 MiB by default). With S3 storage `upload_url` is the bucket
    and the fields are an AWS presigned POST to the inbox key `incoming/<s3_key>`:
    `registerPhoto` moves the file to `s3_key`, where no presigned POST can write, so
    posting the fields again, before they expire, never changes a registered photo. With
    local storage `upload_url` is this API's `receiveUpload` and the fields carry a
    policy signed by the server; a key is written once. Either way an upload is judged
    once, when it is registered: after a `422`, ask for a new URL. A session that is no
    longer `ACTIVE` answers `409`.

    From the moment it is issued until the photo is registered, the upload counts
    against the organisation's storage quota at `max_upload_bytes`, the most it may
    hold; when the quota (bytes or objects) is spent the answer is `507`. An upload
    never registered is deleted some time (the server's `upload_cleanup_grace_seconds`,
    an hour by default) after `expires_in` has passed.

    Args:
        session_id (str | UUID): An object id as a request may give it: the 22-character
            shortuuid, or the canonical
            UUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).
        photo_type (PhotoTypeEnum | Unset): Which side or panel of the product a photo shows. It
            namespaces the photo's storage
            key and routes it to the matching vision extractor (e.g. `nutrition` to the
            nutrition-facts extractor, `ingredients` to the ingredients extractor).
        original_filename (str | Unset):  Default: 'photo.jpg'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PresignedUploadResponse | Problem
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            photo_type=photo_type,
            original_filename=original_filename,
        )
    ).parsed
