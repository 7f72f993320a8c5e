#!/usr/bin/env bash
# Installs what `make test` needs beyond the build, when missing on a Debian machine:
# ffmpeg (video sources in detect) and Chromium (the browser export's end-to-end test).
set -euo pipefail
have() { command -v "$1" >/dev/null 2>&1; }
need_apt=()
have ffmpeg || need_apt+=(ffmpeg)
have chromium || [ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ ${#need_apt[@]} -eq 0 ] && exit 0
if have apt-get && [ "$(id -u)" = 0 ]; then
  echo "Installing for the tests: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null
  }
else
  echo "Missing for the tests: ${need_apt[*]} (sudo apt-get install ${need_apt[*]}); the tests that need them are skipped." >&2
fi
