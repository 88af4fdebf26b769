"""trapline show and top against histories whose answers we know."""
import datetime
import json
import subprocess

import pytest

from conftest import BIN, NOW, ev, lines

D0 = datetime.date(1970, 1, 1)


def day(s):
    return datetime.date.fromisoformat(s)


def at(date, hour=12):
    return "%sT%02d:00:00Z" % (date.isoformat(), hour)


def daily(ip, start, end, kind="spam", skip=()):
    """One event a day from start to end, but not on days in skip."""
    out, d = [], day(start)
    while d <= day(end):
        if not any(day(a) <= d <= day(b) for a, b in skip):
            out.append(ev(at(d), ip, kind))
        d += datetime.timedelta(days=1)
    return out


@pytest.fixture
def store(tl):
    events = []
    # A GB spewer since 2006 with two hiatuses, still active.
    events += daily("81.2.69.142", "2006-01-01", NOW,
                    skip=[("2010-03-01", "2010-06-30"), ("2015-01-01", "2015-01-20"),
                          ("2019-05-01", "2019-07-31")])
    # A GB spewer 2012-2020, then gone.
    events += daily("212.58.244.20", "2012-01-01", "2020-12-31")
    # A US spewer for the last three years, heavy: 5 events a day.
    for _ in range(5):
        events += daily("8.8.8.8", "2023-11-27", NOW)
    # A GB bot seen for two days last week, very loud.
    events += [ev(at(day("2026-11-21")), "86.128.0.1", "spam", 5000),
               ev(at(day("2026-11-22")), "86.128.0.1", "dictionary", 10)]
    # An IPv6 GB password guesser this month.
    events += daily("2a02:c7f::1", "2026-11-01", "2026-11-10", "auth")
    tl.ingest(lines(*events), check=0)
    return tl


def test_show_json_contract(store):
    o = store.show("81.2.69.142")
    for key in ("ip", "first_seen", "last_seen", "span_days", "active_days", "steadiness",
                "hiatuses", "events", "tags", "country", "listed", "codes"):
        assert key in o
    assert o["first_seen"] == "2006-01-01" and o["last_seen"] == NOW
    assert o["span_days"] == (day(NOW) - day("2006-01-01")).days + 1
    skipped = 122 + 20 + 92
    assert o["active_days"] == o["span_days"] - skipped
    # The 20-day gap is not a hiatus (default 30 days); the others are.
    assert [(h["from"], h["to"], h["days"]) for h in o["hiatuses"]] == [
        ("2010-03-01", "2010-06-30", 122), ("2019-05-01", "2019-07-31", 92)]
    assert o["country"] == "GB"
    assert o["listed"] is True
    assert o["codes"] == ["127.0.0.2", "127.0.0.6"]
    assert 0.9 < o["steadiness"] <= 1.0
    assert o["current_run"] == {"from": "2019-08-01", "days": (day(NOW) - day("2019-08-01")).days + 1}


def test_show_lapsed_listing(store):
    o = store.show("212.58.244.20")
    assert o["listed"] is False and o["codes"] == []
    assert "quiet for" in o["why"]


def test_show_text(store):
    p = store.run("show", "81.2.69.142", check=0)
    out = p.stdout.decode()
    assert out.startswith("81.2.69.142 (GB)\n")
    assert "first seen   2006-01-01T12:00:00Z" in out
    assert "hiatuses     2 (gaps of 30 days or more)" in out
    assert "2010-03-01 .. 2010-06-30  122 days" in out


def test_show_unknown_and_bad_ip(store):
    o = store.show("192.0.2.200")
    assert o["seen"] is False and o["listed"] is False
    assert store.run("show", "999.1.1.1").returncode == 2
    assert store.run("show", "fe80::1%lo").returncode == 2


def test_show_without_store(tl):
    p = tl.run("show", "192.0.2.1")
    assert p.returncode == 66
    assert b"no store" in p.stderr


def test_hiatus_days_from_config(store, tmp_path):
    conf = tmp_path / "t.conf"
    conf.write_text("[policy]\nhiatus_days = 10\n")
    p = store.run("show", "--json", "--config", str(conf), "81.2.69.142", check=0)
    assert len(json.loads(p.stdout)["hiatuses"]) == 3


def test_top_longevity_in_gb(store):
    rows = store.top("--by", "longevity", "--country", "GB", "--limit", "10")
    assert [r["ip"] for r in rows] == ["81.2.69.142", "212.58.244.20", "2a02:c7f::1", "86.128.0.1"]
    assert all(r["country"] == "GB" for r in rows)
    assert rows[0]["rank"] == 1
    # UK is accepted for GB, and the limit holds.
    rows = store.top("--country", "uk", "--limit", "1")
    assert [r["ip"] for r in rows] == ["81.2.69.142"]


def test_top_country_without_matches(store):
    assert store.top("--country", "JP") == []


def test_top_volume_last_week(store):
    rows = store.top("--by", "volume", "--since", "7d", "--limit", "3")
    assert rows[0]["ip"] == "86.128.0.1"
    assert rows[0]["volume"] == 5010
    assert rows[1]["ip"] == "8.8.8.8" and rows[1]["volume"] == 5 * 8
    assert rows[2]["ip"] == "81.2.69.142" and rows[2]["volume"] == 8


def test_top_volume_all_time_and_kind(store):
    rows = store.top("--by", "volume", "--limit", "2")
    assert [r["ip"] for r in rows] == ["81.2.69.142", "8.8.8.8"]
    assert rows[0]["volume"] == rows[0]["active_days"]
    assert rows[1]["volume"] == 5 * rows[1]["active_days"]
    rows = store.top("--by", "volume", "--kind", "auth")
    assert [r["ip"] for r in rows] == ["2a02:c7f::1"]
    assert rows[0]["volume"] == 10


def test_top_recent_and_network(store):
    rows = store.top("--by", "recent", "--network", "81.2.0.0/16")
    assert [r["ip"] for r in rows] == ["81.2.69.142"]
    rows = store.top("--network", "2a02:c00::/22")
    assert [r["ip"] for r in rows] == ["2a02:c7f::1"]
    p = store.run("top", "--network", "81.2.69.142/16")
    assert p.returncode == 2 and b"did you mean 81.2.0.0/16" in p.stderr


def test_top_since_until(store):
    rows = store.top("--until", "2011-01-01")
    assert [r["ip"] for r in rows] == ["81.2.69.142"]
    rows = store.top("--since", "2026-11-01", "--until", "2026-11-30", "--country", "GB")
    assert [r["ip"] for r in rows] == ["81.2.69.142", "2a02:c7f::1", "86.128.0.1"]


def test_top_steadiness(store):
    rows = store.top("--by", "steadiness", "--limit", "2")
    # Never a quiet week: the 2012-2020 spewer and the 3-year one tie on 1.0;
    # the longer span ranks first.
    assert [r["ip"] for r in rows] == ["212.58.244.20", "8.8.8.8"]


def test_top_text(store):
    p = store.run("top", "--country", "GB", "--limit", "2", check=0)
    out = p.stdout.decode().splitlines()
    assert out[0].split()[:3] == ["rank", "ip", "cc"]
    assert out[1].split()[:3] == ["1", "81.2.69.142", "GB"]
    assert len(out) == 3


def test_top_usage_errors(store):
    for args in (["--by", "size"], ["--country", "GBR"], ["--kind", "x"], ["--limit", "0"],
                 ["--since", "yesterday"], ["extra"]):
        assert store.run("top", *args).returncode == 2, args


def test_geo_from_a_maxmind_db(store, tmp_path):
    """--geo FILE.mmdb: countries come from the operator's database."""
    mmdb = tmp_path / "test.mmdb"
    script = r'''
use MaxMind::DB::Writer::Tree;
my $t = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,
    database_type => 'Test-Country', languages => ['en'], description => {en => 't'},
    map_key_type_callback => sub { { country => 'map', iso_code => 'utf8_string' }->{$_[0]} });
$t->insert_network('8.8.8.0/24', { country => { iso_code => 'NZ' } });
$t->insert_network('81.2.69.0/24', { country => { iso_code => 'FR' } });
open my $fh, '>:raw', $ARGV[0] or die; $t->write_tree($fh); close $fh;
'''
    subprocess.run(["perl", "-e", script, str(mmdb)], check=True)
    rows = store.top("--country", "NZ", "--geo", str(mmdb))
    assert [r["ip"] for r in rows] == ["8.8.8.8"]
    assert rows[0]["country"] == "NZ"
    p = store.run("show", "--json", "--geo", str(mmdb), "81.2.69.142", check=0)
    assert json.loads(p.stdout)["country"] == "FR"
    p = store.run("show", "--json", "--geo", str(mmdb), "212.58.244.20", check=0)
    assert json.loads(p.stdout)["country"] is None


def test_a_corrupt_record_is_left_out_not_fatal(tl, tmp_path):
    """A record damaged on disk: top warns and ranks the rest; show says
    the data is corrupt (65) instead of printing garbage."""
    tl.ingest(lines(ev(1600000000, "198.51.100.1"), ev(1600000000, "198.51.100.2"),
                    ev(1600086400, "198.51.100.2")), check=0)
    dump = tmp_path / "bad.txt"
    # 198.51.100.1 = c6 33 64 01; the value claims version 1, then stops.
    dump.write_text("VERSION=3\nformat=bytevalue\ndatabase=v4\ntype=btree\n"
                    "HEADER=END\n c6336401\n 01ff\nDATA=END\n")
    subprocess.run(["mdb_load", "-f", str(dump), "-s", "v4",
                    str(tl.data) + "/history"], check=True)
    p = tl.run("top", "--json", check=0)
    assert [r["ip"] for r in json.loads(p.stdout)] == ["198.51.100.2"]
    assert b"record of 198.51.100.1 is unreadable" in p.stderr
    p = tl.run("show", "198.51.100.1")
    assert p.returncode == 65
    assert b"data corrupt" in p.stderr
    # The writer starts a corrupt record anew rather than failing.
    tl.ingest(lines(ev(1600000000, "198.51.100.1")), check=0)
    assert tl.show("198.51.100.1")["events"]["spam"] == 1
