from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.proposal import Proposal
from ...models.proposal_review_request import ProposalReviewRequest
from ...types import Response


def _get_kwargs(
    proposal_id: UUID,
    *,
    body: ProposalReviewRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/proposals/{proposal_id}".format(
            proposal_id=quote(str(proposal_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | Proposal | None:
    if response.status_code == 200:
        response_200 = Proposal.from_dict(response.json())

        return response_200

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
) -> Response[Problem | Proposal]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    proposal_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: ProposalReviewRequest,
) -> Response[Problem | Proposal]:
    """Accept or reject a proposal

     Records a reviewer's decision and stamps `reviewed_at`. A decision is final: a
    proposal that is no longer `PENDING` answers `409`. Nothing is written to the
    product until `applyCaptureProposals`. When the last `PENDING` proposal of a session
    is reviewed, the session's `extraction_status` becomes `accepted` if any of its
    proposals was accepted, else `rejected`.

    Args:
        proposal_id (UUID):
        body (ProposalReviewRequest): A reviewer's decision on a proposal.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Proposal]
    """

    kwargs = _get_kwargs(
        proposal_id=proposal_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    proposal_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: ProposalReviewRequest,
) -> Problem | Proposal | None:
    """Accept or reject a proposal

     Records a reviewer's decision and stamps `reviewed_at`. A decision is final: a
    proposal that is no longer `PENDING` answers `409`. Nothing is written to the
    product until `applyCaptureProposals`. When the last `PENDING` proposal of a session
    is reviewed, the session's `extraction_status` becomes `accepted` if any of its
    proposals was accepted, else `rejected`.

    Args:
        proposal_id (UUID):
        body (ProposalReviewRequest): A reviewer's decision on a proposal.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Proposal
    """

    return sync_detailed(
        proposal_id=proposal_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    proposal_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: ProposalReviewRequest,
) -> Response[Problem | Proposal]:
    """Accept or reject a proposal

     Records a reviewer's decision and stamps `reviewed_at`. A decision is final: a
    proposal that is no longer `PENDING` answers `409`. Nothing is written to the
    product until `applyCaptureProposals`. When the last `PENDING` proposal of a session
    is reviewed, the session's `extraction_status` becomes `accepted` if any of its
    proposals was accepted, else `rejected`.

    Args:
        proposal_id (UUID):
        body (ProposalReviewRequest): A reviewer's decision on a proposal.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Proposal]
    """

    kwargs = _get_kwargs(
        proposal_id=proposal_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    proposal_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: ProposalReviewRequest,
) -> Problem | Proposal | None:
    """Accept or reject a proposal

     Records a reviewer's decision and stamps `reviewed_at`. A decision is final: a
    proposal that is no longer `PENDING` answers `409`. Nothing is written to the
    product until `applyCaptureProposals`. When the last `PENDING` proposal of a session
    is reviewed, the session's `extraction_status` becomes `accepted` if any of its
    proposals was accepted, else `rejected`.

    Args:
        proposal_id (UUID):
        body (ProposalReviewRequest): A reviewer's decision on a proposal.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Proposal
    """

    return (
        await asyncio_detailed(
            proposal_id=proposal_id,
            client=client,
            body=body,
        )
    ).parsed
