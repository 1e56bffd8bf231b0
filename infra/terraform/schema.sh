#!/usr/bin/env bash
# The provider schemas that validate.py checks terraform/ against, extracted
# from pinned CDKTF provider packages (prebuilt from each provider's own
# schema) on the npm registry.
#
#   infra/terraform/schema.sh           # check that infra/terraform/schema/ is what the packages give
#   infra/terraform/schema.sh --write   # regenerate infra/terraform/schema/
#
# Each package is fetched once with `npm pack` into .tailor/cache/npm and
# checked against the sha512 integrity pinned below (as printed by
# `npm view PACKAGE@VERSION dist.integrity`). extract_schema.py turns it
# into a compact schema in .tailor/cache/terraform-schema; that is redone
# only when the package or the extractor changes. The check compares the
# decompressed JSON with the committed file.
#
# To move to another provider version: change its row, run with --write,
# and adjust the modules' required_providers constraints to admit it
# (validate.py fails on a constraint that does not).
set -euo pipefail

cd "$(dirname "$0")/../.."

# schema  package  version  integrity  (the provider version it was generated from)
PACKAGES=(
  "aws @cdktf/provider-aws 21.22.1 sha512-BuSHeaQFUL9l33pBzIMRT7cTQ69AM2mLtijjteCPhVQRmvuhuj9Lvfymf7knAMhYqAT6+Lrls9jiGVW/Us3zrQ=="               # hashicorp/aws 6.25.0
  "google @cdktf/provider-google 16.12.1 sha512-KqNA/5RiFT07r0PSZ6/07cJ2zESUgbj1JchVj21iBFBZVUbD+578xA/k8eq/r0cbyEgLmg9eYWeVslaYah4DCQ=="         # hashicorp/google 6.50.0
  "kubernetes @cdktf/provider-kubernetes 12.1.1 sha512-faZ/zydCsDBYwXqq3douhxSf8KFJfTUixYDr5hg0uCA8FExRK3+w27JUrt6gAVHFBuOVsKthObdqtTmP3PzQSQ==" # hashicorp/kubernetes 2.38.0
  "helm @cdktf/provider-helm 12.1.2 sha512-QFLfD6e5djSiuw5o63JTaVjLTzUrcXW4rT6zdcvIHfjrqcUJT+Yc8cfhLTVVr5p+fRYrB90b6j8YogBEsLj+5A=="             # hashicorp/helm 3.1.1
  "http @cdktf/provider-http 10.0.1 sha512-9WVTVXHrPmwkXw1rdYyBAnbP76Y7sSG6HU8dvsxtXUQ42qBxj8hE3LcY0q7ZhhdaG7yaqzSJUkS5DJvv+g0mxw=="             # hashicorp/http 3.5.0
)

mode=check
case "${1:-}" in
  "") ;;
  --write) mode=write ;;
  *)
    echo "usage: infra/terraform/schema.sh [--write]" >&2
    exit 2
    ;;
esac

committed=infra/terraform/schema
cache=.tailor/cache/npm
out=.tailor/cache/terraform-schema
extractor=infra/terraform/extract_schema.py
mkdir -p "$cache" "$out"

integrity_of() { # sha512 integrity, in npm's notation, of a file
  python3 -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"
}

extractor_sha=$(python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$extractor")

pids=()
names=()
for row in "${PACKAGES[@]}"; do
  read -r name package version integrity <<<"$row"
  tgz="$cache/$(echo "${package#@}" | tr / -)-$version.tgz"
  if [ ! -f "$tgz" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "schema.sh: npm is not on PATH; it fetches $package@$version" >&2
      exit 2
    fi
    echo "== npm pack $package@$version"
    # Into a directory of its own first, so that an interrupted download
    # never leaves a partial package in the cache.
    partial="$cache/partial.$$"
    rm -rf "$partial"
    mkdir -p "$partial"
    if ! npm pack --silent --pack-destination "$partial" "$package@$version" >/dev/null; then
      rm -rf "$partial"
      echo "schema.sh: npm pack $package@$version failed" >&2
      exit 1
    fi
    if [ ! -f "$partial/$(basename "$tgz")" ]; then
      rm -rf "$partial"
      echo "schema.sh: npm pack $package@$version did not write $(basename "$tgz")" >&2
      exit 1
    fi
    mv "$partial/$(basename "$tgz")" "$tgz"
    rm -rf "$partial"
  fi
  actual=$(integrity_of "$tgz")
  if [ "$actual" != "$integrity" ]; then
    rm -f "$tgz"
    echo "schema.sh: $package@$version: integrity $actual, expected $integrity (the file is removed; a rerun fetches it again)" >&2
    exit 1
  fi
  stamp="$integrity $extractor_sha"
  if [ -f "$out/$name.json.gz" ] && [ "$(cat "$out/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
    continue
  fi
  rm -f "$out/$name.stamp"
  echo "== extracting the $name schema from $package@$version"
  (python3 "$extractor" "$tgz" "$out/$name.json.gz.tmp" &&
    mv "$out/$name.json.gz.tmp" "$out/$name.json.gz" &&
    echo "$stamp" >"$out/$name.stamp") >"$out/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
done

failed=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    sed 's/^/   /' "$out/${names[$i]}.log"
  else
    echo "schema.sh: extracting the ${names[$i]} schema failed:" >&2
    cat "$out/${names[$i]}.log" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1

wanted=()
for row in "${PACKAGES[@]}"; do
  read -r name _ <<<"$row"
  wanted+=("$name")
done

if [ "$mode" = write ]; then
  mkdir -p "$committed"
  for f in "$committed"/*.json.gz; do
    [ -e "$f" ] || continue
    base=$(basename "$f" .json.gz)
    if [[ " ${wanted[*]} " != *" $base "* ]]; then
      echo "== removing $f (no package row)"
      rm -f "$f"
    fi
  done
  for name in "${wanted[@]}"; do
    cp "$out/$name.json.gz" "$committed/$name.json.gz"
  done
  echo "schema.sh: wrote ${wanted[*]} to $committed"
  exit 0
fi

python3 - "$committed" "$out" "${wanted[@]}" <<'EOF'
import gzip, os, sys
committed, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
bad = []
for name in names:
    mine = os.path.join(committed, name + ".json.gz")
    if not os.path.exists(mine):
        bad.append(f"{mine} is missing")
        continue
    with gzip.open(mine) as a, gzip.open(os.path.join(out, name + ".json.gz")) as b:
        if a.read() != b.read():
            bad.append(f"{mine} differs from what its package gives")
extra = sorted(set(n[: -len(".json.gz")] for n in os.listdir(committed) if n.endswith(".json.gz")) - set(names))
bad += [f"{committed}/{n}.json.gz has no package row in schema.sh" for n in extra]
if bad:
    for line in bad:
        print(f"schema.sh: {line}", file=sys.stderr)
    print("schema.sh: regenerate with infra/terraform/schema.sh --write", file=sys.stderr)
    sys.exit(1)
print(f"schema.sh: {committed} matches the pinned packages ({', '.join(names)})")
EOF
