#!/usr/bin/env bash
# Side-by-side timing of one STARTTLS check against the same real Postfix:
# greeting, EHLO, STARTTLS + handshake with chain verification, EHLO, QUIT.
#   mailwire check    vs   openssl s_client -starttls smtp   vs   swaks --tls
# Needs: hyperfine, openssl, swaks, and the real servers
# (tests/realservers/start.sh). Usage: bash benches/compare.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-50}
DIR=${MAILWIRE_REALSERVERS_DIR:-/tmp/mailwire-realservers}
bash tests/realservers/start.sh "$DIR" >/dev/null
CA="$DIR/pki/root.pem"
# start.sh picks the port block; the SMTP port is in its env file.
PORT=$(sed -n 's/^REALSERVERS_SMTP_PORT=//p' "$DIR/realservers.env")
cargo build --release --quiet
MW=target/release/mailwire
hyperfine --warmup 3 --runs "$RUNS" -N --export-markdown /tmp/mailwire-compare.md \
  -n "mailwire check" "$MW check smtp://127.0.0.1:$PORT --ca-file $CA --ehlo bench.test" \
  -n "openssl s_client" "bash -c 'printf \"EHLO bench.test\\nQUIT\\n\" | openssl s_client -starttls smtp -connect 127.0.0.1:$PORT -CAfile $CA -verify_ip 127.0.0.1 -verify_return_error -crlf -quiet -name bench.test >/dev/null 2>&1'" \
  -n "swaks --tls" "swaks --server 127.0.0.1 --port $PORT --tls --tls-verify --tls-ca-path $CA --ehlo bench.test --quit-after HELO"
cat /tmp/mailwire-compare.md
