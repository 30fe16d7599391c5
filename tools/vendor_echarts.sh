#!/bin/sh
# Vendor Apache ECharts into the web console: fetch the pinned release from the npm registry with
# `npm pack` (a tarball; nothing is installed), verify its integrity against the registry's
# SHA-512, and copy dist/echarts.min.js with its LICENSE (and NOTICE) into
# battrace/web/static/vendor/. The copied files are committed, so the server, the tests and CI
# never need the network. Bump the version here and in docs/web.md together.
set -eu

ECHARTS_VERSION="${ECHARTS_VERSION:-6.1.0}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
DEST="$HERE/battrace/web/static/vendor"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack --silent "echarts@$ECHARTS_VERSION" > pack.txt
TARBALL=$(tail -n 1 pack.txt)
EXPECTED=$(npm view "echarts@$ECHARTS_VERSION" dist.integrity)
ACTUAL="sha512-$(openssl dgst -sha512 -binary "$TARBALL" | openssl base64 -A)"
if [ "$EXPECTED" != "$ACTUAL" ]; then
    echo "integrity mismatch for $TARBALL: registry $EXPECTED, file $ACTUAL" >&2
    exit 1
fi
tar -xzf "$TARBALL"
mkdir -p "$DEST"
cp package/dist/echarts.min.js "$DEST/echarts.min.js"
cp package/LICENSE "$DEST/ECHARTS-LICENSE.txt"
if [ -f package/NOTICE ]; then cp package/NOTICE "$DEST/ECHARTS-NOTICE.txt"; fi
printf 'echarts %s\n%s\n' "$ECHARTS_VERSION" "$ACTUAL" > "$DEST/ECHARTS-VERSION.txt"
echo "vendored echarts $ECHARTS_VERSION into $DEST ($(wc -c < "$DEST/echarts.min.js") bytes)"
