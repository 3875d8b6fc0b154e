#!/bin/sh
# The package test in `make check`: builds the Debian packages
# (scripts/deb.sh, lintian-clean), installs them into a throwaway root and
# checks what an administrator would get:
#  - as root, with dpkg --root and the maintainer scripts run outside a
#    chroot (DPKG_ROOT): the vmrd user from sysusers.d, the state and runtime
#    directories from tmpfiles.d, the enabled units, and the message that
#    says what was skipped because systemd is not running (a running systemd
#    is hidden in a private mount namespace, so nothing on this machine is
#    started or reloaded); then a purge;
#  - otherwise the files only (dpkg -x) and no maintainer scripts;
#  - the installed programs check the installed configurations (-n) and
#    name the /etc paths the man pages give;
#  - systemd-analyze verify on the installed units, their programs and man
#    pages, and the units' exposure scores (systemd-analyze security);
#  - the example plugin builds against the installed header through
#    pkg-config, as a vendor's would.
# Usage: scripts/deb-check.sh OUT        (packages and logs go to OUT)
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: deb-check.sh OUT}

# The dpkg --root install runs in a mount namespace where /run/systemd is
# empty: the postinst scripts then take the no-systemd path on any machine.
if [ "$(id -u)" -eq 0 ] && [ -d /run/systemd/system ] && [ -z "${DEB_CHECK_NS:-}" ]; then
	exec env DEB_CHECK_NS=1 unshare --mount --propagation private \
		sh -c 'mount -t tmpfs tmpfs /run/systemd && exec "$0" "$@"' "$0" "$@"
fi

DEB_BUILD_OPTIONS="nocheck noddebs${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
	"$srcdir/scripts/deb.sh" "$out"
out=$(cd "$out" && pwd)
root=$(mktemp -d /tmp/vmrd-deb-root.XXXXXX)
trap 'rm -rf "$root" "$root.out" "$root.help"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...: the command must succeed
	what=$1
	shift
	if "$@" >"$root.out" 2>&1; then ok "$what"; else not_ok "$what"; sed 's/^/    /' "$root.out"; fi
}
eq() { # eq DESCRIPTION ACTUAL EXPECTED
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}
has() { # has DESCRIPTION FILE PATTERN: a line of FILE matches
	if grep -q -e "$3" "$2"; then ok "$1"; else not_ok "$1 (no '$3' in $2)"; sed 's/^/    /' "$2" | head -n 20; fi
}

debs="vmrd vmrd-host vmrctl libvmrd-dev"
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
	: >"$root/var/lib/dpkg/status"
	# Only the dependencies outside our packages (libc, libinih...) are missing.
	dpkg --root="$root" --force-script-chrootless --force-depends \
		-i "$out"/*.deb >"$out/install.log" 2>&1 && ok "dpkg --root -i" || not_ok "dpkg --root -i"
	has "vmrd postinst says it did not start the unit" "$out/install.log" \
		'^vmrd: systemd is not running, so vmrd.service was not started'
	has "vmrd-host postinst says it did not start the unit" "$out/install.log" \
		'^vmrd-host: systemd is not running, so vmrd-host.service was not started'
	has "sysusers.d created the vmrd user" "$root/etc/passwd" '^vmrd:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$'
	uid=$(sed -n 's/^vmrd:x:\([0-9]*\):.*/\1/p' "$root/etc/passwd")
	eq "tmpfiles.d created /var/lib/vmrd-host (mode, owner)" \
		"$(stat -c '%a %u' "$root/var/lib/vmrd-host" 2>&1)" "750 $uid"
	eq "tmpfiles.d created /run/vmrd-host (mode, owner)" \
		"$(stat -c '%a %u' "$root/run/vmrd-host" 2>&1)" "755 $uid"
	eq "tmpfiles.d created /run/vmrd (mode, owner)" "$(stat -c '%a %u' "$root/run/vmrd" 2>&1)" "755 0"
	for u in vmrd vmrd-host; do
		check "$u.service enabled" test -L "$root/etc/systemd/system/multi-user.target.wants/$u.service"
	done
else
	echo "# not root: files only (dpkg -x), maintainer scripts not run"
	for f in "$out"/*.deb; do dpkg -x "$f" "$root"; done
fi

for p in /usr/sbin/vmrd /usr/sbin/vmrd-host /usr/sbin/vmrctl \
	/lib/systemd/system/vmrd.service /lib/systemd/system/vmrd-host.service \
	/usr/lib/sysusers.d/vmrd-host.conf /usr/lib/tmpfiles.d/vmrd.conf /usr/lib/tmpfiles.d/vmrd-host.conf \
	/etc/vmrd/vmrd.conf /etc/vmrd-host.conf \
	/usr/share/doc/vmrd/examples/vmrd.conf.example \
	/usr/share/doc/vmrd-host/examples/vmrd-host.conf.example \
	/usr/share/man/man8/vmrd.8.gz /usr/share/man/man5/vmrd.conf.5.gz /usr/share/man/man8/vmrctl.8.gz \
	/usr/share/man/man8/vmrd-host.8.gz /usr/share/man/man5/vmrd-host.conf.5.gz \
	/usr/include/vmrd/backend.h /usr/share/pkgconfig/vmrd-backend.pc \
	/usr/share/doc/libvmrd-dev/examples/example.c; do
	check "installed $p" test -f "$root$p"
done

# The installed programs against the installed configurations.
sbin=$root/usr/sbin
check "vmrd -n (the /etc conffile)" "$sbin/vmrd" -n -c "$root/etc/vmrd/vmrd.conf"
check "vmrd -n (the example)" "$sbin/vmrd" -n -c "$root/usr/share/doc/vmrd/examples/vmrd.conf.example"
check "vmrd-host -n (the /etc conffile)" "$sbin/vmrd-host" -n -c "$root/etc/vmrd-host.conf"
check "vmrd-host -n (the example)" "$sbin/vmrd-host" -n -c "$root/usr/share/doc/vmrd-host/examples/vmrd-host.conf.example"
"$sbin/vmrd" -h >"$root.help" 2>&1 || true
has "vmrd reads /etc/vmrd/vmrd.conf by default" "$root.help" 'default /etc/vmrd/vmrd.conf)'
check "vmrd-host reads /etc/vmrd-host.conf by default" grep -q -a -F -x -z /etc/vmrd-host.conf "$sbin/vmrd-host"
zcat "$root/usr/share/man/man8/vmrd.8.gz" >"$root.help"
has "vmrd(8) names /etc/vmrd/vmrd.conf" "$root.help" '^\.Pa /etc/vmrd/vmrd\.conf'
zcat "$root/usr/share/man/man8/vmrd-host.8.gz" >"$root.help"
has "vmrd-host(8) names /etc/vmrd-host.conf" "$root.help" '^\.It Pa /etc/vmrd-host\.conf'
for u in vmrd vmrd-host; do
	has "$u.service runs /usr/sbin/$u" "$root/lib/systemd/system/$u.service" "^ExecStart=/usr/sbin/$u\$"
done
rm -f "$root.help"

# systemd-analyze verify resolves the units' dependencies (targets) and
# programs inside --root: give it the system units and the kill that
# ExecReload= runs.  Our units and programs are the installed ones.
cp -an /lib/systemd/system/. "$root/lib/systemd/system/"
mkdir -p "$root/bin"
cp -n /bin/kill "$root/bin/kill"
check "systemd-analyze verify (units, programs, man pages)" \
	env MANPATH="$root/usr/share/man" systemd-analyze verify --root="$root" vmrd.service vmrd-host.service
for u in vmrd vmrd-host; do
	systemd-analyze security --offline=yes --root="$root" "$u.service" 2>&1 | tail -n 1 | sed 's/^/# /'
done

# A plugin built outside the tree, from the installed header and .pc.
cflags=$(PKG_CONFIG_PATH="$root/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root" \
	pkg-config --cflags vmrd-backend)
check "example plugin builds with pkg-config --cflags vmrd-backend ($cflags)" \
	cc -shared -fPIC -Wall -Werror $cflags -o "$root/plugin.so" \
	"$root/usr/share/doc/libvmrd-dev/examples/example.c"
check "example plugin exports vmrd_backend_plugin_init" \
	sh -c "nm -D --defined-only '$root/plugin.so' | grep -q ' vmrd_backend_plugin_init\$'"

if [ "$(id -u)" -eq 0 ]; then
	# shellcheck disable=SC2086
	dpkg --root="$root" --force-script-chrootless --purge $debs >>"$out/install.log" 2>&1 &&
		ok "dpkg --root --purge" || not_ok "dpkg --root --purge"
	check "purge removed the conffiles" test ! -e "$root/etc/vmrd-host.conf" -a ! -e "$root/etc/vmrd/vmrd.conf"
	check "purge removed the enable links" test ! -e "$root/etc/systemd/system/multi-user.target.wants/vmrd-host.service"
fi

echo "deb-check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
