from enum import StrEnum


class CaptureModeEnum(StrEnum):
    BARCODE_SCAN = "barcode_scan"
    BOTH = "both"
    PRODUCT_PHOTOGRAPHY = "product_photography"

    def __str__(self) -> str:
        return str(self.value)
