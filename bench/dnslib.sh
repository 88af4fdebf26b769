# bench/dnslib.sh -- helpers shared by bench/dns.sh and bench/floor.sh;
# sourced, with $py, $dir (holding queries.txt), $rate and $secs set.

free_port() {
	"$py" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks
ucpu() { awk '{print $14}' "/proc/$1/stat"; }        # user only
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
tck=$(getconf CLK_TCK)
# dnsperf's socket buffers (KiB): its default (32) overflows when a
# batch of answers comes while it is busy, counting the answers dropped
# in its own socket as queries lost (UdpRcvbufErrors says so).
cbuf=4096

# dnsperf at a fixed rate against $1 (port), the server being $2 (pid);
# prints "answered cpu_ticks user_ticks". With $3, every answer's latency
# is kept (dnsperf -v) and "worst_ms answers_over_5_ms" follow.
# dnsperf's output goes to a file, not through the shell, while it runs.
fixed() {
	local port=$1 pid=$2 lat=${3:-} c0 c1 u0 u1 out=$dir/dnsperf.out ans
	c0=$(cpu "$pid")
	u0=$(ucpu "$pid")
	dnsperf -s 127.0.0.1 -p "$port" -d "$dir/queries.txt" -l "$secs" \
		-Q "$rate" -q 500 -b "$cbuf" ${lat:+-v} >"$out" 2>&1 || true
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
		awk '/^> / { ms = $NF * 1000; if (ms > m) m = ms
			if (ms > 5) n++ } END { printf " %.1f %d", m, n }' "$out"
	fi
	echo
	rm -f "$out"
}
