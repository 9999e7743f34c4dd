#!/bin/sh
# cibuildwheel before-all (Linux): what OpenSSL's Configure needs inside the wheel-building image.
# manylinux images (AlmaLinux) ship a minimal perl without IPC::Cmd and friends; musllinux
# (Alpine) images may lack perl and the kernel headers OpenSSL's afalg/ktls code includes.
set -eu
if command -v dnf >/dev/null 2>&1; then
    dnf install -y perl-core make
elif command -v yum >/dev/null 2>&1; then
    yum install -y perl-core make
elif command -v apk >/dev/null 2>&1; then
    apk add --no-cache perl make linux-headers
else
    echo "cibw_image_prereqs.sh: no dnf, yum or apk in this image; install perl and make" >&2
    exit 1
fi
