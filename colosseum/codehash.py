"""The code identity of a plugin: every project source file it imports, found from its import statements.

A cell's id hashes the code of its dataset and its method, so that editing that code recomputes the cell
and nothing else. The code of a plugin file is its *import closure*: the file itself, the modules of the
`colosseum` package it imports (`import colosseum.x`, `from colosseum.x import y`, `from colosseum.x
import submodule`, relative imports inside the package), the modules those import, and so on. The
imports are read from the source (`ast`), inside functions too, so there is no dependency list to keep
by hand: editing `colosseum/estimators/dc2.py` changes the hash of every plugin that reaches it and of no
other.

Package `__init__` files are re-export facades: importing `colosseum.registry` does not make
`colosseum/__init__.py` (and everything it re-exports) part of the closure. A plugin that imports a
name from a facade itself (`from colosseum import Estimate`) depends on that facade and what it imports.
Third-party packages are not hashed (their versions are recorded as provenance columns).
"""
from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

#: The project's own package: imports of it are followed, all others are not.
PACKAGE = "colosseum"
PACKAGE_DIR = Path(__file__).resolve().parent
#: Hashes and import lists per file, keyed by (mtime_ns, size): a sweep stats files, it does not reread them.
_CACHE: dict[Path, tuple[tuple[int, int], str, frozenset[Path]]] = {}


def read_source(path: Path) -> bytes:
    """The bytes a file's hash is computed from (one place, so tests can substitute an edited file)."""
    return path.read_bytes()


def clear_cache() -> None:
    _CACHE.clear()


def _module_path(name: str) -> Path | None:
    """The file of module `name` inside the package (a module file or a package's __init__), or None."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _package_of(path: Path) -> str | None:
    """The dotted package a package file belongs to (for relative imports), None for plugin files."""
    try:
        rel = path.resolve().relative_to(PACKAGE_DIR.parent)
    except ValueError:
        return None
    return ".".join(rel.parent.parts)


def _imported_files(path: Path, tree: ast.AST) -> frozenset[Path]:
    package = _package_of(path)
    found: set[Path] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _module_path(alias.name)
                if target is not None:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(up + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = _module_path(f"{module}.{alias.name}")
                target = sub if sub is not None else _module_path(module)
                if target is not None:
                    found.add(target)
    found.discard(path)
    return frozenset(found)


def _file_info(path: Path) -> tuple[str, frozenset[Path]]:
    st = os.stat(path)
    key = (st.st_mtime_ns, st.st_size)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    source = read_source(path)
    digest = hashlib.sha256(source).hexdigest()
    try:
        imports = _imported_files(path, ast.parse(source, filename=str(path)))
    except SyntaxError:
        imports = frozenset()
    _CACHE[path] = (key, digest, imports)
    return digest, imports


def closure(source: str | os.PathLike[str]) -> list[Path]:
    """Every project file the plugin file `source` imports, directly or transitively, itself first."""
    start = Path(source).resolve()
    seen = [start]
    todo = [start]
    while todo:
        for dep in sorted(_file_info(todo.pop())[1]):
            if dep not in seen:
                seen.append(dep)
                todo.append(dep)
    return [seen[0], *sorted(seen[1:])]


def label(path: Path) -> str:
    """A file's name in hashes and tables: relative to the package's parent, else the file name."""
    try:
        return path.relative_to(PACKAGE_DIR.parent).as_posix()
    except ValueError:
        return path.name


def code_hash(source: str | os.PathLike[str]) -> str:
    """Hash of the import closure of `source` (file names and contents; 16 hex digits)."""
    h = hashlib.sha256()
    for i, path in enumerate(closure(source)):
        # the plugin file itself is named by its content only: a moved plugin folder keeps its cells
        h.update(f"{'<plugin>' if i == 0 else label(path)}\0{_file_info(path)[0]}\n".encode())
    return h.hexdigest()[:16]
