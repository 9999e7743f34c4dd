"""The scripts in wheels/ (not a package), loaded as modules for tests that call their functions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

WHEELS = Path(__file__).resolve().parents[2] / "wheels"


def load_wheels_module(name: str):
    spec = importlib.util.spec_from_file_location(name, WHEELS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
