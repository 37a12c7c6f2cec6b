#!/usr/bin/env bash
# Local infrastructure for Chat4All: a private PostgreSQL 15 cluster and a
# private Redis, both listening on 127.0.0.1 only, with all state kept under
# $CHAT4ALL_DATA (default: <repo>/.chat4all, which is git-ignored).
#
# Usage (executed):
#   scripts/infra.sh up     install if needed, init if needed, start, wait, create role/db
#   scripts/infra.sh down   stop both servers (data is kept)
#   scripts/infra.sh browser install Chromium, Node.js and npm if missing (the web
#                           console's browser test; scripts/test.sh calls it)
#   scripts/infra.sh env    print `export ...` lines; load them with
#                           eval "$(scripts/infra.sh env)"
# Usage (sourced): `source scripts/infra.sh [up|env|down]` (default: up) does the
#   same and, for up/env, exports the variables into the calling shell.
#
# Settings (environment): CHAT4ALL_DATA, CHAT4ALL_PG_PORT (55432),
#   CHAT4ALL_REDIS_PORT (56379), CHAT4ALL_PG_BIN (/usr/lib/postgresql/15/bin).
#
# Progress lines go to stderr (prefixed [infra]) so that `env` output on
# stdout stays clean enough to eval.

# --- Sourced mode -----------------------------------------------------------
# When sourced we must not turn on `set -e` etc. in the caller's shell, so we
# re-run this file as a child process and only eval its `env` output here.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    __c4a_self="${BASH_SOURCE[0]}"
    case "${1:-up}" in
        up)   bash "$__c4a_self" up && eval "$(bash "$__c4a_self" env)" ;;
        env)  eval "$(bash "$__c4a_self" env)" ;;
        down) bash "$__c4a_self" down ;;
        *)    bash "$__c4a_self" "$@" ;;
    esac
    __c4a_rc=$?
    unset __c4a_self
    # shellcheck disable=SC2317  # return is reachable: we are sourced here
    return "$__c4a_rc"
fi

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

CHAT4ALL_DATA="${CHAT4ALL_DATA:-$ROOT/.chat4all}"
CHAT4ALL_PG_PORT="${CHAT4ALL_PG_PORT:-55432}"
CHAT4ALL_REDIS_PORT="${CHAT4ALL_REDIS_PORT:-56379}"
CHAT4ALL_PG_BIN="${CHAT4ALL_PG_BIN:-/usr/lib/postgresql/15/bin}"

APP_ROLE=chat4all
APP_DB=chat4all

log()  { printf '[infra] %s\n' "$*" >&2; }
die()  { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# Single-quote a value for safe `eval` by the caller.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Paths are derived after CHAT4ALL_DATA is made absolute (see resolve_paths).
resolve_paths() {
    if [[ "$CHAT4ALL_DATA" != /* ]]; then
        CHAT4ALL_DATA="$PWD/$CHAT4ALL_DATA"
    fi
    PG_DIR="$CHAT4ALL_DATA/postgres"
    PG_DATA="$PG_DIR/data"
    PG_LOG="$PG_DIR/postgres.log"
    PG_RUN="$PG_DIR/run"
    PG_PWFILE="$PG_DIR/chat4all.password"
    REDIS_DIR="$CHAT4ALL_DATA/redis"
    REDIS_PID="$REDIS_DIR/redis.pid"
    REDIS_LOG="$REDIS_DIR/redis.log"
}
resolve_paths

validate_ports() {
    local p
    for p in "$CHAT4ALL_PG_PORT" "$CHAT4ALL_REDIS_PORT"; do
        if ! [[ "$p" =~ ^[0-9]{1,5}$ ]] || ((10#$p < 1 || 10#$p > 65535)); then
            die "invalid port: '$p'"
        fi
    done
    [[ "$CHAT4ALL_PG_PORT" != "$CHAT4ALL_REDIS_PORT" ]] || die "PostgreSQL and Redis ports must differ"
}

# Serialise concurrent `up`/`down` calls (e.g. run.sh and test.sh started at
# the same time) so they don't both try to initdb/start.
take_lock() {
    mkdir -p "$CHAT4ALL_DATA"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$CHAT4ALL_DATA/.infra.lock"
        flock -w 300 9 || die "timed out waiting for $CHAT4ALL_DATA/.infra.lock"
    fi
}

# --- Installation -------------------------------------------------------------

apt_install() {
    local sudo=()
    if ! is_root; then
        command -v sudo >/dev/null 2>&1 || die "need root or sudo to apt-get install: $*"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; please install manually: $*"
    local aptlog="$CHAT4ALL_DATA/apt.log"
    log "installing packages: $* (apt-get; output in $aptlog)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$aptlog" 2>&1 \
        || { tail -n 20 "$aptlog" >&2; die "apt-get update failed (see $aptlog)"; }
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold "$@" >>"$aptlog" 2>&1 \
        || { tail -n 20 "$aptlog" >&2; die "apt-get install failed: $* (see $aptlog)"; }
}

ensure_installed() {
    local pkgs=()
    [[ -x "$CHAT4ALL_PG_BIN/initdb" && -x "$CHAT4ALL_PG_BIN/pg_ctl" ]] || pkgs+=(postgresql-15)
    { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || pkgs+=(redis-server)
    # The README's walkthrough (and its test) uses curl and jq.
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    command -v jq >/dev/null 2>&1 || pkgs+=(jq)
    if ((${#pkgs[@]})); then
        apt_install "${pkgs[@]}"
    fi
    [[ -x "$CHAT4ALL_PG_BIN/initdb" ]] || die "PostgreSQL binaries not found in $CHAT4ALL_PG_BIN (set CHAT4ALL_PG_BIN?)"
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found after install"
    command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found after install"
}

ensure_browser_tools() {
    local pkgs=()
    command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
    { command -v node && command -v npm; } >/dev/null 2>&1 || pkgs+=(nodejs npm)
    if ((${#pkgs[@]})); then
        apt_install "${pkgs[@]}"
    fi
    command -v chromium >/dev/null 2>&1 || die "chromium not found after install"
}

# --- PostgreSQL -----------------------------------------------------------------

# Run a PostgreSQL server binary as the cluster owner. PostgreSQL refuses to
# run as root, so as root we use the `postgres` OS user. `cd` to a directory it
# can enter so tools don't warn about an unreadable working directory.
as_pg() {
    if is_root; then
        (cd "$PG_DIR" && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# As root the postgres user must be able to reach $CHAT4ALL_DATA. We fix
# permissions inside our own data dir, but never chmod the user's directories
# above it; instead explain what to do.
check_pg_traversal() {
    is_root || return 0
    getent passwd postgres >/dev/null || die "OS user 'postgres' does not exist (install postgresql-15 or run as non-root)"
    local d="$CHAT4ALL_DATA"
    while [[ "$d" != "/" ]]; do
        d="$(dirname "$d")"
        if ! runuser -u postgres -- test -x "$d"; then
            die "the 'postgres' OS user cannot enter '$d' (needed to reach $CHAT4ALL_DATA).
        Either run: chmod o+x '$d'   (and any other non-traversable parent),
        or use a data dir elsewhere, e.g.: CHAT4ALL_DATA=/var/tmp/chat4all $0 up"
        fi
    done
}

prepare_pg_dirs() {
    mkdir -p "$PG_DIR" "$PG_RUN"
    touch "$PG_LOG"
    if is_root; then
        chmod o+x "$CHAT4ALL_DATA"
        chmod 755 "$PG_DIR" "$PG_RUN"
        chown postgres:postgres "$PG_DIR" "$PG_RUN" "$PG_LOG"
        if [[ -d "$PG_DATA" ]]; then
            local owner
            owner="$(stat -c %U "$PG_DATA")"
            [[ "$owner" == postgres ]] || die "$PG_DATA is owned by '$owner', expected 'postgres' (was it created by a non-root run? remove it or run as that user)"
        fi
    elif [[ -d "$PG_DATA" && ! -O "$PG_DATA" ]]; then
        die "$PG_DATA is owned by '$(stat -c %U "$PG_DATA")', not by you (created by a root run?). Run as root or use another CHAT4ALL_DATA."
    fi
}

pg_initialized() { [[ -f "$PG_DATA/PG_VERSION" ]]; }

pg_init() {
    if [[ -d "$PG_DATA" ]] && [[ -n "$(ls -A "$PG_DATA")" ]]; then
        die "$PG_DATA exists but is not an initialised cluster (no PG_VERSION); remove it and retry"
    fi
    mkdir -p "$PG_DATA"
    chmod 700 "$PG_DATA"
    is_root && chown postgres:postgres "$PG_DATA"

    # Prefer C.UTF-8 (byte-order collation, UTF-8 ctype); fall back to C.
    local locale=C locales
    locales="$(locale -a 2>/dev/null || true)"
    if grep -qiE '^c\.utf-?8$' <<<"$locales"; then locale=C.UTF-8; fi

    log "initialising PostgreSQL cluster in $PG_DATA (locale $locale)"
    as_pg "$CHAT4ALL_PG_BIN/initdb" -D "$PG_DATA" -U postgres \
        --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale="$locale" >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed (see $PG_DIR/initdb.log)"; }

    # Our settings live in a separate file that is rewritten on every `up`
    # (so port changes take effect); postgresql.conf just includes it.
    printf "\n# Chat4All settings (managed by scripts/infra.sh)\ninclude_if_exists = 'chat4all.conf'\n" \
        | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

pg_write_conf() {
    local run_esc="${PG_RUN//\'/\'\'}"
    cat <<EOF | as_pg tee "$PG_DATA/chat4all.conf" >/dev/null
# Managed by scripts/infra.sh -- rewritten on every 'up'; edit the script instead.
listen_addresses = '127.0.0.1'
port = $CHAT4ALL_PG_PORT
unix_socket_directories = '$run_esc'
max_connections = 300          # test suites open many connection pools
fsync = on                     # keep durability guarantees
EOF
}

# PID of a live postmaster for our data dir, or nothing. A PID in
# postmaster.pid only counts if that process exists *and* is a postgres
# process (after a reboot the PID may belong to something unrelated).
pg_live_pid() {
    local pid
    [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
    pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    proc_alive "$pid" || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres* ]] || return 1
    echo "$pid"
}

# True if the process exists and is not a zombie (a killed postmaster whose
# parent has not reaped it yet still has a /proc entry).
proc_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"          # drop "pid (comm) " -- comm may contain spaces
    [[ "${stat:0:1}" != Z ]]
}

pg_ready() { "$CHAT4ALL_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$CHAT4ALL_PG_PORT" -t 2 >/dev/null 2>&1; }

pg_running() {
    pg_live_pid >/dev/null && as_pg "$CHAT4ALL_PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# Remove lock files left behind by a postmaster that no longer exists
# (kill -9, power loss, container restart).
pg_clear_stale() {
    if [[ -f "$PG_DATA/postmaster.pid" ]] && ! pg_live_pid >/dev/null; then
        log "removing stale postmaster.pid (its postmaster is no longer running)"
        rm -f "$PG_DATA/postmaster.pid"
    fi
    local lock="$PG_RUN/.s.PGSQL.$CHAT4ALL_PG_PORT.lock"
    if [[ -f "$lock" ]]; then
        local pid
        pid="$(head -n1 "$lock" 2>/dev/null || true)"
        if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! proc_alive "$pid"; then
            rm -f "$lock" "$PG_RUN/.s.PGSQL.$CHAT4ALL_PG_PORT"
        fi
    fi
}

# $1 = timeout in half-seconds (default 60s).
pg_wait_ready() {
    local i
    for ((i = 0; i < ${1:-120}; i++)); do
        pg_ready && return 0
        sleep 0.5
    done
    return 1
}

pg_fail_not_ready() {
    tail -n 30 "$PG_LOG" >&2 || true
    die "PostgreSQL did not accept connections on 127.0.0.1:$CHAT4ALL_PG_PORT (see $PG_LOG)"
}

pg_start() {
    pg_write_conf
    if pg_running; then
        # Give a server that is still starting up a moment; if it never answers
        # on our port it was most likely started with another CHAT4ALL_PG_PORT.
        pg_wait_ready 20 || die "PostgreSQL (pid $(pg_live_pid)) is running from $PG_DATA but not accepting connections on 127.0.0.1:$CHAT4ALL_PG_PORT (started with another port?). Run '$0 down' and then '$0 up'."
        log "PostgreSQL already running on 127.0.0.1:$CHAT4ALL_PG_PORT"
        return 0
    fi
    pg_clear_stale
    if pg_ready; then
        die "something else is already accepting PostgreSQL connections on 127.0.0.1:$CHAT4ALL_PG_PORT; set CHAT4ALL_PG_PORT to a free port"
    fi
    log "starting PostgreSQL on 127.0.0.1:$CHAT4ALL_PG_PORT (log: $PG_LOG)"
    # 9>&-: the long-lived server must not inherit (and so hold forever) our lock fd.
    if ! as_pg "$CHAT4ALL_PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 120 start >/dev/null 9>&-; then
        tail -n 30 "$PG_LOG" >&2 || true
        die "pg_ctl start failed (see $PG_LOG)"
    fi
    pg_wait_ready || pg_fail_not_ready
    log "PostgreSQL is accepting connections"
}

# psql as the superuser over the private unix socket (trust auth).
pg_psql() {
    "$CHAT4ALL_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$CHAT4ALL_PG_PORT" \
        -U postgres -d postgres "$@"
}

pg_password() {
    if [[ ! -s "$PG_PWFILE" ]]; then
        log "generating password for role $APP_ROLE -> $PG_PWFILE"
        # hex only: safe inside connection strings and SQL literals.
        (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$PG_PWFILE")
    fi
    chmod 600 "$PG_PWFILE"
    cat "$PG_PWFILE"
}

pg_provision() {
    local pw
    pw="$(pg_password)"
    [[ "$pw" =~ ^[0-9a-f]+$ ]] || die "unexpected content in $PG_PWFILE (expected hex); delete it to regenerate"
    # The password file is the source of truth: (re)apply it every time, so a
    # regenerated file never leaves the role with a stale password.
    pg_psql >/dev/null <<SQL || die "failed to create/update role '$APP_ROLE'"
SET client_min_messages = warning;
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
    CREATE ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$pw';
  ELSE
    ALTER ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$pw';
  END IF;
END
\$\$;
SQL
    local exists
    exists="$(pg_psql -tA -c "SELECT 1 FROM pg_database WHERE datname = '$APP_DB'")"
    if [[ "$exists" != 1 ]]; then
        log "creating database $APP_DB (owner $APP_ROLE)"
        pg_psql -c "CREATE DATABASE $APP_DB OWNER $APP_ROLE ENCODING 'UTF8'" >/dev/null \
            || die "failed to create database '$APP_DB'"
    fi
}

pg_stop() {
    if [[ -f "$PG_DATA/PG_VERSION" ]] && pg_running; then
        log "stopping PostgreSQL"
        as_pg "$CHAT4ALL_PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 120 stop >/dev/null \
            || die "pg_ctl stop failed (see $PG_LOG)"
    else
        log "PostgreSQL not running"
    fi
}

# --- Redis --------------------------------------------------------------------

redis_ping() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$CHAT4ALL_REDIS_PORT" ping 2>/dev/null || true)" == PONG ]]
}

redis_start() {
    if redis_ping; then
        log "Redis already running on 127.0.0.1:$CHAT4ALL_REDIS_PORT"
        return 0
    fi
    mkdir -p "$REDIS_DIR"
    log "starting Redis on 127.0.0.1:$CHAT4ALL_REDIS_PORT (log: $REDIS_LOG)"
    # AOF (fsync every second) for durability; RDB snapshots off.
    redis-server --daemonize yes \
        --bind 127.0.0.1 --port "$CHAT4ALL_REDIS_PORT" \
        --dir "$REDIS_DIR" \
        --appendonly yes --appendfsync everysec \
        --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" \
        --save "" 9>&- \
        || die "redis-server failed to start (see $REDIS_LOG)"
    local i
    for ((i = 0; i < 100; i++)); do
        redis_ping && { log "Redis is answering PONG"; return 0; }
        sleep 0.2
    done
    tail -n 30 "$REDIS_LOG" >&2 || true
    die "Redis did not answer on 127.0.0.1:$CHAT4ALL_REDIS_PORT (see $REDIS_LOG)"
}

redis_stop() {
    if ! redis_ping; then
        log "Redis not running"
        rm -f "$REDIS_PID"
        return 0
    fi
    log "stopping Redis"
    local pid=""
    [[ -f "$REDIS_PID" ]] && pid="$(cat "$REDIS_PID" 2>/dev/null || true)"
    # SHUTDOWN flushes the AOF; the connection drops, so ignore its status.
    redis-cli -h 127.0.0.1 -p "$CHAT4ALL_REDIS_PORT" shutdown >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 100; i++)); do
        if ! redis_ping && { [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; }; then
            rm -f "$REDIS_PID"
            return 0
        fi
        sleep 0.2
    done
    die "Redis did not stop (pid ${pid:-unknown})"
}

# --- Commands -------------------------------------------------------------------

cmd_env() {
    [[ -s "$PG_PWFILE" ]] || die "no password file at $PG_PWFILE; run '$ROOT/scripts/infra.sh up' first"
    local pw
    pw="$(cat "$PG_PWFILE")"
    local pg="Host=127.0.0.1;Port=$CHAT4ALL_PG_PORT;Database=$APP_DB;Username=$APP_ROLE;Password=$pw;Maximum Pool Size=50"
    printf 'export CHAT4ALL_DATA=%s\n' "$(shq "$CHAT4ALL_DATA")"
    printf 'export CHAT4ALL_PG_BIN=%s\n' "$(shq "$CHAT4ALL_PG_BIN")"
    printf 'export CHAT4ALL_PG_PORT=%s\n' "$(shq "$CHAT4ALL_PG_PORT")"
    printf 'export CHAT4ALL_REDIS_PORT=%s\n' "$(shq "$CHAT4ALL_REDIS_PORT")"
    printf 'export ConnectionStrings__Postgres=%s\n' "$(shq "$pg")"
    printf 'export ConnectionStrings__Redis=%s\n' "$(shq "127.0.0.1:$CHAT4ALL_REDIS_PORT")"
}

cmd_up() {
    validate_ports
    take_lock          # before apt-get too: parallel installs would fight over dpkg's lock
    ensure_installed
    check_pg_traversal
    prepare_pg_dirs
    pg_initialized || pg_init
    pg_start
    pg_provision
    redis_start
    log "ready: PostgreSQL 127.0.0.1:$CHAT4ALL_PG_PORT, Redis 127.0.0.1:$CHAT4ALL_REDIS_PORT, data in $CHAT4ALL_DATA"
    log "load the environment with: eval \"\$($ROOT/scripts/infra.sh env)\""
}

cmd_down() {
    validate_ports
    [[ -d "$CHAT4ALL_DATA" ]] || { log "nothing to stop ($CHAT4ALL_DATA does not exist)"; return 0; }
    take_lock
    if [[ -x "$CHAT4ALL_PG_BIN/pg_ctl" ]]; then pg_stop; fi
    if command -v redis-cli >/dev/null 2>&1; then redis_stop; fi
    log "stopped (data kept in $CHAT4ALL_DATA)"
}

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in
    up)   cmd_up ;;
    down) cmd_down ;;
    env)  cmd_env ;;
    browser) mkdir -p "$CHAT4ALL_DATA"; ensure_browser_tools ;;
    -h|--help|help) usage ;;
    *)    usage ;;
esac
