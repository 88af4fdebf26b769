#!/usr/bin/env bash
# bench/store.sh -- ingest rate, store size and ranking time at scale.
#
# usage: bench/store.sh [BOTS] [RUNS]
#   BOTS  distinct bot IPs to simulate over 20 years (default 10000000)
#   RUNS  timed repetitions per figure; medians are reported (default 3)
#   QUERIES_ONLY=1  keep the store of an earlier run; time the queries only
#
# Targets (issue 2): bulk NDJSON ingest >= 300,000 events/s; top --by
# longevity --country GB --limit 10 over 10 million IPs < 1 s; the store
# for 10 million IPs and twenty years < 2 GB. Prints a Markdown block for
# bench/RESULTS.md. Inputs are cached in bench/data/ (several GB).
set -euo pipefail
cd "$(dirname "$0")/.."
bots=${1:-10000000}
runs=${2:-3}
bin=build/trapline
data=bench/data
mkdir -p "$data"
input="$data/sim-$bots.ndjson"
export TRAPLINE_NOW=2026-11-27

if [ ! -s "$input" ]; then
	echo "generating $input" >&2
	"$bin" simulate --seed 7 --years 20 --end "$TRAPLINE_NOW" --bots "$bots" \
		>"$input.tmp" 2>"$data/simulate-$bots.log"
	mv "$input.tmp" "$input"
fi
events=$(wc -l <"$input")
bytes=$(stat -c %s "$input")
cat "$input" >/dev/null # warm the page cache: time the store, not the disk

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

rates=()
store="$data/store-$bots"
[ -n "${QUERIES_ONLY:-}" ] && [ -d "$store/history" ] && runs_ingest=0 || runs_ingest=$runs
for r in $(seq "$runs_ingest"); do
	rm -rf "$store"
	t0=$(date +%s%N)
	"$bin" ingest --quiet --data "$store" "$input"
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	rates+=("$(( events * 1000 / (ms > 0 ? ms : 1) ))")
	echo "run $r: $events events in $ms ms" >&2
done
rate=$(printf '%s\n' "${rates[@]:-0}" | median)
hist=$(du -sb "$store/history" | cut -f1)
journal=$(du -sb "$store/journal" | cut -f1)
# LMDB copies every page a transaction touches; the pages freed that way
# are reused, but the file keeps its high-water mark. Live = used - free.
live=$(mdb_stat -ef "$store/history" | awk '/Number of pages used/ {u=$5} /Free pages/ {f=$3} END {print (u - f) * 4096}')
count_ips=$(mdb_stat -a "$store/history" 2>/dev/null |
	awk '/^Status of v4/ {f=1} /^Status of v6/ {f=2} /Entries:/ && f {n+=$2; f=0} END {print n}')

hf() {
	hyperfine --style none --warmup 1 --runs "$runs" --export-json "$data/hf.json" "$@" >/dev/null 2>&1
	/usr/bin/python3 -c "import json; r=json.load(open('$data/hf.json'))['results'][0]; print('%.3f' % r['median'])"
}
t_gb=$(hf "$bin top --data $store --by longevity --country GB --limit 10")
t_all=$(hf "$bin top --data $store --by longevity --limit 10")
t_week=$(hf "$bin top --data $store --by volume --since 7d --limit 10")

cat <<MD
### store at scale: $(date -u +%Y-%m-%d), \`bench/store.sh $bots $runs\`
- input: $events events, $bots simulated bots over 20 years (seed 7), $(( bytes / 1048576 )) MiB of NDJSON, page-cached
- IPs in the history: $count_ips
$( [ "$runs_ingest" -gt 0 ] && echo "- bulk ingest (file -> journal -> LMDB, every event durable): median **$rate events/s** over $runs runs (runs: ${rates[*]}) — target 300,000" )
- store size on disk: history $(( hist / 1048576 )) MiB + journal $(( journal / 1048576 )) MiB = **$(( (hist + journal) / 1048576 )) MiB** — target < 2048 MiB; live pages in the history $(( live / 1048576 )) MiB, about $(( live / (count_ips > 0 ? count_ips : 1) )) bytes per IP (the rest is LMDB's free list, reused by later transactions)
- \`top --by longevity --country GB --limit 10\`: median **${t_gb} s** — target < 1 s
- \`top --by longevity --limit 10\` (no country, full walk): median ${t_all} s
- \`top --by volume --since 7d --limit 10\`: median ${t_week} s
MD
