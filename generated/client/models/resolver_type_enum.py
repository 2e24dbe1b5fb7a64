from enum import StrEnum


class ResolverTypeEnum(StrEnum):
    CLOSIENT = "CLOSIENT"
    DIRECT = "DIRECT"
    GS1_DL = "GS1_DL"
    UNKNOWN = "UNKNOWN"
    URL_SHORTENER = "URL_SHORTENER"

    def __str__(self) -> str:
        return str(self.value)
