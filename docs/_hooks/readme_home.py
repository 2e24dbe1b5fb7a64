"""MkDocs hook: the site's home page is the repository's README.md.

The README links the docs as ``docs/<page>.md`` (right on GitHub and in the checkout); on the
site the same pages sit at the root, so those links are re-rooted. Links to other files of
the repository (``spec/openapi.yaml``) have no page on the site and become their text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

README = Path(__file__).resolve().parents[2] / "README.md"
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def home_page(readme: str) -> str:
    def relink(match: re.Match[str]) -> str:
        text, target = match.groups()
        if target.startswith(("http://", "https://", "mailto:", "#")):
            return match.group(0)
        if target.startswith("docs/"):
            return f"[{text}]({target.removeprefix('docs/')})"
        return text

    return LINK.sub(relink, readme)


def on_files(files: Files, config: Any) -> Files:
    files.append(
        File.generated(config, "index.md", content=home_page(README.read_text(encoding="utf-8")))
    )
    return files
