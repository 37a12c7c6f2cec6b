#!/usr/bin/env bash
# Local observability for Chat4All: Prometheus (Debian's `prometheus`) scraping the host's /metrics
# and evaluating the alert rules of k8s/base/observability/alerts.yaml, and Alertmanager (Debian's
# `prometheus-alertmanager`) routing what fires to Slack, PagerDuty and e-mail. Everything listens
# on 127.0.0.1; state lives under $CHAT4ALL_OBSERVABILITY_DIR (default <repo>/.chat4all/observability,
# git-ignored). No systemd: the servers run as background processes tracked by pid files.
#
# Usage:
#   scripts/observability.sh up        install if needed, render the configuration, start both, wait until ready
#   scripts/observability.sh down      stop both (their data is kept)
#   scripts/observability.sh status    which of them run, where, and the alerts firing now
#   scripts/observability.sh install   install Debian's prometheus and prometheus-alertmanager if missing
#   scripts/observability.sh render DIR  write the rendered configuration into DIR (what `up` runs)
#   scripts/observability.sh check     promtool/amtool: the rendered configuration is valid and every
#                                      alert rule passes its unit tests (observability/prometheus/alerts.test.yml)
#
# Settings (environment):
#   CHAT4ALL_PROMETHEUS_PORT (9090)  CHAT4ALL_ALERTMANAGER_PORT (9093)
#   CHAT4ALL_SCRAPE_TARGETS          host:port list to scrape, comma separated (127.0.0.1:$CHAT4ALL_PORT, 8080)
#   CHAT4ALL_SCRAPE_INTERVAL (15s)   CHAT4ALL_EVALUATION_INTERVAL (15s)
#   CHAT4ALL_ALERT_GROUP_WAIT (30s)  CHAT4ALL_ALERT_GROUP_INTERVAL (5m)  CHAT4ALL_ALERT_REPEAT_INTERVAL (4h)
#   CHAT4ALL_ALERT_SECRETS           folder with the receivers' secrets, one file each: slack_webhook_url,
#                                    pagerduty_routing_key, smtp_password ($CHAT4ALL_OBSERVABILITY_DIR/secrets)
#   CHAT4ALL_SLACK_CHANNEL (#chat4all-alerts)  CHAT4ALL_PAGERDUTY_URL (PagerDuty's Events API v2)
#   CHAT4ALL_ALERT_EMAIL_TO  CHAT4ALL_SMTP_SMARTHOST  CHAT4ALL_SMTP_FROM  CHAT4ALL_SMTP_USERNAME
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[observability] %s\n' "$*" >&2; }
die() { printf '[observability] ERROR: %s\n' "$*" >&2; exit 1; }

OBS_DIR="${CHAT4ALL_OBSERVABILITY_DIR:-$ROOT/.chat4all/observability}"
RULES_SOURCE="$ROOT/k8s/base/observability/alerts.yaml"

export CHAT4ALL_PROMETHEUS_PORT="${CHAT4ALL_PROMETHEUS_PORT:-9090}"
export CHAT4ALL_ALERTMANAGER_PORT="${CHAT4ALL_ALERTMANAGER_PORT:-9093}"
export CHAT4ALL_SCRAPE_INTERVAL="${CHAT4ALL_SCRAPE_INTERVAL:-15s}"
export CHAT4ALL_EVALUATION_INTERVAL="${CHAT4ALL_EVALUATION_INTERVAL:-15s}"
export CHAT4ALL_ALERT_GROUP_WAIT="${CHAT4ALL_ALERT_GROUP_WAIT:-30s}"
export CHAT4ALL_ALERT_GROUP_INTERVAL="${CHAT4ALL_ALERT_GROUP_INTERVAL:-5m}"
export CHAT4ALL_ALERT_REPEAT_INTERVAL="${CHAT4ALL_ALERT_REPEAT_INTERVAL:-4h}"
export CHAT4ALL_ALERT_SECRETS="${CHAT4ALL_ALERT_SECRETS:-$OBS_DIR/secrets}"
export CHAT4ALL_SLACK_CHANNEL="${CHAT4ALL_SLACK_CHANNEL:-#chat4all-alerts}"
export CHAT4ALL_PAGERDUTY_URL="${CHAT4ALL_PAGERDUTY_URL:-https://events.pagerduty.com/v2/enqueue}"
export CHAT4ALL_ALERT_EMAIL_TO="${CHAT4ALL_ALERT_EMAIL_TO:-ops@chat4all.example.com}"
export CHAT4ALL_SMTP_SMARTHOST="${CHAT4ALL_SMTP_SMARTHOST:-localhost:25}"
export CHAT4ALL_SMTP_FROM="${CHAT4ALL_SMTP_FROM:-alertmanager@chat4all.example.com}"
export CHAT4ALL_SMTP_USERNAME="${CHAT4ALL_SMTP_USERNAME:-alertmanager}"

SECRET_FILES=(slack_webhook_url pagerduty_routing_key smtp_password)

# Prometheus' rule file is the PrometheusRule's spec: its `groups:` key, one level less indented.
# One source of truth for the cluster and this machine.
extract_rules() {
    awk 'found { sub(/^  /, ""); print } /^spec:/ { found = 1 }' "$RULES_SOURCE"
}

# Quoted, comma-separated scrape targets for the YAML flow sequence in prometheus.yml.
scrape_targets() {
    local raw="${CHAT4ALL_SCRAPE_TARGETS:-127.0.0.1:${CHAT4ALL_PORT:-8080}}" out="" target
    IFS=',' read -ra targets <<<"$raw"
    for target in "${targets[@]}"; do
        out+="${out:+, }\"${target// /}\""
    done
    printf '%s' "$out"
}

# Only our own ${VARIABLES} are substituted: Alertmanager's and Prometheus' {{ $templates }} stay.
substitute() {
    envsubst "$(printf '${%s} ' CHAT4ALL_SCRAPE_INTERVAL CHAT4ALL_EVALUATION_INTERVAL CHAT4ALL_ALERTMANAGER_PORT \
        CHAT4ALL_SCRAPE_TARGETS CHAT4ALL_ALERT_SECRETS CHAT4ALL_PAGERDUTY_URL CHAT4ALL_SMTP_SMARTHOST CHAT4ALL_SMTP_FROM \
        CHAT4ALL_SMTP_USERNAME CHAT4ALL_ALERTMANAGER_TEMPLATES CHAT4ALL_ALERT_GROUP_WAIT CHAT4ALL_ALERT_GROUP_INTERVAL \
        CHAT4ALL_ALERT_REPEAT_INTERVAL CHAT4ALL_SLACK_CHANNEL CHAT4ALL_ALERT_EMAIL_TO)" <"$1"
}

render() {
    local dir="$1"
    mkdir -p "$dir/rules" "$dir/templates"
    CHAT4ALL_SCRAPE_TARGETS="$(scrape_targets)" CHAT4ALL_ALERTMANAGER_TEMPLATES="$dir/templates" \
        substitute "$ROOT/observability/prometheus/prometheus.yml" >"$dir/prometheus.yml"
    extract_rules >"$dir/rules/chat4all.rules.yml"
    cp "$ROOT/observability/alertmanager/"*.tmpl "$dir/templates/"
    CHAT4ALL_ALERTMANAGER_TEMPLATES="$dir/templates" \
        substitute "$ROOT/observability/alertmanager/alertmanager.yml" >"$dir/alertmanager.yml"
}

install_if_missing() {
    command -v prometheus >/dev/null 2>&1 && command -v prometheus-alertmanager >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "prometheus and prometheus-alertmanager are missing and apt-get is not available"
    log "installing prometheus and prometheus-alertmanager (Debian)"
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    # Debian starts packaged services on their default ports; policy-rc.d 101 keeps them down
    # while installing (this script runs its own instances), removed again if we created it.
    local policy=/usr/sbin/policy-rc.d created=""
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null \
        || { [[ -z "$created" ]] || $sudo rm -f "$policy"; die "apt-get install failed"; }
    [[ -z "$created" ]] || $sudo rm -f "$policy"
    # Stop and disable the packaged services where systemd runs them, so they never hold our ports.
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        $sudo systemctl disable --now prometheus prometheus-alertmanager >/dev/null 2>&1 || true
    fi
}

pid_of() {
    local file="$OBS_DIR/$1.pid" pid
    [[ -f "$file" ]] || return 1
    pid="$(cat "$file")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    printf '%s' "$pid"
}

wait_ready() {
    local name="$1" url="$2" pid="$3" i
    for i in $(seq 1 120); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || die "$name exited; see $OBS_DIR/$name.log"
        sleep 0.25
    done
    die "$name not ready at $url after 30 s; see $OBS_DIR/$name.log"
}

start() {
    local name="$1" ready="$2"
    shift 2
    if pid="$(pid_of "$name")"; then
        log "$name already running (pid $pid)"
        return 0
    fi
    setsid "$@" >>"$OBS_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$OBS_DIR/$name.pid"
    wait_ready "$name" "$ready" "$!"
    log "$name ready: ${ready%/-/ready}"
}

up() {
    install_if_missing
    command -v envsubst >/dev/null 2>&1 || die "envsubst (gettext-base) is required"
    mkdir -p "$OBS_DIR/prometheus-data" "$OBS_DIR/alertmanager-data" "$CHAT4ALL_ALERT_SECRETS"
    local secret
    for secret in "${SECRET_FILES[@]}"; do
        [[ -s "$CHAT4ALL_ALERT_SECRETS/$secret" ]] \
            || log "no $CHAT4ALL_ALERT_SECRETS/$secret: notifications that need it will fail (Alertmanager's log says so)"
    done
    render "$OBS_DIR/config"
    start alertmanager "http://127.0.0.1:$CHAT4ALL_ALERTMANAGER_PORT/-/ready" \
        prometheus-alertmanager --config.file="$OBS_DIR/config/alertmanager.yml" --storage.path="$OBS_DIR/alertmanager-data" \
        --web.listen-address="127.0.0.1:$CHAT4ALL_ALERTMANAGER_PORT" --cluster.listen-address=
    start prometheus "http://127.0.0.1:$CHAT4ALL_PROMETHEUS_PORT/-/ready" \
        prometheus --config.file="$OBS_DIR/config/prometheus.yml" --storage.tsdb.path="$OBS_DIR/prometheus-data" \
        --web.listen-address="127.0.0.1:$CHAT4ALL_PROMETHEUS_PORT"
}

stop() {
    local name="$1" pid i
    if ! pid="$(pid_of "$name")"; then
        rm -f "$OBS_DIR/$name.pid"
        return 0
    fi
    kill "$pid"
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$OBS_DIR/$name.pid"
    log "$name stopped"
}

status() {
    local name port pid rc=0
    for name in prometheus alertmanager; do
        [[ "$name" == prometheus ]] && port="$CHAT4ALL_PROMETHEUS_PORT" || port="$CHAT4ALL_ALERTMANAGER_PORT"
        if pid="$(pid_of "$name")"; then
            echo "$name: running (pid $pid) on http://127.0.0.1:$port"
        else
            echo "$name: stopped"
            rc=3
        fi
    done
    if ((rc == 0)); then
        echo "firing alerts:"
        curl -fsS "http://127.0.0.1:$CHAT4ALL_PROMETHEUS_PORT/api/v1/alerts" \
            | python3 -c 'import json,sys; [print("  ", a["labels"]["alertname"], a["state"], a["labels"]) for a in json.load(sys.stdin)["data"]["alerts"]]' \
            || true
    fi
    return "$rc"
}

check() {
    command -v promtool >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1 || install_if_missing
    local dir
    dir="$(mktemp -d)"
    trap 'rm -rf "$dir"' RETURN
    CHAT4ALL_ALERT_SECRETS="$dir/secrets" render "$dir"
    cp "$ROOT/observability/prometheus/alerts.test.yml" "$dir/rules/"
    promtool check rules "$dir/rules/chat4all.rules.yml"
    promtool check config --syntax-only "$dir/prometheus.yml"
    promtool test rules "$dir/rules/alerts.test.yml"
    amtool check-config "$dir/alertmanager.yml"
}

case "${1:-}" in
    up) up ;;
    down) stop prometheus; stop alertmanager ;;
    status) status ;;
    render) [[ -n "${2:-}" ]] || die "usage: $0 render DIR"; render "$2" ;;
    check) check ;;
    install) install_if_missing ;;
    *) die "usage: $0 up|down|status|install|render DIR|check" ;;
esac
