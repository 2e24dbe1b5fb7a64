from enum import StrEnum


class ProposalFieldName(StrEnum):
    AI_SUMMARY = "ai_summary"
    BRAND_NAME = "brand_name"
    CATEGORY = "category"
    DESCRIPTION = "description"
    IMAGES = "images"
    INGREDIENTS = "ingredients"
    NAME = "name"

    def __str__(self) -> str:
        return str(self.value)
