# scen_diskfull.py -- the data dir on a 16 MiB tmpfs. A filler file takes nearly all
# the space, then pushes go on (to old streams and to a stream born while the disk is
# full) until the server refuses them. Issue 10 asks: disk full answers 507 (or 503
# with Retry-After), reads keep working, a refused push leaves no trace, writes resume
# once space returns (the refused batches, retried as an agent would, are acknowledged
# and stored), and after a restart nothing acknowledged is lost or duplicated.
import os
import subprocess

import soaklib
from ledger import ACKED, Ledger, compare
from pusher import Pusher, push_one, retry_until_acked

SELECTOR = '{soak="diskfull"}'
FS_SIZE = "16m"
RESERVE = 384 << 10   # bytes left free by the filler: a few pushes' worth
MAX_FULL_PUSHES = 400  # bound on pushes while waiting for the disk to fill
REFUSALS_WANTED = 12   # refused pushes to collect before freeing space
SMALL_BLOCK = 8192     # raw bytes per block: many segment writes
NOISE = 64             # random hex digits per line while filling


def fill(path, leave):
    """Write zeros to `path` until only `leave` bytes are free on its filesystem (or
    the filesystem refuses); returns the bytes written."""
    st = os.statvfs(os.path.dirname(path))
    want = max(0, st.f_bavail * st.f_frsize - leave)
    chunk = b"\0" * (1 << 20)
    done = 0
    with open(path, "wb") as f:
        try:
            while done < want:
                n = min(len(chunk), want - done)
                f.write(chunk[:n])
                done += n
            f.flush()
        except OSError:
            pass
    return done


def read_back(srv, ledger):
    start, end = ledger.ts_range()
    return compare(ledger.lines(), soaklib.query_all(srv.port, SELECTOR, start, end), "")


def run(ctx, results):
    sc = results.scenario("diskfull")
    budget = ctx.budget("diskfull")
    work = os.path.join(ctx.workdir, "diskfull")
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    srv = None
    soaklib.register_mount(mnt)  # before mounting: an interrupt may come in between
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + FS_SIZE, "tmpfs", mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sc.check("tmpfs mounted (needs root)", False, r.stderr.strip())
            return
        srv = _run(ctx, sc, budget, work, mnt)
    except soaklib.ServerError as e:
        sc.check("server starts", False, str(e))
    finally:
        if srv:
            srv.kill()
        soaklib.unmount(mnt)


def _run(ctx, sc, budget, work, mnt):
    data = os.path.join(mnt, "data")
    log = os.path.join(work, "serve.log")
    # small blocks and incompressible lines: block cuts (segment writes) meet the full
    # disk too, not only WAL appends
    args = ["-distributor.ingestion-rate-limit-mb=100000",
            "-distributor.ingestion-burst-size-mb=100000",
            "-ingester.chunks-block-size=%d" % SMALL_BLOCK]
    ledger = Ledger()
    old = [{"soak": "diskfull", "phase": "before", "s": str(s)} for s in range(3)]
    srv = soaklib.Server(ctx.binary, data, log, args).start()

    # 1. some data while there is room
    ps = [Pusher(srv.port, ledger, old, fmt, "df-before-" + fmt, lines=100, max_batches=15,
                 deadline=budget) for fmt in ("json", "pb")]
    for p in ps:
        p.start()
    for p in ps:
        p.join(120)
    before = [b for p in ps for b in p.sent]
    sc.check("pushes acknowledged before the disk fills",
             before and all(b.outcome == ACKED for b in before) and
             not any(p.error for p in ps),
             "statuses %s %s" % ([p.statuses for p in ps], [p.error for p in ps if p.error]))

    # 2. fill the disk, push until refused
    filler = os.path.join(mnt, "filler")
    sc.figure("filler bytes", fill(filler, RESERVE))
    statuses = {}
    refused = []          # batches the server refused
    retry_after = []      # Retry-After of 503 answers
    born_full = {"soak": "diskfull", "phase": "born-full", "s": "0"}
    k = 0
    while k < MAX_FULL_PUSHES and len(refused) < REFUSALS_WANTED and not budget.expired():
        labels = old[k % len(old)]
        if refused and not any(b.labels == born_full for b in ledger.batches):
            labels = born_full  # a stream whose first push meets a full disk
        b, st, hd = push_one(srv.port, ledger, labels, "pb" if k % 2 else "json",
                             "df-full", k, lines=200, rng=ctx.rng, noise=NOISE)
        statuses[st] = statuses.get(st, 0) + 1
        if st is None or st >= 300:
            refused.append(b)
            if st == 503:
                retry_after.append(hd.get("retry-after"))
        k += 1
        if st is None and not srv.alive():
            break
    sc.figure("pushes while filling", "%d, answers %s" % (k, fmt_statuses(statuses)))
    sc.check("server stays up when the disk is full", srv.alive(), "it exited")
    if not srv.alive():
        return srv
    bad = {s: n for s, n in statuses.items() if s is not None and s >= 300
           and s not in (503, 507)}
    sc.check("disk full is refused with 507 or 503",
             refused and not bad and None not in statuses,
             "answers %s" % fmt_statuses(statuses) if refused else
             "never refused in %d pushes" % k)
    if 503 in statuses:
        sc.check("a 503 says Retry-After", all(retry_after), "Retry-After %r" % retry_after[:3])

    # 3. reads still work; refused pushes left no trace
    ready = soaklib.ready(srv.port)
    sc.check("/ready answers 200 while the disk is full", ready == 200, "answered %s" % ready)
    try:
        cnt = read_back(srv, ledger)
        sc.check("queries answer 200 while the disk is full", True)
        sc.figure("read-back while full", str(cnt))
        sc.check("nothing acknowledged missing while full", cnt.lost == 0,
                 "lost %d of %d" % (cnt.lost, cnt.acked))
        sc.check("a refused push leaves no trace (its lines are not readable)",
                 cnt.rejected_present == 0,
                 "%d lines of refused pushes readable" % cnt.rejected_present)
    except (soaklib.QueryError, OSError) as e:
        sc.check("queries answer 200 while the disk is full", False, str(e))

    # 4. space returns: the refused batches are retried and taken, new pushes too
    os.unlink(filler)
    not_taken = []
    for b in refused:
        seen = retry_until_acked(srv.port, b, ledger, soaklib.Deadline(min(30, budget.remaining())))
        if b.outcome != ACKED:
            not_taken.append(seen[-3:])
    sc.check("refused batches are taken once space returns", not not_taken,
             "%d of %d still refused, last answers %s" % (len(not_taken), len(refused),
                                                          not_taken[:2]))
    after = [push_one(srv.port, ledger, labels, "json", "df-after", i)
             for i, labels in enumerate(old + [born_full])]
    sc.check("new pushes acknowledged once space returns",
             all(st is not None and st < 300 for _, st, _ in after),
             "answers %s" % [st for _, st, _ in after])

    # 5. restart after a kill (WAL replay), then after a clean stop
    for how in ("kill", "clean stop"):
        if how == "kill":
            srv.kill()
        else:
            rc = srv.stop()
            sc.check("clean stop exits 0", rc == 0, "exit status %s" % rc)
        srv = soaklib.Server(ctx.binary, data, log, args).start()
        try:
            cnt = read_back(srv, ledger)
        except (soaklib.QueryError, OSError) as e:
            sc.check("read-back after %s answers 200" % how, False, str(e))
            continue
        sc.figure("after %s" % how, str(cnt))
        report(sc, "after " + how, cnt)
    return srv


def report(sc, when, cnt):
    sc.check("%s: nothing acknowledged lost" % when, cnt.lost == 0,
             "lost %d of %d; %s" % (cnt.lost, cnt.acked, "; ".join(cnt.examples[:2])))
    dup = cnt.duplicated + cnt.retry_duplicated
    sc.check("%s: nothing duplicated" % when, dup == 0,
             "%d lines returned more than once (%d of retried batches)" %
             (dup, cnt.retry_duplicated))
    sc.check("%s: nothing unsent or altered" % when, cnt.phantom == 0 and cnt.changed == 0,
             "phantom=%d changed=%d" % (cnt.phantom, cnt.changed))


def fmt_statuses(statuses):
    return ", ".join("%s: %d" % ("no answer" if s is None else s, n)
                     for s, n in sorted(statuses.items(), key=lambda kv: str(kv[0])))

