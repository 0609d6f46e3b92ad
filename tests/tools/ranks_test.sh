#!/bin/sh
# platsim-mpi on 1, 2 and 3 ranks writes byte for byte what platsim run
# writes (a platform of many Services, and the quickstart); it refuses what
# ranks do not run yet with exit status 2 and the field named.
# Usage: ranks_test.sh PLATSIM PLATSIM_MPI MPIEXEC PYTHON
set -u
platsim=$1 mpi=$2 mpiexec=$3 python=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
same() {  # same DIR_A DIR_B WHAT
  for f in summary.json timeseries.csv events.jsonl; do
    if ! cmp -s "$1/$f" "$2/$f"; then
      echo "FAIL: $3: $f differs from platsim run's"
      fail=1
    fi
  done
}
"$python" tools/bench/platform_scenario.py --pods 600 --nodes 60 --duration 3m \
  --out "$work/p" >/dev/null || exit 1
"$platsim" run "$work/p/scenario.yaml" --quiet --out "$work/one" || exit 1
for n in 1 2 3; do
  threads=1
  [ "$n" = 3 ] && threads=2
  if ! "$mpiexec" -n "$n" "$mpi" run "$work/p/scenario.yaml" --quiet --threads "$threads" \
      --out "$work/ranks$n"; then
    echo "FAIL: platform on $n ranks: exit status $?"
    fail=1
  fi
  same "$work/one" "$work/ranks$n" "platform on $n ranks"
done
# The platform's Services are spread: the run did requests, and a rank's
# scratch folder is gone.
grep -q '"requests": [1-9]' "$work/ranks2/summary.json" || { echo "FAIL: no requests"; fail=1; }
ls /tmp | grep -q "^platsim-rank-" && { echo "FAIL: a rank's scratch folder is left"; fail=1; }

"$platsim" run scenarios/quickstart.yaml --quiet --duration 30m --out "$work/q1" >/dev/null || exit 1
"$mpiexec" -n 2 "$mpi" run scenarios/quickstart.yaml --quiet --duration 30m --out "$work/q2" \
  >/dev/null 2>&1 || { echo "FAIL: quickstart on 2 ranks"; fail=1; }
same "$work/q1" "$work/q2" "quickstart on 2 ranks"

# Refused: an autoscaler, with exit status 2 and the field.
"$mpiexec" -n 2 "$mpi" run scenarios/embeddings-h100-hpa.yaml --quiet --out "$work/hpa" \
  >"$work/hpa.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] || { echo "FAIL: an HPA ran on ranks"; fail=1; }
grep -q "spec.autoscalers.*does not run on ranks yet" "$work/hpa.log" ||
  { echo "FAIL: no reason for the refusal:"; cat "$work/hpa.log"; fail=1; }
[ -e "$work/hpa/summary.json" ] && { echo "FAIL: a refused run wrote outputs"; fail=1; }
# A folder rank 0 may not write: every rank stops.
mkdir "$work/foreign" && echo '{}' >"$work/foreign/summary.json"
"$mpiexec" -n 2 "$mpi" run "$work/p/scenario.yaml" --quiet --out "$work/foreign" \
  >"$work/exists.log" 2>&1 && { echo "FAIL: wrote over a folder without --force"; fail=1; }
grep -q "give --force" "$work/exists.log" || { echo "FAIL: no reason:"; cat "$work/exists.log"; fail=1; }
# Other commands are platsim's.
"$mpiexec" -n 1 "$mpi" validate scenarios/quickstart.yaml >"$work/usage.log" 2>&1 &&
  { echo "FAIL: platsim-mpi ran validate"; fail=1; }
grep -q "usage: mpirun" "$work/usage.log" || { echo "FAIL: no usage"; fail=1; }
[ "$fail" = 0 ] && echo "ranks: all outputs the same as platsim run's"
exit "$fail"
