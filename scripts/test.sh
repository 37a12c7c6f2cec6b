#!/usr/bin/env bash
# Test command: bring up local PostgreSQL + Redis, run the whole test suite and
# print one summary line "N passed, N failed, N skipped".
#
# Usage: scripts/test.sh [extra dotnet test args, e.g. --filter Category=Unit]
# Exit code: dotnet test's exit code; also non-zero when no test was executed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[test] %s\n' "$*" >&2; }
die() { printf '[test] ERROR: %s\n' "$*" >&2; exit 1; }

command -v dotnet >/dev/null 2>&1 || die "the .NET SDK ('dotnet') is not on PATH"

scripts/infra.sh up
eval "$(scripts/infra.sh env)"

# Tests create their own throw-away databases (the chat4all role has
# CREATEDB), so they connect to the maintenance database `postgres`.
# shellcheck disable=SC2154  # set by the eval above
export CHAT4ALL_TEST_POSTGRES="${ConnectionStrings__Postgres/;Database=chat4all;/;Database=postgres;}"
[[ "$CHAT4ALL_TEST_POSTGRES" == *";Database=postgres;"* ]] || die "unexpected connection string format from infra.sh env"
export CHAT4ALL_TEST_REDIS="127.0.0.1:$CHAT4ALL_REDIS_PORT"
export CHAT4ALL_PG_BIN
export DOTNET_NOLOGO=1

SLN="$ROOT/Chat4All.sln"
[[ -f "$SLN" ]] || die "solution not found: $SLN"

# The web console's browser test (tests/Chat4All.Clients.Tests) drives Debian's Chromium with
# Playwright, and the contract tests (tests/Chat4All.Host.Tests) run redocly and asyncapi: npm
# packages pinned by the committed package-lock.json in tests/Chat4All.Clients.Tests/browser.
scripts/infra.sh browser
BROWSER_TESTS="$ROOT/tests/Chat4All.Clients.Tests/browser"
# npm ci only when the lock file changed since the last install (a stamp next to node_modules).
lock_sum="$(sha256sum "$BROWSER_TESTS/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$BROWSER_TESTS/node_modules/.chat4all-lock" 2>/dev/null)" != "$lock_sum" ]]; then
    log "installing the tests' npm packages (npm ci in $BROWSER_TESTS)"
    (cd "$BROWSER_TESTS" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $BROWSER_TESTS"
    echo "$lock_sum" >"$BROWSER_TESTS/node_modules/.chat4all-lock"
fi
export CHAT4ALL_CHROMIUM="${CHAT4ALL_CHROMIUM:-$(command -v chromium)}"

# Alerting tests (issue 20) run Debian's Prometheus and Alertmanager, their promtool and amtool.
scripts/observability.sh install

# Only this run's .trx files must be counted; the directory is ours alone, so
# also drop old attachment/deployment folders instead of letting them pile up.
RESULTS="$CHAT4ALL_DATA/test-results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
# Tests write artifacts (the console's screenshots: $RESULTS/console/*.png) here too.
export CHAT4ALL_TEST_RESULTS="$RESULTS"

log "running dotnet test (results in $RESULTS)"
rc=0
dotnet test "$SLN" -c Release --nologo --logger "trx" --results-directory "$RESULTS" "$@" || rc=$?

# Sum the <Counters .../> of every .trx. skipped = total - executed
# (skipped tests are reported as not executed). "failed" also counts errors,
# timeouts and aborts so nothing slips through.
summarise() {
    local files=("$RESULTS"/*.trx)
    [[ -e "${files[0]}" ]] || { echo "0 0 0 0"; return 0; }
    if command -v python3 >/dev/null 2>&1; then
        python3 - "${files[@]}" <<'PY' && return 0
import sys, xml.etree.ElementTree as ET
tot = {"total": 0, "executed": 0, "passed": 0, "failed": 0}
for path in sys.argv[1:]:
    for el in ET.parse(path).iter():
        if el.tag.rsplit("}", 1)[-1] != "Counters":
            continue
        a = {k: int(v) for k, v in el.attrib.items() if v.lstrip("-").isdigit()}
        tot["total"] += a.get("total", 0)
        tot["executed"] += a.get("executed", 0)
        tot["passed"] += a.get("passed", 0)
        tot["failed"] += sum(a.get(k, 0) for k in ("failed", "error", "timeout", "aborted"))
print(tot["executed"], tot["passed"], tot["failed"], tot["total"] - tot["executed"])
PY
    fi
    # Fallback: grep the Counters element (attributes are on one line).
    local executed=0 passed=0 failed=0 total=0 line n k
    while IFS= read -r line; do
        for k in total executed passed failed error timeout aborted; do
            n="$(sed -nE "s/.*[[:space:]]$k=\"([0-9]+)\".*/\1/p" <<<"$line")"
            n="${n:-0}"
            case "$k" in
                total) total=$((total + n)) ;;
                executed) executed=$((executed + n)) ;;
                passed) passed=$((passed + n)) ;;
                *) failed=$((failed + n)) ;;
            esac
        done
    done < <(grep -ho '<Counters [^>]*>' "${files[@]}" || true)
    echo "$executed $passed $failed $((total - executed))"
}

executed=0 passed=0 failed=0 skipped=0
read -r executed passed failed skipped < <(summarise) || true

if ((executed == 0)); then
    log "no tests were executed (wrong --filter, or no test projects?) -- treating as failure"
    ((rc != 0)) || rc=1
fi
if ((failed > 0 && rc == 0)); then
    rc=1
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
