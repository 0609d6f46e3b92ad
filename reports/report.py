#!/usr/bin/env python3
"""platsim report: one self-contained HTML page from platsim's outputs.

  report.py DIR... --out REPORT_DIR [--title TITLE]

Each DIR is a folder `platsim run` wrote (one design, or several side by
side), one `platsim sweep` wrote, or one `platsim plan` wrote. The report (REPORT_DIR/report.html, its
figures also as PNG files in REPORT_DIR/figures/) holds:

- runs: a summary table per Service with 95% confidence intervals; latency
  percentiles, throughput and arrivals, requests lost, replicas, an LLM
  service's token latencies, and the platform's nodes, GPUs and cost over
  time (replication 0); and a timeline of controller decisions, rollouts and
  failures from events.jsonl. Several folders (or designs) are drawn side by
  side.
- sweeps: the points' table, the cost against p99 latency with the Pareto
  frontier, and each metric against each parameter with 95% bands.
- plans: the design chosen, every point run, and their cost against the
  first objective.

Exit status: 0 written, 2 bad input (a folder that is not platsim's).
"""
import argparse
import base64
import csv
import html
import io
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXIT_BAD_INPUT = 2
COLOURS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


class BadInput(Exception):
    pass


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})")
    except ValueError as e:
        raise BadInput(f"{path}: not JSON ({e})")


def number(text):
    try:
        return float(text) if text != "" else math.nan
    except ValueError:
        return math.nan


class Run:
    """One run folder (one design): its summary, time series and events."""

    def __init__(self, name, folder, summary):
        self.name = name
        self.folder = folder
        self.summary = summary
        self.series = {}  # series -> column -> ([times], [values]), replication 0
        path = os.path.join(folder, "timeseries.csv")
        if os.path.exists(path):
            with open(path, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    if row.get("replication", "0") != "0":
                        continue
                    cols = self.series.setdefault(row["series"], {})
                    t = number(row["time_s"])
                    for key, value in row.items():
                        if key in ("replication", "time_s", "series"):
                            continue
                        times, values = cols.setdefault(key, ([], []))
                        times.append(t)
                        values.append(number(value))
        self.events = []
        path = os.path.join(folder, "events.jsonl")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    if e.get("replication", 0) == 0:
                        self.events.append(e)

    def services(self):
        return list(self.summary.get("services", {}))


def load(folder):
    """The runs of a run folder, or ('sweep', results) for a sweep folder."""
    if not os.path.isdir(folder):
        raise BadInput(f"{folder}: no such folder")
    if os.path.exists(os.path.join(folder, "results.json")):
        return "sweep", read_json(os.path.join(folder, "results.json"))
    if os.path.exists(os.path.join(folder, "plan.json")):
        return "plan", read_json(os.path.join(folder, "plan.json"))
    summary = read_json(os.path.join(folder, "summary.json"))
    kind = summary.get("kind")
    if kind == "DesignComparison":
        runs = []
        for d in summary.get("designs", []):
            own = os.path.join(folder, d.get("folder", ""))
            runs.append(Run(d.get("name", own), own, read_json(os.path.join(own, "summary.json"))))
        return "runs", runs
    if kind != "RunSummary":
        raise BadInput(f"{folder}/summary.json: not a platsim run's summary (kind {kind!r})")
    design = summary.get("design")
    name = (design.get("name") if isinstance(design, dict) else None) or \
        os.path.basename(os.path.normpath(folder))
    return "runs", [Run(name, folder, summary)]


class Page:
    """The HTML page and its figures."""

    def __init__(self, out, title):
        self.out = out
        self.title = title
        self.parts = []
        self.figures = 0
        os.makedirs(os.path.join(out, "figures"), exist_ok=True)

    def text(self, s):
        self.parts.append(s)

    def figure(self, fig, name, caption):
        self.figures += 1
        # Names come from parameters: only safe characters reach the file name.
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60]
        fname = f"{self.figures:02d}-{safe}.png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        data = buf.getvalue()
        with open(os.path.join(self.out, "figures", fname), "wb") as f:
            f.write(data)
        self.parts.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,'
            f'{base64.b64encode(data).decode()}"><figcaption>{html.escape(caption)}'
            "</figcaption></figure>")

    def write(self):
        style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
                 "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
                 "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                 "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
                 "figure{margin:1.5em 0}img{max-width:100%}figcaption{color:#555;font-size:0.9em}")
        page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{style}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>\n" + "\n".join(self.parts) +
                "\n<p><small>Made by platsim report.</small></p></body></html>\n")
        path = os.path.join(self.out, "report.html")
        with open(path + ".partial", "w", encoding="utf-8") as f:
            f.write(page)
        os.replace(path + ".partial", path)
        return path


def fmt(v, scale=1.0, digits=4):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    v *= scale
    if v == int(v) and abs(v) >= 1e4 and abs(v) < 1e15:
        return f"{v:,.0f}"  # counts whole, with thousands separated
    return f"{v:.{digits}g}"


def with_ci(metrics, ci, key, scale=1.0):
    v = metrics.get(key)
    if v is None:
        return "-"
    h = (ci or {}).get(key)
    return fmt(v, scale) + ("" if h in (None, 0) else f" ± {fmt(h, scale, 2)}")


# The summary table's columns: (heading, metric, scale).
RUN_COLUMNS = [
    ("throughput (req/s)", "throughput_rps", 1),
    ("p50 latency (ms)", "latency_p50_s", 1000),
    ("p99 latency (ms)", "latency_p99_s", 1000),
    ("SLO attained", "slo_attainment", 1),
    ("dropped", "dropped", 1),
    ("timed out", "timed_out", 1),
    ("failed", "failed", 1),
    ("ready replicas (mean)", "ready_replicas_mean", 1),
    ("GPU-hours", "gpu_hours_held", 1),
    ("cost (USD)", "cost_usd", 1),
]
LLM_COLUMNS = [
    ("TTFT p99 (ms)", "ttft_p99_s", 1000),
    ("TPOT p99 (ms)", "tpot_p99_s", 1000),
    ("goodput", "goodput_fraction", 1),
]


def runs_table(page, runs):
    llm = any("ttft_p99_s" in s.get("metrics", {})
              for r in runs for s in r.summary.get("services", {}).values())
    columns = RUN_COLUMNS + (LLM_COLUMNS if llm else [])
    rows = ["<tr><th>design / Service</th>" +
            "".join(f"<th>{html.escape(h)}</th>" for h, _, _ in columns) + "</tr>"]
    for r in runs:
        for service, s in r.summary.get("services", {}).items():
            m, ci = s.get("metrics", {}), s.get("ci95_half_width")
            rows.append(f"<tr><td>{html.escape(r.name)}: {html.escape(service)}</td>" +
                        "".join(f"<td>{with_ci(m, ci, key, scale)}</td>"
                                for _, key, scale in columns) + "</tr>")
    page.text("<h2>Summary</h2><p>Means over each run's replications, ± the half-width of the "
              "95% confidence interval where there are two or more.</p>"
              "<table>" + "".join(rows) + "</table>")
    platform = ["<tr><th>design</th><th>cost (USD)</th><th>energy (kWh)</th>"
                "<th>GPU-hours provisioned</th><th>node-hours</th></tr>"]
    for r in runs:
        p = r.summary.get("platform", {})
        m, ci = p.get("metrics", {}), p.get("ci95_half_width")
        platform.append(f"<tr><td>{html.escape(r.name)}</td>" + "".join(
            f"<td>{with_ci(m, ci, k)}</td>"
            for k in ("cost_usd", "energy_kwh", "gpu_hours_provisioned", "node_hours")) + "</tr>")
    page.text("<h3>Platform</h3><table>" + "".join(platform) + "</table>")


def time_unit(runs):
    span = max([t for r in runs for c in r.series.values() for t in
                next(iter(c.values()), ([], []))[0]] or [0])
    return ("h", 3600.0) if span > 3 * 3600 else ("min", 60.0)


def plot_over_time(page, runs, series_of, panels, name, caption):
    """One subplot per panel: (title, [(column, label, scale)], y label)."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.8 * len(panels)), sharex=True,
                             squeeze=False, layout="constrained")
    unit, div = time_unit(runs)
    axes[-1, 0].set_xlabel(f"simulated time ({unit})")
    drawn = False
    for ax, (title, columns, ylabel) in zip(axes[:, 0], panels):
        for i, r in enumerate(runs):
            for series in series_of(r):
                cols = r.series.get(series, {})
                for j, (column, label, scale) in enumerate(columns):
                    times, values = cols.get(column, ([], []))
                    points = [(t, v * scale) for t, v in zip(times, values) if not math.isnan(v)]
                    if not points:
                        continue
                    who = (f"{r.name}: " if len(runs) > 1 else "") + series
                    ax.plot([t / div for t, _ in points], [v for _, v in points],
                            color=COLOURS[i % len(COLOURS)],
                            linestyle=["-", "--", ":", "-."][j % 4], linewidth=1.2,
                            label=f"{who}, {label}" if label else who)
                    drawn = True
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    if drawn:
        page.figure(fig, name, caption)
    else:
        plt.close(fig)


def services_of(run):
    return run.services()


def timeline(page, runs):
    """Controller decisions, rollouts and failures over time."""
    groups = {
        "scaling": ("ScalingReplicaSet", "SuccessfulRescale", "ScaledUpGroup", "ScaleDown",
                    "TriggeredScaleUp", "Scaled", "Killing"),
        "rollouts": ("Rollout", "AnalysisRun", "Metric", "TrafficWeightUpdated", "SwitchService",
                     "RolledBack", "Applied", "Promoted", "Aborted"),
        "failures": ("NodeNotReady", "NodeReady", "TaintManagerEviction", "GPUFailed", "BackOff",
                     "FailedScheduling", "ProgressDeadlineExceeded"),
        "traffic": ("TrafficChanged",),
    }
    rows = []  # (label, group index, times)
    span = max([e.get("time_s", 0) for r in runs for e in r.events] or [0])
    div = 3600.0 if span > 3 * 3600 else 60.0
    for r in runs:
        for g, (group, prefixes) in enumerate(groups.items()):
            times = [e["time_s"] / div for e in r.events
                     if any(e.get("reason", "").startswith(p) for p in prefixes)]
            if times:
                rows.append(((f"{r.name}: " if len(runs) > 1 else "") + group, g, times))
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * max(1, len(rows))), layout="constrained")
    labels = [label for label, _, _ in rows]
    drawn = bool(rows)
    for y, (_, g, times) in enumerate(rows):
        ax.scatter(times, [y] * len(times), marker="|", s=120, color=COLOURS[g % len(COLOURS)])
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("simulated time (" + ("h" if div == 3600.0 else "min") + ")")
    ax.set_title("Controller decisions, rollouts and failures (events.jsonl, replication 0)")
    ax.grid(axis="x", alpha=0.3)
    if drawn:
        page.figure(fig, "timeline", "Each mark is an event: scaling decisions (Deployments, "
                    "HPA, KPA, cluster autoscaler), rollout steps and analyses, failures and "
                    "evictions, traffic changes.")
    else:
        plt.close(fig)
        page.text("<p>No controller decisions, rollouts or failures in events.jsonl.</p>")


def report_runs(page, runs):
    meta = runs[0].summary
    page.text(f"<p>Scenario <b>{html.escape(str(meta.get('scenario', {}).get('name', '')))}</b>"
              f", {len(runs)} design{'s' if len(runs) != 1 else ''}, seed {meta.get('seed')}, "
              f"{meta.get('replications')} replication(s) of "
              f"{fmt(meta.get('duration_s', 0) / 3600.0, 1, 3)} h simulated"
              f" (warm-up {fmt(meta.get('warmup_s', 0) / 60.0, 1, 3)} min)."
              + ("" if all(r.summary.get("complete", True) for r in runs) else
                 " <b>Some runs stopped early; see summary.json.</b>") + "</p>")
    runs_table(page, runs)
    page.text("<h2>Over time</h2><p>Replication 0, each sample interval.</p>")
    plot_over_time(page, runs, services_of, [
        ("Latency", [("latency_p50_s", "p50", 1000), ("latency_p99_s", "p99", 1000)], "ms"),
        ("SLO attained", [("slo_attainment", "", 100)], "% of requests ended"),
        ("Throughput", [("throughput_rps", "completed", 1), ("arrival_rps", "arrived", 1)],
         "requests/s"),
        ("Requests lost", [("dropped", "dropped", 1), ("timed_out", "timed out", 1),
                           ("failed", "failed", 1)], "per interval"),
    ], "latency-throughput", "Latency percentiles, the share of requests meeting the SLO, "
       "throughput and arrivals, and requests dropped, timed out and failed, per sample "
       "interval.")
    plot_over_time(page, runs, services_of, [
        ("Replicas", [("ready_replicas", "ready", 1), ("pods", "pods", 1)], "pods"),
        ("GPU utilisation", [("gpu_utilization", "", 100)], "%"),
    ], "replicas", "Ready replicas and pods of each Service, and the busy share of their GPUs.")
    llm = any("ttft_p99_s" in c and any(not math.isnan(v) for v in c["ttft_p99_s"][1])
              for r in runs for c in r.series.values())
    if llm:
        plot_over_time(page, runs, services_of, [
            ("Token latency", [("ttft_p99_s", "TTFT p99", 1000), ("tpot_p99_s", "TPOT p99", 1000)],
             "ms"),
            ("KV cache in use", [("kv_cache_usage", "", 100)], "%"),
        ], "llm", "An LLM service's time to first token and per output token (p99 of each "
           "interval), and its pods' KV cache in use.")
    plot_over_time(page, runs, lambda r: ["platform"], [
        ("Nodes and GPUs", [("nodes", "nodes", 1), ("gpus_provisioned", "GPUs", 1)], "count"),
        ("Cost", [("cost_usd_per_hour", "", 1)], "USD per hour"),
        ("Power", [("power_w", "", 0.001)], "kW"),
    ], "platform", "The platform: nodes and GPUs provisioned, their cost per hour and power.")
    timeline(page, runs)


def point_label(values, varying=None):
    return ", ".join(f"{k}={v}" for k, v in values.items() if varying is None or k in varying)


def report_sweep(page, results, folder):
    points = results.get("points", [])
    if not points:
        raise BadInput(f"{folder}/results.json: no points")
    metrics = results.get("metrics", [])
    services = sorted({m.rsplit(".", 1)[0] for m in metrics if not m.startswith("platform.")})
    params = [p["name"] for p in results.get("parameters", [])]
    # Labels name only the parameters that differ between points.
    varying = {k for k in params if len({json.dumps(p["values"].get(k)) for p in points}) > 1}
    page.text(f"<p>Sweep <b>{html.escape(str(results.get('name')))}</b> of "
              f"{html.escape(str(results.get('scenario')))}: {len(points)} points, "
              f"{results.get('replications')} replication(s) each, seed {results.get('seed')} "
              "(every point sees the same requests in each replication).</p>")
    cost_key = "platform.cost_usd"
    for service in services:
        p99 = f"{service}.latency_p99_s"
        head = "".join(f"<th>{html.escape(p)}</th>" for p in params)
        rows = [f"<tr><th>point</th>{head}<th>p99 latency (ms)</th><th>SLO attained</th>"
                "<th>throughput (req/s)</th><th>cost (USD)</th></tr>"]
        for p in points:
            m, ci = p.get("mean", {}), p.get("ci95_half_width", {})
            rows.append(f"<tr><td>{p['point']}</td>" + "".join(
                f"<td>{html.escape(str(p['values'].get(k)))}</td>" for k in params) +
                f"<td>{with_ci(m, ci, p99, 1000)}</td>"
                f"<td>{with_ci(m, ci, service + '.slo_attainment')}</td>"
                f"<td>{with_ci(m, ci, service + '.throughput_rps')}</td>"
                f"<td>{with_ci(m, ci, cost_key)}</td></tr>")
        page.text(f"<h2>{html.escape(service)}</h2><table>" + "".join(rows) + "</table>")
        # Cost against p99, the frontier joining the points no other beats on both.
        xs, ys, es, labels = [], [], [], []
        for p in points:
            m, ci = p.get("mean", {}), p.get("ci95_half_width", {})
            x, y = m.get(cost_key), m.get(p99)
            if x is None or y is None:
                continue
            xs.append(x)
            ys.append(y * 1000)
            es.append((ci.get(p99) or 0) * 1000)
            labels.append(point_label(p["values"], varying))
        if xs:
            fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
            ax.errorbar(xs, ys, yerr=es, fmt="o", capsize=3, label="points (95% interval)")
            order = sorted(range(len(xs)), key=lambda i: (xs[i], ys[i]))
            frontier, best = [], math.inf
            for i in order:
                if ys[i] < best:
                    frontier.append(i)
                    best = ys[i]
            ax.plot([xs[i] for i in frontier], [ys[i] for i in frontier], "-", color="C3",
                    label="Pareto frontier")
            for x, y, label in zip(xs, ys, labels):
                ax.annotate(label, (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
            ax.set_xlabel("cost of the run (USD)")
            ax.set_ylabel("p99 latency (ms)")
            ax.set_title(f"{service}: cost against p99 latency")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            page.figure(fig, "pareto", f"{service}: each point's cost and p99 latency (mean of "
                        "its replications, 95% interval); the frontier joins the points that no "
                        "other is both cheaper and faster than.")
        # Each metric against each numeric parameter, the others held.
        for param in params:
            values = [p["values"].get(param) for p in points]
            if not all(isinstance(v, (int, float)) for v in values) or len(set(values)) < 2:
                continue
            fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
            for ax, (key, label, scale) in zip(axes, [
                    (p99, "p99 latency (ms)", 1000),
                    (f"{service}.slo_attainment", "SLO attained", 1),
                    (f"{service}.throughput_rps", "throughput (req/s)", 1)]):
                lines = {}
                for p in points:
                    rest = {k: v for k, v in p["values"].items() if k != param}
                    lines.setdefault(point_label(rest, varying), []).append(p)
                for j, (rest, ps) in enumerate(sorted(lines.items())[:8]):
                    ps = sorted(ps, key=lambda p: p["values"][param])
                    x = [p["values"][param] for p in ps]
                    y = [(p["mean"].get(key) or math.nan) * scale for p in ps]
                    h = [(p["ci95_half_width"].get(key) or 0) * scale for p in ps]
                    ax.plot(x, y, "o-", color=COLOURS[j % len(COLOURS)], label=rest or None)
                    ax.fill_between(x, [a - b for a, b in zip(y, h)], [a + b for a, b in zip(y, h)],
                                    color=COLOURS[j % len(COLOURS)], alpha=0.15)
                ax.set_xlabel(param)
                ax.set_ylabel(label)
                ax.grid(alpha=0.3)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=7)
            fig.suptitle(f"{service} against {param}")
            page.figure(fig, f"by-{param}", f"{service}: p99 latency, SLO attainment and "
                        f"throughput against {param} (mean, 95% band), one line per value of "
                        "the other parameters.")


def report_plan(page, plan, folder):
    """A plan's choice, its options' smallest counts and every point it ran."""
    evaluations = plan["evaluations"]
    chosen = plan.get("chosen")
    page.text(f"<p>Plan <b>{html.escape(str(plan.get('name')))}</b> of "
              f"{html.escape(str(plan.get('scenario')))}: {plan.get('replications')} "
              f"replication(s) a point, headroom {fmt(100 * plan.get('headroom', 0))}%.</p>")
    if chosen:
        page.text(f"<p><b>Chosen: {html.escape(chosen['option'])} x {chosen['count']}</b>, "
                  f"{fmt(chosen['cost_usd'])} USD for the run.</p>")
    else:
        page.text("<p><b>No option meets every objective</b> within its counts.</p>")
    objectives = evaluations[0]["objectives"] if evaluations else []
    head = "".join(f"<th>{html.escape(o['service'])} {html.escape(o['metric'])}</th>"
                   for o in objectives)
    rows = [f"<tr><th>option</th><th>count</th><th>meets</th><th>cost (USD)</th>{head}</tr>"]
    for e in evaluations:
        cells = "".join(
            f"<td>{fmt(o['mean'])} ± {fmt(o['ci95_half_width'], 1, 2)}</td>" for o in e["objectives"])
        rows.append(f"<tr><td>{html.escape(e['option'])}</td><td>{e['count']}</td>"
                    f"<td>{'yes' if e['feasible'] else 'no'}</td><td>{fmt(e['cost_usd'])}</td>"
                    f"{cells}</tr>")
    page.text("<h2>Every point run</h2><table>" + "".join(rows) + "</table>")
    if not objectives:
        return
    first = objectives[0]
    limit = first.get("max", first.get("min"))
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    options = sorted({e["option"] for e in evaluations})
    for i, name in enumerate(options):
        pts = [e for e in evaluations if e["option"] == name and e["cost_usd"] is not None
               and e["objectives"][0]["mean"] is not None]
        ax.errorbar([e["cost_usd"] for e in pts], [e["objectives"][0]["mean"] for e in pts],
                    yerr=[e["objectives"][0]["ci95_half_width"] for e in pts], fmt="o",
                    capsize=3, color=COLOURS[i % len(COLOURS)], label=name)
        for e in pts:
            ax.annotate(str(e["count"]), (e["cost_usd"], e["objectives"][0]["mean"]), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
    if limit is not None:
        ax.axhline(limit, color="C3", linestyle="--", label="objective")
    if chosen:
        ax.plot([chosen["cost_usd"]], [chosen["objectives"][0]["mean"]], "*", markersize=16,
                color="gold", markeredgecolor="k", label="chosen")
    ax.set_yscale("log")
    ax.set_xlabel("cost of the run (USD)")
    ax.set_ylabel(f"{first['service']} {first['metric']} (log scale)")
    ax.set_title("Every point the plan ran: cost against its first objective")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    page.figure(fig, "plan", "Each point is an option at a count (labelled), its mean and 95% "
                "interval over the replications; the dashed line is the objective and the star "
                "the chosen design.")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="run, sweep or plan output folders")
    parser.add_argument("--out", required=True, help="folder to write report.html into")
    parser.add_argument("--title", help="the report's title")
    args = parser.parse_args()
    try:
        loaded = [(folder, *load(folder)) for folder in args.folders]
        kinds = {kind for _, kind, _ in loaded}
        if len(kinds) > 1:
            raise BadInput("give run folders, sweep folders or plan folders, not a mix")
        title = args.title or ("platsim report: " + ", ".join(
            os.path.basename(os.path.normpath(f)) for f in args.folders))
        page = Page(args.out, title)
        if "plan" in kinds:
            for folder, _, plan in loaded:
                report_plan(page, plan, folder)
        elif "sweep" in kinds:
            for folder, _, results in loaded:
                report_sweep(page, results, folder)
        else:
            runs = [r for _, _, rs in loaded for r in rs]
            if len(args.folders) > 1:  # name each by its folder
                for folder, _, rs in loaded:
                    for r in rs:
                        base = os.path.basename(os.path.normpath(folder))
                        r.name = base if len(rs) == 1 else f"{base}/{r.name}"
            report_runs(page, runs)
        path = page.write()
    except BadInput as e:
        print(f"platsim report: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
        # A summary or results file not as platsim writes them.
        print(f"platsim report: {', '.join(args.folders)}: not platsim's outputs as it writes "
              f"them ({type(e).__name__}: {e})", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"platsim: wrote {path} ({page.figures} figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
