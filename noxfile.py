"""The test matrix and the other project sessions.

    nox -s tests            # 3.0, 3.5 and 4.0 under Python 3.11; 3.5 also under 3.12, 3.13
    nox -s "tests(3.11-3.5)" # one interpreter on one leg
    nox -s lint demo bench
    nox -s docs             # the API reference (Sphinx), warnings as errors

Each leg gets its own virtualenv and builds asyncssl against that leg's OpenSSL
(3.5 and 4.0 are provisioned by wheels/provision_openssl.py into a cache outside
the work tree and reused).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
LEGS = ["3.0", "3.5", "4.0"]
# What each leg must really have; the test session fails, instead of skipping, when a
# feature the leg is known to have went missing (e.g. a build without QUIC).
EXPECTED_FEATURES = {
    "3.0": "dtls,async_mode",
    "3.5": "dtls,async_mode,handle_events,quic_client,quic_server,ssl_poll",
    "4.0": "dtls,async_mode,handle_events,quic_client,quic_server,ssl_poll",
}

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def openssl_env(leg: str) -> dict[str, str]:
    """Environment that builds and runs asyncssl against one OpenSSL leg.

    Only what a user sets: OPENSSL_DIR at build time. The provisioned builds have their own
    soname (libssl-asyncssl.so.3) and load beside the system's libssl in any import order. PATH gains the build's `openssl` CLI, the tests' peer of the same build.
    """
    if leg == "3.0":
        # The system library: no OPENSSL_DIR, compiler defaults / pkg-config find it.
        return {"OPENSSL_DIR": "", "ASYNCSSL_EXPECT_FEATURES": EXPECTED_FEATURES[leg]}
    prefix = subprocess.run(
        [sys.executable, str(ROOT / "wheels" / "provision_openssl.py"), leg],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout.strip().splitlines()[-1]
    return {
        "OPENSSL_DIR": prefix,
        "PATH": f"{prefix}/bin{os.pathsep}{os.environ.get('PATH', '')}",
        "ASYNCSSL_EXPECT_FEATURES": EXPECTED_FEATURES[leg],
    }


def install_against(session: nox.Session, env: dict[str, str], extras: str = "test") -> None:
    # --force-reinstall --no-cache-dir: the built extension depends on OPENSSL_DIR,
    # so a wheel built for another leg must never be reused.
    session.install("--force-reinstall", "--no-cache-dir", "--no-deps", ".", env=env)
    session.install(f".[{extras}]", env=env)


def interpreter(version: str) -> str:
    """The CPython `version` to test under: pyenv's install of it where pyenv has one (its shims
    only run the global version), else whatever `pythonX.Y` is on PATH."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob(f"{version}.*/bin/python{version}"), key=lambda p: [int(x) for x in
                   p.parts[-3].split(".") if x.isdigit()])
    return str(found[-1]) if found else version


# The interpreters the package claims (requires-python >= 3.10, wheels for 3.10-3.13): every
# one on the 3.5 leg (the one with everything), and the main interpreter on every leg.
MAIN_PYTHON = "3.11"
# (Python 3.10 gets aioquic 1.3, the last release for it; the ALPN-mismatch tests accept
# both its close and newer aioquic's.)
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
MATRIX = [(MAIN_PYTHON, leg) for leg in LEGS] + [(py, "3.5") for py in PYTHONS if py != MAIN_PYTHON]


@nox.session
@nox.parametrize("python,openssl", [(interpreter(py), leg) for py, leg in MATRIX],
                 ids=[f"{py}-{leg}" for py, leg in MATRIX])
def tests(session: nox.Session, openssl: str) -> None:
    """Build asyncssl against one OpenSSL leg and run the whole suite on it."""
    env = openssl_env(openssl)
    install_against(session, env)
    session.run("python", "-m", "asyncssl", "info", env=env)
    # Run from tests/'s parent but against the installed package: src/ is not on sys.path.
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    # mypy checks the source tree without the compiled module (typed as dynamic, see
    # pyproject's [tool.mypy]); the libraries it imports are installed for their types, so the
    # result is the same here as in a developer's environment (aioquic's protocol class is
    # subclassed: as Any it would be an error under --strict).
    session.install("ruff", "mypy==2.4.1", "cryptography", "aioquic", "pyOpenSSL", "uvloop", "trustme")
    session.run("ruff", "check", "src", "tests", "examples", "docs", "build_ffi.py", "noxfile.py", "wheels", "tools")
    session.run("mypy")
    # The examples are what users copy: strict too, against the source tree's package.
    session.run("mypy", "--strict", "examples", env={"MYPYPATH": str(ROOT / "src")})


@nox.session
@nox.parametrize("openssl", ["3.5"])
def demo(session: nox.Session, openssl: str) -> None:
    """The main job, on the leg that has everything."""
    env = openssl_env(openssl)
    install_against(session, env)
    session.run("python", "-m", "asyncssl", "demo", *session.posargs, env=env)


@nox.session
@nox.parametrize("openssl", ["3.5"])
def bench(session: nox.Session, openssl: str) -> None:
    """Benchmarks with ratios against the anchors (C, Python's ssl, pyOpenSSL, aioquic)."""
    env = openssl_env(openssl)
    install_against(session, env, extras="test,bench")
    session.run("python", "-m", "asyncssl", "bench", *(session.posargs or ["all"]), env=env)


# The API reference's only tool, pinned: a new Sphinx may warn about what this one accepts,
# and the build treats warnings as errors.
DOCS_REQUIREMENTS = ["sphinx==9.0.4"]


@nox.session(python=interpreter(MAIN_PYTHON))
def docs(session: nox.Session) -> None:
    """The API reference (docs/, Sphinx autodoc from the docstrings) with warnings as errors.

    autodoc imports asyncssl, so it is built first, against the system OpenSSL (every class and
    method exists on every leg). The HTML goes to docs/_build/html, or to the first posarg.
    """
    env = openssl_env("3.0")
    session.install("--force-reinstall", "--no-cache-dir", "--no-deps", ".", env=env)
    session.install(".", *DOCS_REQUIREMENTS, env=env)
    out = session.posargs[0] if session.posargs else str(ROOT / "docs" / "_build" / "html")
    # Run from the docs directory's parent but import the installed package, not src/.
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", str(ROOT / "docs"), out, env=env)
    session.log(f"API reference: {Path(out) / 'index.html'}")


# --- Packaging: the wheel and the sdist, checked the way users install them ----------------
# Not in nox.options.sessions (the default run): `nox -s wheel sdist`.

PACKAGING_TOOLS = ROOT / "wheels" / "tools-requirements.txt"


def clean_copy(session: nox.Session, dest: Path) -> Path:
    """The work tree's files as git sees them (tracked + untracked, minus .gitignore'd).

    Builds start from this copy, never from the work tree itself: a stale build/ directory or
    an in-place ``_openssl*.so`` would otherwise end up in the wheel instead of a fresh build.
    """
    import shutil

    shutil.rmtree(dest, ignore_errors=True)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():  # a tracked file deleted in the work tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    session.log(f"clean copy of the work tree in {dest}")
    return dest


def fresh_venv(session: nox.Session, path: Path) -> Path:
    """A new virtualenv outside nox's, so nothing the session installed can leak into the check."""
    session.run(sys.executable, "-m", "venv", "--clear", str(path), external=True)
    return path / "bin" / "python"


def wheel_requirements(wheel: Path, extra: str) -> list[str]:
    """The wheel's own Requires-Dist (with `extra`), to install from the index before the wheel."""
    import zipfile
    from email.parser import HeaderParser

    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as zf:
        metadata = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(zf.read(metadata).decode())
    wanted = []
    for line in headers.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": extra}):
            req.marker = None
            wanted.append(str(req))
    return wanted


@nox.session
def wheel(session: nox.Session) -> None:
    """The Linux leg of wheels.yml without Docker: static OpenSSL 3.5, auditwheel, suite on the installed wheel."""
    import shutil

    if not sys.platform.startswith("linux"):
        session.skip("the wheel session repairs with auditwheel: Linux only (macOS wheels: wheels.yml)")
    session.install("-r", str(PACKAGING_TOOLS))
    # The same pinned tarball the workflows use (here from Debian's archive, which is what
    # this machine can reach), built no-shared -fPIC; cached after the first run.
    prefix = subprocess.run([sys.executable, str(ROOT / "wheels" / "provision_openssl.py"), "3.5", "--static"],
                            check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    work = Path(session.create_tmp()).resolve() / "wheel"
    shutil.rmtree(work, ignore_errors=True)
    source = clean_copy(session, work / "src")

    # Build and repair: the static prefix has no libssl.so, so build_ffi.py links the archives
    # with their symbols hidden.
    build_env = {"OPENSSL_DIR": prefix, "PIP_NO_CACHE_DIR": "1"}
    session.run("python", "-m", "pip", "wheel", "--no-deps", "-w", str(work / "dist"), str(source), env=build_env)
    built = next((work / "dist").glob("asyncssl-*.whl"))
    # auditwheel picks the manylinux tag this machine's glibc allows.
    session.run("auditwheel", "repair", "-w", str(work / "wheelhouse"), str(built))
    repaired = next((work / "wheelhouse").glob("asyncssl-*.whl"))
    session.run("python", str(ROOT / "wheels" / "check_wheel_static.py"), str(repaired))

    # Install it as a user would: dependencies from the index, the wheel itself without
    # compiling anything, into a virtualenv that has never seen the source tree.
    python = str(fresh_venv(session, work / "venv"))
    session.run(python, "-m", "pip", "install", "-q", *wheel_requirements(repaired, "test"), external=True)
    session.run(python, "-m", "pip", "install", "--no-index", "--only-binary", ":all:",
                "--find-links", str(work / "wheelhouse"), "--no-deps", "asyncssl", external=True)

    # Everything below runs from an empty directory: only the installed wheel is importable.
    run_dir = work / "run"
    run_dir.mkdir()
    run_env = {
        "OPENSSL_DIR": "",
        # The static build's own `openssl` CLI is the suite's peer, as on the 3.5 test leg.
        "PATH": f"{work / 'venv' / 'bin'}{os.pathsep}{prefix}/bin{os.pathsep}{os.environ.get('PATH', '')}",
        "ASYNCSSL_EXPECT_FEATURES": EXPECTED_FEATURES["3.5"] + ",static_openssl",
    }
    with session.chdir(run_dir):
        session.run(python, str(ROOT / "wheels" / "check_installed_wheel.py"), "--series", "3.5",
                    env=run_env, external=True)
        # As on a user's machine, without this shell's SSL_CERT_FILE/SSL_CERT_DIR: the CA
        # lookup must fall back from the baked-in OPENSSLDIR to the distribution's bundle.
        user_env = {**run_env, "SSL_CERT_FILE": None, "SSL_CERT_DIR": None}
        session.run(python, "-m", "asyncssl", "info", env=user_env, external=True)
        session.run(python, str(ROOT / "wheels" / "check_wheel_trust.py"), env=user_env, external=True)
        # The clean copy's tests (they read build_ffi.py and wheels/ next to them), against the wheel.
        session.run(python, "-m", "pytest", "-p", "no:cacheprovider", str(source / "tests"), *session.posargs,
                    env=run_env, external=True)


@nox.session
def sdist(session: nox.Session) -> None:
    """Build the sdist, check its contents, and install it against the system OpenSSL (3.0 here)."""
    import shutil

    session.install("-r", str(PACKAGING_TOOLS))
    work = Path(session.create_tmp()).resolve() / "sdist"
    shutil.rmtree(work, ignore_errors=True)
    source = clean_copy(session, work / "src")
    session.run("python", "-m", "build", "--sdist", "-o", str(work / "dist"), str(source))
    tarball = next((work / "dist").glob("asyncssl-*.tar.gz"))
    session.run("python", str(ROOT / "wheels" / "check_sdist.py"), str(tarball))

    # No OPENSSL_DIR: build_ffi.py falls through to pkg-config / the compiler's defaults.
    python = str(fresh_venv(session, work / "venv"))
    system_env = {"OPENSSL_DIR": "", "PIP_NO_CACHE_DIR": "1"}
    session.run(python, "-m", "pip", "install", str(tarball), env=system_env, external=True)
    run_dir = work / "run"
    run_dir.mkdir()
    with session.chdir(run_dir):
        session.run(python, str(ROOT / "wheels" / "check_installed_sdist.py"), env=system_env, external=True)
