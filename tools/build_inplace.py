#!/usr/bin/env python3
"""Developer helper: compile asyncssl._openssl into src/asyncssl/ against one OpenSSL leg.

    python tools/build_inplace.py            # the system OpenSSL
    python tools/build_inplace.py 3.5        # the cached 3.5 build (provisioned if missing)
    python tools/build_inplace.py system --tree /tmp/t30   # a private copy of the package
                                             # in /tmp/t30/asyncssl (PYTHONPATH=/tmp/t30)

Then run tests from the source tree with the environment it prints, e.g.
    PYTHONPATH=src python -m pytest
(the provisioned builds have their own soname, so no library path is needed).
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
    args = sys.argv[1:]
    tree = None
    if "--tree" in args:
        i = args.index("--tree")
        tree = Path(args[i + 1]).resolve()
        del args[i:i + 2]
    leg = args[0] if args else "system"
    package = ROOT / "src" / "asyncssl"
    if tree is not None:
        shutil.rmtree(tree / "asyncssl", ignore_errors=True)
        shutil.copytree(package, tree / "asyncssl", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
        package = tree / "asyncssl"
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
        # cffi compiles inside tmp: its name would be the debug information's compilation
        # directory. build_ffi.py maps the checkout away; CFLAGS (honoured by distutils) maps this.
        os.environ["CFLAGS"] = " ".join([os.environ.get("CFLAGS", ""), *module.prefix_map_flags(tmp)]).strip()
        built = Path(module.ffibuilder.compile(tmpdir=tmp))
        for old in package.glob("_openssl*.so"):
            old.unlink()
        shutil.copy2(built, package / built.name)
    print(f"built {package / built.name} against {leg}")
    print(f"run: PYTHONPATH={package.parent} python -m pytest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
