#!/usr/bin/env python3
"""Writes small synthetic LLM request traces in the public formats platsim
reads, for scenarios and tests (nothing is downloaded):

- scenarios/traces/azure-llm-sample.csv: the Azure LLM inference trace's
  format (TIMESTAMP,ContextTokens,GeneratedTokens);
- scenarios/traces/mooncake-sample.jsonl: Mooncake's format (timestamp in
  ms, input_length, output_length, hash_ids of the prompt's 512-token
  blocks, shared by requests of one conversation).

The requests are made up: bursty arrivals (a Poisson rate that switches
between a base and a burst), lognormal prompt and output lengths of a chat
workload. The same seed writes the same files.

Usage: tools/traces/make_samples.py [--requests N] [--seed S] [--out DIR]
"""
import argparse
import datetime
import json
import math
import os
import random


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=600)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                 "scenarios", "traces"))
    args = p.parse_args()
    rng = random.Random(args.seed)

    def lognormal(mean, cv, lo, hi):
        sigma = math.sqrt(math.log1p(cv * cv))
        mu = math.log(mean) - sigma * sigma / 2
        return max(lo, min(hi, round(rng.lognormvariate(mu, sigma))))

    t = 0.0
    rows = []
    conversations = []  # per conversation: its blocks so far
    next_block = 0
    for _ in range(args.requests):
        # 4 requests/s, with bursts of 20/s a tenth of the time.
        rate = 20.0 if (t % 60.0) < 6.0 else 4.0
        t += rng.expovariate(rate)
        prompt = lognormal(1000, 0.8, 16, 8000)
        output = lognormal(200, 0.9, 1, 2000)
        # A third of the requests continue an earlier conversation: its
        # blocks are the prefix of theirs.
        if conversations and rng.random() < 1 / 3:
            blocks = list(rng.choice(conversations))
        else:
            blocks = []
            conversations.append(blocks)
        while len(blocks) * 512 < prompt:
            blocks.append(next_block)
            next_block += 1
        rows.append((t, prompt, output, list(blocks[:math.ceil(prompt / 512)])))

    os.makedirs(args.out, exist_ok=True)
    start = datetime.datetime(2026, 11, 2, 9, 0, 0)
    with open(os.path.join(args.out, "azure-llm-sample.csv"), "w") as f:
        f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
        for t, prompt, output, _ in rows:
            stamp = start + datetime.timedelta(microseconds=round(t * 1e6))
            f.write(f"{stamp:%Y-%m-%d %H:%M:%S}.{stamp.microsecond:06d}0,{prompt},{output}\n")
    with open(os.path.join(args.out, "mooncake-sample.jsonl"), "w") as f:
        for t, prompt, output, blocks in rows:
            f.write(json.dumps({"timestamp": round(t * 1000), "input_length": prompt,
                                "output_length": output, "hash_ids": blocks}) + "\n")


if __name__ == "__main__":
    main()
