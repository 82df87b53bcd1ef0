# serve_connections_test.py -- idle and slow clients cost a socket, not the server
# (issue 10, finding 5; each case below failed on the thread-per-connection server):
#   - 300 idle connections do not keep a query from being answered (256 threads were
#     the cap, each held for 300 s);
#   - a client trickling its header one byte at a time is disconnected once the
#     header deadline passes, on a new connection and on a keep-alive one (the idle
#     timeout restarted with every byte); a body that stops halfway is disconnected
#     once the pause passes the body timeout (it used to wait 300 s);
#   - 10,000 idle sockets, from several loopback addresses to stay under the per-IP
#     cap, do not stop /ready from answering;
#   - the per-IP cap refuses the connections of one address past it, others still
#     connect.
# Bounded: every socket is closed before the next case, the server is stopped at the
# end; waits are on events (a reply, the end of a stream) with generous limits that
# only end the test if the server never does what it must.
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, fail, now_ns, push_json, request  # noqa: E402

WAIT = 20  # seconds a reply or a close may take before the test gives up


def connect(port, src="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(WAIT)  # a server that stopped accepting fails the test, not hangs it
    s.connect(("127.0.0.1", port))
    s.settimeout(None)
    return s


def get(port, path, src="127.0.0.1"):
    """One GET on a fresh connection from src; returns (status, body)."""
    s = connect(port, src)
    s.settimeout(WAIT)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 "), "no HTTP reply to %s: %r" % (path, data[:200]))
    return int(head[9:12]), body.decode("utf-8", "replace")


def closed_by_server(s, trickle=None):
    """Feed s one trickle byte every 0.2 s until the server ends the stream; returns
    the seconds it took, or fails after WAIT seconds."""
    s.settimeout(0.2)
    t0 = time.monotonic()
    while time.monotonic() - t0 < WAIT:
        try:
            if trickle:
                s.send(trickle)
            if s.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
    fail("the server kept a trickling connection open for %d s" % WAIT)


def metric(port, name):
    st, body = get(port, "/metrics")
    check(st == 200, "metrics: %d" % st)
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    fail("no metric %s" % name)


def idle_300(srv):
    idle = [connect(srv.port) for _ in range(300)]
    try:
        # a normal query, from the same address, while 300 connections sit idle
        st, body = request(srv.url + "/loki/api/v1/query_range?query=%7Bjob%3D%22c%22%7D"
                           "&start=0&end=" + str(now_ns()), timeout=WAIT)
        check(st == 200 and '"result"' in body, "query behind 300 idle connections: %d %s"
              % (st, body[:200]))
    finally:
        for s in idle:
            s.close()


def trickle(srv):
    # a new connection: the header never completes
    s = connect(srv.port)
    s.sendall(b"GET /ready HTTP/1.1\r\nHost: t\r\n")
    took = closed_by_server(s, b"X")
    s.close()
    print("trickled header on a new connection closed after %.1f s" % took)
    # a keep-alive connection: one request answered, then the next header trickles
    s = connect(srv.port)
    s.settimeout(WAIT)
    s.sendall(b"GET /ready HTTP/1.1\r\nHost: t\r\n\r\n")
    got = b""
    while b"ready" not in got:
        b = s.recv(4096)
        check(b, "keep-alive connection closed before its first reply")
        got += b
    s.sendall(b"GET /ready HTTP/1.1\r\n")
    took = closed_by_server(s, b"Y")
    s.close()
    print("trickled header on a keep-alive connection closed after %.1f s" % took)
    check(metric(srv.port, "cairn_http_connections_timed_out_total") >= 2,
          "timed-out connections not counted")


def body_pause(srv):
    # a body that stops arriving halfway: closed once the pause passes the body timeout
    s = connect(srv.port)
    s.sendall(b"POST /loki/api/v1/push HTTP/1.1\r\nHost: t\r\n"
              b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"streams\"")
    took = closed_by_server(s)
    s.close()
    print("paused body closed after %.1f s" % took)


def idle_10k(srv, n=10000, per_ip=1000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    check(hard == resource.RLIM_INFINITY or hard >= n + 200,
          "this test needs an open-file hard limit above %d (it is %d)" % (n + 200, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = []
    try:
        for i in range(n):
            socks.append(connect(srv.port, "127.0.0.%d" % (2 + i // per_ip)))
        # the server has taken every one of them (each is a connection, not a backlog
        # entry), and still answers
        deadline = time.monotonic() + WAIT
        while metric(srv.port, "cairn_http_connections") < n:
            check(time.monotonic() < deadline, "the server did not accept %d connections" % n)
            time.sleep(0.1)
        st, body = get(srv.port, "/ready", "127.0.0.1")
        check(st == 200 and body.strip() == "ready", "/ready with %d idle sockets: %d %s"
              % (n, st, body))
        rss = 0
        with open("/proc/%d/status" % srv.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        print("%d idle sockets: /ready answered, server RSS %.1f MiB" % (n, rss / 1024))
    finally:
        for s in socks:
            s.close()


def per_ip_cap(srv, cap):
    socks = [connect(srv.port, "127.0.0.200") for _ in range(cap)]
    try:
        # connected is not yet accepted: wait until the server holds exactly these (and
        # the /metrics connection asking), the 10,000 before them closed
        deadline = time.monotonic() + WAIT
        while metric(srv.port, "cairn_http_connections") != cap + 1:
            check(time.monotonic() < deadline, "the server did not settle at %d connections"
                  % (cap + 1))
            time.sleep(0.1)
        # one more from that address is closed at once, without a reply
        s = connect(srv.port, "127.0.0.200")
        s.sendall(b"GET /ready HTTP/1.1\r\nHost: t\r\n\r\n")
        s.settimeout(WAIT)
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        s.close()
        check(data == b"", "connection %d from one address was served: %r" % (cap + 1, data))
        st, _ = get(srv.port, "/ready", "127.0.0.201")
        check(st == 200, "another address refused while one is at its cap: %d" % st)
    finally:
        for s in socks:
            s.close()


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data"), "-server.http-header-timeout=2s",
                     "-server.http-body-timeout=2s",
                     "-server.http-max-connections-per-ip=1100").start()
        st, body = push_json(srv.url, [({"job": "c"}, [(now_ns(), "hello")])])
        check(st == 204, "push: %d %s" % (st, body))
        idle_300(srv)
        trickle(srv)
        body_pause(srv)
        check(srv.stop() == 0, "server exit status")

        # long deadlines: the idle sockets must still be there when /ready is asked
        srv = Server(os.path.join(d, "data"), "-server.http-header-timeout=120s",
                     "-server.http-max-connections-per-ip=1000").start()
        idle_10k(srv, 10000, 1000)
        per_ip_cap(srv, 1000)
        check(srv.stop() == 0, "server exit status")
    print("ok")


if __name__ == "__main__":
    main()
