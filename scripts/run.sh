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

# Print the demo users as a table. The JSON shape is owned by the host, so be
# lenient: accept a list of objects or an object holding one, and a few key
# spellings. Never fail the run because of the banner.
print_demo_users() {
    local file="$1"
    [[ -s "$file" ]] || { echo "  (no demo users file)"; return 0; }
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$file" <<'PY' && return 0
import json, sys

with open(sys.argv[1], encoding="utf-8") as f:
    data = json.load(f)

if isinstance(data, dict):
    lists = [v for v in data.values() if isinstance(v, list)]
    data = lists[0] if lists else [data]

def pick(obj, *names):
    norm = {k.lower().replace("_", "").replace("-", ""): v for k, v in obj.items()}
    for n in names:
        v = norm.get(n)
        if v is not None:
            return str(v)
    return ""

rows = [(pick(u, "name", "displayname", "username", "user"),
         pick(u, "clientid"),
         pick(u, "clientsecret", "secret"))
        for u in data if isinstance(u, dict)]
head = ("name", "client_id", "client_secret")
widths = [max(len(r[i]) for r in rows + [head]) for i in range(3)]
for r in [head, tuple("-" * w for w in widths)] + rows:
    print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
PY
    fi
    # Fallback without python3: pull the string values out with grep/sed and
    # zip them by position (assumes each user has all three keys).
    local names ids secrets
    names="$(grep -oE '"(name|Name|displayName|userName|username)"[[:space:]]*:[[:space:]]*"[^"]*"' "$file" | sed -E 's/.*:[[:space:]]*"([^"]*)"/\1/' || true)"
    ids="$(grep -oE '"(client_id|clientId|ClientId)"[[:space:]]*:[[:space:]]*"[^"]*"' "$file" | sed -E 's/.*:[[:space:]]*"([^"]*)"/\1/' || true)"
    secrets="$(grep -oE '"(client_secret|clientSecret|ClientSecret)"[[:space:]]*:[[:space:]]*"[^"]*"' "$file" | sed -E 's/.*:[[:space:]]*"([^"]*)"/\1/' || true)"
    if [[ -z "$ids" ]]; then
        echo "  (could not parse $file; see the file)"
        return 0
    fi
    paste <(printf 'name\n%s\n' "$names") <(printf 'client_id\n%s\n' "$ids") \
          <(printf 'client_secret\n%s\n' "$secrets") \
        | { column -t -s $'\t' 2>/dev/null || cat; } | sed 's/^/  /'
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
