from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.capture_image_upload import CaptureImageUpload
from ...models.capture_response import CaptureResponse
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CaptureImageUpload,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/captures/upload-image",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

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
    body: CaptureImageUpload,
    idempotency_key: str | Unset = UNSET,
) -> Response[CaptureResponse | Problem]:
    """Upload an image as a capture

     Creates a capture from an uploaded JPEG, PNG or WebP image in an `ACTIVE` session.
    With `capture_type` `IMAGE` (the default) the server decodes and analyses the image
    itself; with `BARCODE` the client has already decoded it and sends the value in
    `raw_value`, the image being kept as evidence. The stored object's key is returned
    in `uploaded_image_key`. An unknown `session_id` answers `404`, a session that is no
    longer `ACTIVE` `409`, an image of another type `415`, an image over the size limit
    `413`.

    The image's type is judged from its bytes, never from its name or declared type: a
    file that is not a JPEG, PNG or WebP answers `415`; a JPEG, PNG or WebP that is
    truncated or corrupt answers `422`. The size limit is the server's
    `max_upload_bytes` (10 MiB by default); a larger body is refused without being read.
    An image of more than the server's `image_max_pixels` (40 million by default, read
    from its header) answers `422`. The image is decoded within a budget of memory the
    server shares among all the images it opens at once; when that stays spent for
    longer than the request may wait, the answer is `503` with `Retry-After`. An
    organisation whose storage quota (bytes or objects) is spent gets `507`.

    When `raw_value` is empty the server decodes the image on its task queue, never
    while the request waits: the capture is created `PENDING`, and the code zxing-cpp
    reads (EAN-8/13, UPC-A/E, GS1-128, GS1 DataMatrix, QR codes and GS1 Digital Links)
    becomes its `raw_value` (GS1 element strings keep their AIM symbology identifier,
    such as `]d2`, and their group separators), filling `gtin` and `gs1_dl_data` as in
    `createCapture`; the capture then goes through the same pipeline as a scanned one.
    With several codes in the image, the first in reading order (top to bottom, then
    left to right) that names a product (an EAN/UPC, or GS1 data with a GTIN) becomes
    the capture, or else the first code of any kind; `metadata` gets
    `decoded_symbology` (the chosen code's symbology) and `decoded_other_1`,
    `decoded_other_2`, ... (up to ten, each `<symbology>:<value>`) for the others. An
    image with no readable code ends `FAILED`, and its `error_message` says so.

    Args:
        idempotency_key (str | Unset):
        body (CaptureImageUpload): Multipart form of an image capture upload. The session is named
            by `session_id`, or
            by `session_short_id` / `session_public_id` (the published pages' names), exactly as
            in `CaptureCreateRequest`.

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
    body: CaptureImageUpload,
    idempotency_key: str | Unset = UNSET,
) -> CaptureResponse | Problem | None:
    """Upload an image as a capture

     Creates a capture from an uploaded JPEG, PNG or WebP image in an `ACTIVE` session.
    With `capture_type` `IMAGE` (the default) the server decodes and analyses the image
    itself; with `BARCODE` the client has already decoded it and sends the value in
    `raw_value`, the image being kept as evidence. The stored object's key is returned
    in `uploaded_image_key`. An unknown `session_id` answers `404`, a session that is no
    longer `ACTIVE` `409`, an image of another type `415`, an image over the size limit
    `413`.

    The image's type is judged from its bytes, never from its name or declared type: a
    file that is not a JPEG, PNG or WebP answers `415`; a JPEG, PNG or WebP that is
    truncated or corrupt answers `422`. The size limit is the server's
    `max_upload_bytes` (10 MiB by default); a larger body is refused without being read.
    An image of more than the server's `image_max_pixels` (40 million by default, read
    from its header) answers `422`. The image is decoded within a budget of memory the
    server shares among all the images it opens at once; when that stays spent for
    longer than the request may wait, the answer is `503` with `Retry-After`. An
    organisation whose storage quota (bytes or objects) is spent gets `507`.

    When `raw_value` is empty the server decodes the image on its task queue, never
    while the request waits: the capture is created `PENDING`, and the code zxing-cpp
    reads (EAN-8/13, UPC-A/E, GS1-128, GS1 DataMatrix, QR codes and GS1 Digital Links)
    becomes its `raw_value` (GS1 element strings keep their AIM symbology identifier,
    such as `]d2`, and their group separators), filling `gtin` and `gs1_dl_data` as in
    `createCapture`; the capture then goes through the same pipeline as a scanned one.
    With several codes in the image, the first in reading order (top to bottom, then
    left to right) that names a product (an EAN/UPC, or GS1 data with a GTIN) becomes
    the capture, or else the first code of any kind; `metadata` gets
    `decoded_symbology` (the chosen code's symbology) and `decoded_other_1`,
    `decoded_other_2`, ... (up to ten, each `<symbology>:<value>`) for the others. An
    image with no readable code ends `FAILED`, and its `error_message` says so.

    Args:
        idempotency_key (str | Unset):
        body (CaptureImageUpload): Multipart form of an image capture upload. The session is named
            by `session_id`, or
            by `session_short_id` / `session_public_id` (the published pages' names), exactly as
            in `CaptureCreateRequest`.

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
    body: CaptureImageUpload,
    idempotency_key: str | Unset = UNSET,
) -> Response[CaptureResponse | Problem]:
    """Upload an image as a capture

     Creates a capture from an uploaded JPEG, PNG or WebP image in an `ACTIVE` session.
    With `capture_type` `IMAGE` (the default) the server decodes and analyses the image
    itself; with `BARCODE` the client has already decoded it and sends the value in
    `raw_value`, the image being kept as evidence. The stored object's key is returned
    in `uploaded_image_key`. An unknown `session_id` answers `404`, a session that is no
    longer `ACTIVE` `409`, an image of another type `415`, an image over the size limit
    `413`.

    The image's type is judged from its bytes, never from its name or declared type: a
    file that is not a JPEG, PNG or WebP answers `415`; a JPEG, PNG or WebP that is
    truncated or corrupt answers `422`. The size limit is the server's
    `max_upload_bytes` (10 MiB by default); a larger body is refused without being read.
    An image of more than the server's `image_max_pixels` (40 million by default, read
    from its header) answers `422`. The image is decoded within a budget of memory the
    server shares among all the images it opens at once; when that stays spent for
    longer than the request may wait, the answer is `503` with `Retry-After`. An
    organisation whose storage quota (bytes or objects) is spent gets `507`.

    When `raw_value` is empty the server decodes the image on its task queue, never
    while the request waits: the capture is created `PENDING`, and the code zxing-cpp
    reads (EAN-8/13, UPC-A/E, GS1-128, GS1 DataMatrix, QR codes and GS1 Digital Links)
    becomes its `raw_value` (GS1 element strings keep their AIM symbology identifier,
    such as `]d2`, and their group separators), filling `gtin` and `gs1_dl_data` as in
    `createCapture`; the capture then goes through the same pipeline as a scanned one.
    With several codes in the image, the first in reading order (top to bottom, then
    left to right) that names a product (an EAN/UPC, or GS1 data with a GTIN) becomes
    the capture, or else the first code of any kind; `metadata` gets
    `decoded_symbology` (the chosen code's symbology) and `decoded_other_1`,
    `decoded_other_2`, ... (up to ten, each `<symbology>:<value>`) for the others. An
    image with no readable code ends `FAILED`, and its `error_message` says so.

    Args:
        idempotency_key (str | Unset):
        body (CaptureImageUpload): Multipart form of an image capture upload. The session is named
            by `session_id`, or
            by `session_short_id` / `session_public_id` (the published pages' names), exactly as
            in `CaptureCreateRequest`.

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
    body: CaptureImageUpload,
    idempotency_key: str | Unset = UNSET,
) -> CaptureResponse | Problem | None:
    """Upload an image as a capture

     Creates a capture from an uploaded JPEG, PNG or WebP image in an `ACTIVE` session.
    With `capture_type` `IMAGE` (the default) the server decodes and analyses the image
    itself; with `BARCODE` the client has already decoded it and sends the value in
    `raw_value`, the image being kept as evidence. The stored object's key is returned
    in `uploaded_image_key`. An unknown `session_id` answers `404`, a session that is no
    longer `ACTIVE` `409`, an image of another type `415`, an image over the size limit
    `413`.

    The image's type is judged from its bytes, never from its name or declared type: a
    file that is not a JPEG, PNG or WebP answers `415`; a JPEG, PNG or WebP that is
    truncated or corrupt answers `422`. The size limit is the server's
    `max_upload_bytes` (10 MiB by default); a larger body is refused without being read.
    An image of more than the server's `image_max_pixels` (40 million by default, read
    from its header) answers `422`. The image is decoded within a budget of memory the
    server shares among all the images it opens at once; when that stays spent for
    longer than the request may wait, the answer is `503` with `Retry-After`. An
    organisation whose storage quota (bytes or objects) is spent gets `507`.

    When `raw_value` is empty the server decodes the image on its task queue, never
    while the request waits: the capture is created `PENDING`, and the code zxing-cpp
    reads (EAN-8/13, UPC-A/E, GS1-128, GS1 DataMatrix, QR codes and GS1 Digital Links)
    becomes its `raw_value` (GS1 element strings keep their AIM symbology identifier,
    such as `]d2`, and their group separators), filling `gtin` and `gs1_dl_data` as in
    `createCapture`; the capture then goes through the same pipeline as a scanned one.
    With several codes in the image, the first in reading order (top to bottom, then
    left to right) that names a product (an EAN/UPC, or GS1 data with a GTIN) becomes
    the capture, or else the first code of any kind; `metadata` gets
    `decoded_symbology` (the chosen code's symbology) and `decoded_other_1`,
    `decoded_other_2`, ... (up to ten, each `<symbology>:<value>`) for the others. An
    image with no readable code ends `FAILED`, and its `error_message` says so.

    Args:
        idempotency_key (str | Unset):
        body (CaptureImageUpload): Multipart form of an image capture upload. The session is named
            by `session_id`, or
            by `session_short_id` / `session_public_id` (the published pages' names), exactly as
            in `CaptureCreateRequest`.

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
