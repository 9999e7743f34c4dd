#!/usr/bin/env python3
"""Check that a repaired Linux wheel carries its OpenSSL inside the extension, not beside it.

    python wheels/check_wheel_static.py WHEELHOUSE/asyncssl-*.whl

Prints `auditwheel show`, then fails unless
- the wheel has a manylinux/musllinux tag (auditwheel accepted and repaired it),
- no extension module in it needs libssl or libcrypto (DT_NEEDED), and
- no libssl/libcrypto was grafted into the wheel (auditwheel vendors any shared one it finds,
  which would mean the static link silently fell back to the system library), and
- the simulated accelerator's C sources are in it as package data (asyncssl.testing finds
  them next to the installed package, not in a checkout).
Needs auditwheel (and its pyelftools) in the running environment.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

OPENSSL_LIB = re.compile(r"lib(ssl|crypto)[.-]")
# Package data (MANIFEST.in + include-package-data): a few that each part of the build needs.
SIMACCEL_SOURCES = [f"asyncssl/testing/simaccel/{name}" for name in ("simaccel.h", "simaccel_int.h", "simaccel_module.c",
                                                                     "simaccel_prov.c", "simaccel_device.c")]
BENCH_C_SOURCES = [f"asyncssl/bench/csrc/{name}" for name in ("tls_bench.c", "quic_bench_client.c",
                                                             "quic_bench_server.c", "quic_bench_common.h",
                                                             "quic_bench_alpn.h", "quic_connect_bench.c",
                                                             "quic_scale_server.c")]


def needed(elf_bytes: bytes) -> list[str]:
    elf = ELFFile(io.BytesIO(elf_bytes))
    return [tag.needed for section in elf.iter_sections() if isinstance(section, DynamicSection)
            for tag in section.iter_tags() if tag.entry.d_tag == "DT_NEEDED"]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.exit(__doc__)
    wheel = Path(argv[0])
    show = subprocess.run(["auditwheel", "show", str(wheel)], capture_output=True, text=True, check=True)
    print(show.stdout.strip())

    problems = []
    if not re.search(r"-(manylinux|musllinux)_\d+_\d+_\w+\.whl$", wheel.name):
        problems.append(f"{wheel.name} has no manylinux/musllinux tag")
    if OPENSSL_LIB.search(show.stdout):
        problems.append("auditwheel show names libssl/libcrypto as an external library")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        grafted = [n for n in names if OPENSSL_LIB.search(Path(n).name) and ".libs/" in n]
        if grafted:
            problems.append(f"OpenSSL shared libraries grafted into the wheel: {grafted}")
        missing = [f for f in SIMACCEL_SOURCES if f not in names]
        if missing:
            problems.append(f"the simulated accelerator's sources are not in the wheel: {missing}")
        missing = [f for f in BENCH_C_SOURCES if f not in names]
        if missing:
            problems.append(f"the bench's C contenders are not in the wheel: {missing}")
        extensions = [n for n in names if n.endswith(".so")]
        if not extensions:
            problems.append("no extension module in the wheel")
        for name in extensions:
            deps = needed(zf.read(name))
            print(f"{name}: DT_NEEDED {', '.join(deps) or '(none)'}")
            if any(OPENSSL_LIB.search(d) for d in deps):
                problems.append(f"{name} needs a shared OpenSSL: {deps}")
    for problem in problems:
        print(f"check_wheel_static: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_wheel_static: {wheel.name}: OpenSSL is linked statically, nothing external")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
