/* SPDX-License-Identifier: MIT */
/* tl_limits.h -- every numeric limit in trapline, with its unit and reason */
#ifndef TRAPLINE_LIMITS_H
#define TRAPLINE_LIMITS_H

/* Log lines (bytes): long enough for a path and an escaped peer string. */
#define TL_LOG_LINE_MAX 1024

/* Input records (bytes): an event line is ~150 bytes; 64 KiB leaves room for
 * long HELO/from fields yet bounds what one hostile line can cost. */
#define TL_LINE_MAX 65536

/* JSON nesting depth in an event line (levels): unknown fields may hold
 * nested values we skip; deeper than this is an attack, not an event. */
#define TL_JSON_DEPTH_MAX 32

/* Event fields (bytes, without the NUL). RFC 5321 4.5.3.1: a domain is at
 * most 255 octets, a path 256; sensor names are ours to bound. */
#define TL_HELO_MAX 255
#define TL_FROM_MAX 255
#define TL_SENSOR_MAX 63

/* Content tags: per event (count), length (bytes). */
#define TL_EVENT_TAGS_MAX 8
#define TL_TAG_LEN_MAX 32

/* Distinct tags one IP's history keeps (count); more are folded into none
 * (the counter "tags_dropped" says so). */
#define TL_HISTORY_TAGS_MAX 32

/* Distinct tag names in one store (count): ids are 16-bit in records. */
#define TL_TAG_IDS_MAX 65535

/* Events one record may stand for (count); bounds counter overflow. */
#define TL_EVENT_COUNT_MAX 1000000000ULL

/* Days of per-day volume kept per IP (days back from its last seen day):
 * enough for "the biggest this week / this month". */
#define TL_RECENT_DAYS 35

/* How far in the future an ingested event may be (seconds): sensors' clock
 * skew, not more; a far-future time would keep an address "last seen"
 * and listed for years. */
#define TL_FUTURE_SLACK 86400

/* Time range accepted in events: 1970-01-01 .. 2199-12-31 (days). */
#define TL_DAY_MIN 0
#define TL_DAY_MAX 84005

/* Encoded history record (bytes): 20 years of alternate days is ~20 KiB of
 * runs; anything past 1 MiB is corruption or an attack. */
#define TL_RECORD_MAX (1u << 20)

/* Runs in one history (count): one per active day over TL_DAY range at
 * worst; a decoder refuses more. */
#define TL_RUNS_MAX 65536

/* Journal: segment size before rotation (bytes), frame payload (bytes). */
#define TL_JOURNAL_SEGMENT_MAX (64u << 20)
#define TL_JOURNAL_FRAME_MAX (1u << 20)

/* Events per group commit in ingest (count): one fdatasync and one LMDB
 * transaction per this many events. */
#define TL_COMMIT_EVENTS 262144

/* Default LMDB map size (bytes): virtual only; the file grows as used. */
#define TL_STORE_MAP_SIZE_DEFAULT (256ULL << 30)

/* Bad records reported in full by ingest (count); later ones are counted. */
#define TL_INGEST_REPORT_MAX 100

/* Rankings: rows a top query may ask for (count). */
#define TL_TOP_LIMIT_MAX 100000

/* Config: value length (bytes), list items per key (count). */
#define TL_CONFIG_VALUE_MAX 4096
#define TL_CONFIG_LIST_MAX 256
/* Config file size (bytes): a config is a page or two; bound what we read. */
#define TL_CONFIG_FILE_MAX (1u << 20)

/* Dictionary attacks (the trap, Postfix logs): clients followed at once
 * (count) and distinct unknown recipients remembered per client (count;
 * past this, every further reject counts as distinct). A hostile log or
 * client cannot grow memory past about TL_DICT_CLIENTS_MAX * 8 *
 * (TL_DICT_RCPTS_MAX + 8) bytes: 36 MiB (a few KiB for an honest log). */
#define TL_DICT_CLIENTS_MAX 65536
#define TL_DICT_RCPTS_MAX 64
/* The Postfix importer's names for the same bounds. */
#define TL_POSTFIX_CLIENTS_MAX TL_DICT_CLIENTS_MAX
#define TL_POSTFIX_RCPTS_MAX TL_DICT_RCPTS_MAX

/* Messages from mailboxes (bytes): the part of a message read and
 * classified; the rest is counted in its size but not read. Bots send
 * small messages; 32 MiB holds any real attachment. */
#define TL_MESSAGE_MAX (32u << 20)

/* MIME: nesting depth and leaf parts examined per message (count). */
#define TL_MIME_DEPTH_MAX 16
#define TL_MIME_PARTS_MAX 256

/* Decoded text matched by content rules per message (bytes). */
#define TL_RULES_TEXT_MAX (256u << 10)

/* Content rules: rules in one file (count). */
#define TL_RULES_MAX 1024

/* Received fields examined per message (count): a chain longer than this
 * is a loop or a forgery. */
#define TL_RECEIVED_MAX 64

/* --follow: how often a followed file is looked at when nothing arrives
 * (ms), and how long an mbox must be quiet before its last message is
 * taken as complete (ms). */
#define TL_FOLLOW_POLL_MS 200
#define TL_FOLLOW_SETTLE_MS 2000

/* The trap: bytes of a message kept in memory to classify and retain
 * (the rest is counted, not kept): bots' messages are a few KiB, an
 * attachment worth looking at fits; 1 MiB a session bounds memory. */
#define TL_TRAP_HOLD_MAX (1u << 20)

/* The trap: listen addresses (count), and bytes read per read(2). */
#define TL_TRAP_LISTEN_MAX 16
#define TL_TRAP_READ_BUF 65536

/* The trap: how long accept(2) pauses when out of descriptors (ms). */
#define TL_TRAP_ACCEPT_PAUSE_MS 100

/* The trap's group commit: with fewer than TL_TRAP_COMMIT_GROUP messages
 * waiting, the committer waits up to TL_TRAP_COMMIT_LINGER_US (µs) for
 * more before its fdatasync, so one sync covers many sessions under load
 * (a lone message waits a millisecond longer for its 250). */
#define TL_TRAP_COMMIT_GROUP 32
#define TL_TRAP_COMMIT_LINGER_US 1000

/* Operator list (`trapline list`): entries (count), bytes of a reason and
 * of the user name that added one, and bytes of DATA/operator.list read
 * (the most entries at their longest, with room for comments). A block
 * list's hand-made entries number in the hundreds; 65536 is generous and
 * keeps every scan over them cheap. */
#define TL_OPLIST_MAX 65536
#define TL_OPLIST_REASON_MAX 200
#define TL_OPLIST_WHO_MAX 32
#define TL_OPLIST_FILE_MAX (32u << 20)

/* `trapline list add|allow`: the widest prefix taken without --force
 * (prefix length): an IPv4 /8 is the largest block ever allocated, an IPv6
 * /16 wider than any RIR allocation; anything wider is more likely "/2"
 * typed for "/24" than meant. */
#define TL_OPLIST_WIDEST_V4 8
#define TL_OPLIST_WIDEST_V6 16

/* trapline check: lists.conf size (bytes) and line length (bytes): a
 * hand-edited file of a few dozen lists is a few KiB; lists in one file
 * and return codes per list (count), and the longest meaning (bytes). */
#define TL_LISTS_FILE_MAX (1u << 20)
#define TL_LISTS_LINE_MAX 4096
#define TL_LISTS_MAX 256
#define TL_LISTS_CODES_MAX 256
#define TL_LISTS_MEANING_MAX 255

/* trapline check: addresses one run may ask about (count): a /16 is
 * 65,536; a file may hold more, up to this, so memory stays bounded
 * (a byte a lookup plus the listings). */
#define TL_CHECK_IPS_MAX (1u << 20)
/* Addresses x lists in lists.conf one run may hold (count): a byte of
 * state each, 64 MiB. */
#define TL_CHECK_LOOKUPS_MAX (1u << 26)
/* The widest range expanded (prefix length): IPv4 /16, IPv6 /112. */
#define TL_CHECK_V4_PREFIX_MIN 16
#define TL_CHECK_V6_PREFIX_MIN 112
/* Queries in flight by default (count), and the most allowed: c-ares
 * ids are 16 bits per socket. */
#define TL_CHECK_INFLIGHT_DEFAULT 512
#define TL_CHECK_INFLIGHT_MAX 16384
/* The window of queries in flight (count): where it starts, and the least
 * it is cut to after timeouts. */
#define TL_CHECK_WINDOW_START 32
#define TL_CHECK_WINDOW_MIN 8
/* A query is taken as lost, for the window, after 8 smoothed round trips
 * but not before this (ms): a loaded machine stalls a loopback server for
 * milliseconds without losing anything. And how often queries in flight
 * are looked at for that (ms). */
#define TL_CHECK_LATE_MIN_MS 50
#define TL_CHECK_SCAN_MS 10
/* Queueing tolerated before the window stops growing (µs, above twice
 * the least round trip): a millisecond is ~50 queries at a loopback
 * server's pace, well inside rbldnsd's 128 KiB socket buffer. */
#define TL_CHECK_QUEUE_US 1000
/* A list's default timeout for one try (ms) and retries after it (count);
 * c-ares doubles the timeout at each retry. */
#define TL_CHECK_TIMEOUT_MS_DEFAULT 1000
#define TL_CHECK_RETRIES_DEFAULT 1
#define TL_CHECK_TIMEOUT_MS_MAX 60000
#define TL_CHECK_RETRIES_MAX 10
/* trapline check: receive buffer asked for c-ares' sockets (bytes): a
 * loopback datagram costs ~1 KiB of buffer, and answers to
 * TL_CHECK_INFLIGHT_DEFAULT queries can arrive at once. */
#define TL_CHECK_RCVBUF (4u << 20)
/* A/TXT answers kept per lookup (count), TXT kept (bytes). */
#define TL_CHECK_CODES_MAX 8
#define TL_CHECK_TXT_MAX 512

/* A snapshot build's write(2) calls (bytes at most each). It writes
 * 200 MB beside the workers; on a kernel without preemption
 * (CONFIG_PREEMPT_NONE, as on this project's machine) one large write
 * into ext4 holds its CPU for milliseconds at a time, and a worker woken
 * there waits. Each return from a small write lets the scheduler run it:
 * measured here, 128 KB pieces delayed a waiting thread by at most
 * 0.3 ms, pieces of 1 MB and more by 2-5 ms. */
#define TL_SNAP_WRITE_CHUNK (128u << 10)

#endif
