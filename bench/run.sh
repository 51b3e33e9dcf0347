#!/usr/bin/env bash
# Run the benchmarks (or only the scripts named) against a durable throwaway PostgreSQL (fsync on, unlike the test cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
data=$(mktemp -d)
port=${BENCH_PG_PORT:-55433}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
chown postgres "$data"
runuser -u postgres -- "$bin/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
  -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
trap 'runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null; rm -rf "$data"' EXIT
psql -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE ROLE actionhub LOGIN CREATEDB PASSWORD 'actionhub'"
export DATABASE_URL="postgres://actionhub:actionhub@127.0.0.1:$port/postgres"
if [ -z "${REDIS_URL:-}" ] && command -v redis-server >/dev/null; then
  redis_port=${BENCH_REDIS_PORT:-56380}
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no >/dev/null
  trap 'redis-cli -p '"$redis_port"' shutdown nosave >/dev/null 2>&1; runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null; rm -rf "$data"' EXIT
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi
if [ "$#" -gt 0 ]; then  # only the benchmarks named, e.g. bash bench/run.sh bench/submit.py
  for script in "$@"; do .venv/bin/python "$script"; done
  exit 0
fi
.venv/bin/python bench/foundation.py
.venv/bin/python bench/sqlite_start_latency.py
.venv/bin/python bench/ws_fanout.py
.venv/bin/python bench/rules.py
.venv/bin/python bench/idempotency.py
.venv/bin/python bench/chat_stream.py
.venv/bin/python bench/bulk.py
.venv/bin/python bench/submit.py
.venv/bin/python bench/soak.py
.venv/bin/python bench/sandbox.py
.venv/bin/python bench/injection.py
