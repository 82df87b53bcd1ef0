# agent_lib.sh -- shell helpers shared by the agent benchmarks (ship_bench.sh, ship_syslog_bench.sh,
# ship_journal_bench.sh), sourced, not run.

# wait_line FILE SED_EXPR: print the first match, waiting up to 10 s
wait_line() {
    for _ in $(seq 1 200); do
        v=$(sed -n "$2" "$1" | head -1)
        if [ -n "$v" ]; then echo "$v"; return 0; fi
        sleep 0.05
    done
    echo "timed out waiting in $1" >&2
    return 1
}

# agent_measure PID LOG N: wait (polling the agent's /metrics, its port read from LOG)
# until N entries are acknowledged, then set agent_cpu (CPU-s since the agent
# started), agent_wall (s since this call), agent_hwm_kb (VmHWM) and agent_anon_kb
# (RssAnon).
agent_measure() {
    local pid=$1 log=$2 n=$3 start end hport sent utime stime hz
    start=$(date +%s.%N)
    hport=$(wait_line "$log" 's/.*serving \/ready and \/metrics.* port=\([0-9]*\).*/\1/p')
    while :; do
        sent=$(curl -s "http://127.0.0.1:$hport/metrics" |
               awk '/^promtail_sent_entries_total/ {print $2}')
        [ "${sent:-0}" -ge "$n" ] && break
        sleep 0.1
    done
    end=$(date +%s.%N)
    read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
    hz=$(getconf CLK_TCK)
    agent_hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    agent_anon_kb=$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")
    agent_cpu=$(echo "($utime + $stime) / $hz" | bc -l)
    agent_wall=$(echo "$end - $start" | bc -l)
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
