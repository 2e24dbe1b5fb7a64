"""Contains all the data models used in inputs/outputs"""

from .apply_proposals_response import ApplyProposalsResponse
from .capture_create_request import CaptureCreateRequest
from .capture_create_request_gs_1_dl_data_type_0 import (
    CaptureCreateRequestGs1DlDataType0,
)
from .capture_image_upload import CaptureImageUpload
from .capture_image_upload_capture_type import CaptureImageUploadCaptureType
from .capture_mode_enum import CaptureModeEnum
from .capture_response import CaptureResponse
from .capture_status_enum import CaptureStatusEnum
from .capture_status_summary import CaptureStatusSummary
from .capture_type_enum import CaptureTypeEnum
from .extraction_failure import ExtractionFailure
from .extraction_failure_reason import ExtractionFailureReason
from .extraction_status_enum import ExtractionStatusEnum
from .freshness_source_enum import FreshnessSourceEnum
from .freshness_thresholds import FreshnessThresholds
from .gs_1_element_data import Gs1ElementData
from .health_status import HealthStatus
from .health_status_checks import HealthStatusChecks
from .health_status_status import HealthStatusStatus
from .metadata import Metadata
from .metadata_update_type_0 import MetadataUpdateType0
from .pagination import Pagination
from .photo_create_request import PhotoCreateRequest
from .photo_reorder_request import PhotoReorderRequest
from .photo_response import PhotoResponse
from .photo_type_enum import PhotoTypeEnum
from .photo_update_request import PhotoUpdateRequest
from .plugin_info import PluginInfo
from .plugin_list import PluginList
from .presigned_upload import PresignedUpload
from .presigned_upload_response import PresignedUploadResponse
from .presigned_upload_response_upload_fields import PresignedUploadResponseUploadFields
from .presigned_upload_x_scanserve_algorithm import PresignedUploadXScanserveAlgorithm
from .problem import Problem
from .problem_checks import ProblemChecks
from .problem_error_code import ProblemErrorCode
from .problem_field_error import ProblemFieldError
from .problem_key_scope import ProblemKeyScope
from .proposal import Proposal
from .proposal_field_name import ProposalFieldName
from .proposal_review_request import ProposalReviewRequest
from .proposal_review_request_status import ProposalReviewRequestStatus
from .proposal_status_enum import ProposalStatusEnum
from .provider_info import ProviderInfo
from .provider_info_kind import ProviderInfoKind
from .qr_analysis import QrAnalysis
from .qr_hop import QrHop
from .qr_hop_headers import QrHopHeaders
from .redirect_rule import RedirectRule
from .resolve_url_request import ResolveUrlRequest
from .resolve_url_response import ResolveUrlResponse
from .resolver_type_enum import ResolverTypeEnum
from .save_redirect_request import SaveRedirectRequest
from .session_create_request import SessionCreateRequest
from .session_create_request_device_context import SessionCreateRequestDeviceContext
from .session_detail import SessionDetail
from .session_page import SessionPage
from .session_response import SessionResponse
from .session_status_enum import SessionStatusEnum
from .session_status_response import SessionStatusResponse
from .web_session import WebSession

__all__ = (
    "ApplyProposalsResponse",
    "CaptureCreateRequest",
    "CaptureCreateRequestGs1DlDataType0",
    "CaptureImageUpload",
    "CaptureImageUploadCaptureType",
    "CaptureModeEnum",
    "CaptureResponse",
    "CaptureStatusEnum",
    "CaptureStatusSummary",
    "CaptureTypeEnum",
    "ExtractionFailure",
    "ExtractionFailureReason",
    "ExtractionStatusEnum",
    "FreshnessSourceEnum",
    "FreshnessThresholds",
    "Gs1ElementData",
    "HealthStatus",
    "HealthStatusChecks",
    "HealthStatusStatus",
    "Metadata",
    "MetadataUpdateType0",
    "Pagination",
    "PhotoCreateRequest",
    "PhotoReorderRequest",
    "PhotoResponse",
    "PhotoTypeEnum",
    "PhotoUpdateRequest",
    "PluginInfo",
    "PluginList",
    "PresignedUpload",
    "PresignedUploadResponse",
    "PresignedUploadResponseUploadFields",
    "PresignedUploadXScanserveAlgorithm",
    "Problem",
    "ProblemChecks",
    "ProblemErrorCode",
    "ProblemFieldError",
    "ProblemKeyScope",
    "Proposal",
    "ProposalFieldName",
    "ProposalReviewRequest",
    "ProposalReviewRequestStatus",
    "ProposalStatusEnum",
    "ProviderInfo",
    "ProviderInfoKind",
    "QrAnalysis",
    "QrHop",
    "QrHopHeaders",
    "RedirectRule",
    "ResolveUrlRequest",
    "ResolveUrlResponse",
    "ResolverTypeEnum",
    "SaveRedirectRequest",
    "SessionCreateRequest",
    "SessionCreateRequestDeviceContext",
    "SessionDetail",
    "SessionPage",
    "SessionResponse",
    "SessionStatusEnum",
    "SessionStatusResponse",
    "WebSession",
)
