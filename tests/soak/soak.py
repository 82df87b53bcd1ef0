#!/usr/bin/env python3
# soak.py -- cairn's crash and fault suite (`make soak`; not part of `make test`/CI).
#
#   python3 tests/soak/soak.py BUILD_DIR [--seed N] [--quick] [--only crash,diskfull,...]
#
# Scenarios (docs/SOAK.md says what each checks and why):
#   crash     SIGKILL cycles under concurrent JSON and protobuf pushers, each fsync policy
#   diskfull  the data dir on a 16 MiB tmpfs: push until refused, read, free, resume
#   fsync     fdatasync failing with EIO (the faultfs LD_PRELOAD shim) under fsync always
#   flip      one flipped byte in a WAL, segment or index file; start, read, `cairn check`
#
# Every scenario prints its figures and its checks; the last line is `N passed, M failed`
# (counting checks) and the exit status is 1 when anything failed. Runs are reproducible
# from the seed printed at the start (timing aside). Everything talks to 127.0.0.1 only;
# child processes and tmpfs mounts are removed on any exit.
import argparse
import atexit
import os
import random
import shutil
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soaklib  # noqa: E402

SCENARIOS = ["crash", "diskfull", "fsync", "flip"]

# Share of the whole run's time budget each scenario may use (crash cycles dominate).
SHARES = {"crash": 0.70, "diskfull": 0.08, "fsync": 0.08, "flip": 0.14}


class Scenario:
    def __init__(self, name):
        self.name = name
        self.checks = []  # (what, ok, detail)
        print("== %s" % name, flush=True)

    def figure(self, what, value):
        print("   %-28s %s" % (what + ":", value), flush=True)

    def progress(self, text):
        print("   .. %s" % text, flush=True)

    def note(self, text):
        print("   !! %s" % text, flush=True)

    def check(self, what, ok, detail=""):
        self.checks.append((what, bool(ok), detail))
        print("   %s %s%s" % ("PASS" if ok else "FAIL", what,
                              "" if ok or not detail else " -- " + detail), flush=True)


class Results:
    def __init__(self):
        self.scenarios = []

    def scenario(self, name):
        sc = Scenario(name)
        self.scenarios.append(sc)
        return sc

    def totals(self):
        p = sum(ok for sc in self.scenarios for _, ok, _ in sc.checks)
        f = sum(not ok for sc in self.scenarios for _, ok, _ in sc.checks)
        return p, f


class Context:
    def __init__(self, args):
        self.build = os.path.abspath(args.build)
        self.binary = os.path.join(self.build, "cairn")
        self.shim = os.path.join(self.build, "libcairn_faultfs.so")
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.quick = args.quick
        self.cycles = args.cycles or (6 if args.quick else 50)  # the minimum per policy
        self.max_cycles = max(self.cycles, args.max_cycles)  # more while time allows
        self.policies = args.policies.split(",")
        self.flip_trials = args.flip_trials or (2 if args.quick else 5)
        self.workdir = args.workdir
        self.total = args.time_limit or (120 if args.quick else 900)
        self.run_deadline = soaklib.Deadline(self.total)
        self.started = time.monotonic()

    def budget(self, scenario):
        """The deadline of one scenario: its share of the whole run, never past the
        run's own deadline."""
        d = soaklib.Deadline(self.total * SHARES[scenario])
        d.end = min(d.end, self.run_deadline.end)
        return d


def main():
    ap = argparse.ArgumentParser(description="cairn crash/fault soak suite")
    ap.add_argument("build", help="the CMake build directory (cairn, libcairn_faultfs.so)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    ap.add_argument("--quick", action="store_true", help="a ~2 minute run")
    ap.add_argument("--only", default=",".join(SCENARIOS),
                    help="comma-separated scenarios (default all: %s)" % ",".join(SCENARIOS))
    ap.add_argument("--cycles", type=int, default=0,
                    help="SIGKILL cycles per fsync policy at least (default 50, quick 6); "
                    "more run while the time budget allows")
    ap.add_argument("--max-cycles", type=int, default=400,
                    help="SIGKILL cycles per fsync policy at most (default 400)")
    ap.add_argument("--policies", default="always,interval,never")
    ap.add_argument("--flip-trials", type=int, default=0,
                    help="middle-of-file flips per file kind (default 5, quick 2); one header flip more")
    ap.add_argument("--time-limit", type=int, default=0,
                    help="seconds for the whole run (default 900, quick 120)")
    ap.add_argument("--workdir", default=None, help="where data dirs and logs go "
                    "(default a fresh /tmp/cairn-soak-*; removed if everything passed)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir even on success")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = int(time.time()) % 1000000
    own_workdir = args.workdir is None
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="cairn-soak-")
    os.makedirs(args.workdir, exist_ok=True)

    ctx = Context(args)
    if not os.access(ctx.binary, os.X_OK):
        print("no cairn binary in %s (make build first)" % ctx.build, file=sys.stderr)
        return 2
    atexit.register(soaklib.cleanup)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    print("cairn soak: seed=%d quick=%s cycles=%d policies=%s workdir=%s" %
          (ctx.seed, ctx.quick, ctx.cycles, ",".join(ctx.policies), ctx.workdir), flush=True)
    results = Results()
    wanted = [s for s in args.only.split(",") if s]
    interrupted = False
    try:
        for name in SCENARIOS:
            if name not in wanted:
                continue
            mod = __import__("scen_" + name)
            t0 = time.monotonic()
            try:
                mod.run(ctx, results)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # a harness or server surprise fails the scenario
                import traceback
                traceback.print_exc()
                sc = results.scenario(name) if not results.scenarios or \
                    not results.scenarios[-1].name.startswith(name) else results.scenarios[-1]
                sc.check("scenario ran to the end", False, "%s: %s" % (type(e).__name__, e))
            finally:
                soaklib.cleanup()
            print("   (%s: %.0f s)" % (name, time.monotonic() - t0), flush=True)
    except KeyboardInterrupt as e:
        interrupted = True
        print("interrupted: %s" % e, flush=True)
    finally:
        soaklib.cleanup()

    passed, failed = results.totals()
    if interrupted:
        failed += 1
    print("summary (seed %d, %.0f s):" % (ctx.seed, time.monotonic() - ctx.started))
    for sc in results.scenarios:
        p = sum(ok for _, ok, _ in sc.checks)
        print("  %-18s %d passed, %d failed" % (sc.name, p, len(sc.checks) - p))
    if failed or args.keep or not own_workdir:
        print("work dir kept: %s" % ctx.workdir)
    else:
        shutil.rmtree(ctx.workdir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
