#!/usr/bin/env python3
"""Measures the error of a fluid (rate-based) model of a Service against
platsim's full simulation, for docs/parallel-simulation.md.

The fluid model is the one the design proposes for background Services: no
individual requests, only the arrival rate of each sample interval and the
ready pods, with a queueing formula per interval:
  per pod  M/G/1 (Pollaczek-Khinchine) at rate / pods, as random balancing
           splits the traffic;
  pooled   M/G/c (Allen-Cunneen: Erlang C times (1 + cs^2) / 2), as if the
           pods shared one queue;
  power of two  the mean field of least-request balancing (two choices, the
           supermarket model), see fluid_jsq2.
Waiting times are taken as exponential beyond the probability of waiting,
with the formula's mean (exact for M/M/1 and M/M/c), and the response time
is that wait plus a service time; quantiles come from sampling that mixture
(seeded). The simulation runs the same Service, 20 single-request pods with
lognormal service times, with least-request balancing (the default) and with
random balancing, at several steady utilisations and over a diurnal day.

  tools/bench/fluid_error.py --platsim build-rel/tools/platsim --out /tmp/fluid
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys

PODS = 20
MEAN_S = 0.05  # service time mean, seconds
CV = 0.5       # its coefficient of variation (lognormal)


def scenario(arrivals: str, duration: str, balancing: str) -> str:
    return f"""apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {{name: fluid-error}}
spec:
  seed: 1
  duration: {duration}
  warmup: 10m
  nodePools:
  - {{name: cpu, count: 5, allocatable: {{cpu: "32", memory: 128Gi}}}}
  manifests:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {{name: svc}}
      spec:
        replicas: {PODS}
        selector: {{matchLabels: {{app: svc}}}}
        template:
          metadata: {{labels: {{app: svc}}}}
          spec: {{containers: [{{name: s, image: "svc:1"}}]}}
  - inline: {{apiVersion: v1, kind: Service, metadata: {{name: svc}}, spec: {{selector: {{app: svc}}}}}}
  modelServers:
  - {{deployment: svc, serviceTime: {{kind: lognormal, mean: {int(MEAN_S * 1000)}ms, cv: {CV}}}}}
  traffic:
  - service: svc
    loadBalancing: {balancing}
    timeout: 0s
    arrivals: {arrivals}
"""


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load a = lambda / mu."""
    rho = a / c
    term = 1.0
    total = 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c / (1 - rho)
    return last / (total + last)


def waits(rate: float, pooled: bool):
    """(probability of waiting, mean wait) of the fluid model at `rate`."""
    mu = 1 / MEAN_S
    factor = (1 + CV * CV) / 2
    if pooled:
        a = rate / mu
        if a >= PODS:
            return 1.0, math.inf
        p = erlang_c(PODS, a)
        return p, p / (PODS * mu - rate) * factor
    rho = rate / PODS / mu
    if rho >= 1:
        return 1.0, math.inf
    return rho, rho * MEAN_S * factor / (1 - rho)


def fluid(steps, pooled: bool, samples: int = 400_000):
    """Mean and p99 response time over `steps` of (weight, rate)."""
    rng = random.Random(7)
    sigma = math.sqrt(math.log(1 + CV * CV))
    mu_log = math.log(MEAN_S) - sigma * sigma / 2
    total = sum(w for w, _ in steps)
    mean = 0.0
    draws = []
    params = [(w, *waits(r, pooled)) for w, r in steps]
    for w, p, wq in params:
        mean += w / total * (wq + MEAN_S)
    weights = [w for w, _, _ in params]
    picks = rng.choices(range(len(params)), weights=weights, k=samples)
    for i in picks:
        _, p, wq = params[i]
        wait = 0.0
        if wq > 0 and rng.random() < p:
            wait = rng.expovariate(p / wq)
        draws.append(wait + rng.lognormvariate(mu_log, sigma))
    draws.sort()
    return mean, draws[int(0.99 * samples)]


def fluid_jsq2(steps, samples: int = 400_000):
    """Mean and p99 response time of the power-of-two-choices mean field
    (the supermarket model): with per-pod load rho, the share of pods with
    at least k requests is rho^(2^k - 1), an arrival joins the less loaded
    of two, so it finds k ahead with probability s_k^2 - s_(k+1)^2, and
    waits for them (the one in service for its mean residual)."""
    rng = random.Random(11)
    sigma = math.sqrt(math.log(1 + CV * CV))
    mu_log = math.log(MEAN_S) - sigma * sigma / 2
    residual = MEAN_S * (1 + CV * CV) / 2
    total = sum(w for w, _ in steps)
    mean = 0.0
    dists = []
    for w, rate in steps:
        rho = rate / PODS * MEAN_S
        probs = []
        for k in range(0, 64):
            s_k = rho ** (2 ** k - 1) if k < 60 else 0.0
            s_next = rho ** (2 ** (k + 1) - 1) if k + 1 < 60 else 0.0
            probs.append(s_k * s_k - s_next * s_next)
            if s_next < 1e-12:
                break
        dists.append(probs)
        mean += w / total * sum(
            p * (MEAN_S + (residual + (k - 1) * MEAN_S if k > 0 else 0.0))
            for k, p in enumerate(probs))
    picks = rng.choices(range(len(steps)), weights=[w for w, _ in steps], k=samples)
    draws = []
    for i in picks:
        probs = dists[i]
        k = rng.choices(range(len(probs)), weights=probs, k=1)[0]
        draws.append(sum(rng.lognormvariate(mu_log, sigma) for _ in range(k + 1)))
    draws.sort()
    return mean, draws[int(0.99 * samples)]


def simulate(platsim: str, out: str, name: str, arrivals: str, duration: str, balancing: str):
    folder = os.path.join(out, name + "-" + balancing)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "scenario.yaml")
    with open(path, "w") as f:
        f.write(scenario(arrivals, duration, balancing))
    subprocess.run([platsim, "run", path, "--out", os.path.join(folder, "out"), "--quiet",
                    "--force"], check=True)
    with open(os.path.join(folder, "out", "summary.json")) as f:
        m = json.load(f)["services"]["default/svc"]["metrics"]
    return m["latency_mean_s"], m["latency_p99_s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platsim", required=True, help="the platsim binary")
    parser.add_argument("--out", required=True, help="folder for the scenarios and runs")
    args = parser.parse_args()
    capacity = PODS / MEAN_S
    cases = []
    for rho in (0.5, 0.7, 0.8, 0.9):
        rate = rho * capacity
        cases.append((f"steady {rho:.1f}", f"steady-{rho}",
                      f"{{kind: poisson, rate: {rate:g}}}", "2h", [(1.0, rate)]))
    # A day: mean 60% of capacity, +-50% (30% to 90%), peak at 14h.
    mean_rate = 0.6 * capacity
    day = []
    for minute in range(10, 24 * 60):  # the warm-up of 10 minutes left out
        t = (minute + 0.5) * 60
        rate = mean_rate * (1 + 0.5 * math.cos(2 * math.pi * (t - 14 * 3600) / 86400))
        day.append((rate, rate))  # weighted by the requests of the minute
    cases.append(("diurnal day", "diurnal",
                  f"{{kind: diurnal, meanRate: {mean_rate:g}, amplitude: 0.5, period: 24h, "
                  "peakAt: 14h}", "24h", day))
    print("| case | simulated, least-request | fluid, power of two (vs least-request) | "
          "fluid, M/G/c pooled (vs least-request) | simulated, random | "
          "fluid, M/G/1 per pod (vs random) |")
    print("|---|---|---|---|---|---|")
    for label, name, arrivals, duration, steps in cases:
        lr = simulate(args.platsim, args.out, name, arrivals, duration, "least-request")
        rnd = simulate(args.platsim, args.out, name, arrivals, duration, "random")
        per_pod = fluid(steps, pooled=False)
        pooled = fluid(steps, pooled=True)
        jsq = fluid_jsq2(steps)

        def ms(pair):
            return f"{pair[0] * 1000:.1f} / {pair[1] * 1000:.1f} ms"

        def err(model, sim):
            return f" ({(model[0] / sim[0] - 1) * 100:+.0f}% / {(model[1] / sim[1] - 1) * 100:+.0f}%)"

        print(f"| {label} | {ms(lr)} | {ms(jsq)}{err(jsq, lr)} | {ms(pooled)}{err(pooled, lr)} | "
              f"{ms(rnd)} | {ms(per_pod)}{err(per_pod, rnd)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
