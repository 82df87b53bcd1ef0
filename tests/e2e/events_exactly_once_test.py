#!/usr/bin/env python3
"""events_exactly_once_test.py -- `cairn events` emits every version of every event once:
across dropped connections (also mid-object), relists after 410 Gone, restarts of the
router between events, updates with growing counts, and 5,000 events over list pages."""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import FakeAPI, Router, check_exactly_once, kubeconfig, names, tmpdir, wait_until  # noqa: E402


def setup(tag, *server_args):
    d = tmpdir("cairn-ev-" + tag + "-")
    api = FakeAPI("--bookmark-interval", "0.2", *server_args)
    kc = kubeconfig(os.path.join(d, "kc"), api.url)
    return d, api, kc


def test_reconnects_and_mid_object_drops():
    d, api, kc = setup("drop")
    first = api.add(3, namespace="a")
    r = Router(d, "--kubeconfig", kc, "--state-file", os.path.join(d, "st"))
    r.wait_lines(3)
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch")
    want = list(first)
    for i in range(5):
        # plain drop: the connection dies without the last chunk
        api.ctl("drop")
        want += api.add(2, namespace="a", reason="Round%d" % i)
        # mid-object: the next event arrives cut in half, then the connection dies
        api.ctl("drop", mid=True)
        want += api.add(1, namespace="a", reason="Mid%d" % i)
        r.wait_lines(len(want))
    lines = r.wait_lines(len(want))
    assert r.stop() == 0
    check_exactly_once(lines)
    assert sorted(names(lines)) == sorted(want), (names(lines), want)
    assert all(l["verb"] == "ADDED" for l in lines)
    st = api.stats()
    assert st["drops"] >= 10 and st["watch"] >= 11, st
    api.stop()


def test_relist_after_410_emits_only_the_new():
    d, api, kc = setup("gone")
    before = api.add(4, namespace="b")
    r = Router(d, "--kubeconfig", kc, "--state-file", os.path.join(d, "st"))
    r.wait_lines(4)
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch")
    # History is compacted while the router is cut off: its resourceVersion is gone.
    api.ctl("compact", drop=True)
    during = api.add(3, namespace="b", reason="WhileGone")
    lines = r.wait_lines(7)
    wait_until(lambda: api.stats()["gone"] >= 1, "a 410")
    after = api.add(2, namespace="b", reason="After")
    lines = r.wait_lines(9)
    # an HTTP 410 on the watch itself (as some proxies answer) is handled the same way
    api.ctl("http410", n=1)
    api.ctl("drop")
    more = api.add(1, namespace="b", reason="AfterHttp410")
    lines = r.wait_lines(10)
    assert r.stop() == 0
    check_exactly_once(lines)
    assert sorted(names(lines)) == sorted(before + during + after + more)
    assert api.stats()["list"] >= 3  # first list + a relist per 410
    api.stop()


def test_restarts_between_events():
    d, api, kc = setup("restart")
    state = os.path.join(d, "st")
    want = api.add(3, namespace="c")
    for i in range(4):
        r = Router(d, "--kubeconfig", kc, "--state-file", state)
        r.wait_lines(len(want))
        want += api.add(2, namespace="c", reason="Live%d" % i)
        r.wait_lines(len(want))
        assert r.stop() == 0
        # events that happen while the router is down, and an update of an old one
        want += api.add(1, namespace="c", reason="Down%d" % i)
    r = Router(d, "--kubeconfig", kc, "--state-file", state)
    lines = r.wait_lines(len(want))
    upd = api.ctl("update", namespace="c", name=want[0])["event"]
    lines = r.wait_lines(len(want) + 1)
    assert r.stop() == 0
    check_exactly_once(lines)
    assert sorted(names(lines)) == sorted(want + [want[0]])
    assert lines[-1]["verb"] == "UPDATED"
    assert lines[-1]["event"]["metadata"]["resourceVersion"] == upd["metadata"]["resourceVersion"]
    # the restart resumed from the state file's resourceVersion: one list only
    assert api.stats()["list"] == 1, api.stats()
    # SIGKILL once the router went quiet and saved its state: nothing is emitted twice
    r = Router(d, "--kubeconfig", kc, "--state-file", state)
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch")
    want2 = api.add(2, namespace="c", reason="BeforeKill")
    last_rv = r.wait_lines(len(lines) + 2)[-1]["event"]["metadata"]["resourceVersion"]
    wait_until(lambda: state_rv(state) == last_rv, "the state file to reach rv " + last_rv)
    r.stop(signal.SIGKILL)
    want2 += api.add(1, namespace="c", reason="WhileKilled")
    r = Router(d, "--kubeconfig", kc, "--state-file", state)
    lines = r.wait_lines(len(lines) + 3)
    assert r.stop() == 0
    check_exactly_once(lines)
    assert sorted(names(lines)) == sorted(want + [want[0]] + want2)
    api.stop()


def state_rv(path):
    """The resourceVersion of the first watch in the router's state file (see seen.c)."""
    import struct
    try:
        with open(path, "rb") as f:
            b = f.read()
    except FileNotFoundError:
        return None
    if len(b) < 16 or b[:8] != b"CAIRNEVS" or struct.unpack_from("<I", b, 12)[0] < 1:
        return None
    plen = struct.unpack_from("<I", b, 16)[0]
    off = 20 + plen
    rlen = struct.unpack_from("<I", b, off)[0]
    return b[off + 4:off + 4 + rlen].decode()


def test_updates_with_growing_counts():
    d, api, kc = setup("upd")
    name = api.add(1, namespace="d", reason="BackOff", type="Warning")[0]
    r = Router(d, "--kubeconfig", kc, "--state-file", os.path.join(d, "st"))
    r.wait_lines(1)
    for i in range(5):
        api.ctl("update", namespace="d", name=name, message="back-off %d" % i)
        r.wait_lines(2 + i)
    lines = r.wait_lines(6)
    assert r.stop() == 0
    check_exactly_once(lines)
    assert [l["verb"] for l in lines] == ["ADDED"] + ["UPDATED"] * 5
    for prev, cur in zip(lines, lines[1:]):
        assert cur["event"]["count"] == prev["event"]["count"] + 1
        assert cur["old_event"] == prev["event"], "old_event is the previous version"
    assert lines[-1]["event"]["count"] == 6
    api.stop()


def test_5000_events_over_pages():
    d, api, kc = setup("pages")
    api.add(5000, namespace="e")
    r = Router(d, "--kubeconfig", kc, "--state-file", os.path.join(d, "st"),
               "--page-limit", "97")
    lines = r.wait_lines(5000)
    more = api.add(3, namespace="e", reason="AfterList")
    lines = r.wait_lines(5003)
    assert r.stop() == 0
    by_uid = check_exactly_once(lines)
    assert len(by_uid) == 5003 and len(lines) == 5003
    assert sorted(names(lines)[-3:]) == sorted(more)
    assert api.stats()["list"] == 52  # ceil(5000 / 97) pages
    api.stop()


def test_skip_history():
    d, api, kc = setup("skip")
    api.add(5, namespace="f")
    r = Router(d, "--kubeconfig", kc, "--state-file", os.path.join(d, "st"), "--skip-history")
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch")
    new = api.add(2, namespace="f", reason="New")
    lines = r.wait_lines(2)
    assert r.stop() == 0
    assert names(lines) == new
    # a restart resumes: the skipped history stays skipped, later events come
    r = Router(d, "--kubeconfig", kc, "--state-file", os.path.join(d, "st"), "--skip-history",
               name="again")
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch again")
    later = api.add(1, namespace="f", reason="Later")
    lines = r.wait_lines(1)
    assert r.stop() == 0
    assert names(lines) == later
    api.stop()


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print("ok", name, flush=True)
