from enum import StrEnum


class ExtractionStatusEnum(StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"

    def __str__(self) -> str:
        return str(self.value)
