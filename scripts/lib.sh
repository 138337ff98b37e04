# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Shell helpers shared by scripts/check and scripts/run (sourced, not run).
# Expects $top (the repository) to be set.
: "${top:?lib.sh needs \$top}"

# Pick the stock Debian kernel to boot and build against: the newest version
# with both /boot/vmlinuz-VER and its headers.  Sets STOCK_VER, STOCK_IMAGE
# and STOCK_KDIR; returns 1 with a message naming what is missing.
ka_stock_kernel() {
	local img ver kdir
	# shellcheck disable=SC2034 # used by the callers
	STOCK_VER='' STOCK_IMAGE='' STOCK_KDIR=''
	# shellcheck disable=SC2012 # the names are Debian's, no odd characters
	for img in $(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V -r); do
		ver=${img#/boot/vmlinuz-}
		for kdir in "/lib/modules/$ver/build" "/usr/src/linux-headers-$ver"; do
			if [ -f "$kdir/Makefile" ]; then
				# shellcheck disable=SC2034 # used by the callers
				STOCK_VER=$ver STOCK_IMAGE=$img STOCK_KDIR=$kdir
				return 0
			fi
		done
	done
	if [ -z "$(ls /boot/vmlinuz-*-amd64 2>/dev/null)" ]; then
		echo "no stock kernel image /boot/vmlinuz-*-amd64 (install linux-image-amd64: scripts/install-deps)" >&2
	else
		echo "no headers for any of $(echo /boot/vmlinuz-*-amd64) (install linux-headers-amd64: scripts/install-deps)" >&2
	fi
	return 1
}

# Copy the sources (not .git, out/ or build products) to $1, keeping the
# build products already there so that rebuilds are incremental.
ka_sync_tree() {
	mkdir -p "$1"
	rsync -a --delete \
		--exclude=/.git --exclude=/out --exclude=/.ci \
		--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude='*.a' --exclude='*.order' \
		--exclude=Module.symvers --exclude='.*.d' --exclude='.tmp_*' \
		"$top/" "$1/"
}

# Build the modules in source copy $2 against kernel tree/headers $1;
# output goes to log $3.  Prints the last lines of the log on failure.
ka_build_modules() {
	local kdir=$1 dir=$2 log=$3
	if ! make -C "$kdir" M="$dir" -j"$(nproc)" modules >"$log" 2>&1; then
		echo "build against $kdir failed; last lines of $log:" >&2
		grep -E 'error|warning|Error' "$log" | head -n 30 | sed 's/^/    /' >&2
		tail -n 5 "$log" | sed 's/^/    /' >&2
		return 1
	fi
}

# Print the directory of kunit.py: the test kernel tree's if scripts/check
# recorded one in $1/state/tree, else one unpacked from linux-source-6.1
# into the cache (kunit.py only parses; any 6.1 tree will do).
ka_kunit_dir() {
	local state=${1:-}/state/tree tarball cache dir
	if [ -f "$state" ] && [ -f "$(cat "$state")/tools/testing/kunit/kunit.py" ]; then
		echo "$(cat "$state")/tools/testing/kunit"
		return 0
	fi
	tarball=${KA_LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
	cache=${KA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ka}
	dir=$cache/kunit-tool
	if [ ! -f "$dir/tools/testing/kunit/kunit.py" ]; then
		[ -f "$tarball" ] || { echo "no $tarball for kunit.py (install linux-source-6.1)" >&2; return 1; }
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		tar -xf "$tarball" -C "$dir.tmp" --strip-components=1 --wildcards '*/tools/testing/kunit/*' >&2 ||
			{ echo "could not unpack kunit.py from $tarball" >&2; return 1; }
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir/tools/testing/kunit"
}
