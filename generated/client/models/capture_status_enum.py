from enum import StrEnum


class CaptureStatusEnum(StrEnum):
    COMPLETED = "COMPLETED"
    ENRICHING = "ENRICHING"
    FAILED = "FAILED"
    LOOKING_UP = "LOOKING_UP"
    NOT_FOUND = "NOT_FOUND"
    PENDING = "PENDING"
    RESOLVING = "RESOLVING"

    def __str__(self) -> str:
        return str(self.value)
