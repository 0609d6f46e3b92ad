#!/usr/bin/env python3
"""One layer of a catalogue model in PyTorch eager, at a profile's grid points.

    torch_layer.py PROFILE.json --out FILE [--warmup N] [--repetitions N]

Builds the layer gpu/layer.h defines (same shapes, bf16, no biases in the
projections) from torch operations as an eager model does: linear maps,
rms_norm / layer_norm, rotary embedding, scaled_dot_product_attention
(causal prefill, decode over a KV cache, grouped-query heads), SiLU / GELU.
Times it on the GPU with CUDA events like platsim's profiler: warm-up, then
the median of the repetitions, inputs rotated over copies that together
exceed 4x L2. Writes {"model", "device", "torchVersion", "layerPrefill" |
"layerDecode" | "layer": {"batchSizes", <lengths>, "medianSeconds"}} for
tools/gpu/profile_table.py. Needs PyTorch and a CUDA device.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EPS = 1e-5
GRIDS = (("layerPrefill", "prefill", "tokens"), ("layerDecode", "decode", "kvLengths"),
         ("layer", "prefill", "sequenceLengths"))


def rand(*shape, scale=1.0):
    return (torch.rand(*shape, device="cuda", dtype=torch.float32) * 2 - 1).mul_(scale).bfloat16()


def weights(m):
    h, f = m["hidden"], m["ffn"]
    s_h, s_f = 1 / math.sqrt(h), 1 / math.sqrt(f)
    w = {"up": rand(h, f, scale=s_h), "down": rand(f, h, scale=s_f), "norm1": rand(h),
         "bias1": rand(h, scale=0.1)}
    if m["activation"] == "swiglu":
        w["gate"] = rand(h, f, scale=s_h)
    if m["architecture"] != "mlp":
        d = h // m["heads"]
        w.update(q=rand(h, m["heads"] * d, scale=s_h), k=rand(h, m["kvHeads"] * d, scale=s_h),
                 v=rand(h, m["kvHeads"] * d, scale=s_h), o=rand(m["heads"] * d, h, scale=s_h),
                 norm2=rand(h), bias2=rand(h, scale=0.1))
    return w


def norm(m, x, g, b):
    if m["norm"] == "rmsnorm":
        if hasattr(F, "rms_norm"):
            return F.rms_norm(x, (x.shape[-1],), g, EPS)
        return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + EPS)).bfloat16() * g
    return F.layer_norm(x, (x.shape[-1],), g, b, EPS)


def ffn(m, w, x):
    if m["activation"] == "swiglu":
        return (F.silu(x @ w["gate"]) * (x @ w["up"])) @ w["down"]
    return F.gelu(x @ w["up"]) @ w["down"]


def rope(x, cos, sin):  # x [tokens, heads, d]; rotate-half convention
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


def attention(q, k, v, causal):  # [b, heads, n, d], [b, kv, s, d]
    if q.shape[1] != k.shape[1]:
        try:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        except TypeError:  # PyTorch before 2.5
            group = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def make_inputs(m, phase, batch, length):
    h = m["hidden"]
    tokens = batch * length if phase == "prefill" else batch
    a = {"x": rand(tokens, h)}
    if m["architecture"] == "decoder":
        d = h // m["heads"]
        pos = (torch.arange(tokens, device="cuda") % length if phase == "prefill"
               else torch.full((tokens,), length - 1, device="cuda"))
        inv = m.get("ropeTheta", 10000.0) ** (-torch.arange(0, d // 2, device="cuda") * 2.0 / d)
        angle = pos[:, None].float() * inv[None, :]
        a["cos"], a["sin"] = angle.cos()[:, None, :].bfloat16(), angle.sin()[:, None, :].bfloat16()
        if phase == "decode":
            a["k_cache"] = rand(batch, m["kvHeads"], length, d)
            a["v_cache"] = rand(batch, m["kvHeads"], length, d)
    return a


def layer(m, w, a, phase, batch, length):
    x = a["x"]
    if m["architecture"] == "mlp":
        return x + ffn(m, w, norm(m, x, w["norm1"], w["bias1"]))
    h, heads, kv = m["hidden"], m["heads"], m["kvHeads"]
    d = h // heads
    decoder = m["architecture"] == "decoder"
    n = norm(m, x, w["norm1"], w["bias1"]) if decoder else x
    q, k, v = (n @ w["q"]).view(-1, heads, d), (n @ w["k"]).view(-1, kv, d), (n @ w["v"]).view(-1, kv, d)
    if decoder:
        q, k = rope(q, a["cos"], a["sin"]), rope(k, a["cos"], a["sin"])
    if phase == "prefill":
        shape = lambda t, hh: t.view(batch, length, hh, d).transpose(1, 2)
        out = attention(shape(q, heads), shape(k, kv), shape(v, kv), decoder)
        out = out.transpose(1, 2).reshape(-1, heads * d)
    else:
        a["k_cache"][:, :, length - 1] = k
        a["v_cache"][:, :, length - 1] = v
        out = attention(q.view(batch, heads, 1, d), a["k_cache"], a["v_cache"], False)
        out = out.reshape(batch, heads * d)
    o = out @ w["o"]
    if decoder:
        x1 = x + o
        return x1 + ffn(m, w, norm(m, x1, w["norm2"], w["bias2"]))
    x1 = norm(m, x + o, w["norm1"], w["bias1"])
    return norm(m, x1 + ffn(m, w, x1), w["norm2"], w["bias2"])


def copies(set_bytes, l2, budget):  # as gpu/profiler.h's RotationCopies
    fit = math.floor(budget / set_bytes)
    if fit < 1:
        raise MemoryError("%.1f GB does not fit" % (set_bytes / 1e9))
    return int(min(max(2, math.ceil(4 * l2 / set_bytes)), fit, 1024))


def nbytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors.values())


@torch.inference_mode()
def time_layer(m, ws, phase, batch, length, warmup, reps, l2):
    probe = make_inputs(m, phase, batch, length)
    free, _ = torch.cuda.mem_get_info()
    inputs = [probe] + [make_inputs(m, phase, batch, length)
                        for _ in range(copies(nbytes(probe), l2, 0.5 * free) - 1)]
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    stops = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for i in range(warmup):
        layer(m, ws[i % len(ws)], inputs[i % len(inputs)], phase, batch, length)
    for r in range(reps):
        i = warmup + r
        starts[r].record()
        layer(m, ws[i % len(ws)], inputs[i % len(inputs)], phase, batch, length)
        stops[r].record()
    torch.cuda.synchronize()
    times = sorted(s.elapsed_time(e) * 1e-3 for s, e in zip(starts, stops))
    n = len(times)
    return times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--out", required=True)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=30)
    parser.add_argument("--catalogue", default=os.path.join(ROOT, "gpu/catalogue/models.json"))
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("torch_layer: no CUDA device; nothing measured", file=sys.stderr)
        return 1
    with open(args.profile) as f:
        profile = json.load(f)
    name = profile["provenance"]["model"]["name"]
    with open(args.catalogue) as f:
        m = next(x for x in json.load(f)["models"] if x["name"] == name)
    l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 50 << 20)
    with torch.inference_mode():
        w0 = weights(m)
        ws = [w0] + [weights(m) for _ in range(copies(nbytes(w0), l2, 1e12) - 1)]
    result = {"model": name, "device": torch.cuda.get_device_name(0),
              "torchVersion": torch.__version__}
    for key, phase, lengths in GRIDS:
        grid = profile["measurements"].get(key)
        if grid is None:
            continue
        rows = []
        for b in grid["batchSizes"]:
            rows.append([time_layer(m, ws, phase, b, n, args.warmup, args.repetitions, l2)
                         for n in grid[lengths]])
            print("torch_layer: %s %s batch %d done" % (name, key, b), file=sys.stderr)
        result[key] = {"batchSizes": grid["batchSizes"], lengths: grid[lengths],
                       "medianSeconds": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
