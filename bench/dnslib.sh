# bench/dnslib.sh -- helpers shared by bench/dns.sh and bench/floor.sh;
# sourced, with $py, $dir (holding queries.txt), $rate and $secs set.

# With XDP in the environment: run the calling script ("$0" "$@" as
# arguments) again in a network namespace of its own, and there set up
# its loopback to take the replies trapline's AF_XDP path and
# bench/xdpnull.c build outside the stack (route_localnet, accept_local:
# see trapline-dns(1)). Without XDP: nothing.
xdp_netns() {
	[ -n "${XDP:-}" ] || return 0
	[ -n "${BENCH_NETNS:-}" ] || exec unshare -n env BENCH_NETNS=1 "$@"
	ip link set lo up
	for c in all lo; do
		sysctl -qw "net.ipv4.conf.$c.route_localnet=1" \
			"net.ipv4.conf.$c.accept_local=1"
	done
}

# A port free for UDP and TCP, outside the ephemeral range (why: there).
free_port() { "$py" tests/integration/freeport.py; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks
ucpu() { awk '{print $14}' "/proc/$1/stat"; }        # user only
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
tck=$(getconf CLK_TCK)
# dnsperf's socket buffers (KiB): its default (32) overflows when a
# batch of answers comes while it is busy, counting the answers dropped
# in its own socket as queries lost (UdpRcvbufErrors says so).
cbuf=4096

# The machine's own stalls while a run goes (bench/stallprobe.c):
# stalls_build compiles the probe (at the top level, so that a failure
# stops the script); stalls_start SECONDS runs it in the background,
# writing $dir/stalls.txt (pid in $stalls_pid); stalls_wait removes that
# file when the probe failed; stalls_summary prints "count worst_ms" of
# the stalls over 3 ms, or "n/a n/a" with no probe.
stalls_build() {
	[ "$dir/stallprobe" -nt bench/stallprobe.c ] ||
		cc -O2 -Wall -pthread -o "$dir/stallprobe" bench/stallprobe.c
}
stalls_start() {
	"$dir/stallprobe" "$1" >"$dir/stalls.txt" &
	stalls_pid=$!
}
stalls_wait() {
	if ! wait "$stalls_pid"; then
		echo "stallprobe failed: no stall figures for this run" >&2
		rm -f "$dir/stalls.txt"
	fi
}
stalls_summary() {
	if [ -f "$dir/stalls.txt" ]; then
		awk '$3 > 3 { n++; if ($3 > m) m = $3 }
			END { printf "%d %.1f", n, m }' "$dir/stalls.txt"
	else
		printf 'n/a n/a'
	fi
}

# Every answer's latency from dnsperf -v output $1, of a run of $secs s
# begun at epoch $2, split at fraction $3 of the answers (0: all after).
# Prints "worst1 over1 worst2 over2 near2": the worst latency (ms) and
# the answers over 5 ms before the split and from it on, and how many of
# the latter came within 100 ms of a stall over 3 ms ($dir/stalls.txt;
# n/a without it). dnsperf -v gives no times: an answer's is taken from
# its place in the order sent, over the run's length.
lat_split() {
	local stalls=()

	[ -f "$dir/stalls.txt" ] && stalls=("$dir/stalls.txt")
	awk -v secs="$secs" -v t0="$2" -v frac="$3" -v probed="${#stalls[@]}" '
		FILENAME != ARGV[ARGC - 1] { if ($3 > 3) st[++ns] = $1; next }
		/^> / { ms[++n] = $NF * 1000 }
		END {
			for (i = 1; i <= n; i++) {
				late = ms[i] > 5
				if (i <= n * frac) {
					if (ms[i] > m1) m1 = ms[i]
					c1 += late
					continue
				}
				if (ms[i] > m2) m2 = ms[i]
				if (!late)
					continue
				c2++
				t = t0 + i * secs / n
				for (j = 1; j <= ns; j++)
					if (st[j] > t - 0.1 && st[j] < t + 0.1) {
						near++
						break
					}
			}
			printf "%.1f %d %.1f %d %s", m1, c1, m2, c2,
				probed ? near + 0 : "n/a"
		}' "${stalls[@]}" "$1"
}

# dnsperf at $rate for $secs against $1 (port), its output to file $2;
# further dnsperf options after those.
dnsperf_fixed() {
	local port=$1 out=$2
	shift 2
	dnsperf -s 127.0.0.1 -p "$port" -d "$dir/queries.txt" -l "$secs" \
		-Q "$rate" -q 500 -b "$cbuf" "$@" >"$out" 2>&1
}

# dnsperf at a fixed rate against $1 (port), the server being $2 (pid);
# prints "answered cpu_ticks user_ticks". With $3, every answer's latency
# is kept (dnsperf -v) and "worst_ms answers_over_5_ms" follow.
# dnsperf's output goes to a file, not through the shell, while it runs.
fixed() {
	local port=$1 pid=$2 lat=${3:-} c0 c1 u0 u1 out=$dir/dnsperf.out ans t0
	rm -f "$dir/stalls.txt"
	t0=$(date +%s.%N)
	c0=$(cpu "$pid")
	u0=$(ucpu "$pid")
	dnsperf_fixed "$port" "$out" ${lat:+-v} || true
	c1=$(cpu "$pid")
	u1=$(ucpu "$pid")
	ans=$(awk '/Queries completed/ {print $3}' "$out")
	if ! [ "${ans:-0}" -gt 0 ] 2>/dev/null; then
		echo "fixed: no answers from port $port:" >&2
		tail -5 "$out" >&2
		return 1
	fi
	printf '%s %s %s' "$ans" $((c1 - c0)) $((u1 - u0))
	if [ -n "$lat" ]; then
		lat_split "$out" "$t0" 0 | awk '{ printf " %s %s", $3, $4 }'
	fi
	echo
	rm -f "$out"
}
