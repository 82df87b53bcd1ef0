# scen_flip.py -- one flipped byte in each kind of file (docs/FORMATS.md): WAL files,
# segment files, index files. Three data dirs are prepared once (see prepare()): with
# an index, with segments to scan, with lines only in the WAL. Each trial copies one,
# flips one byte in one file (in its middle half; the last trial of each kind flips a
# header byte), then:
#   - `cairn check DIR` must exit non-zero and name the file (and exit 0 on the intact
#     dirs beforehand, so a missing command cannot pass);
#   - `cairn serve` must start and answer /ready; queries must answer 200, not 500;
#   - the loss is limited: at most one record's or one block's lines for a flip in the
#     middle of a WAL or segment file, nothing for an index file (it is rebuilt from
#     the segments); header flips are counted, not bounded;
#   - a damaged WAL or segment file is kept (in place or quarantined), never truncated
#     away; an index file may be dropped and rebuilt.
import glob
import os
import shutil
import subprocess

import soaklib
from ledger import ACKED, Ledger, compare
from pusher import Pusher

SELECTOR = '{soak="flip"}'
NO_RATE_LIMIT = ["-distributor.ingestion-rate-limit-mb=100000",
                 "-distributor.ingestion-burst-size-mb=100000"]
SMALL_BLOCK = 4096    # raw bytes per block in the clean dir: many blocks per segment
LINES = 100           # lines per push, so one WAL ENTRIES record holds at most this
PAD = 24              # padding per line

KINDS = {
    "wal": ("wal/*.wal", "walheavy"),
    "segment": ("tenants/*/*/seg-*.cseg", None),  # alternates between the two dirs
    "index": ("tenants/*/*/index.cidx", "clean"),
}


def push_some(srv, ledger, prefix, batches):
    streams = [{"soak": "flip", "s": str(s)} for s in range(4)]
    ps = [Pusher(srv.port, ledger, streams[i::2], fmt, "%s-p%d" % (prefix, i), lines=LINES,
                 pad=PAD, max_batches=batches, seed=i)
          for i, fmt in enumerate(("json", "pb"))]
    for p in ps:
        p.start()
    for p in ps:
        p.join(300)
        if p.error:
            raise RuntimeError("pusher: " + p.error)
    return [b for p in ps for b in p.sent]


def cairn_check(ctx, data):
    """Runs `cairn check DATA`; returns (exit status, output)."""
    try:
        r = subprocess.run([ctx.binary, "check", data], capture_output=True, text=True,
                           errors="replace", timeout=120)
        return r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        return None, "timed out"


def read_back(srv, ledger, batches):
    start, end = ledger.ts_range(batches)
    return compare(ledger.lines(batches), soaklib.query_all(srv.port, SELECTOR, start, end), "")


def prepare(ctx, sc, work):
    """The pristine dirs and what each must hold: {name: (dir, batches)}.

    clean: small blocks, then a clean stop: segment and index files, no WAL.
    crashed: clean, then more pushes with small blocks and a kill: the new blocks
        removed the index, so the start scans the segment files; WAL files too.
    walheavy: clean, then more pushes with the default block size and a kill: the
        new lines are in the WAL only."""
    ledger = Ledger()
    small = ["-ingester.chunks-block-size=%d" % SMALL_BLOCK]
    log = os.path.join(work, "prepare.log")
    clean = os.path.join(work, "clean")
    srv = soaklib.Server(ctx.binary, clean, log, NO_RATE_LIMIT + small).start()
    b1 = push_some(srv, ledger, "fl-a", 40)
    rc = srv.stop()
    dirs = {"clean": (clean, b1)}
    for name, extra, prefix in (("crashed", small, "fl-b"), ("walheavy", [], "fl-c")):
        d = os.path.join(work, name)
        shutil.copytree(clean, d)
        srv = soaklib.Server(ctx.binary, d, log, NO_RATE_LIMIT + extra).start()
        dirs[name] = (d, b1 + push_some(srv, ledger, prefix, 40))
        srv.kill()
    every = [b for _, bs in dirs.values() for b in bs]
    n_acked = sum(b.outcome == ACKED for b in every)
    sc.check("test data prepared (all pushes acknowledged, clean stop)",
             rc == 0 and n_acked == len(every),
             "stop status %s, %d of %d acknowledged" % (rc, n_acked, len(every)))
    for name, (d, _) in dirs.items():
        files = {k: len(glob.glob(os.path.join(d, pat))) for k, (pat, _) in KINDS.items()}
        sc.figure("%s dir" % name, ", ".join("%d %s" % (n, k) for k, n in files.items()))
    return ledger, dirs


def flip(path, rng, header):
    """XOR one byte of `path` with a random non-zero mask; returns the offset."""
    size = os.path.getsize(path)
    off = rng.randrange(0, min(16, size)) if header else rng.randrange(size // 4, 3 * size // 4)
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)[0]
        f.seek(off)
        f.write(bytes([b ^ rng.randrange(1, 256)]))
    return off


def kept(data, rel, size):
    """The damaged file is still there, whole, in place or quarantined somewhere under
    the data dir (a file whose name contains its base name, at least as large)."""
    stem = os.path.basename(rel)
    for root, _, files in os.walk(data):
        for f in files:
            if stem in f and os.path.getsize(os.path.join(root, f)) >= size:
                return True
    return False


def trial(ctx, ledger, src, batches, kind, n, header, work):
    """One flip; returns a dict of what was seen."""
    pat = KINDS[kind][0]
    d = os.path.join(work, "%s-%d" % (kind, n))
    shutil.copytree(src, d)
    files = sorted(glob.glob(os.path.join(d, pat)))
    if not files:
        return None
    victim = max(files, key=os.path.getsize) if ctx.rng.random() < 0.5 else ctx.rng.choice(files)
    rel = os.path.relpath(victim, d)
    size = os.path.getsize(victim)
    t = {"file": rel, "size": size, "offset": flip(victim, ctx.rng, header),
         "header": header}
    rc, out = cairn_check(ctx, d)
    t["check_rc"] = rc
    t["check_named"] = os.path.basename(rel) in out
    t["check_out"] = out.strip().splitlines()[:2]
    srv = soaklib.Server(ctx.binary, d, os.path.join(work, "serve-%s-%d.log" % (kind, n)),
                         NO_RATE_LIMIT)
    try:
        srv.start(timeout=60)
        t["started"] = True
        t["ready"] = soaklib.ready(srv.port) == 200
        try:
            cnt = read_back(srv, ledger, batches)
            t["query"] = 200
            t["lost"], t["of"] = cnt.lost, cnt.acked
            t["dup"] = cnt.duplicated + cnt.retry_duplicated + cnt.phantom + cnt.changed
        except soaklib.QueryError as e:
            t["query"] = e.status
        except OSError as e:
            t["query"] = str(e)
        t["kept"] = kept(d, rel, size)
        t["stop_rc"] = srv.stop()
    except soaklib.ServerError:
        t["started"] = False
    finally:
        srv.kill()
    return t


def bound(kind, header):
    """Lines one flipped byte may cost, or None for no bound."""
    if header:
        return None
    if kind == "wal":
        return LINES  # one ENTRIES record: one stream of one push
    if kind == "segment":
        min_line = len("fl-a-p0 b0 i0 ") + PAD
        return 2 * SMALL_BLOCK // min_line + LINES  # one block (cut past the target)
    return 0  # an index is rebuilt from the segment files


def run(ctx, results):
    sc = results.scenario("flip")
    work = os.path.join(ctx.workdir, "flip")
    os.makedirs(work)
    try:
        ledger, dirs = prepare(ctx, sc, work)
    except soaklib.ServerError as e:
        sc.check("test data prepared", False, str(e))
        return
    for name, (d, _) in dirs.items():
        rc, out = cairn_check(ctx, d)
        sc.check("`cairn check` exits 0 on the intact %s dir" % name, rc == 0,
                 "exit %s: %s" % (rc, " | ".join(out.strip().splitlines()[:2])))
    budget = ctx.budget("flip")
    for kind, (_, where) in KINDS.items():
        seen = []
        for n in range(ctx.flip_trials + 1):
            if budget.expired():
                break
            header = n == ctx.flip_trials  # the last trial of each kind hits the header
            src = where or ("clean", "crashed")[n % 2]
            if not glob.glob(os.path.join(dirs[src][0], KINDS[kind][0])):
                src = "crashed" if src == "clean" else "clean"
            t = trial(ctx, ledger, dirs[src][0], dirs[src][1], kind, n, header, work)
            if t is None:
                continue
            t["src"] = src
            t["bound"] = bound(kind, header)
            seen.append(t)
            sc.figure("%s #%d" % (kind, n), describe(t))
        judge(sc, kind, seen)


def describe(t):
    s = "%s dir, %s @%d of %d%s: check exit %s%s; " % (
        t["src"], t["file"], t["offset"], t["size"], " (header)" if t["header"] else "",
        t["check_rc"], "" if t["check_named"] else " (file not named)")
    if not t.get("started"):
        return s + "server did not start"
    s += "ready %s, query %s" % ("200" if t["ready"] else "no", t.get("query"))
    if "lost" in t:
        s += ", lost %d of %d lines (bound %s)" % (t["lost"], t["of"], t["bound"])
        if t["dup"]:
            s += ", %d duplicated/unsent" % t["dup"]
    return s + (", file kept" if t.get("kept") else ", file GONE or truncated")


def judge(sc, kind, seen):
    if not seen:
        sc.check("%s: a file to flip exists" % kind, False, "none in the prepared dirs")
        return
    n = len(seen)

    def count(pred):
        return sum(1 for t in seen if pred(t))

    sc.check("%s: `cairn check` reports the damage (%d trials)" % (kind, n),
             count(lambda t: t["check_rc"] not in (0, None) and t["check_named"]) == n,
             "; ".join("exit %s %s" % (t["check_rc"], " | ".join(t["check_out"]))
                       for t in seen[:2]))
    sc.check("%s: server starts and answers /ready" % kind,
             count(lambda t: t.get("started") and t["ready"]) == n,
             "%d of %d" % (count(lambda t: t.get("started") and t["ready"]), n))
    sc.check("%s: queries answer 200" % kind, count(lambda t: t.get("query") == 200) == n,
             "answers %s" % [t.get("query") for t in seen])
    within = count(lambda t: "lost" in t and (t["bound"] is None or t["lost"] <= t["bound"]))
    sc.check("%s: loss limited to the damaged record or block" % kind, within == n,
             "lost %s" % ["%s/%s (bound %s)" % (t.get("lost"), t.get("of"), t["bound"])
                          for t in seen])
    sc.check("%s: nothing duplicated or invented" % kind, count(lambda t: t.get("dup")) == 0,
             "%s" % [t.get("dup") for t in seen])
    if kind == "index":
        return  # derived data: rebuilding it from the segments and dropping it is fine
    sc.check("%s: damaged file kept (in place or quarantined)" % kind,
             count(lambda t: t.get("kept")) == count(lambda t: t.get("started")),
             "%d of %d" % (count(lambda t: t.get("kept")), n))
