# answer_utf8_test.py -- every answer is valid JSON whatever bytes were pushed (finding
# 7 of issue 10): lines and label values with invalid UTF-8, pushed as JSON (raw bytes
# inside the strings) and lines pushed as protobuf, come back from query_range, query,
# labels, label values, series, the tail WebSocket and `cairn query -o jsonl` as
# documents a strict parser takes, with U+FFFD where the bad bytes were (Loki's
# behaviour: Go's decoding and encoding replace them); a protobuf label text with
# invalid UTF-8 is refused, as Loki's label parser refuses it.
import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, now_ns, push_pb, request  # noqa: E402
from tail_api_test import open_tail  # noqa: E402

FFFD = "\ufffd"


def get_raw(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.status, r.read()


def strict(raw, what):
    """Parse bytes as UTF-8 JSON, refusing invalid UTF-8 (json.loads on bytes does)."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        check(False, "%s is not valid JSON (%s): %r" % (what, e, raw[:300]))


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        u = srv.url
        t0 = now_ns()
        # JSON push with raw invalid bytes inside the strings
        body = (b'{"streams":[{"stream":{"job":"u8","v":"bad\xffv"},"values":['
                b'["%d","json line \xfe\xc3\xa9 end"]]}]}' % t0)
        st, text = request(u + "/loki/api/v1/push", body,
                           {"Content-Type": "application/json"}, "POST")
        check(st == 204, "json push: %d %s" % (st, text))
        # protobuf push: invalid bytes in the label text are refused, as Loki's parser
        # does ("invalid UTF-8 rune"); in the line they are stored as sent (as Loki)
        st, text = push_pb(u, "", b'{job="u8",w="pb\xfe"}', 1, t0 + 1, b"pb line \xff")
        check(st == 400 and "invalid UTF-8 rune" in text, "pb bad labels: %d %s" % (st, text))
        st, text = push_pb(u, "", b'{job="u8",w="pb"}', 1, t0 + 1, b"pb line \xff")
        check(st == 204, "pb push: %d %s" % (st, text))

        q = urllib.parse.quote('{job="u8"}')
        rng = "&start=%d&end=%d" % (t0 - 10**9, t0 + 10**9)
        lines, labels = [], []
        for path in ("/loki/api/v1/query_range?query=%s&limit=10%s" % (q, rng),
                     "/loki/api/v1/query?query=%s&limit=10&time=%d" % (q, t0 + 10**9)):
            st, raw = get_raw(u + path)
            doc = strict(raw, path)
            for s in doc["data"]["result"]:
                labels.append(s["stream"])
                lines += [v[1] for v in s["values"]]
        check("json line %s\u00e9 end" % FFFD in lines, "json line: %r" % lines)
        check("pb line %s0" % FFFD in lines, "pb line: %r" % lines)
        vals = [lab.get("v") or lab.get("w") for lab in labels]
        check("bad%sv" % FFFD in vals and "pb" in vals, "label values: %r" % labels)

        # metric query: the series labels carry the repaired values
        mq = urllib.parse.quote('count_over_time({job="u8"}[1m])')
        st, raw = get_raw(u + "/loki/api/v1/query?query=%s&time=%d" % (mq, t0 + 10**9))
        doc = strict(raw, "metric query")
        check(len(doc["data"]["result"]) == 2, "metric series: %r" % doc)

        for path in ("/loki/api/v1/labels?" + rng[1:],
                     "/loki/api/v1/label/v/values?" + rng[1:],
                     "/loki/api/v1/label/w/values?" + rng[1:],
                     "/loki/api/v1/series?match[]=%s%s" % (q, rng)):
            st, raw = get_raw(u + path)
            doc = strict(raw, path)
            check(st == 200 and doc["status"] == "success", "%s: %r" % (path, doc))
        st, raw = get_raw(u + "/loki/api/v1/label/w/values?" + rng[1:])
        check(strict(raw, "values")["data"] == ["pb"], "w values: %r" % raw)
        st, raw = get_raw(u + "/loki/api/v1/label/v/values?" + rng[1:])
        check(strict(raw, "values")["data"] == ["bad" + FFFD + "v"], "v values: %r" % raw)

        # tail: the history comes over the WebSocket as valid JSON
        ws = open_tail(srv.port, '{job="u8"}', start=str(t0 - 10**9), limit="10")
        op, payload = ws.frame()
        check(op == 1, "tail: opcode %d" % op)
        doc = strict(payload, "tail message")
        got = [v[1] for s in doc["streams"] for v in s["values"]]
        check("pb line %s0" % FFFD in got, "tail lines: %r" % got)
        # and a live entry pushed while the tail is open
        st, text = push_pb(u, "", b'{job="u8",w="pb"}', 1, now_ns(), b"live \xc0\xaf")
        check(st == 204, "live pb push: %d %s" % (st, text))
        op, payload = ws.frame()
        doc = strict(payload, "live tail message")
        got = [v[1] for s in doc["streams"] for v in s["values"]]
        check(got == ["live %s%s0" % (FFFD, FFFD)], "live tail lines: %r" % got)
        ws.close()

        # the command-line client prints valid JSON lines
        r = subprocess.run([BIN, "query", "--addr", u, "-q", "-o", "jsonl", "--from", str(t0 - 10**9),
                            "--to", str(now_ns() + 10**9), '{job="u8"}'], capture_output=True,
                           timeout=60)
        check(r.returncode == 0, "cairn query: %r" % r.stderr)
        out = [strict(x, "cairn query line") for x in r.stdout.splitlines() if x]
        check(len(out) == 3, "cairn query: %r" % r.stdout)  # json, pb and live lines
        check(srv.stop() == 0, "server exit status")
    print("ok")


if __name__ == "__main__":
    main()
