#!/usr/bin/env bash
# GPU work, for a GPU machine that has CUDA, CMake, ninja and
# PyTorch but none of the Debian -dev packages platsim builds with:
#
#   tools/gpu/device.sh prepare     here: copy the header-only libraries and
#                                   GoogleTest's sources into .deps/ (ignored
#                                   by git; carry it to the GPU machine)
#   tools/gpu/device.sh build       build gpu/ alone with .deps/ (build-gpu/)
#                                   and run its tests (GPU tests skip
#                                   without a device; tools/dev.sh test
#                                   runs this too)
#   tools/gpu/device.sh run [MODEL...]
#                                   there: build gpu/ alone, run its tests,
#                                   profile each model (default: every model
#                                   of the catalogue), time the same layers in
#                                   PyTorch eager, and print the table for
#                                   gpu/profiles/README.md
#
# `run` writes under $OUT (default out/gpu): tests.txt, nvidia-smi.txt,
# profiles/<model>.json, torch/<model>.json, table.md. Profiles record the
# commit `prepare` saw (run `prepare` after committing), or PLATSIM_COMMIT.
set -euo pipefail
cd "$(dirname "$0")/../.."

prepare() {
  rm -rf .deps
  mkdir -p .deps/include
  cp -a /usr/include/eigen3 /usr/include/nlohmann .deps/include/  # -a: mtimes kept, no rebuilds
  cp -a /usr/src/googletest .deps/googletest
  # The commit the copied tree is, for the profiles (the GPU machine's copy
  # may carry other git history).
  local commit
  commit=$(git rev-parse HEAD 2>/dev/null) || commit=""
  if [[ -n $commit && -n $(git status --porcelain --untracked-files=no) ]]; then commit+="-dirty"; fi
  echo "$commit" > .deps/commit
}

build() {  # build [LOG]: configure, build and test; the test output is copied to LOG
  local commit=${PLATSIM_COMMIT:-$(cat .deps/commit 2>/dev/null || true)}
  cmake -S gpu -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPLATSIM_HEADER_ROOT="$PWD/.deps/include" -DPLATSIM_GTEST_SOURCE="$PWD/.deps/googletest" \
    -DPLATSIM_COMMIT="$commit" > /dev/null
  cmake --build build-gpu -j "${PLATSIM_JOBS:-$(nproc)}"
  ctest --test-dir build-gpu --output-on-failure -j 4 2>&1 | tee "${1:-/dev/null}"
}

run() {
  local out=${OUT:-out/gpu}
  mkdir -p "$out/profiles" "$out/torch"
  nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
  build "$out/tests.txt"
  local models=("$@")
  if [[ ${#models[@]} -eq 0 ]]; then
    mapfile -t models < <(python3 -c 'import json; [print(m["name"]) for m in json.load(open("gpu/catalogue/models.json"))["models"]]')
  fi
  for m in "${models[@]}"; do
    build-gpu/platsim-profile --model "$m" --out "$out/profiles/$m.json"
    python3 tools/gpu/torch_layer.py "$out/profiles/$m.json" --out "$out/torch/$m.json"
  done
  python3 tools/gpu/profile_table.py "$out"/profiles/*.json --torch "$out/torch" | tee "$out/table.md"
}

case "${1:-}" in
  prepare) prepare ;;
  build) build ;;
  run) shift; run "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
