#!/bin/sh
# Builds a small sandbox image with no registry: Debian's busybox-static package unpacked into a
# root filesystem and `docker import`ed. The tests build the same image themselves through the
# Engine API (openclaw_sandbox::test_image); this script is for trying sandboxes by hand on a
# machine that cannot pull debian:bookworm-slim.
#
#   host/sandbox/image/build-test-image.sh [tag]     (default openclaw-sandbox-test:busybox)
#
# Needs apt-get (Debian's package mirror), dpkg-deb and the docker CLI.
set -eu

tag="${1:-openclaw-sandbox-test:busybox}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
apt-get download busybox-static
mkdir rootfs
dpkg-deb -x busybox-static_*.deb rootfs
rm -rf rootfs/usr/share

cd rootfs
mkdir -p etc tmp var/tmp run proc sys dev root workspace agent usr/bin
chmod 1777 tmp var/tmp
chmod 0777 workspace
for applet in $(./bin/busybox --list); do
    [ -e "bin/$applet" ] || ln -s busybox "bin/$applet"
done
ln -sf /bin/busybox usr/bin/env
printf 'root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/workspace:/bin/sh\n' > etc/passwd
printf 'root:x:0:\nsandbox:x:1000:\n' > etc/group

tar -c . | docker import - "$tag"
echo "built $tag"
