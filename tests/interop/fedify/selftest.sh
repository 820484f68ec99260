#!/usr/bin/env bash
# Smoke test of the fedify peer against itself: two peers on two loopback ports, alice@A follows alice@B, each
# side must record the Follow / Accept with a verified signature, then notes go both ways.  Runs once with
# --first-knock rfc9421 and once with --first-knock draft-cavage-http-signatures-12.
#
# Usage: bash tests/interop/fedify/selftest.sh        (ports: FEDIFY_SELFTEST_PORT_A / _B, default 8301 / 8302)
# Exit status 0 when every check passed.  Everything stays on 127.0.0.1 and every wait is bounded.
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE" || exit 2
PORT_A="${FEDIFY_SELFTEST_PORT_A:-8301}"
PORT_B="${FEDIFY_SELFTEST_PORT_B:-8302}"
PORT_BARE="${FEDIFY_SELFTEST_PORT_BARE:-8309}"
A="http://127.0.0.1:${PORT_A}"
B="http://127.0.0.1:${PORT_B}"
LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/fedify-selftest.XXXXXX")"
PASSED=0
FAILED=0
PIDS=()

if [ ! -d node_modules/@fedify/fedify ]; then
  echo "# npm ci (node_modules missing)"
  start=$(date +%s)
  if ! timeout 300 npm ci --no-audit --no-fund >"$LOGDIR/npm-ci.log" 2>&1; then
    echo "npm ci failed; see $LOGDIR/npm-ci.log"
    tail -20 "$LOGDIR/npm-ci.log"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "# npm ci took $(( $(date +%s) - start ))s"
fi

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  PIDS=()
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }

# json EXPR: evaluates the JS expression EXPR with `d` bound to the JSON read from stdin; prints strings raw.
json() {
  node -e '
    let s = "";
    process.stdin.on("data", (c) => (s += c)).on("end", () => {
      let v;
      try { const d = JSON.parse(s); v = eval(process.argv[1]); } catch (e) { v = undefined; }
      process.stdout.write(v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
    });' "$1"
}

get() { curl -sS --noproxy '*' --max-time 30 "$@"; }
post() { local url="$1" body="$2"; curl -sS --noproxy '*' --max-time 30 -X POST -H 'Content-Type: application/json' -d "$body" "$url"; }

# check DESCRIPTION ACTUAL EXPECTED
check() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', want '$3')"; fi
}

start_peer() { # PORT KNOCK [EXTRA ARGS...] -> waits for "PEER READY"
  local port="$1" knock="$2"
  shift 2
  local out="$LOGDIR/peer-$port-$knock-$ROUND.out" err="$LOGDIR/peer-$port-$knock-$ROUND.err"
  node peer.mjs --port "$port" --first-knock "$knock" "$@" >"$out" 2>"$err" &
  PIDS+=("$!")
  for _ in $(seq 1 200); do
    if grep -q "^PEER READY http://127.0.0.1:${port}$" "$out" 2>/dev/null; then return 0; fi
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "peer on port $port did not start; stderr:"; tail -20 "$err"
  return 1
}

stop_peers() { # sends SIGTERM and checks that each peer exits 0 within 5 s
  local pid rc
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    rc=timeout
    for _ in $(seq 1 50); do
      if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
      sleep 0.1
    done
    check "peer pid $pid exits cleanly on SIGTERM" "$rc" "0"
  done
  PIDS=()
}

ROUND=0
run_round() { # KNOCK [ONLY_ACCEPT_FOR_B]
  local knock="$1" onlyB="${2:-}" expectB="${2:-$1}"
  ROUND=$((ROUND + 1))
  local bArgs=()
  if [ -n "$onlyB" ]; then
    bArgs=(--only-accept "$onlyB")
    echo "# --first-knock $knock, B accepts only $onlyB (double knock expected)"
    knock="$knock>$onlyB"
  else
    echo "# --first-knock $knock"
  fi
  if ! start_peer "$PORT_A" "$1" || ! start_peer "$PORT_B" "$1" "${bArgs[@]}"; then
    fail "[$knock] peers start"
    cleanup
    return
  fi
  local aliceA="$A/users/alice" aliceB="$B/users/alice" r

  check "[$knock] health A" "$(get "$A/_control/health" | json 'd.ok && d.actor')" "$aliceA"
  check "[$knock] health B" "$(get "$B/_control/health" | json 'd.ok && d.actor')" "$aliceB"

  # alice@A follows alice@B
  r="$(post "$A/_control/follow" "{\"target\":\"$aliceB\"}")"
  local followId
  followId="$(echo "$r" | json 'd.ok && d.followId')"
  if [ -n "$followId" ]; then ok "[$knock] A sends Follow ($followId)"; else fail "[$knock] A sends Follow: $r"; fi

  r="$(get "$B/_control/wait?type=Follow&actor=$aliceA&timeout=10")"
  check "[$knock] B records the Follow" "$(echo "$r" | json 'd.item.id')" "$followId"
  check "[$knock] B: Follow object is alice@B" "$(echo "$r" | json 'd.item.object')" "$aliceB"
  check "[$knock] B: Follow signed with $expectB" "$(echo "$r" | json 'd.item.signature.scheme')" "$expectB"
  check "[$knock] B: Follow key is alice@A's" "$(echo "$r" | json 'd.item.signature.keyId')" "$aliceA#main-key"
  check "[$knock] B: Follow HTTP signature verifies" "$(echo "$r" | json 'd.item.signature.httpVerified')" "true"
  check "[$knock] B: fedify accepted the Follow as verified" "$(echo "$r" | json 'd.item.signature.fedifyVerified')" "true"

  r="$(get "$A/_control/wait?type=Accept&actor=$aliceB&timeout=10")"
  check "[$knock] A records the Accept" "$(echo "$r" | json 'd.item.type')" "Accept"
  check "[$knock] A: Accept refers to the Follow" "$(echo "$r" | json 'd.item.object')" "$followId"
  check "[$knock] A: Accept embeds the Follow" "$(echo "$r" | json 'd.item.raw.object.type')" "Follow"
  check "[$knock] A: Accept signed with $1" "$(echo "$r" | json 'd.item.signature.scheme')" "$1"
  check "[$knock] A: Accept HTTP signature verifies" "$(echo "$r" | json 'd.item.signature.httpVerified')" "true"
  check "[$knock] A: fedify accepted the Accept as verified" "$(echo "$r" | json 'd.item.signature.fedifyVerified')" "true"

  check "[$knock] A remembers $expectB for B's origin" "$(get "$A/_control/signature-specs" | json "d.specs['$B']")" "$expectB"
  if [ -n "$onlyB" ] && [ "$onlyB" != "$1" ]; then
    check "[$knock] B refused the first knock ($1) with 401" \
      "$(get "$B/_control/requests" | json "d.items.filter((i) => i.rejectedByOnlyAccept && i.status === 401 && i.signature?.scheme === '$1').length > 0")" "true"
  fi
  check "[$knock] A: following B is accepted" \
    "$(get "$A/_control/state" | json "d.following.find((f) => f.id === '$aliceB')?.state")" "accepted"
  check "[$knock] B: followers collection lists alice@A" \
    "$(get -H 'Accept: application/activity+json' "$aliceB/followers" | json "(d.orderedItems ?? d.items ?? []).includes('$aliceA')")" "true"

  # alice@B posts to her followers (alice@A)
  r="$(post "$B/_control/create-note" '{"content":"<p>hello from B</p>","deliverTo":["followers"]}')"
  local noteB createB
  noteB="$(echo "$r" | json 'd.ok && d.noteId')"
  createB="$(echo "$r" | json 'd.ok && d.createId')"
  if [ -n "$noteB" ]; then ok "[$knock] B creates a note"; else fail "[$knock] B creates a note: $r"; fi
  r="$(get "$A/_control/wait?type=Create&id=$createB&timeout=10")"
  check "[$knock] A receives B's Create" "$(echo "$r" | json 'd.item.object')" "$noteB"
  check "[$knock] A: Create content" "$(echo "$r" | json 'd.item.json.object.content')" "<p>hello from B</p>"
  check "[$knock] A: Create HTTP signature verifies" "$(echo "$r" | json 'd.item.signature.httpVerified')" "true"
  check "[$knock] B serves the note" \
    "$(get -H 'Accept: application/activity+json' "$noteB" | json 'd.type + " " + d.content')" "Note <p>hello from B</p>"

  # alice@A replies, delivered straight to alice@B
  r="$(post "$A/_control/create-note" "{\"content\":\"<p>reply from A</p>\",\"inReplyTo\":\"$noteB\",\"deliverTo\":[\"$aliceB\"]}")"
  local createA
  createA="$(echo "$r" | json 'd.ok && d.createId')"
  if [ -n "$createA" ]; then ok "[$knock] A creates a reply"; else fail "[$knock] A creates a reply: $r"; fi
  r="$(get "$B/_control/wait?type=Create&id=$createA&timeout=10")"
  check "[$knock] B receives A's reply" "$(echo "$r" | json 'd.item.json.object.inReplyTo')" "$noteB"
  check "[$knock] B: reply HTTP signature verifies" "$(echo "$r" | json 'd.item.signature.httpVerified')" "true"

  # an unsigned delivery is refused with 401 and never recorded as verified
  local code
  code="$(curl -sS --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/activity+json' \
    -d "{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":\"$aliceB/forged/1\",\"type\":\"Like\",\"actor\":\"$aliceB\",\"object\":\"$aliceA\"}" \
    "$aliceA/inbox")"
  check "[$knock] A answers 401 to an unsigned delivery" "$code" "401"
  check "[$knock] A did not record the unsigned delivery" "$(get "$A/_control/inbox?id=$aliceB/forged/1" | json 'd.items.length')" "0"
  check "[$knock] A lists it as unverified" "$(get "$A/_control/unverified?id=$aliceB/forged/1" | json 'd.items.length')" "1"

  check "[$knock] A: no listener errors" "$(get "$A/_control/errors" | json 'd.items.length')" "0"
  check "[$knock] B: no listener errors" "$(get "$B/_control/errors" | json 'd.items.length')" "0"

  stop_peers
}

# A sender that signs with HTTP signatures only (like coserver): fedify's inbox must verify the HTTP signature
# itself, answer 401 to a body altered after signing, and send the Accept back.
bare_round() {
  local spec="$1" tag="bare:$1" r
  ROUND=$((ROUND + 1))
  echo "# HTTP-signature-only sender, $spec"
  if ! start_peer "$PORT_A" rfc9421; then fail "[$tag] peer starts"; cleanup; return; fi
  r="$(timeout 60 node bare-sender.mjs --peer "$A" --port "$PORT_BARE" --spec "$spec")"
  local aliceA="$A/users/alice" bob="http://127.0.0.1:${PORT_BARE}/bob" followId alteredId
  followId="$(echo "$r" | json 'd.followId')"
  alteredId="$(echo "$r" | json 'd.alteredId')"
  check "[$tag] signed Follow answered 202" "$(echo "$r" | json 'd.followStatus')" "202"
  check "[$tag] altered body answered 401" "$(echo "$r" | json 'd.alteredStatus')" "401"
  check "[$tag] sender got a signed Accept of its Follow" "$(echo "$r" | json 'd.acceptSigned && d.acceptObject')" "$followId"
  r="$(get "$A/_control/inbox?type=Follow&actor=$bob")"
  check "[$tag] peer recorded exactly the signed Follow" "$(echo "$r" | json 'd.items.map((i) => i.id).join(" ")')" "$followId"
  check "[$tag] scheme recorded" "$(echo "$r" | json 'd.items[0].signature.scheme')" "$spec"
  check "[$tag] fedify's inbox verified the HTTP signature" "$(echo "$r" | json 'd.items[0].signature.fedifyHttpSignatureVerified')" "true"
  check "[$tag] fedify's verdict names bob's key" "$(echo "$r" | json 'd.items[0].signature.fedifyHttpSignatureKeyId')" "$bob#main-key"
  check "[$tag] altered delivery listed as unverified" \
    "$(get "$A/_control/unverified" | json "d.items.filter((i) => i.reason === 'invalidSignature').map((i) => i.id).join(' ')")" "$alteredId"
  check "[$tag] followers collection lists bob" \
    "$(get -H 'Accept: application/activity+json' "$aliceA/followers" | json "(d.orderedItems ?? d.items ?? []).includes('$bob')")" "true"
  stop_peers
}

run_round rfc9421
run_round draft-cavage-http-signatures-12
run_round rfc9421 draft-cavage-http-signatures-12
run_round draft-cavage-http-signatures-12 rfc9421
bare_round draft-cavage-http-signatures-12
bare_round rfc9421

if [ "$FAILED" -eq 0 ]; then rm -rf "$LOGDIR"; else echo "# peer logs kept in $LOGDIR"; fi
echo "${PASSED} passed, ${FAILED} failed"
[ "$FAILED" -eq 0 ]
