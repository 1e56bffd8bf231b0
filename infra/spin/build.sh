#!/usr/bin/env bash
# Builds Tailor's two Spin components and, for the tests, composes each
# with the test-side provider of Spin's SQLite and variables interfaces:
#
#   target/spin/tailor-stream.wasm   ingest, enrich, features and consent,
#                                    chained in-process; no model engine.
#                                    spin.toml's ingest, consent and
#                                    features components run it
#   target/spin/tailor-score.wasm    score alone; spin.toml's score
#                                    component runs it
#   target/spin/tailor-<c>.test.wasm each, its Spin imports provided, for
#                                    `wasmtime serve`
#
# Each is the component crate built with its own feature alone, so each
# holds only the code of what it runs. Release builds for wasm32-wasip2;
# the tools come from tools.sh. Prints the output directory.
set -euo pipefail
cd "$(dirname "$0")/../.."

rustup target add wasm32-wasip2 >&2
tools=$(infra/spin/tools.sh)
out=target/spin
built=target/wasm32-wasip2/release
mkdir -p "$out"
cargo build --locked --release --target wasm32-wasip2 -p tailor-spin-provider >&2
# The composer names an instance after its file, in kebab case.
cp "$built/tailor_spin_provider.wasm" "$out/test-provider.wasm"
for component in stream score; do
  cargo build --locked --release --target wasm32-wasip2 -p tailor-spin-component \
    --no-default-features --features "$component" >&2
  cp "$built/tailor_spin_component.wasm" "$out/tailor-$component.wasm"
  "$tools/wasm-tools" compose "$out/tailor-$component.wasm" \
    -d "$out/test-provider.wasm" -o "$out/tailor-$component.test.wasm" >&2
done
echo "$out"
