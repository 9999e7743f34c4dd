#!/usr/bin/env python3
"""Provision a pinned OpenSSL build (3.5 LTS or 4.0) into a cache outside the work tree.

    python wheels/provision_openssl.py 3.5            # shared build, prints its prefix
    python wheels/provision_openssl.py 4.0 --static   # static -fPIC build for wheels
    python wheels/provision_openssl.py 3.5 --source upstream   # tarball from upstream URL
    python wheels/provision_openssl.py 3.5 --static --target darwin64-arm64-cc  # one macOS arch

The versions and SHA-256 sums live in ``wheels/openssl-pins.json``.  Sources come from
Debian's source packages (the ``.orig.tar.gz`` is the upstream release tarball), fetched
with apt-get through a *private* sources list and private state and cache directories,
so the machine's apt configuration is never changed.

Debian's archive moves on (an index can name a new revision before its files reach the
mirror, and old revisions are dropped), so the pin's ``debian_suites`` are tried in order,
and within each suite:

1. the pinned ``debian_version``, if the suite's index names it;
2. each newer revision of the same series the index names, nearest first (the smallest
   step from what was tested; the newest uploads are the likeliest to be missing).

Older revisions and other series are never taken; ``*-security`` suites come from the
security archive; a revision that already failed from the same archive is not fetched
again, nor a host asked again once it could not be reached.  Each candidate is verified:
the pinned upstream version (whatever its Debian revision) must match the pinned SHA-256;
another version, whose bytes apt checked against the signed index, must be the release it
claims (everything under ``openssl-X.Y.Z/``, whose ``VERSION.dat`` says X.Y.Z).  The first
candidate that downloads and verifies is used (the script says so, with the SHA-256 to
record, when it is not the pin); when none does, the script stops with one message listing
every (suite, version, outcome) it tried.

A finished build is marked with ``.asyncssl-build.json`` in its prefix and reused.
The last line on stdout is always the install prefix, so callers can capture it.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
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
import urllib.parse
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

# Test-only: a hand-written local archive (tests/foundation/test_provisioning_fallback.py) has
# no signature. Honoured for file: URIs only, so it can never switch off the verification of
# a real mirror; nothing sets it by default.
UNSIGNED_TEST_ARCHIVE_ENV = "ASYNCSSL_TEST_UNSIGNED_FILE_ARCHIVE"


def _machine_apt_stanzas() -> list[dict[str, str]]:
    """The machine's apt sources (deb822 files and the one-line sources.list), as field dicts."""
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
    return stanzas


def debian_archives() -> tuple[str, str, str]:
    """The URIs of Debian's main and security archives, and the keyring that signs them.

    We reuse the machine's own mirrors rather than naming one, so the script works behind
    whatever mirror or proxy the machine is configured for.  The security archive
    (``*-security`` suites) is a separate archive with its own pool.
    """
    keyring = os.environ.get("ASYNCSSL_DEBIAN_KEYRING", DEFAULT_KEYRING)
    main = os.environ.get("ASYNCSSL_DEBIAN_MIRROR")
    security = os.environ.get("ASYNCSSL_DEBIAN_SECURITY_MIRROR")
    if not main:
        for fields in _machine_apt_stanzas():
            suites = fields.get("suites", "").split()
            uri = fields.get("uris", "").split()
            if not uri or "main" not in fields.get("components", ""):
                continue
            # The main archive: a plain release suite, not -security or -updates.
            if not main and any(re.fullmatch(r"[a-z]+", s) for s in suites):
                main, keyring = uri[0], fields.get("signed-by") or keyring
            if not security and any(s.endswith("-security") for s in suites):
                security = uri[0]
        if not main:
            fail("no Debian archive found in this machine's apt sources; set ASYNCSSL_DEBIAN_MIRROR "
                 "to a Debian mirror URI, or use --source upstream")
    # Debian's mirrors serve the security archive beside the main one (.../debian-security).
    return main, security or main.rstrip("/") + "-security", keyring


def archive_for(suite: str, archives: tuple[str, str, str]) -> str:
    main, security, _ = archives
    return security if suite.endswith("-security") else main


def _signature_option(uri: str, keyring: str) -> str:
    if os.environ.get(UNSIGNED_TEST_ARCHIVE_ENV) == "1":
        if not uri.startswith("file:"):
            fail(f"{UNSIGNED_TEST_ARCHIVE_ENV}=1 is for local test archives (file: URIs), not {uri}")
        return "trusted=yes"
    return f"signed-by={keyring}"


# apt's closing summaries, which add nothing to the lines before them.
_APT_SUMMARIES = ("E: Failed to fetch some archives.",
                  "W: Some index files failed to download. They have been ignored, or old ones used instead.",
                  "E: Some index files failed to download. They have been ignored, or old ones used instead.")
# Reasons that say the host was not reached at all (not that it lacks a file).
_UNREACHABLE = re.compile(r"Could not connect|Could not resolve|Temporary failure resolving|Connection timed out")


def _apt_errors(proc: subprocess.CompletedProcess) -> str:
    """apt's own error and warning lines, the part of its output worth repeating, shortened.

    Files apt could not fetch ("E: Failed to fetch URL  404  Not Found [IP: ...]") are grouped
    by place and reason ("a.dsc, b.orig.tar.gz: 404 Not Found at http://.../openssl/").
    Empty when apt said nothing.
    """
    missing: dict[tuple[str, str], list[str]] = {}
    others = []
    for line in (proc.stderr + proc.stdout).splitlines():
        line = line.strip()
        fetch = re.match(r"[EW]: Failed to fetch (\S+/\S+)\s+(.*?)\s*(?:\[IP: [^]]*\])?$", line)
        if line in _APT_SUMMARIES:
            continue
        if fetch:
            where, _, name = urllib.parse.unquote(fetch.group(1)).rpartition("/")
            reason = " ".join(re.sub(r" - /\S+", "", fetch.group(2)).split())  # file: repeats the path
            missing.setdefault((where, reason), []).append(name)
        elif line.startswith(("E:", "W:")):
            others.append(line)
    errors = [f"{', '.join(names)}: {reason} at {where}/" for (where, reason), names in missing.items()]
    return "; ".join(errors + others)


class PrivateApt:
    """apt-get/apt-cache for one suite, with their own sources list, lists and cache directories."""

    def __init__(self, root: Path, suite: str, uri: str, keyring: str):
        self.root = root / f"apt-{suite}"
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.sources = self.root / "sources.list"
        self.sources.write_text(f"deb-src [{_signature_option(uri, keyring)}] {uri} {suite} main\n")
        self.opts = [
            "-o", f"Dir::Etc::sourcelist={self.sources}",
            "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={self.root / 'lists'}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", "APT::Get::List-Cleanup=0",
            "-o", "APT::Sandbox::User=root",
        ]

    def _run(self, tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([tool, *self.opts, *args], cwd=cwd, capture_output=True, text=True)

    def update(self) -> str | None:
        """Fetch the suite's source index; None, or what went wrong.

        apt-get update succeeds even when it reached nothing (it keeps the lists it had), so
        its warnings count too.
        """
        proc = self._run("apt-get", "update")
        return _apt_errors(proc) or (f"apt-get update: exit status {proc.returncode}" if proc.returncode else None)

    def versions(self) -> list[str]:
        """The versions of the openssl source package the suite's index names."""
        proc = self._run("apt-cache", "showsrc", "openssl")
        records = (r for r in proc.stdout.split("\n\n") if re.search(r"^Package:\s*openssl$", r, re.M))
        return [m.group(1) for r in records for m in [re.search(r"^Version:\s*(\S+)", r, re.M)] if m]

    def download(self, debian_version: str, dest: Path) -> str | None:
        """``apt-get source --download-only`` into dest; None, or apt's error.

        apt checks each file against the hashes of the index, whose signature it checked.
        """
        proc = self._run("apt-get", "source", "--download-only", f"openssl={debian_version}", cwd=dest)
        return (_apt_errors(proc) or f"apt-get source: exit status {proc.returncode}") if proc.returncode else None


def _compare_version_part(a: str, b: str) -> int:
    """dpkg's comparison of two upstream versions or two revisions (deb-version(7)).

    Alternating runs: non-digits compare character by character, letters before other
    characters and ``~`` before anything, even the end (3.5.7~rc1 < 3.5.7); digits compare
    as numbers (3.5.10 > 3.5.9).
    """
    def order(s: str, i: int) -> int:
        if i >= len(s) or s[i].isdigit():
            return 0
        if s[i] == "~":
            return -1
        return ord(s[i]) if s[i].isalpha() else ord(s[i]) + 256

    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            diff = order(a, i) - order(b, j)
            if diff:
                return diff
            i, j = i + 1, j + 1
        start_a, start_b = i, j
        while i < len(a) and a[i].isdigit():
            i += 1
        while j < len(b) and b[j].isdigit():
            j += 1
        diff = int(a[start_a:i] or 0) - int(b[start_b:j] or 0)
        if diff:
            return diff
    return 0


def _split_debian_version(v: str) -> tuple[int, str, str]:
    epoch, _, rest = v.partition(":") if ":" in v else ("0", "", v)
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return int(epoch), upstream, revision


def compare_debian_versions(a: str, b: str) -> int:
    """Negative, zero or positive as Debian version a sorts before, with or after b (like dpkg)."""
    (epoch_a, up_a, rev_a), (epoch_b, up_b, rev_b) = _split_debian_version(a), _split_debian_version(b)
    return (epoch_a - epoch_b) or _compare_version_part(up_a, up_b) or _compare_version_part(rev_a, rev_b)


def upstream_of(debian_version: str) -> str:
    return _split_debian_version(debian_version)[1]


def suite_candidates(named: list[str], pinned: str, series: str) -> list[str]:
    """What to try from one suite's index, in order: the pinned revision, then newer ones of the series.

    Newer revisions go nearest first: the smallest step from the tested pin (often the same
    upstream tarball under a new Debian revision), and the newest uploads are the ones most
    likely not to be on every mirror yet.  Older revisions are never taken.
    """
    newer = {v for v in named if upstream_of(v).startswith(series + ".") and compare_debian_versions(v, pinned) > 0}
    return ([pinned] if pinned in named else []) + sorted(newer, key=functools.cmp_to_key(compare_debian_versions))


def tarball_problem(tarball: Path, version: str, pin: dict) -> str | None:
    """Why `tarball` is not OpenSSL `version`'s release tarball, or None when it is.

    The pinned version must have the pinned SHA-256.  Another version has no pin to match
    (apt vouched for its bytes through the signed index), so check that it is the release it
    claims: everything under openssl-X.Y.Z/, whose VERSION.dat says X.Y.Z.
    """
    if version == pin["version"]:
        got = sha256_of(tarball)
        if got != pin["sha256"]:
            return f"SHA-256 {got} is not the pinned {pin['sha256']}"
    top = f"openssl-{version}"
    version_dat = None
    try:
        with tarfile.open(tarball) as tar:
            for member in tar:
                if member.name.split("/", 1)[0] != top:
                    return f"holds {member.name!r}, outside {top}/"
                if member.name == f"{top}/VERSION.dat" and member.isfile():
                    version_dat = tar.extractfile(member).read().decode("ascii", "replace")
    except (tarfile.TarError, OSError, EOFError) as exc:
        return f"not a readable tarball ({exc})"
    if version_dat is None:
        return f"has no {top}/VERSION.dat"
    fields = dict(line.split("=", 1) for line in version_dat.splitlines() if "=" in line)
    says = ".".join(fields.get(k, "?") for k in ("MAJOR", "MINOR", "PATCH"))
    return None if says == version else f"{top}/VERSION.dat says {says}"


def _download_verified(apt: PrivateApt, deb_version: str, pin: dict, downloads: Path) -> tuple[Path | None, str]:
    """One source package's upstream tarball, verified, moved into downloads; or None and why not."""
    version = upstream_of(deb_version)
    with tempfile.TemporaryDirectory(dir=downloads) as tmp:  # a fresh one: apt reuses files it finds
        orig = Path(tmp) / f"openssl_{version}.orig.tar.gz"
        problem = apt.download(deb_version, Path(tmp))
        if problem is None:
            problem = tarball_problem(orig, version, pin) if orig.is_file() else f"apt fetched no {orig.name}"
        if problem is not None:
            return None, problem
        final = downloads / orig.name
        shutil.move(str(orig), final)
        return final, ""


def fetch_from_debian(pin: dict, series: str, downloads: Path) -> tuple[Path, str]:
    """The first source package that downloads and verifies, in the order of the module docstring."""
    archives = debian_archives()
    pinned = pin["debian_version"]
    tried: list[tuple[str, str, str]] = []  # (suite, version, outcome), in the order tried
    failed: dict[tuple[str, str], str] = {}  # (archive, version) -> the suite it failed from
    unreachable: dict[str, str] = {}  # host -> the suite whose index could not reach it
    for suite in pin["debian_suites"]:
        uri = archive_for(suite, archives)
        host = urllib.parse.urlsplit(uri).netloc
        if host in unreachable:  # no need to wait for apt's retries again
            tried.append((suite, "-", f"not tried: {host} was not reached for {unreachable[host]}"))
            continue
        apt = PrivateApt(cache_root(), suite, uri, archives[2])
        problem = apt.update()
        named = apt.versions()
        if problem and not named:
            tried.append((suite, "-", f"index not available: {problem}"))
            if _UNREACHABLE.search(problem):
                unreachable[host] = suite
            continue
        if problem:
            log(f"{suite}: {problem} (going on with the index apt has)")
        candidates = suite_candidates(named, pinned, series)
        if not candidates:
            tried.append((suite, "-", f"names no openssl {series} revision at or after {pinned} "
                                      f"(it names: {', '.join(named) or 'none'})"))
        for deb_version in candidates:
            if (uri, deb_version) in failed:  # suites of one archive share its pool: same files
                tried.append((suite, deb_version, f"not retried: same files as {failed[uri, deb_version]}"))
                continue
            log(f"trying openssl {deb_version} from {suite}")
            tarball, problem = _download_verified(apt, deb_version, pin, downloads)
            if tarball:
                if deb_version != pinned:
                    log(f"pinned {pinned} ({pin['debian_suites'][0]}) could not be used; using {deb_version} "
                        f"from {suite} (SHA-256 {sha256_of(tarball)}): record it in {PINS_FILE.name}")
                return tarball, upstream_of(deb_version)
            log(f"openssl {deb_version} from {suite}: {problem}")
            tried.append((suite, deb_version, problem))
            failed[uri, deb_version] = suite
    fail(f"no openssl {series} source package from Debian could be used; tried, in order:\n"
         + "\n".join(f"  {suite} {version}: {outcome}" for suite, version, outcome in tried)
         + f"\n(suites from {PINS_FILE.name}; --source upstream fetches {pin['upstream_url']} instead)")
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
        problem = tarball_problem(tarball, version, pin)
        if problem:
            tarball.unlink()
            fail(f"{pin['upstream_url']}: {problem}")
        return tarball, version
    return fetch_from_debian(pin, series, downloads)  # verified candidate by candidate


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
