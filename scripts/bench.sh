#!/usr/bin/env bash
# scripts/bench.sh: the side-by-side SIP load bench of issue 9 (SBC vs
# Kamailio), on loopback. Installs what it needs from Debian when missing
# (sip-tester, kamailio with its topoh/topos, SQLite and Redis modules,
# sqlite3, redis-server),
# builds bench/cmd/sipbench and runs it; every flag is passed on:
#
#   scripts/bench.sh              # full ramp (20 s steps), 10,000 concurrent calls
#   scripts/bench.sh -short       # 5 s steps, fewer rates: under 5 minutes
#   scripts/bench.sh -rates 500,1000 -step 10s -systems sbc,kamailio
#
# The report (report.md, latency.png, cpu.png, results.json, raw SIPp data)
# goes to results/<UTC timestamp>/ unless -out is given. The bench starts the
# sbc, Kamailio and SIPp itself and stops only the PIDs it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
for pkg in kamailio kamailio-extra-modules kamailio-sqlite-modules kamailio-redis-modules redis-server; do
	# topoh is in kamailio-extra-modules, topos in kamailio, its storage in
	# kamailio-sqlite-modules (db_sqlite) or kamailio-redis-modules (ndb_redis,
	# topos_redis, with a private redis-server the bench starts by PID).
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench.sh: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "bench.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
		apt-get update -qq
		apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
	fi
fi

args=("$@")
# Media hook (issue 9 part 3): the media relay load (bench/rtpload, RTP load
# generator and rtpengine driver) is built on another branch. Set
# SIPBENCH_MEDIA_CMD to the command that runs it; sipbench runs it after the
# SIP steps (env SIPBENCH_OUT = the results directory) and puts its Markdown
# output in the report's Media section.
if [ -n "${SIPBENCH_MEDIA_CMD:-}" ]; then
	args=(-media-cmd "$SIPBENCH_MEDIA_CMD" "${args[@]}")
elif [ -d "$root/bench/rtpload" ]; then
	echo "bench.sh: bench/rtpload is present but SIPBENCH_MEDIA_CMD is not set: the media section stays a hook" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root/bench" && go build -o "$tmp/sipbench" ./cmd/sipbench)
cd "$root"
"$tmp/sipbench" "${args[@]}"
