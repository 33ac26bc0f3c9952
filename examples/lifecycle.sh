#!/usr/bin/env bash
# One execution's life through the sidecar's API, as Zoe's master drives it:
#   prepare (keys and REVERSE_PROXY_PATH_<port> before the containers exist)
#   → start?wait=30s (routes written; answers once Traefik serves them)
#   → GET /v1/executions/{id}
#   → stop?wait=30s (routes made unreachable; answers once Traefik no longer
#     routes them; removed later by the garbage collector)
#
# Usage: examples/lifecycle.sh [notebook|spark]     (default: notebook)
#
# Environment:
#   TOKEN         the sidecar's API token (required): the content of its --token-file
#   SIDECAR_URL   the sidecar's API (default http://127.0.0.1:8480)
#   WAIT          ?wait on start and stop (default 30s; empty to skip: needs
#                 the sidecar's --traefik-api-url)
#   TRAEFIK_URL   Traefik's web entrypoint (e.g. http://127.0.0.1:8000): when
#                 set, every published path is fetched through it (needs jq)
#   BACKEND_HOST, BACKEND_PORT
#                 replace every external_ip / external_port of the start
#                 payload, e.g. whoami / 8888 in docker-compose.yml (needs jq)
#   PAUSE=1       wait for Enter before the stop hook, to try the URLs
#   CA_FILE       CA bundle the sidecar's HTTPS certificate is verified against
#                 (its --tls-cert-file; SIDECAR_URL is then https://...)
#   CERT_FILE, KEY_FILE
#                 client certificate and key, when the sidecar requires them
#                 (its --tls-client-ca-file)
#
# Payloads come from examples/hooks/<app>-{prepare,start,stop}.json. With jq
# the answers are pretty-printed; without it they are printed raw.
set -euo pipefail

app="${1:-notebook}"
SIDECAR_URL="${SIDECAR_URL:-http://127.0.0.1:8480}"
SIDECAR_URL="${SIDECAR_URL%/}"
WAIT="${WAIT-30s}"
TRAEFIK_URL="${TRAEFIK_URL:-}"
BACKEND_HOST="${BACKEND_HOST:-}"
BACKEND_PORT="${BACKEND_PORT:-}"
PAUSE="${PAUSE:-}"
CA_FILE="${CA_FILE:-}"
CERT_FILE="${CERT_FILE:-}"
KEY_FILE="${KEY_FILE:-}"

hooks="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/hooks"

die() { echo "lifecycle.sh: $*" >&2; exit 1; }
have_jq() { command -v jq >/dev/null 2>&1; }
step() { printf '\n==> %s\n' "$*" >&2; }

[[ -n "${TOKEN:-}" ]] || die "set TOKEN to the sidecar's API token (the content of its --token-file)"
command -v curl >/dev/null 2>&1 || die "curl is required"
for event in prepare start stop; do
	[[ -r "$hooks/$app-$event.json" ]] || die "no payload $hooks/$app-$event.json (apps: notebook, spark)"
done
# TLS to the sidecar: curl verifies its certificate against CA_FILE and
# presents CERT_FILE/KEY_FILE.
tls_args=()
[[ -n "$CA_FILE" ]] && tls_args+=(--cacert "$CA_FILE")
if [[ -n "$CERT_FILE$KEY_FILE" ]]; then
	[[ -n "$CERT_FILE" && -n "$KEY_FILE" ]] || die "give CERT_FILE and KEY_FILE together"
	tls_args+=(--cert "$CERT_FILE" --key "$KEY_FILE")
fi
if [[ ${#tls_args[@]} -gt 0 && "$SIDECAR_URL" != https://* ]]; then
	die "CA_FILE, CERT_FILE and KEY_FILE are for HTTPS: set SIDECAR_URL=https://..."
fi
if [[ -n "$BACKEND_HOST$BACKEND_PORT$TRAEFIK_URL" ]] && ! have_jq; then
	die "BACKEND_HOST, BACKEND_PORT and TRAEFIK_URL need jq"
fi

pretty() {
	local text
	text="$(cat)"
	if have_jq && jq . <<<"$text" 2>/dev/null; then
		return
	fi
	printf '%s\n' "$text"
}

# payload EVENT prints the hook body, with the backend rewritten on request.
payload() {
	local file="$hooks/$app-$1.json"
	if [[ -z "$BACKEND_HOST$BACKEND_PORT" ]]; then
		cat "$file"
		return
	fi
	jq --arg host "$BACKEND_HOST" --arg port "$BACKEND_PORT" '
		(.execution.services[]?.ports[]? | select(has("external_ip") or has("external_port"))) |=
			(if $host != "" then .external_ip = $host else . end
			 | if $port != "" then .external_port = ($port | tonumber) else . end)' "$file"
}

# api METHOD PATH [BODY-FILE] prints the answer; fails on HTTP errors.
api() {
	local method="$1" path="$2" body="${3:-}" out status
	out="$(mktemp)"
	local args=(-sS -o "$out" -w '%{http_code}' -X "$method" ${tls_args[@]+"${tls_args[@]}"}
		-H "Authorization: Bearer $TOKEN" -H 'Accept: application/json')
	if [[ -n "$body" ]]; then
		args+=(-H 'Content-Type: application/json' --data-binary "@$body")
	fi
	if ! status="$(curl "${args[@]}" "$SIDECAR_URL$path")"; then
		rm -f "$out"
		die "$method $SIDECAR_URL$path: no answer (is the sidecar up?)"
	fi
	echo "    <- HTTP $status" >&2
	pretty <"$out"
	if [[ "$status" != 2* ]]; then
		rm -f "$out"
		die "$method $path answered $status"
	fi
	cat "$out" >"$last"
	rm -f "$out"
}

# The execution id, a JSON string or integer.
if have_jq; then
	id="$(jq -r '.execution.id | tostring' "$hooks/$app-start.json")"
else
	id="$(tr -d '\n' <"$hooks/$app-start.json" | sed -n 's/.*"execution"[^{]*{[^}]*"id"[[:space:]]*:[[:space:]]*"\{0,1\}\([A-Za-z0-9-]*\).*/\1/p')"
fi
[[ -n "$id" ]] || die "cannot read execution.id from $hooks/$app-start.json"

work="$(mktemp -d)"
last="$work/last.json"
trap 'rm -rf "$work"' EXIT

step "prepare: keys and REVERSE_PROXY_PATH_<port> for execution $id ($app)"
payload prepare >"$work/prepare.json"
api POST /v1/hooks "$work/prepare.json"

query=""
[[ -n "$WAIT" ]] && query="?wait=$WAIT"
step "start${query}: publish the routes of execution $id"
payload start >"$work/start.json"
api POST "/v1/hooks$query" "$work/start.json"

step "GET /v1/executions/$id"
api GET "/v1/executions/$id"

# probe_paths prints the status Traefik answers for each route of the last answer.
probe_paths() {
	local path code
	while IFS= read -r path; do
		code="$(curl -sS -o /dev/null -w '%{http_code}' "$TRAEFIK_URL$path/" || true)"
		echo "    GET $TRAEFIK_URL$path/ -> $code" >&2
	done < <(jq -r '.routes[].path' "$last")
}

if [[ -n "$TRAEFIK_URL" ]]; then
	TRAEFIK_URL="${TRAEFIK_URL%/}"
	step "through Traefik at $TRAEFIK_URL"
	probe_paths
fi

if [[ -n "$PAUSE" ]]; then
	read -r -p "Press Enter to post the stop hook... " _ </dev/tty || true
fi

step "stop${query}: execution $id"
payload stop >"$work/stop.json"
api POST "/v1/hooks$query" "$work/stop.json"

if [[ -n "$TRAEFIK_URL" && -n "$query" ]]; then
	step "through Traefik at $TRAEFIK_URL, after the stop (404 expected)"
	probe_paths
elif [[ -n "$TRAEFIK_URL" ]]; then
	echo "    (Traefik applies the stop within its providersThrottleDuration; the paths then answer 404)" >&2
fi
