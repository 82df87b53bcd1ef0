#!/usr/bin/env python3
"""events_auth_test.py -- `cairn events` over TLS with the fake API server's own CA:
bearer token, client certificates (files and -data), basic auth, an exec credential
plugin, in-cluster service account files with a rotating token, and a wrong token
(401: retried, never emits)."""

import os
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import (FakeAPI, Router, check_exactly_once, gen_certs, kubeconfig, names,  # noqa: E402
                     tmpdir, wait_until)

CERTS = gen_certs(os.path.join(tmpdir("cairn-ev-certs-"), "pki"))
CA = os.path.join(CERTS, "ca.crt")


def run_one(d, api, kc, extra_env=None, *args):
    want = api.add(2, namespace="auth")
    r = Router(d, "--kubeconfig", kc, "--state-file", os.path.join(d, "st"), *args,
               env=extra_env)
    r.wait_lines(2)
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch")
    want += api.add(1, namespace="auth", reason="Watched")
    lines = r.wait_lines(3)
    assert r.stop() == 0
    check_exactly_once(lines)
    assert sorted(names(lines)) == sorted(want)
    return r


def test_tls_ca_and_bearer_token():
    d = tmpdir("cairn-ev-tok-")
    api = FakeAPI("--tls-dir", CERTS, "--token", "s3cret")
    run_one(d, api, kubeconfig(os.path.join(d, "kc"), api.url, ca=CA, token="s3cret"))
    api.stop()


def test_ca_data_and_client_cert_files():
    d = tmpdir("cairn-ev-cert-")
    api = FakeAPI("--tls-dir", CERTS, "--client-ca")
    kc = kubeconfig(os.path.join(d, "kc"), api.url, ca_data=CA,
                    cert=os.path.join(CERTS, "client.crt"), key=os.path.join(CERTS, "client.key"))
    run_one(d, api, kc)
    api.stop()


def test_client_cert_data():
    d = tmpdir("cairn-ev-certdata-")
    api = FakeAPI("--tls-dir", CERTS, "--client-ca")
    kc = kubeconfig(os.path.join(d, "kc"), api.url, ca=CA,
                    cert_data=os.path.join(CERTS, "client.crt"),
                    key_data=os.path.join(CERTS, "client.key"))
    run_one(d, api, kc)
    api.stop()


def test_basic_auth_and_kubeconfig_env():
    d = tmpdir("cairn-ev-basic-")
    api = FakeAPI("--tls-dir", CERTS, "--basic", "admin:pa55")
    kc = kubeconfig(os.path.join(d, "kc"), api.url, ca=CA,
                    user_extra="    username: admin\n    password: pa55")
    # found through $KUBECONFIG (after a file that does not exist), not --kubeconfig
    want = api.add(1, namespace="auth")
    r = Router(d, "--state-file", "", env={"KUBECONFIG": os.path.join(d, "nope") + ":" + kc})
    lines = r.wait_lines(1)
    assert r.stop() == 0
    assert names(lines) == want
    api.stop()


def test_exec_plugin():
    d = tmpdir("cairn-ev-exec-")
    api = FakeAPI("--tls-dir", CERTS, "--token", "from-plugin")
    plugin = os.path.join(d, "cred.sh")
    with open(plugin, "w") as f:
        f.write('#!/bin/sh\n[ "$1" = "--cluster" ] && [ "$FAKE_ENV" = "yes" ] || exit 3\n'
                'echo run >> "%s/runs"\n'
                'printf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":'
                '"ExecCredential","status":{"token":"from-plugin",'
                '"expirationTimestamp":"2099-01-01T00:00:00Z"}}\'\n' % d)
    os.chmod(plugin, stat.S_IRWXU)
    extra = ("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
             "      command: ./cred.sh\n      args: [\"--cluster\", \"fake\"]\n"
             "      env:\n      - name: FAKE_ENV\n        value: \"yes\"\n")
    kc = kubeconfig(os.path.join(d, "kc"), api.url, ca=CA, user_extra=extra)
    run_one(d, api, kc)
    with open(os.path.join(d, "runs")) as f:
        assert f.read().count("run") == 1, "a credential valid till 2099 is not fetched again"
    api.stop()


def test_in_cluster_with_token_rotation():
    d = tmpdir("cairn-ev-incluster-")
    sa = os.path.join(d, "sa")
    os.makedirs(sa)
    for name, text in (("token", "tok-1\n"), ("namespace", "auth\n")):
        with open(os.path.join(sa, name), "w") as f:
            f.write(text)
    with open(CA) as src, open(os.path.join(sa, "ca.crt"), "w") as dst:
        dst.write(src.read())
    api = FakeAPI("--tls-dir", CERTS, "--token", "tok-1")
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(api.port)}
    want = api.add(2, namespace="auth")
    r = Router(d, "--serviceaccount-dir", sa, "--state-file", "", env=env)
    r.wait_lines(2)
    # the token rotates: the server takes only the new one, the file has it, the
    # running watch is cut; the router must re-read the file to get back in
    api.ctl("set_token", token="tok-2")
    with open(os.path.join(sa, "token.new"), "w") as f:
        f.write("tok-2-longer\n")
    api.ctl("set_token", token="tok-2-longer")
    os.rename(os.path.join(sa, "token.new"), os.path.join(sa, "token"))
    api.ctl("drop")
    want += api.add(1, namespace="auth", reason="AfterRotation")
    lines = r.wait_lines(3)
    assert r.stop() == 0
    assert "using in-cluster config" in r.log()
    check_exactly_once(lines)
    assert sorted(names(lines)) == sorted(want)
    api.stop()


def test_wrong_token_is_retried_not_fatal():
    d = tmpdir("cairn-ev-401-")
    api = FakeAPI("--tls-dir", CERTS, "--token", "right")
    kc = kubeconfig(os.path.join(d, "kc"), api.url, ca=CA, token="wrong")
    api.add(1, namespace="auth")
    r = Router(d, "--kubeconfig", kc, "--state-file", "")
    wait_until(lambda: r.log().count("list failed") >= 2, "two failed lists")
    assert r.p.poll() is None, "keeps running"
    assert r.stop() == 0
    assert r.lines() == []
    assert "http=401" in r.log()
    api.stop()


def test_untrusted_server_is_refused():
    d = tmpdir("cairn-ev-untrusted-")
    api = FakeAPI("--tls-dir", CERTS, "--token", "t")
    kc = kubeconfig(os.path.join(d, "kc"), api.url, token="t")  # no CA: system store only
    api.add(1)
    r = Router(d, "--kubeconfig", kc, "--state-file", "")
    wait_until(lambda: "list failed" in r.log(), "a failed list")
    assert r.stop() == 0
    assert r.lines() == []
    # and insecure-skip-tls-verify lets it through
    kc = kubeconfig(os.path.join(d, "kc2"), api.url, token="t", insecure=True)
    r = Router(d, "--kubeconfig", kc, "--state-file", "", name="out2")
    r.wait_lines(1)
    assert r.stop() == 0
    api.stop()


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print("ok", name, flush=True)
