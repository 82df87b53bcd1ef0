# serve_options_test.py -- `cairn serve` options: --help lists every option with its
# default, unknown options and bad values are refused naming them, Loki's -key=value
# form works, and /ready answers once the store is open.
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, request  # noqa: E402


def run(*args):
    return subprocess.run([BIN, "serve"] + list(args), capture_output=True, text=True, timeout=30)


def main():
    r = run("--help")
    check(r.returncode == 0, "--help exit %d" % r.returncode)
    for opt, default in [("--listen", "[127.0.0.1:3100]"), ("--data-dir", "[./data]"),
                         ("--config", ""), ("--fsync", "[interval]"),
                         ("--ingestion-rate-mb", "[4]"), ("--max-streams-per-user", "[5000]"),
                         ("--reject-old-samples-max-age", "[168h]"),
                         ("--max-line-size", "[256KiB]"), ("--max-push-body", "[100MiB]")]:
        line = [l for l in r.stdout.splitlines() if l.strip().startswith(opt + " ")]
        check(line and default in line[0], "--help lacks %s %s:\n%s" % (opt, default, r.stdout))

    r = run("--no-such-option", "1")
    check(r.returncode == 2 and "unknown option '--no-such-option'" in r.stderr, r.stderr)
    r = run("--fsync", "sometimes")
    check(r.returncode == 2 and "--fsync" in r.stderr and "sometimes" in r.stderr, r.stderr)
    r = run("--reject-old-samples-max-age", "forever")
    check(r.returncode == 2 and "bad value 'forever' for --reject-old-samples-max-age" in r.stderr,
          r.stderr)

    with TempDir() as d:
        # Loki's single-dash form; Server adds --listen/--data-dir, the later one wins.
        srv = Server(os.path.join(d, "data"), "-max-line-size=1KiB", "-log-level=debug").start()
        status, body = request(srv.url + "/ready")
        check(status == 200 and body.strip() == "ready", "ready: %d %s" % (status, body))
        status, cfg = request(srv.url + "/config")
        check(status == 200 and "max-line-size: 1024" in cfg, "config: " + cfg)
        check(srv.stop() == 0, "SIGTERM exit status")
    print("ok")


main()
