#!/bin/sh
# Builds the kernel and initramfs for real-VM end-to-end tests.
#
# Everything comes from Debian packages: the newest linux-image-6.1.0-*-amd64
# kernel (unsigned flavour preferred) and busybox-static.  The workload
# programs and, when present, statically linked vmrd/vmrctl/vmrd-host are
# added to the image.  Results are cached under OUTDIR so that a second run
# with nothing changed reuses the kernel package and the extracted modules.
#
# Usage: build-image.sh [-o OUTDIR] [--vmrd] [--extra SRC[:DEST]]...
#   -o OUTDIR        output and cache directory (default: build/guest)
#   --vmrd           configure and build static vmrd/vmrctl in OUTDIR/static
#   --extra SRC:DEST add a file to the image (DEST defaults to /usr/bin/NAME)
#   --kernel-deb F   use this kernel package instead of downloading one
#
# Outputs: OUTDIR/vmlinuz, OUTDIR/initramfs.gz, OUTDIR/kernel-release.
# Exit status 77 means the kernel package could not be fetched.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
outdir=build/guest
build_vmrd=0
extras=""
kernel_deb=""

while [ $# -gt 0 ]; do
	case "$1" in
	-o) outdir=$2; shift 2 ;;
	--vmrd) build_vmrd=1; shift ;;
	--extra) extras="$extras $2"; shift 2 ;;
	--kernel-deb) kernel_deb=$2; shift 2 ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "build-image: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

# Parallel e2e tests all call this script on the same directory; one at a
# time keeps the cache consistent.
exec 9>"$outdir/.lock"
flock 9

log() { echo "build-image: $*" >&2; }

# --- kernel package -------------------------------------------------------

debdir=$outdir/debs
mkdir -p "$debdir"

pick_kernel_package() {
	# The unsigned package carries the same kernel without the signed
	# shim wrapper; either works under QEMU's direct kernel boot.
	for flavour in -unsigned ""; do
		apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
			grep -E "^linux-image-6\.1\.0-[0-9]+-amd64$flavour\$" |
			sort -V -r | while read -r pkg; do
				cand=$(apt-cache policy "$pkg" 2>/dev/null |
					sed -n 's/^ *Candidate: //p')
				if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
					echo "$pkg"
					return 0
				fi
			done | head -n 1 | grep . && return 0
	done
	return 1
}

if [ -z "$kernel_deb" ]; then
	kernel_deb=$(ls -1 "$debdir"/linux-image-6.1.0-*-amd64*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$kernel_deb" ]; then
		pkg=$(pick_kernel_package || true)
		# A fresh machine may have no package lists yet.
		if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
			log "no kernel package known; running apt-get update"
			apt-get update -qq >/dev/null 2>&1 || true
			pkg=$(pick_kernel_package || true)
		fi
		if [ -z "$pkg" ]; then
			log "no linux-image-6.1.0-*-amd64 package known to apt (run apt-get update?)"
			exit 77
		fi
		log "downloading $pkg"
		# apt-get download writes into the current directory; the _apt
		# sandbox user may not write there, which apt only warns about.
		if ! (cd "$debdir" && apt-get download -q "$pkg" >/dev/null 2>"$debdir/download.log"); then
			cat "$debdir/download.log" >&2
			log "could not download $pkg"
			exit 77
		fi
		kernel_deb=$(ls -1 "$debdir"/"$pkg"_*.deb | tail -n 1)
	fi
fi
[ -f "$kernel_deb" ] || { log "no kernel package at $kernel_deb"; exit 77; }

kdir=$outdir/kernel
stamp=$kdir/.from
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(basename "$kernel_deb")" ]; then
	log "extracting $(basename "$kernel_deb")"
	rm -rf "$kdir"
	mkdir -p "$kdir"
	dpkg-deb -x "$kernel_deb" "$kdir"
	basename "$kernel_deb" >"$stamp"
fi
krel=$(ls -1 "$kdir/lib/modules" | head -n 1)
moddir=$kdir/lib/modules/$krel
cp -f "$kdir/boot/vmlinuz-$krel" "$outdir/vmlinuz.tmp"
mv -f "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
echo "$krel" >"$outdir/kernel-release"

# --- staging tree ---------------------------------------------------------

stage=$outdir/stage
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/lib/modules" \
	"$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" "$stage/run" \
	"$stage/mnt" "$stage/etc" "$stage/scenarios" "$stage/var/log"

cp "$(command -v busybox)" "$stage/bin/busybox"
file "$stage/bin/busybox" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$stage/bin/busybox" 2>&1 | grep -q 'not a dynamic' ||
	{ log "busybox is not static; install busybox-static"; exit 1; }
ln -s busybox "$stage/bin/sh"

# Modules are loaded by insmod in dependency order; the list below names
# what the guest needs and the order is derived from each module's
# depends= field, so no modules.dep or modprobe is needed in the guest.
find "$moddir/kernel" -name '*.ko*' >"$outdir/modules.list"
find_module() {
	# Module names treat '-' and '_' alike; file names use either.
	grep -E "/$(echo "$1" | sed 's/[-_]/[-_]/g')\.ko(\.xz)?\$" "$outdir/modules.list" | head -n 1
}

module_depends() {
	case "$1" in
	*.xz) xz -dc "$1" ;;
	*) cat "$1" ;;
	esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}

order_file=$stage/lib/modules/order
: >"$order_file"
add_module() {
	# "local" is not POSIX but dash and busybox sh have it, and the
	# recursion below needs its own copy of both names.
	local f dep
	grep -qx "$1" "$order_file" && return 0
	f=$(find_module "$1")
	[ -n "$f" ] || { log "module $1 not found in $krel"; exit 1; }
	for dep in $(module_depends "$f"); do
		add_module "$dep"
	done
	case "$f" in
	*.xz) xz -dc "$f" >"$stage/lib/modules/$1.ko" ;;
	*) cp "$f" "$stage/lib/modules/$1.ko" ;;
	esac
	echo "$1" >>"$order_file"
}

# crc32c must be present before ext4 mounts; the kernel would otherwise
# ask for it through request_module, which this initramfs does not serve.
for m in virtio_pci virtio_mem virtio_console virtio_balloon \
	vmw_vsock_virtio_transport zsmalloc zram virtio_blk \
	crc32c_generic crc32c_intel ext4; do
	add_module "$m"
done
log "kernel $krel, modules: $(tr '\n' ' ' <"$order_file")"

cp "$srcdir/guest/init" "$stage/init"
chmod 0755 "$stage/init"
for s in "$srcdir"/guest/scenarios/*.sh; do
	[ -e "$s" ] || continue
	install -m 0755 "$s" "$stage/scenarios/$(basename "$s" .sh)"
done

# --- workloads ------------------------------------------------------------

wdir=$outdir/workload
mkdir -p "$wdir"
for c in "$srcdir"/guest/workload/*.c; do
	[ -e "$c" ] || continue
	name=$(basename "$c" .c)
	if [ ! -x "$wdir/$name" ] || [ "$c" -nt "$wdir/$name" ]; then
		log "compiling $name"
		${CC:-gcc} -static -O2 -std=gnu11 -Wall -Wextra -Werror -o "$wdir/$name" "$c"
	fi
	cp "$wdir/$name" "$stage/usr/bin/$name"
done

# --- vmrd programs --------------------------------------------------------

sdir=$outdir/static
if [ "$build_vmrd" = 1 ]; then
	if [ ! -f "$sdir/build.ninja" ]; then
		log "configuring static build in $sdir"
		meson setup "$sdir" "$srcdir" -Dstatic=true -Dtests=false \
			-Dhost=disabled -De2e=false >"$outdir/static-setup.log" 2>&1 ||
			log "static configure failed (see $outdir/static-setup.log); continuing without vmrd"
	fi
	if [ -f "$sdir/build.ninja" ]; then
		for t in vmrd vmrctl; do
			ninja -C "$sdir" "src/$t/$t" >>"$outdir/static-build.log" 2>&1 ||
				log "static target $t did not build; continuing without it"
		done
	fi
fi
for t in vmrd vmrctl vmrd-host; do
	for f in "$sdir/src/$t/$t" "$sdir/src/host/$t"; do
		if [ -x "$f" ]; then
			cp "$f" "$stage/usr/bin/$t"
			log "added $t"
			break
		fi
	done
done

for e in $extras; do
	src=${e%%:*}
	dest=${e#*:}
	[ "$dest" = "$e" ] && dest=/usr/bin/$(basename "$src")
	[ -f "$src" ] || { log "extra file $src does not exist"; exit 1; }
	mkdir -p "$stage$(dirname "$dest")"
	cp "$src" "$stage$dest"
	log "added $dest"
done

# --- archive --------------------------------------------------------------

# Fixed timestamps and sorted names make the archive byte-identical for
# identical inputs, so a rebuild with nothing changed leaves the old file.
find "$stage" -exec touch -h -d @0 {} +
tmp=$outdir/initramfs.gz.tmp
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc --reproducible -R 0:0 | gzip -n -6) >"$tmp"
if [ -f "$outdir/initramfs.gz" ] && cmp -s "$tmp" "$outdir/initramfs.gz"; then
	rm -f "$tmp"
	log "initramfs unchanged"
else
	mv -f "$tmp" "$outdir/initramfs.gz"
	log "wrote $outdir/initramfs.gz ($(wc -c <"$outdir/initramfs.gz") bytes)"
fi
