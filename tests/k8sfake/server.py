#!/usr/bin/env python3
"""server.py -- a fake Kubernetes API server for Events (Python 3 stdlib only).

Serves core/v1 and events.k8s.io/v1 Events the way kube-apiserver does, enough for
`cairn events` and for `kubectl get events -A [-w]`:
  * list with pagination (limit, continue) and a list resourceVersion;
  * watch (?watch=1&resourceVersion=&allowWatchBookmarks=true&timeoutSeconds=) as a
    chunked stream of JSON watch events, one per line, with BOOKMARK events;
  * 410 Gone: a watch from a compacted resourceVersion gets an ERROR event carrying a
    Status with code 410 (as the real server does), a too-old continue token a 410 reply;
  * abrupt disconnects, also in the middle of an object (scriptable);
  * TLS with its own CA (gen-certs makes one with the openssl CLI), bearer tokens,
    basic auth and client certificates;
  * discovery (/api, /apis, /version, /api/v1, /apis/events.k8s.io/v1) and Table
    output, which kubectl asks for.

A second plain-HTTP port on 127.0.0.1 takes control commands as JSON POSTs to
/control: {"op": "add"|"gen"|"update"|"delete"|"compact"|"drop"|"stats"|"http410"|
"set_token", ...}. On start the server prints one JSON line to stdout:
{"port": N, "control_port": M, "url": "https://127.0.0.1:N"}.

Usage:
  server.py gen-certs DIR
  server.py serve [--tls-dir DIR] [--token T] [--basic U:P] [--client-ca]
                  [--bookmark-interval S] [--port P]
"""

import argparse
import base64
import bisect
import datetime
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pods  # noqa: E402


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


# --- certificates ------------------------------------------------------------------

def gen_certs(d):
    """CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)

    def run(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.crt", "-days", "2", "-subj", "/CN=cairn-fake-ca")
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.fake\n"
                "extendedKeyUsage=serverAuth\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
        "server.csr", "-subj", "/CN=kube-apiserver")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", ext)
    cext = os.path.join(d, "client.ext")
    with open(cext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out",
        "client.csr", "-subj", "/CN=cairn-tester/O=system:masters")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "client.crt", "-days", "2", "-extfile", cext)


# --- the event store -----------------------------------------------------------------

class Store:
    """Events keyed by (namespace, name); a history of watch events by resourceVersion.

    Every object is kept with its JSON bytes, serialized once when it changes, so lists
    and watches at benchmark rates only join bytes."""

    def __init__(self, kind="Event"):
        self.kind = kind           # "Event" or "Pod"
        self.cond = threading.Condition()
        self.rv = 1000
        self.min_rv = 0            # watches from below this get 410 (compaction)
        self.items = {}            # (ns, name) -> obj
        self.item_json = {}        # (ns, name) -> core/v1 JSON bytes of obj
        self._sorted = None        # sorted keys of items, None when stale
        self.history = []          # [(rv, type, obj, line_core, line_events)]
        self.history_rvs = []
        self.seq = 0
        self.stats = {"list": 0, "watch": 0, "watch_active": 0, "gone": 0, "drops": 0}
        self.drop_mid_next = False
        self.http410_next = 0
        self.generation = 0        # bumped by "drop": streams of older generations end

    def sorted_keys(self):
        if self._sorted is None:
            self._sorted = sorted(self.items)
        return self._sorted

    def _record(self, typ, obj):
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if typ == "DELETED":
            self.item_json.pop(key, None)
        else:
            # list items come without kind/apiVersion, as from the real server
            self.item_json[key] = json.dumps(
                {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")},
                separators=(",", ":")).encode()
        if typ != "MODIFIED":
            self._sorted = None
        line_core = (json.dumps({"type": typ, "object": obj}, separators=(",", ":")) +
                     "\n").encode()
        line_ev = line_core if self.kind != "Event" else (json.dumps(
            {"type": typ, "object": to_events_v1(obj)}, separators=(",", ":")) + "\n").encode()
        self.history.append((self.rv, typ, obj, line_core, line_ev))
        self.history_rvs.append(self.rv)

    def add(self, spec):
        with self.cond:
            self.rv += 1
            self.seq += 1
            ns = spec.get("namespace", "default")
            kind = spec.get("kind", "Pod")
            obj_name = spec.get("object", "obj-%d" % self.seq)
            name = spec.get("name", "%s.%x" % (obj_name, self.seq))
            ts = spec.get("timestamp", now_rfc3339())
            obj = {
                "kind": "Event", "apiVersion": "v1",
                "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                             "resourceVersion": str(self.rv), "creationTimestamp": ts},
                "involvedObject": {"kind": kind, "namespace": ns, "name": obj_name,
                                   "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, obj_name)),
                                   "apiVersion": "v1"},
                "reason": spec.get("reason", "Scheduled"),
                "message": spec.get("message", "event %d for %s" % (self.seq, obj_name)),
                "source": {"component": spec.get("component", "default-scheduler")},
                "firstTimestamp": ts, "lastTimestamp": ts,
                "count": 1, "type": spec.get("type", "Normal"),
                "eventTime": None, "reportingComponent": spec.get("component", ""),
                "reportingInstance": "",
            }
            self.items[(ns, name)] = obj
            self._record("ADDED", obj)
            self.cond.notify_all()
            return obj

    def update(self, ns, name, message=None):
        with self.cond:
            old = self.items.get((ns, name))
            if old is None:
                return None
            self.rv += 1
            obj = json.loads(json.dumps(old))
            obj["count"] = old.get("count", 1) + 1
            obj["lastTimestamp"] = now_rfc3339()
            if message:
                obj["message"] = message
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.items[(ns, name)] = obj
            self._record("MODIFIED", obj)
            self.cond.notify_all()
            return obj

    def delete(self, ns, name):
        with self.cond:
            old = self.items.pop((ns, name), None)
            if old is None:
                return None
            self.rv += 1
            obj = json.loads(json.dumps(old))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._record("DELETED", obj)
            self.cond.notify_all()
            return obj

    def put(self, obj):
        """Add or replace any object (pods): ADDED or MODIFIED."""
        with self.cond:
            self.rv += 1
            md = obj.setdefault("metadata", {})
            md.setdefault("namespace", "default")
            md.setdefault("uid", str(uuid.uuid4()))
            md["resourceVersion"] = str(self.rv)
            key = (md["namespace"], md["name"])
            typ = "MODIFIED" if key in self.items else "ADDED"
            self.items[key] = obj
            self._record(typ, obj)
            self.cond.notify_all()
            return obj

    def compact(self):
        """Forget history: any watch or continue from before now gets 410."""
        with self.cond:
            self.min_rv = self.rv + 1
            self.history = []
            self.history_rvs = []
            self.cond.notify_all()


def to_events_v1(o):
    """The events.k8s.io/v1 view of a core/v1 Event."""
    if o is None:
        return None
    return {
        "kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": o["metadata"],
        "eventTime": o.get("eventTime"), "reportingController": o["source"]["component"],
        "reportingInstance": o.get("reportingInstance", ""), "action": "",
        "reason": o["reason"], "regarding": o["involvedObject"], "note": o["message"],
        "type": o["type"], "deprecatedSource": o["source"],
        "deprecatedFirstTimestamp": o["firstTimestamp"],
        "deprecatedLastTimestamp": o["lastTimestamp"], "deprecatedCount": o["count"],
    }


def field_get(obj, path):
    for p in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def parse_selector(sel):
    """fieldSelector "a=b,c!=d" -> [(path, op, value)]; unknown fields are kept as is."""
    out = []
    if not sel:
        return out
    for term in sel.split(","):
        if "!=" in term:
            k, v = term.split("!=", 1)
            out.append((k, "!=", v))
        elif "==" in term:
            k, v = term.split("==", 1)
            out.append((k, "=", v))
        elif "=" in term:
            k, v = term.split("=", 1)
            out.append((k, "=", v))
    return out


def selector_match(sel, obj):
    for k, op, v in sel:
        got = field_get(obj, k)
        got = "" if got is None else str(got)
        if (op == "=") != (got == v):
            return False
    return True


# --- tables for kubectl ----------------------------------------------------------------

TABLE_COLUMNS = [
    {"name": "Last Seen", "type": "string", "format": "", "description": "", "priority": 0},
    {"name": "Type", "type": "string", "format": "", "description": "", "priority": 0},
    {"name": "Reason", "type": "string", "format": "", "description": "", "priority": 0},
    {"name": "Object", "type": "string", "format": "", "description": "", "priority": 0},
    {"name": "Message", "type": "string", "format": "", "description": "", "priority": 0},
]


def table_row(o):
    io = o["involvedObject"]
    return {"cells": [o["lastTimestamp"], o["type"],
                      o["reason"], "%s/%s" % (io["kind"].lower(), io["name"]),
                      o["message"]],
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": o["metadata"]}}


def table(objs, rv, with_columns=True, kind="Event"):
    row, cols = (pods.pod_row, pods.POD_COLUMNS) if kind == "Pod" else (table_row, TABLE_COLUMNS)
    t = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
         "metadata": {"resourceVersion": rv}, "rows": [row(o) for o in objs]}
    t["columnDefinitions"] = cols if with_columns else None
    return t


# --- HTTP ------------------------------------------------------------------------------

class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cairn-k8sfake/1"

    def log_message(self, fmt, *args):
        if self.server.cfg.verbose:
            sys.stderr.write("k8sfake: " + (fmt % args) + "\n")

    def send_json(self, code, obj, ctype="application/json"):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        cfg = self.server.cfg
        if not cfg.token and not cfg.basic and not cfg.client_ca:
            return True
        auth = self.headers.get("Authorization", "")
        if cfg.token and auth == "Bearer " + cfg.token:
            return True
        if cfg.basic and auth == "Basic " + base64.b64encode(cfg.basic.encode()).decode():
            return True
        if cfg.client_ca and isinstance(self.connection, ssl.SSLSocket):
            cert = self.connection.getpeercert()
            if cert:  # verified against the CA by the TLS layer
                return True
        return False

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        path = url.path.rstrip("/")
        if not self.authorized():
            self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
            return
        if path == "/version":
            self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake",
                                 "platform": "linux/amd64"})
        elif path == "/api":
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                 "serverAddressByClientCIDRs": [
                                     {"clientCIDR": "0.0.0.0/0",
                                      "serverAddress": "127.0.0.1"}]})
        elif path == "/apis":
            gv = {"groupVersion": "events.k8s.io/v1", "version": "v1"}
            self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": "events.k8s.io", "versions": [gv], "preferredVersion": gv}]})
        elif path == "/api/v1":
            self.send_json(200, resource_list("v1"))
        elif path == "/apis/events.k8s.io/v1":
            self.send_json(200, resource_list("events.k8s.io/v1"))
        else:
            target = route(path)
            if target is None:
                self.send_json(404, status(404, "NotFound", "the server could not find "
                                           "the requested resource"))
                return
            group, ns, name, self.res = target
            if name is not None:
                self.get_one(group, ns, name)
            elif q.get("watch") in ("1", "true"):
                self.watch(group, ns, q)
            else:
                self.list(group, ns, q)

    def get_one(self, group, ns, name):
        st = self.server.stores[self.res]
        with st.cond:
            o = st.items.get((ns, name))
        if o is None:
            self.send_json(404, status(404, "NotFound", 'events "%s" not found' % name))
        else:
            self.send_json(200, o if group == "v1" else to_events_v1(o))

    def wants_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    def list(self, group, ns, q):
        st = self.server.stores[self.res]
        sel = parse_selector(q.get("fieldSelector", ""))
        lsel = pods.parse_label_selector(q.get("labelSelector", ""))
        limit = int(q.get("limit", "0") or 0)
        cont = q.get("continue", "")
        with st.cond:
            st.stats["list"] += 1
            if cont:
                c = json.loads(base64.b64decode(cont))
                list_rv, start = c["rv"], tuple(c["start"])
                if list_rv < st.min_rv:
                    st.stats["gone"] += 1
                    body = status(410, "Expired", "The provided continue parameter is too "
                                  "old to display a consistent list result.")
                    self.send_json(410, body)
                    return
            else:
                list_rv, start = st.rv, None
            keys = st.sorted_keys()
            lo = 0 if start is None else bisect.bisect_right(keys, start)
            if ns is not None:
                lo = max(lo, bisect.bisect_left(keys, (ns, "")))
            objs = []
            next_key = None
            for i in range(lo, len(keys)):
                k = keys[i]
                if ns is not None and k[0] != ns:
                    break
                o = st.items[k]
                if sel and not selector_match(sel, o):
                    continue
                if lsel and not pods.label_match(lsel, o):
                    continue
                if limit and len(objs) == limit:
                    next_key = objs[-1]["metadata"]["namespace"], objs[-1]["metadata"]["name"]
                    break
                objs.append(o)
            if group == "v1" and not self.wants_table():
                parts = [st.item_json[(o["metadata"]["namespace"], o["metadata"]["name"])]
                         for o in objs]
            else:
                parts = None
                body_items = [o if group == "v1" else to_events_v1(o) for o in objs]
        meta = {"resourceVersion": str(list_rv)}
        if next_key is not None:
            meta["continue"] = base64.b64encode(json.dumps(
                {"rv": list_rv, "start": list(next_key)}).encode()).decode()
        if self.wants_table():
            t = table(objs, str(list_rv), kind=st.kind)
            t["metadata"] = meta
            self.send_json(200, t, "application/json")
            return
        if parts is not None:
            # items as stored bytes: lists at benchmark rates without re-encoding
            body = (b'{"kind":"' + st.kind.encode() + b'List","apiVersion":"v1","metadata":' +
                    json.dumps(meta, separators=(",", ":")).encode() + b',"items":[' +
                    b",".join(parts) + b"]}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_json(200, {"kind": st.kind + "List",
                             "apiVersion": "v1" if group == "v1" else group,
                             "metadata": meta, "items": body_items})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def abort(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def watch(self, group, ns, q):
        st = self.server.stores[self.res]
        cfg = self.server.cfg
        sel = parse_selector(q.get("fieldSelector", ""))
        lsel = pods.parse_label_selector(q.get("labelSelector", ""))
        rv_s = q.get("resourceVersion", "")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        timeout = float(q.get("timeoutSeconds", "0") or 0) or 1800.0
        deadline = time.monotonic() + timeout
        as_table = self.wants_table()
        with st.cond:
            st.stats["watch"] += 1
            if st.http410_next > 0:
                st.http410_next -= 1
                st.stats["gone"] += 1
                self.send_json(410, status(410, "Expired", "too old resource version"))
                return
            gen = st.generation
            initial = []
            if rv_s in ("", "0"):
                # "any": synthetic ADDED for the current state, then changes.
                initial = [o for k, o in sorted(st.items.items())
                           if ns is None or k[0] == ns]
                from_rv = st.rv
                gone = False
            else:
                from_rv = int(rv_s)
                gone = from_rv < st.min_rv
            st.stats["watch_active"] += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if gone:
                with st.cond:
                    st.stats["gone"] += 1
                ev = {"type": "ERROR", "object": status(
                    410, "Expired", "too old resource version: %d (%d)" % (from_rv,
                                                                           st.min_rv))}
                self.chunk(json.dumps(ev).encode() + b"\n")
                self.chunk(b"")
                return
            for o in initial:
                if selector_match(sel, o) and pods.label_match(lsel, o):
                    self.chunk(self.encode("ADDED", o, group, as_table))
            last_bm = time.monotonic()
            pos = None
            while True:
                out = []
                mid = False
                with st.cond:
                    if pos is None:
                        pos = bisect.bisect_right(st.history_rvs, from_rv)
                    if pos > len(st.history):  # compacted under us
                        pos = len(st.history)
                    while pos == len(st.history) and st.generation == gen:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        wait = min(left, cfg.bookmark_interval - (time.monotonic() -
                                                                  last_bm))
                        if wait <= 0:
                            break
                        st.cond.wait(wait)
                    if st.generation != gen:
                        st.stats["drops"] += 1
                        break
                    batch = st.history[pos:pos + 512]
                    pos += len(batch)
                    if batch and st.drop_mid_next:
                        st.drop_mid_next = False
                        mid = True
                    cur_rv = st.rv
                for rv, typ, o, lc, le in batch:
                    if not (ns is None or o["metadata"]["namespace"] == ns):
                        continue
                    if not selector_match(sel, o) or not pods.label_match(lsel, o):
                        continue
                    if as_table:
                        out.append(self.encode(typ, o, group, True))
                    else:
                        out.append(lc if group == "v1" else le)
                if mid:
                    data = b"".join(out) or batch[0][3]
                    self.chunk(data[:max(1, len(data) // 2)])
                    self.wfile.flush()
                    with st.cond:
                        st.stats["drops"] += 1
                    self.abort()
                    return
                if out:
                    self.chunk(b"".join(out))
                now = time.monotonic()
                if now >= deadline:
                    break
                if bookmarks and now - last_bm >= cfg.bookmark_interval:
                    last_bm = now
                    self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": st.kind, "apiVersion": "v1" if group == "v1" else group,
                        "metadata": {"resourceVersion": str(cur_rv)}}}).encode() + b"\n")
            if st.generation != gen:
                self.abort()  # "drop": the connection dies without a last chunk
                return
            self.chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with st.cond:
                st.stats["watch_active"] -= 1

    def encode(self, typ, o, group, as_table):
        if as_table:
            obj = table([o], o["metadata"]["resourceVersion"], with_columns=False,
                        kind=self.server.stores[self.res].kind)
        else:
            obj = o if group == "v1" else to_events_v1(o)
        return json.dumps({"type": typ, "object": obj}, separators=(",", ":")).encode() + b"\n"


def resource_list(gv):
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update",
             "watch"]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [{"name": "events", "singularName": "event", "namespaced": True,
                           "kind": "Event", "verbs": verbs, "shortNames": ["ev"]}] +
            ([{"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
               "verbs": verbs, "shortNames": ["po"]}] if gv == "v1" else [])}


def route(path):
    """-> (group, namespace or None, name or None, resource) for the Events and Pods
    resource paths."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        group, rest = "v1", parts[2:]
    elif parts[:3] == ["apis", "events.k8s.io", "v1"]:
        group, rest = "events.k8s.io/v1", parts[3:]
    else:
        return None
    kinds = ("events", "pods") if group == "v1" else ("events",)
    if len(rest) == 1 and rest[0] in kinds:
        return group, None, None, rest[0]
    if len(rest) in (3, 4) and rest[0] == "namespaces" and rest[2] in kinds:
        return group, rest[1], rest[3] if len(rest) == 4 else None, rest[2]
    return None


class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        st = self.server.stores[req.get("resource", "events")]
        op = req.get("op")
        res = {"ok": True}
        if op == "add":
            res["events"] = [st.add(s) for s in req.get("events", [{}])]
        elif op == "gen":
            base = {k: v for k, v in req.items() if k not in ("op", "n")}
            objs = [st.add(dict(base)) for _ in range(int(req.get("n", 1)))]
            res["first"] = objs[0]["metadata"]["name"] if objs else None
            res["names"] = [o["metadata"]["name"] for o in objs] if req.get("names") else None
        elif op == "update":
            res["event"] = st.update(req.get("namespace", "default"), req["name"],
                                     req.get("message"))
        elif op == "delete":
            res["event"] = st.delete(req.get("namespace", "default"), req["name"])
        elif op == "pod_put":
            st = self.server.stores["pods"]
            res["pod"] = st.put(req["pod"])
        elif op == "pod_delete":
            st = self.server.stores["pods"]
            res["pod"] = st.delete(req.get("namespace", "default"), req["name"])
        elif op == "compact":
            st.compact()
            if req.get("drop"):
                with st.cond:
                    st.generation += 1
                    st.cond.notify_all()
        elif op == "drop":
            with st.cond:
                if req.get("mid"):
                    st.drop_mid_next = True
                else:
                    st.generation += 1
                st.cond.notify_all()
        elif op == "set_token":
            self.server.api_cfg.token = req["token"]
        elif op == "http410":
            with st.cond:
                st.http410_next = int(req.get("n", 1))
        elif op == "stats":
            with st.cond:
                res["stats"] = dict(st.stats, rv=st.rv, items=len(st.items))
        else:
            res = {"ok": False, "error": "unknown op %r" % op}
        body = json.dumps(res).encode()
        self.send_response(200 if res.get("ok") else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def serve(args):
    stores = {"events": Store(), "pods": Store("Pod")}
    store = stores["events"]
    api = Server(("127.0.0.1", args.port), Api)
    api.cfg = args
    api.store = store
    api.stores = stores
    scheme = "http"
    if args.tls_dir:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(args.tls_dir, "server.crt"),
                            os.path.join(args.tls_dir, "server.key"))
        if args.client_ca:
            ctx.load_verify_locations(os.path.join(args.tls_dir, "ca.crt"))
            ctx.verify_mode = ssl.CERT_OPTIONAL
        api.socket = ctx.wrap_socket(api.socket, server_side=True)
        scheme = "https"
    ctl = Server(("127.0.0.1", 0), Control)
    ctl.store = store
    ctl.stores = stores
    ctl.api_cfg = args
    for s in (api, ctl):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    port = api.server_address[1]
    print(json.dumps({"port": port, "control_port": ctl.server_address[1],
                      "url": "%s://127.0.0.1:%d" % (scheme, port)}), flush=True)
    try:
        # Runs until stdin closes (the test went away) or a signal arrives.
        while sys.stdin.read(4096):
            pass
        if args.stay:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass


def main():
    p = argparse.ArgumentParser(description="fake Kubernetes API server for Events")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen-certs")
    g.add_argument("dir")
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--tls-dir")
    s.add_argument("--token")
    s.add_argument("--basic")
    s.add_argument("--client-ca", action="store_true")
    s.add_argument("--bookmark-interval", type=float, default=1.0)
    s.add_argument("--stay", action="store_true", help="keep running when stdin closes")
    s.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    if args.cmd == "gen-certs":
        gen_certs(args.dir)
    else:
        serve(args)


if __name__ == "__main__":
    main()
