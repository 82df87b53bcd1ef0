#!/usr/bin/env bash
# ceph.sh -- a real one-node Ceph with an S3 endpoint (radosgw) on loopback, for tests
# and benches. Debian 12 packages: ceph-mon, ceph-osd, radosgw, ceph-common.
#
#   tests/cluster/ceph.sh start [DIR]   start; prints DIR; DIR/env holds the S3 settings
#   tests/cluster/ceph.sh stop DIR      kill every daemon started in DIR and remove DIR
#   tests/cluster/ceph.sh stop-rgw DIR  stop radosgw only (the S3 endpoint goes down)
#   tests/cluster/ceph.sh start-rgw DIR start radosgw again on the same port
#   tests/cluster/ceph.sh pause-rgw DIR SIGSTOP radosgw: connections are accepted (by
#                                      the kernel) and never answered, as a stuck store
#   tests/cluster/ceph.sh resume-rgw DIR SIGCONT it
#
# One monitor (fresh fsid), one bluestore OSD on a sparse file, radosgw with beast on
# 127.0.0.1:<ephemeral port>, one S3 user. No ceph-mgr (none is needed to serve S3; the
# pg autoscaler, which needs it, is off), no cephx (auth none: loopback only), no
# systemd: each daemon runs in the foreground of a background shell, its pid in
# DIR/<name>.pid. Runs as root (the daemons' default), as CI does.
#
# DIR/env (shell and python readable KEY=VALUE lines): S3_ENDPOINT, S3_BUCKET,
# S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, RGW_PORT, CEPH_DIR, CEPH_READY_S.
set -euo pipefail

die() { echo "ceph.sh: $*" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS CMD...: run CMD until it succeeds, up to SECONDS (an event, not a
# fixed sleep: the loop ends as soon as the daemon answers).
wait_for() {
    local limit=$1; shift
    local end=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.1
    done
}

ceph_cli() { timeout 20 ceph -c "$D/ceph.conf" --connect-timeout 10 "$@"; }

stamp() { echo "$(date +%s.%N) $*" >>"$D/log/phases"; }

start_daemon() {  # name, then the command
    local name=$1; shift
    ( exec "$@" >>"$D/log/$name.out" 2>&1 ) &
    echo $! >"$D/$name.pid"
}

kill_pidfile() {
    local f=$1 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

rgw_up() { curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; }

start_rgw() {
    start_daemon rgw radosgw -f -c "$D/ceph.conf" -n client.rgw \
        --rgw-frontends "beast endpoint=127.0.0.1:$RGW_PORT"
    wait_for 60 rgw_up || { tail -20 "$D/log/client.rgw.log" >&2 || true; die "radosgw did not answer on port $RGW_PORT"; }
}

mk_user() {
    timeout 60 radosgw-admin -c "$D/ceph.conf" user create --uid=cairn \
        --display-name=cairn --access-key="$ak" --secret-key="$sk" >"$D/log/user.out" 2>&1
}

cmd_start() {
    for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
        command -v "$b" >/dev/null || die "$b not found: apt-get install ceph-mon ceph-osd radosgw ceph-common"
    done
    [ "$(id -u)" = 0 ] || die "must run as root (the Ceph daemons do)"
    local t0; t0=$(date +%s.%N)
    D=${1:-$(mktemp -d /tmp/cairn-ceph.XXXXXX)}
    # a start that fails half way leaves no daemon behind
    trap 'rc=$?; [ $rc = 0 ] || { cmd_stop "$D" 2>/dev/null || kill_all "$D"; }; exit $rc' EXIT
    mkdir -p "$D"/{mon,osd,run,log}
    D=$(cd "$D" && pwd)
    local fsid mon_port osd_uuid
    fsid=$(cat /proc/sys/kernel/random/uuid)
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    mon_port=$(free_port)
    RGW_PORT=$(free_port)
    cat >"$D/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms bind ipv6 = false
# with auth none there is no session key: the "secure" connection mode daemons
# ask the monitor for by default cannot be set up, so every link uses crc
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 1
osd pool default pgp num = 1
# proposals every 50 ms rather than 1 s: each pool radosgw creates is a map change
paxos propose interval = 0.05
rgw rados pool pg num min = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
osd objectstore = bluestore
[mon]
mon data = $D/mon
mon initial members = a
[osd]
osd data = $D/osd
bluestore block create = true
bluestore block size = 4294967296
bluestore fsck on mount = false
bluestore fsck on mkfs = false
osd op num shards = 1
osd op num threads per shard = 2
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 536870912
osd max object name len = 460
osd max object namespace len = 64
osd heartbeat grace = 20
[client.rgw]
rgw data = $D/rgw
rgw dns name = localhost
rgw enable usage log = false
rgw thread pool size = 32
rgw lc debug interval = 10
EOF
    stamp begin
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$D/monmap" >/dev/null
    ceph-mon -c "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap" >"$D/log/mkfs-mon.out" 2>&1 \
        || { cat "$D/log/mkfs-mon.out" >&2; die "ceph-mon --mkfs failed"; }
    stamp mon-mkfs-done
    start_daemon mon ceph-mon -f -c "$D/ceph.conf" -i a
    # The OSD's mkfs (bluestore on the sparse file, ~2 s) needs no monitor: it runs
    # while the monitor starts.
    ( ceph-osd -c "$D/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$D/log/mkfs-osd.out" 2>&1 ) &
    local mkfs_pid=$!
    wait_for 30 ceph_cli mon stat || die "the monitor did not answer (log: $D/log/mon.a.log)"
    stamp mon-up
    local id; id=$(ceph_cli osd new "$osd_uuid") || die "ceph osd new failed"
    [ "$id" = 0 ] || die "unexpected osd id $id"
    wait "$mkfs_pid" || { cat "$D/log/mkfs-osd.out" >&2; die "ceph-osd --mkfs failed"; }
    stamp osd-mkfs-done
    start_daemon osd ceph-osd -f -c "$D/ceph.conf" -i 0
    # radosgw starts at once: it waits for the OSD itself while it connects.
    mkdir -p "$D/rgw"
    local ak sk
    ak=$(python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_uppercase+string.digits) for _ in range(20)))')
    sk=$(python3 -c 'import secrets; print(secrets.token_urlsafe(30)[:40])')
    # the user is created while radosgw starts (both wait for the same pools); if the
    # two race on the zone's creation, it is simply made again once radosgw is up
    ( mk_user ) &
    local user_pid=$!
    start_rgw
    stamp rgw-up
    wait "$user_pid" || mk_user || { cat "$D/log/user.out" >&2; die "radosgw-admin user create failed"; }
    stamp user
    # the bucket the tests use (curl signs; UNSIGNED-PAYLOAD: an empty body)
    curl -sf -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user "$ak:$sk" \
        -H x-amz-content-sha256:UNSIGNED-PAYLOAD -X PUT "http://127.0.0.1:$RGW_PORT/cairn" \
        || die "creating bucket cairn failed"
    local t1; t1=$(date +%s.%N)
    cat >"$D/env" <<EOF
CEPH_DIR=$D
RGW_PORT=$RGW_PORT
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_BUCKET=cairn
S3_REGION=us-east-1
AWS_ACCESS_KEY_ID=$ak
AWS_SECRET_ACCESS_KEY=$sk
CEPH_READY_S=$(python3 -c "print(round($t1 - $t0, 2))")
EOF
    trap - EXIT
    echo "$D"
}

kill_all() {  # the daemons of a directory, whatever state it is in
    local f
    for f in rgw osd mon; do kill_pidfile "$1/$f.pid"; done
}

load_dir() {
    D=${1:-}; [ -n "$D" ] && [ -f "$D/ceph.conf" ] || die "not a ceph.sh directory: '$D'"
    RGW_PORT=$(sed -n 's/^RGW_PORT=//p' "$D/env" 2>/dev/null || true)
}

cmd_stop() {
    load_dir "$1"
    # TERM to all three at once (each then gets up to 5 s before KILL)
    local f
    for f in rgw osd mon; do
        [ -f "$D/$f.pid" ] && kill "$(cat "$D/$f.pid")" 2>/dev/null || true
    done
    for f in rgw osd mon; do kill_pidfile "$D/$f.pid"; done
    rm -rf "$D"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    stop-rgw) load_dir "$2"; kill_pidfile "$D/rgw.pid" ;;
    start-rgw) load_dir "$2"; start_rgw ;;
    pause-rgw) load_dir "$2"; kill -STOP "$(cat "$D/rgw.pid")" ;;
    resume-rgw) load_dir "$2"; kill -CONT "$(cat "$D/rgw.pid")" ;;
    *) echo "usage: $0 start [DIR] | stop DIR | stop-rgw DIR | start-rgw DIR | pause-rgw DIR | resume-rgw DIR" >&2; exit 2 ;;
esac
