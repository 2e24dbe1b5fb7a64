from enum import StrEnum


class ProblemKeyScope(StrEnum):
    PUBLISHABLE = "publishable"

    def __str__(self) -> str:
        return str(self.value)
