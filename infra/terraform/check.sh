#!/usr/bin/env bash
# Offline checks of the Terraform under terraform/: formatting, then a
# checkov scan that fails on any failed check. Checks that do not apply are
# skipped inline, next to the resource, with their reason.
#
#   infra/terraform/check.sh
#
# checkov is pinned and installed once into .tailor/tools/checkov-venv.
# Neither step needs the provider registry: `terraform init/validate` are
# not run here.
set -euo pipefail

CHECKOV_VERSION=3.3.30

cd "$(dirname "$0")/../.."

if ! command -v terraform >/dev/null 2>&1; then
  echo "check.sh: terraform is not on PATH" >&2
  exit 2
fi
echo "== terraform fmt -check -recursive terraform"
terraform fmt -check -recursive -diff terraform

venv=.tailor/tools/checkov-venv
if [ ! -x "$venv/bin/checkov" ] || ! "$venv/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  echo "== installing checkov $CHECKOV_VERSION into $venv"
  [ -d "$venv" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi

echo "== checkov $CHECKOV_VERSION"
# Without --soft-fail, checkov exits non-zero when any check fails.
"$venv/bin/checkov" --skip-download --quiet --compact \
  -d terraform --framework terraform
