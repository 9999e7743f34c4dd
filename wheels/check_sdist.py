#!/usr/bin/env python3
"""Check an sdist carries what a build from it needs, and none of a work tree's caches.

    python wheels/check_sdist.py dist/asyncssl-X.tar.gz

Needed: the cffi build script and declarations, the C sources compiled into the extension
(src/asyncssl/testing/simaccel), the package, the wheel tooling and pins, the tests. Refused: compiled
objects, virtualenvs and nox/pytest caches, build/ and dist/, benchmark results.
"""

from __future__ import annotations

import re
import sys
import tarfile
from pathlib import PurePosixPath

REQUIRED = [
    "build_ffi.py", "setup.py", "pyproject.toml", "MANIFEST.in", "PKG-INFO",
    "src/_cffi_src/__init__.py", "src/asyncssl/__init__.py",
    "wheels/openssl-pins.json", "wheels/provision_openssl.py",
]
REQUIRED_GLOBS = ["src/_cffi_src/*.py", "src/asyncssl/testing/simaccel/*.c", "src/asyncssl/bench/csrc/*.c",
                  "src/asyncssl/testing/simaccel/*.h", "tests/**/*.py"]
FORBIDDEN = re.compile(r"(^|/)(\.nox|\.venv|build|dist|__pycache__|\.pytest_cache|\.hypothesis)/"
                       r"|^benchmarks/results/|\.(so|o|pyc|dylib)$|^src/asyncssl/_openssl\.c$")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.exit(__doc__)
    with tarfile.open(argv[0]) as tar:
        # Member names start with the "asyncssl-X/" directory; compare paths inside it.
        names = {str(PurePosixPath(*PurePosixPath(m.name).parts[1:])) for m in tar.getmembers() if m.isfile()}
    problems = [f"missing {name}" for name in REQUIRED if name not in names]
    for pattern in REQUIRED_GLOBS:
        if not any(PurePosixPath(n).match(pattern.replace("**/", "*/")) or PurePosixPath(n).match(pattern)
                   for n in names):
            problems.append(f"nothing matches {pattern}")
    problems += [f"must not ship {name}" for name in sorted(names) if FORBIDDEN.search(name)]
    print(f"check_sdist: {len(names)} files in {argv[0]}")
    for problem in problems:
        print(f"check_sdist: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
