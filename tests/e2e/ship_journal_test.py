#!/usr/bin/env python3
# ship_journal_test.py -- `cairn ship` reading the systemd journal (`journal:` scrape
# configs) into a real `cairn serve`. No journald runs here: journal files are written
# from export format by systemd-journal-remote, before and while the agent runs.
#
# Checks: labels through relabel_configs (__journal__systemd_unit -> unit,
# __journal_priority_keyword -> level, __journal__hostname -> host, journal.labels);
# lines (MESSAGE, a multi-line one intact; an entry without MESSAGE dropped and
# counted); max_age on the first start (an entry 10 h old is not read); json: true with
# matches (only b.service, each line a JSON object of its fields); entries appended to
# the open file and a new file while running; SIGTERM, more entries, restart: every
# entry exactly once (the agent's own line counts per run, which the store's
# deduplication cannot hide, and the lines in the store); the cursor's file vacuumed
# while the agent is down: the restart says so and reads only what is newer; a stop
# while a limit stage holds the reader back (the entry being handed over is refused):
# the next run reads exactly the rest; kill -9 after a periodic cursor sync: the next
# run reads only the entries written since.
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, request  # noqa: E402

REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT = "0123456789abcdef0123456789abcdef"
NOW_US = time.time_ns() // 1000
MONO_BASE = NOW_US - 24 * 3600 * 10**6  # monotonic = realtime - base: one order for all files

_agents = []
_seq = [0]


def entry(unit, msg, prio=6, age_s=0.0, extra=None):
    """An entry dict (ordered) with a realtime a little later than the last one."""
    _seq[0] += 1
    ts = NOW_US - int(age_s * 10**6) + _seq[0]
    e = {"__REALTIME_TIMESTAMP": str(ts), "__MONOTONIC_TIMESTAMP": str(ts - MONO_BASE),
         "_BOOT_ID": BOOT, "_HOSTNAME": "host1", "_SYSTEMD_UNIT": unit, "PRIORITY": str(prio),
         "SYSLOG_IDENTIFIER": unit.split(".")[0]}
    if msg is not None:
        e["MESSAGE"] = msg
    e.update(extra or {})
    return e


def export(entries):
    out = bytearray()
    for e in entries:
        for k, v in e.items():
            b = v.encode()
            if b"\n" in b:  # binary-safe form: name, newline, le64 length, data
                out += k.encode() + b"\n" + struct.pack("<Q", len(b)) + b + b"\n"
            else:
                out += k.encode() + b"=" + b + b"\n"
        out += b"\n"
    return bytes(out)


def write_journal(path, entries):
    r = subprocess.run([REMOTE, "--output=" + path, "-"], input=export(entries),
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "journal-remote: %r" % r.stderr)


def query(srv, q):
    qs = urllib.parse.urlencode({"query": q, "start": (NOW_US - 12 * 3600 * 10**6) * 1000,
                                 "end": time.time_ns() + 10**9, "limit": 5000,
                                 "direction": "forward"})
    st, body = request(srv.url + "/loki/api/v1/query_range?" + qs)
    check(st == 200, "query %s: %d %s" % (q, st, body))
    data = json.loads(body)["data"]["result"]
    return [(s["stream"], int(v[0]), v[1]) for s in data for v in s["values"]]


def wait_for(pred, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    check(False, "timed out waiting for " + what)


def one_job_config(d, srv, job, stages):
    """A config reading the journal directory d/journal-<job> as job <job> through
    stages (YAML lines); returns (config path, journal directory)."""
    jdir = os.path.join(d, "journal-" + job)
    os.mkdir(jdir)
    path = os.path.join(d, job + ".yaml")
    with open(path, "w") as f:
        f.write(f"""server:
  http_listen_port: 0
positions:
  filename: {d}/positions-{job}.yaml
  sync_period: 200ms
clients:
  - url: {srv.url}/loki/api/v1/push
    batchwait: 100ms
scrape_configs:
  - job_name: {job}
    journal:
      path: {jdir}
      labels:
        job: {job}
    pipeline_stages:
""" + "".join("      " + l + "\n" for l in stages))
    return path, jdir


def count(srv, sel):
    qs = urllib.parse.urlencode({"query": "sum(count_over_time(%s[1d]))" % sel,
                                 "time": time.time_ns() + 10**9})
    st, body = request(srv.url + "/loki/api/v1/query?" + qs)
    check(st == 200, "count %s: %d %s" % (sel, st, body))
    r = json.loads(body)["data"]["result"]
    return int(float(r[0]["value"][1])) if r else 0


class Agent:
    def __init__(self, cfg, ready_job="jjson"):
        self.log = []
        self.proc = subprocess.Popen([BIN, "ship", "--config", cfg], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True)
        _agents.append(self.proc)
        self.port = None
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.log.append(line)
                if "serving /ready" in line:
                    self.port = int(line.split("port=")[1].split()[0])
                if "reading the journal" in line and "job=%s " % ready_job in line:
                    ready.set()
            ready.set()

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        check(ready.wait(60) and self.port, "agent did not start:\n" + "".join(self.log))

    def metric(self, name):
        st, text = request("http://127.0.0.1:%d/metrics" % self.port)
        check(st == 200, "/metrics: %d" % st)
        for l in text.splitlines():
            if l.startswith(name + " "):
                return float(l.split()[-1])
        check(False, "no %s in /metrics" % name)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.drainer.join(5)
        check(rc == 0, "agent exit status %d:\n%s" % (rc, "".join(self.log)))


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        jdir = os.path.join(d, "journal")
        os.mkdir(jdir)
        x, y, z = (os.path.join(jdir, n + ".journal") for n in "xyz")
        cfg = os.path.join(d, "promtail.yaml")
        with open(cfg, "w") as f:
            f.write(f"""server:
  http_listen_port: 0
positions:
  filename: {d}/positions.yaml
clients:
  - url: {srv.url}/loki/api/v1/push
    batchwait: 100ms
scrape_configs:
  - job_name: journal
    journal:
      path: {jdir}
      max_age: 1h
      labels:
        job: systemd-journal
    relabel_configs:
      - source_labels: [__journal__systemd_unit]
        target_label: unit
      - source_labels: [__journal_priority_keyword]
        target_label: level
      - source_labels: [__journal__hostname]
        target_label: host
  - job_name: jjson
    journal:
      path: {jdir}
      json: true
      matches: _SYSTEMD_UNIT=b.service
      labels:
        job: jjson
""")
        # 1. before the first start: an old entry (past max_age), one without MESSAGE
        a = [entry("a.service", "too old", age_s=10 * 3600)]
        a += [entry("a.service", "a-%d" % i, age_s=60) for i in range(20)]
        a += [entry("b.service", "b-%d" % i, prio=3, age_s=60) for i in range(10)]
        a += [entry("a.service", "first line\nsecond line", age_s=60)]
        a += [entry("a.service", None, age_s=60, extra={"CODE_FILE": "x.c"})]
        write_journal(x, a)
        sent = [e for e in a[1:] if "MESSAGE" in e]
        agent = Agent(cfg)

        def has(q, n):
            return lambda: len(query(srv, q)) >= n

        wait_for(has('{job="systemd-journal"}', len(sent)), "the first entries")
        got = query(srv, '{job="systemd-journal"}')
        streams = {json.dumps(s, sort_keys=True) for s, _, _ in got}
        check(streams == {json.dumps(s, sort_keys=True) for s in [
            {"job": "systemd-journal", "unit": "a.service", "level": "info", "host": "host1"},
            {"job": "systemd-journal", "unit": "b.service", "level": "error", "host": "host1"}]},
            "streams: %r" % streams)
        by_line = {l: (s, ts) for s, ts, l in got}
        check("too old" not in by_line, "an entry older than max_age was read")
        check("first line\nsecond line" in by_line, "multi-line MESSAGE: %r" % list(by_line)[:5])
        e0 = a[1]
        check(by_line["a-0"][1] == int(e0["__REALTIME_TIMESTAMP"]) * 1000,
              "timestamp: %r vs %s" % (by_line["a-0"], e0["__REALTIME_TIMESTAMP"]))
        check(by_line["b-3"][0]["level"] == "error", "priority keyword: %r" % (by_line["b-3"],))

        # json: true with matches: only b.service, whole entries as JSON
        wait_for(has('{job="jjson"}', 10), "the json entries")
        js = query(srv, '{job="jjson"}')
        check(len(js) == 10 and all(s == {"job": "jjson"} for s, _, _ in js), "json: %r" % js[:3])
        obj = json.loads(js[0][2])
        check(obj.get("MESSAGE") == "b-0" and obj.get("_SYSTEMD_UNIT") == "b.service" and
              obj.get("PRIORITY") == "3" and obj.get("_HOSTNAME") == "host1" and
              list(obj) == sorted(obj), "json line: %r" % obj)

        # 2. appended to the open file, and a new file (rotation), while running
        b = [entry("a.service" if i % 2 else "b.service", "run1-%d" % i, prio=6 if i % 2 else 3)
             for i in range(15)]
        write_journal(x, b)
        c = [entry("c.service", "rotated-%d" % i) for i in range(10)]
        write_journal(y, c)
        sent += [e for e in b + c]
        wait_for(has('{job="systemd-journal"}', len(sent)), "entries written while running")
        jjson_n = 10 + sum(1 for e in b if e["_SYSTEMD_UNIT"] == "b.service")
        wait_for(has('{job="jjson"}', jjson_n), "json entries written while running")
        lines1 = agent.metric("promtail_journal_target_lines_total")
        check(lines1 == len(sent) + jjson_n, "run 1 read %s lines, want %d" %
              (lines1, len(sent) + jjson_n))
        nomsg = [l for l in request("http://127.0.0.1:%d/metrics" % agent.port)[1].splitlines()
                 if 'error="no_message"' in l]
        check(nomsg and nomsg[0].endswith(" 1"), "no_message count: %r" % nomsg)
        agent.stop()
        pos = open(os.path.join(d, "positions.yaml")).read()
        check('"journal-journal": "s=' in pos and '"journal-jjson": "s=' in pos,
              "positions: %r" % pos)

        def restart(path, new, said):
            """new entries into path while down, then a run: only those, once each"""
            write_journal(path, new)
            sent.extend(new)
            agent = Agent(cfg)
            wait_for(has('{job="systemd-journal"}', len(sent)), "entries written while down")
            # a repeat would be read before the new entries: all of them in the store
            # means the count is final
            n = agent.metric("promtail_journal_target_lines_total")
            check(n == len(new), "read %s lines, want %d (repeats?)" % (n, len(new)))
            check(any(said in l for l in agent.log), "no %r logged:\n%s" % (said, "".join(agent.log)))
            agent.stop()

        # 3. written while the agent is down, then a restart
        restart(x, [entry("a.service", "down-%d" % i) for i in range(10)],
                "resuming after the saved cursor")
        # 4. the cursor's file vacuumed while down: newer entries only, and it is said
        os.unlink(x)
        restart(z, [entry("a.service", "after-vacuum-%d" % i) for i in range(5)],
                "saved cursor not found")

        # 5. stopped while the reader is being held back (a limit stage), so the entry
        # it hands over next is refused (the client stops taking entries at SIGTERM):
        # that one is read again by the next run, and nothing else is
        cfg2, bdir = one_job_config(d, srv, "bp", ["- limit: {rate: 2000, burst: 100}"])
        many = [entry("bp.service", "bp-%05d" % i) for i in range(5000)]
        write_journal(os.path.join(bdir, "bp.journal"), many)
        agent = Agent(cfg2, "bp")
        wait_for(lambda: count(srv, '{job="bp"}') >= 500, "held back entries")
        agent.stop()
        first = count(srv, '{job="bp"}')
        agent = Agent(cfg2, "bp")
        wait_for(lambda: count(srv, '{job="bp"}') >= len(many), "the rest after the restart")
        n = agent.metric("promtail_journal_target_lines_total")
        check(n == len(many) - first, "after %d of %d, the restart read %s (want %d)" % (
            first, len(many), n, len(many) - first))
        # 6. kill -9 once a periodic sync has saved the last entry's cursor (its t= is
        # the entry's realtime): the next run reads only what came after
        last_t = "t=%x;" % int(many[-1]["__REALTIME_TIMESTAMP"])
        wait_for(lambda: last_t in open(os.path.join(d, "positions-bp.yaml")).read(),
                 "the periodic cursor sync")
        agent.proc.kill()
        agent.proc.wait()
        more = [entry("bp.service", "bp-after-kill-%d" % i) for i in range(10)]
        write_journal(os.path.join(bdir, "bp.journal"), more)
        agent = Agent(cfg2, "bp")
        wait_for(lambda: count(srv, '{job="bp"}') >= len(many) + len(more), "entries after kill")
        n = agent.metric("promtail_journal_target_lines_total")
        check(n == len(more), "after kill -9 the restart read %s lines, want %d" % (n, len(more)))
        agent.stop()
        check(count(srv, '{job="bp"}') == len(many) + len(more),
              "bp entries: %d" % count(srv, '{job="bp"}'))

        # 7. a multiline block held when the agent stops: the cursor stays before its
        # first line, so the next run reads the block again and sends it once
        cfg3, mdir = one_job_config(d, srv, "ml", [
            "- multiline:", "    firstline: '^start'", "    max_wait_time: 1h"])
        mj = os.path.join(mdir, "ml.journal")
        write_journal(mj, [entry("m.service", t) for t in
                           ("start-0", "start-1", "cont-1a", "cont-1b")])
        agent = Agent(cfg3, "ml")
        wait_for(has('{job="ml"}', 1), "the first block")
        agent.stop()
        write_journal(mj, [entry("m.service", "start-2")])
        agent = Agent(cfg3, "ml")
        wait_for(has('{job="ml"}', 2), "the held block after the restart")
        n = agent.metric("promtail_journal_target_lines_total")
        check(n == 4, "the restart read %s lines, want 4 (the held block and start-2)" % n)
        agent.stop()
        # start-2's own block is held at this stop too: read again by a next run
        got = [l for _, _, l in query(srv, '{job="ml"}')]
        check(sorted(got) == ["start-0", "start-1\ncont-1a\ncont-1b"],
              "multiline blocks: %r" % got)

        # every entry in the store exactly once, nothing else
        got = sorted(l for _, _, l in query(srv, '{job="systemd-journal"}'))
        want = sorted(e["MESSAGE"] for e in sent)
        check(got == want, "store: %d lines, want %d; extra %r missing %r" % (
            len(got), len(want), sorted(set(got) - set(want))[:5],
            sorted(set(want) - set(got))[:5]))
        srv.stop()
    print("ok")


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        import push_util
        for s in push_util._live:
            sys.stderr.write("".join(s.log[-60:]))
        raise
    finally:
        for p in _agents:
            if p.poll() is None:
                p.kill()
                p.wait()
