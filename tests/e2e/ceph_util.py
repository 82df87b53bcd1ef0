# ceph_util.py -- what the e2e tests on a real one-node Ceph share: starting and
# stopping it (tests/cluster/ceph.sh) with its S3 settings in the environment, reading
# a node's /metrics, and waiting for a condition (polled, with a deadline).
import contextlib
import os
import subprocess
import time

from push_util import check, fail, request

SRC = os.environ.get("CAIRN_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
CEPH = os.path.join(SRC, "tests", "cluster", "ceph.sh")

# The bucket ceph.sh makes, for a config file read with -config.expand-env=true; it
# follows a line "common:" (more common keys may come before it).
S3_YAML = """\
  storage:
    s3:
      endpoint: ${S3_ENDPOINT}
      bucketnames: cairn
      s3forcepathstyle: true
      timeout: 5s
      max_retries: 1
storage_config:
  cache:
    max_size: 64MiB
"""


@contextlib.contextmanager
def ceph():
    """Start Ceph; yields (env, dir) with S3_ENDPOINT and the AWS keys exported."""
    r = subprocess.run(["bash", CEPH, "start"], capture_output=True, text=True, timeout=180)
    check(r.returncode == 0, "ceph.sh start failed: " + r.stderr[-2000:])
    cdir = r.stdout.strip().splitlines()[-1]
    try:
        env = dict(line.split("=", 1) for line in open(os.path.join(cdir, "env")).read().split())
        print("ceph ready in %ss" % env["CEPH_READY_S"])
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_ENDPOINT"):
            os.environ[k] = env[k]
        yield env, cdir
    finally:
        subprocess.run(["bash", CEPH, "stop", cdir], timeout=60)


def metrics(base):
    st, body = request(base + "/metrics")
    check(st == 200, "metrics: %d" % st)
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#") and " " in line:
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def wait_for(what, cond, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    fail("timed out waiting for " + what)
