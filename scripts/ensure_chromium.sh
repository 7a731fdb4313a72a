#!/usr/bin/env bash
# Install Debian's chromium for the Playwright page tests when it is missing and we can.
set -u
for bin in /usr/bin/chromium /usr/bin/chromium-browser; do
  [ -x "$bin" ] && exit 0
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "chromium is missing and cannot be installed here (need root and apt-get)" >&2
  exit 1
fi
echo "installing Debian's chromium for the page tests..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
[ -x /usr/bin/chromium ]
