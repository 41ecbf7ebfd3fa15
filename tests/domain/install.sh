#!/usr/bin/env bash
# Install what the domain-mode tests need (Debian 12, as root): NSD (an
# authoritative DNS server) serving test zones signed offline with
# ldns-signzone (ldnsutils), and nginx serving MTA-STS policies over HTTPS.
# The system-wide daemons are not started: the tests run their own
# instances on free loopback ports. Idempotent.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "domain/install.sh: must run as root" >&2; exit 2; }
PKGS="nsd ldnsutils nginx"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && { echo "domain/install.sh: all installed"; exit 0; }
# Keep the packages' postinst from starting system-wide daemons.
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
fi
rc=0
DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
[ "$rc" = 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing || rc=$?; }
[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
exit "$rc"
