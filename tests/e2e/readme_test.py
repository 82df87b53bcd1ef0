# readme_test.py -- the README's shell blocks run as written, so the README cannot rot.
#
# Convention: every ```sh block of README.md runs, in order, from the top of the
# checkout (so examples/... paths work), under `bash -e -o pipefail`, and must exit 0.
# A block that must not run here -- it builds or installs (`make run`, `make install`),
# needs a Kubernetes cluster, or runs until stopped (`--tail`, a tailing agent) -- has
# the line
#     <!-- norun -->
# right before its opening fence (blank lines between are allowed). Markdown hides the
# comment, so readers see the block as any other.
#
# What the test changes, and nothing else: the blocks talk to a test `cairn serve` on an
# ephemeral port (127.0.0.1:3100 in a block becomes its address, and $LOKI_ADDR points
# `cairn query`, whose default is 127.0.0.1:3100, at it), and `cairn` is the built
# binary, first on PATH. Beyond exit 0 it checks what the README promises the reader
# sees: the push prints 204, and reading back finds the pushed line.
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, fail  # noqa: E402

SRC = os.environ["CAIRN_SRC"]
NORUN = "<!-- norun -->"
BLOCK_TIMEOUT = 30  # a block still running is one that should be marked norun


def blocks(text):
    """[(line number, runs?, body)] for each ```sh block."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        runs = not (j >= 0 and lines[j].strip() == NORUN)
        k = i + 1
        while k < len(lines) and lines[k].strip() != "```":
            k += 1
        check(k < len(lines), "README.md:%d: a ```sh block is not closed" % (i + 1))
        out.append((i + 1, runs, "\n".join(lines[i + 1:k]) + "\n"))
        i = k + 1
    return out


def main():
    with open(os.path.join(SRC, "README.md"), encoding="utf-8") as f:
        text = f.read()
    found = blocks(text)
    runnable = [b for b in found if b[1]]
    check(len(runnable) >= 4, "only %d runnable blocks in README.md" % len(runnable))
    # the Quick start stays the two set-up commands (CI runs them), not run here
    first = found[0]
    commands = [ln.split("#")[0].strip() for ln in first[2].splitlines()]
    check(not first[1] and commands == ["make run", "make test"],
          "README's first block is not exactly `make run`, `make test`: %r" % commands)
    quick = text[text.index("## Quick start"):]
    quick = quick[:quick.index("\n## ", 1)] if "\n## " in quick[1:] else quick
    check(quick.count("```sh") == 1, "Quick start holds more than the two set-up commands")

    with TempDir() as tmp:
        srv = Server(os.path.join(tmp, "data")).start()
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(BIN), os.path.join(bindir, "cairn"))
        env = dict(os.environ)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        env["LOKI_ADDR"] = srv.url
        env["NO_COLOR"] = "1"
        addr = srv.url[len("http://"):]
        outputs = []
        for line, runs, body in found:
            if not runs:
                continue
            script = body.replace("127.0.0.1:3100", addr)
            with tempfile.TemporaryFile("w+") as out:
                try:
                    p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=SRC,
                                       env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, timeout=BLOCK_TIMEOUT)
                    rc = p.returncode
                except subprocess.TimeoutExpired:
                    rc = "timeout"
                out.seek(0)
                text = out.read()
            if rc != 0:
                fail("README.md:%d: block exited %s (mark it %s if it must not run here)\n"
                     "--- block\n%s--- output\n%s" % (line, rc, NORUN, script, text))
            print("README.md:%d: ok" % line)
            outputs.append((script, text))

        pushes = [t for s, t in outputs if "/loki/api/v1/push" in s and "http_code" in s]
        check(pushes, "no block pushes with curl and prints the status")
        check(all(re.search(r"^204$", t, re.M) for t in pushes),
              "the push block did not print 204: %r" % pushes)
        reads = [t for s, t in outputs if "query_range" in s]
        check(reads and all("hello from curl" in t for t in reads),
              "reading back did not find the pushed line: %r" % reads)
        srv.stop()
    print("ok: %d blocks ran, %d marked norun" % (len(runnable), len(found) - len(runnable)))


if __name__ == "__main__":
    main()
