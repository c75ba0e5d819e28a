#!/usr/bin/env bash
# Schemathesis against server/openapi.json on a live lgt-server (plain HTTP on loopback, SQLite
# in a temporary data directory, rate limits off so every example reaches a handler), with a
# device enrolled first through `lgt-server enrollment-code` and POST /v1/enroll, whose key
# signs every request (hooks.py). Fails on any Schemathesis failure. Needs target/debug/lgt-server.
# Every check runs but positive_data_acceptance: a schema cannot say "a proof signed by the new
# key", "an enrollment code the server issued" or "audit records whose hashes chain under a head
# the device key signed", so schema-valid requests are rightly refused (device_key.bad_proof,
# enroll.invalid_code, audit.bad_chain, audit.bad_head_signature).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${LGT_SERVER_BIN:-target/debug/lgt-server}
venv=${LGT_ST_VENV:-target/schemathesis-venv}
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  # Pinned: the CLI's options and checks change between releases.
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5" "cryptography==48.0.0"
fi
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$bin" --data "$work/data" serve --listen 127.0.0.1:0 --plain-http --console-listen 127.0.0.1:0 --console-logins-per-minute 0 \
  --enroll-per-minute-per-address 0 --enroll-per-minute-per-code 0 --device-requests-per-minute 0 \
  2> "$work/server.log" &
server=$!
base=""
for _ in $(seq 100); do
  base=$(sed -n 's/.*"addr":"\([0-9.:]*\)".*"message":"listening".*/\1/p; s/.*"message":"listening".*"addr":"\([0-9.:]*\)".*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$work/server.log"; echo "lgt-server did not start"; exit 1; }
base="http://$base"
console=""
for _ in $(seq 100); do
  console=$(sed -n 's/.*"addr":"\([0-9.:]*\)".*"message":"console listening".*/\1/p; s/.*"message":"console listening".*"addr":"\([0-9.:]*\)".*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$console" ] && break
  sleep 0.1
done
[ -n "$console" ] || { cat "$work/server.log"; echo "the console did not start"; exit 1; }
console="http://$console"
code=$("$bin" --data "$work/data" enrollment-code --coordinator st --district 110105 | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
eval "$("$venv/bin/python" - "$base" "$code" <<'PY'
import json, sys, urllib.request
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
base, code = sys.argv[1], sys.argv[2]
key = Ed25519PrivateKey.generate()
raw = lambda k, f: k.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()) if f else k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
body = json.dumps({"code": code, "public_key": raw(key, False).hex(), "client_version": "schemathesis"}).encode()
request = urllib.request.Request(base + "/v1/enroll", data=body, headers={"content-type": "application/json"})
device = json.load(urllib.request.urlopen(request))["device_id"]
print(f"export LGT_ST_DEVICE={device} LGT_ST_KEY={raw(key, True).hex()}")
PY
)"
export SCHEMATHESIS_HOOKS=hooks
PYTHONPATH=.ci/schemathesis "$venv/bin/st" --config-file .ci/schemathesis/schemathesis.toml run server/openapi.json --url "$base" \
  --exclude-path-regex '^/console/' \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "${LGT_ST_EXAMPLES:-60}" --seed 1 --no-color "$@"
# The supervisor console's endpoints, on their own listener: without a session every one but
# the login is refused 401 (the browser tests in server/console-tests drive them signed in).
PYTHONPATH=.ci/schemathesis "$venv/bin/st" --config-file .ci/schemathesis/schemathesis.toml run server/openapi.json --url "$console" \
  --include-path-regex '^/console/' \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "${LGT_ST_EXAMPLES:-60}" --seed 1 --no-color "$@"
