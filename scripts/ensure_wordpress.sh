#!/usr/bin/env bash
# Install Debian's WordPress and PHP for the publishing tests (tests/support/wordpress.py) when
# they are missing and we can. The package pulls in apache2: a policy-rc.d that refuses every
# service start keeps it from starting during the install (ours is removed afterwards; one that
# was already there is left alone), and apache2 is stopped and disabled in case it started.
set -u
if [ -e /usr/share/wordpress/wp-load.php ] && command -v php >/dev/null \
   && php -m 2>/dev/null | grep -qx mysqli; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "wordpress/php are missing and cannot be installed here (need root and apt-get)" >&2
  exit 1
fi
echo "installing Debian's wordpress, php8.2-cli and php8.2-mysql for the publishing tests..."
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && ours=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq wordpress php8.2-cli php8.2-mysql >/dev/null
status=$?
[ "$ours" = 1 ] && rm -f "$policy"
if command -v systemctl >/dev/null && systemctl is-enabled apache2 >/dev/null 2>&1; then
  systemctl disable --now apache2 >/dev/null 2>&1 || true
fi
command -v apache2ctl >/dev/null && apache2ctl -k stop >/dev/null 2>&1 || true
command -v mariadb >/dev/null || echo "note: no MariaDB client: the publishing tests will skip" >&2
exit $status
