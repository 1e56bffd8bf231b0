#!/usr/bin/env bash
# Fetch ONNX Runtime's shared library for the `ort` engine from the
# onnxruntime wheel on PyPI (its own CDN download is not used), verify it,
# and place it at infra/ort/<arch>/libonnxruntime.so. Idempotent.
#
#   infra/ort/fetch.sh [x86_64|aarch64]
#
# The `ort` engine finds the library through ORT_DYLIB_PATH, or at the path
# this script prints.
set -euo pipefail
VERSION=1.31.1
ARCH=${1:-$(uname -m)}
case "$ARCH" in
  x86_64) SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3 ;;
  aarch64) SHA256=8aa3b76b28c778a2b1dd660d34161adb1d508c9ccd04ff9dc80e26eca5df8467 ;;
  *) echo "fetch.sh: no ONNX Runtime build known for $ARCH" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/$ARCH/libonnxruntime.so"
if [ -f "$dest" ] && echo "$SHA256  $dest" | sha256sum -c --quiet 2>/dev/null; then
  echo "$dest"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform "manylinux_2_28_$ARCH" --python-version 3.11 \
  "onnxruntime==$VERSION" -d "$work" >&2
python3 - "$work" "$ARCH" "$VERSION" <<'PY'
import glob, sys, zipfile
work, arch, version = sys.argv[1:]
wheel = glob.glob(f"{work}/onnxruntime-{version}-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    data = z.read(f"onnxruntime/capi/libonnxruntime.so.{version}")
open(f"{work}/libonnxruntime.so", "wb").write(data)
PY
echo "$SHA256  $work/libonnxruntime.so" | sha256sum -c --quiet
mkdir -p "$here/$ARCH"
mv "$work/libonnxruntime.so" "$dest"
echo "$dest"
