#!/usr/bin/env python3
"""Latency percentiles of the mock against the floor, from the `load` tool's JSON lines.

Reads the lines `load run` / `load compare` print (one JSON object per line; other lines are
skipped), groups the runs by file and scenario (connections, depth, mix), takes the median of
each percentile over rounds, and writes an SVG: one panel per scenario, one line per target
(floor-echo, floor-json, mock), percentiles p50 → p99.9 on a log scale. With --table it also
prints a Markdown table of the medians and the mock's ratios to the floors.

Standard library only, so CI and a fresh clone need nothing installed:

    python3 scripts/plot_latency.py results/pinned.jsonl results/load.jsonl \
        --out docs/latency.svg --table
"""

import argparse
import html
import json
import math
import statistics
import sys
from pathlib import Path

PERCENTILES = [("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p999", "p99.9")]
COLORS = {"floor-echo": "#7f7f7f", "floor-json": "#1f77b4", "mock": "#d62728"}
DASHES = {"floor-echo": "4 3", "floor-json": "", "mock": ""}
ORDER = ["floor-echo", "floor-json", "mock"]


def read_runs(paths):
    """Every `mode: run` object, with the file it came from."""
    runs = []
    for path in paths:
        for line in Path(path).read_text().splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if obj.get("mode") == "run" and "latency_us" in obj:
                obj["_file"] = Path(path).stem
                runs.append(obj)
    return runs


def scenarios(runs):
    """{(file, title): {target: [runs]}} in the order first seen."""
    groups = {}
    for run in runs:
        title = f"C={run['connections']} D={run['depth']} {run['mix']}"
        key = (run["_file"], title)
        groups.setdefault(key, {}).setdefault(run["target"], []).append(run)
    return groups


def median_of(runs, *path):
    values = []
    for run in runs:
        value = run
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            values.append(float(value))
    return statistics.median(values) if values else None


def target_order(targets):
    known = [t for t in ORDER if t in targets]
    return known + sorted(t for t in targets if t not in ORDER)


def svg(groups):
    panel_w, panel_h = 380, 320
    left, right, top, bottom = 74, 16, 34, 64
    width = panel_w * max(1, len(groups))
    height = panel_h + 34
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for index, ((file, title), by_target) in enumerate(groups.items()):
        x0 = index * panel_w
        plot_w = panel_w - left - right
        plot_h = panel_h - top - bottom
        series = {}
        for target in target_order(by_target):
            points = [median_of(by_target[target], "latency_us", key) for key, _ in PERCENTILES]
            series[target] = points
        values = [v for points in series.values() for v in points if v and v > 0]
        if not values:
            continue
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        if hi <= lo:
            hi = lo * 10

        def y_of(v):
            frac = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
            return top + plot_h * (1 - frac)

        def x_of(i):
            return x0 + left + plot_w * (i + 0.5) / len(PERCENTILES)

        out.append(
            f'<text x="{x0 + left + plot_w / 2}" y="18" text-anchor="middle" '
            f'font-weight="bold">{html.escape(file)}: {html.escape(title)}</text>'
        )
        # Grid: 1, 2, 5 of every decade.
        decade = lo
        while decade <= hi * 1.0001:
            for step in (1, 2, 5):
                v = decade * step
                if v < lo * 0.9999 or v > hi * 1.0001:
                    continue
                y = y_of(v)
                stroke = "#cccccc" if step == 1 else "#eeeeee"
                out.append(
                    f'<line x1="{x0 + left}" y1="{y:.1f}" x2="{x0 + left + plot_w}" '
                    f'y2="{y:.1f}" stroke="{stroke}"/>'
                )
                label = f"{v:g} µs" if v < 1000 else f"{v / 1000:g} ms"
                out.append(
                    f'<text x="{x0 + left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                    f'fill="#555">{label}</text>'
                )
            decade *= 10
        out.append(
            f'<text transform="translate({x0 + 14},{top + plot_h / 2}) rotate(-90)" '
            f'text-anchor="middle" fill="#333">round trip (log scale)</text>'
        )
        out.append(
            f'<rect x="{x0 + left}" y="{top}" width="{plot_w}" height="{plot_h}" '
            f'fill="none" stroke="#999"/>'
        )
        for i, (_, label) in enumerate(PERCENTILES):
            out.append(
                f'<text x="{x_of(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle">'
                f"{label}</text>"
            )
        for n, (target, points) in enumerate(series.items()):
            color = COLORS.get(target, "#2ca02c")
            coords = [(x_of(i), y_of(v)) for i, v in enumerate(points) if v and v > 0]
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            dash = DASHES.get(target, "")
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" '
                f'stroke-width="2"{dash_attr}/>'
            )
            for x, y in coords:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
            ly = top + plot_h + 44
            lx = x0 + left + 6 + 106 * n
            out.append(
                f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" '
                f'stroke="{color}" stroke-width="2"{dash_attr}/>'
            )
            out.append(f'<text x="{lx + 24}" y="{ly}">{html.escape(target)}</text>')
    out.append(
        f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle" fill="#555">'
        "median over rounds of each percentile; lower is better</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def table(groups):
    rows = [
        "| scenario | target | p50 µs | p90 µs | p99 µs | p99.9 µs | req/s | server CPU µs/req "
        "| p50 × echo | CPU × json |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def fmt(v, digits=1):
        return "–" if v is None else f"{v:,.{digits}f}"

    for (file, title), by_target in groups.items():
        echo_p50 = median_of(by_target.get("floor-echo", []), "latency_us", "p50")
        json_cpu = median_of(by_target.get("floor-json", []), "server_cpu_us_per_request")
        for target in target_order(by_target):
            runs = by_target[target]
            p = [median_of(runs, "latency_us", key) for key, _ in PERCENTILES]
            rps = median_of(runs, "requests_per_s")
            cpu = median_of(runs, "server_cpu_us_per_request")
            p50_ratio = p[0] / echo_p50 if p[0] and echo_p50 else None
            cpu_ratio = cpu / json_cpu if cpu and json_cpu else None
            rows.append(
                f"| {file}: {title} | {target} | {fmt(p[0])} | {fmt(p[1])} | {fmt(p[2])} "
                f"| {fmt(p[3])} | {fmt(rps, 0)} | {fmt(cpu, 2)} "
                f"| {fmt(p50_ratio, 3)} | {fmt(cpu_ratio, 3)} |"
            )
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="files of `load` JSON lines")
    parser.add_argument("--out", default="docs/latency.svg", help="SVG to write")
    parser.add_argument("--table", action="store_true", help="print a Markdown table too")
    args = parser.parse_args()
    groups = scenarios(read_runs(args.files))
    if not groups:
        sys.exit("no `load` runs found in " + ", ".join(args.files))
    Path(args.out).write_text(svg(groups))
    print(f"wrote {args.out} ({len(groups)} panel(s))", file=sys.stderr)
    if args.table:
        print(table(groups))


if __name__ == "__main__":
    main()
