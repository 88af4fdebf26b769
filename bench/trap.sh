#!/usr/bin/env bash
# bench/trap.sh -- the SMTP trap under load, against Postfix's smtp-sink.
#
# usage: bench/trap.sh [MESSAGES] [RUNS] [SESSIONS]
#   MESSAGES  messages per run (default 100000)
#   RUNS      runs per server; medians are reported (default 3)
#   SESSIONS  parallel smtp-source sessions (default 64)
#   TRAPLINE_BIN  the binary (default build/trapline)
#
# Postfix's smtp-source sends one 2 KB message per connection (it
# disconnects after each unless -d), SESSIONS at a time, to:
#   - smtp-sink, which answers SMTP and records nothing (the baseline);
#   - trapline trap, which records every message and makes its event
#     durable (journal fdatasync, group commit) before the 250.
# Both listen on loopback and run in the same script, one after the other,
# RUNS times each, interleaved, so a noisy machine hurts both alike.
# Prints a Markdown block for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
msgs=${1:-100000}
runs=${2:-3}
sess=${3:-64}
bin=${TRAPLINE_BIN:-$PWD/build/trapline}
src=$(command -v smtp-source || echo /usr/sbin/smtp-source)
sink=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
work=bench/data/trap-work
mkdir -p "$work"
ulimit -n 65536 2>/dev/null || true

# A port free for UDP and TCP, outside the ephemeral range (why: there).
free_port() { /usr/bin/python3 tests/integration/freeport.py; }

# Seconds smtp-source takes to send $msgs messages to 127.0.0.1:$1.
send() {
	local t0 t1
	t0=$(date +%s.%N)
	"$src" -s "$sess" -m "$msgs" -l 2048 -f bot@spam.example \
		-t trap@trap.example.org "127.0.0.1:$1" >/dev/null
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

run_sink() {
	local port pid s
	port=$(free_port)
	"$sink" -u nobody "127.0.0.1:$port" 1024 &
	pid=$!
	sleep 0.3
	s=$(send "$port")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$s"
}

run_trap() {
	local port pid s n
	rm -rf "$work/store" "$work/trap.log"
	printf '[trap]\ndomains = trap.example.org\nworkers = 2\ntls = no\n' \
		>"$work/trap.conf"
	"$bin" trap --data "$work/store" --config "$work/trap.conf" \
		--listen 127.0.0.1:0 2>"$work/trap.log" &
	pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' \
			"$work/trap.log")
		[ -n "$port" ] && break
		sleep 0.05
	done
	s=$(send "$port")
	kill -TERM "$pid"
	wait "$pid"
	# Every message must be in the store.
	n=$("$bin" show --data "$work/store" --json 127.0.0.1 |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["events"]["spam"])')
	if [ "$n" != "$msgs" ]; then
		echo "trap recorded $n of $msgs messages" >&2
		exit 1
	fi
	echo "$s"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

sink_t=()
trap_t=()
for i in $(seq "$runs"); do
	sink_t+=("$(run_sink)")
	trap_t+=("$(run_trap)")
	echo "run $i: smtp-sink ${sink_t[-1]} s, trapline ${trap_t[-1]} s" >&2
done
ms=$(printf '%s\n' "${sink_t[@]}" | median)
mt=$(printf '%s\n' "${trap_t[@]}" | median)
rs=$(echo "$msgs / $ms" | bc -l)
rt=$(echo "$msgs / $mt" | bc -l)
printf '### SMTP trap vs smtp-sink (%s)\n\n' "$(date -u +%Y-%m-%d)"
printf 'Command: `bench/trap.sh %s %s %s` (smtp-source -s %s -m %s -l 2048, one message per connection)\n\n' \
	"$msgs" "$runs" "$sess" "$sess" "$msgs"
printf '| server | runs (s) | median (s) | messages/s | per day |\n|---|---|---|---|---|\n'
printf '| smtp-sink (records nothing) | %s | %.2f | %.0f | %.0f M |\n' \
	"${sink_t[*]}" "$ms" "$rs" "$(echo "$rs * 86400 / 1000000" | bc -l)"
printf '| trapline trap (every event durable) | %s | %.2f | %.0f | %.0f M |\n' \
	"${trap_t[*]}" "$mt" "$rt" "$(echo "$rt * 86400 / 1000000" | bc -l)"
printf '\nRatio trapline / smtp-sink: %.2f (goal >= 0.7; floor 2,315 msg/s, goal 10,000)\n' \
	"$(echo "$rt / $rs" | bc -l)"
