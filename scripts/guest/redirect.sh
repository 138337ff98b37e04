# SPDX-License-Identifier: GPL-2.0
# Guest side of scripts/check's redirect stages: modules of Debian's
# linux-source built with include/ka_redirect.h (scripts/redirect-build)
# doing their work on ka.  /ka/ holds ka.ko, fat.ko, vfat.ko,
# test_printf.ko, test_user_copy.ko (where the series has them), the
# stock kernel's loop.ko and nls_*.ko, and fat.img (made by mkfs.fat).  Runs under busybox sh with the helpers of /ka/lib.sh.
status=0
stat_of() { sed -n "s/^$1 //p" /sys/kernel/debug/ka/stats; }
# "active" column of a cache's line in debugfs caches, or nothing
cache_active() { awk -v n="$1" '$1 == n { print $6 }' /sys/kernel/debug/ka/caches; }
ka_step insmod_ka insmod /ka/ka.ko || exit 1
for m in loop nls_cp437 nls_ascii nls_utf8; do
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
# 400 files of 1..16 KiB of pseudo-random bytes in 8 directories, with
# long names (vfat's slots), their checksums kept outside the image
write_files() {
	i=0
	while [ $i -lt 400 ]; do
		d=/mnt/directory-number-$((i % 8))
		mkdir -p "$d"
		dd if=/dev/urandom of="$d/a-long-file-name-$i.data" bs=1024 \
			count=$((i % 16 + 1)) 2>/dev/null || return 1
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
ka_put tainted /proc/sys/kernel/tainted
echo "tainted: $(cat /proc/sys/kernel/tainted)"
exit $status
