#!/bin/sh
# The packaging checks of .ci/run: the GitHub workflows are valid, and cibuildwheel would build
# exactly the wheels listed in wheels/expected-identifiers.txt. Fast and offline apart from
# installing the pinned tools (check-jsonschema's GitHub schemas are vendored in the package).
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check \
    "$(grep '^cibuildwheel==' wheels/tools-requirements.txt)" \
    "$(grep '^check-jsonschema==' wheels/tools-requirements.txt)"

.venv/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
for platform in linux macos; do
    .venv/bin/cibuildwheel --print-build-identifiers --platform "$platform" .
done >"$actual"
if ! grep -v '^#' wheels/expected-identifiers.txt | diff -u - "$actual"; then
    echo "check_packaging.sh: cibuildwheel's identifiers (+) differ from wheels/expected-identifiers.txt (-)" >&2
    exit 1
fi
echo "check_packaging.sh: workflows valid; cibuildwheel builds the $(wc -l <"$actual") expected wheels"
