"""No path of the machine that built asyncssl is written into its extension (issue 11).

The built extension (the real ``asyncssl._openssl`` under test: a source build, an in-place
build or an installed wheel) is read as bytes. Paths could enter it through ``__FILE__``
(OpenSSL's OPENSSL_FILE, the simulated accelerator's error debug info), the debug
information's file and compilation-directory names, or constants; build_ffi.py maps the
checkout to "." (-ffile-prefix-map) and src/_cffi_src/simaccel.py includes the provider's
sources by name.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import asyncssl
from asyncssl import _openssl

ROOT = Path(__file__).resolve().parents[2]


def extension_bytes() -> bytes:
    package = Path(asyncssl.__file__).resolve().parent
    path = Path(_openssl.__file__).resolve()
    assert path.parent == package and path.name.startswith("_openssl"), path
    return path.read_bytes()


def absolute_forms(directory: Path) -> set[bytes]:
    """The directory as written and resolved (a symlinked checkout or temp dir differs)."""
    return {str(directory).encode(), str(directory.resolve()).encode(), str(directory.absolute()).encode()}


def test_the_extension_names_neither_the_checkout_nor_the_package_directory():
    data = extension_bytes()
    # The simulated accelerator's __FILE__ is in the binary (its error debug info), so the
    # strings a build path would be part of really are there to inspect: relative ones.
    assert b"simaccel_err.c" in data
    places = absolute_forms(ROOT) | absolute_forms(Path(asyncssl.__file__).resolve().parent.parent)
    found = sorted(p.decode() for p in places if p in data)
    assert not found, f"the extension contains the build path(s) {found}"


def test_no_absolute_path_to_the_providers_sources_or_the_build_directory():
    data = extension_bytes()
    # Wherever the extension was built (another checkout, an unpacked sdist): an absolute path
    # (one that does not continue a relative "./src/...") to a directory or file named simaccel*.
    path_char = rb"[\w.+/-]"
    provider = re.compile(rb"(?<!" + path_char + rb")/" + path_char + rb"*/simaccel(?:_\w+\.[ch]|\.h)?(?![\w.-])")
    # The temporary directory cffi's ffi.compile builds in (tools/build_inplace.py): the debug
    # information's compilation directory unless it is mapped too.
    temp = re.compile(rb"(?<!" + path_char + rb")" + re.escape(tempfile.gettempdir().encode())
                      + rb"/tmp[a-z0-9_]{8}(?![\w.-])")
    found = sorted({m.group().decode(errors="replace") for pattern in (provider, temp) for m in pattern.finditer(data)})
    assert not found, f"the extension contains build-machine paths {found}"
