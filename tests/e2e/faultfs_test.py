# faultfs_test.py -- the fault-injection shim (tests/fault/faultfs.c) does what the soak
# suite and other tests rely on: under LD_PRELOAD, a call named in the control file
# fails with the errno given, `count=N` stops after N failures, a changed control file
# takes effect at the next call, and with CAIRN_FAULTFS_DIR only files under that
# directory are touched (stderr and files elsewhere never are).
import errno
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BUILD, check  # noqa: E402

SHIM = os.path.join(BUILD, "libcairn_faultfs.so")
TOOL = os.path.join(BUILD, "faultfs_tool")


def set_ctl(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Tool:
    def __init__(self, env):
        self.p = subprocess.Popen([TOOL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, env=env)

    def call(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline().split()
        check(len(out) == 2, "tool answered %r to %r" % (out, cmd))
        return 0 if out[1] == "ok" else int(out[1])

    def close(self):
        self.p.stdin.close()
        check(self.p.wait(30) == 0, "faultfs_tool exit status")


def main():
    check(os.path.exists(SHIM), "shim not built: " + SHIM)
    with tempfile.TemporaryDirectory(prefix="cairn-faultfs-") as d:
        inside = os.path.join(d, "data")
        os.mkdir(inside)
        ctl = os.path.join(d, "ctl")
        stats = os.path.join(d, "stats")
        set_ctl(ctl, "")
        env = dict(os.environ, LD_PRELOAD=SHIM, CAIRN_FAULTFS_CTL=ctl,
                   CAIRN_FAULTFS_DIR=inside, CAIRN_FAULTFS_STATS=stats,
                   # an ASan build's tool sees the shim loaded before its runtime
                   ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0")
        t = Tool(env)
        check(t.call("open " + os.path.join(inside, "f")) == 0, "open")
        calls = ["write", "pwrite", "writev", "fsync", "fdatasync"]
        for c in calls:
            check(t.call(c) == 0, c + " failed with an empty control file")

        # each call, its own errno
        set_ctl(ctl, "write=EIO\npwrite=ENOSPC\nwritev=28\nfsync=EIO\nfdatasync=EIO\n")
        want = {"write": errno.EIO, "pwrite": errno.ENOSPC, "writev": errno.ENOSPC,
                "fsync": errno.EIO, "fdatasync": errno.EIO}
        for c in calls:
            got = t.call(c)
            check(got == want[c], "%s: errno %d, want %d" % (c, got, want[c]))
        check(t.call("stderr") == 0, "stderr was faulted although outside the dir")

        # a file outside CAIRN_FAULTFS_DIR is never touched
        check(t.call("open " + os.path.join(d, "outside")) == 0, "open outside")
        for c in calls:
            check(t.call(c) == 0, c + " faulted outside CAIRN_FAULTFS_DIR")

        # count=N: the next N calls fail, then the call works again
        check(t.call("open " + os.path.join(inside, "g")) == 0, "open g")
        set_ctl(ctl, "fdatasync=EIO\ncount=2\n")
        got = [t.call("fdatasync") for _ in range(4)]
        check(got == [errno.EIO, errno.EIO, 0, 0], "count=2 gave %r" % got)
        check(t.call("write") == 0, "write faulted under a fdatasync-only control file")

        # clearing the file clears the faults
        set_ctl(ctl, "fdatasync=EIO\n")
        check(t.call("fdatasync") == errno.EIO, "fdatasync=EIO not applied")
        set_ctl(ctl, "")
        check(t.call("fdatasync") == 0, "an empty control file still injects")
        t.close()

        with open(stats) as f:
            injected = f.read().strip()
        check(injected == "injected=8", "stats file says %r, want injected=8" % injected)
        print("ok: faultfs shim injects, counts, filters by directory and clears")


main()
