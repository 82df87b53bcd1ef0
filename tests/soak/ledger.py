# ledger.py -- what the suite sent and what the server said about it, and the count of
# what came back: acknowledged, lost (acknowledged, not returned), duplicated (returned
# more than once), unacknowledged-but-present, rejected-but-visible, phantom (returned,
# never sent).
import collections
import threading
import time

# The outcome of one push, as the client saw it.
ACKED = "acked"        # 2xx
REJECTED = "rejected"  # an HTTP error status: the server said no
UNKNOWN = "unknown"    # no answer (connection reset by a kill, timeout)


class Batch:
    __slots__ = ("labels", "entries", "fmt", "outcome", "status", "tries")

    def __init__(self, labels, entries, fmt):
        self.labels = labels
        self.entries = entries  # [(ts, line)]
        self.fmt = fmt          # "json" or "pb"
        self.outcome = None
        self.status = None
        self.tries = 0


class Ledger:
    """Thread-safe record of every batch sent. Timestamps come from alloc_ts: unique
    across all streams and increasing, so reading back can page by timestamp."""

    def __init__(self):
        self.mu = threading.Lock()
        self.batches = []
        self.last_ts = 0

    def alloc_ts(self, n):
        """n fresh timestamps (first of n consecutive nanoseconds), near now."""
        with self.mu:
            t = max(time.time_ns(), self.last_ts + 1)
            self.last_ts = t + n - 1
            return t

    def add(self, batch):
        with self.mu:
            self.batches.append(batch)
        return batch

    def record(self, batch, outcome, status=None):
        with self.mu:
            # a retry that got an answer settles an earlier unknown or rejection
            if batch.outcome != ACKED:
                batch.outcome = outcome
                batch.status = status
            batch.tries += 1

    def lines(self, batches=None):
        """line -> (ts, outcome, status, tries) for the given batches (default: all)."""
        with self.mu:
            bs = list(self.batches if batches is None else batches)
        out = {}
        for b in bs:
            for ts, line in b.entries:
                out[line] = (ts, b.outcome, b.status, b.tries)
        return out

    def ts_range(self, batches=None):
        with self.mu:
            bs = list(self.batches if batches is None else batches)
        tss = [ts for b in bs for ts, _ in b.entries]
        return (min(tss), max(tss) + 1) if tss else (0, 0)


class Counts:
    """The figures of one read-back."""

    FIELDS = ("sent", "acked", "lost", "duplicated", "retry_duplicated", "unacked_present",
              "rejected_present", "phantom", "changed", "returned")

    def __init__(self, **kw):
        for f in self.FIELDS:
            setattr(self, f, kw.get(f, 0))
        self.examples = kw.get("examples", [])

    def add(self, other):
        for f in self.FIELDS:
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.examples = (self.examples + other.examples)[:5]

    def __str__(self):
        s = ("sent=%d acked=%d lost=%d duplicated=%d unacked_present=%d" %
             (self.sent, self.acked, self.lost, self.duplicated, self.unacked_present))
        for f in ("retry_duplicated", "rejected_present", "phantom", "changed"):
            if getattr(self, f):
                s += " %s=%d" % (f, getattr(self, f))
        return s


def compare(expected, returned, prefix):
    """expected: line -> (ts, outcome, status, tries) of the lines that could come back;
    returned: [(labels, ts, line)] from the server, restricted to the same selector and
    time range; prefix: lines starting with it belong to this check (others returned by
    the selector are ignored if they are in `expected`'s wider ledger). Returns Counts."""
    got = collections.Counter(line for _, _, line in returned)
    ts_of = {}
    for _, ts, line in returned:
        ts_of.setdefault(line, ts)
    c = Counts(sent=len(expected), returned=len(returned))
    ex = []
    for line, (ts, outcome, _status, tries) in expected.items():
        n = got.get(line, 0)
        if outcome == ACKED:
            c.acked += 1
            if n == 0:
                c.lost += 1
                if len(ex) < 5:
                    ex.append("lost: " + line)
        elif n:
            if outcome == REJECTED:
                c.rejected_present += 1
            else:
                c.unacked_present += 1
        if n > 1:
            if tries > 1:  # sent again after a failed try: the store kept both copies
                c.retry_duplicated += 1
            else:
                c.duplicated += 1
            if len(ex) < 5:
                ex.append("x%d%s: %s" % (n, " (retried)" if tries > 1 else "", line))
        if n and ts_of[line] != ts:
            c.changed += 1
            if len(ex) < 5:
                ex.append("timestamp changed: %s" % line)
    for line in got:
        if line not in expected and line.startswith(prefix):
            c.phantom += 1
            if len(ex) < 5:
                ex.append("never sent: " + line)
    c.examples = ex
    return c
