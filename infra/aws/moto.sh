#!/usr/bin/env bash
# Makes sure moto's server (a real AWS wire protocol for Kinesis and
# DynamoDB) can run here; the AWS tests start and stop it themselves
# (infra/aws/moto_server.py). Installs the pinned version if it is missing.
set -euo pipefail

MOTO_VERSION=5.2.1

if python3 -c "import moto, moto.server, sys; sys.exit(0 if moto.__version__ == '$MOTO_VERSION' else 1)" 2>/dev/null; then
  echo "moto $MOTO_VERSION present"
else
  echo "installing moto[server]==$MOTO_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
