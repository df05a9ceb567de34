#!/usr/bin/env bash
# Property-based tests of a running Conduit server with schemathesis, over every operation of
# its /openapi.json: the examples, coverage, fuzzing (positive and negative data) and stateful
# (OpenAPI links) phases and every check schemathesis has, twice: signed in (as a user that
# tests/fuzz/hooks.py registers, and registers anew whenever its token stops working) and
# anonymous. After each run, a table of the requests sent per operation and phase.
#
#   .ci/schemathesis.sh BASE_URL [LABEL]     e.g. .ci/schemathesis.sh http://127.0.0.1:8000 SQLite
#
# SCHEMATHESIS_EXAMPLES (default 50) and SCHEMATHESIS_SEED (default 20261122) change the run;
# SCHEMATHESIS_PATHS (a regular expression) keeps only the operations whose path it matches;
# SCHEMATHESIS_REPORT_DIR keeps the logs and NDJSON reports (a temporary directory otherwise).
# For a run over every operation the server must let the traffic through: RATE_LIMIT_ANON,
# RATE_LIMIT_USER, RATE_LIMIT_AUTH and LOGIN_MAX_FAILURES far above their defaults. With the
# defaults, most answers are 429s, which the checks take as any other documented answer
# (.ci/run does both).
set -euo pipefail
BASE_URL="${1:?usage: .ci/schemathesis.sh BASE_URL [LABEL]}"
LABEL="${2:-$BASE_URL}"
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="$ROOT/.venv/bin"
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-50}"
SEED="${SCHEMATHESIS_SEED:-20261122}"
PATHS="${SCHEMATHESIS_PATHS:-}"
if [ -n "${SCHEMATHESIS_REPORT_DIR:-}" ]; then
  mkdir -p "$SCHEMATHESIS_REPORT_DIR" && OUT="$(cd "$SCHEMATHESIS_REPORT_DIR" && pwd)"
else
  OUT="$(mktemp -d "${TMPDIR:-/tmp}/conduit-schemathesis.XXXXXX")" && trap 'rm -rf "$OUT"' EXIT
fi

curl -sf "$BASE_URL/openapi.json" > "$OUT/openapi.json"

run() {  # $1 = signed-in | anonymous
  local who="$1" auth=0 started=$SECONDS
  [ "$who" = signed-in ] && auth=1
  printf '\n=== schemathesis on %s, %s: %s examples per operation, seed %s%s ===\n' \
    "$LABEL" "$who" "$EXAMPLES" "$SEED" "${PATHS:+, paths matching $PATHS}"
  # Run from $OUT: Hypothesis keeps a `.hypothesis` directory in the working directory.
  if (cd "$OUT" && CONDUIT_BASE_URL="$BASE_URL" CONDUIT_FUZZ_AUTH="$auth" \
      SCHEMATHESIS_HOOKS="$ROOT/tests/fuzz/hooks.py" \
      "$PY/schemathesis" --config-file "$ROOT/tests/fuzz/schemathesis.toml" --no-color run \
        "$BASE_URL/openapi.json" \
        --checks all --mode all --max-examples "$EXAMPLES" --seed "$SEED" \
        ${PATHS:+--include-path-regex "$PATHS"} \
        --report ndjson --report-ndjson-path "$OUT/$who.ndjson" \
        > "$OUT/$who.log" 2>&1); then
    sed -n '/^=* SUMMARY =*$/,$p' "$OUT/$who.log"
  else
    cat "$OUT/$who.log"
    echo "schemathesis found failures ($who, $LABEL)"
    exit 1
  fi
  "$PY/python" -m tests.fuzz.counts "$OUT/$who.ndjson" "$OUT/openapi.json" "$PATHS"
  echo "schemathesis $who on $LABEL: $((SECONDS - started)) s"
}

run signed-in
run anonymous
