# serve_options_test.py -- `cairn serve` configuration as the server sees it: --help
# lists the options with their defaults, bad options and config keys are refused
# naming them (exit 2), a YAML file given as Loki's -config.file=FILE is applied and
# options override it, /config shows the effective configuration.
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, now_ns, push_json, request  # noqa: E402


def run(*args):
    return subprocess.run([BIN, "serve"] + list(args), capture_output=True, text=True, timeout=30)


def main():
    r = run("--help")
    check(r.returncode == 0, "--help exit %d" % r.returncode)
    # Each option's block (its line and the indented lines under it) names its default.
    blocks, cur = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("  -"):
            cur = line.strip()
            blocks[cur] = line
        elif cur and line.startswith("      "):
            blocks[cur] += "\n" + line
        else:
            cur = None
    for opt, default in [("--listen", "127.0.0.1:3100"), ("--data-dir", "./data"),
                         ("--config", "none"), ("--fsync", "interval"),
                         ("-distributor.ingestion-rate-limit-mb", "0"),
                         ("-ingester.max-global-streams-per-user", "0"),
                         ("-validation.reject-old-samples.max-age", "168h"),
                         ("-distributor.max-line-size", "256KiB")]:
        block = [b for k, b in blocks.items() if k.split()[0].split("=")[0] == opt]
        check(block and re.search(r'default "?%s"?\)' % re.escape(default), block[0]),
              "--help lacks %s with default %s:\n%s" % (opt, default, r.stdout))

    r = run("--no-such-option", "1")
    check(r.returncode == 2 and "--no-such-option" in r.stderr, r.stderr)
    r = run("--fsync", "sometimes")
    check(r.returncode == 2 and "--fsync" in r.stderr and "sometimes" in r.stderr, r.stderr)

    with TempDir() as d:
        bad = os.path.join(d, "bad.yaml")
        with open(bad, "w") as f:
            f.write("limits_config:\n  max_line_size: 1KiB\n  bogus_key: 3\n")
        r = run("-config.file=" + bad)
        check(r.returncode == 2 and "limits_config.bogus_key" in r.stderr and ":3:" in r.stderr,
              r.stderr)

        good = os.path.join(d, "cairn.yaml")
        with open(good, "w") as f:
            f.write("limits_config:\n  max_line_size: 1KiB\n  max_label_names_per_series: 4\n")
        # Options override the file: the label limit comes from the command line.
        srv = Server(os.path.join(d, "data"), "-config.file=" + good,
                     "-validation.max-label-names-per-series=2").start()
        status, body = request(srv.url + "/ready")
        check(status == 200 and body.strip() == "ready", "ready: %d %s" % (status, body))
        status, cfg = request(srv.url + "/config")
        check(status == 200 and "max_line_size: 1KiB" in cfg.replace("1024", "1KiB"),
              "config: " + cfg)
        now = now_ns()
        status, body = push_json(srv.url, [({"a": "b"}, [(now, "x" * 1025)])])
        check(status == 400 and "Max entry size '1024' bytes exceeded" in body, body)
        status, body = push_json(srv.url, [({"a": "1", "b": "2", "c": "3"}, [(now, "x")])])
        check(status == 400 and "has 3 label names; limit 2" in body, body)
        check(srv.stop() == 0, "SIGTERM exit status")
    print("ok")


main()
