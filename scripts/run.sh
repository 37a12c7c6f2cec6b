#!/usr/bin/env bash
# Main job: bring up local PostgreSQL + Redis, build, migrate, seed demo users
# and run the whole Chat4All system in one process (standalone runtime).
#
# Usage: scripts/run.sh [extra host args...]
#   CHAT4ALL_PORT (default 8080)  HTTP port, bound to 127.0.0.1
#   CHAT4ALL_TLS=1                serve HTTPS/WSS (TLS 1.3 only) with a local self-signed
#                                 certificate generated once under $CHAT4ALL_DATA/tls (openssl);
#                                 its SHA-256 fingerprint is printed for clients to pin
#   ASPNETCORE_ENVIRONMENT        default Development
# Ctrl-C stops the host cleanly. PostgreSQL and Redis keep running so the next
# run starts fast; stop them with: scripts/infra.sh down
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[run] %s\n' "$*" >&2; }
die() { printf '[run] ERROR: %s\n' "$*" >&2; exit 1; }

command -v dotnet >/dev/null 2>&1 || die "the .NET SDK ('dotnet') is not on PATH"

# 1. Infrastructure (idempotent), then load its connection settings.
scripts/infra.sh up
eval "$(scripts/infra.sh env)"

# 2. Build (includes restore).
SLN="$ROOT/Chat4All.sln"
[[ -f "$SLN" ]] || die "solution not found: $SLN"
log "building $(basename "$SLN") (Release)"
dotnet build "$SLN" -c Release --nologo -v q

HOST_DIR="$ROOT/services/Chat4All.Host"
HOST_DLL="$HOST_DIR/bin/Release/net10.0/Chat4All.Host.dll"
[[ -f "$HOST_DLL" ]] || die "host not built: $HOST_DLL"

# Opt-in TLS on the host itself: a self-signed certificate for 127.0.0.1/localhost, made once.
SCHEME=http
if [[ "${CHAT4ALL_TLS:-0}" == "1" ]]; then
    command -v openssl >/dev/null 2>&1 || die "CHAT4ALL_TLS=1 needs openssl to generate the local certificate"
    TLS_DIR="$CHAT4ALL_DATA/tls"
    if [[ ! -f "$TLS_DIR/cert.pem" || ! -f "$TLS_DIR/key.pem" ]]; then
        log "generating a local TLS certificate in $TLS_DIR"
        mkdir -p "$TLS_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>/dev/null
        chmod 600 "$TLS_DIR/key.pem"
    fi
    export Chat4All__Tls__CertificatePath="$TLS_DIR/cert.pem"
    export Chat4All__Tls__KeyPath="$TLS_DIR/key.pem"
    TLS_FINGERPRINT="$(openssl x509 -in "$TLS_DIR/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)"
    SCHEME=https
fi

# Same settings for every host invocation (migrate/seed/serve).
export ASPNETCORE_URLS="$SCHEME://127.0.0.1:${CHAT4ALL_PORT:-8080}"
# Tokens and discovery name the address clients actually use (override for a public URL).
export Chat4All__Auth__Issuer="${Chat4All__Auth__Issuer:-$ASPNETCORE_URLS/}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
export Chat4All__Runtime=standalone
export Chat4All__DataDirectory="$CHAT4ALL_DATA"
export DOTNET_NOLOGO=1

# Run from the host project directory, like `dotnet run` would, so the
# content root (appsettings*.json) resolves the same way.
cd "$HOST_DIR"

# 3. Schema migrations and demo users (both idempotent on the host side).
log "applying database migrations"
dotnet "$HOST_DLL" migrate

DEMO_USERS="$CHAT4ALL_DATA/demo-users.json"
log "seeding demo users -> $DEMO_USERS"
dotnet "$HOST_DLL" users seed-demo --output "$DEMO_USERS"

# Print the demo users (a JSON array written by `users seed-demo`) as a table.
print_demo_users() {
    local file="$1"
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$file" <<'PY'
import json, sys
users = json.load(open(sys.argv[1], encoding="utf-8"))
rows = [("name", "client_id", "client_secret", "scopes")] + [
    (u["name"], u["client_id"], u["client_secret"], " ".join(u["scopes"])) for u in users]
widths = [max(len(r[i]) for r in rows) for i in range(4)]
for r in rows:
    print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
PY
    else
        sed 's/^/  /' "$file"
    fi
}

echo
echo "================================================================"
echo " Chat4All is starting"
echo "   listening on : $ASPNETCORE_URLS  (environment: $ASPNETCORE_ENVIRONMENT)"
echo "   data dir     : $CHAT4ALL_DATA"
if [[ -n "${TLS_FINGERPRINT:-}" ]]; then
    echo "   TLS cert     : $Chat4All__Tls__CertificatePath"
    echo "   SHA-256      : $TLS_FINGERPRINT"
fi
echo "   demo users   : $DEMO_USERS"
echo
print_demo_users "$DEMO_USERS" || echo "  (could not read $DEMO_USERS)"
echo
echo " Ctrl-C stops the host; PostgreSQL/Redis keep running."
echo " Stop them with: scripts/infra.sh down"
echo "================================================================"
echo

# 4. Replace this shell with the host so Ctrl-C/SIGTERM reach it directly and
# it shuts down cleanly.
exec dotnet "$HOST_DLL" --target all "$@"
