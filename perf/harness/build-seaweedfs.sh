#!/usr/bin/env bash
# Builds the SeaweedFS server (Apache-2.0; its S3 gateway verifies AWS SigV4)
# into $XDRHOOK_PEERS/seaweedfs-$VERSION/weed (default ~/.cache/xdrhook-peers)
# and prints that path. Idempotent: an existing binary is reused.
# `go install` refuses the module (its go.mod has replace directives), so the
# module source is downloaded from the Go proxy, copied to a writable folder
# and built there. ~10-20 min and ~230 MB on 2 cores with a cold cache.
set -euo pipefail
VERSION="${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
PEERS="${XDRHOOK_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/xdrhook-peers}"
out="$PEERS/seaweedfs-$VERSION"
if [ -x "$out/weed" ]; then
	echo "$out/weed"
	exit 0
fi
mkdir -p "$out"
work=$(mktemp -d "$out/build-XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
dir=$(cd "$work" && go mod download -json "github.com/seaweedfs/seaweedfs@$VERSION" |
	sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "go mod download seaweedfs@$VERSION: no Dir" >&2; exit 1; }
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
start=$SECONDS
(cd "$work/src" && go build -trimpath -o "$work/weed" ./weed) >&2
mv "$work/weed" "$out/weed"
echo "built SeaweedFS $VERSION in $((SECONDS - start)) s" >&2
echo "$out/weed"
