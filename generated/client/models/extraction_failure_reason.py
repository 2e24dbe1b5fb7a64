from enum import StrEnum


class ExtractionFailureReason(StrEnum):
    ERROR = "error"
    TIMEOUT = "timeout"
    UNREADABLE = "unreadable"

    def __str__(self) -> str:
        return str(self.value)
