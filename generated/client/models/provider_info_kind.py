from enum import StrEnum


class ProviderInfoKind(StrEnum):
    ENRICHMENT = "enrichment"
    EXTRACTOR = "extractor"
    FRESHNESS = "freshness"
    LOOKUP = "lookup"
    QR_RESOLVER = "qr-resolver"

    def __str__(self) -> str:
        return str(self.value)
