#!/usr/bin/env python3
# ship_syslog_test.py -- `cairn ship` with syslog scrape configs (TCP, UDP, TLS, mutual TLS)
# in front of a real `cairn serve`: messages sent by util-linux's `logger` (RFC 5424
# over TCP octet-counted and LF-framed, over UDP, RFC 3164 over UDP) and raw frames from
# Python arrive with the labels relabel_configs made from Promtail's __syslog_* labels;
# malformed frames (bad PRI, bad octet count, oversize) are counted on /metrics while
# the agent keeps receiving; a bad octet count closes only its own connection.
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import (BIN, Server, TempDir, check, query_lines, request,  # noqa: E402
                       run_main, wait_for)

_agents = []


def metric(hport, name):
    st, body = request("http://127.0.0.1:%d/metrics" % hport)
    check(st == 200, "/metrics: %d" % st)
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def logger(*args):
    r = subprocess.run(["logger", "-n", "127.0.0.1"] + list(args), capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0, "logger %r: %s" % (args, r.stderr))


def main():
    start = time.time_ns() - 10**9
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                        "/CN=localhost", "-days", "1", "-keyout", key, "-out", crt],
                       check=True, capture_output=True, timeout=60)
        relabel = """    relabel_configs:
      - {source_labels: [__syslog_message_hostname], target_label: host}
      - {source_labels: [__syslog_message_app_name], target_label: app}
      - {source_labels: [__syslog_message_severity], target_label: severity}
      - {source_labels: [__syslog_message_facility], target_label: facility}
      - {source_labels: [__syslog_message_proc_id], target_label: pid}
      - {source_labels: [__syslog_message_msg_id], target_label: msgid}
      - {source_labels: [__syslog_connection_ip_address], target_label: peer}
      - {source_labels: [__syslog_message_sd_order_32473_id], target_label: order}
"""
        cfg = os.path.join(d, "promtail.yaml")
        with open(cfg, "w") as f:
            f.write(f"""server:
  http_listen_port: 0
positions:
  filename: {d}/positions.yaml
clients:
  - url: {srv.url}/loki/api/v1/push
    batchwait: 50ms
scrape_configs:
  - job_name: syslog_tcp
    syslog:
      listen_address: 127.0.0.1:0
      label_structured_data: true
      max_message_length: 1024
      labels: {{job: syslog, transport: tcp}}
{relabel}  - job_name: syslog_udp
    syslog:
      listen_address: 127.0.0.1:0
      listen_protocol: udp
      labels: {{job: syslog, transport: udp}}
{relabel}  - job_name: syslog_tls
    syslog:
      listen_address: 127.0.0.1:0
      labels: {{job: syslog, transport: tls}}
      tls_config: {{cert_file: {crt}, key_file: {key}}}
{relabel}  - job_name: syslog_mtls
    syslog:
      listen_address: 127.0.0.1:0
      labels: {{job: syslog, transport: mtls}}
      tls_config: {{cert_file: {crt}, key_file: {key}, ca_file: {crt}}}
{relabel}""")
        ship = subprocess.Popen([BIN, "ship", "--config", cfg], stderr=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, text=True)
        _agents.append(ship)
        ports, hport = {}, None
        for line in ship.stderr:
            if "syslog listening" in line:
                kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
                ports[kv["job"]] = int(kv["port"])
            if "serving /ready" in line:
                hport = int(line.split("port=")[1].split()[0])
            if hport and len(ports) == 4:
                break
        check(hport and len(ports) == 4, "agent did not start: %r %r" % (hport, ports))
        log = []
        threading.Thread(target=lambda: log.extend(ship.stderr), daemon=True).start()
        tcp, udp, tls = ports["syslog_tcp"], ports["syslog_udp"], ports["syslog_tls"]
        mtls = ports["syslog_mtls"]

        # 1. logger: RFC 5424 over TCP, octet-counted and LF-framed; over UDP; 3164 over UDP
        logger("-P", str(tcp), "--rfc5424", "--tcp", "--octet-count", "-t", "billing",
               "-p", "local3.warning", "--msgid", "INV1", "--sd-id", "order@32473",
               "--sd-param", 'id="A\\"7\\]"', "octet counted via logger")
        logger("-P", str(tcp), "--rfc5424", "--tcp", "-t", "web", "-p", "user.info",
               "--id=4242", "newline framed via logger")
        logger("-P", str(udp), "--rfc5424", "--udp", "-t", "dns", "-p", "daemon.err",
               "datagram via logger")
        logger("-P", str(udp), "--rfc3164", "--udp", "-t", "old", "-p", "mail.notice",
               "bsd via logger")

        # 2. raw frames from Python, good ones around malformed ones on one connection
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            good1 = b"<165>1 2003-10-11T22:14:15.003Z web1 nginx 42 ID7 - raw octet one"
            s.sendall(b"%d %s" % (len(good1), good1))
            s.sendall(b"<999>1 - h a - - - bad pri\n")           # bad PRI
            s.sendall(b"<13>1 - h a - - [unclosed\n")             # bad structured data
            big = b"<13>1 - h a - - - " + b"x" * 1990
            s.sendall(b"%d %s" % (len(big), big))                  # oversize (max 1024)
            s.sendall(b"<34>Oct 11 22:14:15 mymachine su[123]: raw 3164 after the bad ones\n")
        # a bad octet count loses the framing: that connection is closed, only it
        bad = socket.create_connection(("127.0.0.1", tcp))
        bad.sendall(b"12x <13>1 - h a - - - lost\n")
        bad.settimeout(30)
        check(bad.recv(1) == b"", "connection with a bad octet count was not closed")
        bad.close()

        # 3. TLS
        ctx = ssl.create_default_context(cafile=crt)
        with socket.create_connection(("127.0.0.1", tls)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                m = b"<14>1 - secure app - - - over tls"
                s.sendall(b"%d %s" % (len(m), m))

        # 4. mutual TLS (ca_file): a client with a certificate the CA signed gets in (the
        # self-signed certificate is its own CA here); one without is refused
        ctx = ssl.create_default_context(cafile=crt)
        ctx.load_cert_chain(crt, key)
        with socket.create_connection(("127.0.0.1", mtls)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"<14>1 - secure app - - - over mutual tls\n")
        ctx = ssl.create_default_context(cafile=crt)
        try:
            with socket.create_connection(("127.0.0.1", mtls)) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    s.sendall(b"<14>1 - secure app - - - without a client certificate\n")
                    s.recv(1)  # TLS 1.3: the refusal arrives after the client's handshake
        except (ssl.SSLError, ConnectionError):
            pass
        wait_for(lambda: metric(hport, 'cairn_ship_syslog_tls_errors_total{job="syslog_mtls"}') == 1,
                 "the client without a certificate refused and counted (%r)" % metric(hport, 'cairn_ship_syslog_tls_errors_total{job="syslog_mtls"}'))

        want = {
            "octet counted via logger": {"transport": "tcp", "app": "billing",
                                         "severity": "warning", "facility": "local3",
                                         "msgid": "INV1", "order": 'A"7]', "host": socket.gethostname()},
            "newline framed via logger": {"transport": "tcp", "app": "web", "pid": "4242",
                                          "severity": "informational", "facility": "user"},
            "datagram via logger": {"transport": "udp", "app": "dns", "severity": "error",
                                    "facility": "daemon", "peer": "127.0.0.1"},
            "bsd via logger": {"transport": "udp", "app": "old", "severity": "notice",
                               "facility": "mail"},
            "raw octet one": {"transport": "tcp", "host": "web1", "app": "nginx", "pid": "42",
                              "msgid": "ID7", "severity": "notice", "facility": "local4",
                              "peer": "127.0.0.1"},
            "raw 3164 after the bad ones": {"transport": "tcp", "host": "mymachine", "app": "su",
                                            "pid": "123", "severity": "critical",
                                            "facility": "auth"},
            "over tls": {"transport": "tls", "host": "secure", "app": "app"},
            "over mutual tls": {"transport": "mtls", "host": "secure", "app": "app"},
        }
        got = {}

        def arrived():
            got.clear()
            for stream, line in query_lines(srv, '{job="syslog"}', start):
                got[line] = stream
            return all(k in got for k in want)

        wait_for(arrived, "syslog lines in cairn serve (got %r)" % got)
        for line, labels in want.items():
            stream = got[line]
            for k, v in labels.items():
                check(stream.get(k) == v, "%r: label %s=%r, want %r (stream %r)" %
                      (line, k, stream.get(k), v, stream))
            check(not any(k.startswith("__") for k in stream), "internal labels kept: %r" % stream)
        check(len(got) == len(want), "unexpected lines: %r" % sorted(set(got) - set(want)))

        # 4. the malformed ones were counted, and the agent kept running
        check(ship.poll() is None, "agent exited")
        mal = 'cairn_ship_syslog_malformed_total{job="syslog_tcp",reason="%s"}'
        check(metric(hport, mal % "parse") == 2, "parse errors: %r" % metric(hport, mal % "parse"))
        check(metric(hport, mal % "oversize") == 1, "oversize: %r" % metric(hport, mal % "oversize"))
        check(metric(hport, mal % "octet_count") == 1, "octet count")
        check(metric(hport, "promtail_syslog_target_parsing_errors_total") == 4, "promtail errors")
        check(metric(hport, "promtail_syslog_target_entries_total") == 8, "entries")
        logger("-P", str(tcp), "--rfc5424", "--tcp", "--octet-count", "still alive")
        wait_for(lambda: any(l == "still alive" for _, l in query_lines(srv, '{job="syslog"}', start)),
                 "a line after the malformed ones")

        ship.send_signal(signal.SIGTERM)
        check(ship.wait(timeout=30) == 0, "agent exit status; log:\n" + "".join(log))
        srv.stop()
    print("ok")


if __name__ == "__main__":
    run_main(main, _agents)
