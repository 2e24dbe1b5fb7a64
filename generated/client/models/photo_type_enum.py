from enum import StrEnum


class PhotoTypeEnum(StrEnum):
    BACK = "back"
    BARCODE = "barcode"
    BOTTOM = "bottom"
    CERTIFICATION = "certification"
    FRONT = "front"
    INGREDIENTS = "ingredients"
    LEFT = "left"
    NUTRITION = "nutrition"
    OTHER = "other"
    RECYCLING = "recycling"
    RIGHT = "right"
    TOP = "top"

    def __str__(self) -> str:
        return str(self.value)
