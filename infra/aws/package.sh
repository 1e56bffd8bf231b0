#!/usr/bin/env bash
# Build Tailor's Lambda packages: one zip per function, holding the
# `bootstrap` executable for the provided.al2023 runtime, built with that
# function alone (score's zip also holds its model), and the ONNX Runtime
# layer for score.
#
#   infra/aws/package.sh [arm64|x86_64]       (default: arm64)
#
# Writes, under target/lambda (or $CARGO_TARGET_DIR/lambda):
#
#   tailor-<function>/bootstrap.zip   ingest, enrich, features, consent, score;
#                                     the Terraform module's default paths
#   tailor-slow-lane/bootstrap.zip    the slow lane's scheduled job (score's
#                                     code and model, and the S3 client)
#   ort-layer-<arch>.zip              lib/libonnxruntime.so, mounted at /opt
#
# The function zips of the last run overwrite those of the previous one,
# whatever its architecture; the layer zip is named after its architecture.
#
# cargo-lambda and zig (its cross linker) are pinned and installed once
# into .tailor/tools/cargo-lambda-venv. The ONNX Runtime library comes from
# infra/ort/fetch.sh, which checks it against a pinned checksum.
set -euo pipefail

CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1
MODEL=models/conversion-v1

usage() { echo "usage: infra/aws/package.sh [arm64|x86_64]" >&2; }

cd "$(dirname "$0")/../.."

case "${1:-arm64}" in
  arm64 | aarch64) arch=arm64 flag=--arm64 triple=aarch64-unknown-linux-gnu ort_arch=aarch64 ;;
  x86_64 | x86-64) arch=x86_64 flag=--x86-64 triple=x86_64-unknown-linux-gnu ort_arch=x86_64 ;;
  -h | --help) usage; exit 0 ;;
  *) usage; exit 2 ;;
esac
for tool in cargo rustup python3 zip unzip; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "package.sh: $tool is not on PATH" >&2
    exit 2
  fi
done

venv=.tailor/tools/cargo-lambda-venv
if ! "$venv/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "^cargo-lambda $CARGO_LAMBDA_VERSION " \
  || ! "$venv/bin/python" -m ziglang version 2>/dev/null | grep -qx "$ZIGLANG_VERSION"; then
  echo "== installing cargo-lambda $CARGO_LAMBDA_VERSION and ziglang $ZIGLANG_VERSION into $venv"
  [ -d "$venv" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
fi
# cargo-lambda is a cargo subcommand; it finds zig through `python3 -m ziglang`.
PATH="$PWD/$venv/bin:$PATH"
export PATH

if ! rustup target list --installed | grep -qx "$triple"; then
  echo "== rustup target add $triple"
  rustup target add "$triple"
fi

# One build per function, each with that function's feature alone, so each
# package holds only the code of the function it runs: a stream function's
# links neither model engine, ingest's alone the event contract.
#
# Without link-time optimization: each function's build is then a link of
# compiled code (about 35 s here) rather than a whole-program optimization
# of everything it holds (90 s, and nearly 4 minutes for score), for the
# same package sizes (within 2%) and the same start-up (docs/benchmarks.md).
export CARGO_PROFILE_RELEASE_LTO=false
for f in ingest enrich features consent score slow-lane; do
  echo "== cargo lambda build --release -p tailor-aws --bin tailor-$f --no-default-features --features $f --output-format zip $flag"
  cargo lambda build --release -p tailor-aws --bin "tailor-$f" \
    --no-default-features --features "$f" --output-format zip "$flag"
done

out=${CARGO_TARGET_DIR:-target}/lambda
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
zips=()
for f in ingest enrich features consent score slow-lane; do
  zips+=("$out/tailor-$f/bootstrap.zip")
  if [ ! -f "$out/tailor-$f/bootstrap.zip" ]; then
    echo "package.sh: cargo lambda did not write $out/tailor-$f/bootstrap.zip" >&2
    exit 1
  fi
done

# score and the slow lane's job load the model from models/conversion-v1
# beside `bootstrap` (/var/task on Lambda). cargo lambda's `include` would
# add it to every function's zip, so it goes into those two zips here, and
# only there.
for f in score slow-lane; do
  echo "== adding $MODEL to tailor-$f/bootstrap.zip"
  (cd shared && zip -q -X -r "$out/tailor-$f/bootstrap.zip" "$MODEL")
  listing=$(unzip -Z1 "$out/tailor-$f/bootstrap.zip")
  for file in shared/"$MODEL"/*; do
    if ! grep -qx "$MODEL/${file##*/}" <<<"$listing"; then
      echo "package.sh: $MODEL/${file##*/} is missing from tailor-$f/bootstrap.zip" >&2
      exit 1
    fi
  done
done

echo "== ONNX Runtime layer for $ort_arch"
lib=$(infra/ort/fetch.sh "$ort_arch")
layer="$out/ort-layer-$arch.zip"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/lib"
cp "$lib" "$work/lib/libonnxruntime.so"
rm -f "$layer"
(cd "$work" && zip -q -X -r "$layer" lib)

zips+=("$layer")
echo "== packages ($arch)"
for z in "${zips[@]}"; do
  bytes=$(stat -c %s "$z")
  printf '%-44s %10s bytes  %5s MiB\n' "${z#"$PWD"/}" "$bytes" \
    "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')"
done
