#!/bin/sh
# Runs the libFuzzer targets of fuzz/ (built by `make fuzz-bins`).
#
#   sh fuzz/run.sh run BUILD SECONDS TARGET...   fuzz each target for SECONDS
#   sh fuzz/run.sh replay BUILD 0 TARGET...      run each seed input once
#
# BUILD is the folder of the binaries (build/fuzz). `run` starts from the
# seed corpus fuzz/corpus/TARGET and writes what it learns to BUILD/corpus/
# TARGET, never into the repository; a crashing input goes to BUILD/artifacts/
# TARGET/. It prints per target the executions and the coverage libFuzzer
# reported. `replay` runs every file of fuzz/corpus/TARGET once and fails on
# any crash or broken check. Exits non-zero if any target failed; the full
# logs are in BUILD/logs.
set -u
cd "$(dirname "$0")/.."
if [ $# -lt 4 ]; then
	echo "usage: sh fuzz/run.sh run|replay BUILD SECONDS TARGET..." >&2
	exit 2
fi
mode=$1
build=$2
seconds=$3
shift 3
status=0
mkdir -p "$build/logs"

for t in "$@"; do
	bin=$build/fuzz_$t
	seeds=fuzz/corpus/$t
	log=$build/logs/$t.$mode.log
	if [ ! -x "$bin" ]; then
		echo "!! fuzz_$t: $bin is not built (make fuzz-bins)"
		status=1
		continue
	fi
	case $mode in
	run)
		scratch=$build/corpus/$t
		artifacts=$build/artifacts/$t/
		dict=""
		[ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
		mkdir -p "$scratch" "$artifacts"
		t0=$(date +%s)
		# shellcheck disable=SC2086
		"$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
			-artifact_prefix="$artifacts" $dict "$scratch" "$seeds" >"$log" 2>&1
		rc=$?
		secs=$(($(date +%s) - t0))
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' "$log" | tail -n 1)
		cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/cov \1, features \2, corpus \3/p')
		echo "== fuzz_$t: ${runs:-?} executions in $secs s; ${cov:-no coverage line}"
		if [ $rc -ne 0 ]; then
			status=1
			echo "!! fuzz_$t stopped with exit code $rc:"
			grep -E 'does not hold|^==[0-9]+==ERROR|^SUMMARY|runtime error|Test unit written|^fuzz_' \
				"$log" | head -20
			echo "!! full log: $log"
		fi
		;;
	replay)
		n=$(find "$seeds" -type f | wc -l)
		# shellcheck disable=SC2046
		if "$bin" -timeout=10 $(find "$seeds" -type f | sort) >"$log" 2>&1; then
			echo "== fuzz_$t: replayed $n seed inputs"
		else
			status=1
			echo "!! fuzz_$t failed on its seed corpus ($n inputs):"
			grep -v '^Running: \|^Executed \|^INFO: ' "$log" | tail -60
		fi
		;;
	*)
		echo "fuzz/run.sh: unknown mode $mode" >&2
		exit 2
		;;
	esac
done
exit $status
