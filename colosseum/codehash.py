"""The code identity of a plugin: every project source file it imports, found from its import statements.

A cell's id hashes the code of its dataset and its method, so that editing that code recomputes the cell
and nothing else. The code of a plugin file is its *import closure*: the file itself, the modules of the
`colosseum` package it imports (`import colosseum.x`, `from colosseum.x import y`, `from colosseum.x
import submodule`, relative imports inside the package), the modules those import, and so on. The
imports are read from the source (`ast`), inside functions too, so there is no dependency list to keep
by hand: editing `colosseum/estimators/dc2.py` changes the hash of every plugin that reaches it and of no
other.

A package's `__init__.py` runs whenever a module below it is imported, so it is part of the closure of
every module below it (and, through its own imports, what it imports). Third-party packages are not
hashed (their versions are recorded as provenance columns).

This is the *static* part of a cell's identity, known before anything runs. What a plugin reaches
without an import statement naming it (a module by attribute or by `importlib`, a data file beside it)
is found by running it (`colosseum.trace`) and joins the cell's identity as its `reads`.

`code_hash(source, view)` hashes the bytes `view(path)` gives where it gives any (a worker passes the bytes
it really executed, `colosseum.sources`), and the files on disk elsewhere.
"""
from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

#: The project's own package: imports of it are followed, all others are not.
PACKAGE = "colosseum"
PACKAGE_DIR = Path(__file__).resolve().parent
#: Hashes and import lists per file, keyed by (mtime_ns, size): a sweep stats files, it does not reread them.
_CACHE: dict[Path, tuple[tuple[int, int], str, frozenset[Path]]] = {}
#: Import lists of given bytes, keyed by (path, digest).
_PARSED: dict[tuple[Path, str], frozenset[Path]] = {}
#: A view of sources: the bytes to hash for a path (None: read the file on disk).
View = Callable[[Path], "bytes | None"]


def read_source(path: Path) -> bytes:
    """The bytes a file's hash is computed from (one place, so tests can substitute an edited file)."""
    return path.read_bytes()


def clear_cache() -> None:
    _CACHE.clear()
    _PARSED.clear()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes as `code_hash` reads them; "absent" for a file that is not there."""
    try:
        return _file_info(Path(path).resolve())[0] if str(path).endswith(".py") else _bytes_digest(Path(path))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return "absent"


def _bytes_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    for target in list(found):  # a package's __init__ runs before any module below it
        folder = target.parent
        while folder != PACKAGE_DIR.parent and PACKAGE_DIR in (folder, *folder.parents):
            if (folder / "__init__.py").is_file():
                found.add(folder / "__init__.py")
            folder = folder.parent
    found.discard(path)
    return frozenset(found)


def _file_info(path: Path, view: View | None = None) -> tuple[str, frozenset[Path]]:
    data = view(path) if view is not None else None
    if data is not None:
        digest = hashlib.sha256(data).hexdigest()
        if (path, digest) not in _PARSED:
            _PARSED[(path, digest)] = _parse_imports(path, data)
        return digest, _PARSED[(path, digest)]
    st = os.stat(path)
    key = (st.st_mtime_ns, st.st_size)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    source = read_source(path)
    digest = hashlib.sha256(source).hexdigest()
    imports = _parse_imports(path, source)
    _CACHE[path] = (key, digest, imports)
    return digest, imports


def _parse_imports(path: Path, source: bytes) -> frozenset[Path]:
    try:
        return _imported_files(path, ast.parse(source, filename=str(path)))
    except SyntaxError:
        return frozenset()


def closure(source: str | os.PathLike[str], view: View | None = None) -> list[Path]:
    """Every project file the plugin file `source` imports, directly or transitively, itself first."""
    start = Path(source).resolve()
    seen = [start]
    todo = [start]
    while todo:
        for dep in sorted(_file_info(todo.pop(), view)[1]):
            if dep not in seen:
                seen.append(dep)
                todo.append(dep)
    return [seen[0], *sorted(seen[1:])]


def label(path: Path, plugin_dirs: Sequence[str | os.PathLike[str]] = ()) -> str:
    """A file's name in hashes and tables: relative to the project folder; a file of a plugin folder
    relative to that folder's parent (`plugins/scale.txt`); else the file name."""
    path = Path(path)
    for base in (PACKAGE_DIR.parent, *(Path(d).resolve().parent for d in plugin_dirs)):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.name


def resolve(name: str, plugin_dirs: Sequence[str | os.PathLike[str]] = ()) -> Path | None:
    """The file a label names: in the project, else in (or beside) one of the plugin folders; None if none."""
    here = PACKAGE_DIR.parent / name
    if here.is_file():
        return here
    for d in map(Path, plugin_dirs):
        for p in (d.parent / name, d / name, d / Path(name).name, d / "methods" / Path(name).name,
                  d / "datasets" / Path(name).name, d / "denoisers" / Path(name).name):
            if p.is_file():
                return p
    return None


def code_hash(source: str | os.PathLike[str], view: View | None = None) -> str:
    """Hash of the import closure of `source` (file names and contents; 16 hex digits)."""
    h = hashlib.sha256()
    for i, path in enumerate(closure(source, view)):
        # the plugin file itself is named by its content only: a moved plugin folder keeps its cells
        h.update(f"{'<plugin>' if i == 0 else label(path)}\0{_file_info(path, view)[0]}\n".encode())
    return h.hexdigest()[:16]
