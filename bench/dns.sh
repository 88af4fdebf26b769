#!/usr/bin/env bash
# bench/dns.sh -- the DNS block list against rbldnsd, with dnsperf.
#
# usage: bench/dns.sh [LISTED] [RATE] [SECONDS]
#   LISTED   listed IPv4 addresses (default 1000000; the issue asks for
#            1000000 and 10000000)
#   RATE     fixed offered load for the CPU figure (queries/s, default 20000)
#   SECONDS  length of each dnsperf run (default 20)
#   TRAPLINE_BIN  the binary (default build/trapline)
#   SNAPSHOT_DIR  trapline's [dns] snapshot_dir (default: DATA/snapshot
#                 in the store's directory; e.g. a directory on tmpfs)
#   XDP=1         trapline with [dns] xdp = lo (AF_XDP; root), the whole
#                 run in a network namespace of its own, as in
#                 bench/floor.sh
#
# The data: LISTED random public IPv4 addresses, each with a spam event
# yesterday, ingested into a store (cached in bench/data/dns-LISTED/).
# trapline serves it from its snapshot; rbldnsd (Debian's) serves the same
# list from `trapline export --format rbldnsd` as ZONE:combined:FILE. Both
# run with one thread (trapline: [dns] workers = 1), on loopback.
# The query file is half listed, half not, 200,000 queries, shuffled.
#
# Figures, each server in the same run:
#   - load time: rbldnsd from start to "zones reloaded"; trapline the
#     snapshot build plus its load (from the log);
#   - CPU per answered query at RATE (user+system of the server process
#     from /proc over the run, divided by the queries dnsperf got answers
#     for), and the ratio;
#   - peak queries/s (dnsperf without -Q; on two cores dnsperf itself may
#     be the limit: the script reports its own CPU too);
#   - resident memory (VmRSS) per listed address;
#   - a reload under steady load (SIGHUP half way): lost queries, and
#     from every answer's latency (dnsperf -v) the worst answer and the
#     answers over 5 ms before the reload (the machine's noise) and
#     from it on, and the 99.9th percentile;
#   - beside each reload run, bench/stallprobe.c: how often a thread
#     ready to run was kept from its CPU over 3 ms, and how many of the
#     late answers came within 100 ms of such a stall. A stall is whatever
#     held the CPU: a kernel thread (DAMON's kdamond on this machine),
#     the hypervisor (both CPUs at once), or a busy process at normal
#     priority, rbldnsd's reload among them (trapline builds at
#     SCHED_IDLE, which the probe preempts).
# Prints a Markdown block for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
listed=${1:-1000000}
rate=${2:-20000}
secs=${3:-20}
bin=${TRAPLINE_BIN:-$PWD/build/trapline}
py=/usr/bin/python3
dir=bench/data/dns-$listed
zone=bl.bench
export TRAPLINE_NOW=2026-11-27 TZ=UTC
mkdir -p "$dir"

if [ ! -s "$dir/listed.txt" ]; then
	echo "generating $listed addresses" >&2
	PYTHONPATH=bench "$py" - "$listed" "$dir" <<'PY'
import random, sys
n, d = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(11)
seen = set()
from addrs import dotted, public as public_from
def public():
    return public_from(rnd)
with open(d + "/listed.txt", "w") as f, open(d + "/events.ndjson", "w") as e:
    while len(seen) < n:
        a = public()
        if a in seen:
            continue
        seen.add(a)
        f.write(dotted(a) + "\n")
        e.write('{"time":"2026-11-26T12:00:00Z","ip":"%s"}\n' % dotted(a))
listed = list(seen)
q = []
for i in range(100000):
    a = listed[rnd.randrange(len(listed))]
    q.append(a)
    while True:
        b = public()
        if b not in seen:
            break
    q.append(b)
rnd.shuffle(q)
with open(d + "/queries.txt", "w") as f:
    for a in q:
        f.write("%d.%d.%d.%d.bl.bench A\n" % (a & 255, a >> 8 & 255, a >> 16 & 255, a >> 24))
PY
fi
if [ ! -d "$dir/store" ]; then
	"$bin" ingest --quiet --data "$dir/store" "$dir/events.ndjson"
fi
snapdir=${SNAPSHOT_DIR:-$dir/store/snapshot}
printf '[dns]\nzone = %s\nrefresh = 1d\nworkers = 1\nsnapshot_dir = %s\n%s' \
	"$zone" "$snapdir" "${XDP:+xdp = lo
}" >"$dir/dns.conf"

. bench/dnslib.sh
xdp_netns "$0" "$@"
stalls_build
peak() {
	dnsperf -s 127.0.0.1 -p "$1" -d "$dir/queries.txt" -l 10 -c 4 -q 500 \
		-b "$cbuf" 2>&1 | awk '/Queries per second/ {print $4}'
}

# dnsperf at RATE for SECONDS against $1 (port), every answer's latency
# kept (-v), while the caller has a reload start half way, and the
# machine's own stalls probed beside it. Prints "max1 n1 max2 n2 p999
# lost near2 stalls stallmax": the worst latency (ms) and the answers
# slower than 5 ms before the reload (the first 45% of the answers:
# steady, the machine's own noise) and from it on (the rest), the 99.9th
# percentile (ms), the queries lost, how many of the late answers from
# the reload came within 100 ms of a stall of the machine's (a CPU held
# from the probe over 3 ms), and the count and worst of those stalls over
# the run. Answers come in the order sent, give or take, so 45% of the
# count is 45% of the time: before the SIGHUP at 50%.
reload_run() {
	local f="$dir/latency-$1.txt" lost t0 split
	stalls_start "$((secs + 1))"
	t0=$(date +%s.%N)
	dnsperf_fixed "$1" "$f" -v
	stalls_wait
	lost=$(awk '/Queries lost/ {print $3}' "$f")
	split=$(lat_split "$f" "$t0" 0.45)
	awk '/^> / {print $NF * 1000}' "$f" | sort -n >"$f.ms"
	read -r m1 n1 m2 n2 near <<<"$split"
	printf '%s %s %s %s %.2f %s %s %s\n' "$m1" "$n1" "$m2" "$n2" \
		"$(awk -v n="$(wc -l <"$f.ms")" 'NR == int(n * 0.999) {print}' \
		"$f.ms")" "$lost" "$near" "$(stalls_summary)"
	rm -f "$f" "$f.ms"
}

# ---- trapline ----
rm -f "$snapdir/bl.snap"
tport=$(free_port)
t0=$(date +%s.%N)
"$bin" dns --data "$dir/store" --config "$dir/dns.conf" \
	--listen "127.0.0.1:$tport" 2>"$dir/trapline.log" &
tpid=$!
until grep -q "listening on port" "$dir/trapline.log"; do sleep 0.05; done
t1=$(date +%s.%N)
tload=$(echo "$t1 - $t0" | bc -l)
read -r tans tticks tuticks <<<"$(fixed "$tport" "$tpid")"
trss=$(rss "$tpid")
tpeak=$(peak "$tport")
# A reload under steady load: rebuild the snapshot (SIGHUP) mid-run.
( sleep $((secs / 2)); kill -HUP "$tpid" ) &
read -r tmax1 tn1 tmax tn2 tp999 tlost tnear tst tstm <<<"$(reload_run "$tport")"
kill -TERM "$tpid"
wait "$tpid" || true

# ---- rbldnsd ----
# Its data, the export of the same store, is kept beside the store (delete
# bl.rbl to export again): exporting writes the rbldnsd file and a
# snapshot, hundreds of MB, and on this machine such a write stalls both
# CPUs half a minute later, which would fall in rbldnsd's runs.
[ -s "$dir/bl.rbl" ] ||
	"$bin" export --data "$dir/store" --config "$dir/dns.conf" \
		--format rbldnsd --output "$dir/bl.rbl" 2>/dev/null
chmod 755 "$dir"
rport=$(free_port)
r0=$(date +%s.%N)
rbldnsd -n -f -q -b "127.0.0.1/$rport" -w "$PWD/$dir" \
	"$zone:combined:bl.rbl" 2>"$dir/rbldnsd.log" &
rpid=$!
# (rbldnsd's log to a file is buffered: ask it instead.) -f: a reload
# forks, the child answering from the old data; the run without -f
# comes after.
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$rport" \
	2.0.0.127.$zone A 2>/dev/null | grep -q 127.0.0.2; do
	sleep 0.05
done
r1=$(date +%s.%N)
rload=$(echo "$r1 - $r0" | bc -l)
read -r rans rticks ruticks <<<"$(fixed "$rport" "$rpid")"
rrss=$(rss "$rpid")
rpeak=$(peak "$rport")
# Resident memory of rbldnsd and its children, summed, at its highest
# while $1 runs (with -f a reload forks a child that answers from the old
# data while the parent loads the new: two copies).
rss_peak() {
	local top=0 now p
	while kill -0 "$1" 2>/dev/null; do
		now=0
		for p in $(pgrep -x rbldnsd); do
			now=$((now + $(rss "$p" 2>/dev/null || echo 0)))
		done
		[ "$now" -gt "$top" ] && top=$now
		sleep 0.05
	done
	echo "$top"
}
# With -f (fork: answers from the old copy while it loads).
( sleep $((secs / 2)); touch "$dir/bl.rbl"; kill -HUP "$rpid" ) &
kpid=$!
rss_peak "$kpid" >"$dir/rss-f" &
spid=$!
read -r rmax1 rn1 rmax rn2 rp999 rlost rnear rst rstm <<<"$(reload_run "$rport")"
wait "$kpid" "$spid"
rfrss=$(cat "$dir/rss-f")
kill -TERM "$rpid"
wait "$rpid" || true
# Without -f (the default: stops answering while it loads).
rport2=$(free_port)
rbldnsd -n -q -b "127.0.0.1/$rport2" -w "$PWD/$dir" \
	"$zone:combined:bl.rbl" 2>>"$dir/rbldnsd.log" &
rpid2=$!
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$rport2" \
	2.0.0.127.$zone A 2>/dev/null | grep -q 127.0.0.2; do
	sleep 0.05
done
( sleep $((secs / 2)); touch "$dir/bl.rbl"; kill -HUP "$rpid2" ) &
kpid=$!
read -r rmax21 rn21 rmax2 rn22 rp9992 rlost2 rnear2 rst2 rstm2 <<<"$(reload_run "$rport2")"
wait "$kpid"
kill -TERM "$rpid2"
wait "$rpid2" || true

us() { echo "$2 * 1000000 / $tck / $1" | bc -l; }
tus=$(us "$tans" "$tticks")
rus=$(us "$rans" "$rticks")
printf '### DNS: trapline dns vs rbldnsd, %s listed IPv4 (%s)\n\n' \
	"$listed" "$(date -u +%Y-%m-%d)"
printf 'Command: `%s%sbench/dns.sh %s %s %s`\n\n' "${XDP:+XDP=1 }" \
	"${SNAPSHOT_DIR:+SNAPSHOT_DIR=$SNAPSHOT_DIR }" "$listed" "$rate" "$secs"
printf '| figure | rbldnsd | trapline | ratio |\n|---|---|---|---|\n'
printf '| start to answering (s) | %.2f | %.2f (snapshot build + load) | %.2f |\n' \
	"$rload" "$tload" "$(echo "$tload / $rload" | bc -l)"
printf '| CPU per answered query at %s q/s (µs) | %.2f | %.2f | %.2f |\n' \
	"$rate" "$rus" "$tus" "$(echo "$tus / $rus" | bc -l)"
printf '| ... of which user time (µs) | %.2f | %.2f | %.2f |\n' \
	"$(us "$rans" "$ruticks")" "$(us "$tans" "$tuticks")" \
	"$(echo "$tuticks * $rans / ($ruticks * $tans)" | bc -l)"
printf '| answered at %s q/s for %s s | %s | %s | |\n' "$rate" "$secs" \
	"$rans" "$tans"
printf '| peak queries/s (dnsperf -c 4, no limit) | %s | %s | %.2f |\n' \
	"$rpeak" "$tpeak" "$(echo "$tpeak / $rpeak" | bc -l)"
printf '| VmRSS (KiB) | %s | %s | |\n' "$rrss" "$trss"
printf '| resident bytes per listed address | %.1f | %.1f | %.2f |\n' \
	"$(echo "$rrss * 1024 / $listed" | bc -l)" \
	"$(echo "$trss * 1024 / $listed" | bc -l)" \
	"$(echo "$trss / $rrss" | bc -l)"
printf '| reload under load: queries lost (rbldnsd -f) | %s | %s | |\n' "$rlost" "$tlost"
printf '| reload under load: worst answer, ms, first 45%% / rest (reload) (rbldnsd -f) | %s / %s | %s / %s | |\n' \
	"$rmax1" "$rmax" "$tmax1" "$tmax"
printf '| reload under load: answers over 5 ms, first 45%% / rest (reload) (rbldnsd -f) | %s / %s | %s / %s | |\n' \
	"$rn1" "$rn2" "$tn1" "$tn2"
printf '| reload under load: 99.9th percentile, ms (rbldnsd -f) | %s | %s | |\n' "$rp999" "$tp999"
printf '| ... of the answers over 5 ms from the reload, within 100 ms of a machine stall (rbldnsd -f) | %s | %s | |\n' "$rnear" "$tnear"
printf '| ... machine stalls over 3 ms during the run: count, worst ms (stallprobe) (rbldnsd -f) | %s, %s | %s, %s | |\n' "$rst" "$rstm" "$tst" "$tstm"
printf '| reload under load: queries lost (rbldnsd without -f) | %s | | |\n' "$rlost2"
printf '| reload under load: worst answer, ms, first 45%% / rest (reload) (rbldnsd without -f) | %s / %s | | |\n' "$rmax21" "$rmax2"
printf '| reload under load: answers over 5 ms, first 45%% / rest (reload) (rbldnsd without -f) | %s / %s | | |\n' "$rn21" "$rn22"
printf '| ... machine stalls over 3 ms during the run: count, worst ms (rbldnsd without -f) | %s, %s | | |\n' "$rst2" "$rstm2"
printf '| peak VmRSS during the -f reload, all rbldnsd processes (KiB) | %s | | |\n' "$rfrss"
