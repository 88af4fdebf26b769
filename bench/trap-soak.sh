#!/usr/bin/env bash
# bench/trap-soak.sh -- the trap's memory under sustained load.
#
# usage: bench/trap-soak.sh [SECONDS] [SESSIONS]
#   SECONDS   how long the load lasts (default 600: ten minutes)
#   SESSIONS  parallel smtp-source sessions (default 64)
#
# smtp-source sends to trapline trap without pause (batches of 20,000
# messages, one per connection, plus a share with STARTTLS-less pipelining
# from swaks would add nothing here); the trap's resident memory (VmRSS)
# is sampled every 10 s. Memory is flat when what it holds after the
# first minute (warm-up: the store's map, buffers, caches) does not grow.
# Prints a Markdown block for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
sess=${2:-64}
bin=${TRAPLINE_BIN:-$PWD/build/trapline}
src=$(command -v smtp-source || echo /usr/sbin/smtp-source)
work=bench/data/soak-work
rm -rf "$work"
mkdir -p "$work"
ulimit -n 65536 2>/dev/null || true
printf '[trap]\ndomains = trap.example.org\nworkers = 2\n' >"$work/trap.conf"
"$bin" trap --data "$work/store" --config "$work/trap.conf" \
	--listen 127.0.0.1:0 2>"$work/trap.log" &
pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$work/trap.log")
	[ -n "$port" ] && break
	sleep 0.05
done
end=$(($(date +%s) + secs))
(
	while [ "$(date +%s)" -lt "$end" ]; do
		"$src" -s "$sess" -m 20000 -l 2048 -f bot@spam.example \
			-t trap@trap.example.org "127.0.0.1:$port" >/dev/null ||
			true
	done
) &
load=$!
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
start=$(date +%s)
: >"$work/rss"
while kill -0 "$load" 2>/dev/null; do
	echo "$(($(date +%s) - start)) $(rss)" >>"$work/rss"
	sleep 10
done
wait "$load" || true
kill -TERM "$pid"
wait "$pid"
n=$("$bin" show --data "$work/store" --json 127.0.0.1 |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["events"]["spam"])')
warm=$(awk '$1 >= 60 {print $2; exit}' "$work/rss")
last=$(tail -1 "$work/rss" | cut -d' ' -f2)
max=$(awk '$1 >= 60 && $2 > m {m = $2} END {print m}' "$work/rss")
printf '### SMTP trap memory soak (%s)\n\n' "$(date -u +%Y-%m-%d)"
printf 'Command: `bench/trap-soak.sh %s %s`; %s messages recorded (%.0f/s).\n\n' \
	"$secs" "$sess" "$n" "$(echo "$n / $secs" | bc -l)"
printf '| VmRSS after 60 s | at the end | highest after 60 s |\n|---|---|---|\n'
printf '| %s KiB | %s KiB | %s KiB |\n\n' "$warm" "$last" "$max"
printf 'Samples (s, KiB): %s\n' "$(tr '\n' ' ' <"$work/rss")"
