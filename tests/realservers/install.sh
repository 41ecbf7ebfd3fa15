#!/usr/bin/env bash
# Install what the real-server tests need (Debian 12, as root): Dovecot
# (IMAP, POP3, LMTP) and Postfix, without starting the system-wide daemons,
# plus tmux for the end-to-end TUI tests, openssl for the TLS diagnosis tests
# (test certificates, `openssl s_server`, `openssl x509`), and man-db and
# groff-base for the man page test (`man -l`). Idempotent.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "install.sh: must run as root" >&2; exit 2; }
PKGS="dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix tmux openssl man-db groff-base"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && { echo "install.sh: all installed"; exit 0; }
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string mail.test.example" | debconf-set-selections
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
