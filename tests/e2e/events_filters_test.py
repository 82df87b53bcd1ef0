#!/usr/bin/env python3
"""events_filters_test.py -- what `cairn events` watches and emits: namespaces (one
watch each), type/reason/kind filters, a field selector, events.k8s.io/v1, the output
line shape, and /metrics and /ready on --listen."""

import os
import socket
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import FakeAPI, Router, check_exactly_once, kubeconfig, names, tmpdir, wait_until  # noqa: E402


def setup(tag):
    d = tmpdir("cairn-ev-" + tag + "-")
    api = FakeAPI("--bookmark-interval", "0.2")
    return d, api, kubeconfig(os.path.join(d, "kc"), api.url)


def test_namespaces_and_filters():
    d, api, kc = setup("filters")
    keep = api.add(2, namespace="payments", type="Warning", reason="BackOff", kind="Pod")
    api.add(1, namespace="payments", type="Normal", reason="BackOff", kind="Pod")
    api.add(1, namespace="payments", type="Warning", reason="Failed", kind="Pod")
    api.add(1, namespace="payments", type="Warning", reason="BackOff", kind="Node")
    keep += api.add(1, namespace="web", type="Warning", reason="BackOff", kind="Pod")
    api.add(2, namespace="other", type="Warning", reason="BackOff", kind="Pod")
    r = Router(d, "--kubeconfig", kc, "--state-file", os.path.join(d, "st"),
               "--namespace", "payments", "--namespace", "web", "--type", "Warning",
               "--reason", "BackOff", "--reason", "Unhealthy", "--kind", "Pod")
    r.wait_lines(3)
    wait_until(lambda: api.stats()["watch_active"] >= 2, "a watch per namespace")
    keep += api.add(1, namespace="web", type="Warning", reason="Unhealthy", kind="Pod")
    api.add(1, namespace="other", type="Warning", reason="Unhealthy", kind="Pod")
    lines = r.wait_lines(4)
    assert r.stop() == 0
    check_exactly_once(lines)
    assert sorted(names(r.lines())) == sorted(keep)


def test_field_selector_goes_to_the_server():
    d, api, kc = setup("fieldsel")
    keep = api.add(2, namespace="a", type="Warning")
    api.add(3, namespace="a", type="Normal")
    r = Router(d, "--kubeconfig", kc, "--state-file", "", "--field-selector", "type=Warning")
    r.wait_lines(2)
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch")
    api.add(1, namespace="a", type="Normal")
    keep += api.add(1, namespace="a", type="Warning")
    lines = r.wait_lines(3)
    assert r.stop() == 0
    assert sorted(names(lines)) == sorted(keep)


def test_events_k8s_io_and_line_shape():
    d, api, kc = setup("v1")
    first = api.add(1, namespace="a", reason="Created", component="kubelet")
    r = Router(d, "--kubeconfig", kc, "--state-file", "", "--api", "events.k8s.io")
    r.wait_lines(1)
    api.ctl("update", namespace="a", name=first[0])
    lines = r.wait_lines(2)
    assert r.stop() == 0
    assert set(lines[0]) == {"verb", "event"} and lines[0]["verb"] == "ADDED"
    assert set(lines[1]) == {"verb", "event", "old_event"} and lines[1]["verb"] == "UPDATED"
    ev = lines[1]["event"]
    assert ev["apiVersion"] == "events.k8s.io/v1" and ev["kind"] == "Event"
    assert ev["regarding"]["kind"] == "Pod" and ev["reportingController"] == "kubelet"
    assert ev["deprecatedCount"] == 2 and lines[1]["old_event"]["deprecatedCount"] == 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def test_metrics_and_ready():
    d, api, kc = setup("metrics")
    api.add(3, namespace="a", type="Warning", reason="BackOff")
    api.add(1, namespace="a", type="Normal", reason="Pulled")
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    r = Router(d, "--kubeconfig", kc, "--state-file", "", "--listen", "127.0.0.1:%d" % port)
    r.wait_lines(4)
    wait_until(lambda: get(base + "/ready")[0] == 200, "/ready")
    api.ctl("compact", drop=True)
    api.add(1, namespace="a", type="Normal", reason="Pulled")
    r.wait_lines(5)
    wait_until(lambda: "cairn_events_relists_total 1" in get(base + "/metrics")[1], "a relist")
    code, text = get(base + "/metrics")
    assert code == 200
    assert 'cairn_events_emitted_total{type="Warning",reason="BackOff"} 3' in text, text
    assert 'cairn_events_emitted_total{type="Normal",reason="Pulled"} 2' in text, text
    restarts = [l for l in text.splitlines() if l.startswith("cairn_events_watch_restarts_total ")]
    assert int(restarts[0].split()[1]) >= 1, text  # the drop, then the watch after the relist
    assert "cairn_events_sink_errors_total 0" in text
    assert "cairn_events_last_event_age_seconds " in text and "cairn_events_ready 1" in text
    assert get(base + "/nope")[0] == 404
    assert r.stop() == 0
    # resumed from a state file (no list): ready as soon as the watch is open
    state = os.path.join(d, "st")
    r = Router(d, "--kubeconfig", kc, "--state-file", state, name="first")
    r.wait_lines(5)
    assert r.stop() == 0
    lists = api.stats()["list"]
    r = Router(d, "--kubeconfig", kc, "--state-file", state, "--listen",
               "127.0.0.1:%d" % port, name="resumed")
    wait_until(lambda: get(base + "/ready")[0] == 200, "/ready after resuming")
    assert api.stats()["list"] == lists and api.stats()["watch_active"] >= 1
    assert r.stop() == 0 and r.lines() == []


def test_bad_flags_are_named():
    d = tmpdir("cairn-ev-flags-")
    import subprocess
    from harness import CAIRN
    # every command words option errors alike: "option --api: 'batch' is not one of ..."
    for args, want in ((["--api", "batch"], "option --api: 'batch'"),
                       (["--output", "kafka"], "option --output: 'kafka'"),
                       (["--output", "push"], "--push-url"),
                       (["--bogus"], "unknown option '--bogus'"),
                       (["--namespce", "x"], "did you mean --namespace?"),
                       (["--kubeconfig", os.path.join(d, "missing")], "missing")):
        p = subprocess.run([CAIRN, "events", *args], capture_output=True, text=True, cwd=d,
                           env={"HOME": d, "PATH": os.environ.get("PATH", "")})
        assert p.returncode != 0 and want in p.stderr, (args, p.stderr)
    # no kubeconfig anywhere and not in a cluster
    p = subprocess.run([CAIRN, "events"], capture_output=True, text=True, cwd=d,
                       env={"HOME": d, "PATH": os.environ.get("PATH", "")})
    assert p.returncode != 0 and "KUBERNETES_SERVICE_HOST" in p.stderr, p.stderr


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print("ok", name, flush=True)
