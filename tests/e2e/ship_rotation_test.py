#!/usr/bin/env python3
# ship_rotation_test.py -- `cairn ship` tails a file through rotation by rename,
# rotation by copytruncate, graceful restarts with a rotation and a copytruncate while
# it was stopped, and a kill -9: every line written reaches the push endpoint (a capture server on
# 127.0.0.1), and with graceful stops exactly once.
import os
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ["CAIRN_BIN"]
BUILD = os.environ["CAIRN_BUILD"]
TOOL = os.path.join(BUILD, "ship_capture_tool")


def wait_for(pred, what, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def captured(path):
    try:
        with open(path) as f:
            return [l.rstrip("\n").split("\t", 2) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def main():
    tmp = tempfile.mkdtemp(prefix="ship-rot-")
    out = os.path.join(tmp, "captured.tsv")
    cap = subprocess.Popen([TOOL, out], stdout=subprocess.PIPE, text=True)
    port = int(cap.stdout.readline().strip().split("=")[1])
    logdir = os.path.join(tmp, "logs")
    os.mkdir(logdir)
    log = os.path.join(logdir, "app.log")
    cfg = os.path.join(tmp, "ship.yaml")
    with open(cfg, "w") as f:
        f.write(f"""server:
  disable: true
positions:
  filename: {tmp}/positions.yaml
  sync_period: 200ms
target_config:
  sync_period: 200ms
clients:
  - url: http://127.0.0.1:{port}/loki/api/v1/push
    batchwait: 50ms
    drain_timeout: 300ms
    backoff_config:
      min_period: 50ms
      max_period: 100ms
    tenant_id: e2e
    external_labels:
      cluster: test
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [localhost]
        labels:
          job: app
          __path__: {logdir}/*.log
""")
    ship = None
    written = []
    seq = [0]

    def start():
        return subprocess.Popen([BIN, "ship", "--config", cfg, "--log-level", "warn"],
                                stderr=subprocess.PIPE)

    def write(n, path=log):
        with open(path, "a") as f:
            for _ in range(n):
                line = f"line {seq[0]:06d} " + "x" * (seq[0] % 50)
                seq[0] += 1
                written.append(line)
                f.write(line + "\n")

    def lines_seen():
        return [r[2] for r in captured(out)]

    def all_arrived():
        return set(written) <= set(lines_seen())

    try:
        ship = start()
        write(200)
        wait_for(all_arrived, "the first lines")

        # rotation by rename (logrotate's default): the old file keeps a late line
        os.rename(log, log + ".1")
        write(5, log + ".1")
        write(100)
        wait_for(all_arrived, "lines around the rename")

        # rename, and the late lines come only after the agent has rescanned and seen
        # the name gone (its target sync period is 200ms): the renamed file must still
        # be read. (A deliberate delay: the window this reproduces is the agent's own.)
        os.rename(log, log + ".4")
        time.sleep(1.0)
        write(5, log + ".4")
        write(20)
        wait_for(all_arrived, "late lines of a file renamed away before a rescan")

        # copytruncate: copy away, truncate in place, keep writing
        with open(log) as src, open(log + ".2", "w") as dst:
            dst.write(src.read())
        os.truncate(log, 0)
        write(100)
        wait_for(all_arrived, "lines after copytruncate")

        # graceful restart; while stopped, more lines and a rename rotation
        ship.send_signal(signal.SIGTERM)
        assert ship.wait(timeout=30) == 0, ship.stderr.read().decode()
        write(50)
        os.rename(log, log + ".3")
        write(50)
        ship = start()
        wait_for(all_arrived, "lines written while stopped")

        # graceful stop; while stopped, a copytruncate, then more bytes written than
        # the saved position: the restart must notice and read the new file whole
        ship.send_signal(signal.SIGTERM)
        assert ship.wait(timeout=30) == 0, ship.stderr.read().decode()
        size = os.path.getsize(log)
        with open(log) as src, open(log + ".5", "w") as dst:
            dst.write(src.read())
        os.truncate(log, 0)
        while os.path.getsize(log) <= size + 100:
            write(10)
        ship = start()
        wait_for(all_arrived, "lines written after a copytruncate while stopped")

        # exactly once so far
        seen = lines_seen()
        dups = len(seen) - len(set(seen))
        assert dups == 0, f"{dups} duplicated lines after graceful restarts"
        assert sorted(seen) == sorted(written), "lost or unexpected lines"

        # kill -9: nothing is lost; at most what was read since the last sync repeats
        write(100)
        wait_for(all_arrived, "lines before the kill")
        ship.send_signal(signal.SIGKILL)
        ship.wait(timeout=30)
        write(100)
        ship = start()
        wait_for(all_arrived, "lines after kill -9")

        # the endpoint fails while we stop: the agent exits within its drain timeout,
        # keeps the old positions, and the next start delivers what was not
        cap.send_signal(signal.SIGUSR1)
        write(50)
        ship.send_signal(signal.SIGTERM)
        assert ship.wait(timeout=20) == 0, "agent did not stop while the endpoint failed"
        cap.send_signal(signal.SIGUSR2)
        ship = start()
        wait_for(all_arrived, "lines held back by a failing endpoint at shutdown")

        rows = captured(out)
        assert all(r[0] == "e2e" for r in rows), "tenant header missing"
        assert all('cluster="test"' in r[1] and 'job="app"' in r[1] and "filename=" in r[1]
                   for r in rows), rows[0]
        seen = [r[2] for r in rows]
        assert set(seen) == set(written)
        print(f"ok: {len(written)} lines, {len(seen) - len(set(seen))} repeated after kill -9")
    finally:
        if ship and ship.poll() is None:
            ship.send_signal(signal.SIGTERM)
            try:
                ship.wait(timeout=20)
            except subprocess.TimeoutExpired:
                ship.kill()
        cap.send_signal(signal.SIGTERM)
        cap.wait(timeout=20)
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
    sys.exit(0)
