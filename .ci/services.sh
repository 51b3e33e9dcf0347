# Real services for the test suite: PostgreSQL, Redis and a Docker engine on loopback.
# Source this file, then `services_start` (exports DATABASE_URL, REDIS_URL) and `services_stop`.
# Safe to call twice: a service that already answers is reused, and only what this shell started is
# stopped. That is tracked in shell variables, not files, because a marker file left in
# SERVICES_DIR by another run would make this one stop services it merely reused.

SERVICES_DIR="${SERVICES_DIR:-/tmp/actionhub-services}"
PG_PORT="${PG_PORT:-55432}"
REDIS_PORT="${REDIS_PORT:-56379}"
# Database and Redis db number: choose others to share running servers with another checkout.
PG_DB="${PG_DB:-actionhub}"
REDIS_DB="${REDIS_DB:-0}"

_STARTED_PG_DATA="${_STARTED_PG_DATA:-}"
_STARTED_REDIS="${_STARTED_REDIS:-}"
_STARTED_DOCKERD_PID="${_STARTED_DOCKERD_PID:-}"

_now() { date +%s.%N; }
_took() { awk -v a="$1" -v b="$(_now)" 'BEGIN { printf "%.1fs", b - a }'; }

services_install() {
  local missing=()
  for pkg in postgresql redis-server docker.io docker-compose chromium debootstrap; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    local t; t=$(_now)
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "installed in $(_took "$t")"
  fi
}

_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

postgres_start() {
  local t; t=$(_now)
  export DATABASE_URL="postgres://actionhub:actionhub@127.0.0.1:${PG_PORT}/${PG_DB}"
  if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then
    echo "postgres already up on ${PG_PORT}"
    return 0
  fi
  local bin data="$SERVICES_DIR/pg"
  bin=$(_pg_bin)
  [ -n "$bin" ] || { echo "no PostgreSQL server binaries found" >&2; return 1; }
  mkdir -p "$SERVICES_DIR"
  rm -rf "$data"
  install -d -o postgres -g postgres "$data"
  runuser -u postgres -- "$bin/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  # fsync off: this cluster is thrown away after the run, so durability buys nothing here.
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p ${PG_PORT} -k ${data} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -c "CREATE ROLE actionhub LOGIN CREATEDB PASSWORD 'actionhub'" \
    -c "CREATE DATABASE \"${PG_DB}\" OWNER actionhub" >/dev/null
  _STARTED_PG_DATA="$data"
  echo "postgres up on ${PG_PORT} in $(_took "$t")"
}

redis_start() {
  local t; t=$(_now)
  export REDIS_URL="redis://127.0.0.1:${REDIS_PORT}/${REDIS_DB}"
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "redis already up on ${REDIS_PORT}"
    return 0
  fi
  mkdir -p "$SERVICES_DIR"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --logfile "$SERVICES_DIR/redis.log" --dir "$SERVICES_DIR" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  _STARTED_REDIS=1
  echo "redis up on ${REDIS_PORT} in $(_took "$t")"
}

docker_start() {
  local t; t=$(_now)
  if docker info >/dev/null 2>&1; then
    echo "docker already up"
    return 0
  fi
  mkdir -p "$SERVICES_DIR"
  setsid dockerd >"$SERVICES_DIR/dockerd.log" 2>&1 &
  _STARTED_DOCKERD_PID=$!
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start" >&2; tail -n 20 "$SERVICES_DIR/dockerd.log" >&2; return 1; }
  echo "docker up in $(_took "$t")"
}

# The sandbox image, built once per run from Debian packages (no registry here); skipped when the
# image for the current definition exists. Needs docker up and the project installed in .venv.
sandbox_image_build() {
  local t; t=$(_now)
  DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python manage.py build_sandbox_image
  echo "sandbox image ready in $(_took "$t")"
}

# The application image (deploy/Dockerfile) on the same Debian base, with wheels this machine's pip
# downloads; skipped when the image for the current inputs exists. After sandbox_image_build.
app_image_build() {
  local t; t=$(_now)
  .venv/bin/python deploy/build_image.py --debian-base --offline
  echo "application image ready in $(_took "$t")"
}

services_start() {
  services_install
  postgres_start
  redis_start
  docker_start
  export CHROMIUM_PATH=/usr/bin/chromium
}

services_logs() {
  for log in "$SERVICES_DIR/pg/server.log" "$SERVICES_DIR/redis.log" "$SERVICES_DIR/dockerd.log"; do
    [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }
  done
  return 0
}

services_stop() {
  if [ -n "$_STARTED_PG_DATA" ]; then
    runuser -u postgres -- "$(_pg_bin)/pg_ctl" -D "$_STARTED_PG_DATA" -m fast stop >/dev/null 2>&1 || true
    _STARTED_PG_DATA=""
  fi
  if [ -n "$_STARTED_REDIS" ]; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    _STARTED_REDIS=""
  fi
  if [ -n "$_STARTED_DOCKERD_PID" ]; then
    kill "$_STARTED_DOCKERD_PID" 2>/dev/null || true
    _STARTED_DOCKERD_PID=""
  fi
  return 0
}
