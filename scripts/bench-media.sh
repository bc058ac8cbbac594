#!/usr/bin/env bash
# Media relay benchmark: drives the SBC's mediarelay and Debian's rtpengine
# (userspace forwarding, no kernel module) with the same load generator
# (bench/rtpload) in one run, relay pinned to CPU 0 and generator to CPU 1,
# at 100,000 pps over 2,000 sockets and 200,000 pps over 4,000 sockets, then
# runs the in-package saturated-socket benchmark (epoll vs goroutine vs naive).
#
#   scripts/bench-media.sh            # DURATION=15s per step, CALLS="1000 2000"
#   DURATION=10s CALLS="500 1000 2000" RELAYS="sbc rtpengine" scripts/bench-media.sh
#
# Every relay is started here by PID on loopback only and stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
CALLS=${CALLS:-1000 2000}
RELAYS=${RELAYS:-sbc rtpengine}
RELAY_CPU=${RELAY_CPU:-0}
# PRIO=fifo runs relay and generator under SCHED_FIFO (chrt -f 10) so that a
# machine shared with other work does not starve them during a step; the
# kernel's RT throttling still leaves 5% of each CPU to everything else.
PRIO=${PRIO:-}
GEN_CPU=${GEN_CPU:-1}
NG_SBC=127.0.0.1:22240
NG_RTPE=127.0.0.1:22241
OUT=${OUT:-/tmp/bench-media-$(date -u +%Y%m%dT%H%M%SZ).txt}

if ! command -v rtpengine >/dev/null 2>&1; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "rtpengine missing and not root: apt-get install rtpengine-daemon" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends rtpengine-daemon >/dev/null
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) missing" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true
prio=()
if [[ "$PRIO" == fifo ]]; then
	prio=(chrt -f 10)
fi

bin=$(mktemp -d)
relay_pid=
cleanup() {
	if [[ -n "$relay_pid" ]] && kill -0 "$relay_pid" 2>/dev/null; then
		kill "$relay_pid" 2>/dev/null || true
		wait "$relay_pid" 2>/dev/null || true
	fi
	rm -rf "$bin"
}
trap cleanup EXIT
(cd bench && go build -o "$bin/rtpload" ./rtpload/cmd/rtpload)

start_relay() { # name -> sets relay_pid and ng
	case $1 in
	sbc | sbc-nocoalesce | sbc-goroutine | sbc-socketsend)
		local extra=()
		[[ $1 == sbc-nocoalesce ]] && extra=(-coalesce=-1ns)
		[[ $1 == sbc-goroutine ]] && extra=(-engine=goroutine)
		[[ $1 == sbc-socketsend ]] && extra=(-socket-send)
		"${prio[@]}" taskset -c "$RELAY_CPU" "$bin/rtpload" relay -ng "$NG_SBC" -addr 127.0.0.1 -ports 20000-29999 -workers 1 \
			"${extra[@]}" 2>"$bin/$1.log" &
		relay_pid=$!
		ng=$NG_SBC
		;;
	rtpengine)
		# Userspace forwarding only (table -1: no kernel module), loopback only,
		# one worker thread like the SBC relay's one epoll worker.
		"${prio[@]}" taskset -c "$RELAY_CPU" rtpengine --config-file=none --foreground --log-stderr --log-level=3 \
			--table=-1 --interface=127.0.0.1 --listen-ng="$NG_RTPE" --port-min=30000 --port-max=39999 \
			--num-threads=1 --delete-delay=0 2>"$bin/rtpengine.log" &
		relay_pid=$!
		ng=$NG_RTPE
		;;
	esac
	sleep 1
	kill -0 "$relay_pid" || { echo "$1 did not start" >&2; cat "$bin/$1.log" >&2; exit 1; }
}

stop_relay() { # name
	kill "$relay_pid" 2>/dev/null || true
	wait "$relay_pid" 2>/dev/null || true
	relay_pid=
	grep -h "media relay stopped" "$bin/$1.log" 2>/dev/null | sed "s/^/#   $1: /" || true
}

{
	echo "# media relay benchmark $(date -u +%FT%TZ) on $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# $(rtpengine --version 2>&1 | head -1); relay on CPU $RELAY_CPU, generator on CPU $GEN_CPU, $DURATION per step, PRIO=${PRIO:-normal}"
	for calls in $CALLS; do
		for r in $RELAYS; do
			start_relay "$r"
			timeout 600 "${prio[@]}" taskset -c "$GEN_CPU" "$bin/rtpload" run -ng "$ng" -pid "$relay_pid" -calls "$calls" \
				-duration "$DURATION" -name "$r" -json || echo "$r calls=$calls: FAILED"
			stop_relay "$r"
		done
	done
	echo "# saturated single socket, relay CPU per packet in one go test run (epoll vs goroutine vs naive)"
	go test -c -o "$bin/mediarelay.test" ./mediarelay
	"${prio[@]}" "$bin/mediarelay.test" -test.run XXX -test.bench 'RelaySaturatedSocket|RelayManySockets' \
		-test.benchtime "${BENCHTIME:-100000x}" | grep -E '^Benchmark'
} | tee "$OUT"
echo "results in $OUT"
