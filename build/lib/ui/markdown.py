"""Text a person typed (a run's or a student's name), made safe to show in markdown."""

from __future__ import annotations

import html


def escape(text: str) -> str:
    """For names shown in markdown: a name can never inject HTML or markdown."""
    return html.escape(text).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")
