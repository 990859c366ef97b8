#!/bin/sh
# Install the Debian packages listed in tests/system-packages.txt that are not installed yet
# (as root, or through sudo). Part of the README's test command, so a new machine needs no
# separate step; on a machine that has them all it does nothing.
set -eu
list="$(dirname "$0")/system-packages.txt"
missing=""
for pkg in $(grep -v '^#' "$list"); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these Debian packages:$missing. This is not a Debian machine:" \
       "install their equivalents yourself." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing the Debian packages the tests need:$missing"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# The W3C Nu HTML checker (tests/test_html_valid.py), from npm at a pinned version into
# tests/.vnu (git-ignored); it runs with the Java installed above.
VNU_VERSION=26.9.27
vnu="$(dirname "$0")/.vnu"
if [ ! -f "$vnu/node_modules/vnu-jar/build/dist/vnu.jar" ] \
   || ! grep -q "\"version\": \"$VNU_VERSION\"" "$vnu/node_modules/vnu-jar/package.json" 2>/dev/null; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "The tests need npm (Node.js) to install the Nu HTML checker: install Node.js." >&2
    exit 1
  fi
  echo "Installing the Nu HTML checker (vnu-jar $VNU_VERSION) into $vnu"
  npm install --prefix "$vnu" --no-save --no-audit --no-fund "vnu-jar@$VNU_VERSION" >/dev/null
fi

# A real OpenID Connect provider for the sign-in tests (tests/oidc.py runs
# tests/oidc_provider.mjs under Node): npm oidc-provider at a pinned version into tests/.oidc
# (git-ignored). 9.x runs on Node 20 with a warning that it prefers Node 22.
OIDC_PROVIDER_VERSION=9.13.3
oidc="$(dirname "$0")/.oidc"
if [ ! -f "$oidc/node_modules/oidc-provider/package.json" ] \
   || ! grep -q "\"version\": \"$OIDC_PROVIDER_VERSION\"" "$oidc/node_modules/oidc-provider/package.json" 2>/dev/null; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "The tests need npm (Node.js) to install oidc-provider: install Node.js." >&2
    exit 1
  fi
  echo "Installing oidc-provider $OIDC_PROVIDER_VERSION into $oidc"
  npm install --prefix "$oidc" --no-save --no-audit --no-fund "oidc-provider@$OIDC_PROVIDER_VERSION" >/dev/null
fi
