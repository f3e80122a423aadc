#!/bin/sh
# rapport benchmark: builds (or reuses) a seeded data set, starts
# `rapport serve` on 127.0.0.1 and loads it with wrk. See bench/README.md.
#
# Called by `make bench` (after `make all bench-bins`) from the repository root.
# The store: SQLite by default; DB=postgres://... (make bench DB=...) loads the
# data set into that PostgreSQL database with `rapport copy` and serves it;
# DB=pg does the same in a throwaway cluster (scripts/pg.sh) stopped at the end.
# Exit status: 0 when every run completed (targets met or not: it is a
# benchmark, not a test); 1 when something broke (server died or never came up,
# wrk failed, error responses); 2 for bad settings.
set -eu

cd "$(dirname "$0")/.."

# the store to bench: empty = SQLite; "pg" = a throwaway PostgreSQL cluster;
# postgres://... = that database (its contents are replaced)
TARGET=${BENCH_DB:-${DB:-}}
RAPPORT=${RAPPORT:-build/rapport}
GEN=${BENCH_GEN:-build/bench-gen}
CALIB=${BENCH_CALIB:-build/bench-calib}
BENCH_DIR=${BENCH_DIR:-build/benchdata}
SEED=${BENCH_SEED:-42}
ORGS=${BENCH_ORGS:-10000}
PEOPLE=${BENCH_PEOPLE:-50000}
AFFILIATIONS=${BENCH_AFFILIATIONS:-60000}
INTERACTIONS=${BENCH_INTERACTIONS:-500000}
YEARS=${BENCH_YEARS:-3}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
REPEAT=${BENCH_REPEAT:-3}
PORT=${BENCH_PORT:-}
SERVER_ARGS=${BENCH_SERVER_ARGS:-}
ADMIN=bench@example.com

say() { printf '%s\n' "bench: $*" >&2; }
die() { say "$*"; exit 1; }

for kv in "BENCH_SEED=$SEED" "BENCH_ORGS=$ORGS" "BENCH_PEOPLE=$PEOPLE" \
	"BENCH_AFFILIATIONS=$AFFILIATIONS" "BENCH_INTERACTIONS=$INTERACTIONS" \
	"BENCH_YEARS=$YEARS" "BENCH_CONNECTIONS=$CONNS" "BENCH_THREADS=$THREADS" \
	"BENCH_PORT=${PORT:-0}" "BENCH_REPEAT=$REPEAT"; do
	case ${kv#*=} in
	'' | *[!0-9]*) say "${kv%%=*} must be a whole number (got '${kv#*=}')"; exit 2 ;;
	esac
done
[ "$ORGS" -ge 1 ] || { say "BENCH_ORGS must be at least 1"; exit 2; }
[ "$REPEAT" -ge 1 ] || { say "BENCH_REPEAT must be at least 1"; exit 2; }

# Seconds in a wrk duration (10, 10s, 2m, 1h), to bound each run.
seconds() {
	case $1 in
	*[!0-9smh]* | '') say "bad duration '$1'"; exit 2 ;;
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}
DUR_S=$(seconds "$DURATION")
WARM_S=$(seconds "$WARMUP")

for bin in "$RAPPORT" "$GEN" "$CALIB"; do
	[ -x "$bin" ] || die "$bin is missing; run 'make all bench-bins' first"
done
for tool in wrk curl sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
case $TARGET in
'' | sqlite) BACKEND=sqlite ;;
pg | postgres | postgresql) BACKEND=postgres PG_OWN=1 ;;
postgres://* | postgresql://*) BACKEND=postgres PG_OWN= ;;
*) say "DB must be empty (SQLite), pg (a throwaway PostgreSQL) or a postgres:// URL (got '$TARGET')"; exit 2 ;;
esac

mkdir -p "$BENCH_DIR"
BASE=$BENCH_DIR/base.db
STAMP=$BENCH_DIR/base.stamp
RUN_DB=$BENCH_DIR/run.db
SERVER_LOG=${BENCH_SERVER_LOG:-$BENCH_DIR/server.log}

# --- the data set: generated once per seed, sizes, generator and schema -------
schema_sum=$(cat src/store/migrations/sqlite/*.sql | cksum | cut -d' ' -f1)
gen_sum=$(cksum <bench/gen.c | cut -d' ' -f1)
KEY="seed=$SEED orgs=$ORGS people=$PEOPLE affiliations=$AFFILIATIONS interactions=$INTERACTIONS years=$YEARS gen=$gen_sum schema=$schema_sum"

if [ -f "$STAMP" ] && [ -f "$BASE" ] && [ "$(sed -n 1p "$STAMP")" = "$KEY" ]; then
	say "reusing the data set in $BASE ($KEY)"
else
	say "generating the data set ($KEY)"
	rm -f "$STAMP" "$BASE" "$BASE-wal" "$BASE-shm"
	RAPPORT_ADMIN_PASSWORD=bench-password-not-secret "$RAPPORT" init --db "$BASE" \
		--admin "$ADMIN" >/dev/null 2>"$BENCH_DIR/init.log" ||
		{ cat "$BENCH_DIR/init.log" >&2; die "rapport init failed"; }
	"$GEN" --db "$BASE" --seed "$SEED" --orgs "$ORGS" --people "$PEOPLE" \
		--affiliations "$AFFILIATIONS" --interactions "$INTERACTIONS" --years "$YEARS" \
		>"$BENCH_DIR/gen.log" || { cat "$BENCH_DIR/gen.log" >&2; die "bench-gen failed"; }
	sed 's/^/  /' "$BENCH_DIR/gen.log" >&2
	ids=$(tail -n 1 "$BENCH_DIR/gen.log")
	case $ids in busiest_org=*) ;; *) die "bench-gen printed no summary line" ;; esac
	printf '%s\n%s\n' "$KEY" "$ids" >"$STAMP"
fi
ids=$(sed -n 2p "$STAMP")
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
BUSIEST=$(field busiest_org "$ids")
BUSIEST_COUNT=$(field busiest_count "$ids")
MIN_ORG=$(field min_org_id "$ids")
MAX_ORG=$(field max_org_id "$ids")
if [ -z "$BUSIEST" ] || [ -z "$MAX_ORG" ]; then
	die "bad stamp file $STAMP; delete it"
fi

# --- cleanup: the server, and a throwaway cluster ---------------------------
SERVER_PID=
PG_DIR=
cleanup() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		i=0
		while kill -0 "$SERVER_PID" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$SERVER_PID" 2>/dev/null; then
			say "server did not stop after SIGTERM; killing it"
			kill -KILL "$SERVER_PID" 2>/dev/null || true
		fi
	fi
	SERVER_PID=
}
# shellcheck disable=SC2317 # called from the traps
cleanup_all() {
	cleanup
	if [ -n "$PG_DIR" ]; then
		sh scripts/pg.sh stop "$PG_DIR" >/dev/null 2>&1 || say "could not stop the cluster in $PG_DIR"
		PG_DIR=
	fi
}
trap cleanup_all EXIT
trap 'cleanup_all; exit 130' INT
trap 'cleanup_all; exit 143' TERM

# --- the store of this run ---------------------------------------------------
# Each run works on a fresh copy, so the POSTs of one run do not grow the next.
if [ "$BACKEND" = sqlite ]; then
	STORE=$RUN_DB
	STORE_SHOWN=$RUN_DB
	rm -f "$RUN_DB" "$RUN_DB-wal" "$RUN_DB-shm"
	cp "$BASE" "$RUN_DB"
	# Write the copy out now: otherwise the first durable commits wait behind
	# hundreds of MB of dirty pages, and the POST figure measures the copy.
	sync
else
	if [ -n "$PG_OWN" ]; then
		# outside the repository: the cluster may run as another user (pg.sh)
		PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rapport-bench-pg.XXXXXX")
		say "starting a throwaway PostgreSQL cluster in $PG_DIR"
		# shared_buffers as a server with memory to spare would have them
		PG_SHARED_BUFFERS=${BENCH_PG_SHARED_BUFFERS:-512MB} \
			sh scripts/pg.sh start "$PG_DIR" >"$BENCH_DIR/pg.log" 2>&1 ||
			{ cat "$BENCH_DIR/pg.log" >&2; die "scripts/pg.sh start failed"; }
		STORE=$(sh scripts/pg.sh createdb "$PG_DIR" rapport_bench 2>>"$BENCH_DIR/pg.log" | tail -n 1)
		case $STORE in postgres://*) ;; *) cat "$BENCH_DIR/pg.log" >&2; die "scripts/pg.sh createdb failed" ;; esac
		# A server on the same machine is reached over its unix socket, as
		# libpq does by default; BENCH_PG_TCP=1 goes through 127.0.0.1.
		if [ -z "${BENCH_PG_TCP:-}" ]; then
			STORE="postgresql:///rapport_bench?host=$PG_DIR&port=$(cat "$PG_DIR/port")&user=rapport"
		fi
	else
		STORE=$TARGET
	fi
	# the URL without a password, for the report
	STORE_SHOWN=$(printf '%s\n' "$STORE" | sed 's#^\([a-z]*://[^:/@]*\):[^@/]*@#\1:***@#')
	say "loading the data set into $STORE_SHOWN (rapport init, then rapport copy --force)"
	RAPPORT_ADMIN_PASSWORD=bench-password-not-secret "$RAPPORT" init --db "$STORE" \
		--admin "$ADMIN" >/dev/null 2>"$BENCH_DIR/init-pg.log" ||
		{ cat "$BENCH_DIR/init-pg.log" >&2; die "rapport init --db $STORE_SHOWN failed"; }
	t0=$(date +%s)
	"$RAPPORT" copy --from "$BASE" --to "$STORE" --force >"$BENCH_DIR/copy.txt" 2>"$BENCH_DIR/copy.log" ||
		{ cat "$BENCH_DIR/copy.txt" "$BENCH_DIR/copy.log" >&2; die "rapport copy into $STORE_SHOWN failed"; }
	say "copied in $(($(date +%s) - t0)) s (report in $BENCH_DIR/copy.txt)"
	# Fresh statistics and visibility map after the bulk load, as an operator
	# would after a copy; then a checkpoint, so that the POST figure does not
	# pay for writing out the load.
	if command -v psql >/dev/null 2>&1; then
		PGCONNECT_TIMEOUT=10 timeout 600 psql -X -q -d "$STORE" -c 'VACUUM (ANALYZE)' >/dev/null ||
			say "warning: VACUUM (ANALYZE) failed; the planner has no statistics yet"
		PGCONNECT_TIMEOUT=10 timeout 300 psql -X -q -d "$STORE" -c 'CHECKPOINT' >/dev/null 2>&1 ||
			say "note: CHECKPOINT needs a superuser; skipped"
	else
		say "warning: no psql: the freshly loaded tables are not analysed"
	fi
fi
TOKEN=$("$RAPPORT" token create --db "$STORE" --user "$ADMIN" --name bench 2>/dev/null | tail -n 1)
[ -n "$TOKEN" ] || die "rapport token create gave no token"

# --- the server ------------------------------------------------------------
port_free() { [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }
if [ -z "$PORT" ]; then
	i=0
	while :; do
		PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		port_free "$PORT" && break
		i=$((i + 1))
		[ $i -lt 50 ] || die "found no free port"
	done
fi

BASEURL=http://127.0.0.1:$PORT
# shellcheck disable=SC2086 # SERVER_ARGS is a list of words on purpose
"$RAPPORT" serve --db "$STORE" --listen "127.0.0.1:$PORT" $SERVER_ARGS 2>"$SERVER_LOG" &
SERVER_PID=$!

i=0
until curl -fsS --max-time 1 "$BASEURL/healthz" >/dev/null 2>&1; do
	kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$SERVER_LOG" >&2; die "the server exited at start"; }
	i=$((i + 1))
	[ $i -lt 150 ] || die "the server did not answer /healthz within 30 s"
	sleep 0.2
done
say "server pid $SERVER_PID on $BASEURL (log: $SERVER_LOG)"

alive() {
	kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$SERVER_LOG" >&2; die "the server died"; }
}

# One request of each kind must work before timing anything.
check() { # PATH [must-contain]
	out=$(curl -sS --max-time 10 -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$BASEURL$1") ||
		die "GET $1 failed"
	code=$(printf '%s' "$out" | tail -n 1)
	[ "$code" = 200 ] || die "GET $1 answered $code: $(printf '%s' "$out" | head -c 300)"
	if [ -n "${2:-}" ]; then
		case $out in *"$2"*) ;; *) say "warning: GET $1 returned no records" ;; esac
	fi
}
check "/api/v1/organizations/$BUSIEST"
check "/api/v1/organizations/$BUSIEST/timeline?limit=50" '"id"'
check "/api/v1/interactions?q=invoice&kind=email&limit=20" '"id"'

export BENCH_TOKEN="$TOKEN" BENCH_MIN_ORG="$MIN_ORG" BENCH_MAX_ORG="$MAX_ORG" \
	BENCH_BUSIEST_ORG="$BUSIEST" BENCH_LUA_DIR=bench

BROKEN=0
# run_wrk NAME SCRIPT DURATION_SECONDS: prints the BENCH_RESULT fields
run_wrk() {
	log=$BENCH_DIR/wrk-$1.txt
	if ! timeout $(($3 + 60)) wrk -t"$THREADS" -c"$CONNS" -d"$3"s --latency -s "bench/$2" \
		"$BASEURL" >"$log" 2>&1; then
		cat "$log" >&2
		alive
		die "wrk failed for $1"
	fi
	alive
	res=$(sed -n 's/^BENCH_RESULT //p' "$log")
	[ -n "$res" ] || { cat "$log" >&2; die "no result from wrk for $1"; }
	printf '%s\n' "$res"
}

# The machine's pace now: one process-to-process round trip (bench/calib.c).
calib() {
	v=$("$CALIB") || return 1
	printf '%s\n' "${v#pipe_round_trip_us=}"
}
CALIB_BEFORE=$(calib) || { say "warning: $CALIB failed"; CALIB_BEFORE='?'; }

say "warming up (${WARM_S}s each)"
run_wrk warmup-get get_org.lua "$WARM_S" >/dev/null
run_wrk warmup-list list_q.lua "$WARM_S" >/dev/null

# awk functions for a BENCH_RESULT line: parse(line, v) fills v by field
# name; rate(v) is the successful requests per second (mode "post": 201s)
AWK_RESULT='
function parse(r, v,   n, i, kv, p) {
	n = split(r, kv, " ")
	for (i = 1; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
}
function rate(v,   secs, count) {
	secs = v["duration_us"] / 1e6
	count = (mode == "post") ? v["ok"] : v["requests"] - v["non2xx"]
	return secs > 0 ? count / secs : 0
}
'

# run_median NAME SCRIPT MODE: REPEAT timed runs of DURATION; prints their
# BENCH_RESULT lines, the run with the median rate first (wrk-NAME-K.txt).
run_median() {
	k=1
	all=
	while [ "$k" -le "$REPEAT" ]; do
		all="$all$(run_wrk "$1-$k" "$2" "$DUR_S")
"
		k=$((k + 1))
	done
	printf '%s' "$all" | awk -v mode="$3" "$AWK_RESULT"'{
		delete v
		parse($0, v)
		printf "%.3f %s\n", rate(v), $0
	}' | sort -n | awk -v m=$(((REPEAT + 1) / 2)) '{ sub(/^[^ ]* /, ""); l[NR] = $0 }
		END { print l[m]; for (i = 1; i <= NR; i++) if (i != m) print l[i] }'
}

say "GET /api/v1/organizations/{id}: $REPEAT runs of ${DUR_S}s"
R_GET=$(run_median get get_org.lua get)
say "GET /api/v1/interactions?q=...: $REPEAT runs of ${DUR_S}s"
R_LIST=$(run_median list list_q.lua get)
say "GET timeline of organization $BUSIEST: $REPEAT runs of ${DUR_S}s"
R_TL=$(run_median timeline timeline.lua get)
# POST: first one run that meets the tables as the load left them (see
# bench/README.md: on PostgreSQL its rows fill the room VACUUM found on old
# pages), reported only; then the runs measured against the target, where
# the first left them, as on a server that has been taking writes a while.
say "POST /api/v1/interactions for ${DUR_S}s, the first run after the load"
R_POST_FIRST=$(run_wrk post-first post_interaction.lua "$DUR_S")
say "POST /api/v1/interactions: $REPEAT runs of ${DUR_S}s"
R_POST=$(run_median post post_interaction.lua post)

CALIB_AFTER=$(calib) || { say "warning: $CALIB failed"; CALIB_AFTER='?'; }

HWM_KB=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status" 2>/dev/null || true)
RSS_KB=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status" 2>/dev/null || true)
cleanup

# --- the report -------------------------------------------------------------
# errors NAME RESULT MODE: counts failures; status 1 when more than 0.1% of
# requests failed (broken)
errors() {
	awk -v name="$1" -v res="$2" -v mode="$3" "$AWK_RESULT"'BEGIN {
		parse(res, v)
		sock = v["connect"] + v["read"] + v["write"] + v["timeout"]
		bad = (mode == "post" ? v["bad"] : v["non2xx"]) + sock
		if (bad > 0)
			printf "bench: %s: %d errors in %d requests (%s; socket errors: connect %d read %d write %d timeout %d)\n",
				name, bad, v["requests"],
				(mode == "post" ? "statuses other than 201: " v["statuses"] : v["non2xx"] " answers >= 400"),
				v["connect"], v["read"], v["write"], v["timeout"] > "/dev/stderr"
		exit (v["requests"] == 0 || bad * 1000 > v["requests"]) ? 1 : 0
	}'
}
# errors for every run (a line each) of one kind
errors_all() {
	printf '%s\n' "$2" | while IFS= read -r r; do
		[ -z "$r" ] || errors "$1" "$r" "$3" || exit 1
	done || BROKEN=1
}
errors_all "GET by id" "$R_GET" get
errors_all "list with q" "$R_LIST" get
errors_all "timeline" "$R_TL" get
errors_all "POST, first run" "$R_POST_FIRST" post
errors_all "POST" "$R_POST" post

# line LABEL RESULTS MODE MIN_RPS MAX_P99_MS: one summary line, of the first
# result (the median run), with the rates of the others after it
line() {
	first=$(printf '%s\n' "$2" | sed -n 1p)
	rest=$(printf '%s\n' "$2" | sed -n '2,$p' | tr '\n' '|')
	awk -v label="$1" -v res="$first" -v rest="$rest" -v mode="$3" -v minrps="$4" \
		-v maxp99="$5" "$AWK_RESULT"'
	BEGIN {
		parse(res, v)
		rps = rate(v)
		p99 = v["p99_us"] / 1000
		target = ""; pass = 1
		if (minrps != "") { target = sprintf(">= %d/s", minrps); if (rps < minrps) pass = 0 }
		if (maxp99 != "") {
			target = target (target == "" ? "" : ", ") sprintf("p99 <= %d ms", maxp99)
			if (p99 > maxp99) pass = 0
		}
		verdict = target == "" ? "" : (pass ? "PASS" : "MISS")
		others = ""; k = 0
		n = split(rest, rs, "|")
		for (i = 1; i <= n; i++) {
			if (rs[i] == "") continue
			delete w
			parse(rs[i], w)
			others = others sprintf(", %.0f (p99 %.2f ms)", rate(w), w["p99_us"] / 1000)
			k++
		}
		printf "%-48s %9.0f req/s   p99 %7.2f ms   %-4s %s\n", label, rps, p99, verdict,
			(target == "" ? "(no target)" : "(target " target ")")
		if (others != "")
			printf "%-48s the median of %d runs; the others: %s\n", "", k + 1, substr(others, 3)
	}'
}

# targets per backend: POST/s, GET/s, GET p99 ms, q-list p99 ms (empty: reported only)
if [ "$BACKEND" = sqlite ]; then
	T_POST=5000 T_GET=50000 T_GET_P99=5 T_LIST_P99=20
	BACKEND_SHOWN="SQLite $RUN_DB"
else
	T_POST=3000 T_GET=15000 T_GET_P99=10 T_LIST_P99=
	BACKEND_SHOWN="PostgreSQL $STORE_SHOWN"
fi
echo
echo "rapport bench on $BACKEND_SHOWN"
echo "($ORGS orgs, $PEOPLE people, $AFFILIATIONS affiliations, $INTERACTIONS interactions; wrk -t$THREADS -c$CONNS -d${DUR_S}s, $(nproc) cores)"
line "POST /api/v1/interactions ($CONNS conns, 201s)" "$R_POST" post "$T_POST" ""
line "POST, the first ${DUR_S}s after the load" "$R_POST_FIRST" post "" ""
line "GET  /api/v1/organizations/{id}" "$R_GET" get "$T_GET" "$T_GET_P99"
line "GET  /api/v1/interactions?q=WORD&kind=email" "$R_LIST" get "" "$T_LIST_P99"
line "GET  timeline of org $BUSIEST ($BUSIEST_COUNT interactions)" "$R_TL" get "" ""
if [ -n "$HWM_KB" ]; then
	awk -v hwm="$HWM_KB" -v rss="${RSS_KB:-0}" 'BEGIN {
		mb = hwm / 1024
		printf "rapport serve peak RSS: %.1f MB (at the end %.1f MB)   %s (target <= 64 MB)\n",
			mb, rss / 1024, (mb <= 64 ? "PASS" : "MISS")
	}'
else
	echo "server peak RSS: unknown (no /proc/PID/status)"
fi
echo "machine pace: a round trip between two processes took $CALIB_BEFORE us before the runs, $CALIB_AFTER us after (bench-calib; compare runs by it)"
echo "(data set $BASE; wrk output in $BENCH_DIR/wrk-*.txt; server log $SERVER_LOG)"

if [ "$BROKEN" -ne 0 ]; then
	say "FAILED: error responses or socket errors above 0.1% of requests"
	exit 1
fi
exit 0
