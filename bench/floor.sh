#!/usr/bin/env bash
# bench/floor.sh -- how much of a DNS server's CPU per query, and of its
# worst answers, is the machine's: rbldnsd and trapline beside a server
# that does no DNS work at all (bench/nullsrv.c), in the same run.
#
# usage: bench/floor.sh [LISTED] [RATE] [SECONDS] [ROUNDS]
#   LISTED   the data set of bench/dns.sh to serve (default 1000000; run
#            bench/dns.sh LISTED first, which makes it)
#   RATE     fixed offered load (queries/s, default 20000)
#   SECONDS  length of each dnsperf run (default 20)
#   ROUNDS   rounds over the servers, interleaved (default 3)
#
# The servers, one thread each, on loopback, each started for its run and
# stopped after it, in turn, ROUNDS times:
#   rbldnsd            Debian's, on the rbldnsd export (no -f: no reload
#                      here);
#   trapline           `trapline dns`, workers = 1, udp_wait 250 µs (the
#                      default), and again with udp_wait = 0;
#   null, single       recvfrom + sendto per query, as rbldnsd does I/O
#                      (and with its 64 KiB receive buffer);
#   null, batched      recvmmsg + sendmmsg with the same 250 µs wait, as
#                      trapline does I/O, and again with no wait;
# and, for each W in the environment's WAITS (e.g. WAITS="500 1000";
# default none), trapline with udp_wait = W and the null server batching
# with a W µs wait: what a longer coalescing wait saves, and costs.
# With XDP=1 in the environment (root), the whole run goes into a network
# namespace of its own (its loopback set up to take replies built outside
# the stack: route_localnet, accept_local), and two more servers join:
#   trapline, xdp      `trapline dns` with [dns] xdp = lo (AF_XDP);
#   null, AF_XDP       the null server's answer over AF_XDP
#                      (bench/xdpnull.c), with the 250 µs wait.
# The null servers answer each query with itself, REFUSED: what they cost
# is the kernel's per-datagram work plus a header fix, the floor under
# any server doing its I/O that way. For each: CPU per answered query
# (user + system from /proc over the run), its user part, and from every
# answer's latency (dnsperf -v) the worst answer and the answers over
# 5 ms, with no reload: the machine's own tail. Medians over the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
listed=${1:-1000000}
rate=${2:-20000}
secs=${3:-20}
rounds=${4:-3}
bin=${TRAPLINE_BIN:-$PWD/build/trapline}
py=/usr/bin/python3
dir=bench/data/dns-$listed
zone=bl.bench
export TRAPLINE_NOW=2026-11-27 TZ=UTC
. bench/dnslib.sh
xdp_netns "$0" "$@"

for f in queries.txt bl.rbl store/snapshot/bl.snap; do
	if [ ! -e "$dir/$f" ]; then
		echo "floor.sh: no $dir/$f: run bench/dns.sh $listed first" >&2
		exit 66
	fi
done
cc -O2 -Wall -o "$dir/nullsrv" bench/nullsrv.c
[ -z "${XDP:-}" ] || cc -O2 -Wall -o "$dir/xdpnull" bench/xdpnull.c

chmod 755 "$dir"
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true' EXIT
# The servers: names, and what start runs for each (kinds).
names=(rbldnsd trapline "trapline, udp_wait = 0" "null, single"
	"null, batched" "null, batched, no wait")
kinds=(rbldnsd "trapline dns-default" "trapline dns-w0" "null single"
	"null batch 250" "null batch 0")
# trapline's own configurations, written here: the dns.conf that
# bench/dns.sh writes may name a snapshot directory or xdp.
printf '[dns]\nzone = %s\nrefresh = 1d\nworkers = 1\n' "$zone" \
	>"$dir/dns-default.conf"
for w in 0 ${WAITS:-}; do
	printf '[dns]\nzone = %s\nrefresh = 1d\nworkers = 1\nudp_wait = %s\n' \
		"$zone" "$w" >"$dir/dns-w$w.conf"
	[ "$w" = 0 ] && continue
	names+=("trapline, udp_wait = $w" "null, batched, $w µs wait")
	kinds+=("trapline dns-w$w" "null batch $w")
done
if [ -n "${XDP:-}" ]; then
	printf '[dns]\nzone = %s\nrefresh = 1d\nworkers = 1\nxdp = lo\n' \
		"$zone" >"$dir/dns-xdp.conf"
	names+=("trapline, xdp" "null, AF_XDP, 250 µs wait")
	kinds+=("trapline dns-xdp" "xdpnull 250")
fi
# Start the server of kind $1 (words) on port $2, in the background.
start() {
	local k
	read -ra k <<<"$1"
	case ${k[0]} in
	rbldnsd) exec rbldnsd -n -q -b "127.0.0.1/$2" -w "$PWD/$dir" \
		"$zone:combined:bl.rbl" 2>/dev/null ;;
	trapline) exec "$bin" dns --data "$dir/store" --listen "127.0.0.1:$2" \
		--config "$dir/${k[1]}.conf" 2>"$dir/floor-trapline.log" ;;
	null) exec "$dir/nullsrv" "$2" "${k[@]:1}" ;;
	xdpnull) exec "$dir/xdpnull" "$2" "${k[1]}" lo ;;
	esac
}

# per server: lists of µs/query, user µs/query, worst ms, over 5 ms
declare -a us uus worst over
ns=${#names[@]}
for ((r = 0; r < rounds; r++)); do
	# Each round starts one server further on, so that none is always
	# measured just after the same one.
	for ((k = 0; k < ns; k++)); do
		i=$(((k + r) % ns))
		port=$(free_port)
		start "${kinds[i]}" "$port" &
		pid=$!
		tries=0
		until dig +time=1 +tries=1 @127.0.0.1 -p "$port" \
			2.0.0.127.$zone A 2>/dev/null | grep -q "status:"; do
			if ! kill -0 "$pid" 2>/dev/null || ((++tries > 600)); then
				echo "floor.sh: ${names[i]} did not start" >&2
				exit 1
			fi
			sleep 0.1
		done
		out=$(fixed "$port" "$pid" lat) || exit 1
		read -r ans tk utk w n <<<"$out"
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		pid=
		us[i]+="$(echo "$tk * 1000000 / $tck / $ans" | bc -l) "
		uus[i]+="$(echo "$utk * 1000000 / $tck / $ans" | bc -l) "
		worst[i]+="$w "
		over[i]+="$n "
		echo "round $((r + 1)) ${names[i]}: $ans answered," \
			"$tk ticks, worst $w ms, $n over 5 ms" >&2
	done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR] = $1}
	END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
all() { tr ' ' '\n' | grep . | awk '{printf "%s%s", sep, $1; sep = " / "}'; }

rmed=$(echo "${us[0]}" | median)
printf '### Floor: CPU per query and latency tail, %s listed, %s q/s (%s)\n\n' \
	"$listed" "$rate" "$(date -u +%Y-%m-%d)"
printf 'Command: `%s%sbench/floor.sh %s %s %s %s` (medians of %s rounds)\n\n' \
	"${XDP:+XDP=1 }" "${WAITS:+WAITS=\"$WAITS\" }" "$listed" "$rate" "$secs" "$rounds" \
	"$rounds"
printf '| server | CPU per query (µs) | over rbldnsd'"'"'s | user (µs) | worst answer (ms), runs | answers over 5 ms, runs |\n'
printf '|---|---|---|---|---|---|\n'
for i in "${!names[@]}"; do
	m=$(echo "${us[i]}" | median)
	printf '| %s | %.2f | %.2f | %.2f | %s | %s |\n' "${names[i]}" "$m" \
		"$(echo "$m / $rmed" | bc -l)" "$(echo "${uus[i]}" | median)" \
		"$(echo "${worst[i]}" | all)" "$(echo "${over[i]}" | all)"
done
