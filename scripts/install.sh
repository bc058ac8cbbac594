#!/usr/bin/env bash
# Builds and installs the sbc daemon: the binary, its systemd unit, an example
# configuration (never overwriting one already in place) and the dedicated
# "sbc" system user. Idempotent: running it again upgrades the binary and the
# unit and leaves configuration and user alone.
#
# Usage: scripts/install.sh [--dry-run] [--destdir DIR] [--binary FILE]
#                           [--config-examples DIR] [--prefix DIR]
#   --dry-run            print every step instead of doing it
#   --destdir DIR        install below DIR (packaging, tests); also $DESTDIR.
#                        With a DESTDIR no user is created and systemd is
#                        not touched.
#   --binary FILE        install FILE instead of building ./cmd/sbc
#   --config-examples D  example configuration to install to /etc/sbc/
#                        (default: config/examples/ of this tree, if present)
#   --prefix DIR         binary prefix (default /usr/local)
set -euo pipefail

src="$(cd "$(dirname "$0")/.." && pwd)"
dry=0
destdir="${DESTDIR:-}"
binary=""
examples="$src/config/examples"
prefix=/usr/local
user=sbc

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

while (($#)); do
	case "$1" in
	--dry-run) dry=1 ;;
	--destdir) destdir="${2:?--destdir needs a directory}"; shift ;;
	--destdir=*) destdir="${1#*=}" ;;
	--binary) binary="${2:?--binary needs a file}"; shift ;;
	--binary=*) binary="${1#*=}" ;;
	--config-examples) examples="${2:?--config-examples needs a directory}"; shift ;;
	--config-examples=*) examples="${1#*=}" ;;
	--prefix) prefix="${2:?--prefix needs a directory}"; shift ;;
	--prefix=*) prefix="${1#*=}" ;;
	-h | --help) usage; exit 0 ;;
	*) echo "install.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
destdir="${destdir%/}"

# run executes a command, or prints it under --dry-run.
run() {
	if ((dry)); then
		printf '+'
		printf ' %q' "$@"
		printf '\n'
	else
		"$@"
	fi
}
say() { echo "install.sh: $*"; }

if ((!dry)) && [[ -z "$destdir" ]] && [[ $(id -u) -ne 0 ]]; then
	echo "install.sh: run as root, or set --destdir/DESTDIR, or use --dry-run" >&2
	exit 1
fi

bin_path="$prefix/bin/sbc"
unit_path=/etc/systemd/system/sbc.service
conf_dir=/etc/sbc
state_dir=/var/lib/sbc

# 1. The binary: built reproducibly (-trimpath, no VCS stamping of the path).
if [[ -z "$binary" ]]; then
	version="$(git -C "$src" describe --tags --always --dirty 2>/dev/null || echo dev)"
	if ((dry)); then
		build_dir='$BUILD_DIR' # a temporary directory when run for real
	else
		build_dir="$(mktemp -d)"
		trap 'rm -rf "$build_dir"' EXIT
	fi
	binary="$build_dir/sbc"
	say "building sbc $version"
	run env CGO_ENABLED=0 go build -C "$src" -trimpath -ldflags "-s -w -X main.version=$version" -o "$binary" ./cmd/sbc
elif [[ ! -f "$binary" ]]; then
	echo "install.sh: --binary $binary: no such file" >&2
	exit 1
fi
run install -D -m 0755 "$binary" "$destdir$bin_path"

# 2. The systemd unit, with the binary's path adjusted to the prefix.
unit_src="$src/deploy/sbc.service"
if [[ "$prefix" == /usr/local ]]; then
	run install -D -m 0644 "$unit_src" "$destdir$unit_path"
elif ((dry)); then
	printf '+ sed s#/usr/local/bin/sbc#%s#g %q > %q\n' "$bin_path" "$unit_src" "$destdir$unit_path"
else
	install -d -m 0755 "$destdir$(dirname "$unit_path")"
	sed "s#/usr/local/bin/sbc#$bin_path#g" "$unit_src" >"$destdir$unit_path"
	chmod 0644 "$destdir$unit_path"
fi

# 3. The dedicated system user the unit runs as.
have_user=0
if [[ -n "$destdir" ]]; then
	say "DESTDIR set: not creating user $user (the package's postinst does)"
elif getent passwd "$user" >/dev/null; then
	say "user $user exists"
	have_user=1
else
	nologin="$(command -v nologin || echo /usr/sbin/nologin)"
	run useradd --system --user-group --no-create-home --home-dir "$state_dir" --shell "$nologin" \
		--comment "sbc Session Border Controller" "$user"
	have_user=1
fi

# 4. Configuration and state directories. Ownership only when the user exists.
owner=()
if ((have_user)); then
	owner=(-o root -g "$user")
fi
run install -d -m 0750 "${owner[@]}" "$destdir$conf_dir"
if ((have_user)); then
	owner=(-o "$user" -g "$user")
fi
for d in "$state_dir" "$state_dir/cdr" "$state_dir/capture"; do
	run install -d -m 0750 "${owner[@]}" "$destdir$d"
done

# 5. Example configuration, never over an existing file.
if [[ -d "$examples" ]]; then
	shopt -s nullglob
	files=("$examples"/*)
	shopt -u nullglob
	if ((${#files[@]} == 0)); then
		say "no files in $examples: no example configuration installed"
	fi
	conf_owner=()
	if ((have_user)); then
		conf_owner=(-o root -g "$user")
	fi
	for f in "${files[@]}"; do
		[[ -f "$f" ]] || continue
		target="$destdir$conf_dir/$(basename "$f")"
		if [[ -e "$target" ]]; then
			say "keeping existing $conf_dir/$(basename "$f")"
		else
			run install -m 0640 "${conf_owner[@]}" "$f" "$target"
		fi
	done
else
	say "no example configuration at $examples: skipping (install one to $conf_dir yourself)"
fi

# 6. systemd: reload units when installing onto a running system.
if [[ -z "$destdir" ]] && [[ -d /run/systemd/system ]]; then
	run systemctl daemon-reload
	say "enable and start with: systemctl enable --now sbc"
elif [[ -z "$destdir" ]]; then
	say "systemd is not running here: skipping daemon-reload"
fi
if ((dry)); then
	say "dry run: nothing changed"
else
	say "done"
fi
