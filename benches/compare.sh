#!/usr/bin/env bash
# Side-by-side timing of one STARTTLS check against real servers, in one
# hyperfine run, with the ratios printed at the end:
#   SMTP, real Postfix:  greeting, EHLO, STARTTLS + handshake with chain and
#                        name verification, EHLO, QUIT
#     mailwire check  vs  openssl s_client -starttls smtp  vs  swaks --tls
#   IMAP, real Dovecot:  greeting, CAPABILITY, STARTTLS + handshake with chain
#                        and name verification, CAPABILITY, LOGOUT
#     mailwire check  vs  openssl s_client -starttls imap
# Needs: hyperfine, openssl, swaks, python3, and the real servers
# (tests/realservers/start.sh; run as root).
# Usage: bash benches/compare.sh [RUNS]
#   MAILWIRE_BEFORE=/path/to/older/mailwire adds that binary to the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-50}
DIR=${MAILWIRE_REALSERVERS_DIR:-/tmp/mailwire-realservers}
bash tests/realservers/start.sh "$DIR" >/dev/null
CA="$DIR/pki/root.pem"
# start.sh picks the port block; the ports are in its env file.
SMTP_PORT=$(sed -n 's/^REALSERVERS_SMTP_PORT=//p' "$DIR/realservers.env")
IMAP_PORT=$(sed -n 's/^REALSERVERS_IMAP_PORT=//p' "$DIR/realservers.env")
cargo build --release --quiet
MW=target/release/mailwire
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

OSSL="openssl s_client -connect 127.0.0.1:PORT -CAfile $CA -verify_ip 127.0.0.1 -verify_return_error -crlf -quiet"
cmds=(
  -n "smtp: mailwire check" "$MW check smtp://127.0.0.1:$SMTP_PORT --ca-file $CA --ehlo bench.test"
  -n "smtp: openssl s_client" "bash -c 'printf \"EHLO bench.test\\nQUIT\\n\" | ${OSSL/PORT/$SMTP_PORT} -starttls smtp -name bench.test >/dev/null 2>&1'"
  -n "smtp: swaks --tls" "swaks --server 127.0.0.1 --port $SMTP_PORT --tls --tls-verify --tls-ca-path $CA --ehlo bench.test --quit-after HELO"
  -n "imap: mailwire check" "$MW check imap://127.0.0.1:$IMAP_PORT --ca-file $CA"
  -n "imap: openssl s_client" "bash -c 'printf \"a1 CAPABILITY\\na2 LOGOUT\\n\" | ${OSSL/PORT/$IMAP_PORT} -starttls imap >/dev/null 2>&1'"
)
if [ -n "${MAILWIRE_BEFORE:-}" ]; then
  cmds+=(
    -n "smtp: mailwire check (before)" "$MAILWIRE_BEFORE check smtp://127.0.0.1:$SMTP_PORT --ca-file $CA --ehlo bench.test"
    -n "imap: mailwire check (before)" "$MAILWIRE_BEFORE check imap://127.0.0.1:$IMAP_PORT --ca-file $CA"
  )
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$OUT/table.md" --export-json "$OUT/run.json" "${cmds[@]}" >/dev/null
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$OUT/table.md"
python3 - "$OUT/run.json" <<'EOF'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
def ratio(a, b):
    if a in runs and b in runs:
        ra, rb = runs[a], runs[b]
        print(f"{a:32} / {b:26} = {ra['mean'] / rb['mean']:.2f}x  "
              f"(user CPU {ra['user'] * 1000:.1f} ms vs {rb['user'] * 1000:.1f} ms)")
print()
for p in ("smtp", "imap"):
    for who in ("mailwire check", "mailwire check (before)"):
        ratio(f"{p}: {who}", f"{p}: openssl s_client")
    ratio(f"{p}: mailwire check", f"{p}: swaks --tls")
EOF
