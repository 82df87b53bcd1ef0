# push_crash_test.py -- SIGKILL `cairn serve` in the middle of a push load, restart it
# on the same data dir (WAL replay), push more, stop it cleanly and read everything
# back: every acknowledged (204) line is there exactly once, nothing is duplicated,
# and nothing appears that was never sent.
import collections
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, dump, now_ns, push_json  # noqa: E402

LOADERS = 3
BATCH = 250
KILL_AFTER = 40  # acknowledged batches before the kill


def main():
    with TempDir() as d:
        data = os.path.join(d, "data")
        srv = Server(data, "-distributor.ingestion-rate-limit-mb=1000",
                     "-distributor.ingestion-burst-size-mb=1000").start()
        base = now_ns() - 60 * 10**9
        acked = []          # (loader, batch) pushes answered 204
        sent = set()        # every line ever sent
        lock = threading.Lock()
        enough = threading.Event()

        def loader(n):
            b = 0
            while True:
                vals = [(base + (b * BATCH + i) * 1000 + n, "L%d-%d-%d" % (n, b, i))
                        for i in range(BATCH)]
                with lock:
                    sent.update(("L%d" % n, ts, line) for ts, line in vals)
                try:
                    status, body = push_json(srv.url, [({"loader": "L%d" % n}, vals)])
                except OSError:
                    return  # the server is gone
                if status != 204:
                    return
                with lock:
                    acked.append((n, b, vals))
                    if len(acked) >= KILL_AFTER:
                        enough.set()
                b += 1

        threads = [threading.Thread(target=loader, args=(n,)) for n in range(LOADERS)]
        for t in threads:
            t.start()
        check(enough.wait(120), "loaders did not get %d pushes acknowledged" % KILL_AFTER)
        srv.kill()
        for t in threads:
            t.join(60)
        n_acked = len(acked)

        # Restart: the WAL is replayed before /ready; then a little more data.
        srv = Server(data).start()
        after = [(now_ns() - 10**9 + i, "after-restart-%d" % i) for i in range(50)]
        status, body = push_json(srv.url, [({"loader": "after"}, after)])
        check(status == 204, "push after restart: %d %s" % (status, body))
        check(srv.stop() == 0, "SIGTERM exit status")

        got = collections.Counter(dump(data))
        by_line = {}
        for (tenant, labels, ts, line), c in got.items():
            check(c == 1, "entry %r stored %d times" % ((labels, ts, line), c))
            by_line[line] = (labels, ts)
        for n, b, vals in acked:
            for ts, line in vals:
                check(line in by_line, "acknowledged line %s lost (%d acked pushes)" %
                      (line, n_acked))
                check(by_line[line] == ('{loader="L%d"}' % n, ts), "line %s changed: %r" %
                      (line, by_line[line]))
        for ts, line in after:
            check(line in by_line, "line pushed after restart lost: " + line)
        sent_lines = {line for _, _, line in sent} | {line for _, line in after}
        for line in by_line:
            check(line in sent_lines, "stored line never sent: " + line)
        print("ok: %d acknowledged pushes (%d lines) survived SIGKILL; %d lines stored" %
              (n_acked, n_acked * BATCH, len(by_line)))


main()
