#!/bin/sh
# cibuildwheel hook: build the pinned OpenSSL 3.5 statically (no-shared -fPIC) and point
# $OPENSSL_DIR, which pyproject.toml sets to a fixed path, at the finished prefix.
#
# Linux (before-all, once per image): the image's own CPython runs the provisioning script.
# macOS (before-build, once per wheel): the build's ARCHFLAGS picks the Configure target
# (darwin64-<arch>-cc) and provision_openssl.py turns MACOSX_DEPLOYMENT_TARGET into
# -mmacosx-version-min; a finished build for the same pair is reused, so only the first
# wheel of each architecture pays for it. The tarball always comes from upstream and must
# match the SHA-256 in wheels/openssl-pins.json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${OPENSSL_DIR:?set OPENSSL_DIR (pyproject.toml [tool.cibuildwheel] environment)}"

# A Python new enough for the script: manylinux/musllinux images keep theirs under /opt/python
# (the system python3 of manylinux_2_28 is 3.6); on macOS the build's own python is on PATH.
python=
for candidate in /opt/python/cp312-cp312/bin/python /opt/python/cp311-cp311/bin/python python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null; then
        python=$candidate
        break
    fi
done
[ -n "$python" ] || { echo "cibw_static_openssl.sh: no Python >= 3.8 found" >&2; exit 1; }

# OPENSSLDIR (where openssl.cnf and the default CA store are looked for) is baked into the
# wheel: it must be a root-owned path on users' machines, never this build machine's
# cache or home directory (a user who could write there could inject configuration).
# CA certificates are found through asyncssl's distribution fallbacks (asyncssl/_trust.py).
set -- 3.5 --static --source upstream
case "$(uname -s)" in
Linux) set -- "$@" --openssldir /usr/local/ssl ;;
Darwin)
    set -- "$@" --openssldir /Library/asyncssl/ssl
    # cibuildwheel builds one architecture per wheel ("-arch arm64" or "-arch x86_64").
    case "${ARCHFLAGS:-}" in
    *arm64*x86_64* | *x86_64*arm64*)
        echo "cibw_static_openssl.sh: universal2 is not built (one wheel per architecture)" >&2
        exit 1 ;;
    *arm64*) set -- "$@" --target darwin64-arm64-cc ;;
    *x86_64*) set -- "$@" --target darwin64-x86_64-cc ;;
    *) echo "cibw_static_openssl.sh: ARCHFLAGS='${ARCHFLAGS:-}' names no architecture" >&2; exit 1 ;;
    esac ;;
esac

prefix=$("$python" "$here/provision_openssl.py" "$@" | tail -n 1)
mkdir -p "$(dirname "$OPENSSL_DIR")"
ln -sfn "$prefix" "$OPENSSL_DIR"
echo "OPENSSL_DIR=$OPENSSL_DIR -> $prefix"
"$OPENSSL_DIR/bin/openssl" version -a | head -n 3
