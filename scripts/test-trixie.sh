#!/usr/bin/env bash
# Builds and tests tsyolo in a Debian 13 (trixie) chroot, against Debian's libtorch 2.6:
#   scripts/test-trixie.sh cpu    libtorch-dev: `make test`, the whole suite       (make test-trixie)
#   scripts/test-trixie.sh cuda   libtorch-cuda-dev (CUDA, NCCL): build, load, check that CUDA is
#                                 reported unavailable without a GPU, packages/torch's tests
#                                 (make test-trixie-cuda)
# The chroot .trixie/<flavour> is created on first use (debootstrap; about 2 GB for cpu, more for
# cuda) and its packages installed; later runs reuse it. The working tree (minus what .gitignore
# ignores) is synced into .trixie/<flavour>/work/tsyolo, whose node_modules and build outputs are
# kept between runs, so nothing here touches this tree's own build. Needs root.
# TRIXIE_MIRROR overrides the Debian mirror (default: the one this machine's apt uses).
# While it runs, /proc, /dev and /sys are mounted inside the chroot; they are unmounted on exit.
# Never `rm -rf .trixie` while a run is in progress.
set -euo pipefail

flavour=${1:-cpu}
case $flavour in
  cpu) torch_pkgs=(libtorch-dev libgloo-dev ffmpeg chromium) ;;
  cuda) torch_pkgs=(libtorch-cuda-dev libgloo-cuda-dev libnccl-dev) ;;
  *) echo "usage: $0 [cpu|cuda]" >&2; exit 2 ;;
esac
packages=(ca-certificates nodejs npm libnode-dev g++ make python3 libopenblas0-openmp "${torch_pkgs[@]}")

[ "$(id -u)" = 0 ] || { echo "$0: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${TRIXIE_ROOT:-$repo/.trixie}/$flavour
mkdir -p "$(dirname "$root")"

# one run per chroot at a time (the mounts are shared)
exec 9>"$root.lock"
flock -n 9 || { echo "$0: another run is using $root" >&2; exit 1; }

host_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE 'https?://[^[:space:]]+/debian/?([[:space:]]|$)' | head -1 | tr -d '[:space:]' | sed 's:/$::' || true
}
mirror=${TRIXIE_MIRROR:-$(host_mirror)}
mirror=${mirror:-http://deb.debian.org/debian}

apt_host() {
  command -v "$1" >/dev/null 2>&1 && return
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1 || {
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null
  }
}
apt_host debootstrap debootstrap
apt_host rsync rsync

if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "== creating the trixie chroot $root from $mirror"
  if grep -q " $root/" /proc/mounts; then
    echo "$0: something is still mounted under $root (see /proc/mounts): unmount it first" >&2
    exit 1
  fi
  rm -rf --one-file-system "$root"
  debootstrap --variant=minbase --components=main,contrib,non-free --include=ca-certificates \
    trixie "$root" "$mirror"
  echo "deb $mirror trixie main contrib non-free" >"$root/etc/apt/sources.list"
fi

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -R "${mounted[i]}" 2>/dev/null || umount -lR "${mounted[i]}" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount_in() {  # mount_in DIR ARGS...: mounts (unless a stopped run left it mounted), unmounted on exit
  local dir=$root/$1
  shift
  mounted+=("$dir")
  mountpoint -q "$dir" && return
  mount "$@" "$dir"
  mount --make-rslave "$dir" 2>/dev/null || true
}
mount_in proc -t proc proc
mount_in sys --rbind /sys
mount_in dev --rbind /dev
cp /etc/resolv.conf /etc/hosts "$root/etc/"  # name resolution as here (Gloo binds to the hostname's address)

in_chroot() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -euo pipefail -c "$1"
}

# packages: installed when the list changed since the last run (or on a fresh chroot)
stamp=$root/.tsyolo-packages
if [ "$(cat "$stamp" 2>/dev/null)" != "${packages[*]}" ]; then
  echo "== installing: ${packages[*]}"
  # libtorch-cuda needs nvidia-cudnn, which downloads cuDNN from NVIDIA once its licence is accepted.
  # It is declined unless TRIXIE_CUDNN_LICENSE='I Agree' (where NVIDIA's site can be reached).
  in_chroot "echo 'nvidia-cudnn nvidia-cudnn/question select ${TRIXIE_CUDNN_LICENSE:-I Decline}' | debconf-set-selections"
  in_chroot "apt-get update -q && apt-get install -y -q --no-install-recommends ${packages[*]} && apt-get clean"
  echo "${packages[*]}" >"$stamp"
fi

# Without cuDNN, libtorch_cuda.so (linked with BIND_NOW) cannot load. Where it is missing, a stub
# libcudnn.so.9 defines the cudnn* functions libtorch_cuda imports, each returning an error status
# (CUDNN_STATUS_NOT_INITIALIZED): enough to load and to run on the CPU, never to use a GPU.
if [ "$flavour" = cuda ]; then
  in_chroot '
    ldconfig -p | grep "libcudnn\.so\.9 " >/dev/null && exit 0
    echo "== no cuDNN: installing a stub libcudnn.so.9 (loading only) in /usr/local/lib/cudnn-stub"
    d=/usr/local/lib/cudnn-stub
    mkdir -p $d
    nm -D --undefined-only /usr/lib/x86_64-linux-gnu/libtorch_cuda.so |
      sed -n "s/^ *U \(cudnn[A-Za-z0-9_]*\)@libcudnn\.so\.9$/int \1(void) { return 1; }/p" >$d/stub.c
    echo "libcudnn.so.9 { global: cudnn*; local: *; };" >$d/stub.map
    gcc -shared -fPIC -o $d/libcudnn.so.9 -Wl,-soname,libcudnn.so.9 -Wl,--version-script=$d/stub.map $d/stub.c
    echo $d >/etc/ld.so.conf.d/cudnn-stub.conf
    ldconfig'
fi

# trust the certificate authorities this machine adds to Debian's (a TLS-inspecting proxy's, for npm)
if [ -d /usr/local/share/ca-certificates ] &&
  ! diff -rq /usr/local/share/ca-certificates "$root/usr/local/share/ca-certificates" >/dev/null 2>&1; then
  rsync -a --delete /usr/local/share/ca-certificates/ "$root/usr/local/share/ca-certificates/"
  in_chroot "update-ca-certificates >/dev/null 2>&1"
fi

# the working tree, as git would see it (the chroot's node_modules, dist and build outputs are kept:
# excluded files are not deleted)
echo "== syncing the working tree into $root/work/tsyolo"
mkdir -p "$root/work/tsyolo"
rsync -a --delete --exclude=/.git --exclude=/.trixie --filter=':- .gitignore' "$repo/" "$root/work/tsyolo/"
# the optional full fixture set (fixtures/README.md): TSYOLO_FULL_FIXTURES, as the Makefile sets it
full=${TSYOLO_FULL_FIXTURES:-$(make -s -C "$repo" print-full-fixtures)}
if [ -n "$full" ] && [ -d "$full" ]; then
  mkdir -p "$root/work/full-fixtures"
  rsync -a --delete "$full/" "$root/work/full-fixtures/yolov5n/"
fi

cd_repo='cd /work/tsyolo && echo "node $(node --version), $(g++ --version | head -1)" &&
  if [ -d /work/full-fixtures/yolov5n ]; then export TSYOLO_FULL_FIXTURES=/work/full-fixtures/yolov5n; fi'
case $flavour in
  cpu)
    in_chroot "$cd_repo && make test"
    ;;
  cuda)
    in_chroot "$cd_repo && make fixtures && node scripts/check-cuda-build.mjs &&
      node --test --test-concurrency=1 packages/torch/dist/test/*.test.js"
    ;;
esac
echo "== trixie $flavour: ok"
