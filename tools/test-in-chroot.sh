#!/usr/bin/env bash
# Runs a command of this checkout (default: the README's test command, tools/test.sh) inside a
# pristine Debian root made with debootstrap: nothing but the base system, so every package the
# command needs must be installed by the command itself. Needs root (debootstrap, chroot, mounts).
#
#   tools/test-in-chroot.sh SUITE [COMMAND...]      e.g. tools/test-in-chroot.sh trixie
#
# The checkout (tracked and untracked, not ignored files) is copied to /src in the root. Cached
# between runs on one machine, under $RESIST_CHROOT_CACHE (default /var/cache/resist-ci): the
# debootstrap result as a tarball, and the .deb files apt downloads. Each run unpacks a fresh root
# and removes it at the end; all mounts live in a private mount namespace, so none outlives the run.
# With RESIST_CHROOT_KEEP=DIR the root is DIR instead, made on the first run and kept: later runs
# copy the checkout's changed files over /src and keep what is not in it (build/), for debugging
# there. Do not edit this script while a run of it is under way (bash reads it as it goes).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "test-in-chroot: $*" >&2; exit 1; }
(($# >= 1)) || die "usage: tools/test-in-chroot.sh SUITE [COMMAND...] (SUITE: bookworm, trixie)"
suite=$1
shift
(($# > 0)) || set -- bash tools/test.sh
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=CI,RESIST_CHROOT_CACHE,RESIST_CHROOT_KEEP "$0" "$suite" "$@"

mirror=${RESIST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${RESIST_CHROOT_CACHE:-/var/cache/resist-ci}
tarball=$cache/$suite-minbase.tar
archives=$cache/$suite-apt-archives
mkdir -p "$cache" "$archives/partial"

for tool in debootstrap unshare chroot tar git; do
  command -v "$tool" >/dev/null || {
    echo "test-in-chroot: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
      die "cannot install debootstrap (apt-get install debootstrap failed)"
    break
  }
done

if [ -n "${RESIST_CHROOT_KEEP:-}" ]; then
  root=$RESIST_CHROOT_KEEP
  mkdir -p "$root"
  where="the kept Debian $suite root $root"
else
  root=$(mktemp -d "/var/tmp/resist-$suite-XXXXXX")
  trap 'rm -rf --one-file-system "$root"' EXIT
  where="a pristine Debian $suite root"
fi

if [ -e "$root/src" ]; then
  echo "test-in-chroot: reusing the kept root $root"
elif [ ! -s "$tarball" ]; then
  echo "test-in-chroot: debootstrap $suite (cached afterwards as $tarball)"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 ||
    { tail -n 20 "$root.log" >&2; rm -f "$root.log"; die "debootstrap $suite failed (log above)"; }
  rm -f "$root.log"
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
else
  echo "test-in-chroot: fresh $suite root from $tarball"
  tar -C "$root" -xf "$tarball"
fi

# The machine's name resolution, and the extra certificate authorities it trusts (a TLS-inspecting
# proxy's): npm, which the build runs, checks certificates against them.
cp /etc/resolv.conf /etc/hosts "$root/etc/"
extra_cas=(/usr/local/share/ca-certificates/*.crt)
if [ -e "${extra_cas[0]}" ]; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp "${extra_cas[@]}" "$root/usr/local/share/ca-certificates/"
fi

# apt's downloads go to the cache folder bind-mounted from this machine, which apt's own _apt user
# cannot write to: download as root (apt warns otherwise, on every package).
echo 'APT::Sandbox::User "root";' >"$root/etc/apt/apt.conf.d/99resist-ci"

mkdir -p "$root/src"
if [ -n "${RESIST_CHROOT_KEEP:-}" ]; then
  # Only the files that differ, stamped now: tar would give them their old times, older than what
  # the kept build made from an edited copy, and ninja would not rebuild them.
  while IFS= read -r -d '' f; do
    cmp -s "$f" "$root/src/$f" 2>/dev/null || { mkdir -p "$root/src/$(dirname "$f")" && cp "$f" "$root/src/$f"; }
  done < <(git ls-files -z --cached --others --exclude-standard)
else
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C "$root/src" -xf -
fi

# Inside: trust those CAs (ca-certificates is not in the base system), then run the command.
setup_cas='if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates >/dev/null &&
  update-ca-certificates >/dev/null && export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi'
inside=$(printf '%q ' "$@")
echo "test-in-chroot: running '$*' in $where"
set +e
unshare --mount --propagation private bash -c '
  set -e
  root=$1 archives=$2
  # The root a mount point of its own: `ip netns exec` and `ip -n` make / a slave mount inside,
  # which fails on a plain folder ("mount --make-rslave /" failed: Invalid argument).
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount -t sysfs sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/tmp"
  mount --bind "$archives" "$root/var/cache/apt/archives"
  shift 2
  exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 CI="${CI:-}" bash -c "$0; cd /src && $*"
' "$setup_cas" "$root" "$archives" "$inside"
status=$?
set -e
echo "test-in-chroot: $suite: exit $status"
exit $status
