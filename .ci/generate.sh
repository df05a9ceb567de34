#!/usr/bin/env bash
# The generator's gate: in a scratch clone of this checkout, `conduit generate resource` the
# README's todo and the committed example specs (tests/scaffold/specs: every type, a public
# one, a pair joined by `ref`, one soft-deleted and owned by no one). Their code passes the
# same gate as hand-written code: ruff, ruff format, mypy --strict, import-linter, the whole
# suite with theirs on SQLite, their tests and the architecture and migration tests on
# PostgreSQL, and schemathesis over the new operations. Then `conduit destroy resource`
# takes each out again and `git status` must be clean.
#
#   .ci/generate.sh                 (from .ci/run; PG_HOST and CI_PORT as there)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="$ROOT/.venv/bin"
PG_HOST="${PG_HOST:-127.0.0.1}"
PORT="${CI_PORT:-8000}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/conduit-generate.XXXXXX")"
SCRATCH="$WORK/scratch"
DB="conduit_generate_$$"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  psql -h "$PG_HOST" -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

git clone -q "$ROOT" "$SCRATCH"
cd "$SCRATCH"
# The scratch clone's code, with this checkout's installed dependencies.
export PYTHONPATH="$SCRATCH/src:$SCRATCH"
conduit() { "$PY/python" -m conduit.cli "$@"; }

SPECS=(specimens bookmarks projects tasks announcements)  # tasks refer to projects
conduit generate resource todo title:str:max=200 done:bool:default=false:filter \
  due:date:optional:sort priority:enum:low,normal,high:default=normal
for spec in "${SPECS[@]}"; do
  conduit generate resource --from "tests/scaffold/specs/$spec.toml"
done
PLURALS=(todos "${SPECS[@]}")

echo "--- static checks of the generated code"
"$PY/ruff" check src tests bench
"$PY/ruff" format --check src tests bench
"$PY/mypy" src bench
"$PY/lint-imports"

TESTS=()
for plural in "${PLURALS[@]}"; do TESTS+=("tests/$plural"); done
TESTS+=(tests/test_architecture.py tests/migrations tests/core/test_openapi_statuses.py)
echo "--- the whole suite on SQLite, theirs included (the README's test command's pytest)"
"$PY/pytest" -n auto -p no:cacheprovider
echo "--- their tests, the architecture, migration and OpenAPI tests on PostgreSQL"
DATABASE_URL="postgresql+asyncpg://postgres@$PG_HOST:5432/test" \
  "$PY/pytest" -n auto -p no:cacheprovider "${TESTS[@]}"

echo "--- schemathesis over the new operations (PostgreSQL)"
psql -h "$PG_HOST" -U postgres -d postgres -qc "CREATE DATABASE $DB"
(cd "$WORK" && exec env DATABASE_URL="postgresql+asyncpg://postgres@$PG_HOST:5432/$DB" \
   ENVIRONMENT=production RATE_LIMIT_ANON=100000/minute RATE_LIMIT_USER=100000/minute \
   RATE_LIMIT_AUTH=100000/minute ARGON2_TIME_COST=1 ARGON2_MEMORY_COST=1024 \
   SECRET_KEY="$("$PY/python" -c 'import secrets; print(secrets.token_urlsafe(48))')" \
   "$PY/python" -m conduit.cli serve --host 127.0.0.1 --port "$PORT" --no-access-log) \
   > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 60); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/tags" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.5
done
PATHS="^/api/($(IFS='|'; echo "${PLURALS[*]}"))(/.*)?$"
SCHEMATHESIS_PATHS="$PATHS" bash "$ROOT/.ci/schemathesis.sh" "http://127.0.0.1:$PORT" \
  "generated resources" || { tail -n 40 "$WORK/server.log"; exit 1; }
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
if grep -q "Traceback" "$WORK/server.log"; then
  cat "$WORK/server.log"; echo "the server logged a traceback"; exit 1
fi

echo "--- destroy, newest first; the tree must be as cloned"
for ((i = ${#PLURALS[@]} - 1; i >= 0; i--)); do
  conduit destroy resource "${PLURALS[$i]}"
done
find . -name __pycache__ -prune -exec rm -rf {} +
if [ -n "$(git status --porcelain)" ]; then
  git status --porcelain; echo "destroy left the tree changed"; exit 1
fi
echo "generated ${#PLURALS[@]} resources, checked them, and destroyed them cleanly"
