#!/usr/bin/env bash
# platsim's one entry point for set-up, build and checks on Debian 12.
#
#   tools/dev.sh quickstart   install what is missing, build, run the quickstart scenario
#   tools/dev.sh test         install what is missing, build, run the whole test suite,
#                             then build gpu/ on its own as a GPU machine does and run its tests
#   tools/dev.sh sanitize     the test suite under AddressSanitizer + UBSan (build-asan/)
#   tools/dev.sh bench        build and run the Google Benchmark benches (Release)
#   tools/dev.sh fuzz [ARGS]  build the scenario fuzz target with clang (libFuzzer, ASan,
#                             UBSan; build-fuzz/) and run it from the checked-in corpus;
#                             ARGS go to libFuzzer (default -runs=20000, what `test` runs;
#                             e.g. -max_total_time=3600 for a long run)
#   tools/dev.sh deps         only install the Debian packages platsim builds with
#
# Build folders: build/ (RelWithDebInfo), build-asan/, build-bench/, build-gpu/,
# build-fuzz/. Set
# PLATSIM_JOBS to change build parallelism (default: number of cores).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${PLATSIM_JOBS:-$(nproc)}"

packages=(build-essential cmake ninja-build ccache pkg-config
          libyaml-dev libcli11-dev nlohmann-json3-dev libeigen3-dev
          libgtest-dev libgmock-dev libbenchmark-dev python3-matplotlib chromium
          openmpi-bin libopenmpi-dev
          clang libclang-rt-14-dev)

deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "platsim: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build() {  # build DIR [cmake args...]
  local dir="$1"
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

fuzz() {  # fuzz [libFuzzer args...]
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPLATSIM_FUZZ=ON -DPLATSIM_CUDA=OFF -DPLATSIM_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build-fuzz -j "$jobs" --target scenario_fuzz
  # New inputs go to a scratch folder, so the checked-in corpus only changes by hand.
  local scratch
  scratch="$(mktemp -d)"
  local args=("$@")
  [ ${#args[@]} -eq 0 ] && args=(-runs=20000)
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    build-fuzz/tests/fuzz/scenario_fuzz -dict=tests/fuzz/scenario.dict -max_len=8192 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build-fuzz/ \
    "${args[@]}" "$scratch" tests/fuzz/corpus
  rm -rf "$scratch"
}

case "${1:-}" in
  deps)
    deps
    ;;
  quickstart)
    deps
    build build -DPLATSIM_BUILD_BENCHMARKS=OFF -DPLATSIM_BUILD_TESTS=OFF
    ./build/tools/platsim run scenarios/quickstart.yaml --out out/quickstart
    echo "platsim: quickstart results are in $root/out/quickstart (summary.json, timeseries.csv, events.jsonl)"
    ;;
  test)
    deps
    build build -DPLATSIM_BUILD_TESTS=ON
    ctest --test-dir build -j "$jobs" --output-on-failure --timeout 900
    tools/gpu/device.sh prepare
    tools/gpu/device.sh build
    fuzz
    ;;
  sanitize)
    deps
    # CPU code only: ASan and the CUDA runtime contend for the same address space.
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DPLATSIM_SANITIZE=ON -DPLATSIM_BUILD_BENCHMARKS=OFF \
      -DPLATSIM_CUDA=OFF
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan -j "$jobs" --output-on-failure --timeout 1800
    ;;
  fuzz)
    deps
    fuzz "${@:2}"
    ;;
  bench)
    deps
    build build-bench -DCMAKE_BUILD_TYPE=Release -DPLATSIM_BUILD_TESTS=OFF
    for b in build-bench/tests/bench/*_bench; do "$b" "${@:2}"; done
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
