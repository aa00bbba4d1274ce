#!/bin/sh
# scripts/install-deps.sh's logic, with apt and dpkg replaced by fakes in
# PATH (the real ones must not run in a test): what it installs for --demo
# and for everything, that it says what it adds to apt's sources, that apt
# waits for the dpkg lock, what a user (not root) is told, and that every
# package a test script checks for is in its list.
# Usage: install_deps.sh SOURCE_DIR
set -eu
src=$1
deps=$src/scripts/install-deps.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "install_deps: FAIL: $*" >&2; fails=$((fails + 1)); }

mkdir "$dir/bin"
# dpkg-query -W -f=... PKG: installed unless PKG is in $MISSING
cat >"$dir/bin/dpkg-query" <<'FAKE'
#!/bin/sh
for p; do :; done
case " $MISSING " in *" $p "*) exit 1 ;; esac
printf 'install ok installed'
FAKE
# dpkg --print-architecture / --print-foreign-architectures / the rest
cat >"$dir/bin/dpkg" <<'FAKE'
#!/bin/sh
case $1 in
--print-architecture) echo amd64 ;;
--print-foreign-architectures) echo "$FOREIGN" ;;
*) echo "dpkg $*" >>"$LOG" ;;
esac
FAKE
cat >"$dir/bin/apt-get" <<'FAKE'
#!/bin/sh
[ "$1" = indextargets ] && { echo "$SRC_CODENAME"; exit 0; }
echo "apt-get $*" >>"$LOG"
FAKE
printf '#!/bin/sh\necho "${FAKE_UID:-0}"\n' >"$dir/bin/id"
# apt-cache showsrc qemu: known unless $NO_INDEX
printf '#!/bin/sh\n[ -n "$NO_INDEX" ] || echo "Package: qemu"\n' >"$dir/bin/apt-cache"
chmod +x "$dir/bin/"*

# deps_run ARGS...: run install-deps.sh with the fakes; output in $out, $rc
deps_run() {
	: >"$dir/log"
	rc=0
	env PATH="$dir/bin:$PATH" LOG="$dir/log" MISSING="${MISSING:-}" \
		FOREIGN="${FOREIGN-arm64}" SRC_CODENAME="${SRC_CODENAME-x}" \
		FAKE_UID="${FAKE_UID:-0}" NO_INDEX="${NO_INDEX:-}" \
		IVSHMEM_APT_SRC_LIST="$dir/ivshmem-ipm-src.sources" \
		sh "$deps" "$@" >"$dir/out" 2>&1 || rc=$?
	out=$(cat "$dir/out")
	log=$(cat "$dir/log")
}
has() { printf '%s\n' "$1" | grep -qF -- "$2"; }
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

# Nothing missing: nothing run.
deps_run
[ $rc -eq 0 ] && [ -z "$log" ] || fail "all installed: rc $rc, ran '$log'"

# --demo: the build's packages only, said, with the lock waited for.
MISSING="libedit-dev qemu-system-x86 spin" deps_run --demo
[ $rc -eq 0 ] || fail "--demo: rc $rc: $out"
has "$out" "install-deps: installing libedit-dev" || fail "--demo does not say what it installs: $out"
has "$log" "apt-get -q -o DPkg::Lock::Timeout=600 install -y --no-install-recommends libedit-dev" ||
	fail "--demo: no install of libedit-dev waiting for the lock: $log"
has "$log" "qemu" && fail "--demo installs QEMU: $log"
has "$log" "-o DPkg::Lock::Timeout=600 update" || fail "--demo: no apt-get update waiting for the lock: $log"

# --dry-run: says, runs nothing.
MISSING="libedit-dev" deps_run --demo --dry-run
[ $rc -eq 0 ] && [ -z "$log" ] || fail "--dry-run ran '$log'"
has "$out" "would run: apt-get -q -o DPkg::Lock::Timeout=600 install -y --no-install-recommends libedit-dev" ||
	fail "--dry-run does not show the install: $out"

# Everything: the test packages, a deb-src source and arm64, each said.
MISSING="spin meson systemd" FOREIGN='' SRC_CODENAME='' deps_run
[ $rc -eq 0 ] || fail "full: rc $rc: $out"
for p in spin meson systemd; do
	printf '%s\n' "$out" | grep -q "^install-deps: installing.* $p\( \|$\)" ||
		fail "full: does not say it installs $p: $out"
	has "$log" "--no-install-recommends" && printf '%s\n' "$log" | grep -qw -- "$p" ||
		fail "full: does not install $p: $log"
done
if [ -n "$codename" ]; then
	has "$out" "install-deps: adding deb-src for $codename to $dir/ivshmem-ipm-src.sources" ||
		fail "full: does not say it adds deb-src: $out"
	grep -q "^Types: deb-src" "$dir/ivshmem-ipm-src.sources" ||
		fail "full: no deb-src source written"
fi
has "$out" "install-deps: adding architecture arm64" || fail "full: does not say it adds arm64: $out"
has "$log" "dpkg --add-architecture arm64" || fail "full: no dpkg --add-architecture: $log"
rm -f "$dir/ivshmem-ipm-src.sources"

# Only the source index missing (deb-src added, never updated): updated.
NO_INDEX=1 deps_run
[ $rc -eq 0 ] && has "$log" "update" && ! has "$log" "install" ||
	fail "no source index: rc $rc, ran '$log'"

# Not root: lists what is missing; --demo fails (the build cannot go on).
FAKE_UID=1000 MISSING="libedit-dev" deps_run --demo
[ $rc -eq 1 ] && [ -z "$log" ] && has "$out" "missing: Debian packages: libedit-dev" ||
	fail "user --demo: rc $rc, '$out', ran '$log'"
FAKE_UID=1000 MISSING="spin" deps_run
[ $rc -eq 0 ] && [ -z "$log" ] && has "$out" "spin" ||
	fail "user: rc $rc, '$out', ran '$log'"

deps_run --bogus
[ $rc -eq 2 ] || fail "a bad option: rc $rc"

# Not Debian (no dpkg-query): says so, installs nothing, does not fail.
mkdir "$dir/nodeb"
for t in sh env cat grep sed id; do ln -s "$(command -v $t)" "$dir/nodeb/$t"; done
rc=0
env PATH="$dir/nodeb" sh "$deps" --demo >"$dir/out" 2>&1 || rc=$?
[ $rc -eq 0 ] && grep -q "not a Debian system" "$dir/out" ||
	fail "without dpkg-query: rc $rc: $(cat "$dir/out")"

# Every package build-qemu-ref.sh checks for is in the list.
list=$(sed -n '/^DEMO_PKGS=/,/^# procps/p' "$deps")
for p in $(sed -n '/^PKGS="/,/"$/p' "$src/tests/interop/build-qemu-ref.sh" |
	   sed 's/^PKGS="//; s/[\\"]//g'); do
	printf '%s\n' "$list" | grep -qw -- "$p" ||
		fail "build-qemu-ref.sh needs $p, install-deps.sh does not list it"
done

[ $fails -eq 0 ] || exit 1
echo "install_deps: ok"
