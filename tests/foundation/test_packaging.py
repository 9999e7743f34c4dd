"""Packaging: the wheel configuration agrees with the test matrix, and the sdist check means it.

Fast checks only; building wheels and sdists is `nox -s wheel sdist` and wheels.yml.
"""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import tarfile
from pathlib import Path

from helpers.wheels import WHEELS, load_wheels_module

ROOT = Path(__file__).resolve().parents[2]


def cibuildwheel_config() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser as a package (the test extra)
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cibuildwheel"]


def features(env: dict) -> set[str]:
    return set(env["ASYNCSSL_EXPECT_FEATURES"].split(","))


def nox_expected_features() -> dict[str, str]:
    """noxfile.py's EXPECTED_FEATURES, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXPECTED_FEATURES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py defines no EXPECTED_FEATURES")


def test_wheels_must_have_what_the_3_5_leg_has_and_be_static():
    expected = set(nox_expected_features()["3.5"].split(",")) | {"static_openssl"}
    assert features(cibuildwheel_config()["test-environment"]) == expected


def test_musllinux_wheels_are_excused_only_from_async_mode():
    # OpenSSL's async jobs need makecontext, which musl lacks: ASYNC_is_capable() is 0 there.
    config = cibuildwheel_config()
    musl = next(o for o in config["overrides"] if "musllinux" in o["select"])
    assert features(config["test-environment"]) - features(musl["test-environment"]) == {"async_mode"}


def test_macos_builds_are_per_architecture_and_honour_the_deployment_target(monkeypatch):
    provision = load_wheels_module("provision_openssl")
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "11.0")
    args = provision.configure_args(Path("/prefix"), True, None, "darwin64-arm64-cc")
    assert args[0] == "darwin64-arm64-cc"
    assert {"no-shared", "-fPIC", "-mmacosx-version-min=11.0"} <= set(args)
    # An x86_64 build never reuses the arm64 one, nor one for another macOS minimum.
    kinds = {provision.build_kind(True, "darwin64-arm64-cc"), provision.build_kind(True, "darwin64-x86_64-cc")}
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "10.13")
    kinds.add(provision.build_kind(True, "darwin64-x86_64-cc"))
    assert len(kinds) == 3 and provision.build_kind(True, None) == "static"


def make_sdist(path: Path, files: list[str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name in files:
            info = tarfile.TarInfo(f"asyncssl-0.1.0/{name}")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    return path


COMPLETE = [
    "build_ffi.py", "setup.py", "pyproject.toml", "MANIFEST.in", "PKG-INFO",
    "src/_cffi_src/__init__.py", "src/_cffi_src/ssl.py", "src/asyncssl/__init__.py",
    "src/asyncssl/testing/simaccel/simaccel_prov.c", "src/asyncssl/testing/simaccel/simaccel.h",
    "src/asyncssl/bench/csrc/tls_bench.c",
    "wheels/openssl-pins.json", "wheels/provision_openssl.py", "tests/foundation/test_build.py",
]


def check_sdist(tarball: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(WHEELS / "check_sdist.py"), str(tarball)],
                          capture_output=True, text=True, timeout=60)


def test_sdist_check_accepts_a_complete_sdist(tmp_path: Path):
    result = check_sdist(make_sdist(tmp_path / "ok.tar.gz", COMPLETE))
    assert result.returncode == 0, result.stderr


def test_sdist_check_refuses_caches_and_missing_build_inputs(tmp_path: Path):
    files = [f for f in COMPLETE if not f.startswith("src/asyncssl/testing/simaccel/")]
    files += ["src/asyncssl/_openssl.cpython-311-x86_64-linux-gnu.so", ".nox/tests/bin/python",
              "benchmarks/results/tls.json"]
    result = check_sdist(make_sdist(tmp_path / "bad.tar.gz", files))
    assert result.returncode == 1
    assert "nothing matches src/asyncssl/testing/simaccel/*.c" in result.stderr
    assert "must not ship src/asyncssl/_openssl.cpython-311-x86_64-linux-gnu.so" in result.stderr
    assert "must not ship .nox/tests/bin/python" in result.stderr
    assert "must not ship benchmarks/results/tls.json" in result.stderr
