#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite; then the sanitizer job: the
# unit tests again in a build with ASan + UBSan (scripts/sanitize.sh), and each fuzz target for
# VZKIT_FUZZ_SECONDS (default 60; scripts/fuzz.sh). VZKIT_SANITIZER_JOB=0 skips that job.
# docs/fuzzing.md says what each part costs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j"$(nproc)" "$@")
[ "${VZKIT_SANITIZER_JOB:-1}" = 0 ] && exit 0
# After the suite, not beside it: the sanitizer build takes both cores, and the guests of the
# end-to-end tests must not be starved of theirs.
start=$SECONDS
scripts/sanitize.sh test
scripts/fuzz.sh "${VZKIT_FUZZ_SECONDS:-60}"
echo "test: the sanitizer job took $((SECONDS - start)) s"
