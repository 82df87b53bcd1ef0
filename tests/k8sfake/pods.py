"""pods.py -- the Pod side of the fake API server (server.py): label selectors as the
API server reads them, Pod objects shaped like the kubelet reports them, and the rows
`kubectl get pods` shows. Python 3 stdlib only."""

import re
import uuid


def split_terms(sel):
    """Split a selector at commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return [t.strip() for t in out if t.strip()]


SET_RE = re.compile(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$")


def parse_label_selector(sel):
    """labelSelector -> [(key, op, values)]: =, ==, !=, in, notin, exists (key),
    !exists (!key), as the API server accepts them."""
    out = []
    for t in split_terms(sel or ""):
        m = SET_RE.match(t)
        if m:
            out.append((m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}))
        elif "!=" in t:
            k, v = t.split("!=", 1)
            out.append((k.strip(), "!=", {v.strip()}))
        elif "==" in t:
            k, v = t.split("==", 1)
            out.append((k.strip(), "=", {v.strip()}))
        elif "=" in t:
            k, v = t.split("=", 1)
            out.append((k.strip(), "=", {v.strip()}))
        elif t.startswith("!"):
            out.append((t[1:].strip(), "!exists", set()))
        else:
            out.append((t, "exists", set()))
    return out


def label_match(sel, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for k, op, vals in sel:
        has = k in labels
        v = labels.get(k)
        if op == "=" and not (has and v in vals):
            return False
        if op == "!=" and has and v in vals:
            return False
        if op == "in" and not (has and v in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


def make_pod(name, namespace="default", node="node-a", labels=None, annotations=None,
             containers=None, init_containers=None, ip="10.1.0.7", host_ip="192.168.0.10",
             phase="Running", ready=True, owner=None, uid=None):
    """A Pod as the API server returns it once the kubelet has reported it.
    containers: [{"name":..., "image":..., "ports": [...]}]; owner: (kind, name)."""
    containers = containers or [{"name": name.split("-")[0], "image": "busybox:1.36"}]
    init_containers = init_containers or []
    meta = {"name": name, "namespace": namespace, "uid": uid or str(uuid.uuid4()),
            "labels": labels or {}, "annotations": annotations or {},
            "creationTimestamp": "2026-12-07T10:00:00Z"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                    "uid": str(uuid.uuid4()), "controller": True}]

    def status_of(c, i):
        return {"name": c["name"], "image": c["image"], "ready": ready, "restartCount": 0,
                "containerID": "containerd://%064x" % (hash((name, c["name"], i)) & (2**256 - 1))}

    return {
        "kind": "Pod", "apiVersion": "v1", "metadata": meta,
        "spec": {"nodeName": node, "containers": containers, "initContainers": init_containers},
        "status": {
            "phase": phase, "podIP": ip, "hostIP": host_ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [status_of(c, i) for i, c in enumerate(containers)],
            "initContainerStatuses": [status_of(c, i) for i, c in enumerate(init_containers)],
        },
    }


POD_COLUMNS = [
    {"name": n, "type": "string", "format": "", "description": "", "priority": 0}
    for n in ("Name", "Ready", "Status", "Restarts", "Age")
]


def pod_row(o):
    cs = o.get("status", {}).get("containerStatuses", [])
    ready = sum(1 for c in cs if c.get("ready"))
    return {"cells": [o["metadata"]["name"], "%d/%d" % (ready, len(cs)),
                      o.get("status", {}).get("phase", ""), 0, "1h"],
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": o["metadata"]}}
