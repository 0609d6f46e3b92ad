#!/bin/sh
# platsim-mpi on 1, 2 and 3 ranks writes byte for byte what platsim run
# writes (a platform of many Services, half of them scaled up and down by
# HPAs, with failing nodes, or under the cluster autoscaler; and the
# quickstart); it refuses what ranks do not run yet with exit status 2 and
# the field named.
# Usage: ranks_test.sh PLATSIM PLATSIM_MPI MPIEXEC PYTHON
set -u
platsim=$1 mpi=$2 mpiexec=$3 python=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tmp"
export TMPDIR="$work/tmp"  # where ranks other than 0 write theirs
fail=0
same() {  # same DIR_A DIR_B WHAT
  for f in summary.json timeseries.csv events.jsonl; do
    if ! cmp -s "$1/$f" "$2/$f"; then
      echo "FAIL: $3: $f differs from platsim run's"
      fail=1
    fi
  done
}
"$python" tools/bench/platform_scenario.py --pods 400 --nodes 40 --duration 20m \
  --autoscaled 0.5 --out "$work/p" >/dev/null || exit 1
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
# The run did requests, and servers drained (their ranks told the others
# when they stopped); a rank's scratch folder is gone.
grep -q '"requests": [1-9]' "$work/ranks2/summary.json" || { echo "FAIL: no requests"; fail=1; }
[ "$(grep -c '"reason":"Killing"' "$work/ranks2/events.jsonl")" -gt 100 ] ||
  { echo "FAIL: too few servers drained"; fail=1; }
[ -z "$(ls "$work/tmp")" ] || { echo "FAIL: a rank's scratch folder is left"; fail=1; }

# The same platform with nodes failing (NotReady, evictions, repairs), on
# two ranks.
mkdir "$work/f" && cp "$work/p/manifests.yaml" "$work/f/" &&
  sed 's/^  manifests:$/  failures:\n  - {pool: cpu, mtbf: 30m, repair: 3m}\n  - {pool: gpu, mtbf: 20m, repair: 5m}\n  manifests:/' \
    "$work/p/scenario.yaml" >"$work/f/scenario.yaml" || exit 1
grep -q "mtbf" "$work/f/scenario.yaml" || { echo "FAIL: no failures written"; exit 1; }
"$platsim" run "$work/f/scenario.yaml" --quiet --out "$work/f1" || exit 1
"$mpiexec" -n 2 "$mpi" run "$work/f/scenario.yaml" --quiet --out "$work/f2" ||
  { echo "FAIL: failures on 2 ranks"; fail=1; }
same "$work/f1" "$work/f2" "failing nodes on 2 ranks"
grep -q '"reason":"NodeNotReady"' "$work/f2/events.jsonl" || { echo "FAIL: no node failed"; fail=1; }

# The same platform on fewer CPU nodes, under the cluster autoscaler (it
# removes nodes, draining their pods), on three ranks.
mkdir "$work/c" && cp "$work/p/manifests.yaml" "$work/c/" &&
  awk '/^  - name: cpu$/ { cpu = 1 }
       cpu && /^    count:/ { print "    count: 6"; next }
       cpu && /^    allocatable:/ { print; print "    autoscaling: {minSize: 2, maxSize: 40, provisioningDelay: {min: 1m, max: 2m}}"; cpu = 0; next }
       { print }' "$work/p/scenario.yaml" >"$work/c/scenario.yaml" || exit 1
grep -q "minSize" "$work/c/scenario.yaml" || { echo "FAIL: no autoscaling written"; exit 1; }
"$platsim" run "$work/c/scenario.yaml" --quiet --out "$work/c1" 2>/dev/null || exit 1
"$mpiexec" -n 3 "$mpi" run "$work/c/scenario.yaml" --quiet --out "$work/c3" 2>/dev/null ||
  { echo "FAIL: the cluster autoscaler on 3 ranks"; fail=1; }
same "$work/c1" "$work/c3" "the cluster autoscaler on 3 ranks"
grep -q '"reason":"ScaleDown"' "$work/c3/events.jsonl" || { echo "FAIL: no node removed"; fail=1; }

"$platsim" run scenarios/quickstart.yaml --quiet --duration 30m --out "$work/q1" >/dev/null || exit 1
"$mpiexec" -n 2 "$mpi" run scenarios/quickstart.yaml --quiet --duration 30m --out "$work/q2" \
  >/dev/null 2>&1 || { echo "FAIL: quickstart on 2 ranks"; fail=1; }
same "$work/q1" "$work/q2" "quickstart on 2 ranks"

# Refused: a timeline (its releases compare revisions' latencies), with
# exit status 2 and the field.
"$mpiexec" -n 2 "$mpi" run scenarios/rolling-update.yaml --quiet --out "$work/timeline" \
  >"$work/timeline.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] || { echo "FAIL: a timeline ran on ranks"; fail=1; }
grep -q "spec.timeline: does not run on ranks yet" "$work/timeline.log" ||
  { echo "FAIL: no reason for the refusal:"; cat "$work/timeline.log"; fail=1; }
[ -e "$work/timeline/summary.json" ] && { echo "FAIL: a refused run wrote outputs"; fail=1; }
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
