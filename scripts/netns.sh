#!/usr/bin/env bash
# A private user+network namespace for the tutorial's two terminals, no sudo.
set -euo pipefail

usage() {
    cat <<EOF
usage: scripts/netns.sh [--] [COMMAND [ARG...]]
       scripts/netns.sh --enter PID [--] [COMMAND [ARG...]]
       scripts/netns.sh --tmux
       scripts/netns.sh --help

Terminal 1: runs COMMAND (default: your shell, \$SHELL or sh) in a new user
namespace and a new network namespace that it owns, with lo up. Inside, you are
root (uid 0 stands for your own uid) and hold CAP_NET_RAW over a network that
has only lo: raw sockets work, and they see nothing of the host's traffic.
It first prints the PID to enter and the exact command for terminal 2.

Terminal 2: --enter PID joins the namespace of process PID (the one terminal 1
printed) and runs COMMAND there (default: your shell).

--tmux opens two tmux panes side by side (a new session, or a new window when
already inside tmux): the left one is terminal 1, the right one terminal 2.

The tutorial's run, in the two terminals:
  cargo build -p step-04-echo                    # outside: builds as you
  scripts/netns.sh                               # terminal 1
  ./target/debug/step-04-echo server 127.0.0.1   #   in terminal 1's shell
  scripts/netns.sh --enter PID                   # terminal 2, PID as printed
  ./target/debug/step-04-echo client 127.0.0.1   #   in terminal 2's shell

Needs unshare and nsenter (Debian package util-linux), ip (iproute2), and for
--tmux, tmux (tmux).
EOF
}

# Says which Debian package holds a missing tool, and stops.
need() {
    local tool=$1 package=$2
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool is not installed; it is in the Debian package $package:" >&2
        echo "  sudo apt-get install $package" >&2
        exit 1
    fi
}

# The command to run inside: the arguments, or the user's shell.
set_command() {
    [ "${1-}" = "--" ] && shift
    if [ $# -gt 0 ]; then
        command_line=("$@")
    else
        command_line=("${SHELL:-sh}")
    fi
}

# Joins the user and network namespaces of process $1 and runs the rest there.
# --preserve-credentials keeps our uid (which the namespace maps to its root):
# switching to uid 0 would call setgroups, which the namespace denies.
enter() {
    local pid=$1
    shift
    exec nsenter --target "$pid" --user --net --preserve-credentials -- "$@"
}

# The first process of a new namespace: brings lo up, says how to join, then
# becomes the command. $$ is this process's pid, which the command keeps.
inside_script='
ip link set lo up
if [ -n "${NETNS_PIDFILE-}" ]; then echo $$ >"$NETNS_PIDFILE"; unset NETNS_PIDFILE; fi
echo "netns: a private user+network namespace with only lo (up); you are root in it"
echo "netns: its pid is $$; in a second terminal, join it with:"
echo "    $0 --enter $$"
echo "netns: it ends when the last process in it exits"
exec "$@"'

case "${1-}" in
    -h | --help)
        usage
        exit 0
        ;;
    --enter)
        [ $# -ge 2 ] || { echo "error: --enter needs the PID that terminal 1 printed" >&2; exit 2; }
        pid=$2
        shift 2
        case "$pid" in
            '' | *[!0-9]*) echo "error: --enter: '$pid' is not a process id" >&2; exit 2 ;;
        esac
        need nsenter util-linux
        if ! kill -0 "$pid" 2>/dev/null && [ ! -d "/proc/$pid" ]; then
            echo "error: --enter: no process $pid: is terminal 1's namespace still open?" >&2
            exit 1
        fi
        set_command "$@"
        enter "$pid" "${command_line[@]}"
        ;;
    --tmux)
        [ $# -eq 1 ] || { echo "error: --tmux takes no command" >&2; exit 2; }
        need unshare util-linux
        need nsenter util-linux
        need ip iproute2
        need tmux tmux
        # The left pane creates the namespace and writes its pid to a file;
        # the right pane waits for the file, then joins.
        pidfile=$(mktemp "${TMPDIR:-/tmp}/netns-pid.XXXXXX")
        self=$(printf '%q' "$(realpath "$0")")
        file=$(printf '%q' "$pidfile")
        left="NETNS_PIDFILE=$file $self"
        right="while [ ! -s $file ]; do sleep 0.1; done; pid=\$(cat $file); rm -f $file; exec $self --enter \$pid"
        # Inside tmux already: a new window; outside: a new session.
        if [ -n "${TMUX-}" ]; then new=new-window; else new=new-session; fi
        exec tmux "$new" "$left" \; split-window -h "$right"
        ;;
    *)
        need unshare util-linux
        need ip iproute2
        set_command "$@"
        exec unshare --user --map-root-user --net -- \
            sh -c "$inside_script" "$0" "${command_line[@]}"
        ;;
esac
