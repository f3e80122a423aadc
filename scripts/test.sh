#!/bin/sh
# Runs every test: the unit tests of the normal and the sanitizer build, then
# the black-box API suite against both binaries on SQLite, and again on a
# PostgreSQL cluster that this script starts (scripts/pg.sh) in a temporary
# folder and removes at the end. If PostgreSQL cannot be started, that is a
# failure, with the reason. Ends with one line counting passed and failed
# tests; exits non-zero if any failed.
#
# RAPPORT_TEST_PG_ASAN=0 leaves out the sanitizer binary on PostgreSQL.
set -u
cd "$(dirname "$0")/.."
pass=0
fail=0
skipped=0
log=$(mktemp -d)
pgdir=""

cleanup() {
	if [ -n "$pgdir" ]; then
		sh scripts/pg.sh stop "$pgdir" >"$log/pgstop.out" 2>&1 ||
			{ echo "!! could not stop the PostgreSQL cluster in $pgdir:"; cat "$log/pgstop.out"; }
		rm -rf "$pgdir"
	fi
	rm -rf "$log"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s; }
# Time limits (seconds) for one unit test binary and for one API suite run.
unit_limit=${RAPPORT_UNIT_TIMEOUT:-300}
api_limit=${RAPPORT_API_TIMEOUT:-900}
started=$(now)

count_cmocka() {
	p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
	f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
}

tap_total() {
	sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$2" | tail -n 1
}

# The readable part of a TAP stream from node --test: every failing test
# with where it is and its error (not its stack), skips with their reason,
# and the runner's own messages (a file that timed out, a crash).
summarise_tap() {
	awk '
	function indent(s) { match(s, /^ */); return RLENGTH }
	/^ *not ok [0-9]+ / { print; want = 1; yaml = 0; base = indent($0) + 2; next }
	/^ *ok [0-9]+ .*# SKIP/ { sub(/^ */, ""); print "  " $0; want = 0; next }
	/^ *ok [0-9]+ / { want = 0; next }
	/^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [0-9.]+$/ { next }
	/^ *# Subtest: / { next }
	/^ *# / && !yaml { print; next }
	!want { next }
	{
		i = indent($0)
		if (i == base && $0 ~ /^ *---$/) { yaml = 1; next }
		if (i == base && $0 ~ /^ *\.\.\.$/) { yaml = 0; want = 0; next }
		if (!yaml) next
		if (i == base) {
			key = substr($0, i + 1); sub(/:.*/, "", key)
			show = (key == "location" || key == "error")
			shown = 0
			if (show) print
			next
		}
		if (show && shown++ < 40) print
	}' "$1"
}

for build in build build/asan; do
	for t in "$build"/tests/*_test; do
		[ -x "$t" ] || continue
		out="$log/unit.out"
		t0=$(now)
		timeout --foreground -k 10 "$unit_limit" "$t" >"$out" 2>&1
		rc=$?
		count_cmocka "$out"
		p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
		f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
		echo "== unit $t: ${p:-0} passed, ${f:-0} failed in $(($(now) - t0)) s"
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "!! $t did not finish in $unit_limit s and was stopped; its last lines:"
			tail -20 "$out"
			fail=$((fail + 1))
		elif [ $rc -ne 0 ]; then
			grep -v '^\[ \(RUN  \|     OK\)' "$out" | grep -v '^\[==========\]\|^\[  PASSED  \]' | head -200
			if ! grep -q '\[  FAILED  \]' "$out"; then
				echo "!! $t exited with $rc"
				tail -30 "$out"
				fail=$((fail + 1))
			fi
		fi
	done
done

# The fuzz targets (fuzz/) run once over their seed corpus: one test each.
fuzzed=0
for t in build/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=${t##*/fuzz_}
	out="$log/fuzz.out"
	fuzzed=$((fuzzed + 1))
	t0=$(now)
	if timeout --foreground -k 10 "$unit_limit" sh fuzz/run.sh replay build/fuzz 0 "$name" \
		>"$out" 2>&1; then
		pass=$((pass + 1))
		echo "== fuzz replay $name: passed in $(($(now) - t0)) s"
	else
		fail=$((fail + 1))
		echo "!! fuzz replay $name failed in $(($(now) - t0)) s:"
		tail -80 "$out"
	fi
done
if [ "$fuzzed" -eq 0 ]; then
	echo "!! no fuzz targets in build/fuzz (make fuzz-bins), so their corpus was not replayed"
	fail=$((fail + 1))
fi

if [ ! -d ../shared/data ]; then
	echo "note: ../shared/data is absent; tests that read the sample files skip"
fi

# One PostgreSQL cluster for all the PostgreSQL runs.
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/rapport-pg.XXXXXX")
if pgurl=$(sh scripts/pg.sh start "$pgdir" 2>"$log/pgstart.err"); then
	echo "== PostgreSQL for the API tests: $pgurl (sh scripts/pg.sh start $pgdir)"
	sed 's/^/   /' "$log/pgstart.err"
	pg_ok=1
else
	echo "!! PostgreSQL could not be started, so the API tests on PostgreSQL cannot run:"
	sed 's/^/!!   /' "$log/pgstart.err"
	[ -n "$pgurl" ] && echo "!!   $pgurl"
	fail=$((fail + 1))
	pg_ok=0
fi

# api_run LABEL BINARY [PGDIR]
api_run() {
	label=$1
	bin=$2
	out="$log/api.tap"
	t0=$(now)
	echo "== api tests: $label"
	if [ -n "${3:-}" ]; then
		RAPPORT_BIN="$bin" RAPPORT_TEST_PG_DIR="$3" timeout --foreground -k 10 "$api_limit" \
			node --test --test-reporter=tap --test-concurrency=1 tests/api/ >"$out" 2>&1
	else
		RAPPORT_BIN="$bin" timeout --foreground -k 10 "$api_limit" env -u RAPPORT_TEST_PG_DIR \
			node --test --test-reporter=tap --test-concurrency=1 tests/api/ >"$out" 2>&1
	fi
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "!! the API tests ($label) did not finish in $api_limit s and were stopped"
	fi
	summarise_tap "$out" | head -600
	p=$(tap_total pass "$out")
	f=$(tap_total fail "$out")
	c=$(tap_total cancelled "$out")
	s=$(tap_total skipped "$out")
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0} + ${c:-0}))
	skipped=$((skipped + ${s:-0}))
	echo "-- $label: ${p:-0} passed, $((${f:-0} + ${c:-0})) failed, ${s:-0} skipped in $(($(now) - t0)) s"
	if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && [ "${c:-0}" -eq 0 ]; then
		echo "!! api tests ($label) exited with $rc"
		tail -50 "$out"
		fail=$((fail + 1))
	fi
}

api_run "build/rapport on SQLite" build/rapport
api_run "build/asan/rapport on SQLite" build/asan/rapport
if [ "$pg_ok" -eq 1 ]; then
	api_run "build/rapport on PostgreSQL" build/rapport "$pgdir"
	if [ "${RAPPORT_TEST_PG_ASAN:-1}" != 0 ]; then
		api_run "build/asan/rapport on PostgreSQL" build/asan/rapport "$pgdir"
	fi
fi

echo "== all tests took $(($(now) - started)) s ($skipped skipped)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
