"""Draw the Grafana dashboard's panels as one PNG, from a real Prometheus.

Why: the README shows what the dashboard looks like, and a picture drawn from the committed
dashboard JSON (each panel's own PromQL run through Prometheus' query_range API) cannot drift
from it the way a screenshot would. It also proves every panel's query parses and returns data.

    python3 deploy/grafana/render_dashboard.py --prometheus http://127.0.0.1:9090 --minutes 10 --out docs/dashboard.png

Grafana's ``$__rate_interval`` and ``$__range`` are replaced by ``--rate-interval`` and the
rendered range; other template variables are not supported (the dashboard has none).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parent / "dashboards" / "streamscribe.json"


@dataclass
class Panel:
    title: str
    kind: str  # "timeseries" or "stat"
    unit: str
    targets: list[tuple[str, str]]  # (expr, legendFormat)
    series: list[tuple[str, list[float], list[float]]] = field(default_factory=list)  # (legend, times, values)


def load_panels(path: Path = DASHBOARD) -> list[Panel]:
    dashboard = json.loads(Path(path).read_text())
    return [
        Panel(
            title=p["title"],
            kind=p["type"],
            unit=p.get("fieldConfig", {}).get("defaults", {}).get("unit", "short"),
            targets=[(t["expr"], t.get("legendFormat", "")) for t in p.get("targets", [])],
        )
        for p in dashboard["panels"]
        if p.get("type") in ("timeseries", "stat")
    ]


def expand(expr: str, rate_interval: str, range_s: int) -> str:
    """Grafana's built-in variables, as Grafana would fill them for this range."""
    return expr.replace("$__rate_interval", rate_interval).replace("$__range", f"{range_s}s")


def query_range(base_url: str, expr: str, start: float, end: float, step: float) -> list[tuple[dict, list]]:
    """Prometheus' /api/v1/query_range; raises on a query error (e.g. a PromQL syntax error)."""
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base_url.rstrip('/')}/api/v1/query_range?{params}", timeout=30) as resp:
        body = json.load(resp)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body.get('error')}")
    return [(r["metric"], r["values"]) for r in body["data"]["result"]]


def legend(fmt: str, labels: dict) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt) if fmt else ""
    return text.strip() or (json.dumps(labels) if labels else "value")


def fetch(panels: list[Panel], base_url: str, start: float, end: float, rate_interval: str) -> None:
    """Fill each panel's series from Prometheus (NaN/Inf points, e.g. 0/0, are dropped)."""
    step = max(1.0, (end - start) / 240)
    for panel in panels:
        panel.series = []
        for expr, fmt in panel.targets:
            for labels, values in query_range(base_url, expand(expr, rate_interval, int(end - start)), start, end, step):
                points = [(float(t), float(v)) for t, v in values if math.isfinite(float(v))]
                if points:
                    panel.series.append((legend(fmt, labels), [t - start for t, _ in points], [v for _, v in points]))


_UNITS = {"bytes": (2**30, "GiB"), "s": (1, "seconds"), "x": (1, "× realtime"), "currencyUSD": (1, "USD")}


def draw(panels: list[Panel], out: Path, title: str, columns: int = 3) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 3.7 * rows), squeeze=False)
    fig.suptitle(title, fontsize=14, fontweight="bold")
    for ax, panel in zip(axes.flat, panels):
        scale, unit = _UNITS.get(panel.unit, (1, ""))
        ax.set_title(panel.title, fontsize=10.5, loc="left")
        ax.grid(alpha=0.3)
        if not panel.series:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=13, color="grey", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        elif panel.kind == "stat":
            value = panel.series[0][2][-1] / scale
            ax.text(0.5, 0.5, f"{value:,.4f} {unit}", ha="center", va="center", fontsize=24, transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            for name, times, values in panel.series:
                ax.plot([t / 60 for t in times], [v / scale for v in values], label=name, linewidth=1.6)
            ax.set_xlabel("minutes", fontsize=8)
            ax.set_ylabel(unit, fontsize=8)
            ax.tick_params(labelsize=8)
            ax.legend(fontsize=7.5, loc="upper left", framealpha=0.7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)


def render(base_url: str, out: Path, start: float, end: float, *, rate_interval: str = "1m",
           dashboard: Path = DASHBOARD, title: str | None = None) -> list[Panel]:
    panels = load_panels(dashboard)
    fetch(panels, base_url, start, end, rate_interval)
    name = json.loads(Path(dashboard).read_text())["title"]
    draw(panels, out, title or f"{name} — {(end - start) / 60:.0f} min from a real run (Prometheus query_range)")
    return panels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--minutes", type=float, default=15, help="range to draw, ending now")
    parser.add_argument("--rate-interval", default="1m", help="what $__rate_interval stands for")
    parser.add_argument("--dashboard", type=Path, default=DASHBOARD)
    parser.add_argument("--out", type=Path, default=Path("dashboard.png"))
    args = parser.parse_args()
    end = time.time()
    panels = render(args.prometheus, args.out, end - args.minutes * 60, end,
                    rate_interval=args.rate_interval, dashboard=args.dashboard)
    for p in panels:
        print(f"{len(p.series):3d} series  {p.title}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
