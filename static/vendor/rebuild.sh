#!/usr/bin/env bash
# Rebuild every vendored front-end file from the npm registry, reproducibly.
#
#   static/vendor/govuk-frontend/   govuk-frontend (Sass compiled with a system font)
#   static/vendor/socket.io/        socket.io-client ESM build
#   tests/browser/vendor/           axe-core (browser tests only)
#
# Usage: static/vendor/rebuild.sh        (from anywhere; needs node + npm)
#
# Everything is installed into a temporary directory that is deleted on exit;
# no node_modules/ or package*.json is left in the repository. Versions are
# pinned exactly and the npm tarball integrity of each pinned package is
# checked against the hashes below, so the output is byte-for-byte the same on
# every run. To upgrade, change a version, run the script once, copy the new
# integrity it reports into the matching *_INTEGRITY line, run it again, and
# review the diff.
set -euo pipefail

GOVUK_FRONTEND_VERSION=6.6.0
GOVUK_FRONTEND_INTEGRITY=sha512-xctkWrQvLnvQt7fyjQ3MGX9S0wz0x0RQuLxCeoXF+s8EjGICG81/DYQGKN5qgO+0KVT12UAaRwUsGY6fulRcRg==
SASS_VERSION=1.108.2
SASS_INTEGRITY=sha512-kugK8djotnG9HQRPTOf36asKYlxg8rWWsNLYHOgWDIVOiZQqlRfKBgF4XXM6kfw146kIDMvm57B4GIkvDSyTzA==
SOCKET_IO_CLIENT_VERSION=4.8.4
SOCKET_IO_CLIENT_INTEGRITY=sha512-7wjKAvVXYOJsbmUgkWbnhPD4bFpkqrUR0++XOjpGFmqDqsqV1CI93VTraeExLxpjxEqrWgFoSRZu1ihjLWfkAA==
AXE_CORE_VERSION=4.14.1
AXE_CORE_INTEGRITY=sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==

# URL path under which static/vendor/govuk-frontend/ is served.
GOVUK_URL_PATH=/static/vendor/govuk-frontend

VENDOR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$VENDOR_DIR/../.." && pwd)"
GOVUK_OUT="$VENDOR_DIR/govuk-frontend"
SOCKETIO_OUT="$VENDOR_DIR/socket.io"
AXE_OUT="$REPO_ROOT/tests/browser/vendor"

for tool in node npm sha256sum; do
  command -v "$tool" >/dev/null || { echo "rebuild.sh: $tool is required" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/confer-vendor.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

say() { printf '==> %s\n' "$*"; }
die() { printf 'rebuild.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- install ---
say "installing pinned packages into $WORK"
cat >"$WORK/package.json" <<EOF
{
  "name": "confer-vendor-build",
  "private": true,
  "dependencies": {
    "axe-core": "$AXE_CORE_VERSION",
    "govuk-frontend": "$GOVUK_FRONTEND_VERSION",
    "sass": "$SASS_VERSION",
    "socket.io-client": "$SOCKET_IO_CLIENT_VERSION"
  }
}
EOF
(
  cd "$WORK"
  npm install --ignore-scripts --no-audit --no-fund --no-update-notifier \
    --loglevel=error >/dev/null
)
NM="$WORK/node_modules"

check_pkg() { # name version integrity
  local got_version got_integrity
  got_version="$(node -p "require('$NM/$1/package.json').version")"
  got_integrity="$(node -p "require('$WORK/package-lock.json').packages['node_modules/$1'].integrity")"
  [[ "$got_version" == "$2" ]] || die "$1: installed $got_version, wanted $2"
  [[ "$got_integrity" == "$3" ]] || die "$1@$2: tarball integrity is $got_integrity, expected $3"
  say "$1@$2 ok ($3)"
}
check_pkg govuk-frontend "$GOVUK_FRONTEND_VERSION" "$GOVUK_FRONTEND_INTEGRITY"
check_pkg sass "$SASS_VERSION" "$SASS_INTEGRITY"
check_pkg socket.io-client "$SOCKET_IO_CLIENT_VERSION" "$SOCKET_IO_CLIENT_INTEGRITY"
check_pkg axe-core "$AXE_CORE_VERSION" "$AXE_CORE_INTEGRITY"

STAGE="$WORK/out"
mkdir -p "$STAGE/govuk-frontend" "$STAGE/socket.io" "$STAGE/axe"

# --------------------------------------------------------- govuk-frontend ---
# GDS Transport and the crown/crest are only for GOV.UK services, so:
#  * $govuk-font-family is a system font stack; govuk-frontend then sets
#    $govuk-include-default-font-face to false, so there is no @font-face and
#    no webfont is referenced;
#  * govuk-crest.svg (only used by .govuk-footer__copyright-logo) is replaced
#    by an empty inline SVG, so nothing is fetched and nothing is drawn;
#  * assets/fonts/ is not shipped, nor is assets/images/ + manifest.json, as
#    every image in the package is the crown or the crest.
say "compiling govuk-frontend Sass"
cat >"$WORK/_url-handlers.scss" <<EOF
// Image URL handler for govuk-frontend (\$govuk-image-url-function).
\$images-path: "$GOVUK_URL_PATH/assets/images/";
@function image-url(\$filename) {
  @if \$filename == "govuk-crest.svg" {
    @return url("data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'/%3E");
  }
  @return url(\$images-path + \$filename);
}
EOF
cat >"$WORK/entry.scss" <<EOF
@use "sass:meta";
@use "url-handlers";
@use "pkg:govuk-frontend" with (
  \$govuk-font-family: (system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif),
  \$govuk-assets-path: "$GOVUK_URL_PATH/assets/",
  \$govuk-image-url-function: meta.get-function("image-url", \$module: "url-handlers")
);
EOF
(
  cd "$WORK"
  "$NM/.bin/sass" --pkg-importer=node --style=compressed --no-source-map \
    entry.scss "$STAGE/govuk-frontend/govuk-frontend.min.css"
)
CSS="$STAGE/govuk-frontend/govuk-frontend.min.css"
if grep -q "GDS Transport" "$CSS"; then die "compiled CSS still mentions GDS Transport"; fi
if grep -q "@font-face" "$CSS"; then die "compiled CSS contains @font-face"; fi
# Every url() must be inline data: or a file we ship under assets/.
while IFS= read -r ref; do
  ref="${ref#url(}"; ref="${ref%)}"; ref="${ref#\"}"; ref="${ref%\"}"; ref="${ref#\'}"; ref="${ref%\'}"
  case "$ref" in
    data:*) ;;
    "$GOVUK_URL_PATH/"*)
      [[ -f "$STAGE/govuk-frontend/${ref#"$GOVUK_URL_PATH/"}" ]] \
        || die "compiled CSS references $ref, which is not vendored" ;;
    *) die "compiled CSS references unexpected URL $ref" ;;
  esac
done < <(grep -o 'url([^)]*)' "$CSS" | sort -u)

GF="$NM/govuk-frontend"
cp "$GF/dist/govuk/govuk-frontend.min.js" "$STAGE/govuk-frontend/"
# The npm package ships no licence file (package.json says "MIT"); this is
# LICENSE.txt from the alphagov/govuk-frontend repository.
cat >"$STAGE/govuk-frontend/LICENSE" <<'EOF'
The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
EOF
[[ "$(node -p "require('$GF/package.json').license")" == "MIT" ]] \
  || die "govuk-frontend licence is no longer MIT: review LICENSE"

# ------------------------------------------------------- socket.io-client ---
SIO="$NM/socket.io-client"
cp "$SIO/dist/socket.io.esm.min.js" "$STAGE/socket.io/"
cp "$SIO/LICENSE" "$STAGE/socket.io/LICENSE"

# --------------------------------------------------------------- axe-core ---
AXE="$NM/axe-core"
cp "$AXE/axe.min.js" "$STAGE/axe/"
cp "$AXE/LICENSE" "$STAGE/axe/LICENSE"
cp "$AXE/LICENSE-3RD-PARTY.txt" "$STAGE/axe/LICENSE-3RD-PARTY.txt"

# ------------------------------------------------------------ ES modules ---
say "checking the ES modules parse and export what we use"
cp "$STAGE/govuk-frontend/govuk-frontend.min.js" "$WORK/check-govuk.mjs"
cp "$STAGE/socket.io/socket.io.esm.min.js" "$WORK/check-sio.mjs"
node --input-type=module -e "
  const g = await import('file://$WORK/check-govuk.mjs');
  if (typeof g.initAll !== 'function' || g.version !== '$GOVUK_FRONTEND_VERSION') throw new Error('govuk-frontend.min.js');
  const s = await import('file://$WORK/check-sio.mjs');
  if (typeof s.io !== 'function' || typeof s.default !== 'function') throw new Error('socket.io.esm.min.js');
"
grep -q "axe v$AXE_CORE_VERSION" "$STAGE/axe/axe.min.js" || die "axe.min.js banner does not say v$AXE_CORE_VERSION"

# ------------------------------------------------------------ VERSION.md ---
sums() { (cd "$1" && sha256sum -- "${@:2}" | sed 's/^/    /'); }
SCSS_URL_HANDLERS="$(sed 's/^/    /' "$WORK/_url-handlers.scss")"
SCSS_ENTRY="$(sed 's/^/    /' "$WORK/entry.scss")"
NODE_VERSION_USED="$(node --version)"

cat >"$STAGE/govuk-frontend/VERSION.md" <<EOF
# govuk-frontend $GOVUK_FRONTEND_VERSION

- Package: \`govuk-frontend\` (npm), exact version $GOVUK_FRONTEND_VERSION,
  tarball integrity \`$GOVUK_FRONTEND_INTEGRITY\`
- Licence: MIT (see LICENSE; the npm package ships none, so this is
  LICENSE.txt from the upstream alphagov/govuk-frontend repository)
- Built by \`static/vendor/rebuild.sh\` with \`sass\` $SASS_VERSION (npm).

## Files

- \`govuk-frontend.min.css\`: compiled from the package's Sass (below).
- \`govuk-frontend.min.js\`: \`dist/govuk/govuk-frontend.min.js\` from the
  package, unchanged (an ES module; its trailing \`sourceMappingURL\` comment
  points to a .map file that is not vendored).

Not vendored: \`dist/govuk/assets/\`. Its \`fonts/\` are GDS Transport and
every file in \`images/\` (favicons, app icons, Open Graph image, crest) is
the crown or the royal crest, which only GOV.UK services may use; so
\`manifest.json\`, which only lists those icons, is left out as well. Bring
your own favicon.

## How the CSS was built

Font: a system font stack instead of GDS Transport. Because
\`\$govuk-font-family\` no longer contains "GDS Transport",
\`\$govuk-include-default-font-face\` defaults to false, so the CSS has no
\`@font-face\` and references no font file. \`govuk-crest.svg\` (only used by
\`.govuk-footer__copyright-logo\`) is mapped to an empty inline SVG by a custom
\`\$govuk-image-url-function\`, so the CSS references no file at all.

_url-handlers.scss:

$SCSS_URL_HANDLERS

entry.scss:

$SCSS_ENTRY

Command (in a temporary directory holding node_modules/):

    npx sass --pkg-importer=node --style=compressed --no-source-map entry.scss govuk-frontend.min.css

## SHA-256

$(sums "$STAGE/govuk-frontend" govuk-frontend.min.css govuk-frontend.min.js LICENSE)
EOF

cat >"$STAGE/socket.io/VERSION.md" <<EOF
# socket.io-client $SOCKET_IO_CLIENT_VERSION

- Package: \`socket.io-client\` (npm), exact version $SOCKET_IO_CLIENT_VERSION,
  tarball integrity \`$SOCKET_IO_CLIENT_INTEGRITY\`
- Licence: MIT (LICENSE is the package's own)
- \`socket.io.esm.min.js\` is \`dist/socket.io.esm.min.js\` from the package,
  unchanged (its trailing \`sourceMappingURL\` comment points to a .map file
  that is not vendored). It is a self-contained ES module:

      import { io } from "/static/vendor/socket.io/socket.io.esm.min.js";

- Regenerate with \`static/vendor/rebuild.sh\`.

## SHA-256

$(sums "$STAGE/socket.io" socket.io.esm.min.js LICENSE)
EOF

cat >"$STAGE/axe/VERSION.md" <<EOF
# axe-core $AXE_CORE_VERSION

Used by the browser tests only; never served to users.

- Package: \`axe-core\` (npm), exact version $AXE_CORE_VERSION,
  tarball integrity \`$AXE_CORE_INTEGRITY\`
- Licence: MPL-2.0 (LICENSE is the package's own; LICENSE-3RD-PARTY.txt lists
  the licences of code bundled into axe.min.js)
- \`axe.min.js\` is \`axe.min.js\` from the package, unchanged (a classic
  script that defines the global \`axe\`; inject it into the page, then call
  \`axe.run()\`).
- Regenerate with \`static/vendor/rebuild.sh\`.

## SHA-256

$(sums "$STAGE/axe" axe.min.js LICENSE LICENSE-3RD-PARTY.txt)
EOF

# ---------------------------------------------------------------- install ---
# Replace the managed files only (tests/browser/vendor may hold other things).
say "writing vendored files"
rm -rf "$GOVUK_OUT" "$SOCKETIO_OUT"
mkdir -p "$GOVUK_OUT" "$SOCKETIO_OUT" "$AXE_OUT"
cp "$STAGE/govuk-frontend/"* "$GOVUK_OUT/"
cp "$STAGE/socket.io/"* "$SOCKETIO_OUT/"
cp "$STAGE/axe/"* "$AXE_OUT/"

say "done (node $NODE_VERSION_USED)"
(cd "$REPO_ROOT" && ls -l static/vendor/govuk-frontend static/vendor/socket.io tests/browser/vendor)
