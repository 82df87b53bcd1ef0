# pusher.py -- a push client thread for the soak scenarios: batches of unique lines to
# a few streams, JSON or protobuf+snappy, each outcome written to the Ledger. Bounded
# by a batch count, a deadline and a stop event.
import http.client
import random
import threading
import time

import soaklib
from ledger import ACKED, REJECTED, UNKNOWN, Batch


def encode(batch):
    if batch.fmt == "pb":
        return soaklib.body_pb(batch.labels, batch.entries)
    return soaklib.body_json(batch.labels, batch.entries)


def send(port, batch, ledger, conn=None, tenant=None, timeout=30):
    """Push one batch (again, if it was sent before) and record the outcome. Returns
    (status or None, reply text, headers); a connection error gives None."""
    body, ctype = encode(batch)
    try:
        st, text, hd = soaklib.push(port, body, ctype, tenant, conn, timeout)
    except (OSError, http.client.HTTPException) as e:
        ledger.record(batch, UNKNOWN)
        return None, str(e), {}
    ledger.record(batch, ACKED if 200 <= st < 300 else REJECTED, st)
    return st, text, hd


class Pusher(threading.Thread):
    """Pushes to `streams` (a list of label dicts) in turn until stopped.

    name_prefix makes every line unique: `<prefix> b<batch> i<index> <padding>`.
    stop_on_error: end the thread at the first connection error (the server was
    killed); otherwise keep going with a new connection. statuses counts the answers."""

    def __init__(self, port, ledger, streams, fmt, name_prefix, lines=100, pad=40,
                 max_batches=100000, deadline=None, stop=None, stop_on_error=True,
                 tenant=None, pause=0.0, seed=0):
        super().__init__(daemon=True)
        self.port = port
        self.ledger = ledger
        self.streams = streams
        self.fmt = fmt
        self.prefix = name_prefix
        self.lines = lines
        self.pad = "x" * pad
        self.max_batches = max_batches
        self.deadline = deadline
        self.stop_ev = stop or threading.Event()
        self.stop_on_error = stop_on_error
        self.tenant = tenant
        self.pause = pause  # up to this many seconds between batches (random)
        self.rng = random.Random(seed)
        self.statuses = {}
        self.sent = []      # batches, in order
        self.conn_errors = 0
        self.error = None

    def make_batch(self, k):
        labels = self.streams[k % len(self.streams)]
        ts0 = self.ledger.alloc_ts(self.lines)
        entries = [(ts0 + i, "%s b%d i%d %s" % (self.prefix, k, i, self.pad))
                   for i in range(self.lines)]
        return self.ledger.add(Batch(labels, entries, self.fmt))

    def run(self):
        self.error = None
        try:
            self._run()
        except Exception as e:  # a harness bug must not pass for a quiet server
            self.error = "%s: %s" % (type(e).__name__, e)

    def _run(self):
        conn = None
        for k in range(self.max_batches):
            if self.stop_ev.is_set() or (self.deadline and self.deadline.expired()):
                break
            b = self.make_batch(k)
            self.sent.append(b)
            if conn is None:
                conn = http.client.HTTPConnection(soaklib.HOST, self.port, timeout=30)
            st, _, _ = send(self.port, b, self.ledger, conn, self.tenant)
            key = st if st is not None else "no answer"
            self.statuses[key] = self.statuses.get(key, 0) + 1
            if st is None:
                self.conn_errors += 1
                conn.close()
                conn = None
                if self.stop_on_error:
                    break
            if self.pause:
                self.stop_ev.wait(self.rng.uniform(0, self.pause))
        if conn is not None:
            conn.close()


def retry_until_acked(port, batch, ledger, deadline, wait=0.25):
    """Send `batch` again until it is acknowledged or the deadline passes; returns the
    statuses seen (None for no answer)."""
    seen = []
    while True:
        st, _, _ = send(port, batch, ledger)
        seen.append(st)
        if st is not None and 200 <= st < 300:
            return seen
        if deadline.expired():
            return seen
        time.sleep(wait)


def push_one(port, ledger, labels, fmt, prefix, k, lines=100, rng=None, noise=0):
    """A single new batch to `labels`; returns (batch, status, headers). With rng,
    each line carries `noise` random hex digits (incompressible bytes)."""
    ts0 = ledger.alloc_ts(lines)
    entries = []
    for i in range(lines):
        tail = " %0*x" % (noise, rng.getrandbits(4 * noise)) if rng and noise else ""
        entries.append((ts0 + i, "%s b%d i%d%s" % (prefix, k, i, tail)))
    b = ledger.add(Batch(labels, entries, fmt))
    st, _, hd = send(port, b, ledger)
    return b, st, hd
