#!/usr/bin/env bash
# bench/check.sh -- trapline check against Debian's rblcheck, same lists,
# same addresses, same run.
#
# usage: bench/check.sh [IPS] [SAMPLE_LO] [SAMPLE_WAN] [RUNS]
#   IPS         addresses trapline checks (default 10000)
#   SAMPLE_LO   of those, how many rblcheck checks on loopback (default 500)
#   SAMPLE_WAN  ... and through the 20 ms link (default 20)
#   RUNS        runs of each figure; the median is reported (default 3)
#   TRAPLINE_BIN  the binary (default build/trapline)
#
# Needs root: it re-runs itself in a new network and mount namespace
# (unshare -n -m), where loopback is its own, the servers can listen on
# port 53, and /etc/resolv.conf can be bind-mounted, since rblcheck asks
# the system resolver (res_query), which always uses port 53 of the
# nameserver in resolv.conf.
#
# The lists: 14 zones, z01..z07 served by `trapline dns` ([dns] dataset,
# ip4set) on 127.0.0.2:53 and z08..z14 by rbldnsd (ip4set) on
# 127.0.0.3:53. Each lists a random 3% of the addresses (codes 127.0.0.2,
# .3 or .4, with TXT) plus the RFC 5782 test point 127.0.0.2. The 20 ms
# link: /work/shared/tools/udp-delay relays adding 10 ms each way, one per
# list on 127.0.1.N:53 (N = 1..14) to that list's server. One relay per
# list because the relay (Python) costs ~25 us of CPU a datagram: a
# single one tops out near 5,000 lookups/s and would be the thing
# measured. One relay per list also keeps each relay's
# burst within its socket's default buffer (a new namespace has
# net.core.rmem_default = 208 KiB, and the relay sets none).
#
# rblcheck takes one resolver, so it is run twice per sample, once per
# server with that server's 7 zones (resolv.conf bind-mounted between the
# two); its time is the sum. trapline asks all 14 lists in one run (each
# list's resolver in lists.conf).
#
# Figures: loopback lookups (address x list) per second for trapline and
# rblcheck, and the ratio; seconds for all IPS x 14 through the 20 ms link
# (trapline) and rblcheck's rate there. Answers: rblcheck's listed set on
# the sample must equal trapline's; trapline's must equal the generator's
# truth for every address, on loopback and through the link.
# Prints a Markdown block for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CHECK_BENCH_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench/check.sh: needs root (unshare)" >&2; exit 1; }
	exec unshare -n -m env CHECK_BENCH_NS=1 "$0" "$@"
fi
nips=${1:-10000}
slo=${2:-500}
swan=${3:-20}
runs=${4:-3}
bin=${TRAPLINE_BIN:-$PWD/build/trapline}
relay=${UDP_DELAY:-/work/shared/tools/udp-delay}
py=/usr/bin/python3
dir=$PWD/bench/data/check-$nips
export TRAPLINE_NOW=2026-11-27 TZ=UTC
mkdir -p "$dir"
chmod 755 "$dir"
ip link set lo up

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# ---- data ----
PYTHONPATH=bench "$py" - "$nips" "$dir" <<'PY'
import random, sys
n, d = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(5)
from addrs import dotted, public as public_from
def public():
    return public_from(rnd)
ips, seen = [], set()
while len(ips) < n:
    a = public()
    if a not in seen:
        seen.add(a)
        ips.append(a)
with open(d + "/ips.txt", "w") as f:
    for a in ips:
        f.write(dotted(a) + "\n")
truth = []
lists = ""
for z in range(1, 15):
    zone = "z%02d.bench" % z
    server = "127.0.0.2" if z <= 7 else "127.0.0.3"
    with open(d + "/z%02d.ip4set" % z, "w") as f:
        f.write(":127.0.0.2:Listed on %s: $\n127.0.0.2\n" % zone)
        for a in ips:
            if rnd.random() < 0.03:
                code = rnd.choice((2, 2, 3, 4))
                f.write("%s :127.0.0.%d:Listed on %s: $\n" % (dotted(a), code, zone))
                truth.append("%s %s" % (dotted(a), zone))
    lists += ("[z%02d]\nzone = %s\nresolver = %s:53\ncode.127.0.0.2 = Z: spam\n"
              "code.127.0.0.3 = Z: dictionary\ncode.127.0.0.4 = Z: exploited\n"
              % (z, zone, server))
with open(d + "/lists-lo.conf", "w") as f:
    f.write(lists)
with open(d + "/lists-wan.conf", "w") as f:
    for z in range(1, 15):
        f.write("[z%02d]\nzone = z%02d.bench\nresolver = 127.0.1.%d:53\n" % (z, z, z))
with open(d + "/truth.txt", "w") as f:
    f.write("\n".join(sorted(truth)) + "\n")
PY

# ---- servers ----
rm -rf "$dir/store"
echo '{"time":"2026-11-26T12:00:00Z","ip":"81.2.69.160"}' |
	"$bin" ingest --quiet --data "$dir/store" - 2>/dev/null ||
	echo '{"time":"2026-11-26T12:00:00Z","ip":"81.2.69.160"}' |
	"$bin" ingest --data "$dir/store" -
{
	printf '[dns]\nzone = bl.bench\nlisten = 127.0.0.2:53\n'
	for z in 01 02 03 04 05 06 07; do
		printf 'dataset = z%s.bench:ip4set:%s/z%s.ip4set\n' "$z" "$dir" "$z"
	done
} >"$dir/dns.conf"
"$bin" dns --data "$dir/store" --config "$dir/dns.conf" 2>"$dir/dns.log" &
pids+=($!)
rzones=()
for z in 08 09 10 11 12 13 14; do rzones+=("z$z.bench:ip4set:z$z.ip4set"); done
rbldnsd -n -f -q -b 127.0.0.3/53 -w "$dir" "${rzones[@]}" 2>"$dir/rbldnsd.log" &
pids+=($!)
for z in $(seq 14); do
	up=127.0.0.2
	[ "$z" -le 7 ] || up=127.0.0.3
	"$py" "$relay" "127.0.1.$z:53" "$up:53" 10 2>"$dir/relay$z.log" &
	pids+=($!)
done
for i in $(seq 100); do
	if dig @127.0.0.2 +short +time=1 +tries=1 2.0.0.127.z01.bench | grep -q 127 &&
	   dig @127.0.0.3 +short +time=1 +tries=1 2.0.0.127.z14.bench | grep -q 127 &&
	   dig @127.0.1.1 +short +time=1 +tries=1 2.0.0.127.z01.bench | grep -q 127 &&
	   dig @127.0.1.14 +short +time=1 +tries=1 2.0.0.127.z14.bench | grep -q 127; then
		break
	fi
	sleep 0.2
done

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# trapline check: all addresses x 14 lists.
tcheck() { # conf out
	local t0 t1
	t0=$(now)
	"$bin" check --lists-conf "$1" --file "$dir/ips.txt" --json --lists all \
		>"$2" 2>"$2.err" || [ $? -eq 1 ]
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
# rblcheck on the first N addresses: twice, one resolver each.
rcheck() { # n nameserver-for-z01..z07 nameserver-for-z08..z14 out
	local t0 t1 n=$1 out=$4
	head -n "$n" "$dir/ips.txt" >"$dir/sample.txt"
	: >"$out"
	t0=$(now)
	for half in a b; do
		if [ $half = a ]; then ns=$2; zs="01 02 03 04 05 06 07"; else ns=$3; zs="08 09 10 11 12 13 14"; fi
		printf 'nameserver %s\noptions attempts:2 timeout:2\n' "$ns" >"$dir/resolv.conf"
		mount --bind "$dir/resolv.conf" /etc/resolv.conf
		args=()
		for z in $zs; do args+=(-s "z$z.bench"); done
		rblcheck -c "${args[@]}" - <"$dir/sample.txt" >>"$out"
		umount /etc/resolv.conf
	done
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

lo=() wan=() rlo=() rwan=()
for r in $(seq "$runs"); do
	lo+=("$(tcheck "$dir/lists-lo.conf" "$dir/out-lo.json")")
	wan+=("$(tcheck "$dir/lists-wan.conf" "$dir/out-wan.json")")
	rlo+=("$(rcheck "$slo" 127.0.0.2 127.0.0.3 "$dir/rbl-lo.txt")")
	rwan+=("$(rcheck "$swan" 127.0.1.1 127.0.1.8 "$dir/rbl-wan.txt")")
done

# ---- answers ----
"$py" - "$dir" "$slo" "$swan" <<'PY'
import json, sys
d, slo, swan = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
truth = set(l.strip() for l in open(d + "/truth.txt") if l.strip())
ips = [l.strip() for l in open(d + "/ips.txt")]
def mine(path):
    out = json.load(open(path))
    assert len(out) == len(ips), path
    bad = [o for o in out if o["errors"] or o["unhealthy"] or o["asked"] != 14]
    assert not bad, (path, bad[:3])
    return set("%s %s" % (o["ip"], x["zone"]) for o in out for x in o["listed"])
lo, wan = mine(d + "/out-lo.json"), mine(d + "/out-wan.json")
assert lo == truth, ("loopback", len(lo ^ truth))
assert wan == truth, ("20 ms", len(wan ^ truth))
def rbl(path, n):
    got = set()
    for l in open(path):
        w = l.split()
        if len(w) == 4 and w[1:3] == ["listed", "by"]:
            got.add("%s %s" % (w[0], w[3]))
        elif not (len(w) == 5 and w[1:4] == ["not", "listed", "by"]):
            raise SystemExit("rblcheck said: " + l)
    sample = set(ips[:n])
    want = set(t for t in lo if t.split()[0] in sample)
    assert got == want, (path, sorted(got ^ want)[:5])
    return len(got)
a = rbl(d + "/rbl-lo.txt", slo)
b = rbl(d + "/rbl-wan.txt", swan)
print("answers: trapline = truth (%d listings of %d x 14) on loopback and "
      "through the link; rblcheck = trapline on its samples (%d and %d "
      "listings)" % (len(truth), len(ips), a, b), file=sys.stderr)
PY

mlo=$(median "${lo[@]}")
mwan=$(median "${wan[@]}")
mrlo=$(median "${rlo[@]}")
mrwan=$(median "${rwan[@]}")
n=$((nips * 14))
rate=$(echo "$n / $mlo" | bc -l)
rrate=$(echo "$slo * 14 / $mrlo" | bc -l)
wrate=$(echo "$n / $mwan" | bc -l)
rwrate=$(echo "$swan * 14 / $mrwan" | bc -l)
f() { printf "%.${2:-2}f" "$1"; }
list() { local s="" x; for x in "$@"; do s="$s${s:+ / }$(f "$x")"; done; echo "$s"; }

printf '### trapline check vs rblcheck, %s IPv4 x 14 lists (%s)\n\n' "$nips" "$(date -u +%Y-%m-%d)"
printf '| figure | rblcheck | trapline check | ratio |\n|---|---|---|---|\n'
printf '| loopback: lookups/s | %s (%s x 14 in %s s; runs %s) | **%s** (%s x 14 in %s s; runs %s) | **%sx** |\n' \
	"$(f "$rrate" 0)" "$slo" "$(f "$mrlo")" "$(list "${rlo[@]}")" \
	"$(f "$rate" 0)" "$nips" "$(f "$mlo")" "$(list "${lo[@]}")" \
	"$(f "$(echo "$rate / $rrate" | bc -l)" 0)"
printf '| 20 ms RTT: %s x 14 | %s s estimated (%s lookups/s on %s x 14; runs %s s) | **%s s** (runs %s) | **%sx** |\n' \
	"$nips" "$(f "$(echo "$n / $rwrate" | bc -l)" 0)" "$(f "$rwrate" 1)" "$swan" \
	"$(list "${rwan[@]}")" "$(f "$mwan")" "$(list "${wan[@]}")" \
	"$(f "$(echo "$wrate / $rwrate" | bc -l)" 0)"
printf '\n'
