#!/usr/bin/env bash
# Installs every Debian package Waihu needs to build, test and benchmark.
# Safe to run again: apt skips what is already there.
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config git python3
  libraft-dev libuv1-dev librocksdb-dev libsofia-sip-ua-dev libssl-dev libcmocka-dev
  libjansson-dev libprotobuf-c-dev protobuf-c-compiler libconfig-dev
  libwebsockets-dev libwebsockets-evlib-uv libcurl4-openssl-dev
  libspandsp-dev libargon2-dev libcsv-dev libsndfile1-dev
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
  sip-tester baresip flite sox postgresql-15 kamailio rtpengine-daemon sipvicious
  etcd-server etcd-client wrk curl iproute2 procps openssl
  libzstd-dev restic
  clang libclang-rt-14-dev
  chromium fonts-noto-cjk
  python3-yaml systemd
  faketime
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The console's browser tests (tests/browser): playwright-core from the npm registry,
# driving Debian's chromium. The machine's Node.js is used; Debian's if there is none.
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
browser_dir="$(dirname "$0")/../tests/browser"
want=$(sed -n 's/.*"playwright-core": "\([^"]*\)".*/\1/p' "$browser_dir/package.json")
have=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' \
  "$browser_dir/node_modules/playwright-core/package.json" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "deps: npm ci in tests/browser (playwright-core $want)"
  (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
