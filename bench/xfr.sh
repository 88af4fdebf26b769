#!/usr/bin/env bash
# bench/xfr.sh -- zone transfers of the bl zone: AXFR time and memory, and
# how long a standard secondary (Knot or NSD) takes to be in sync.
#
# usage: bench/xfr.sh [LISTED] [MORE]
#   LISTED   listed IPv4 addresses (default 1000000)
#   MORE     addresses added for the IXFR step (default 1000)
#   TRAPLINE_BIN  the binary (default build/trapline)
#   SECONDARY     knot (default), nsd, or none (the primary's figures only)
#
# The data: LISTED random public IPv4 addresses, each with a spam event
# yesterday, ingested into a store (cached in bench/data/xfr-LISTED/).
# trapline dns serves it on loopback with [dns] workers = 1, transfers
# allowed to 127.0.0.1 and NOTIFY to the secondary.
#
# Figures:
#   - AXFR with dig to a file: wall time, records, bytes; trapline's
#     resident memory before, and the most of it sampled during the AXFR;
#   - the secondary bootstrapping the zone: from its start to its SOA serial
#     being trapline's;
#   - MORE new addresses: from SIGHUP (snapshot build, journal, NOTIFY) to
#     the secondary serving the new serial by IXFR.
# Prints a Markdown block for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
listed=${1:-1000000}
more=${2:-1000}
bin=${TRAPLINE_BIN:-$PWD/build/trapline}
py=/usr/bin/python3
dir=bench/data/xfr-$listed
zone=bl.bench
export TRAPLINE_NOW=2026-11-27 TZ=UTC
mkdir -p "$dir"

if [ ! -d "$dir/store" ]; then
	echo "generating and ingesting $listed addresses" >&2
	PYTHONPATH=bench "$py" - "$listed" "$more" "$dir" <<'PY'
import random, sys
n, more, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(11)
seen = set()
from addrs import dotted, public as public_from
def public():
    return public_from(rnd)
for name, count in (("events.ndjson", n),):
    with open(d + "/" + name, "w") as e:
        k = 0
        while k < count:
            a = public()
            if a in seen:
                continue
            seen.add(a)
            k += 1
            e.write('{"time":"2026-11-26T12:00:00Z","ip":"%s"}\n' % dotted(a))
PY
	"$bin" ingest --quiet --data "$dir/store" "$dir/events.ndjson"
fi
# New addresses for the IXFR step, different each run (the store keeps
# what earlier runs added).
"$py" - "$more" > "$dir/more.ndjson" <<'PY'
import random, sys
rnd = random.Random()
for _ in range(int(sys.argv[1])):
    print('{"time":"2026-11-26T13:00:00Z","ip":"%d.%d.%d.%d"}' % (
        rnd.randrange(11, 100), rnd.randrange(256), rnd.randrange(256),
        rnd.randrange(1, 255)))
PY

work=$(mktemp -d /tmp/trapline-xfr.XXXXXX)
tport=$(( 20000 + RANDOM % 20000 ))
kport=$(( tport + 1 ))
rm -rf "$dir/store/dns" "$dir/store/snapshot"
printf '[dns]\nzone = %s\nworkers = 1\nrefresh = 1h\nallow_transfer = 127.0.0.1\nnotify = 127.0.0.1:%d\n' \
	"$zone" "$kport" > "$work/dns.conf"
"$bin" dns --data "$dir/store" --config "$work/dns.conf" \
	--listen "127.0.0.1:$tport" 2> "$work/trapline.log" &
tpid=$!
cleanup() {
	kill "$tpid" 2>/dev/null || true
	[ -n "${kpid:-}" ] && kill "$kpid" 2>/dev/null || true
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
until grep -q "listening on port" "$work/trapline.log"; do
	kill -0 "$tpid" || { cat "$work/trapline.log"; exit 1; }
	sleep 0.2
done
serial() { dig @127.0.0.1 -p "$1" +short +time=1 +tries=1 "$zone" SOA | awk '{print $3}'; }
rss() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
s0=$(serial "$tport")
rss0=$(rss "$tpid" VmRSS)

# Resident memory sampled while the transfer runs.
( peak=0; while kill -0 "$tpid" 2>/dev/null && [ ! -e "$work/axfr.done" ]; do
	r=$(rss "$tpid" VmRSS); [ "$r" -gt "$peak" ] && peak=$r
	echo "$peak" > "$work/axfr.peak"; sleep 0.05; done ) &
t0=$(date +%s.%N)
dig @127.0.0.1 -p "$tport" +time=60 "$zone" AXFR > "$work/axfr.txt"
t1=$(date +%s.%N)
touch "$work/axfr.done"
wait $! 2>/dev/null || true
peak=$(cat "$work/axfr.peak")
axfr_s=$(echo "$t1 - $t0" | bc)
recs=$(grep -c -v -e '^;' -e '^$' "$work/axfr.txt" || true)
xfrsize=$(grep 'XFR size' "$work/axfr.txt" | sed 's/;; //')

sec=${SECONDARY:-knot}
if [ "$sec" = none ]; then
t0=$(date +%s.%N)
secname=none
elif [ "$sec" = nsd ]; then
mkdir -p "$work/nsd"
cat > "$work/nsd/nsd.conf" <<EOF
server:
    port: $kport
    ip-address: 127.0.0.1
    zonesdir: "$work/nsd"
    xfrdfile: "$work/nsd/xfrd.state"
    zonelistfile: "$work/nsd/zone.list"
    pidfile: "$work/nsd/nsd.pid"
    database: ""
    username: ""
    chroot: ""
    verbosity: 2
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
zone:
    name: $zone
    zonefile: "$zone.zone"
    request-xfr: 127.0.0.1@$tport NOKEY
    allow-notify: 127.0.0.1 NOKEY
EOF
t0=$(date +%s.%N)
nsd -d -c "$work/nsd/nsd.conf" 2> "$work/sec.log" &
kpid=$!
secname="NSD $(nsd -v 2>&1 | awk 'NR==1 {print $NF}')"
else
mkdir -p "$work/knot/db" "$work/knot/zones"
cat > "$work/knot/knot.conf" <<EOF
server:
    rundir: "$work/knot"
    user: root:root
    listen: 127.0.0.1@$kport
log:
  - target: stderr
    any: info
database:
    storage: "$work/knot/db"
remote:
  - id: primary
    address: 127.0.0.1@$tport
acl:
  - id: from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "$work/knot/zones"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
zone:
  - domain: $zone
    master: primary
    acl: from_primary
EOF
t0=$(date +%s.%N)
knotd -c "$work/knot/knot.conf" 2> "$work/sec.log" &
kpid=$!
secname="Knot $(knotd --version | awk '{print $NF}')"
fi
until [ "$sec" = none ] || [ "$(serial "$kport")" = "$s0" ]; do sleep 0.1; done
t1=$(date +%s.%N)
boot_s=$(echo "$t1 - $t0" | bc)

"$bin" ingest --quiet --data "$dir/store" "$dir/more.ndjson"
sleep 1
t0=$(date +%s.%N)
kill -HUP "$tpid"
until [ -n "$(serial "$tport")" ] && [ "$(serial "$tport")" != "$s0" ]; do sleep 0.05; done
s1=$(serial "$tport")
t1=$(date +%s.%N)
until [ "$sec" = none ] || [ "$(serial "$kport")" = "$s1" ]; do sleep 0.05; done
t2=$(date +%s.%N)
serve_s=$(echo "$t1 - $t0" | bc)
sync_s=$(echo "$t2 - $t0" | bc)
ixfr=$(grep -c "IXFR to 127.0.0.1 done" "$work/trapline.log" || true)
jline=$(grep "IXFR journal:" "$work/trapline.log" | tail -1 | sed 's/.*IXFR journal: //')
jtime=$(grep "IXFR journal written in" "$work/trapline.log" | tail -1 | sed 's/.*written in //')
axfr_line=$(grep "AXFR to 127.0.0.1 done" "$work/trapline.log" | sed -n 1p | sed 's/.*done: //')
axfr_sec=$(grep "AXFR to 127.0.0.1 done" "$work/trapline.log" | sed -n 2p | sed 's/.*done: //')

cat <<EOF
### Zone transfer ($(date -u +%Y-%m-%d), \`SECONDARY=$sec bench/xfr.sh $listed $more\`)

$(nproc) cores shared; trapline dns with one worker; $secname as the secondary, all on loopback.

| | |
|---|---|
| listed addresses | $listed |
| AXFR with dig (to a file) | ${axfr_s} s, $recs records; $xfrsize |
| trapline's log of it | $axfr_line |
| trapline resident memory | $((rss0 / 1024)) MiB before the AXFR, at most $((peak / 1024)) MiB during it |
| $secname bootstrapping (AXFR) until in sync | ${boot_s} s (trapline's log of the AXFR: $axfr_sec) |
| $more more listed: SIGHUP to the new serial served | ${serve_s} s |
| ... to $secname in sync (NOTIFY, IXFR) | ${sync_s} s ($ixfr IXFR answered) |
| journal (the diff of the two snapshots, written in $jtime) | $jline |
EOF
