#!/bin/sh
# Installs the Debian packages that building, testing and benchmarking rapport
# need, and only those that are missing. Safe to run again.
set -eu
# postgresql: the server (PostgreSQL 15 on Debian 12) that scripts/pg.sh runs
# for the tests and the bench; its binaries live in /usr/lib/postgresql/15/bin.
# clang and libclang-rt-dev: the libFuzzer targets in fuzz/ (its runtime is a
# recommendation of clang, which --no-install-recommends leaves out).
pkgs="build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3
libsodium-dev libpq-dev libcmocka-dev postgresql wrk curl clang libclang-rt-dev openssl"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "make deps: installing$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
