#!/usr/bin/env python3
"""Tables for gpu/profiles/README.md from measured latency profiles.

    profile_table.py PROFILE.json... [--torch DIR]

For each profile: the device's measured ceilings; its kernels as fractions
of them (memory-bound kernels of the copy bandwidth, compute-bound ones of
the bf16 GEMM rate; the target is 70%); and, given DIR with
<model>.json from tools/gpu/torch_layer.py, one layer's median time
against PyTorch eager at every grid point they share (ratio below 1:
platsim's layer is faster). Prints Markdown.
"""
import argparse
import json
import math
import os
import sys

TARGET = 0.70
# The layer grids of a profile's measurements and the name of their lengths.
GRIDS = (("layerPrefill", "prefill", "tokens"), ("layerDecode", "decode", "kvLengths"),
         ("layer", "encoder", "sequenceLengths"))


def ceilings_row(profile):
    p = profile["provenance"]
    c, s = p["ceilings"], p["software"]
    return [p["device"]["name"], s["driver"], s["cudaRuntime"], s["cublas"],
            "%.0f" % c["copyBandwidthGBps"], "%.0f" % c["bf16Tflops"], p["commit"][:12],
            p["date"]]


def kernel_rows(profile):
    model = profile["provenance"]["model"]["name"]
    rows = []
    for k in profile["kernels"]:
        memory = k["bound"] == "memory"
        achieved = "%.0f GB/s" % k["achievedGBps"] if memory else "%.0f TFLOP/s" % k["achievedTflops"]
        fraction = k["fractionOfCeiling"]
        rows.append([model, k["name"], k["shape"], k["bound"], "%.1f" % (k["medianSeconds"] * 1e6),
                     achieved, "%.0f%%" % (100 * fraction), "yes" if fraction >= TARGET else "no"])
    return rows


def layer_comparison(profile, torch):
    """(phase, batch, length, ours, torch) at every grid point both measured."""
    points = []
    for key, phase, lengths in GRIDS:
        ours, theirs = profile["measurements"].get(key), torch.get(key)
        if ours is None or theirs is None:
            continue
        their_index = {(b, n): (i, j) for i, b in enumerate(theirs["batchSizes"])
                       for j, n in enumerate(theirs[lengths])}
        for i, b in enumerate(ours["batchSizes"]):
            for j, n in enumerate(ours[lengths]):
                if (b, n) in their_index:
                    ti, tj = their_index[(b, n)]
                    points.append((phase, b, n, ours["medianSeconds"][i][j],
                                   theirs["medianSeconds"][ti][tj]))
    return points


def layer_summary(model, points):
    """Per phase: points, how many are no slower, geometric-mean ratio, worst."""
    rows = []
    for phase in sorted({p[0] for p in points}):
        ratios = [(o / t, b, n) for ph, b, n, o, t in points if ph == phase]
        geo = math.exp(sum(math.log(r) for r, _, _ in ratios) / len(ratios))
        worst = max(ratios)
        rows.append([model, phase, str(len(ratios)),
                     str(sum(1 for r, _, _ in ratios if r <= 1.0)), "%.2f" % geo,
                     "%.2f (batch %d, length %d)" % worst])
    return rows


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profiles", nargs="+")
    parser.add_argument("--torch", help="folder of tools/gpu/torch_layer.py outputs")
    args = parser.parse_args(argv)
    profiles = []
    for path in args.profiles:
        try:
            with open(path) as f:
                profiles.append(json.load(f))
        except (OSError, ValueError) as e:
            print("profile_table: %s: %s" % (path, e), file=sys.stderr)
            return 2
        if profiles[-1].get("metadata", {}).get("estimate", True):
            print("profile_table: %s: not a measured profile" % path, file=sys.stderr)
            return 2
    seen, ceilings = set(), []
    for p in profiles:
        row = ceilings_row(p)
        if tuple(row) not in seen:
            seen.add(tuple(row))
            ceilings.append(row)
    print("### Measured ceilings\n")
    print(markdown(["GPU", "driver", "CUDA", "cuBLAS", "copy GB/s", "bf16 TFLOP/s", "commit",
                    "date"], ceilings))
    print("\n### Kernels against the ceilings (target %d%%)\n" % (100 * TARGET))
    print(markdown(["model", "kernel", "shape", "bound", "median us", "achieved", "of ceiling",
                    "target met"], [r for p in profiles for r in kernel_rows(p)]))
    if args.torch:
        rows = []
        for p in profiles:
            model = p["provenance"]["model"]["name"]
            path = os.path.join(args.torch, model + ".json")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                rows += layer_summary(model, layer_comparison(p, json.load(f)))
        print("\n### One layer against PyTorch eager (ratio = platsim / PyTorch)\n")
        print(markdown(["model", "phase", "points", "no slower", "geo-mean ratio", "worst"],
                       rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
