#!/usr/bin/env bash
# Main job: bring up local PostgreSQL + Redis, build, migrate, seed demo users
# and run the whole Chat4All system in one process (standalone runtime).
#
# Usage: scripts/run.sh [extra host args...]
#   CHAT4ALL_PORT (default 8080)  HTTP port, bound to 127.0.0.1
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

# Same settings for every host invocation (migrate/seed/serve).
export ASPNETCORE_URLS="http://127.0.0.1:${CHAT4ALL_PORT:-8080}"
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
