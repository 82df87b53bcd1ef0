# agent_lib.sh -- what the agent benchmarks share (sourced by ship_bench.sh and
# ship_syslog_bench.sh): waiting for a log line, waiting until the agent has sent N
# entries, and the agent's CPU seconds and peak RSS from /proc.

wait_line() { # wait_line FILE SED_EXPR: print the first match, waiting up to 10 s
    for _ in $(seq 1 200); do
        v=$(sed -n "$2" "$1" | head -1)
        if [ -n "$v" ]; then echo "$v"; return 0; fi
        sleep 0.05
    done
    echo "timed out waiting in $1" >&2
    return 1
}

wait_sent() { # wait_sent HTTP_PORT N: until the agent's clients acknowledged N entries
    local sent
    while :; do
        sent=$(curl -s "http://127.0.0.1:$1/metrics" |
               awk '/^promtail_sent_entries_total/ {print $2}')
        [ "${sent:-0}" -ge "$2" ] && return 0
        sleep 0.1
    done
}

agent_stats() { # agent_stats PID: sets agent_cpu (seconds, user + system) and agent_hwm (kB)
    local utime stime hz
    read -r utime stime < <(awk '{print $14, $15}' "/proc/$1/stat")
    hz=$(getconf CLK_TCK)
    agent_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$1/status")
    agent_cpu=$(echo "($utime + $stime) / $hz" | bc -l)
}
