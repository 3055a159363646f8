#!/usr/bin/env bash
# Everything irqdiff needs on a fresh Debian machine: the Debian packages for the real-
# hypervisor replay (QEMU, gcc and binutils for the x86-64 guest test kernel) and the terminal tests
# (tmux), Redis for the distributed campaigns' tests, the report test (chromium), then the npm dependencies,
# then it compiles the TypeScript to dist/.
# Without root or sudo it skips the Debian packages; the tests that need them then skip
# with a message saying why.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
if ! echo 'int x;' | gcc -m64 -ffreestanding -x c -c - -o /dev/null >/dev/null 2>&1; then need+=(gcc); fi
command -v objcopy >/dev/null 2>&1 || need+=(binutils)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # distributed campaigns' integration tests
# The report test renders the HTML the way a person sees it, in headless Chromium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""
  elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
  else sudo="-"; fi
  if [ "$sudo" = "-" ]; then
    echo "setup: not root and no sudo: not installing ${need[*]} (real-hypervisor and terminal tests will skip)" >&2
  else
    echo "setup: installing ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# npm ci installs exactly the lock file. Some npm 11 releases refuse a lock file that lists
# the platform packages of optional dependencies only for this platform; npm install then
# installs the same locked versions without rewriting it.
if ! npm ci --no-audit --no-fund; then
  echo "setup: npm ci refused the lock file; installing the locked versions with npm install" >&2
  npm install --no-audit --no-fund
fi
npm run build
