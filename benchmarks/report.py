"""The side-by-side table, the ratios to the peers, the totals, and the plots of one run."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Result = dict[str, Any]
BARE, NODE = "bare starlette", "node socket.io"
CONNECTORS = ("connector sqlite", "connector redis")


def progress(what: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"{time.strftime('%H:%M:%S')} {what}", file=sys.stderr, flush=True)


def row_name(result: Result) -> str:
    return f"{result['server']} ({result['transport']})"


def _ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _rate_at(result: Result, rate: float) -> Result | None:
    return next((r for r in result.get("rates", []) if r["rate"] == rate), None)


def _idle(result: Result) -> str:
    done = [i for i in result.get("idle", []) if "kb_each" in i]
    if not done:
        return "—"
    last = done[-1]
    return f"{last['kb_each']:.0f} KB ({last['connections']:,}, {last['open_seconds']:.1f} s)"


def _best(result: Result) -> str:
    search = result.get("search")
    if not search:
        return "—"
    if not search["best_rate"]:
        return f"< {min(step['rate'] for step in search['steps']):,.0f}/s"
    best = f"{search['best_rate']:,.0f}/s"
    return f"≥ {best}" if search["capped_by_generator"] else best


def table(report: Result) -> str:
    rates: list[float] = report["plan"]["rates"]
    poll_rates: list[float] = report["plan"]["poll_rates"]
    every_rate = sorted({*rates, *poll_rates})
    head = ["server (transport)"]
    head += [f"p50 / p99 / max @{rate:g}/s (ms)" for rate in every_rate]
    head += ["highest rate p99 < 100 ms", "KB per idle WS (n, open time)", "lost", "dup"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for result in report["servers"]:
        if "scale" in result and "rates" not in result:
            continue  # a scale-out layout: in the scale lines
        cells = [row_name(result)]
        for rate in every_rate:
            at = _rate_at(result, rate)
            cells.append(
                "—"
                if at is None
                else f"{_ms(at['p50_ms'])} / {_ms(at['p99_ms'])} / {_ms(at['max_ms'])}"
            )
        lost, dup = totals(result)
        cells += [_best(result), _idle(result), str(lost), str(dup)]
        if "note" in result:
            cells[1] = result["note"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _find(report: Result, server: str, transport: str) -> Result | None:
    return next(
        (r for r in report["servers"] if r["server"] == server and r["transport"] == transport),
        None,
    )


def ratios(report: Result) -> list[str]:
    """Connector ÷ peer, for each figure both have in this run; Redis ÷ SQLite."""
    lines = []
    sqlite, redis = _find(report, CONNECTORS[0], "ws"), _find(report, CONNECTORS[1], "ws")
    if sqlite and redis:
        lines += _compare(redis, sqlite)
    for connector in CONNECTORS:
        for transport, peer_transport in (("ws", "ws"), ("polling", "polling")):
            mine = _find(report, connector, transport)
            for peer in (BARE, NODE):
                theirs = _find(report, peer, peer_transport)
                if mine and theirs:
                    lines += _compare(mine, theirs)
    return lines


def _compare(mine: Result, theirs: Result) -> list[str]:
    label = f"{row_name(mine)} ÷ {row_name(theirs)}"
    lines = []
    for ours in mine.get("rates", []):
        peer = _rate_at(theirs, ours["rate"])
        if peer and peer["p99_ms"] > 0:
            lines.append(
                f"{label}: p99 @{ours['rate']:g}/s = {ours['p99_ms'] / peer['p99_ms']:.2f}"
            )
    if mine.get("search") and theirs.get("search") and theirs["search"]["best_rate"]:
        share = mine["search"]["best_rate"] / theirs["search"]["best_rate"]
        lines.append(f"{label}: highest rate with p99 < 100 ms = {share:.2f}")
    ours_idle = [i for i in mine.get("idle", []) if "kb_each" in i]
    peer_idle = {i["connections"]: i for i in theirs.get("idle", []) if "kb_each" in i}
    if ours_idle and (match := peer_idle.get(ours_idle[-1]["connections"])):
        share = ours_idle[-1]["kb_each"] / match["kb_each"] if match["kb_each"] > 0 else math.nan
        lines.append(f"{label}: KB per idle WS ({match['connections']:,}) = {share:.2f}")
    return lines


SCALE_COSTS = ("cpu_seconds_per_1000", "redis_commands_per_event", "redis_cpu_ms_per_event")


def scale_lines(report: Result) -> list[str]:
    lines = []
    one: Result | None = None
    for result in report["servers"]:
        if scale := result.get("scale"):
            lines.append(
                f"{result['server']}: {scale['instances']} instance(s) @{scale['rate']:g}/s: "
                f"p99 {_ms(scale['p99_ms'])} ms, CPU "
                f"{scale.get('cpu_seconds_per_1000', math.nan):.2f} s per 1,000 events, Redis "
                f"{scale.get('redis_commands_per_event', math.nan):.1f} commands and "
                f"{scale.get('redis_cpu_ms_per_event', math.nan):.3f} ms CPU per event"
            )
            if scale["instances"] == 1:
                one = scale
            elif one is not None:
                shares = [
                    f"{cost} {scale[cost] / one[cost]:.2f}"
                    for cost in SCALE_COSTS
                    if scale.get(cost) and one.get(cost)
                ]
                lines.append(f"{result['server']} ÷ 1 instance: " + ", ".join(shares))
    return lines


def other_lines(report: Result) -> list[str]:
    lines = []
    for result in report["servers"]:
        name = row_name(result)
        if send := result.get("send"):
            lines.append(
                f"{name}: send @{send['rate']:g}/s: ok p50 {_ms(send['ok_p50_ms'])} / p99 "
                f"{_ms(send['ok_p99_ms'])} ms; AXP accepted (echo) p50 "
                f"{_ms(send['echo_p50_ms'])} / p99 {_ms(send['echo_p99_ms'])} ms"
            )
        if storm := result.get("storm"):
            lines.append(
                f"{name}: reconnect storm of {storm['clients']:,}: all bound in "
                f"{storm['all_bound_seconds']:.2f} s, resume p50 {_ms(storm['resume_p50_ms'])} / "
                f"p99 {_ms(storm['resume_p99_ms'])} ms, failed {storm['failed']}, "
                f"retried {storm.get('retried', 0):,}"
            )
        if rates := result.get("rates"):
            top = max(rates, key=lambda r: r["rate"])
            lines.append(
                f"{name}: worst gap between two deliveries @{top['rate']:g}/s "
                f"{_ms(top['worst_gap_ms'])} ms (a stall of the server shows here)"
            )
        if result.get("gc_pause_max_seconds") is not None:
            lines.append(
                f"{name}: worst GC pause since start {1000 * result['gc_pause_max_seconds']:.1f} ms"
            )
        if under := result.get("gc_under_load"):
            lines.append(
                f"{name}: GC collections during the fixed rates and the search: "
                f"{under['total']:.0f}, of which over 5 ms {under['over_0.005']:.0f}, over 20 ms "
                f"{under['over_0.02']:.0f}, over 100 ms {under['over_0.1']:.0f}"
            )
    return lines


def _all_rates(result: Result) -> Iterator[Result]:
    yield from result.get("rates", [])
    yield from (result.get("search") or {}).get("steps", [])


def totals(tree: Any) -> tuple[int, int]:
    """Lost and duplicated, summed over every scenario found in `tree`."""
    lost = dup = 0
    if isinstance(tree, dict):
        lost += int(tree.get("lost", 0))
        dup += int(tree.get("duplicated", 0))
        children = [v for v in tree.values() if isinstance(v, dict | list)]
    elif isinstance(tree, list):
        children = tree
    else:
        return 0, 0
    for child in children:
        more_lost, more_dup = totals(child)
        lost, dup = lost + more_lost, dup + more_dup
    return lost, dup


def overloaded_losses(report: Result) -> tuple[int, int]:
    """Lost and duplicated at push rates whose p99 was over 100 ms (past the server's
    capacity, where *lost* mostly means *still queued 10 s after the last POST was due*)."""
    lost = dup = 0
    for result in report["servers"]:
        for rate in _all_rates(result):
            if not rate["p99_ms"] < 100:
                lost, dup = lost + int(rate["lost"]), dup + int(rate["duplicated"])
    return lost, dup


def text(report: Result) -> str:
    meta = report["meta"]
    lost, dup = totals(report["servers"])
    over_lost, over_dup = overloaded_losses(report)
    parts = [
        f"{meta['date']} · {meta['machine']} · pinned: {meta['pinned']}",
        f"load generator ceiling (null server): {report['generator_ceiling']:,.0f} POSTs/s",
        "",
        table(report),
        "",
        *(f"- {line}" for line in [*ratios(report), *scale_lines(report), *other_lines(report)]),
        "",
        f"lost {lost}, duplicated {dup} (all scenarios); of which at rates with p99 ≥ 100 ms:"
        f" lost {over_lost}, duplicated {over_dup}",
    ]
    return "\n".join(parts)


def plot(report: Result, path: Path) -> Path | None:
    """p50 and p99 latency against rate, one line per server and transport (needs matplotlib)."""
    if not any(True for result in report["servers"] for _ in _all_rates(result)):
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(13, 5))
    for result in report["servers"]:
        points = sorted((r["rate"], r["p50_ms"], r["p99_ms"]) for r in _all_rates(result))
        if not points:
            continue
        xs = [p[0] for p in points]
        for axis, column in zip(axes, (1, 2), strict=True):
            axis.plot(xs, [p[column] for p in points], marker="o", label=row_name(result))
    for axis, title in zip(axes, ("p50", "p99"), strict=True):
        axis.set(xscale="log", yscale="log", xlabel="pushes per second", ylabel="ms", title=title)
        axis.axhline(100, color="grey", linestyle=":", linewidth=1)
        axis.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
