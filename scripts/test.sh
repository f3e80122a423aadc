#!/bin/sh
# Runs every test: the unit tests of the normal and the sanitizer build, then
# the black-box API suite against both binaries. Ends with one line counting
# passed and failed tests; exits non-zero if any failed.
set -u
cd "$(dirname "$0")/.."
pass=0
fail=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

count_cmocka() {
	p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
	f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
}

count_tap() {
	p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$1" | tail -n 1)
	f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$1" | tail -n 1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
}

for build in build build/asan; do
	for t in "$build"/tests/*_test; do
		[ -x "$t" ] || continue
		echo "== unit $t"
		out="$log/unit.out"
		"$t" >"$out" 2>&1
		rc=$?
		cat "$out"
		count_cmocka "$out"
		if [ $rc -ne 0 ] && ! grep -q '\[  FAILED  \]' "$out"; then
			echo "!! $t exited with $rc"
			fail=$((fail + 1))
		fi
	done
done

if [ ! -d ../shared/data ]; then
	echo "note: ../shared/data is absent; tests that read the sample files skip"
fi

for bin in build/rapport build/asan/rapport; do
	echo "== api tests against $bin"
	out="$log/api.out"
	RAPPORT_BIN="$bin" node --test --test-reporter=tap --test-concurrency=1 tests/api/ >"$out" 2>&1
	rc=$?
	grep -v '^ *\(duration_ms\|\.\.\.\|---\|type:\)' "$out" | grep -E '^(not ok|ok|#)|^  *(not ok)|error|Error' | head -400
	count_tap "$out"
	if [ $rc -ne 0 ] && ! grep -q '^# fail [1-9]' "$out"; then
		echo "!! api tests against $bin exited with $rc"
		tail -50 "$out"
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
