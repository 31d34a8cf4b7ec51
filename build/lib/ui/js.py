"""Our components' JavaScript: each is one ES module, made of library files (their `export`s
dropped) followed by the component's own file."""

from __future__ import annotations

import re
from pathlib import Path

UI = Path(__file__).parent


def es_module(main: Path, *libraries: Path) -> str:
    parts = [re.sub(r"^export (function|const) ", r"\1 ", library.read_text(), flags=re.M) for library in libraries]
    return "\n".join([*parts, main.read_text()])
