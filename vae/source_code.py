"""The exact source text of a function, class, method or module-level constant of this package,
found by reading the file with `ast`: a page can show the code that does something without
importing it (vae/model.py imports TensorFlow, which the web server must never do)."""

from __future__ import annotations

import ast
import functools
import textwrap
from pathlib import Path

from vae.errors import LabError
from vae.settings import ROOT

REPO_ROOT = ROOT
PACKAGE_DIR = REPO_ROOT / "vae"
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class SourceNotFound(LabError, LookupError):
    """The file is not a Python file of vae/, or has no definition of that name."""


def source_of(path: str, qualified_name: str) -> str:
    """The dedented source, decorators included, of `qualified_name` ("build_encoder",
    "Sampling.call", "PRESETS") in `path` (relative to the repository root, inside vae/):
    for a function or class the same text as `textwrap.dedent(inspect.getsource(obj))`.
    SourceNotFound if there is no such file or name."""
    file = (REPO_ROOT / path).resolve()
    if file.suffix != ".py" or not file.is_relative_to(PACKAGE_DIR) or not file.is_file():
        raise SourceNotFound(f"{path} is not a Python file of vae/")
    return _source(str(file), file.stat().st_mtime_ns, qualified_name)


@functools.lru_cache(maxsize=128)
def _source(file: str, stamp: int, qualified_name: str) -> str:
    """Cached by the file's modification time: an edited file is read again."""
    text = Path(file).read_text(encoding="utf-8")
    node = _find(ast.parse(text).body, qualified_name.split("."), qualified_name, file)
    first = node.decorator_list[0].lineno if isinstance(node, DEFINITIONS) and node.decorator_list else node.lineno
    lines = text.splitlines(keepends=True)[first - 1 : node.end_lineno]
    return textwrap.dedent("".join(lines))


def _find(body: list[ast.stmt], parts: list[str], qualified_name: str, file: str) -> ast.stmt:
    name, rest = parts[0], parts[1:]
    for node in body:
        if isinstance(node, DEFINITIONS) and node.name == name:
            return _find(node.body, rest, qualified_name, file) if rest else node
        if not rest and name in _assigned_names(node):
            return node
    raise SourceNotFound(f"{qualified_name} is not defined in {Path(file).relative_to(REPO_ROOT)}")


def _assigned_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []
