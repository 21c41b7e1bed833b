# SPDX-License-Identifier: GPL-2.0
# Shared shell layer of the pageref scripts: paths, messages, argument helpers.
# Sourced, never run. Every entry point in scripts/ sources this first.

set -euo pipefail

PAGEREF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Kernel trees, build directories, ccache and logs live here, never in the repo.
PAGEREF_CACHE=${PAGEREF_CACHE:-$HOME/.cache/pageref}
# The LLVM suffix Kbuild appends to clang, ld.lld, ...: LLVM=-19.
PAGEREF_LLVM=${PAGEREF_LLVM:--19}
export CCACHE_DIR=${CCACHE_DIR:-$PAGEREF_CACHE/ccache}
export PATH="$HOME/.cargo/bin:$PATH"

# Kbuild's bindgen must load Debian's libclang-19 (the LLVM the kernel is built with).
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}

PROG=$(basename "$0")

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}

log() {
	echo "[$PROG $(date +%H:%M:%S)] $*" >&2
}

# usage_from_header: print the leading comment block of the calling script
# (lines starting with "# " after the shebang) as its --help text.
usage_from_header() {
	sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"
}

# Map a user's ARCH to the kernel's SRCARCH-level name used by kunit.py.
check_arch() {
	case "$1" in
	x86_64 | arm64) ;;
	*) die "unsupported ARCH '$1' (supported: x86_64 arm64)" ;;
	esac
}

# need_positive OPTION VALUE: VALUE must be a whole number above zero.
need_positive() {
	[[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 '$2' is not a positive number"
}

# need_cmd CMD...: fail with the exact names of the missing commands.
need_cmd() {
	local missing=() c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing tool(s): ${missing[*]} (run scripts/setup)"
}

# series_patches DIR: the patches of DIR/series and then of DIR/test/series
# (the upstream series and the test-only one on top), one path per line,
# relative to DIR. A patch a series file names but DIR lacks is an error.
series_patches() {
	local sub series p
	for sub in "" test/; do
		series="$1/${sub}series"
		[ -f "$series" ] || continue
		while read -r p; do
			[ -f "$1/$sub$p" ] || die "$series names '$p', which does not exist"
			echo "$sub$p"
		done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$series")
	done
}

# hash_of FILE...: a short content hash, used to key caches on inputs.
hash_of() {
	cat "$@" | sha256sum | cut -c1-12
}

# ccache for every kernel build: keyed on paths relative to the cache, so
# build directories of different configurations share their objects.
export CCACHE_BASEDIR=$PAGEREF_CACHE CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-time_macros,include_file_mtime,include_file_ctime}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}

# Test results of the scripts' own checks (scripts/userspace, scripts/lint):
# `record NAME PASS|FAIL|SKIP` prints a TAP-like line and keeps the result;
# `results_json SUITE FILE` writes them in the JSON form of kunit.py's, which
# scripts/results.py counts; `results_ok` fails if any result failed.
RESULTS=()
record() {
	RESULTS+=("$1=$2")
	case "$2" in
	PASS) echo "ok ${#RESULTS[@]} - $1" ;;
	SKIP) echo "ok ${#RESULTS[@]} - $1 # SKIP" ;;
	*) echo "not ok ${#RESULTS[@]} - $1" ;;
	esac
}
results_json() {
	printf '%s\n' "${RESULTS[@]}" | python3 -c '
import json, sys
cases = [dict(zip(("name", "status"), l.rstrip("\n").rsplit("=", 1))) for l in sys.stdin if l.strip()]
json.dump({"name": sys.argv[1], "sub_groups": [], "test_cases": cases}, open(sys.argv[2], "w"), indent=1)
' "$1" "$2"
}
results_ok() {
	! printf '%s\n' "${RESULTS[@]}" | grep -q '=FAIL$'
}

# debian_mirror: the first Debian archive URI of the machine's own apt
# sources (deb822 .sources files or a one-line sources.list), so that the
# private apt configurations of scripts/get-kernel and scripts/get-stress-ng
# reach the mirror this machine already uses.
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f"
	done
}
