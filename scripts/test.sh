#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need
# (SIPp from Debian's sip-tester, tshark, sngrep, iproute2 and nftables for the
# NAT namespaces, Kamailio for the bench's config checks), then gofmt, go vet
# and go test -race over the SBC module and the bench module.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v sipp >/dev/null 2>&1 || need_apt+=(sip-tester)
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v sngrep >/dev/null 2>&1 || need_apt+=(sngrep)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
# The bench module's tests check generated Kamailio configurations with
# Kamailio itself (with the topoh, topos and SQLite modules).
for pkg in kamailio kamailio-extra-modules kamailio-sqlite-modules sqlite3; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
	if [[ $(id -u) -eq 0 ]]; then
		echo "installing: ${need_apt[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
	elif [[ "${CI:-}" == "true" ]]; then
		echo "CI=true: missing ${need_apt[*]} and not root to install them" >&2
		exit 1
	else
		echo "warning: missing ${need_apt[*]}; tests that need them will skip" >&2
	fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n "$unformatted" ]]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi

go vet ./...
go test -race -count=1 -timeout 20m ./...
if [[ -f bench/go.mod ]]; then
	(cd bench && go vet ./... && go test -count=1 -timeout 10m ./...)
fi
