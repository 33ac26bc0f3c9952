#!/usr/bin/env bash
# build.sh OUT: builds Traefik from the module in this directory into OUT,
# saying what it is doing and the elapsed time every PROGRESS_EVERY seconds
# (30 by default): the first build takes minutes (measured: 9 min 21 s and
# about 9 min on shared 2-core machines), later ones are cached by Go.
set -euo pipefail
out=$1
go=${GO:-go}
every=${PROGRESS_EVERY:-30}
cd "$(dirname "$0")"
log=$(mktemp)
tmp="$out.tmp.$$"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -f "$log" "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { printf '%dm%02ds' $((SECONDS / 60)) $((SECONDS % 60)); }

SECONDS=0
version=$(awk '/github.com\/traefik\/traefik\/v3 v/ { print $NF; exit }' go.mod)
echo "traefik: building github.com/traefik/traefik/v3/cmd/traefik $version into $out"
echo "traefik: a first build downloads Traefik's modules and compiles about 2,500 packages: about 9 minutes on 2 cores"
# -v names each package as it is compiled; go names each module it downloads.
"$go" build -v -o "$tmp" github.com/traefik/traefik/v3/cmd/traefik 2>"$log" &
pid=$!
next=$every
while kill -0 "$pid" 2>/dev/null; do
	sleep 1
	if ((SECONDS >= next)); then
		downloaded=$(grep -c '^go: downloading ' "$log" || true)
		compiled=$(grep -vc '^go: ' "$log" || true)
		# || true: before the first package is compiled grep matches
		# nothing, and pipefail would end the script there.
		last=$(grep -v '^go: ' "$log" | tail -n 1 || true)
		echo "traefik: still building, $(elapsed) elapsed: $downloaded modules downloaded, $compiled packages compiled${last:+ (last: $last)}"
		next=$((next + every))
	fi
done
status=0
wait "$pid" || status=$?
pid=
if [ "$status" -ne 0 ]; then
	echo "traefik: build failed after $(elapsed):" >&2
	tail -n 40 "$log" >&2
	exit "$status"
fi
mv "$tmp" "$out"
echo "traefik: built in $(elapsed): $out"
