# SPDX-License-Identifier: GPL-2.0
# Guest side of scripts/check's redirect stages: modules of Debian's
# linux-source built with include/ka_redirect.h (scripts/redirect-build)
# doing their work on ka, on the stock kernels and on the debug test
# kernels (KASAN, lockdep, kmemleak: the kmemleak report goes to the
# host).  /ka/ holds ka.ko, fat.ko, vfat.ko, mbcache.ko, jbd2.ko, ext4.ko,
# test_printf.ko, test_user_copy.ko (where the series has them), the stock
# kernel's loop.ko, nls_*.ko, crc16.ko and crc32c_generic.ko (built in on
# the debug kernels), fat.img (made by mkfs.fat) and ext4.img (made by
# mkfs.ext4, with an inline-data symlink and a directory with an xattr
# block made by debugfs).  Runs under busybox sh with the helpers of
# /ka/lib.sh.
status=0
# A kmemleak kernel (the debug test kernels): only leaks from here on
# count; the host reads the report sent at the end (as debug.sh).
ka_kmemleak_since
stat_of() { sed -n "s/^$1 //p" /sys/kernel/debug/ka/stats; }
# "active" column of a cache's line in debugfs caches, or nothing
cache_active() { awk -v n="$1" '$1 == n { print $6 }' /sys/kernel/debug/ka/caches; }
ka_step insmod_ka insmod /ka/ka.ko || exit 1
for m in loop nls_cp437 nls_ascii nls_utf8 crc16 crc32c_generic; do
	[ -f /ka/$m.ko ] && { insmod /ka/$m.ko || status=1; }
done
refused0=$(stat_of refused_frees)
allocs0=$(stat_of allocs)

# ---- fat + vfat: two kmem_caches (fat_inode_cache with a constructor)
ka_step insmod_fat insmod /ka/fat.ko || status=1
ka_step insmod_vfat insmod /ka/vfat.ko || status=1
echo "--- caches after insmod"
cat /sys/kernel/debug/ka/caches
caches_listed() { [ -n "$(cache_active fat_cache)" ] && [ -n "$(cache_active fat_inode_cache)" ]; }
ka_step fat_caches_in_ka_debugfs caches_listed || status=1
# /ka/fat.img: an empty 48 MiB FAT image, made on the host by mkfs.fat
cp /ka/fat.img /tmp/fat.img
ka_step losetup losetup /dev/loop0 /tmp/fat.img || status=1
mkdir -p /mnt
ka_step mount_vfat mount -t vfat -o iocharset=utf8 /dev/loop0 /mnt || status=1
# A file's content: SIZE bytes of lines naming the file and the line, so
# that a block in the wrong place or file, or zeroes, change its sum, and
# the image compresses for its way to the host.
content() {
	awk -v n="$1" -v t="$2" 'BEGIN { for (i = 0; i * (length(t) + 9) < n; i++) printf "%s %07d\n", t, i }' |
		head -c "$1"
}
# 400 files of 1..16 KiB of such lines in 8 directories, with long
# names (vfat's slots), their checksums kept outside the image (random
# bytes made the gzipped image 3 MB, 90 s through ttyS1, the debug
# kernels' data port, under load; these lines: 14 s)
write_files() {
	i=0
	while [ $i -lt 400 ]; do
		d=/mnt/directory-number-$((i % 8))
		mkdir -p "$d"
		content $(( (i % 16 + 1) * 1024 )) "$d/a-long-file-name-$i.data" \
			>"$d/a-long-file-name-$i.data" || return 1
		i=$((i + 1))
	done
	(cd /mnt && find . -type f | sort | xargs md5sum) >/tmp/sums
	[ "$(wc -l </tmp/sums)" = 400 ]
}
ka_step vfat_write_400_files write_files || status=1
active_mounted=$(cache_active fat_inode_cache)
ka_msg "KA-NOTE: redirect: fat_inode_cache active objects with 400 files written: $active_mounted"
inodes_in_ka() { [ "${active_mounted:-0}" -ge 400 ]; }
ka_step fat_inodes_live_in_ka inodes_in_ka || status=1
ka_step umount_vfat umount /mnt || status=1
echo 3 >/proc/sys/vm/drop_caches
ka_step remount_vfat mount -t vfat -o iocharset=utf8 /dev/loop0 /mnt || status=1
verify() { (cd /mnt && md5sum -c -s /tmp/sums); }
ka_step vfat_files_verified_after_remount verify || status=1
# rename and delete half of them, then check again
churn() {
	i=0
	while [ $i -lt 400 ]; do
		f=/mnt/directory-number-$((i % 8))/a-long-file-name-$i.data
		if [ $((i % 2)) = 0 ]; then
			rm "$f" || return 1
		else
			mv "$f" "$f.renamed" || return 1
		fi
		i=$((i + 1))
	done
	[ "$(find /mnt -type f -name '*.renamed' | wc -l)" = 200 ] &&
		[ "$(find /mnt -type f | wc -l)" = 200 ]
}
ka_step vfat_rename_and_delete churn || status=1
ka_step umount_vfat_again umount /mnt || status=1
echo 3 >/proc/sys/vm/drop_caches
losetup -d /dev/loop0
# the image goes to the host for fsck.fat
gzip -1 /tmp/fat.img
ka_put fat.img.gz /tmp/fat.img.gz
echo "--- caches after umount"
cat /sys/kernel/debug/ka/caches
ka_step rmmod_vfat rmmod vfat || status=1
ka_step rmmod_fat rmmod fat || status=1
caches_gone() { [ -z "$(cache_active fat_cache)" ] && [ -z "$(cache_active fat_inode_cache)" ]; }
ka_step fat_caches_destroyed caches_gone || status=1

# ---- ext4 + jbd2 + mbcache: a journaling file system on ka
ncaches0=$(grep -vc '^#' /sys/kernel/debug/ka/caches)
ka_step insmod_mbcache insmod /ka/mbcache.ko || status=1
ka_step insmod_jbd2 insmod /ka/jbd2.ko || status=1
ka_step insmod_ext4 insmod /ka/ext4.ko || status=1
# the first of the names that is a cache of ka's (6.1 and 6.12 differ)
cache_named() {
	for c in "$@"; do
		[ -z "$(cache_active "$c")" ] || { echo "$c"; return; }
	done
}
mbc=$(cache_named mb_cache_entry mbcache)
esc=$(cache_named extent_status ext4_extent_status)
ext4_caches_listed() {
	[ -n "$mbc" ] && [ -n "$esc" ] || { echo "no mbcache or extent_status cache"; return 1; }
	for c in jbd2_journal_head jbd2_transaction_s jbd2_inode ext4_inode_cache; do
		[ -n "$(cache_active $c)" ] || { echo "no ka cache $c"; return 1; }
	done
}
ka_step ext4_caches_in_ka_debugfs ext4_caches_listed || status=1
mv /ka/ext4.img /tmp/ext4.img
ka_step losetup_ext4 losetup /dev/loop1 /tmp/ext4.img || status=1
mkdir -p /ext4
ka_step mount_ext4 mount -t ext4 /dev/loop1 /ext4 || status=1
# the host's debugfs made /inline-link with inline data: each readlink
# kmallocs its body and frees it through kfree_link
inline_target=$(printf 'target-%s/' 1 2 3 4 5 6 7 8 9 10 11 12)
read_inline_link() { [ "$(readlink /ext4/inline-link)" = "$inline_target" ]; }
ka_step ext4_inline_symlink_kfree_link read_inline_link || status=1
# /xattr-dir has an external xattr block (host's debugfs): a file created
# in it reads the block for the default ACL, which enters ext4's mbcache
xattr_dir_files() {
	for i in 1 2 3; do
		echo "file $i" >/ext4/xattr-dir/file-$i || return 1
	done
	[ "$(cache_active "$mbc")" -ge 1 ]
}
ka_step ext4_xattr_block_in_mbcache xattr_dir_files || status=1
# Two writers at once: 90 files each of sizes from 0 to 300 KiB (inline
# data, one block, block boundaries, extents), the content made in /tmp
# and summed there, written with several block sizes.  A sampler keeps the
# ext4/jbd2 caches' active objects meanwhile.
sizes="0 1 59 60 200 1023 1024 1025 4095 4096 4097 12345 65536 100000 307200"
writer() {
	w=$1
	i=0
	mkdir -p /ext4/w$w/d0 /ext4/w$w/d1 /ext4/w$w/d2 || return 1
	: >/tmp/sums.w$w
	while [ $i -lt 90 ]; do
		set -- $sizes
		shift $(( (i * 7 + w) % 15 ))
		f=w$w/d$((i % 3))/file-$i
		content "$1" "$f" >/tmp/src.w$w || return 1
		echo "$(md5sum </tmp/src.w$w | cut -d' ' -f1)  ./$f" >>/tmp/sums.w$w
		case $((i % 3)) in
		0) cat /tmp/src.w$w >/ext4/$f ;;
		1) dd if=/tmp/src.w$w of=/ext4/$f bs=777 2>/dev/null ;;
		2) dd if=/tmp/src.w$w of=/ext4/$f bs=64k 2>/dev/null ;;
		esac || return 1
		i=$((i + 1))
	done
	rm -f /tmp/src.w$w
}
sample_caches() {
	while [ -e /tmp/sampling ]; do
		awk -v es="$esc" '$1 ~ /^(ext4_inode_cache|jbd2_journal_head|jbd2_transaction_s|jbd2_inode|jbd2_journal_handle)$/ || $1 == es { print $1, $6 }' \
			/sys/kernel/debug/ka/caches >>/tmp/samples
		usleep 100000
	done
}
two_writers() {
	touch /tmp/sampling
	: >/tmp/samples
	sample_caches &
	sampler=$!
	writer 0 &
	p0=$!
	writer 1 &
	p1=$!
	wait $p0
	r0=$?
	wait $p1
	r1=$?
	sync
	rm /tmp/sampling
	wait $sampler
	echo "writers: $r0 $r1"
	[ $r0 = 0 ] && [ $r1 = 0 ] || return 1
	cat /tmp/sums.w0 /tmp/sums.w1 >/tmp/ext4.sums
	[ "$(wc -l </tmp/ext4.sums)" = 180 ]
}
ka_step ext4_two_writers two_writers || status=1
# the most active objects seen per cache, over the writers and sync
max_active() { awk -v n="$1" '$1 == n && $2 > m { m = $2 } END { print m + 0 }' /tmp/samples; }
ka_msg "KA-NOTE: redirect: ext4/jbd2 active objects at most, while writing: ext4_inode_cache $(max_active ext4_inode_cache) $esc $(max_active "$esc") jbd2_inode $(max_active jbd2_inode) jbd2_journal_head $(max_active jbd2_journal_head) jbd2_transaction_s $(max_active jbd2_transaction_s) jbd2_journal_handle $(max_active jbd2_journal_handle); $mbc $(cache_active "$mbc")"
ext4_objects_live() {
	[ "$(max_active ext4_inode_cache)" -ge 180 ] &&
		[ "$(max_active "$esc")" -ge 1 ] &&
		[ "$(max_active jbd2_inode)" -ge 1 ] &&
		[ "$(max_active jbd2_journal_head)" -ge 1 ] &&
		[ "$(max_active jbd2_transaction_s)" -ge 1 ]
}
ka_step ext4_jbd2_objects_live_in_ka ext4_objects_live || status=1
# every file against its sum; the files that differ are shown
ext4_verify() {
	(cd /ext4 && md5sum -c /tmp/ext4.sums >/tmp/ext4.check 2>&1)
	r=$?
	grep -v ': OK$' /tmp/ext4.check
	return $r
}
ka_step ext4_files_verified ext4_verify || status=1
# a fast and a slow symlink of the guest's own
ln -s w0/d0/file-0 /ext4/short-link
long_target=$(printf 'long-target-%s/' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
ln -s "$long_target" /ext4/long-link
# churn: of each three files one deleted, one renamed into another
# directory, one rewritten with other content; the sums follow
churn_ext4() {
	: >/tmp/ext4.sums.new
	n=0
	while read -r sum f; do
		case $((n % 3)) in
		0) rm "/ext4/$f" || return 1 ;;
		1)
			g=$(echo "$f" | sed 's,^\./w\(.\)/,./moved-from-w\1-,; s,/,-,g; s,^\.-,./,')
			mkdir -p /ext4/w-moved
			mv "/ext4/$f" "/ext4/w-moved/${g#./}" || return 1
			echo "$sum  ./w-moved/${g#./}" >>/tmp/ext4.sums.new
			;;
		2)
			content $((n * 311 + 1)) "rewritten $f" >/tmp/src.churn
			cat /tmp/src.churn >"/ext4/$f" || return 1
			echo "$(md5sum </tmp/src.churn | cut -d' ' -f1)  $f" >>/tmp/ext4.sums.new
			;;
		esac
		n=$((n + 1))
	done </tmp/ext4.sums
	rm -f /tmp/src.churn
	mv /tmp/ext4.sums.new /tmp/ext4.sums
	sync
	[ "$(wc -l </tmp/ext4.sums)" = 120 ] &&
		[ "$(find /ext4/w0 /ext4/w1 /ext4/w-moved -type f | wc -l)" = 120 ]
}
ka_step ext4_rename_delete_rewrite churn_ext4 || status=1
ka_step umount_ext4 umount /ext4 || status=1
echo 3 >/proc/sys/vm/drop_caches
ka_step remount_ext4 mount -t ext4 /dev/loop1 /ext4 || status=1
ka_step ext4_files_verified_after_remount ext4_verify || status=1
links_after_remount() {
	[ "$(readlink /ext4/short-link)" = w0/d0/file-0 ] &&
		[ "$(readlink /ext4/long-link)" = "$long_target" ] &&
		[ "$(readlink /ext4/inline-link)" = "$inline_target" ]
}
ka_step ext4_symlinks_after_remount links_after_remount || status=1
ka_step umount_ext4_again umount /ext4 || status=1
losetup -d /dev/loop1
# the image goes to the host for fsck.ext4
gzip -1 /tmp/ext4.img
ka_put ext4.img.gz /tmp/ext4.img.gz
rm -f /tmp/ext4.img.gz
ka_step rmmod_ext4 rmmod ext4 || status=1
ka_step rmmod_jbd2 rmmod jbd2 || status=1
ka_step rmmod_mbcache rmmod mbcache || status=1
# no cache left, none destroyed with objects out (ka keeps those, "dead")
ext4_caches_gone() {
	[ "$(grep -vc '^#' /sys/kernel/debug/ka/caches)" = "$ncaches0" ] &&
		! grep -q ' dead$' /sys/kernel/debug/ka/caches &&
		! dmesg | grep 'ka: cache .* destroyed with'
}
ka_step ext4_caches_destroyed ext4_caches_gone || status=1

# ---- lib/ self-tests: insmod succeeds only if every case passed
dmesg -c >/dev/null
for t in test_printf test_user_copy; do
	[ ! -f /ka/$t.ko ] || ka_step $t insmod /ka/$t.ko || status=1
done
dmesg >/tmp/libtest.dmesg
ka_put libtest.dmesg /tmp/libtest.dmesg
rmmod test_printf 2>/dev/null
rmmod test_user_copy 2>/dev/null

used_ka() { [ "$(stat_of allocs)" -gt "$allocs0" ]; }
ka_step modules_allocated_from_ka used_ka || status=1
refused=$(( $(stat_of refused_frees) - refused0 ))
ka_msg "KA-NOTE: redirect: ka allocs $(stat_of allocs) (from $allocs0), refused frees $refused"
no_refused() { [ "$refused" = 0 ]; }
ka_step no_refused_frees no_refused || status=1
cat /sys/kernel/debug/ka/stats | head -n 30
ka_step rmmod_ka rmmod ka || status=1
# ka's reports of objects or caches left behind at unload
no_leak_reports() { ! dmesg | grep -E 'ka: .*(destroyed with|unload: cache|never freed|still held)'; }
ka_step no_ka_leak_reports no_leak_reports || status=1
ka_kmemleak_put || true
ka_put tainted /proc/sys/kernel/tainted
echo "tainted: $(cat /proc/sys/kernel/tainted)"
exit $status
