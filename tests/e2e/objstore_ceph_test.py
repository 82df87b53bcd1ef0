# objstore_ceph_test.py -- cairn serve on a real one-node Ceph (tests/cluster/ceph.sh):
# closed periods are uploaded to RGW and their local files deleted; a restart on an
# empty data directory answers the same log and metric queries from the bucket; with
# radosgw stopped, pushes keep getting 204, a query of data only in the bucket fails
# clearly within the timeout, and uploads catch up when radosgw is back.
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ceph_util import S3_YAML, CEPH, ceph, metrics, wait_for  # noqa: E402
from push_util import Server, TempDir, check, push_json, request  # noqa: E402

DAY = 86400 * 10**9


def query(base, q, start, end, limit=1000):
    qs = urllib.parse.urlencode({"query": q, "start": str(start), "end": str(end),
                                 "limit": str(limit), "direction": "forward", "step": "60"})
    return request(base + "/loki/api/v1/query_range?" + qs, timeout=120)


def answers(base, t0):
    out = []
    for q in ['{app="old"}', '{app="old"} |= "line 7"', 'count_over_time({app="old"}[1h])',
              'sum by (app) (bytes_over_time({app=~".+"}[10m]))']:
        st, body = query(base, q, t0 - 3600 * 10**9, t0 + 3600 * 10**9)
        check(st == 200, "query %s: %d %s" % (q, st, body[:300]))
        out.append(json.loads(body)["data"]["result"])
    return out


def local_segments(data):
    return glob.glob(os.path.join(data, "tenants", "*", "*", "seg-*.cseg"))


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (the Ceph daemons)")
        return
    with ceph() as (env, cdir), TempDir() as tmp:
        run(tmp, env, cdir)


def run(tmp, env, cdir):
    data = os.path.join(tmp, "data")
    cfg = os.path.join(tmp, "cairn.yaml")
    with open(cfg, "w") as f:
        f.write("common:\n" + S3_YAML)
    args = ("--config", cfg, "-config.expand-env=true")
    t0 = time.time_ns() - 2 * DAY  # a period of its own, two days old
    srv = Server(data, *args).start()
    lines = [(t0 + i * 10**6, "old line %d %s" % (i, "x" * 50)) for i in range(2000)]
    for k in range(0, len(lines), 500):
        st, body = push_json(srv.url, [({"app": "old"}, lines[k:k + 500])])
        check(st == 204, "push: %d %s" % (st, body))
    st, _ = request(srv.url + "/flush", b"", method="POST")
    check(st == 204, "flush: %d" % st)
    wait_for("the upload", lambda: not local_segments(data) and
             metrics(srv.url).get("cairn_objstore_uploads_total", 0) >= 1)
    before = answers(srv.url, t0)
    check(len(before[0]) == 1 and len(before[0][0]["values"]) == 1000,
          "log query before: %r" % (before[0][:1],))
    check(srv.stop() == 0, "serve exit")

    # an empty data directory: everything comes back from the bucket
    shutil.rmtree(data)
    srv = Server(data, *args).start()
    after = answers(srv.url, t0)
    check(after == before, "answers differ after restart on an empty disk")
    m = metrics(srv.url)
    check(m.get("cairn_cache_misses_total", 0) > 0, "no ranged GET through the cache")
    again = answers(srv.url, t0)
    check(again == before, "answers differ from the cache")
    check(metrics(srv.url).get("cairn_cache_hits_total", 0) > 0, "no cache hit")
    check(srv.stop() == 0, "serve exit")

    # radosgw down: pushes go on, store-only data fails clearly, uploads catch up
    srv = Server(data, *args).start()  # the cache is emptied at start
    # a stuck radosgw (SIGSTOP: connections accepted, never answered): the query ends
    # by the object store timeout (5 s per request here) with 503, it does not hang
    subprocess.run(["bash", CEPH, "pause-rgw", cdir], check=True, timeout=60)
    began = time.time()
    st, body = query(srv.url, 'count_over_time({app="old"}[1h])', t0 - 3600 * 10**9,
                     t0 + 3600 * 10**9)
    print("store-only query with radosgw stuck: %d in %.1fs" % (st, time.time() - began))
    check(st == 503 and "object store unavailable" in body,
          "query of bucket-only data with radosgw stuck: %d %s" % (st, body[:200]))
    subprocess.run(["bash", CEPH, "resume-rgw", cdir], check=True, timeout=60)
    subprocess.run(["bash", CEPH, "stop-rgw", cdir], check=True, timeout=60)
    began = time.time()
    st, body = query(srv.url, '{app="old"}', t0 - 3600 * 10**9, t0 + 3600 * 10**9)
    took = time.time() - began
    check(st == 503 and "object store unavailable" in body,
          "query of bucket-only data with radosgw down: %d %s" % (st, body[:200]))
    print("store-only query with radosgw down: %d in %.1fs: %s" % (st, took, body.strip()[:200]))
    t1 = time.time_ns() - DAY
    new = [(t1 + i * 10**6, "new line %d" % i) for i in range(3000)]
    # pushes for ~20 s of outage, with a flush (a period closed, its upload failing)
    # in the middle; every push must be acknowledged
    step = 75
    k = 0
    flushed = False
    while k < len(new):
        st, body = push_json(srv.url, [({"app": "new"}, new[k:k + step])])
        check(st == 204, "push with radosgw down: %d %s" % (st, body))
        k += step
        if k >= len(new) // 2 and not flushed:
            st, _ = request(srv.url + "/flush", b"", method="POST")
            check(st == 204, "flush: %d" % st)
            flushed = True
        time.sleep(max(0, began + 20 * k / len(new) - time.time()))
    st, _ = request(srv.url + "/flush", b"", method="POST")
    check(st == 204, "flush: %d" % st)
    wait_for("an upload failure", lambda: metrics(srv.url).get(
        "cairn_objstore_upload_failures_total", 0) >= 1)
    print("radosgw down for %.0fs of pushes" % (time.time() - began))
    check(local_segments(data), "local files deleted although not uploaded")
    subprocess.run(["bash", CEPH, "start-rgw", cdir], check=True, timeout=120)
    wait_for("uploads to catch up", lambda: not local_segments(data) and
             metrics(srv.url).get("cairn_objstore_upload_queue", 1) == 0, timeout=90)
    st, body = query(srv.url, '{app="new"}', t1 - 10**9, t1 + 3600 * 10**9, limit=5000)
    check(st == 200, "query new: %d %s" % (st, body[:200]))
    got = [v[1] for s in json.loads(body)["data"]["result"] for v in s["values"]]
    check(got == [l for _, l in new], "lines pushed while radosgw was down: %d of %d back"
          % (len(got), len(new)))
    check(answers(srv.url, t0) == before, "old answers differ after the outage")
    check(srv.stop() == 0, "serve exit")

    # retention: the two-day-old period goes from the bucket too
    old_prefix = "fake/%d/" % (t0 // DAY * DAY)
    check(old_prefix in bucket_keys(env), "no objects under %s before retention" % old_prefix)
    srv = Server(data, *args, "--retention", "24h").start()
    wait_for("retention to delete the objects", lambda: metrics(srv.url).get(
        "cairn_objstore_periods_deleted_total", 0) >= 1)
    keys = bucket_keys(env)
    check(old_prefix not in keys, "objects of the expired period remain: " + keys[:300])
    check(srv.stop() == 0, "serve exit")
    print("PASS")


def bucket_keys(env):
    r = subprocess.run(["curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                        env["AWS_ACCESS_KEY_ID"] + ":" + env["AWS_SECRET_ACCESS_KEY"],
                        "-H", "x-amz-content-sha256:UNSIGNED-PAYLOAD",
                        env["S3_ENDPOINT"] + "/cairn?list-type=2"],
                       capture_output=True, text=True, timeout=30)
    return r.stdout


if __name__ == "__main__":
    main()
