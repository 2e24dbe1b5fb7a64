from enum import StrEnum


class FreshnessSourceEnum(StrEnum):
    BUILT_IN = "built-in"
    GLOBAL_DEFAULT = "global-default"
    GLOBAL_FALLBACK = "global-fallback"
    ORG_FALLBACK = "org-fallback"
    ORG_OVERRIDE = "org-override"
    PLUGIN = "plugin"

    def __str__(self) -> str:
        return str(self.value)
