# Sourced by the scripts that run helper programs (qssl-sim, its echo servers) in the background.
# The sourcing script provides $tmp (a scratch directory) and die(); it calls stop_bg when it exits.

bg_pids=()
bg_count=0
bg_line=

# Starts "$@" in the background and sets bg_line to the first whole line it prints (waits at most 60 s).
# Not to be called in $(...): the pid list must stay in the calling shell.
start_bg() {
    bg_count=$((bg_count + 1))
    local out=$tmp/bg$bg_count.out
    : >"$out"   # exists before the first look below, whenever the child gets to open it
    "$@" >"$out" 2>"$tmp/bg$bg_count.err" &
    local pid=$!
    bg_pids+=("$pid")
    for _ in $(seq 600); do
        # A whole line: the program may not have written all of it yet.
        if [ "$(wc -l < "$out")" -ge 1 ]; then bg_line=$(sed -n 1p "$out"); return 0; fi
        kill -0 "$pid" 2>/dev/null || { cat "$tmp/bg$bg_count.err" >&2; die "$* exited early"; }
        sleep 0.1
    done
    die "$* printed nothing within 60 s"
}

# Stops every program start_bg started and waits for them.
stop_bg() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
