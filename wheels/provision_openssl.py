#!/usr/bin/env python3
"""Provision a pinned OpenSSL build (3.5 LTS or 4.0) into a cache outside the work tree.

    python wheels/provision_openssl.py 3.5            # shared build, prints its prefix
    python wheels/provision_openssl.py 4.0 --static   # static -fPIC build for wheels
    python wheels/provision_openssl.py 3.5 --source upstream   # tarball from upstream URL
    python wheels/provision_openssl.py 3.5 --static --target darwin64-arm64-cc  # one macOS arch

The versions and SHA-256 sums live in ``wheels/openssl-pins.json``.  Sources come from
Debian's source packages (the ``.orig.tar.gz`` is the upstream release tarball), fetched
with apt-get through a *private* sources list and private state and cache directories,
so the machine's apt configuration is never changed.  Debian replaces versions over time:
when the pinned one is gone, the suite's newest release of the same series is used, the
script says so, and prints the SHA-256 to record.  A tarball of the pinned version must
match the pinned SHA-256, whatever the source.

A finished build is marked with ``.asyncssl-build.json`` in its prefix and reused.
The last line on stdout is always the install prefix, so callers can capture it.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PINS_FILE = HERE / "openssl-pins.json"
STAMP = ".asyncssl-build.json"
DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def log(msg: str) -> None:
    print(f"[provision-openssl] {msg}", file=sys.stderr, flush=True)


def fail(msg: str) -> None:
    log(f"error: {msg}")
    raise SystemExit(2)


def cache_root() -> Path:
    env = os.environ.get("ASYNCSSL_OPENSSL_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asyncssl" / "openssl"


def load_pin(series: str) -> dict:
    pins = json.loads(PINS_FILE.read_text())
    if series not in pins:
        known = ", ".join(k for k in pins if not k.startswith("_"))
        fail(f"unknown OpenSSL series {series!r}; pinned series are: {known}")
    return pins[series]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- Debian source packages through a private apt configuration -------------------------


def _system_debian_archive() -> tuple[str, str]:
    """The URI and keyring of the Debian archive this machine's apt already uses.

    We reuse the machine's own mirror rather than naming one, so the script works behind
    whatever mirror or proxy the machine is configured for.
    """
    override = os.environ.get("ASYNCSSL_DEBIAN_MIRROR")
    if override:
        return override, os.environ.get("ASYNCSSL_DEBIAN_KEYRING", DEFAULT_KEYRING)
    stanzas: list[dict[str, str]] = []
    sources_d = Path("/etc/apt/sources.list.d")
    for f in sorted(sources_d.glob("*.sources")) if sources_d.is_dir() else []:
        for block in f.read_text().split("\n\n"):
            fields = {}
            for line in block.splitlines():
                m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                if m:
                    fields[m.group(1).lower()] = m.group(2).strip()
            if fields:
                stanzas.append(fields)
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            m = re.match(r"^deb(?:-src)?\s+(?:\[(.*?)\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line.strip())
            if m:
                opts = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
                stanzas.append({"uris": m.group(2), "suites": m.group(3),
                                "components": m.group(4), "signed-by": opts.get("signed-by", "")})
    for fields in stanzas:
        suites = fields.get("suites", "").split()
        uri = fields.get("uris", "").split()
        # The main archive: a plain release suite, not -security or -updates.
        if uri and any(re.fullmatch(r"[a-z]+", s) for s in suites) and "main" in fields.get("components", ""):
            return uri[0], fields.get("signed-by") or DEFAULT_KEYRING
    fail("no Debian archive found in this machine's apt sources; set ASYNCSSL_DEBIAN_MIRROR "
         "to a Debian mirror URI, or use --source upstream")
    raise AssertionError


class PrivateApt:
    """apt-get/apt-cache with their own sources list, lists and cache directories."""

    def __init__(self, root: Path, suite: str):
        self.root = root / f"apt-{suite}"
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        uri, keyring = _system_debian_archive()
        self.sources = self.root / "sources.list"
        self.sources.write_text(f"deb-src [signed-by={keyring}] {uri} {suite} main\n")
        self.opts = [
            "-o", f"Dir::Etc::sourcelist={self.sources}",
            "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={self.root / 'lists'}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", "APT::Get::List-Cleanup=0",
            "-o", "APT::Sandbox::User=root",
        ]

    def run(self, *args: str, cwd: Path | None = None) -> str:
        cmd = [args[0], *self.opts, *args[1:]]
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        if proc.returncode != 0:
            fail(f"{' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def versions(self) -> list[str]:
        self.run("apt-get", "update")
        out = self.run("apt-cache", "showsrc", "openssl")
        return re.findall(r"^Version:\s*(\S+)", out, re.M)

    def download(self, debian_version: str, dest: Path) -> bool:
        cmd = ["apt-get", *self.opts, "source", "--download-only", f"openssl={debian_version}"]
        proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
        if proc.returncode != 0:
            log(f"apt-get source openssl={debian_version} failed: {proc.stderr.strip().splitlines()[-1:]}")
            return False
        return True


def _version_key(v: str) -> tuple:
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"[.~+-]", v))


def fetch_from_debian(pin: dict, series: str, downloads: Path) -> tuple[Path, str]:
    apt = PrivateApt(cache_root(), pin["debian_suite"])
    available = apt.versions()
    candidates = [pin["debian_version"]] if pin["debian_version"] in available else []
    # Debian replaces point releases; fall back to the suite's newest of the same series.
    same_series = sorted((v for v in available if v.startswith(series + ".")), key=_version_key, reverse=True)
    candidates += [v for v in same_series if v not in candidates]
    if not candidates:
        fail(f"Debian suite {pin['debian_suite']} offers no openssl {series}.x source package "
             f"(it has: {', '.join(available) or 'nothing'})")
    with tempfile.TemporaryDirectory(dir=downloads) as tmp:
        for deb_version in candidates:
            if not apt.download(deb_version, Path(tmp)):
                continue  # indexed but not (yet) on the mirror: try the next one
            upstream = deb_version.split("-")[0]
            orig = Path(tmp) / f"openssl_{upstream}.orig.tar.gz"
            if not orig.is_file():
                continue
            if deb_version != pin["debian_version"]:
                log(f"pinned {pin['debian_version']} is not available; using Debian's {deb_version} "
                    f"(SHA-256 {sha256_of(orig)}): record it in {PINS_FILE.name}")
            final = downloads / orig.name
            shutil.move(str(orig), final)
            return final, upstream
    fail(f"none of the openssl source packages {candidates} could be downloaded")
    raise AssertionError


def fetch_from_upstream(pin: dict, downloads: Path) -> tuple[Path, str]:
    dest = downloads / f"openssl_{pin['version']}.orig.tar.gz"
    log(f"downloading {pin['upstream_url']}")
    with urllib.request.urlopen(pin["upstream_url"], timeout=120) as resp, open(dest, "wb") as out:
        shutil.copyfileobj(resp, out)
    return dest, pin["version"]


def obtain_tarball(pin: dict, series: str, source: str) -> tuple[Path, str]:
    downloads = cache_root() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    cached = downloads / f"openssl_{pin['version']}.orig.tar.gz"
    if cached.is_file() and sha256_of(cached) == pin["sha256"]:
        return cached, pin["version"]
    if source == "upstream":
        tarball, version = fetch_from_upstream(pin, downloads)
    else:
        tarball, version = fetch_from_debian(pin, series, downloads)
    if version == pin["version"]:
        got = sha256_of(tarball)
        if got != pin["sha256"]:
            tarball.unlink()
            fail(f"SHA-256 mismatch for OpenSSL {version}: expected {pin['sha256']}, got {got}")
    return tarball, version


# --- Building ------------------------------------------------------------------------------


def macos_min_flag(target: str | None) -> str | None:
    """``-mmacosx-version-min`` for a darwin target, from MACOSX_DEPLOYMENT_TARGET (as cibuildwheel sets it).

    The static libraries end up inside the extension module, so they must not require a newer
    macOS than the wheel's tag promises (the linker warns, delocate refuses the wheel).
    """
    deployment = os.environ.get("MACOSX_DEPLOYMENT_TARGET")
    if target and target.startswith("darwin") and deployment:
        return f"-mmacosx-version-min={deployment}"
    return None


def build_kind(static: bool, target: str | None) -> str:
    """The cache directory suffix: builds for different targets or macOS minimums never share a prefix."""
    kind = "static" if static else "shared"
    if target:
        kind += f"-{target}"
        minimum = macos_min_flag(target)
        if minimum:
            kind += f"-macos{minimum.split('=', 1)[1]}"
    return kind


# The soname and symbol-version tag of a shared build: libssl.so -> libssl-asyncssl.so.3, symbols
# versioned OPENSSL_ASYNCSSL_3.0.0 ... (OpenSSL's `shlib_variant`). Python's own _ssl, hashlib and
# any other extension load the system libssl.so.3 (versions OPENSSL_3.0.0 ...): with other names
# on both, the dynamic linker keeps the two libraries apart in one process, in any import order.
SHLIB_VARIANT = "-asyncssl"
VARIANT_CONFIG = "asyncssl-variant.conf"


def guessed_target(src: Path) -> str:
    """The Configure target OpenSSL itself picks for this host (e.g. linux-x86_64)."""
    proc = subprocess.run(["perl", "./Configure", "-t"], cwd=src, capture_output=True, text=True)
    m = re.search(r"for target (\S+)", proc.stdout + proc.stderr)
    if proc.returncode != 0 or m is None:
        fail(f"`./Configure -t` did not name a target:\n{proc.stdout}{proc.stderr}")
    return m.group(1)


def variant_target(src: Path, base: str) -> tuple[str, Path]:
    """A Configure target that inherits `base` and adds shlib_variant, written into `src`."""
    if base.startswith(("darwin", "mingw", "VC-", "vms")):
        fail(f"a renamed shared build is made on ELF platforms only (target {base}); use --static")
    name = f"asyncssl-{base}"
    conf = src / VARIANT_CONFIG
    conf.write_text(
        "# Written by asyncssl's wheels/provision_openssl.py: the host's target with another soname\n"
        "# and symbol-version tag, so this build loads beside the system's libssl.so.3.\n"
        f'my %targets = (\n    "{name}" => {{\n        inherit_from => [ "{base}" ],\n'
        f'        shlib_variant => "{SHLIB_VARIANT}",\n    }},\n);\n'
    )
    return name, conf


def configure_args(prefix: Path, static: bool, openssldir: str | None, target: str | None = None,
                   variant_config: Path | None = None) -> list[str]:
    # An explicit Configure target (e.g. darwin64-x86_64-cc) instead of the host's guess: a
    # macOS runner builds wheels for one architecture at a time, not necessarily its own.
    args = [f"--config={variant_config}"] if variant_config else []
    args += [target] if target else []
    args += [f"--prefix={prefix}", "--libdir=lib", f"--openssldir={openssldir or prefix / 'ssl'}",
             "no-docs", "no-tests"]
    if macos_min_flag(target):
        args.append(macos_min_flag(target))
    if static:
        args += ["no-shared", "-fPIC"]
    else:
        # RUNPATH so the build's own `openssl` binary finds its libraries.
        args += ["shared", f"-Wl,-rpath,{prefix / 'lib'}"]
    return args


def build(tarball: Path, version: str, prefix: Path, static: bool, openssldir: str | None, jobs: int,
          target: str | None = None) -> dict:
    work = prefix.parent / f".build-{prefix.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(work, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(work)
    src = next(p for p in work.iterdir() if p.is_dir() and p.name.startswith("openssl"))
    variant_config = None
    if not static:
        target, variant_config = variant_target(src, target or guessed_target(src))
    args = configure_args(prefix, static, openssldir, target, variant_config)
    started = time.monotonic()
    logfile = prefix.parent / f"build-{prefix.name}.log"
    log(f"building OpenSSL {version} ({'static' if static else 'shared'}) into {prefix}; log: {logfile}")
    with logfile.open("w") as out:
        # An OPENSSLDIR outside the prefix (a wheel's) is a path on users' machines: leave
        # it alone here (install_ssldirs would need root and write to this machine).
        install = ["make", "install_sw"] if openssldir else ["make", "install_sw", "install_ssldirs"]
        for step in (["perl", "./Configure", *args], ["make", f"-j{jobs}"], install):
            proc = subprocess.run(step, cwd=src, stdout=out, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                fail(f"`{' '.join(step)}` failed (exit {proc.returncode}); see {logfile}")
    shutil.rmtree(work, ignore_errors=True)
    return {"version": version, "static": static, "configure": args,
            "shlib_variant": None if static else SHLIB_VARIANT,
            "sha256": sha256_of(tarball), "build_seconds": round(time.monotonic() - started, 1)}


def provision(series: str, static: bool, source: str, openssldir: str | None, jobs: int,
              target: str | None = None) -> Path:
    pin = load_pin(series)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    kind = build_kind(static, target)
    with open(root / f".lock-{series}-{kind}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two sessions building the same leg wait for each other
        for existing in sorted(root.glob(f"{series}.*-{kind}")):
            stamp = existing / STAMP
            if stamp.is_file():
                info = json.loads(stamp.read_text())
                same_dir = f"--openssldir={openssldir or existing / 'ssl'}" in info.get("configure", [])
                # a shared build from before the renamed sonames collides with the system's
                same_names = static or info.get("shlib_variant") == SHLIB_VARIANT
                if same_dir and same_names and (info.get("version") == pin["version"]
                                                or info.get("fallback_for") == pin["version"]):
                    log(f"reusing cached OpenSSL {info['version']} ({kind}) at {existing}")
                    return existing
        tarball, version = obtain_tarball(pin, series, source)
        prefix = root / f"{version}-{kind}"
        shutil.rmtree(prefix, ignore_errors=True)
        info = build(tarball, version, prefix, static, openssldir, jobs, target)
        if version != pin["version"]:
            info["fallback_for"] = pin["version"]
        (prefix / STAMP).write_text(json.dumps(info, indent=2))
        log(f"built OpenSSL {version} in {info['build_seconds']} s")
        return prefix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("series", help="OpenSSL series from openssl-pins.json, e.g. 3.5 or 4.0")
    parser.add_argument("--static", action="store_true", help="build no-shared -fPIC (for wheels)")
    parser.add_argument("--source", choices=("debian", "upstream"), default="debian",
                        help="where the tarball comes from (default: Debian's source package)")
    parser.add_argument("--openssldir", help="OPENSSLDIR to bake in (default: PREFIX/ssl)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--target", help="OpenSSL Configure target, e.g. darwin64-x86_64-cc or darwin64-arm64-cc "
                        "(default: Configure's guess for this host); with a darwin target, "
                        "MACOSX_DEPLOYMENT_TARGET becomes -mmacosx-version-min")
    args = parser.parse_args(argv)
    prefix = provision(args.series, args.static, args.source, args.openssldir, args.jobs, args.target)
    print(prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
