#!/bin/sh
# A throwaway PostgreSQL cluster for the tests and the bench, kept in one
# directory. Every step is bounded in time; on failure the reason (with the
# tail of the server log) goes to stderr and the exit status is non-zero.
#
#   sh scripts/pg.sh start DIR         initdb if needed, start; prints the URL
#   sh scripts/pg.sh createdb DIR NAME  creates database NAME; prints its URL
#   sh scripts/pg.sh halt DIR          stops the server fast, keeps DIR
#   sh scripts/pg.sh resume DIR        starts it again on the same port
#   sh scripts/pg.sh stop DIR          stops the server and removes DIR
#
# The server listens on 127.0.0.1 (a free port, written to DIR/port) and on a
# unix socket in DIR, trusts local connections, has a superuser "rapport",
# commits durably (fsync on) and uses little memory (PG_SHARED_BUFFERS, 64MB
# unless set, is read when the cluster starts). PostgreSQL refuses to run
# as root, so a root caller runs it as the "postgres" user of Debian's package
# (or, without that package's user, a system user made for the purpose).
set -u

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: sh scripts/pg.sh start|halt|resume|stop DIR | createdb DIR NAME" >&2
	exit 2
}

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	usage
fi
case "$dir" in
/*) ;;
*) dir="$(pwd)/$dir" ;;
esac
data="$dir/data"
log="$dir/server.log"

bindir=""
if command -v pg_config >/dev/null 2>&1; then
	b=$(pg_config --bindir 2>/dev/null) && [ -x "$b/initdb" ] && bindir=$b
fi
if [ -z "$bindir" ]; then
	# the newest major version first
	# shellcheck disable=SC2012
	for b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$b/initdb" ]; then
			bindir=$b
			break
		fi
	done
fi
[ -n "$bindir" ] || die "no PostgreSQL server binaries (install Debian's postgresql: make deps)"

# Runs a command as the cluster's owner.
owner=""
if [ "$(id -u)" -eq 0 ]; then
	if id postgres >/dev/null 2>&1; then
		owner=postgres
	else
		owner=rapportpg
		id "$owner" >/dev/null 2>&1 ||
			useradd --system --no-create-home --shell /usr/sbin/nologin "$owner" ||
			die "cannot create the system user $owner to run PostgreSQL"
	fi
fi
as_owner() {
	if [ -n "$owner" ]; then
		(cd / && runuser -u "$owner" -- "$@")
	else
		"$@"
	fi
}

log_tail() {
	if [ -f "$log" ]; then
		echo "--- last lines of $log:" >&2
		tail -n 20 "$log" >&2
	fi
}

port_of() {
	[ -f "$dir/port" ] || die "$dir/port is missing: was the cluster started with pg.sh start?"
	cat "$dir/port"
}

# 0 if something listens on 127.0.0.1:$1.
port_busy() {
	ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

# 0 if this directory's own server runs (whatever else answers on its port).
running() {
	[ -f "$data/PG_VERSION" ] && as_owner timeout 10 "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# pg_ctl waits up to 30 s for the server, itself under a hard limit.
start_server() {
	as_owner timeout 60 "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 30 start >/dev/null 2>&1
}

ready() {
	timeout 10 "$bindir/pg_isready" -q -h 127.0.0.1 -p "$1" -t 5
}

write_conf() {
	cat >"$data/rapport.conf" <<EOF
# written by scripts/pg.sh
port = $1
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = ${PG_SHARED_BUFFERS:-64MB}
work_mem = 4MB
maintenance_work_mem = 32MB
fsync = on
synchronous_commit = on
full_page_writes = on
dynamic_shared_memory_type = posix
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
	chown "${owner:-$(id -u)}" "$data/rapport.conf" 2>/dev/null || true
}

do_start() {
	mkdir -p "$dir" || die "cannot create $dir"
	[ -n "$owner" ] && chown "$owner" "$dir"
	chmod 700 "$dir"
	if [ ! -f "$data/PG_VERSION" ]; then
		if ! as_owner timeout 120 "$bindir/initdb" -D "$data" -U rapport --auth=trust \
			-E UTF8 --locale=C --no-instructions >"$dir/initdb.log" 2>&1; then
			tail -n 20 "$dir/initdb.log" >&2
			die "initdb into $data failed"
		fi
		echo "include_if_exists = 'rapport.conf'" >>"$data/postgresql.conf"
	fi
	if running; then
		die "a server already runs in $dir (port $(cat "$dir/port" 2>/dev/null))"
	fi
	tries=0
	while [ $tries -lt 10 ]; do
		tries=$((tries + 1))
		# below Linux's ephemeral ports (32768 and up), where listen(0) and
		# outgoing connections could take it while the cluster is halted
		port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 16000 + 16000 ))
		port_busy "$port" && continue
		write_conf "$port"
		echo "$port" >"$dir/port"
		: >"$log"
		[ -n "$owner" ] && chown "$owner" "$log"
		if start_server && ready "$port"; then
			echo "postgres://rapport@127.0.0.1:$port/postgres"
			return 0
		fi
		as_owner timeout 30 "$bindir/pg_ctl" -D "$data" -m immediate -t 20 stop >/dev/null 2>&1
		# another process may have taken the port between the check and the bind
		grep -q "could not bind\|Address already in use" "$log" 2>/dev/null || break
	done
	log_tail
	die "PostgreSQL did not start in $dir"
}

do_halt() {
	[ -f "$data/PG_VERSION" ] || die "no cluster in $dir"
	as_owner timeout 30 "$bindir/pg_ctl" -D "$data" -m fast -t 15 stop >/dev/null 2>&1 ||
		as_owner timeout 30 "$bindir/pg_ctl" -D "$data" -m immediate -t 15 stop >/dev/null 2>&1
	if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		log_tail
		die "the server in $dir does not stop"
	fi
}

do_resume() {
	[ -f "$data/PG_VERSION" ] || die "no cluster in $dir"
	port=$(port_of)
	running && return 0	# already up
	if ! start_server || ! ready "$port"; then
		log_tail
		die "PostgreSQL did not start again in $dir on port $port"
	fi
}

do_stop() {
	if [ -f "$data/PG_VERSION" ]; then
		as_owner timeout 30 "$bindir/pg_ctl" -D "$data" -m fast -t 15 stop >/dev/null 2>&1 ||
			as_owner timeout 30 "$bindir/pg_ctl" -D "$data" -m immediate -t 15 stop \
				>/dev/null 2>&1
	fi
	rm -rf "$dir"
}

do_createdb() {
	name=${3:-}
	case "$name" in
	"" | *[!A-Za-z0-9_]*) die "database names are letters, digits and _ (got '$name')" ;;
	esac
	port=$(port_of)
	out=$(PGCONNECT_TIMEOUT=5 timeout 30 "$bindir/psql" -X -q -v ON_ERROR_STOP=1 \
		-h 127.0.0.1 -p "$port" -U rapport -d postgres \
		-c "CREATE DATABASE \"$name\" OWNER rapport TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" 2>&1) ||
		die "cannot create database $name: $out"
	echo "postgres://rapport@127.0.0.1:$port/$name"
}

case "$cmd" in
start) do_start ;;
halt) do_halt ;;
resume) do_resume ;;
stop) do_stop ;;
createdb) do_createdb "$@" ;;
*) usage ;;
esac
