from enum import StrEnum


class CaptureImageUploadCaptureType(StrEnum):
    BARCODE = "BARCODE"
    IMAGE = "IMAGE"

    def __str__(self) -> str:
        return str(self.value)
