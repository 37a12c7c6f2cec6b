#!/usr/bin/env bash
# Prints `export ...` lines for a local `dapr run -f .`: the secrets the components in components/
# read from their secret store (secretstores.local.env reads daprd's environment), derived from the
# PostgreSQL and Redis that scripts/infra.sh runs. Load with:
#   eval "$(scripts/infra.sh env)" && eval "$(scripts/dapr-env.sh)"
set -euo pipefail

: "${ConnectionStrings__Postgres:?run eval \"\$(scripts/infra.sh env)\" first}"

# Npgsql's "Key=Value;..." → libpq's "key=value ..." for Dapr's state.postgresql (pgx).
declare -A pg=()
IFS=';' read -ra parts <<< "$ConnectionStrings__Postgres"
for part in "${parts[@]}"; do
    [[ "$part" == *=* ]] || continue
    key="${part%%=*}"; value="${part#*=}"
    pg["${key,,}"]="$value"
done

libpq="host=${pg[host]:-127.0.0.1} port=${pg[port]:-5432} dbname=${pg[database]:-chat4all} user=${pg[username]:-chat4all}"
if [[ -n "${pg[password]:-}" ]]; then
    libpq+=" password=${pg[password]}"
fi

printf "export CHAT4ALL_STATESTORE_PG=%q\n" "$libpq"
