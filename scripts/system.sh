#!/bin/bash
# scripts/system.sh EMU[,EMU] [PYTEST ARGS...] -- the system tests (tests/system), one pytest run
# per emulator, all at once: QEMU and Bochs each keep one of the machine's cores busy, so the two
# suites take as long as the longer one instead of their sum. Each run writes its own log
# ($BUILD/system-EMU.log, BUILD defaulting to build); both are printed when both are done, and the
# exit status is non-zero when either run failed.
set -u
cd "$(dirname "$0")/.."
emus=$1
shift
build=${BUILD:-build}
python=${PYTHON:-/usr/bin/python3}
mkdir -p "$build"
declare -A pid
for emu in ${emus//,/ }; do
	log=$(realpath "$build")/system-$emu.log
	(cd tests/system && EMHV_EMULATORS=$emu exec "$python" -m pytest -v -p no:cacheprovider --durations=5 "$@") \
		> "$log" 2>&1 &
	pid[$emu]=$!
	echo "  SYSTEM  $emu: pytest started, log in $log"
done
status=0
for emu in ${emus//,/ }; do
	if wait "${pid[$emu]}"; then
		result=passed
	else
		result=FAILED
		status=1
	fi
	echo "===== system tests in $emu: $result ($(tail -n 1 "$build/system-$emu.log")) ====="
done
for emu in ${emus//,/ }; do
	echo "===== $build/system-$emu.log ====="
	cat "$build/system-$emu.log"
done
exit $status
