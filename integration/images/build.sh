#!/usr/bin/env bash
# make images: every image the compose stack needs, built on this machine
# without a container registry (nothing is pulled):
#
#   traefik-zk-sidecar/debian:bookworm    debootstrap (minbase + CA certificates), docker import
#   traefik-zk-sidecar/golang:<go>        that base + this machine's Go toolchain
#   traefik-zk-sidecar/zookeeper:3.8      that base + Debian's ZooKeeper 3.8 and a JRE; the
#                                         official image's entrypoint environment
#   traefik-zk-sidecar/traefik:<version>  that base + the Traefik binary the harness builds
#   traefik-zk-sidecar/demoapp:local      integration/cmd/demoapp on an empty base
#   traefik-zk-sidecar/sidecar:local      the project's Dockerfile, its build stage given
#                                         the local Go image (GO_IMAGE)
#
# Each image carries the label traefik-zk-sidecar.inputs: a hash of what it is
# built from (files, versions, the images below it). An image whose label
# matches is kept, so a second run takes seconds. Builds inside containers
# reach Debian's packages and the Go module proxy, as the machine does; the
# Debian mirror is read from this machine's apt sources, never written here.
#
# Environment: TRAEFIK_BIN (the Traefik binary), CACHE_DIR (scratch space),
# DEBIAN_MIRROR (overrides the mirror found in the apt sources).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
here=integration/images

SUITE=bookworm # Debian 12: its zookeeper package is 3.8, the version the stack pins
LABEL=traefik-zk-sidecar.inputs
CACHE_DIR="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/traefik-zk-sidecar}"
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
TRAEFIK_BIN="${TRAEFIK_BIN:-$CACHE_DIR/traefik-$TRAEFIK_VERSION/traefik}"
GO_VERSION="$(go env GOVERSION)" # go1.26.8
GO_VERSION="${GO_VERSION#go}"

BASE_IMAGE=traefik-zk-sidecar/debian:$SUITE
GO_IMAGE=traefik-zk-sidecar/golang:$GO_VERSION
ZK_IMAGE=traefik-zk-sidecar/zookeeper:3.8
TRAEFIK_IMAGE=traefik-zk-sidecar/traefik:$TRAEFIK_VERSION
DEMOAPP_IMAGE=traefik-zk-sidecar/demoapp:local
SIDECAR_IMAGE=traefik-zk-sidecar/sidecar:local

scratch="$CACHE_DIR/images"
mkdir -p "$scratch"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
die() { echo "images: $*" >&2; exit 1; }

# hash_inputs WORD|FILE... hashes words as they are and files by content.
hash_inputs() {
	local a
	for a in "$@"; do
		if [[ -f "$a" ]]; then
			printf 'file %s %s\n' "$a" "$(sha256sum <"$a" | cut -d' ' -f1)"
		else
			printf 'word %s\n' "$a"
		fi
	done | sha256sum | cut -c1-16
}

built_inputs() {
	docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

# docker_build LOG ARGS... runs a classic docker build, keeping its output in
# LOG and printing only its steps.
docker_build() {
	local log="$1"
	shift
	if ! docker build --force-rm "$@" >"$log" 2>&1; then
		tail -40 "$log" >&2
		die "docker build failed (full output: $log)"
	fi
	grep -E '^Step [0-9]+/[0-9]+ : ' "$log" | cut -c1-110 | sed 's/^/      /'
}

n=0
total=6
# image NAME TAG INPUTS BUILD-FUNCTION builds TAG unless its label says it
# was built from INPUTS already.
image() {
	local name="$1" tag="$2" inputs="$3" build="$4" start
	n=$((n + 1))
	if [[ "$(built_inputs "$tag")" == "$inputs" ]]; then
		echo "images: [$n/$total] $tag up to date (inputs $inputs)"
		return
	fi
	echo "images: [$n/$total] $tag: building ($name, inputs $inputs)"
	start="$(now)"
	"$build" "$tag" "$inputs"
	echo "images: [$n/$total] $tag built in $(since "$start") ($(docker image inspect -f '{{ .Size }}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# debian_mirror prints the Debian mirror this machine's apt uses for $SUITE:
# deb822 stanzas (sources.list.d/*.sources) first, then one-line entries.
debian_mirror() {
	if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	local m
	m="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v suite="$SUITE" '
		BEGIN { RS = "" }
		{
			uri = ""; ok = 0; deb = 0
			n = split($0, lines, "\n")
			for (i = 1; i <= n; i++) {
				if (lines[i] ~ /^URIs:/) { split(lines[i], f, /[ \t]+/); uri = f[2] }
				if (lines[i] ~ /^Types:/ && lines[i] ~ /[ \t]deb([ \t]|$)/) deb = 1
				if (lines[i] ~ /^Suites:/) { k = split(lines[i], s, /[ \t]+/); for (j = 2; j <= k; j++) if (s[j] == suite) ok = 1 }
			}
			if (ok && deb && uri != "") { print uri; exit }
		}')"
	if [[ -z "$m" ]]; then
		m="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -E 's/\[[^]]*\]//' | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }')"
	fi
	[[ -n "$m" ]] || die "no Debian $SUITE mirror in /etc/apt/sources.list(.d); set DEBIAN_MIRROR"
	echo "$m"
}

build_debian() {
	local tag="$1" inputs="$2" root mirror id
	command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap; make images installs it)"
	mirror="$(debian_mirror)"
	root="$(mktemp -d "$scratch/debootstrap.XXXXXX")"
	# shellcheck disable=SC2064 # expand now: root is local
	trap "rm -rf '$root'" EXIT
	echo "      debootstrap --variant=minbase --include=ca-certificates $SUITE (log: $scratch/debootstrap.log)"
	if ! debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$mirror" >"$scratch/debootstrap.log" 2>&1; then
		tail -30 "$scratch/debootstrap.log" >&2
		die "debootstrap failed"
	fi
	# What a container image does without: downloaded packages, package
	# lists (a build runs apt-get update first), the host's resolver.
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/etc/resolv.conf
	printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90containers"
	echo "      docker import ($(du -sh "$root" | cut -f1) tree)"
	id="$(tar -C "$root" -c . | docker import --change 'CMD ["/bin/bash"]' -)"
	rm -rf "$root"
	trap - EXIT
	# docker import cannot set labels: one Dockerfile line adds it.
	printf 'FROM %s\nLABEL %s=%s\n' "$id" "$LABEL" "$inputs" >"$scratch/debian.Dockerfile"
	docker_build "$scratch/debian.log" -t "$tag" - <"$scratch/debian.Dockerfile"
}

build_golang() {
	local tag="$1" inputs="$2"
	# The context is the Go installation itself (GOROOT), sent once.
	docker_build "$scratch/golang.log" -f "$here/golang/Dockerfile" \
		--build-arg BASE="$BASE_IMAGE" --build-arg GO_VERSION="$GO_VERSION" \
		--label "$LABEL=$inputs" -t "$tag" "$(go env GOROOT)"
}

build_zookeeper() {
	local tag="$1" inputs="$2"
	docker_build "$scratch/zookeeper.log" --build-arg BASE="$BASE_IMAGE" \
		--label "$LABEL=$inputs" -t "$tag" "$here/zookeeper"
}

build_traefik() {
	local tag="$1" inputs="$2" ctx="$scratch/traefik-context"
	rm -rf "$ctx"
	mkdir -p "$ctx"
	cp "$TRAEFIK_BIN" "$ctx/traefik"
	cp "$here"/traefik/* "$ctx/"
	docker_build "$scratch/traefik.log" --build-arg BASE="$BASE_IMAGE" \
		--label "$LABEL=$inputs" -t "$tag" "$ctx"
	rm -rf "$ctx"
}

build_demoapp() {
	local tag="$1" inputs="$2" ctx="$scratch/demoapp-context"
	rm -rf "$ctx"
	mkdir -p "$ctx"
	CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$ctx/demoapp" ./integration/cmd/demoapp
	cp "$here"/demoapp/* "$ctx/"
	docker_build "$scratch/demoapp.log" --label "$LABEL=$inputs" -t "$tag" "$ctx"
	rm -rf "$ctx"
}

build_sidecar() {
	local tag="$1" inputs="$2" ctx="$scratch/sidecar-context"
	# The context as docker would send it, plus vendor/: the build container
	# downloads no module (GO_MODULES=vendor), so it needs neither the
	# module proxy nor the machine's TLS trust.
	rm -rf "$ctx"
	mkdir -p "$ctx"
	printf '%s\0' "${files[@]}" | tar --null -T - -c | tar -C "$ctx" -x
	echo "      go mod vendor ($(go list -m all | wc -l) modules)"
	go mod vendor -o "$ctx/vendor"
	docker_build "$scratch/sidecar.log" --build-arg GO_IMAGE="$GO_IMAGE" \
		--build-arg BUILDPLATFORM="linux/$(go env GOARCH)" --build-arg GO_MODULES=vendor \
		--build-arg VERSION="$sidecar_version" \
		--label "$LABEL=$inputs" -t "$tag" "$ctx"
	rm -rf "$ctx"
}

# The sidecar's build context: what git would commit (tracked and untracked,
# not ignored); .dockerignore then leaves out what the build does not need.
context_files() {
	git ls-files -z --cached --others --exclude-standard |
		grep -zvE '^(\.git/|bin/|secrets/)' | sort -z |
		while IFS= read -r -d '' f; do [[ -f "$f" ]] && printf '%s\0' "$f"; done
}

# What the sidecar image is made of: the Dockerfile, the module files and the
# source and embedded files of the binary's own packages (a change to docs or
# tests leaves the image as it is).
sidecar_inputs() {
	printf '%s\n' Dockerfile .dockerignore go.mod go.sum
	go list -deps -f '{{ if .Module }}{{ if .Module.Main }}{{ $d := .Dir }}{{ range .GoFiles }}{{ $d }}/{{ . }}
{{ end }}{{ range .EmbedFiles }}{{ $d }}/{{ . }}
{{ end }}{{ end }}{{ end }}' ./cmd/traefik-zk-sidecar | sed "s|^$PWD/||" | sort
}

docker info >/dev/null 2>&1 || die "no Docker engine reachable (docker info failed)"

t0="$(now)"
echo "images: docker $(docker version -f '{{ .Server.Version }}'), classic builder; Go $GO_VERSION; Traefik $TRAEFIK_VERSION"

# Bump "base-1" when build_debian changes what the tree holds.
base_in="$(hash_inputs debian base-1 "$SUITE" minbase ca-certificates)"
image debian "$BASE_IMAGE" "$base_in" build_debian

go_in="$(hash_inputs "$base_in" "go$GO_VERSION" "$here/golang/Dockerfile")"
image golang "$GO_IMAGE" "$go_in" build_golang

zk_in="$(hash_inputs "$base_in" "$here"/zookeeper/*)"
image zookeeper "$ZK_IMAGE" "$zk_in" build_zookeeper

[[ -x "$TRAEFIK_BIN" ]] || die "no Traefik binary at $TRAEFIK_BIN (make traefik builds it)"
traefik_in="$(hash_inputs "$base_in" "$TRAEFIK_BIN" "$here"/traefik/*)"
image traefik "$TRAEFIK_IMAGE" "$traefik_in" build_traefik

demoapp_in="$(hash_inputs "go$GO_VERSION" go.mod integration/cmd/demoapp/*.go "$here"/demoapp/*)"
image demoapp "$DEMOAPP_IMAGE" "$demoapp_in" build_demoapp

mapfile -d '' files < <(context_files)
mapfile -t sidecar_files < <(sidecar_inputs)
sidecar_in="$(hash_inputs "$go_in" "${sidecar_files[@]}")"
# The version the binary reports names its inputs, not a commit: a commit
# that changes no input keeps the image.
sidecar_version="local-$sidecar_in"
image sidecar "$SIDECAR_IMAGE" "$sidecar_in" build_sidecar

echo "images: all $total up to date in $(since "$t0")"
