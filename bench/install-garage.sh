#!/usr/bin/env bash
# Builds the pinned garage (a real S3 server) once into bench/work/garage; later runs reuse it.
# `cargo install` compiles ~400 crates: expect 20-40 minutes on two cores the first time.
set -euo pipefail
cd "$(dirname "$0")"
GARAGE_VERSION=${GARAGE_VERSION:-2.5.0}
root=work/garage-$GARAGE_VERSION
if [ -x "$root/bin/garage" ]; then
  echo "$PWD/$root/bin/garage"
  exit 0
fi
mkdir -p work
echo "building garage $GARAGE_VERSION into bench/$root (once; cached)" >&2
nice -n 10 cargo install --locked --root "$root" --version "$GARAGE_VERSION" garage >&2
echo "$PWD/$root/bin/garage"
