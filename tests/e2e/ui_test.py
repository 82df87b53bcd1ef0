# ui_test.py -- the web UI served by a real `cairn serve`: its files come from the
# binary with the right types (also under /ui/), API routes are untouched, and the
# page itself, run in headless Chromium against pushed JSON, logfmt and text lines,
# shows the JSON keys (and labels) picked as columns, the volume of matching lines, the fields and
# labels found, the raw line
# as text (never as markup), a metric query as a chart, and the server's message
# for a bad query.
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    check(False, "no chromium: install the 'chromium' package (deps/debian.txt)")


def render(browser, url, profile):
    """The DOM after the page's scripts ran (virtual time lets fetches finish)."""
    p = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--user-data-dir=" + profile,
                        "--virtual-time-budget=10000", "--dump-dom", url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check(p.returncode == 0, "chromium failed: %s" % p.stderr[-2000:])
    return p.stdout


def page(base, **state):
    return base + "/#" + urllib.parse.urlencode(state)


def main():
    browser = chromium()
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        base = srv.url

        # 1. The files, from the binary.
        for path, ctype in [("/", "text/html"), ("/app.js", "text/javascript"),
                            ("/logic.mjs", "text/javascript"), ("/app.css", "text/css"),
                            ("/ui/", "text/html"), ("/ui/app.js", "text/javascript")]:
            r = urllib.request.urlopen(base + path, timeout=30)
            check(r.status == 200 and r.headers["Content-Type"].startswith(ctype),
                  "%s: %d %s" % (path, r.status, r.headers["Content-Type"]))
            check(r.headers["Cache-Control"] == "no-cache", "%s cache header" % path)
        status, body = request(base + "/nothing-here")
        check(status == 404, "unknown path: %d" % status)
        status, body = request(base + "/loki/api/v1/labels")
        check(status == 200 and json.loads(body)["status"] == "success", "API route: %s" % body)

        # 2. Lines of three kinds, one with markup in it.
        t = now_ns()
        lines = [
            (t, json.dumps({"level": "error", "req": {"id": 42}, "msg": "<b>boom</b>"})),
            (t + 1, "level=info msg=ok dur=5ms"),
            (t + 2, "plain text <i>line</i>"),
        ]
        status, body = push_json(base, [({"job": "web", "env": "prod"}, lines)])
        check(status == 204, "push: %d %s" % (status, body))
        profile = tempfile.mkdtemp(prefix="cairn-ui-chromium-", dir=d)

        # 3. Picked keys as columns: JSON (nested, dotted) and logfmt; '-' when absent.
        dom = render(browser, page(base, q='{job="web"}', cols="level,req.id,env"), profile)
        table = re.search(r'<table class="logs">.*?</table>', dom, re.S)
        check(table, "no table: %s" % dom[-3000:])
        heads = re.findall(r"<th>(.*?)</th>", table.group(0))
        check(heads == ["Time", "level", "req.id", "env"], "columns %r" % heads)
        rows = re.findall(r'<tr class="entry">(.*?)</tr>', table.group(0))
        cells = [re.findall(r'<td class="([^"]*)"[^>]*>(.*?)</td>', r) for r in rows]
        check(len(cells) == 3, "rows: %r" % cells)
        # newest first: the text line, the logfmt line, the JSON line; a stream label
        # can be a column too
        check([c[1] for c in cells[0][1:]] == ["-", "-", "prod"], "text row %r" % cells[0])
        check([c[1] for c in cells[1][1:]] == ["info", "-", "prod"], "logfmt row %r" % cells[1])
        check([c[1] for c in cells[2][1:]] == ["error", "42", "prod"], "json row %r" % cells[2])
        # the volume above the lines counts what the query matches over the range
        check("3 matching lines in the range" in dom and "<rect" in dom,
              "volume: %s" % re.search(r'<div id="volume".*?</div>', dom, re.S))
        status_text = re.search(r'id="status"[^>]*>([^<]*)<', dom).group(1)
        check(status_text.startswith("3 lines"), "status: %r" % status_text)
        # the fields panel found the keys of both kinds, and the labels panel the labels
        fields = re.search(r'<div id="fields"[^>]*>(.*?)</div>\s*</section>', dom, re.S).group(1)
        for key in ("level", "req.id", "msg", "dur", "env"):
            check(">%s<" % key in fields or " %s<" % key in fields, "field %s missing: %s" % (key, fields[:800]))
        labels = re.search(r'<div id="labels"[^>]*>(.*?)</div>\s*</section>', dom, re.S).group(1)
        check("<span>env</span>" in labels and "<span>job</span>" in labels, "labels: %s" % labels[:500])

        # 4. No keys picked: the whole line, as text.
        dom = render(browser, page(base, q='{job="web"}'), profile)
        check("&lt;b&gt;boom&lt;/b&gt;" in dom and "&lt;i&gt;line&lt;/i&gt;" in dom,
              "lines not shown as text")
        check("<b>boom</b>" not in dom and "<i>line</i>" not in dom, "a line became markup")

        # 5. A metric query: a chart with one mark per series, and a legend.
        q = 'sum by (env) (count_over_time({job="web"}[1m]))'
        dom = render(browser, page(base, q=q, range="5m"), profile)
        check("<svg" in dom and ("<polyline" in dom or "<circle" in dom), "no chart: %s" % dom[-2000:])
        check('env="prod"' in dom, "legend")

        # 6. A bad query: the server's message, marked as an error.
        dom = render(browser, page(base, q='{job="web"'), profile)
        m = re.search(r'id="status"[^>]*class="error"[^>]*>([^<]*)<', dom) or \
            re.search(r'id="status"[^>]*>([^<]*)<', dom)
        check(m and m.group(1).startswith("400: parse error"), "error status: %r" % (m and m.group(0)))
        check('class="error"' in dom, "status not marked as an error")
        srv.stop()
        print("ok: files, columns from JSON and logfmt keys, fields, labels, text lines, chart, errors")


if __name__ == "__main__":

    main()
