from enum import StrEnum


class CaptureTypeEnum(StrEnum):
    BARCODE = "BARCODE"
    IMAGE = "IMAGE"
    MANUAL = "MANUAL"

    def __str__(self) -> str:
        return str(self.value)
