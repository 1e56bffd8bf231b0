#!/usr/bin/env bash
# Builds the Spin component and, for the tests, composes it with the
# test-side provider of Spin's SQLite and variables interfaces:
#
#   target/spin/tailor.wasm        the component spin.toml deploys
#   target/spin/tailor.test.wasm   the same, its Spin imports provided, for
#                                  `wasmtime serve`
#
# Release builds for wasm32-wasip2; the tools come from tools.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

rustup target add wasm32-wasip2 >&2
tools=$(infra/spin/tools.sh)
cargo build --locked --release --target wasm32-wasip2 \
  -p tailor-spin-component -p tailor-spin-provider >&2
out=target/spin
mkdir -p "$out"
built=target/wasm32-wasip2/release
cp "$built/tailor_spin_component.wasm" "$out/tailor.wasm"
# The composer names an instance after its file, in kebab case.
cp "$built/tailor_spin_provider.wasm" "$out/test-provider.wasm"
"$tools/wasm-tools" compose "$out/tailor.wasm" \
  -d "$out/test-provider.wasm" -o "$out/tailor.test.wasm" >&2
echo "$out"
