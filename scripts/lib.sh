# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Shell helpers shared by scripts/check and scripts/run (sourced, not run).
# Expects $top (the repository) to be set.
: "${top:?lib.sh needs \$top}"

# The kernel matrix: named Debian kernels that ka is built and tested
# against (kunit/testing.rst, "The kernels").  stock-6.1 is the default of
# `make`, `make run` and the stages that need "the" stock kernel.
# shellcheck disable=SC2034 # used by the callers
KA_KERNELS="stock-6.1 stock-6.12 rt-6.1 rt-6.12"
KA_DEFAULT_KERNEL=stock-6.1

# The kernel version (uname -r) of matrix kernel $1, from the installed
# packages: 6.1's is the dependency of the linux-image-amd64 /
# linux-image-rt-amd64 metapackage, 6.12's the newest installed
# linux-image-6.12.*+deb12-amd64 whose four packages (image and headers,
# amd64 and rt-amd64) are all installed.  Prints nothing if there is none.
ka_kernel_version() {
	local meta flavour v
	case $1 in
	stock-6.1) meta=linux-image-amd64 ;;
	rt-6.1) meta=linux-image-rt-amd64 ;;
	stock-6.12) flavour=amd64 ;;
	rt-6.12) flavour=rt-amd64 ;;
	*) return 1 ;;
	esac
	if [ -n "${meta:-}" ]; then
		dpkg-query -W -f='${Depends}\n' "$meta" 2>/dev/null |
			sed 's/[,|]/\n/g' | sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -n 1
		return 0
	fi
	for v in $(dpkg-query -W -f='${Package} ${Status}\n' 'linux-image-6.12.*+deb12-amd64' 2>/dev/null |
			sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12\)-amd64 install ok installed$/\1/p' |
			sort -V -r); do
		if _ka_pkg_installed "linux-headers-$v-amd64" && _ka_pkg_installed "linux-image-$v-rt-amd64" &&
		   _ka_pkg_installed "linux-headers-$v-rt-amd64"; then
			echo "$v-$flavour"
			return 0
		fi
	done
}

_ka_pkg_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Where ka keeps what it builds or unpacks outside the clone: the test
# kernels, the Debian kernels unpacked from their .deb, kunit.py.
ka_cache_dir() {
	echo "${KA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ka}"
}

# Resolve matrix kernel $1 (default $KA_KERNEL, else stock-6.1): sets
# KA_KNAME, KA_KVER, KA_KIMAGE (its vmlinuz), KA_KDIR (its headers) and
# KA_KMODS (its /lib/modules/VER tree); returns 1 with a message naming
# what is missing.  First the record scripts/install-deps left in
# $(ka_cache_dir)/kernels/NAME (the image and headers it unpacked from their
# .deb, or installed ones), then the installed packages.
ka_kernel() {
	local name=${1:-${KA_KERNEL:-$KA_DEFAULT_KERNEL}} ver kdir pkg rec key val
	local image='' mods=''
	# shellcheck disable=SC2034 # used by the callers
	KA_KNAME=$name KA_KVER='' KA_KIMAGE='' KA_KDIR='' KA_KMODS=''
	case " $KA_KERNELS " in
	*" $name "*) ;;
	*) echo "unknown kernel '$name' (one of: $KA_KERNELS)" >&2; return 1 ;;
	esac
	rec=$(ka_cache_dir)/kernels/$name
	if [ -f "$rec" ]; then
		ver='' kdir=''
		while read -r key val; do
			case $key in
			version) ver=$val ;;
			image) image=$val ;;
			headers) kdir=$val ;;
			modules) mods=$val ;;
			esac
		done <"$rec"
		if [ -n "$ver" ] && [ -r "$image" ] && [ -f "$kdir/Makefile" ]; then
			# shellcheck disable=SC2034 # used by the callers
			KA_KVER=$ver KA_KIMAGE=$image KA_KDIR=$kdir KA_KMODS=$mods
			return 0
		fi
	fi
	command -v dpkg-query >/dev/null || { echo "no dpkg-query: the kernel matrix needs Debian's packages" >&2; return 1; }
	case $name in
	stock-6.1) pkg=linux-image-amd64 ;;
	rt-6.1) pkg=linux-image-rt-amd64 ;;
	*) pkg="linux-image-6.12.*+deb12-amd64, -rt-amd64 and their headers" ;;
	esac
	ver=$(ka_kernel_version "$name")
	[ -n "$ver" ] || { echo "$name: not unpacked nor installed ($pkg): scripts/install-deps --for run $name" >&2; return 1; }
	[ -f "/boot/vmlinuz-$ver" ] || { echo "$name: no /boot/vmlinuz-$ver: scripts/install-deps --for run $name" >&2; return 1; }
	for kdir in "/usr/src/linux-headers-$ver" "/lib/modules/$ver/build" ''; do
		[ -z "$kdir" ] || [ ! -f "$kdir/Makefile" ] || break
	done
	[ -n "$kdir" ] || { echo "$name: no headers for $ver: scripts/install-deps --for run $name" >&2; return 1; }
	# shellcheck disable=SC2034 # used by the callers
	KA_KVER=$ver KA_KIMAGE=/boot/vmlinuz-$ver KA_KDIR=$kdir KA_KMODS=/lib/modules/$ver
}

# The stock kernel of today's stages (bench, dkms-check): stock-6.1.  Sets
# STOCK_VER, STOCK_IMAGE and STOCK_KDIR.
ka_stock_kernel() {
	# shellcheck disable=SC2034 # used by the callers
	STOCK_VER='' STOCK_IMAGE='' STOCK_KDIR=''
	ka_kernel "$KA_DEFAULT_KERNEL" || return 1
	# shellcheck disable=SC2034 # used by the callers
	STOCK_VER=$KA_KVER STOCK_IMAGE=$KA_KIMAGE STOCK_KDIR=$KA_KDIR
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
# output goes to log $3; further arguments go to make (W=1).  Prints the
# last lines of the log on failure.
ka_build_modules() {
	local kdir=$1 dir=$2 log=$3
	shift 3
	if ! make -C "$kdir" M="$dir" -j"$(nproc)" "$@" modules >"$log" 2>&1; then
		echo "build against $kdir failed; last lines of $log:" >&2
		grep -E 'error|warning|Error' "$log" | head -n 30 | sed 's/^/    /' >&2
		tail -n 5 "$log" | sed 's/^/    /' >&2
		return 1
	fi
}

# Print the directory of kunit.py: the 6.1 test kernel tree's if
# scripts/check recorded one in $1/state/tree-6.1, else that of a 6.1
# source tree scripts/build-test-kernel unpacked, else one unpacked from
# linux-source-6.1 into the cache (kunit.py only parses; any 6.1 tree will
# do).
ka_kunit_dir() {
	local state=${1:-}/state/tree-6.1 tarball cache dir
	if [ -f "$state" ] && [ -f "$(cat "$state")/tools/testing/kunit/kunit.py" ]; then
		echo "$(cat "$state")/tools/testing/kunit"
		return 0
	fi
	cache=$(ka_cache_dir)
	for dir in "$cache"/src/linux-source-6.1-*/tools/testing/kunit; do
		[ -f "$dir/kunit.py" ] || continue
		echo "$dir"
		return 0
	done
	tarball=${KA_LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
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
