"""wheels/provision_openssl.py against a Debian archive that has moved on: the order it tries
source packages in, how it verifies each, and the one message it stops with.

The archive is a directory written here by hand (Release and Sources per suite, files in pool/)
and read by the real apt-get through a file: URI: no network, no apt-utils, and nothing of the
machine's /etc/apt (APT_CONFIG points apt at an empty configuration).  A version the index
names but whose files are left out answers like a 404 on a mirror.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from helpers.net import free_port
from helpers.wheels import load_wheels_module

pytestmark = pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (Debian or Ubuntu)")

provision = load_wheels_module("provision_openssl")

PINNED = "3.5.7-1~deb13u2"


def release_tarball(version: str, top: str | None = None, readme: str = "", says: str | None = None) -> bytes:
    """A tiny stand-in for an OpenSSL release tarball: openssl-X.Y.Z/ with its VERSION.dat.

    The same arguments give the same bytes (no timestamps), other `readme` text other bytes;
    `says` puts another version into VERSION.dat.
    """
    top = top or f"openssl-{version}"
    major, minor, patch = (says or version).split(".")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        directory = tarfile.TarInfo(top)
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        for name, text in (("VERSION.dat", f"MAJOR={major}\nMINOR={minor}\nPATCH={patch}\n"),
                           ("README.md", f"stand-in for OpenSSL {version}\n{readme}")):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    return buf.getvalue()


GOOD_357 = release_tarball("3.5.7")


class FakeDebianArchive:
    """Debian archives (``debian``, ``debian-security``) in a directory, as apt reads them."""

    def __init__(self, root: Path):
        self.root = root
        self.indexes: dict[tuple[str, str], list[str]] = {}  # (archive, suite) -> Sources stanzas

    def uri(self, archive: str = "debian") -> str:
        return (self.root / archive).as_uri()

    def add(self, suite: str, debian_version: str, orig: bytes | None = None, served: bool = True) -> None:
        """List openssl `debian_version` in `suite`'s index; unless served, leave its files out."""
        archive = "debian-security" if suite.endswith("-security") else "debian"
        directory = "pool/updates/main/o/openssl" if archive == "debian-security" else "pool/main/o/openssl"
        upstream = debian_version.split("-")[0]
        files = {
            f"openssl_{debian_version}.dsc": f"Source: openssl\nVersion: {debian_version}\n".encode(),
            f"openssl_{upstream}.orig.tar.gz": orig if orig is not None else release_tarball(upstream),
            f"openssl_{debian_version}.debian.tar.xz": f"packaging of {debian_version}\n".encode(),
        }
        if served:
            pool = self.root / archive / directory
            pool.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (pool / name).write_bytes(data)
        md5 = "".join(f"\n {hashlib.md5(d).hexdigest()} {len(d)} {n}" for n, d in files.items())
        sha = "".join(f"\n {hashlib.sha256(d).hexdigest()} {len(d)} {n}" for n, d in files.items())
        self.indexes.setdefault((archive, suite), []).append(
            f"Package: openssl\nBinary: openssl, libssl-dev\nVersion: {debian_version}\n"
            "Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\n"
            f"Architecture: any all\nFormat: 3.0 (quilt)\nFiles:{md5}\nChecksums-Sha256:{sha}\n"
            f"Directory: {directory}\nPriority: source\nSection: libs\n")

    def add_other_package(self, suite: str) -> None:
        """A suite whose index carries something, but no openssl."""
        self.indexes.setdefault(("debian", suite), []).append(
            "Package: hello\nBinary: hello\nVersion: 2.10-3\nMaintainer: nobody <nobody@example.org>\n"
            "Architecture: any\nFormat: 3.0 (quilt)\nDirectory: pool/main/h/hello\n")

    def publish(self) -> None:
        for (archive, suite), stanzas in self.indexes.items():
            dists = self.root / archive / "dists" / suite
            (dists / "main" / "source").mkdir(parents=True, exist_ok=True)
            sources = "\n".join(stanzas).encode()
            (dists / "main" / "source" / "Sources").write_bytes(sources)
            (dists / "Release").write_text(
                f"Origin: asyncssl-test\nLabel: asyncssl-test\nSuite: {suite}\nCodename: {suite}\n"
                "Date: Wed, 02 Dec 2026 00:00:00 UTC\nArchitectures: amd64\nComponents: main\n"
                f"SHA256:\n {hashlib.sha256(sources).hexdigest()} {len(sources)} main/source/Sources\n")


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDebianArchive:
    fake = FakeDebianArchive(tmp_path / "mirror")
    # apt with an empty configuration of its own: none of the machine's sources, proxies or pins.
    empty = tmp_path / "apt-etc"
    empty.mkdir()
    (empty / "status").touch()
    apt_conf = tmp_path / "apt.conf"
    apt_conf.write_text("".join(f'{key} "{value}";\n' for key, value in {
        "Dir::Etc::main": empty / "apt.conf", "Dir::Etc::parts": empty,
        "Dir::Etc::preferences": empty / "preferences", "Dir::Etc::preferencesparts": empty,
        "Dir::Etc::trusted": empty / "trusted.gpg", "Dir::Etc::trustedparts": empty,
        "Dir::State::status": empty / "status",
        "Acquire::Retries": 0}.items()))  # an unreachable host fails at once
    monkeypatch.setenv("APT_CONFIG", str(apt_conf))
    monkeypatch.setenv("ASYNCSSL_OPENSSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ASYNCSSL_DEBIAN_MIRROR", fake.uri("debian"))
    monkeypatch.setenv("ASYNCSSL_DEBIAN_SECURITY_MIRROR", fake.uri("debian-security"))
    monkeypatch.setenv(provision.UNSIGNED_TEST_ARCHIVE_ENV, "1")  # the hand-written archive has no signature
    return fake


def pin(*suites: str) -> dict:
    return {"version": "3.5.7", "debian_version": PINNED, "debian_suites": list(suites),
            "sha256": hashlib.sha256(GOOD_357).hexdigest(),
            "upstream_url": "https://example.invalid/openssl-3.5.7.tar.gz"}


def tried_in_order(stderr: str) -> list[tuple[str, str]]:
    return [(suite, version) for version, suite in re.findall(r"trying openssl (\S+) from (\S+)", stderr)]


def test_the_pinned_revision_comes_first_when_it_is_served(archive: FakeDebianArchive, capsys):
    archive.add("trixie", PINNED, GOOD_357)
    archive.add("trixie", "3.5.9-1~deb13u1")  # newer, served too: not wanted while the pin is there
    archive.add("forky", "3.5.9-1")
    archive.publish()
    tarball, version = provision.obtain_tarball(pin("trixie", "forky"), "3.5", "debian")
    assert (version, tarball.read_bytes()) == ("3.5.7", GOOD_357)
    assert tried_in_order(capsys.readouterr().err) == [("trixie", PINNED)]


def test_pinned_then_newer_revisions_nearest_first_then_the_other_suites(archive: FakeDebianArchive, capsys):
    # What trixie looked like on 2026-12-02, and worse: the index runs ahead of the files.
    archive.add("trixie", "3.5.5-1~deb13u1")  # older than the pin: never taken
    archive.add("trixie", PINNED, GOOD_357, served=False)
    archive.add("trixie", "3.5.10-1~deb13u1", release_tarball("3.5.10", top="openssl-3.5.8"))  # not what it claims
    archive.add("trixie", "3.5.9-1~deb13u1", served=False)
    archive.add("trixie", "3.5.8-1~deb13u1", release_tarball("3.5.8", says="3.5.6"))  # nor this one
    archive.add("trixie", "3.6.1-1")  # another series
    archive.add("trixie-security", "3.5.7-1~deb13u3", release_tarball("3.5.7", readme="repacked"))  # not the pin's bytes
    archive.add_other_package("forky")
    archive.add("sid", "3.5.12-1")
    archive.add("sid", "3.5.11-1")
    archive.publish()
    tarball, version = provision.obtain_tarball(pin("trixie", "trixie-security", "forky", "sid"), "3.5", "debian")
    err = capsys.readouterr().err
    assert tried_in_order(err) == [
        ("trixie", PINNED), ("trixie", "3.5.8-1~deb13u1"), ("trixie", "3.5.9-1~deb13u1"),
        ("trixie", "3.5.10-1~deb13u1"), ("trixie-security", "3.5.7-1~deb13u3"), ("sid", "3.5.11-1")]
    outcomes = dict(re.findall(r"openssl (\S+ from \S+): (.*)", err))
    assert "File not found" in outcomes[f"{PINNED} from trixie"]
    assert outcomes["3.5.8-1~deb13u1 from trixie"] == "openssl-3.5.8/VERSION.dat says 3.5.6"
    assert "File not found" in outcomes["3.5.9-1~deb13u1 from trixie"]
    assert outcomes["3.5.10-1~deb13u1 from trixie"] == "holds 'openssl-3.5.8', outside openssl-3.5.10/"
    assert outcomes["3.5.7-1~deb13u3 from trixie-security"].endswith(f"is not the pinned {pin()['sha256']}")
    assert version == "3.5.11" and tarball.read_bytes() == release_tarball("3.5.11")
    assert tarball.name == "openssl_3.5.11.orig.tar.gz"
    # it says what it took instead of the pin, with the SHA-256 to record
    assert f"using 3.5.11-1 from sid (SHA-256 {hashlib.sha256(tarball.read_bytes()).hexdigest()})" in err


def test_a_pinned_version_with_the_wrong_sha256_is_rejected(archive: FakeDebianArchive, capsys):
    archive.add("trixie", PINNED, release_tarball("3.5.7", readme="repacked"))  # well-formed, other bytes
    archive.add("trixie", "3.5.9-1~deb13u1")
    archive.publish()
    tarball, version = provision.obtain_tarball(pin("trixie"), "3.5", "debian")
    err = capsys.readouterr().err
    assert version == "3.5.9"
    assert f"openssl {PINNED} from trixie: SHA-256 " in err and f"is not the pinned {pin()['sha256']}" in err


def test_when_everything_fails_one_message_lists_every_suite_version_and_outcome(archive: FakeDebianArchive,
                                                                                capsys):
    archive.add("trixie", PINNED, GOOD_357, served=False)
    archive.add("trixie", "3.5.9-1~deb13u1", served=False)
    archive.add("forky", PINNED, GOOD_357, served=False)  # the same pool as trixie's
    archive.add("forky", "3.6.1-1")
    archive.publish()  # and no trixie-security at all
    with pytest.raises(SystemExit) as stopped:
        provision.obtain_tarball(pin("trixie", "trixie-security", "forky"), "3.5", "debian")
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1
    message = err[err.index("error:"):].splitlines()
    assert message[0] == "error: no openssl 3.5 source package from Debian could be used; tried, in order:"
    attempts = [line.split(": ", 1) for line in message[1:-1]]
    assert [where for where, _ in attempts] == [
        f"  trixie {PINNED}", "  trixie 3.5.9-1~deb13u1", "  trixie-security -", f"  forky {PINNED}"]
    outcomes = [outcome for _, outcome in attempts]
    assert f"openssl_{PINNED}.dsc" in outcomes[0] and "openssl_3.5.7.orig.tar.gz" in outcomes[0]
    assert "openssl_3.5.9.orig.tar.gz" in outcomes[1]
    assert outcomes[2].startswith("index not available:") and "trixie-security" in outcomes[2]
    assert outcomes[3] == "not retried: same files as trixie"
    assert "--source upstream" in message[-1]
    # nothing half-downloaded is left behind
    assert list((Path(provision.cache_root()) / "downloads").iterdir()) == []


def test_a_suite_naming_no_revision_of_the_series_says_what_it_names(archive: FakeDebianArchive, capsys):
    archive.add("experimental", "4.0.2-1")
    archive.add("experimental", "3.5.5-1")  # older than the pin
    archive.publish()
    with pytest.raises(SystemExit):
        provision.obtain_tarball(pin("experimental"), "3.5", "debian")
    err = capsys.readouterr().err
    assert f"  experimental -: names no openssl 3.5 revision at or after {PINNED} (it names: 4.0.2-1, 3.5.5-1)" in err
    assert "trying" not in err


def test_an_unsigned_archive_is_refused_without_the_test_switch(archive: FakeDebianArchive, capsys, monkeypatch):
    archive.add("trixie", PINNED, GOOD_357)
    archive.publish()
    monkeypatch.delenv(provision.UNSIGNED_TEST_ARCHIVE_ENV)
    with pytest.raises(SystemExit):
        provision.obtain_tarball(pin("trixie"), "3.5", "debian")
    err = capsys.readouterr().err
    assert "trixie -: index not available:" in err and "is not signed" in err and "trying" not in err


def test_the_test_switch_is_refused_for_a_network_mirror(archive: FakeDebianArchive, capsys, monkeypatch):
    monkeypatch.setenv("ASYNCSSL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    with pytest.raises(SystemExit):
        provision.obtain_tarball(pin("trixie"), "3.5", "debian")
    assert "is for local test archives (file: URIs)" in capsys.readouterr().err


def test_an_unreachable_host_is_not_asked_again_for_its_other_suites(archive: FakeDebianArchive, capsys, monkeypatch):
    monkeypatch.delenv(provision.UNSIGNED_TEST_ARCHIVE_ENV)
    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("ASYNCSSL_DEBIAN_MIRROR", f"http://{host}/debian")
    monkeypatch.setenv("ASYNCSSL_DEBIAN_SECURITY_MIRROR", f"http://{host}/debian-security")
    with pytest.raises(SystemExit):
        provision.obtain_tarball(pin("trixie", "trixie-security", "sid"), "3.5", "debian")
    err = capsys.readouterr().err
    assert "  trixie -: index not available: InRelease: Could not connect" in err
    assert f"  trixie-security -: not tried: {host} was not reached for trixie" in err
    assert f"  sid -: not tried: {host} was not reached for trixie" in err


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg to compare with")
def test_debian_versions_sort_as_dpkg_sorts_them():
    pairs = [("3.5.10-1", "3.5.9-1~deb13u1"), ("3.5.7-1~deb13u3", "3.5.7-1~deb13u2"), ("3.5.7-1", "3.5.7-1~deb13u9"),
             ("3.5.7~rc1-1", "3.5.7-1"), ("1:3.0.0-1", "3.5.7-1"), ("3.5.7-1+b1", "3.5.7-1"), ("3.5.7a-1", "3.5.7-1"),
             ("3.5.07-1", "3.5.7-1"), ("4.0.0-1", "3.6.5-1"), ("3.5.7-10", "3.5.7-9")]
    for a, b in pairs + [(b, a) for a, b in pairs]:
        ours = provision.compare_debian_versions(a, b)
        for op, holds in (("lt", ours < 0), ("eq", ours == 0), ("gt", ours > 0)):
            assert (subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0) == holds, (a, op, b)
