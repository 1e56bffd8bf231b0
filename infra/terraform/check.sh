#!/usr/bin/env bash
# Offline checks of the Terraform under terraform/, each of which fails the
# script:
#
#   1. `terraform fmt -check -recursive terraform`;
#   2. the committed provider schemas (infra/terraform/schema/) are what the
#      pinned CDKTF provider packages give (schema.sh);
#   3. every module under terraform/ against those schemas (validate.py):
#      resource types, arguments and blocks at every level, required ones,
#      references and their attributes, variables, locals, module inputs and
#      outputs, and that required_providers admits the checked versions;
#   4. the Python tests (test_*.py): validate.py's own, which break copies
#      of the AWS module and expect each break to be reported, and the GCP
#      and Spin modules' structure tests (test_gcp_structure.py,
#      test_spin_structure.py), which check each module against the
#      functions' deployment contract and break copies of it; the Spin one
#      also holds the application's manifest (infra/spin/spin.toml) to it;
#   5. a checkov scan that fails on any failed check. Checks that do not
#      apply are skipped inline, next to the resource, with their reason.
#
#   infra/terraform/check.sh
#
# Nothing here needs the provider registry: `terraform init/validate` are
# not run. What it installs, it installs once: the npm packages into
# .tailor/cache/npm, python-hcl2 (pinned in requirements.txt) into
# .tailor/tools/terraform-validate-venv, and checkov into
# .tailor/tools/checkov-venv (a separate environment: checkov ships its own
# fork of the HCL parser).
set -euo pipefail

CHECKOV_VERSION=3.3.30

cd "$(dirname "$0")/../.."

started=$(date +%s)
for tool in terraform python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "check.sh: $tool is not on PATH" >&2
    exit 2
  fi
done

echo "== terraform fmt -check -recursive terraform"
terraform fmt -check -recursive -diff terraform

echo "== provider schemas"
infra/terraform/schema.sh

venv=.tailor/tools/terraform-validate-venv
requirements=infra/terraform/requirements.txt
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
  echo "== installing $(grep -v '^#' "$requirements" | tr '\n' ' ')into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi

echo "== validate.py terraform"
"$venv/bin/python" infra/terraform/validate.py terraform

echo "== validate.py's tests and the GCP and Spin modules' structure tests"
"$venv/bin/python" -m unittest discover -s infra/terraform -p 'test_*.py'

venv=.tailor/tools/checkov-venv
# The installed version from pip's metadata: `checkov --version` takes seconds.
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true)
if [ ! -x "$venv/bin/checkov" ] || [ "$installed" != "$CHECKOV_VERSION" ]; then
  echo "== installing checkov $CHECKOV_VERSION into $venv"
  [ -d "$venv" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi

echo "== checkov $CHECKOV_VERSION"
# Without --soft-fail, checkov exits non-zero when any check fails.
"$venv/bin/checkov" --skip-download --quiet --compact \
  -d terraform --framework terraform

echo "check.sh: all Terraform checks passed in $(($(date +%s) - started)) s"
