#!/usr/bin/env bash
# A highly available Chat4All on this machine, all on 127.0.0.1, no Docker, no systemd:
#   etcd (Patroni's store) · three PostgreSQL 15 nodes under Patroni (synchronous_mode, failover in
#   seconds) · HAProxy (PostgreSQL frontend following the Patroni leader, HTTP frontend over three
#   hosts checking /ready) · a Redis master, a replica and three Sentinels · three hosts.
#
# Usage:
#   scripts/ha.sh up        install what is missing (apt-get), start whatever is not running, create
#                           the chat4all role and database, migrate, seed the demo users
#                           (.chat4all/ha/demo-users.json), start the three hosts
#                           (CHAT4ALL_HA_HOSTS=0: infrastructure only). Idempotent.
#   scripts/ha.sh down      stop everything (data is kept)
#   scripts/ha.sh status    one line per process, the Patroni leader and the Redis master
#   scripts/ha.sh env       `export ...` lines for a host (or a test) joining the cluster
#   scripts/ha.sh kill WHAT SIGKILL one piece as a crash would: pg-leader, redis-master, host1..3
#                           (`up` starts it again; the old PostgreSQL leader rejoins as a replica)
#   scripts/ha.sh pause HOST SECONDS
#                           SIGSTOP host1..3 for SECONDS, then SIGCONT (a hung process)
#   scripts/ha.sh backup    pg_basebackup of the leader (WAL is archived continuously)
#   scripts/ha.sh restore TIME DIR
#                           restore the latest base backup taken before TIME plus archived WAL up
#                           to TIME (point-in-time recovery) into DIR and start it on a free port;
#                           prints the port (stop it with pg_ctl -D DIR stop)
#
# Settings (environment): CHAT4ALL_HA_DATA (<repo>/.chat4all/ha), CHAT4ALL_HA_PORT_BASE (18170; the
#   cluster uses 19 consecutive ports from it, see `status`), CHAT4ALL_PG_BIN.
# Progress lines go to stderr, prefixed [ha].
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${CHAT4ALL_HA_DATA:-$ROOT/.chat4all/ha}"
[[ "$DATA" == /* ]] || DATA="$PWD/$DATA"
BASE="${CHAT4ALL_HA_PORT_BASE:-18170}"
PG_BIN="${CHAT4ALL_PG_BIN:-/usr/lib/postgresql/15/bin}"
HOSTS="${CHAT4ALL_HA_HOSTS:-1}"

[[ "$BASE" =~ ^[0-9]+$ ]] && ((BASE > 1023 && BASE < 65500)) || { echo "[ha] invalid CHAT4ALL_HA_PORT_BASE: $BASE" >&2; exit 2; }

ETCD_PORT=$BASE
ETCD_PEER_PORT=$((BASE + 1))
pg_port() { echo $((BASE + 1 + $1)); }        # nodes 1..3
rest_port() { echo $((BASE + 4 + $1)); }      # Patroni REST API of nodes 1..3
HAPROXY_PG_PORT=$((BASE + 8))
HAPROXY_HTTP_PORT=$((BASE + 9))
HAPROXY_STATS_PORT=$((BASE + 10))
redis_port() { echo $((BASE + 10 + $1)); }    # nodes 1..2 (1 starts as master)
sentinel_port() { echo $((BASE + 12 + $1)); } # sentinels 1..3
host_port() { echo $((BASE + 15 + $1)); }     # hosts 1..3

SCOPE=chat4all
REDIS_SERVICE=chat4all
APP_ROLE=chat4all
APP_DB=chat4all

# Failover timing. Patroni: the leader key lives TTL seconds; replicas race for it once it expires,
# and only the synchronous standby may win, so nothing acknowledged is lost. TTL must be at least
# loop_wait + 2 * retry_timeout. Sentinel: the master is "down" after 1 s without a reply.
PATRONI_TTL=6
PATRONI_LOOP_WAIT=1
PATRONI_RETRY_TIMEOUT=2
SENTINEL_DOWN_AFTER_MS=1000
SENTINEL_FAILOVER_TIMEOUT_MS=5000

log() { printf '[ha] %s\n' "$*" >&2; }
die() { printf '[ha] ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# --- installation ---------------------------------------------------------------------------------

ensure_installed() {
    local pkgs=()
    command -v etcd >/dev/null 2>&1 || pkgs+=(etcd-server)
    command -v patroni >/dev/null 2>&1 || pkgs+=(patroni)
    command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || pkgs+=(haproxy)
    command -v redis-sentinel >/dev/null 2>&1 || pkgs+=(redis-sentinel)
    command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
    [[ -x "$PG_BIN/pg_ctl" ]] || pkgs+=(postgresql-15)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    ((${#pkgs[@]})) || return 0
    is_root || die "need root to apt-get install: ${pkgs[*]}"
    mkdir -p "$DATA"
    log "installing ${pkgs[*]} (apt-get; output in $DATA/apt.log)"
    # Debian starts a package's service on install; on the default ports those would clash with
    # nothing of ours, but they are not wanted: forbid service starts for this install only.
    local policy=/usr/sbin/policy-rc.d created=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
    fi
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Options::=--force-confdef \
                -o Dpkg::Options::=--force-confold "${pkgs[@]}"
    } >"$DATA/apt.log" 2>&1 || rc=$?
    ((created)) && rm -f "$policy"
    ((rc == 0)) || { tail -n 20 "$DATA/apt.log" >&2; die "apt-get install failed (see $DATA/apt.log)"; }
    # Where systemd runs, the packages enabled services on the default ports: stop them.
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        systemctl disable --now etcd patroni haproxy redis-sentinel >/dev/null 2>&1 || true
    fi
}

# --- processes ------------------------------------------------------------------------------------

# True if the process exists and is not a zombie.
proc_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

pid_of() { local f="$DATA/run/$1.pid" pid; [[ -f $f ]] && pid="$(cat "$f")" && [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" && echo "$pid"; }

running() { pid_of "$1" >/dev/null; }

# start NAME USER COMMAND...: runs COMMAND in a session of its own (so one SIGKILL of the group is a
# crash of the whole piece) as USER, output in $DATA/log/NAME.log, pid in $DATA/run/NAME.pid.
# setsid and setpriv exec (no fork), so $! is the daemon itself.
start() {
    local name=$1 user=$2
    shift 2
    if running "$name"; then
        return 0
    fi
    local prefix=()
    if [[ $user != - ]] && is_root; then
        prefix=(setpriv "--reuid=$user" "--regid=$user" --init-groups)
    fi
    log "starting $name"
    # 9>&-: never hand our lock to a daemon.
    (cd "$DATA" && exec setsid "${prefix[@]}" "$@" </dev/null >>"$DATA/log/$name.log" 2>&1 9>&-) &
    echo $! >"$DATA/run/$name.pid"
}

# stop NAME [SIGNAL]: signals the process group, waits up to 30 s, then SIGKILLs it.
stop() {
    local name=$1 sig=${2:-TERM} pid i
    pid="$(pid_of "$name")" || { rm -f "$DATA/run/$name.pid"; return 0; }
    log "stopping $name (pid $pid)"
    kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        proc_alive "$pid" || break
        sleep 0.1
    done
    proc_alive "$pid" && kill -KILL -- "-$pid" 2>/dev/null
    rm -f "$DATA/run/$name.pid"
}

wait_for() { # DESCRIPTION SECONDS COMMAND...
    local what=$1 secs=$2 i
    shift 2
    for ((i = 0; i < secs * 5; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "timed out after ${secs}s waiting for $what (logs in $DATA/log)"
}

secret() { # NAME: a hex secret kept in $DATA/secrets/NAME
    local f="$DATA/secrets/$1"
    [[ -s $f ]] || (umask 077 && od -An -tx1 -N18 /dev/urandom | tr -d ' \n' >"$f")
    cat "$f"
}

# --- etcd -----------------------------------------------------------------------------------------

etcd_up() {
    mkdir -p "$DATA/etcd"
    start etcd - etcd --name ha --data-dir "$DATA/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "ha=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
        --auto-compaction-mode periodic --auto-compaction-retention 1h
    wait_for "etcd on 127.0.0.1:$ETCD_PORT" 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

# --- PostgreSQL under Patroni ----------------------------------------------------------------------

patroni_config() { # NODE
    local n=$1 dir="$DATA/pg$1"
    cat <<EOF
# Written by scripts/ha.sh on every 'up'; edit the script instead.
scope: $SCOPE
namespace: /chat4all-ha/
name: pg$n
log: {level: WARNING}
restapi:
  listen: 127.0.0.1:$(rest_port "$n")
  connect_address: 127.0.0.1:$(rest_port "$n")
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
bootstrap:
  dcs:
    ttl: $PATRONI_TTL
    loop_wait: $PATRONI_LOOP_WAIT
    retry_timeout: $PATRONI_RETRY_TIMEOUT
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: 300
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        archive_mode: 'on'
        archive_timeout: 10s
        archive_command: '$DATA/archive-wal.sh %p %f'
  initdb:
    - encoding: UTF8
    - locale: C
    - data-checksums
postgresql:
  listen: 127.0.0.1:$(pg_port "$n")
  connect_address: 127.0.0.1:$(pg_port "$n")
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  authentication:
    superuser: {username: postgres, password: '$(secret postgres)'}
    replication: {username: replicator, password: '$(secret replicator)'}
    rewind: {username: rewinder, password: '$(secret rewinder)'}
  parameters:
    unix_socket_directories: '$dir/run'
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
EOF
}

# archive_command of every node. A segment already archived is kept and reported done: after a
# failover the new leader archives the old timeline's last segments again, and a plain
# `test ! -f` would then block archiving for good.
write_archive_script() {
    cat >"$DATA/archive-wal.sh" <<EOF
#!/bin/sh
# Written by scripts/ha.sh. Usage: archive-wal.sh PATH FILE (PostgreSQL's %p %f).
set -e
dest="$DATA/wal-archive/\$2"
[ -f "\$dest" ] && exit 0
cp "\$1" "\$dest.tmp"
mv "\$dest.tmp" "\$dest"
EOF
    chmod 755 "$DATA/archive-wal.sh"
}

patroni_up() {
    local n dir
    mkdir -p "$DATA/wal-archive" "$DATA/backups"
    is_root && chown postgres:postgres "$DATA/wal-archive" "$DATA/backups"
    write_archive_script
    for n in 1 2 3; do
        dir="$DATA/pg$n"
        mkdir -p "$dir/run"
        patroni_config "$n" >"$dir/patroni.yml"
        if is_root; then
            chown postgres:postgres "$dir" "$dir/run" "$dir/patroni.yml"
            chmod 700 "$dir"
        fi
        start "patroni$n" postgres patroni "$dir/patroni.yml"
    done
    wait_for "a Patroni leader" 90 leader_node
    # The store keeps the settings of the cluster's first start: apply this script's archive command.
    runuser_pg patronictl -c "$DATA/pg1/patroni.yml" edit-config --force --quiet \
        -p "archive_command='$DATA/archive-wal.sh %p %f'" >/dev/null 2>&1 || true
    wait_for "PostgreSQL through HAProxy" 60 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$HAPROXY_PG_PORT"
    provision_app_db
    wait_for "three running PostgreSQL nodes with a synchronous standby" 120 cluster_healthy
}

# Every node's PostgreSQL runs and one standby is synchronous (a leader loss then loses nothing).
cluster_healthy() {
    local n sync=0
    for n in 1 2 3; do
        curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$(rest_port "$n")/health" || return 1
        curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$(rest_port "$n")/sync" && sync=1
    done
    ((sync))
}

# The node number whose Patroni answers /primary 200, if any.
leader_node() {
    local n
    for n in 1 2 3; do
        if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$(rest_port "$n")/primary"; then
            echo "$n"
            return 0
        fi
    done
    return 1
}

runuser_pg() { if is_root; then (cd "$DATA" && runuser -u postgres -- "$@"); else "$@"; fi; }

leader_psql() {
    PGPASSWORD="$(secret postgres)" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$HAPROXY_PG_PORT" \
        -U postgres -d postgres "$@"
}

provision_app_db() {
    local pw
    pw="$(secret "$APP_ROLE")"
    wait_for "a writable primary" 60 leader_psql -c "CREATE TEMP TABLE ha_probe(x int)"
    leader_psql >/dev/null <<SQL
SET client_min_messages = warning;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
    CREATE ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$pw';
  ELSE
    ALTER ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$pw';
  END IF;
END \$\$;
SQL
    if [[ "$(leader_psql -tA -c "SELECT 1 FROM pg_database WHERE datname = '$APP_DB'")" != 1 ]]; then
        log "creating database $APP_DB"
        leader_psql -c "CREATE DATABASE $APP_DB OWNER $APP_ROLE" >/dev/null
    fi
}

# The postmaster of node N, from its postmaster.pid.
postmaster_pid() {
    local f="$DATA/pg$1/data/postmaster.pid" pid
    [[ -r $f ]] && pid="$(head -n1 "$f")" && [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" && echo "$pid"
}

# --- HAProxy ----------------------------------------------------------------------------------------

haproxy_config() {
    local n
    cat <<EOF
# Written by scripts/ha.sh on every 'up'; edit the script instead.
global
    maxconn 4000
    pidfile $DATA/run/haproxy.pid

defaults
    timeout connect 1s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout check 1s

# PostgreSQL: only the node whose Patroni answers /primary with 200 gets traffic. When it loses the
# leader key its sessions are cut at once, so clients reconnect to the new leader instead of
# writing into a demoted node.
listen postgres
    bind 127.0.0.1:$HAPROXY_PG_PORT
    mode tcp
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 500ms fastinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions
EOF
    for n in 1 2 3; do
        echo "    server pg$n 127.0.0.1:$(pg_port "$n") check port $(rest_port "$n")"
    done
    cat <<EOF

# The API and /ws over the three hosts. /ready fails while a host drains or lost a dependency; a
# refused or reset connection is retried on another host before any byte reached the client.
frontend api
    bind 127.0.0.1:$HAPROXY_HTTP_PORT
    mode http
    # Every host unready at once means a shared dependency is failing over (PostgreSQL, Redis),
    # not that the hosts are sick: then keep serving through every live host, which waits the
    # failover out, rather than answering 503 from here.
    use_backend api_live if { nbsrv(api) eq 0 }
    default_backend api
EOF
    api_backend api /ready
    api_backend api_live /health
    cat <<EOF

listen stats
    bind 127.0.0.1:$HAPROXY_STATS_PORT
    mode http
    stats enable
    stats uri /
EOF
}

api_backend() { # NAME CHECK_PATH
    cat <<EOF

backend $1
    mode http
    balance roundrobin
    option httpchk GET $2
    http-check expect status 200
    option redispatch 1
    retries 3
    retry-on conn-failure empty-response junk-response
    timeout server 30s
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
EOF
    local n
    for n in 1 2 3; do
        echo "    server host$n 127.0.0.1:$(host_port "$n") check"
    done
}

haproxy_up() {
    haproxy_config >"$DATA/haproxy.cfg"
    local bin
    bin="$(command -v haproxy || echo /usr/sbin/haproxy)"
    "$bin" -c -q -f "$DATA/haproxy.cfg" || die "invalid $DATA/haproxy.cfg"
    if running haproxy; then
        # Pick up a changed configuration without dropping connections.
        kill -USR2 "$(pid_of haproxy)" 2>/dev/null || true
        return 0
    fi
    # -Ws: master-worker in the foreground (USR2 reloads), so `start` tracks the master.
    start haproxy - "$bin" -Ws -f "$DATA/haproxy.cfg"
    wait_for "HAProxy" 20 curl -sf -o /dev/null "http://127.0.0.1:$HAPROXY_STATS_PORT/"
}

# --- Redis and Sentinel -----------------------------------------------------------------------------

sentinel_cli() { redis-cli -h 127.0.0.1 -p "$(sentinel_port "$1")" "${@:2}"; }

# "host port" of the master as the Sentinels see it, if any Sentinel answers.
redis_master_addr() {
    local s out
    for s in 1 2 3; do
        out="$(sentinel_cli "$s" SENTINEL get-master-addr-by-name "$REDIS_SERVICE" 2>/dev/null | tr '\n' ' ')"
        if [[ $out =~ ^127\.0\.0\.1\ [0-9]+\ $ ]]; then
            echo "${out% }"
            return 0
        fi
    done
    return 1
}

# "host port" of the master the Sentinels last wrote to their file (they rewrite it on every
# promotion), for a cold start: starting node 1 as master while the Sentinels still name the node
# they promoted gives them two views to reconcile, and a host connecting meanwhile is refused.
redis_recorded_master() {
    local addr
    addr="$(awk -v s="$REDIS_SERVICE" '$1 == "sentinel" && $2 == "monitor" && $3 == s { print $4 " " $5; exit }' \
        "$DATA/sentinel1/sentinel.conf" 2>/dev/null)"
    [[ -n $addr ]] && echo "$addr"
}

redis_up() {
    local n dir args master
    master="$(redis_master_addr || redis_recorded_master || echo "127.0.0.1 $(redis_port 1)")"
    for n in 1 2; do
        running "redis$n" && continue
        dir="$DATA/redis$n"
        mkdir -p "$dir"
        args=(--bind 127.0.0.1 --port "$(redis_port "$n")" --dir "$dir" --appendonly yes --appendfsync everysec
            --save "" --replica-announce-ip 127.0.0.1)
        # A node that comes back joins whatever Sentinel made master meanwhile, never as a second master.
        [[ $master != "127.0.0.1 $(redis_port "$n")" ]] && args+=(--replicaof ${master})
        start "redis$n" - redis-server "${args[@]}"
        wait_for "redis$n" 20 redis-cli -p "$(redis_port "$n")" ping
    done
    local q=2
    for n in 1 2 3; do
        dir="$DATA/sentinel$n"
        mkdir -p "$dir"
        # Sentinel rewrites its own file (known replicas, epochs); write it only the first time.
        if [[ ! -s "$dir/sentinel.conf" ]]; then
            cat >"$dir/sentinel.conf" <<EOF
bind 127.0.0.1
port $(sentinel_port "$n")
dir $dir
sentinel announce-ip 127.0.0.1
sentinel monitor $REDIS_SERVICE $master $q
sentinel down-after-milliseconds $REDIS_SERVICE $SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout $REDIS_SERVICE $SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $REDIS_SERVICE 1
EOF
        fi
        start "sentinel$n" - redis-sentinel "$dir/sentinel.conf"
        wait_for "sentinel$n" 20 sentinel_cli "$n" ping
    done
    wait_for "the Sentinels to agree on a master" 30 redis_master_addr
}

# --- hosts ---------------------------------------------------------------------------------------

host_dll() { echo "$ROOT/services/Chat4All.Host/bin/Release/net10.0/Chat4All.Host.dll"; }

redis_connection_string() {
    echo "127.0.0.1:$(sentinel_port 1),127.0.0.1:$(sentinel_port 2),127.0.0.1:$(sentinel_port 3),serviceName=$REDIS_SERVICE,abortConnect=false"
}

postgres_connection_string() {
    echo "Host=127.0.0.1;Port=$HAPROXY_PG_PORT;Database=$APP_DB;Username=$APP_ROLE;Password=$(secret "$APP_ROLE");Maximum Pool Size=50;Timeout=5;Command Timeout=15"
}

host_env() {
    export ConnectionStrings__Postgres="$(postgres_connection_string)"
    export ConnectionStrings__Redis="$(redis_connection_string)"
    export Chat4All__Runtime=standalone
    export Chat4All__DataDirectory="$DATA/host-data"
    export Chat4All__Auth__Issuer="http://127.0.0.1:$HAPROXY_HTTP_PORT/"
    export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Production}"
    # The chaos bench sends ten messages a second per user; the default budget (60 a minute) would
    # turn most of them into 429s. CHAT4ALL_HA_RATE_LIMIT sets it back.
    export Chat4All__RateLimiting__Budgets__default__PermitLimit="${CHAT4ALL_HA_RATE_LIMIT:-100000}"
    export DOTNET_NOLOGO=1
}

hosts_up() {
    local dll n
    dll="$(host_dll)"
    if [[ ! -f $dll ]]; then
        log "building the host (Release)"
        dotnet build "$ROOT/services/Chat4All.Host" -c Release --nologo -v q >"$DATA/log/build.log" 2>&1 \
            || { tail -n 20 "$DATA/log/build.log" >&2; die "build failed"; }
    fi
    host_env
    mkdir -p "$DATA/host-data"
    (cd "$DATA" && dotnet "$dll" migrate >>"$DATA/log/migrate.log" 2>&1) || die "migrate failed (see $DATA/log/migrate.log)"
    (cd "$DATA" && dotnet "$dll" users seed-demo --output "$DATA/demo-users.json" >>"$DATA/log/migrate.log" 2>&1) \
        || die "seeding the demo users failed (see $DATA/log/migrate.log)"
    for n in 1 2 3; do
        ASPNETCORE_URLS="http://127.0.0.1:$(host_port "$n")" start "host$n" - dotnet "$dll" --target all
    done
    for n in 1 2 3; do
        wait_for "host$n /ready" 90 curl -sf -o /dev/null "http://127.0.0.1:$(host_port "$n")/ready"
    done
}

# --- commands ---------------------------------------------------------------------------------------

take_lock() {
    exec 9>"$DATA/.ha.lock"
    flock -w 300 9 || die "timed out waiting for $DATA/.ha.lock"
}

prepare() {
    mkdir -p "$DATA/run" "$DATA/log" "$DATA/secrets"
    if is_root; then
        getent passwd postgres >/dev/null || die "OS user 'postgres' missing (install postgresql-15)"
        chmod o+x "$DATA"
        local d="$DATA"
        while [[ $d != / ]]; do
            d="$(dirname "$d")"
            runuser -u postgres -- test -x "$d" || die "the postgres user cannot enter $d; chmod o+x it or use CHAT4ALL_HA_DATA elsewhere"
        done
    fi
}

cmd_up() {
    mkdir -p "$DATA"
    take_lock
    ensure_installed
    prepare
    etcd_up
    haproxy_up
    patroni_up
    redis_up
    [[ $HOSTS == 0 ]] || hosts_up
    log "ready: API http://127.0.0.1:$HAPROXY_HTTP_PORT  PostgreSQL 127.0.0.1:$HAPROXY_PG_PORT (leader pg$(leader_node))  Redis master $(redis_master_addr)"
}

cmd_down() {
    [[ -d $DATA ]] || { log "nothing to stop"; return 0; }
    take_lock
    local n
    for n in 1 2 3; do stop "host$n"; done
    for n in 1 2 3; do stop "sentinel$n"; done
    for n in 2 1; do stop "redis$n"; done
    # Patroni stops its PostgreSQL on SIGTERM (fast shutdown) before it exits.
    for n in 1 2 3; do stop "patroni$n"; done
    stop haproxy
    stop etcd
    log "stopped (data kept in $DATA)"
}

cmd_status() {
    local name pid n role
    printf '%-10s %-8s %s\n' PROCESS PID STATE
    for name in etcd haproxy patroni1 patroni2 patroni3 redis1 redis2 sentinel1 sentinel2 sentinel3 host1 host2 host3; do
        if pid="$(pid_of "$name")"; then printf '%-10s %-8s running\n' "$name" "$pid"; else printf '%-10s %-8s stopped\n' "$name" -; fi
    done
    echo
    for n in 1 2 3; do
        role="$(curl -sf --max-time 1 "http://127.0.0.1:$(rest_port "$n")/patroni" | sed -nE 's/.*"role": ?"([a-z_]+)".*/\1/p' || true)"
        printf 'pg%s  127.0.0.1:%s  %s\n' "$n" "$(pg_port "$n")" "${role:-down}"
    done
    echo "PostgreSQL (HAProxy, follows the leader): 127.0.0.1:$HAPROXY_PG_PORT"
    echo "Redis master (Sentinel, service '$REDIS_SERVICE'): $(redis_master_addr || echo unknown)"
    echo "API (HAProxy over host1..3 on $(host_port 1)-$(host_port 3)): http://127.0.0.1:$HAPROXY_HTTP_PORT"
    echo "HAProxy stats: http://127.0.0.1:$HAPROXY_STATS_PORT/"
}

cmd_env() {
    host_env
    local v
    for v in ConnectionStrings__Postgres ConnectionStrings__Redis Chat4All__Runtime Chat4All__DataDirectory Chat4All__Auth__Issuer; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
    printf 'export CHAT4ALL_HA_API=%q\n' "http://127.0.0.1:$HAPROXY_HTTP_PORT"
    printf 'export CHAT4ALL_HA_POSTGRES_ADMIN=%q\n' "Host=127.0.0.1;Port=$HAPROXY_PG_PORT;Database=postgres;Username=postgres;Password=$(secret postgres)"
    printf 'export CHAT4ALL_HA_HOST_PORTS=%q\n' "$(host_port 1),$(host_port 2),$(host_port 3)"
    printf 'export CHAT4ALL_HA_PATRONI_PORTS=%q\n' "$(rest_port 1),$(rest_port 2),$(rest_port 3)"
}

cmd_kill() {
    local what=${1:-} n pid
    case "$what" in
        pg-leader)
            n="$(leader_node)" || die "no PostgreSQL leader to kill"
            # Patroni first (else it would restart PostgreSQL), then the postmaster: a dead machine.
            pid="$(postmaster_pid "$n" || true)"
            stop "patroni$n" KILL
            [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
            echo "pg$n"
            ;;
        redis-master)
            local addr
            addr="$(redis_master_addr)" || die "no Redis master known to the Sentinels"
            for n in 1 2; do
                if [[ $addr == "127.0.0.1 $(redis_port "$n")" ]]; then
                    stop "redis$n" KILL
                    echo "redis$n"
                    return 0
                fi
            done
            die "the master $addr is not one of ours"
            ;;
        host[123]) stop "$what" KILL; echo "$what" ;;
        *) die "kill what? pg-leader | redis-master | host1..3" ;;
    esac
}

# SIGSTOP a host for SECONDS, then SIGCONT: a hung process, not a dead one.
cmd_pause() {
    local what=${1:-} secs=${2:-20} pid
    [[ $what =~ ^host[123]$ && $secs =~ ^[0-9]+$ ]] || die "usage: ha.sh pause host1..3 SECONDS"
    pid="$(pid_of "$what")" || die "$what is not running"
    kill -STOP "$pid"
    sleep "$secs"
    kill -CONT "$pid"
    echo "$what"
}

# --- backup and point-in-time restore ---------------------------------------------------------------

cmd_backup() {
    local n label dir
    n="$(leader_node)" || die "no PostgreSQL leader"
    label="$(date -u +%Y%m%dT%H%M%S%NZ)"
    dir="$DATA/backups/$label"
    log "base backup of pg$n -> $dir"
    # A tar-format base backup with the WAL it needs streamed alongside; later WAL comes from the archive.
    PGPASSWORD="$(secret replicator)" "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$(pg_port "$n")" -U replicator \
        -D "$dir" -Ft -z -X stream -c fast -l "chat4all $label" >"$DATA/log/backup.log" 2>&1 \
        || { cat "$DATA/log/backup.log" >&2; die "pg_basebackup failed"; }
    archive_current_wal
    echo "$dir"
}

# Closes the leader's current WAL segment and waits until it is in the archive, so everything
# committed until now can be restored (archive_timeout would do the same within 10 s).
archive_current_wal() {
    local segment
    segment="$(leader_psql -tA -c "SELECT pg_walfile_name(pg_switch_wal())")" || die "cannot switch WAL on the leader"
    wait_for "WAL segment $segment in the archive" 60 test -f "$DATA/wal-archive/$segment"
}

cmd_restore() {
    local target=${1:-} into=${2:-} backup="" b stamp
    [[ -n $target && -n $into ]] || die "usage: ha.sh restore 'YYYY-MM-DD HH:MM:SS.ffffff+00' DIR"
    [[ ! -e $into || -z "$(ls -A "$into" 2>/dev/null)" ]] || die "$into is not empty"
    local target_epoch
    target_epoch="$(date -u -d "$target" +%s)" || die "cannot read the time '$target'"
    # The newest base backup that finished before the target.
    for b in $(ls -1 "$DATA/backups" 2>/dev/null | sort); do
        stamp="$(date -u -d "${b:0:4}-${b:4:2}-${b:6:2} ${b:9:2}:${b:11:2}:${b:13:2}" +%s)"
        ((stamp < target_epoch)) && backup="$DATA/backups/$b"
    done
    [[ -n $backup ]] || die "no base backup older than $target in $DATA/backups"
    # Where the cluster still runs, archive what it committed up to now (the target may be seconds ago).
    if leader_node >/dev/null; then archive_current_wal; fi
    log "restoring $backup up to $target into $into"
    mkdir -p "$into"
    tar -xzf "$backup/base.tar.gz" -C "$into"
    mkdir -p "$into/pg_wal"
    tar -xzf "$backup/pg_wal.tar.gz" -C "$into/pg_wal"
    local port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    cat >>"$into/postgresql.auto.conf" <<EOF
# Point-in-time recovery (scripts/ha.sh restore)
restore_command = 'cp $DATA/wal-archive/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
archive_mode = 'off'
synchronous_standby_names = ''
hba_file = '$into/pg_hba.conf'
ident_file = '$into/pg_ident.conf'
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$into'
EOF
    # Patroni's per-node settings must not leak into the copy (another node's socket dir, its port).
    touch "$into/recovery.signal"
    rm -f "$into/postmaster.pid" "$into/standby.signal"
    chmod 700 "$into"
    is_root && chown -R postgres:postgres "$into"
    local as=()
    is_root && as=(runuser -u postgres --)
    (cd "$into" && "${as[@]}" "$PG_BIN/pg_ctl" -D "$into" -l "$into/restore.log" -w -t 120 -o "-p $port" start >/dev/null 9>&-) \
        || { tail -n 20 "$into/restore.log" >&2; die "the restored server did not start"; }
    wait_for "the restored server to finish recovery" 120 \
        bash -c "[[ \"\$(PGPASSWORD='$(secret postgres)' '$PG_BIN/psql' -X -tA -h 127.0.0.1 -p $port -U postgres -d postgres -c 'SELECT pg_is_in_recovery()')\" == f ]]"
    echo "$port"
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    kill) mkdir -p "$DATA/run" && cmd_kill "${2:-}" ;;
    pause) cmd_pause "${2:-}" "${3:-}" ;;
    backup) cmd_backup ;;
    restore) cmd_restore "${2:-}" "${3:-}" ;;
    *) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
