#!/usr/bin/env bash
# The registry with the demo (docs/how-to/run-a-registry.md), after `make demo`: the demo's three runs bundled and
# signed by three supplier keys, each supplier registered with its key, the bundles uploaded to a fresh registry
# (its database: $1, a new SQLite file or an empty PostgreSQL database), listed and compared; a tampered bundle and
# a second upload of the same bundle show a refusal and the same listing.
#     examples/registry-demo.sh /tmp/demo-registry.sqlite
set -euo pipefail
cd "$(dirname "$0")/.."
C=".venv/bin/conformance"
DB="${1:?give a database: a new SQLite file path or an empty postgresql:// database}"
W=$(mktemp -d /tmp/registry-demo.XXXX)
EV=$(ls -d evaluations/*-demo-county-records | tail -1)
declare -A SUPPLIER=([northwind]="Northwind Records Ltd (fictional)" [eastgate]="Eastgate Systems plc (fictional)" [southbank]="Southbank Digital (fictional)")
for who in northwind eastgate southbank; do
  $C keys new --out "$W/keys/$who" >/dev/null
  run=$(ls -d "$EV/runs/$who"/*/)
  $C bundle "$run" -o "$W/$who.tar.gz" --key "$W/keys/$who/conformance-signing.key"
  $C registry org add "${SUPPLIER[$who]}" --kind supplier --key "$W/keys/$who/conformance-signing.pub" --db "$DB" \
    | tail -n 1 > "$W/$who.token"
done
python3 - "$W/eastgate.tar.gz" "$W/tampered.tar.gz" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read()); data[len(data) // 2] ^= 1; open(sys.argv[2], "wb").write(bytes(data))
PY
$C registry serve --db "$DB" > "$W/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 100); do grep -q "listening on" "$W/serve.log" && break; sleep 0.2; done
URL=$(grep -o 'http://[0-9.:]*' "$W/serve.log")
echo "registry at $URL (db $DB)"
for who in northwind eastgate southbank; do
  CONFORMANCE_REGISTRY_TOKEN=$(cat "$W/$who.token") $C registry upload "$W/$who.tar.gz" --url "$URL"
done
echo "--- tampered:"
CONFORMANCE_REGISTRY_TOKEN=$(cat "$W/eastgate.token") $C registry upload "$W/tampered.tar.gz" --url "$URL" && exit 1 || echo "exit $? (refused)"
echo "--- again (duplicate):"
CONFORMANCE_REGISTRY_TOKEN=$(cat "$W/northwind.token") $C registry upload "$W/northwind.tar.gz" --url "$URL"
curl -s "$URL/api/listings?profile=pole-records@1.0.0" | python3 -c "
import json,sys
for x in json.load(sys.stdin): print(x['id'], x['supplier'], '|', x['product'], x['product_version'], x['verdict'], x['score'], x['validity']['text'])"
curl -s "$URL/compare?id=1&id=2&id=3" > "$W/registry-compare.html"
$C compare "$EV"/runs/*/*/ --out "$W/cli-compare" >/dev/null || true  # the same comparison, from the run folders
echo "the registry's comparison page: $W/registry-compare.html; conformance compare's: $W/cli-compare/comparison.html"
