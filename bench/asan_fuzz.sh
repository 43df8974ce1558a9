#!/usr/bin/env bash
# The compiled twins built with AddressSanitizer in a throwaway clone, then the grammar fuzz against a live node
# (bench/bench_fuzz.py) and the fuzz / hostile / serializer-property tests under ASan. Loopback only, bounded.
# Usage: PYTHON=venv/bin/python bash bench/asan_fuzz.sh [PACKETS=200000]   (PYTHON: an interpreter with the project's
# test dependencies, e.g. the venv of `pip install -e ".[test]"`; needs gcc's libasan)
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS="${1:-200000}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PYTHON="${PYTHON:-python3}"
LIBASAN="$(gcc -print-file-name=libasan.so)"
[ -e "$LIBASAN" ] || { echo "no libasan for gcc here ($LIBASAN)" >&2; exit 2; }

git clone --quiet . "$WORK/src"
"$PYTHON" -m venv "$WORK/build"   # only to build: Cython and a recent setuptools
"$WORK/build/bin/python" -m pip install --quiet "Cython>=3.0" "setuptools>=77"
(cd "$WORK/src" && CFLAGS="-O1 -g -fsanitize=address -fno-omit-frame-pointer" LDFLAGS="-fsanitize=address" \
    "$WORK/build/bin/python" setup.py -q build_ext --inplace)

run() {  # CPython itself is not instrumented: preload the runtime, and leave leak checking to the tests' own counts
    (cd "$WORK/src" && LD_PRELOAD="$LIBASAN" ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1" \
        IPV8FAST_REQUIRE_EXTENSIONS=1 PYTHONPATH="$WORK/src" "$PYTHON" "$@")
}
run -c "import ipv8fast; assert ipv8fast.COMPILED, 'the ASan build did not load'; print('ASan build loaded:', ipv8fast.__file__)"
run bench/bench_fuzz.py --packets "$PACKETS" --time-limit 900
run -m pytest -q -p no:cacheprovider tests/test_fuzz.py tests/test_hostile.py tests/test_serializer_properties.py \
    tests/test_serializer_vectors.py tests/test_envelope.py tests/test_udpio.py tests/test_requestcache.py
echo "ASan: no memory error in $PACKETS fuzzed packets and the listed tests"
