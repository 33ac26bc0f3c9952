#!/usr/bin/env bash
# make compose-e2e: docker-compose.yml run end to end, as an operator runs it,
# with the images `make images` built (integration/images/docker-compose.images.yml
# swaps only the images):
#
#   1. the secrets as examples/README.md creates them: files of mode 0600
#      owned by uid 65532, the user the sidecar image runs as;
#   2. up, then wait for the health checks (ZooKeeper, Traefik) and the
#      sidecar's /readyz;
#   3. the example hooks (notebook, spark) posted to the sidecar container,
#      every published path requested through Traefik's published port
#      (200 from the demo app), stop, then 404; the same through the
#      http-provider profile's Traefik (traefik-http, reading the sidecar's
#      GET /v1/traefik with the read-only token), which this stack also
#      starts, and the tokens GET /v1/traefik and the hooks accept;
#   4. the integration suite in external mode against the containerized
#      ensemble and Traefik (README: "Running the integration suite against
#      an external stack");
#   5. down -v, and a check that no container, network or volume is left;
#   6. the containerized chaos run (TestChaosContainers) on a stack of its
#      own: up, the run, down -v, nothing left;
#   7. docker-compose.tls.yml as its header tells operators to run it, on a
#      stack of its own (project <project>-tls): throw-away certificates from
#      integration/cmd/devcerts in a temporary TLS_DIR (owners 65532 and
#      1000), up, examples/lifecycle.sh over mutual TLS to the sidecar's
#      published port (prepare, start?wait, 200 through Traefik, whose
#      ZooKeeper reads go through zk-tls-proxy, stop?wait, 404); plain HTTP,
#      HTTPS without a client certificate and without the token refused; the
#      sidecar and the proxy given only the TLS port 2281 and authenticated
#      there by their certificates (ZooKeeper's x509 log lines); down -v,
#      nothing left.
#
# Environment: COMPOSE (the compose command, default docker-compose),
# SIDECAR_BIN (the sidecar binary the integration suite starts), E2E_SUITE=0
# to leave out step 4, E2E_CHAOS=0 step 6, E2E_TLS=0 step 7, E2E_KEEP=1 to
# leave the stack up after step 5 for a look.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
read -r -a compose_cmd <<<"${COMPOSE:-docker-compose}"
project="${E2E_PROJECT:-zsc-e2e}"
export COMPOSE_PROJECT_NAME="$project"
compose_files=("${compose_cmd[@]}" -f docker-compose.yml -f integration/images/docker-compose.images.yml)
# The first stack also runs the http-provider profile. Every compose command
# names the profile while it runs (down included), so none of them leaves its
# container behind.
compose=("${compose_files[@]}" --profile http-provider)
healthy_services=(zk1 zk2 zk3 traefik traefik-http)
log="${E2E_LOG:-compose-e2e.log}"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
say() { echo "compose-e2e: $*"; }
t0="$(now)"
phase_start="$t0"
phase() {
	say "$1 ($(since "$phase_start"))"
	phase_start="$(now)"
}
fail() {
	echo "compose-e2e: FAILED: $*" >&2
	exit 1
}

# A free TCP port on the host for each published port, so the run never
# collides with a stack or test already running here; below the kernel's
# ephemeral range (32768 and up), where outgoing connections take theirs.
used_ports=" "
free_port() { # free_port VAR
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		if [[ "$used_ports" != *" $p "* ]] && ! ss -Htln "sport = :$p" | grep -q .; then
			used_ports+="$p "
			printf -v "$1" '%s' "$p"
			export "${1?}"
			return
		fi
	done
}
for var in TRAEFIK_WEB_PORT TRAEFIK_API_PORT TRAEFIK_HTTP_WEB_PORT TRAEFIK_HTTP_API_PORT SIDECAR_PORT ZK1_PORT ZK2_PORT ZK3_PORT; do
	free_port "$var"
done
traefik_url="http://127.0.0.1:$TRAEFIK_WEB_PORT"
api_url="http://127.0.0.1:$TRAEFIK_API_PORT"
http_traefik_url="http://127.0.0.1:$TRAEFIK_HTTP_WEB_PORT"
http_api_url="http://127.0.0.1:$TRAEFIK_HTTP_API_PORT"
sidecar_url="http://127.0.0.1:$SIDECAR_PORT"
# curl's TLS options for the sidecar's API (step 7 serves it over mutual TLS).
sidecar_tls=()

secrets="$(mktemp -d)"
leftovers() {
	local what
	for what in "ps -a" "network ls" "volume ls"; do
		# shellcheck disable=SC2086 # two words
		docker $what -q --filter "label=com.docker.compose.project=$project"
	done
}
cleanup() {
	local rc=$?
	if [[ $rc -ne 0 ]]; then
		echo "compose-e2e: last container logs (all of them in $log):" >&2
		"${compose[@]}" logs --no-color >>"$log" 2>&1 || true
		"${compose[@]}" ps >&2 || true
		"${compose[@]}" logs --no-color --tail=15 >&2 || true
	fi
	if [[ "${E2E_KEEP:-}" == 1 ]]; then
		say "E2E_KEEP=1: stack left up; remove it with: COMPOSE_PROJECT_NAME=$project ${compose[*]} down -v"
		return
	fi
	"${compose[@]}" down -v --remove-orphans >>"$log" 2>&1 || true
	rm -rf "$secrets"
}
trap cleanup EXIT
: >"$log"

# 1. Secrets, exactly as examples/README.md tells operators ("Files
# elsewhere": SIDECAR_TOKEN_FILE and SIDECAR_KEY_SECRET_FILE).
(
	umask 077
	openssl rand -hex 32 >"$secrets/token"
	openssl rand -hex 32 >"$secrets/key-secret"
)
chmod 600 "$secrets/token" "$secrets/key-secret"
if [[ "$(id -u)" == 0 ]]; then
	chown 65532:65532 "$secrets/token" "$secrets/key-secret"
else
	sudo chown 65532:65532 "$secrets/token" "$secrets/key-secret"
fi
export SIDECAR_TOKEN_FILE="$secrets/token" SIDECAR_KEY_SECRET_FILE="$secrets/key-secret"
TOKEN="$(cat "$secrets/token" 2>/dev/null || sudo cat "$secrets/token")"
# The read-only token of GET /v1/traefik, as the profile's comment tells
# operators to set it: the sidecar accepts it, traefik-http sends it.
TRAEFIK_READ_TOKEN="$(openssl rand -hex 32)"
export TRAEFIK_READ_TOKEN
say "secrets: $(stat -c '%a %u:%g' "$secrets/token") token, $(stat -c '%a %u:%g' "$secrets/key-secret") key secret"

# 2. Up. Compose starts each service once its depends_on conditions hold
# (ZooKeeper healthy before the sidecar and Traefik).
container() { "${compose[@]}" ps -q "$1"; }
health() { docker inspect -f '{{ if .State.Health }}{{ .State.Health.Status }}{{ else }}{{ .State.Status }}{{ end }}' "$(container "$1")"; }
# What the last probe of wait_until saw, for its failure message.
last_seen=
wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
	local deadline=$((SECONDS + $1)) what="$2"
	shift 2
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "$what: not within the time allowed${last_seen:+ (last seen: $last_seen)}"
		sleep 1
	done
}
all_healthy() {
	local s
	for s in "${healthy_services[@]}"; do [[ "$(health "$s")" == healthy ]] || return 1; done
}
stack_up() {
	say "${compose[*]} up -d --no-build (project $project; Traefik on $traefik_url, sidecar on $sidecar_url, ZooKeeper on $ZK1_PORT,$ZK2_PORT,$ZK3_PORT$(
		[[ " ${healthy_services[*]} " == *" traefik-http "* ]] && echo "; traefik-http on $http_traefik_url"))"
	if ! "${compose[@]}" up -d --no-build >>"$log" 2>&1; then
		tail -20 "$log" >&2
		fail "up failed"
	fi
	phase "up returned"
	wait_until 180 "health checks of ${healthy_services[*]}" all_healthy
	wait_until 60 "sidecar /readyz" curl -sf ${sidecar_tls[@]+"${sidecar_tls[@]}"} "$sidecar_url/readyz"
	phase "healthy: $(for s in "${healthy_services[@]}"; do printf '%s=%s ' "$s" "$(health "$s")"; done)sidecar /readyz=200"
	local s mode
	for s in zk1 zk2 zk3; do
		mode="$(docker exec "$(container "$s")" sh -c 'echo srvr | nc -w 2 localhost 2181' | sed -n 's/^Mode: //p')"
		say "  $s: $mode"
	done
}
stack_down() {
	"${compose[@]}" down -v --remove-orphans >>"$log" 2>&1 || fail "down -v failed"
	local left
	left="$(leftovers)"
	[[ -z "$left" ]] || fail "left behind after down -v: $left"
	phase "down -v: no container, network or volume of project $project left"
}
# What the integration suite needs to use the stack (external mode); the
# suite's backends run on this host, and the Traefik container reaches the
# host at the gateway of the compose network.
suite_env() {
	local gateway
	gateway="$(docker network inspect -f '{{ range .IPAM.Config }}{{ .Gateway }}{{ end }}' "${project}_default")"
	echo ZK_SIDECAR_INTEGRATION=1 \
		ZK_SIDECAR_ZK_ENDPOINTS="127.0.0.1:$ZK1_PORT,127.0.0.1:$ZK2_PORT,127.0.0.1:$ZK3_PORT" \
		ZK_SIDECAR_TRAEFIK_URL="$traefik_url" ZK_SIDECAR_TRAEFIK_API_URL="$api_url" \
		HARNESS_BACKEND_HOST="$gateway"
}
stack_up

# 3. The example hooks, their backend rewritten to the demo app as README's
# lifecycle example does (BACKEND_HOST=whoami BACKEND_PORT=8888).
hook_body() { # hook_body APP EVENT
	jq '(.execution.services[]?.ports[]? | select(has("external_ip"))) |= (.external_ip = "whoami" | .external_port = 8888)' \
		"examples/hooks/$1-$2.json"
}
hook() { # hook APP EVENT [QUERY] prints the answer; fails on a non-2xx
	local body status out
	body="$(hook_body "$1" "$2")"
	out="$(mktemp)"
	status="$(curl -sS -o "$out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' --data-binary "$body" "$sidecar_url/v1/hooks${3:-}")"
	cat "$out"
	rm -f "$out"
	[[ "$status" == 2* ]] || fail "$2 hook of $1: HTTP $status"
}
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect_status() { # expect_status WANT(regex) DESCRIPTION CURL-ARGS...
	local want="$1" what="$2" got
	shift 2
	got="$(status_of "$@")"
	[[ "$got" =~ ^($want)$ ]] || fail "$what: HTTP $got, want $want"
	say "  $what -> $got"
}
answers_404() { # answers_404 BASE-URL PATH
	local status
	status="$(status_of "$1$2/")"
	last_seen="HTTP $status"
	[[ "$status" == 404 ]]
}
served_by_demo() { # served_by_demo BASE-URL PATH: 200 from the demo app, for that path
	local out status
	out="$(mktemp)"
	status="$(curl -s -o "$out" -w '%{http_code}' "$1$2/")"
	last_seen="HTTP $status $(head -c 200 "$out")"
	rm -f "$out"
	[[ "$status" == 200 && "$last_seen" == "HTTP 200 demo-notebook $2/"* ]]
}
traefik_config() { # traefik_config prints GET /v1/traefik as traefik-http's token reads it
	curl -sSf -H "Authorization: Bearer $TRAEFIK_READ_TOKEN" "$sidecar_url/v1/traefik"
}

# Tokens: GET /v1/traefik takes the read-only token (and the API token),
# nothing else; the read-only token opens nothing else, and a hook posted
# with it writes nothing.
v1_traefik="$sidecar_url/v1/traefik"
expect_status 401 "GET /v1/traefik without a token" "$v1_traefik"
expect_status 401 "GET /v1/traefik with a wrong token" -H "Authorization: Bearer x$TRAEFIK_READ_TOKEN" "$v1_traefik"
expect_status 200 "GET /v1/traefik with the read-only token" -H "Authorization: Bearer $TRAEFIK_READ_TOKEN" "$v1_traefik"
expect_status 200 "GET /v1/traefik with the API token" -H "Authorization: Bearer $TOKEN" "$v1_traefik"
execution="$(jq -r .execution.id examples/hooks/notebook-start.json)"
expect_status '401|403' "POST /v1/hooks (notebook start) with the read-only token" \
	-H "Authorization: Bearer $TRAEFIK_READ_TOKEN" -H 'Content-Type: application/json' \
	--data-binary "$(hook_body notebook start)" "$sidecar_url/v1/hooks"
expect_status 404 "then GET /v1/executions/$execution with the API token (nothing written)" \
	-H "Authorization: Bearer $TOKEN" "$sidecar_url/v1/executions/$execution"
expect_status '401|403' "GET /v1/routes with the read-only token" \
	-H "Authorization: Bearer $TRAEFIK_READ_TOKEN" "$sidecar_url/v1/routes"
phase "tokens: GET /v1/traefik 401 without or with a wrong token, 200 with the read-only or API token; the read-only token cannot post a hook"

# Each route through both Traefiks. ?wait watches the ZooKeeper-provider
# Traefik only (the sidecar's --traefik-api-url), so traefik-http, which
# polls GET /v1/traefik, is waited for separately.
for app in notebook spark; do
	hook "$app" prepare >/dev/null
	answer="$(hook "$app" start '?wait=60s')"
	[[ "$(jq -r .served <<<"$answer")" == true ]] || fail "start of $app: not served within 60s: $answer"
	mapfile -t paths < <(jq -r '.routes[].path' <<<"$answer")
	mapfile -t routers < <(jq -r '.routes[].router' <<<"$answer")
	config="$(traefik_config)" || fail "GET /v1/traefik with the read-only token failed"
	for i in "${!paths[@]}"; do
		path="${paths[i]}" router="${routers[i]}"
		body="$(curl -sS "$traefik_url$path/")"
		[[ "$body" == "demo-notebook $path/"* ]] || fail "GET $traefik_url$path/: $body"
		say "  $app: GET $traefik_url$path/ -> 200 \"${body%%$'\n'*}\""
		jq -e --arg r "$router" --arg p "$path" '.http.routers[$r].rule | contains($p)' <<<"$config" >/dev/null ||
			fail "GET /v1/traefik has no router $router for $path: $(jq -c '.http.routers | keys' <<<"$config")"
		last_seen=
		wait_until 30 "traefik-http: 200 from the demo app for $path" served_by_demo "$http_traefik_url" "$path"
		say "  $app: traefik-http GET $http_traefik_url$path/ -> ${last_seen%%$'\n'*}"
		# The route came from the HTTP provider: its only provider.
		expect_status 200 "$app: traefik-http API GET /api/http/routers/$router@http" "$http_api_url/api/http/routers/$router@http"
	done
	hook "$app" stop >/dev/null
	for path in "${paths[@]}"; do
		last_seen=
		wait_until 30 "404 for $path through Traefik after the stop hook" answers_404 "$traefik_url" "$path"
		say "  $app: after stop GET $traefik_url$path/ -> 404"
		last_seen=
		wait_until 30 "404 for $path through traefik-http after the stop hook" answers_404 "$http_traefik_url" "$path"
		say "  $app: after stop traefik-http GET $http_traefik_url$path/ -> 404"
	done
	config="$(traefik_config)" || fail "GET /v1/traefik with the read-only token failed"
	for router in "${routers[@]}"; do
		jq -e --arg r "$router" '.http.routers | has($r) | not' <<<"$config" >/dev/null ||
			fail "GET /v1/traefik still has the stopped router $router"
	done
done
phase "hooks: prepare, start ?wait, 200 through Traefik and traefik-http, stop, 404 through both, for notebook and spark"

# traefik-http has been proven; stopped, so that the suite below runs with
# the same load as without the profile.
"${compose[@]}" stop traefik-http >>"$log" 2>&1 || fail "stop traefik-http failed"
phase "traefik-http stopped"

# 4. The integration suite against the containerized ensemble and Traefik.
if [[ "${E2E_SUITE:-1}" != 0 ]]; then
	[[ -n "${SIDECAR_BIN:-}" ]] || fail "set SIDECAR_BIN to the sidecar binary (make compose-e2e does)"
	read -r -a vars <<<"$(suite_env)"
	say "integration suite in external mode (${vars[4]}; log: $log)"
	set +e
	env "${vars[@]}" go test -count=1 -timeout 30m -v ./integration/ >>"$log" 2>&1
	rc=$?
	set -e
	grep -E '^(--- |ok|FAIL)' "$log" | sed 's/^/    /'
	# Tests and subtests alike (a test whose subtests all skip passes).
	printf 'compose-e2e: suite: %s passed, %s failed, %s skipped\n' "$(grep -cE '^ *--- PASS' "$log")" \
		"$(grep -cE '^ *--- FAIL' "$log")" "$(grep -cE '^ *--- SKIP' "$log")"
	[[ $rc -eq 0 ]] || fail "integration suite against the compose stack (see $log)"
	phase "integration suite passed against the containerized stack"
fi

if [[ "${E2E_KEEP:-}" == 1 ]]; then
	say "passed in $(since "$t0")"
	exit 0
fi
# 5. Down, and nothing left behind.
stack_down

# 6. The containerized chaos run, on a stack of its own: the invariant
# checker needs a Traefik root that only the run's sidecars write to.
if [[ "${E2E_CHAOS:-1}" != 0 ]]; then
	# Without the http-provider profile: the run checks the ZooKeeper
	# provider's Traefik, and another Traefik would only add load.
	compose=("${compose_files[@]}")
	healthy_services=(zk1 zk2 zk3 traefik)
	stack_up
	read -r -a vars <<<"$(suite_env)"
	chaos_log="${log%.log}-chaos.log"
	say "chaos run: TestChaosContainers (log: $chaos_log)"
	set +e
	env "${vars[@]}" ZK_SIDECAR_CHAOS_COMPOSE="$project" ZK_SIDECAR_IMAGE=traefik-zk-sidecar/sidecar:local \
		go test -count=1 -timeout 30m -v -run '^TestChaosContainers$' ./integration/ >"$chaos_log" 2>&1
	rc=$?
	set -e
	grep -E '^integration: chaos \||phase [0-9]:|^(--- |ok|FAIL)' "$chaos_log" | sed 's/^/    /'
	grep -q '^--- PASS: TestChaosContainers' "$chaos_log" || rc=1
	[[ $rc -eq 0 ]] || fail "containerized chaos run (see $chaos_log)"
	phase "containerized chaos run passed"
	stack_down
fi

# 7. docker-compose.tls.yml as its header tells operators to run it, on a
# stack of its own. The certificates go to a temporary TLS_DIR, so a
# checkout's own tls/ is never touched.
if [[ "${E2E_TLS:-1}" != 0 ]]; then
	project="$project-tls"
	export COMPOSE_PROJECT_NAME="$project"
	compose=("${compose_cmd[@]}" -f docker-compose.yml -f docker-compose.tls.yml
		-f integration/images/docker-compose.images.yml -f integration/images/docker-compose.tls.images.yml)
	healthy_services=(zk1 zk2 zk3 traefik)
	export TLS_DIR="$secrets/tls"
	go run ./integration/cmd/devcerts -dir "$TLS_DIR" >>"$log" 2>&1 || fail "go run ./integration/cmd/devcerts failed (see $log)"
	# Owners as the header says: bind mounts keep them, and the sidecar and
	# ZooKeeper refuse (or cannot read) keys that are not their own.
	as_root() { if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi; }
	as_root chown 65532:65532 "$TLS_DIR"/sidecar-*.key "$TLS_DIR/traefik-zk.key"
	as_root chown 1000:1000 "$TLS_DIR/zookeeper-keystore.pem"
	phase "tls: throw-away certificates in TLS_DIR=$TLS_DIR ($(cd "$TLS_DIR" &&
		stat -c '%n %a %u:%g' sidecar-api.key sidecar-zk.key traefik-zk.key zookeeper-keystore.pem | paste -sd, - | sed 's/,/, /g'))"
	sidecar_url="https://127.0.0.1:$SIDECAR_PORT"
	sidecar_tls=(--cacert "$TLS_DIR/ca.crt" --cert "$TLS_DIR/zoe-master.crt" --key "$TLS_DIR/zoe-master.key")
	stack_up

	# What the API's port refuses: plain HTTP (Go's TLS server answers it
	# 400), HTTPS without a client certificate (the handshake fails), and a
	# client certificate without the token.
	expect_status 400 "plain HTTP GET http://127.0.0.1:$SIDECAR_PORT/readyz" "http://127.0.0.1:$SIDECAR_PORT/readyz"
	if refused="$(curl -sS -o /dev/null --cacert "$TLS_DIR/ca.crt" "$sidecar_url/readyz" 2>&1)"; then
		fail "HTTPS GET $sidecar_url/readyz without a client certificate was answered"
	fi
	[[ "$refused" == *"certificate required"* ]] ||
		fail "HTTPS GET $sidecar_url/readyz without a client certificate: want a handshake refused with \"certificate required\", got: $refused"
	say "  HTTPS GET $sidecar_url/readyz without a client certificate -> refused (${refused#curl: })"
	expect_status 401 "POST /v1/hooks with the client certificate but no token" "${sidecar_tls[@]}" \
		-H 'Content-Type: application/json' --data-binary "$(hook_body notebook prepare)" "$sidecar_url/v1/hooks"
	phase "tls: the sidecar's port refuses plain HTTP, HTTPS without a client certificate, and a certificate without the token"

	# The header's step 3, verbatim but for the ports and TLS_DIR.
	lifecycle_out="$secrets/lifecycle.out"
	say "SIDECAR_URL=https://localhost:$SIDECAR_PORT CA_FILE=\$TLS_DIR/ca.crt CERT_FILE=\$TLS_DIR/zoe-master.crt KEY_FILE=\$TLS_DIR/zoe-master.key TRAEFIK_URL=$traefik_url BACKEND_HOST=whoami BACKEND_PORT=8888 examples/lifecycle.sh notebook"
	if ! SIDECAR_URL="https://localhost:$SIDECAR_PORT" CA_FILE="$TLS_DIR/ca.crt" CERT_FILE="$TLS_DIR/zoe-master.crt" \
		KEY_FILE="$TLS_DIR/zoe-master.key" TOKEN="$TOKEN" TRAEFIK_URL="$traefik_url" BACKEND_HOST=whoami BACKEND_PORT=8888 \
		examples/lifecycle.sh notebook >"$lifecycle_out" 2>&1; then
		cat "$lifecycle_out" >>"$log"
		tail -20 "$lifecycle_out" >&2
		fail "examples/lifecycle.sh notebook over mutual TLS failed"
	fi
	cat "$lifecycle_out" >>"$log"
	# Its probes of every published path: after start?wait (section 1) and
	# after stop?wait (section 2), each "    GET <url> -> <status>".
	probes() { awk -v want="$1" '/^==> /{ s = /^==> through Traefik/ ? (/after the stop/ ? 2 : 1) : 0; next }
		s == want && /^    GET /' "$lifecycle_out"; }
	served="$(probes 1)" stopped="$(probes 2)"
	[[ -n "$served" ]] || fail "examples/lifecycle.sh probed no path through Traefik after start (see $log)"
	! grep -v -- ' -> 200$' <<<"$served" >/dev/null ||
		fail "after start?wait, a path not served through Traefik: $(grep -v -- ' -> 200$' <<<"$served")"
	[[ "$(sed 's/ -> .*//' <<<"$served")" == "$(sed 's/ -> .*//' <<<"$stopped")" ]] ||
		fail "examples/lifecycle.sh did not probe the same paths after the stop: $stopped"
	! grep -v -- ' -> 404$' <<<"$stopped" >/dev/null ||
		fail "after stop?wait, a path still answered: $(grep -v -- ' -> 404$' <<<"$stopped")"
	sed 's/^ */compose-e2e:   after start?wait: /' <<<"$served"
	sed 's/^ */compose-e2e:   after stop?wait: /' <<<"$stopped"
	phase "tls: examples/lifecycle.sh over mutual TLS: prepare, start?wait, 200 through Traefik (via zk-tls-proxy), stop?wait, 404"

	# From ZooKeeper's side: the sidecar and the proxy are given only the
	# TLS port, Traefik only the proxy, and ZooKeeper authenticated both
	# clients by their certificates (x509 happens only on the TLS port).
	for s in sidecar zk-tls-proxy; do
		zk_ips="$(docker inspect -f '{{ range .Config.Env }}{{ println . }}{{ end }}' "$(container "$s")" |
			sed -n 's/^TRAEFIK_ZK_SIDECAR_TRAEFIK_ZK_IPS=//p')"
		[[ "$zk_ips" == zk1:2281,zk2:2281,zk3:2281 ]] ||
			fail "$s: TRAEFIK_ZK_SIDECAR_TRAEFIK_ZK_IPS=$zk_ips, want zk1:2281,zk2:2281,zk3:2281 (the TLS port only)"
		say "  $s: ZooKeeper at $zk_ips"
	done
	endpoints="$(docker inspect -f '{{ range .Args }}{{ println . }}{{ end }}' "$(container traefik)" |
		sed -n 's/^--providers.zookeeper.endpoints=//p')"
	[[ "$endpoints" == 127.0.0.1:2181 ]] ||
		fail "traefik: --providers.zookeeper.endpoints=$endpoints, want 127.0.0.1:2181 (zk-tls-proxy only)"
	say "  traefik: ZooKeeper at $endpoints (zk-tls-proxy in its network namespace)"
	for cn in sidecar traefik; do
		nodes=()
		for s in zk1 zk2 zk3; do
			if docker logs "$(container "$s")" 2>&1 | grep -qF "Authenticated Id 'CN=$cn' for Scheme 'x509'"; then
				nodes+=("$s")
			fi
		done
		[[ ${#nodes[@]} -gt 0 ]] ||
			fail "no ZooKeeper node logged \"Authenticated Id 'CN=$cn' for Scheme 'x509'\": the $cn client did not connect over TLS with its certificate"
		say "  ZooKeeper authenticated CN=$cn by its certificate (x509) on ${nodes[*]}"
	done
	phase "tls: the sidecar and zk-tls-proxy reach ZooKeeper only on 2281, over TLS with their certificates"
	stack_down
fi
say "passed in $(since "$t0")"
