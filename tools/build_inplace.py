#!/usr/bin/env python3
"""Developer helper: compile asyncssl._openssl into src/asyncssl/ against one OpenSSL leg.

    python tools/build_inplace.py            # the system OpenSSL
    python tools/build_inplace.py 3.5        # the cached 3.5 build (provisioned if missing)

Then run tests from the source tree with the environment it prints, e.g.
    LD_LIBRARY_PATH=<prefix>/lib PYTHONPATH=src python -m pytest
(the library path matters for 3.x legs: the system libssl.so.3 that `import ssl` loads
would otherwise shadow the one asyncssl was built against).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    leg = sys.argv[1] if len(sys.argv) > 1 else "system"
    if leg != "system":
        prefix = subprocess.run([sys.executable, str(ROOT / "wheels" / "provision_openssl.py"), leg],
                                check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        os.environ["OPENSSL_DIR"] = prefix
    else:
        os.environ.pop("OPENSSL_DIR", None)
    spec = importlib.util.spec_from_file_location("build_ffi", ROOT / "build_ffi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(module.ffibuilder.compile(tmpdir=tmp))
        for old in (ROOT / "src" / "asyncssl").glob("_openssl*.so"):
            old.unlink()
        shutil.copy2(built, ROOT / "src" / "asyncssl" / built.name)
    libdir = f"{os.environ['OPENSSL_DIR']}/lib" if leg != "system" else ""
    print(f"built src/asyncssl/{built.name} against {leg}")
    print(f"run: {'LD_LIBRARY_PATH=' + libdir + ' ' if libdir else ''}PYTHONPATH=src python -m pytest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
