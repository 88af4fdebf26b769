#!/usr/bin/env bash
# bench/sensors.sh -- the passive sensors: Postfix log and trap maildir ingest.
#
# usage: bench/sensors.sh [LINES] [MESSAGES] [RUNS]
#   LINES     Postfix log lines to generate (default 5000000)
#   MESSAGES  maildir messages to generate (default 100000)
#   RUNS      timed repetitions per figure; medians are reported (default 3)
#   TRAPLINE_BIN  the binary to time (default build/trapline)
#
# Inputs are generated once by bench/gen_maillog.py and bench/gen_maildir.py
# (seed 7) and cached in bench/data/ (about 1 GB for the defaults). Every
# run starts from a fresh store; the maildir is ingested from a hard-linked
# copy, so an importer that moves messages to cur/ leaves the cache intact.
# Prints a Markdown block for bench/RESULTS.md; appends nothing itself.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-5000000}
msgs=${2:-100000}
runs=${3:-3}
bin=${TRAPLINE_BIN:-$PWD/build/trapline}
py=/usr/bin/python3
data=bench/data
mkdir -p "$data"
# The log's syslog stamps have no year: it is taken from "now". The log
# spans about three days from 2026-11-20; the maildir the week before now.
export TRAPLINE_NOW=2026-11-27 TZ=UTC
own_relay=81.2.69.25
log="$data/maillog-$lines"
maildir="$data/maildir-$msgs"
conf="$data/sensors.conf"
work="$data/sensors-work"

if [ ! -s "$log" ]; then
	echo "generating $log" >&2
	"$py" bench/gen_maillog.py --seed 7 --start 2026-11-20T00:00:00 \
		-o "$log.tmp" "$lines"
	mv "$log.tmp" "$log"
fi
if [ ! -d "$maildir/new" ]; then
	echo "generating $maildir" >&2
	rm -rf "$maildir.tmp"
	"$py" bench/gen_maildir.py --seed 7 --end 2026-11-27T00:00:00 \
		--own-relay "$own_relay" "$maildir.tmp" "$msgs"
	mv "$maildir.tmp" "$maildir"
fi
printf '[ingest]\nown_relays = %s\n' "$own_relay" >"$conf"
nlines=$(wc -l <"$log")
bytes=$(stat -c %s "$log")
nmsgs=$(find "$maildir/new" -type f | wc -l)
mbytes=$(du -sb "$maildir" | cut -f1)
cat "$log" >/dev/null # warm the page cache: time the parser, not the disk
find "$maildir" -type f -exec cat {} + >/dev/null

# hyperfine's median and each run's time over $runs runs, each after
# PREPARE (not timed)
hf() {
	local prepare=$1
	shift
	if ! hyperfine --style none --runs "$runs" --prepare "$prepare" \
		--export-json "$data/hf.json" "$@" >"$data/hf.log" 2>&1; then
		cat "$data/hf.log" >&2
		return 1
	fi
	"$py" -c "import json; r=json.load(open('$data/hf.json'))['results'][0]; print('%.3f' % r['median'], ' '.join('%.3f' % t for t in r['times']))"
}

# One untimed run each first: it must succeed, and what it reports (events
# stored, lines not understood, ...) goes into the summary.
said() {
	local out=$1
	shift
	if ! "$@" 2>"$out"; then
		echo "failed: $*" >&2
		cat "$out" >&2
		exit 1
	fi
	grep -v '^$' "$out" | tail -n 3 | tr '\n' ' '
}

rm -rf "$work"
mkdir -p "$work"
log_said=$(said "$data/sensors-log.stderr" "$bin" ingest --data "$work/store" \
	--config "$conf" --format postfix "$log")
out=$(hf "rm -rf $work/store" \
	"$bin ingest --quiet --data $work/store --config $conf --format postfix $log")
t_log=${out%% *}
t_log_runs=${out#* }
rate=$("$py" -c "print(round($nlines / $t_log))")

rm -rf "$work/store"
cp -al "$maildir" "$work/maildir"
md_said=$(said "$data/sensors-maildir.stderr" "$bin" ingest --data "$work/store" \
	--config "$conf" --format maildir "$work/maildir")
out=$(hf "rm -rf $work/store $work/maildir && cp -al $maildir $work/maildir" \
	"$bin ingest --quiet --data $work/store --config $conf --format maildir $work/maildir")
t_md=${out%% *}
t_md_runs=${out#* }
md_rate=$("$py" -c "print(round($nmsgs / $t_md))")
rm -rf "$work"

cat <<MD
### sensors: $(date -u +%Y-%m-%d), \`bench/sensors.sh $lines $msgs $runs\`
- Postfix log: $nlines lines, $(( bytes / 1048576 )) MiB (\`bench/gen_maillog.py --seed 7\`), page-cached
- \`trapline ingest --format postfix\`, fresh store each run: median **${t_log} s**, **$rate lines/s** over $runs runs (runs: $t_log_runs s)
- ingest said: $log_said
- trap maildir: $nmsgs messages, $(( mbytes / 1048576 )) MiB (\`bench/gen_maildir.py --seed 7 --own-relay $own_relay\`), page-cached
- \`trapline ingest --format maildir\`, fresh store and maildir copy each run: median **${t_md} s**, $md_rate messages/s over $runs runs (runs: $t_md_runs s)
- ingest said: $md_said
MD
