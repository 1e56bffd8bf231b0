#!/usr/bin/env bash
# Reproduce the shipped model, shared/models/conversion-v1, from scratch:
# generate a stream, export labelled features with the same code the online
# path uses, and train with the pinned Python packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet -r infra/models/requirements.txt
cargo run --release -- export-training --profiles 1500 --days 30 --seed 11 \
  --end 2026-11-25T00:00:00Z -o "$work/train.csv"
"$work/venv/bin/python" infra/models/train.py --data "$work/train.csv" \
  --out shared/models/conversion-v1 --version 1.0.0 --trees
