"""The simulated accelerator's C files depend on each other one way (issue 11: no cycles).

Each provider source shipped in the package is compiled on its own, and the global symbols it
defines and needs (``nm -P -g``) give the file graph: the entry points above the provider,
the provider above its algorithms, everything above the device, and the error file at the bottom.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from asyncssl import testing
from asyncssl._binding import openssl_prefix

CC = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
NM = shutil.which("nm")


def symbol_graph(objects: dict[str, Path]) -> dict[str, set[str]]:
    """file -> the files whose symbols it uses."""
    defined: dict[str, str] = {}
    needed: dict[str, set[str]] = {}
    for name, obj in objects.items():
        out = subprocess.run([NM, "-P", "-g", str(obj)], capture_output=True, text=True, check=True, timeout=60).stdout
        needed[name] = set()
        for line in out.splitlines():
            fields = line.split()
            if len(fields) < 2:
                continue
            symbol = fields[0].lstrip("_")  # Mach-O names start with "_"
            if fields[1] == "U":
                needed[name].add(symbol)
            else:
                defined[symbol] = name
    return {name: {defined[s] for s in symbols if s in defined} - {name} for name, symbols in needed.items()}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> dict[str, set[str]]:
    if CC is None or NM is None:
        pytest.skip("needs a C compiler and nm")
    src = testing.simulated_accelerator_source_dir()
    out = tmp_path_factory.mktemp("simaccel-objects")
    prefix = openssl_prefix()
    include = [f"-I{prefix}/include"] if prefix else []
    objects = {}
    for source in sorted(src.glob("simaccel_*.c")):
        obj = out / f"{source.stem}.o"
        subprocess.run([*CC.split(), "-c", "-fPIC", "-pthread", *include, str(source), "-o", str(obj)],
                       check=True, capture_output=True, timeout=120)
        objects[source.stem] = obj
    return symbol_graph(objects)


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_provider_files_form_no_cycle(graph):
    assert cycle(graph) is None, f"simaccel's C files call each other: {' -> '.join(cycle(graph))}"


def test_the_layers_run_one_way(graph):
    # the provider (prov) uses the device; the device needs only the error file, never the provider
    assert "simaccel_device" in graph["simaccel_prov"]
    assert graph["simaccel_device"] <= {"simaccel_err"}
    assert graph["simaccel_err"] == set()
    assert "simaccel_prov" in graph["simaccel_module"]
