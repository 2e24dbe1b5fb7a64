from enum import StrEnum


class SessionStatusEnum(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"

    def __str__(self) -> str:
        return str(self.value)
