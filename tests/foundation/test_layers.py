"""The package's layers (ARCHITECTURE.md): no module imports from a layer above its own.

Read from the source with ``ast`` (every import, also those inside functions), so an import
dodged into a function to hide a cycle counts like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "asyncssl"

# Bottom up. Parts on one level must not import each other either.
LAYERS: list[set[str]] = [
    {"_binding"},
    {"offload", "quic"},
    {"tls"},
    {"SSL", "__init__"},
    {"aio", "testing"},
    {"cli", "bench"},
    {"__main__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name / "__init__.py").is_file()


def _part(module: str) -> str:
    """The layer part of a dotted module name under asyncssl ('' is the package itself)."""
    return module.split(".")[0] if module else "__init__"


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module under asyncssl, imported names) for every import of the package."""
    relative = path.relative_to(PACKAGE).with_suffix("")
    package = list(relative.parts[:-1])  # the package a relative import starts from
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "asyncssl" or node.module.startswith("asyncssl.")):
                target = node.module[len("asyncssl."):] if node.module != "asyncssl" else ""
            else:
                continue
            names = [alias.name for alias in node.names]
            if target == "":  # "from .. import SSL, aio": a module each; other names come from __init__
                found += [(node.lineno, name if _is_module(name) else "", []) for name in names]
            else:
                found.append((node.lineno, target, names))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("asyncssl."):
                    found.append((node.lineno, alias.name[len("asyncssl."):], []))
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    parts = {_part(".".join(p.relative_to(PACKAGE).with_suffix("").parts)) for p in _modules()}
    assert parts <= set(RANK), f"modules outside every layer of ARCHITECTURE.md: {sorted(parts - set(RANK))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_back_up(path):
    own = _part(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    upward = []
    for line, target, _names in _imports(path):
        other = _part(target)
        if other == "_openssl" or other == own:
            continue
        if RANK[other] >= RANK[own]:
            upward.append(f"line {line}: imports asyncssl.{target} (layer {other!r}, not below {own!r})")
    assert not upward, f"{path.relative_to(PACKAGE)}:\n" + "\n".join(upward)


@pytest.mark.parametrize("path", sorted((PACKAGE / "aio").rglob("*.py")), ids=lambda p: p.name)
def test_aio_never_touches_lib_or_ffi(path):
    touched = [f"line {line}: {target} {names}" for line, target, names in _imports(path)
               if _part(target) in ("_binding", "_openssl") and ({"lib", "ffi"} & set(names) or not names)]
    assert not touched, f"aio/{path.name} reaches into the binding:\n" + "\n".join(touched)


def test_the_listener_can_make_connections_whatever_was_imported_first():
    """quic/ never imports tls/: the package registers the listener's Connection factory, so
    code importing only the listener module (as the QUIC bench's sync server did) still works."""
    import subprocess
    import sys

    code = ("import asyncssl.quic.listener as listener\n"
            "assert listener._connection_factory is not None, 'no connection factory registered'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(target: str, names: list[str]) -> list[str]:
    """The modules an import reaches: `target` itself, or its submodules named in `names`."""
    base = PACKAGE.joinpath(*target.split(".")) if target else PACKAGE
    if base.is_dir():
        subs = [f"{target}.{n}".lstrip(".") for n in names
                if (base / f"{n}.py").is_file() or (base / n / "__init__.py").is_file()]
        if subs:
            return subs
    return [target]


def test_no_import_cycles_between_modules():
    """Also inside a layer (and counting imports for type checking only): A imports B imports A."""
    graph: dict[str, set[str]] = {}
    for path in _modules():
        own = _module_name(path)
        graph[own] = {t for _line, target, names in _imports(path) for t in _targets(target, names)
                      if t != own and not t.startswith("_openssl")}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    # A package's __init__ re-exporting its own submodules is not a cycle of dependencies.
    real = [c for c in cycles if not any(a.startswith(b + ".") or b.startswith(a + ".") or not b
                                         for a, b in zip(c, c[1:], strict=False))]
    assert not real, "import cycles: " + "; ".join(" -> ".join(c) for c in real)
