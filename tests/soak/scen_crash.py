# scen_crash.py -- SIGKILL cycles: `cairn serve` under four concurrent pushers (two
# JSON, two protobuf+snappy) is killed at a random moment, restarted on the same data
# dir, and what was pushed in the cycle is read back over HTTP. Unanswered pushes are
# then retried as an agent would. At the end the whole ledger is read back, and again
# after a clean stop and start. With every fsync policy nothing acknowledged may be
# lost: `never` and `interval` lose unsynced data on power loss, not on SIGKILL.
import os
import threading
import time

import soaklib
from ledger import ACKED, UNKNOWN, Counts, Ledger, compare
from pusher import Pusher, send

PUSHERS = 4
REPLAY_KILLS = 0.15  # share of cycles with a second kill during the restart's WAL replay
NO_RATE_LIMIT = ["-distributor.ingestion-rate-limit-mb=100000",
                 "-distributor.ingestion-burst-size-mb=100000"]


def read_back(srv, ledger, batches, policy):
    """Counts for `batches` (None: all) read through query_range."""
    start, end = ledger.ts_range(batches)
    got = soaklib.query_all(srv.port, '{soak="crash",policy="%s"}' % policy, start, end)
    return compare(ledger.lines(batches), got, "")


def run_policy(ctx, sc, policy, budget):
    work = os.path.join(ctx.workdir, "crash-" + policy)
    os.makedirs(work)
    data = os.path.join(work, "data")
    log = os.path.join(work, "serve.log")
    args = ["--fsync", policy] + NO_RATE_LIMIT
    ledger = Ledger()
    streams = [[{"soak": "crash", "policy": policy, "pusher": "p%d" % p, "s": str(s)}
                for s in range(2)] for p in range(PUSHERS)]
    fmts = ["json", "pb"] * (PUSHERS // 2)
    counts = Counts()
    cycles = 0
    deaths = 0
    bad_queries = []
    retried = retried_acked = 0
    replay_ms = []
    replay_kills = 0
    harness_errors = []
    acked_by_fmt = {"json": 0, "pb": 0}
    rc = final = final2 = start_err = None
    srv = soaklib.Server(ctx.binary, data, log, args)
    try:
        srv.start()
        cycle_end = soaklib.Deadline(budget.remaining() * 0.8)  # the rest: final reads
        for c in range(ctx.max_cycles):
            if cycle_end.expired() and c >= ctx.cycles or budget.expired():
                break
            stop = threading.Event()
            ps = [Pusher(srv.port, ledger, streams[p], fmts[p], "%s c%d p%d" % (policy, c, p),
                         lines=ctx.rng.choice([10, 50, 200]), stop=stop, pause=0.02,
                         seed=ctx.rng.random(), deadline=soaklib.Deadline(60))
                  for p in range(PUSHERS)]
            for p in ps:
                p.start()
            time.sleep(ctx.rng.uniform(0.05, 1.2))
            if not srv.alive():
                deaths += 1
            srv.kill()
            stop.set()
            for p in ps:
                p.join(60)
            batches = [b for p in ps for b in p.sent]
            harness_errors += [p.error for p in ps if p.error]
            for b in batches:
                acked_by_fmt[b.fmt] += b.outcome == ACKED
            if ctx.rng.random() < REPLAY_KILLS:
                # a second crash, in the middle of the WAL replay of the first
                soaklib.Server(ctx.binary, data, log, args).start(
                    kill_after=ctx.rng.uniform(0.0, max(0.01, 1.5 * (srv.replay_ms or 0) / 1000)))
                replay_kills += 1
            srv = soaklib.Server(ctx.binary, data, log, args).start()
            replay_ms.append(srv.replay_ms or 0)
            cycles += 1
            if batches:
                try:
                    cnt = read_back(srv, ledger, batches, policy)
                    counts.add(cnt)
                    if cnt.lost or cnt.duplicated or cnt.phantom or cnt.changed:
                        sc.note("cycle %d: %s; %s" % (c, cnt, "; ".join(cnt.examples[:3])))
                except (soaklib.QueryError, OSError) as e:
                    bad_queries.append("cycle %d: %s" % (c, e))
            # the client side of a crash: retry what got no answer
            for b in batches:
                if b.outcome == UNKNOWN:
                    retried += 1
                    st, _, _ = send(srv.port, b, ledger)
                    retried_acked += st is not None and 200 <= st < 300
            if (c + 1) % 10 == 0:
                sc.progress("%d cycles, %s" % (c + 1, counts))
        # the whole ledger, now; then after a clean stop and start (index and segments)
        try:
            final = read_back(srv, ledger, None, policy)
            sc.figure("final read-back", str(final))
        except (soaklib.QueryError, OSError) as e:
            bad_queries.append("final: %s" % e)
        rc = srv.stop()
        srv = soaklib.Server(ctx.binary, data, log, args).start()
        try:
            final2 = read_back(srv, ledger, None, policy)
            sc.figure("after clean restart", str(final2))
        except (soaklib.QueryError, OSError) as e:
            bad_queries.append("after clean restart: %s" % e)
        srv.stop()
    except soaklib.ServerError as e:
        start_err = str(e)
    finally:
        srv.kill()

    sc.figure("cycles", "%d (%d with a second kill during replay)" % (cycles, replay_kills))
    sc.figure("per-cycle read-back", str(counts))
    sc.figure("retried unanswered pushes", "%d (%d acknowledged)" % (retried, retried_acked))
    if replay_ms:
        sc.figure("replay ms (median/max)", "%d/%d" % (sorted(replay_ms)[len(replay_ms) // 2],
                                                   max(replay_ms)))
    sc.check("server starts after every kill", start_err is None, start_err or "")

    sc.check("at least %d kill cycles ran" % ctx.cycles, cycles >= ctx.cycles,
             "%d in the time budget" % cycles)
    sc.check("server never died on its own", deaths == 0, "%d deaths" % deaths)
    sc.check("every read-back query answered 200", not bad_queries, "; ".join(bad_queries[:3]))
    sc.check("pushers ran without harness errors", not harness_errors,
             "; ".join(harness_errors[:2]))
    sc.check("JSON and protobuf pushes acknowledged", all(acked_by_fmt.values()),
             "acknowledged batches %s" % acked_by_fmt)
    for name, cnt in (("per cycle", counts), ("final", final), ("after clean restart", final2)):
        if cnt is None:
            continue
        sc.check("%s: nothing acknowledged lost" % name, cnt.lost == 0,
                 "lost %d of %d; %s" % (cnt.lost, cnt.acked, "; ".join(cnt.examples[:2])))
        sc.check("%s: nothing duplicated" % name, cnt.duplicated == 0,
                 "%d lines returned more than once" % cnt.duplicated)
        sc.check("%s: nothing unsent or altered" % name, cnt.phantom == 0 and cnt.changed == 0,
                 "phantom=%d changed=%d" % (cnt.phantom, cnt.changed))
    # A push retried after the kill left it unanswered is stored twice when the first
    # copy had already left the open block (the store dedupes against that block only;
    # Loki's queriers drop such twins). Counted, not failed: issue 10 does not ask it.
    dup = max((c.retry_duplicated for c in (final, final2) if c), default=0)
    if dup:
        sc.note("%d lines of retried pushes are returned twice (not a failure here)" % dup)
    sc.check("clean stop exits 0", rc == 0, "exit status %s" % rc)


def run(ctx, results):
    share = ctx.budget("crash")
    for i, policy in enumerate(ctx.policies):
        sc = results.scenario("crash/" + policy)
        left = len(ctx.policies) - i
        run_policy(ctx, sc, policy, soaklib.Deadline(share.remaining() / left))
