"""Ratios, target checks and the stdout table for the ack-latency bench."""

from __future__ import annotations

import time

from bench.stats import ratio

_START = time.monotonic()

P99_RATIO_LIMIT = 1.5
ROUND_TRIPS_LIMIT = 2


def say(text: str) -> None:
    """A progress line, with the seconds since the bench started."""
    print(f"[bench {time.monotonic() - _START:5.1f}s] {text}", flush=True)


def ratios(targets: dict[str, dict]) -> dict[str, object]:
    """ours / echo for ack p50 and p99 (lower is better) and handled/s per level (higher is better)."""
    ours, echo = targets["ours"], targets["echo"]
    ack_o, ack_e = ours["sequential"]["ack_latency_ms"], echo["sequential"]["ack_latency_ms"]
    return {
        "ack_p50": ratio(ack_o["p50"], ack_e["p50"]),
        "ack_p99": ratio(ack_o["p99"], ack_e["p99"]),
        "handled_per_s": {
            level: ratio(run["handled_per_s"], echo["levels"][level]["handled_per_s"])
            for level, run in ours["levels"].items()
        },
    }


def checks(result: dict) -> list[dict]:
    """The targets: p99 ack latency within 1.5x the echo bot's; at most 2 Table round trips (polling excluded) before the ack."""
    p99 = result["ratios"]["ack_p99"]
    trips = result["targets"]["ours"]["sequential"]["table_round_trips"]["before_ack"]
    worst = trips["excluding_background"]["max"]
    return [
        {
            "name": "p99 ack latency ours/echo",
            "value": p99,
            "limit": f"<= {P99_RATIO_LIMIT}",
            "met": p99 is not None and p99 <= P99_RATIO_LIMIT,
        },
        {
            "name": "Table round trips before the ack (max per request, background polling excluded)",
            "value": worst,
            "with_background": trips["all"]["max"],
            "limit": f"<= {ROUND_TRIPS_LIMIT}",
            "met": worst is not None and worst <= ROUND_TRIPS_LIMIT,
        },
    ]


def _fmt(value: object, width: int = 12) -> str:
    if value is None:
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:.2f}".rjust(width)
    return str(value).rjust(width)


def _row(label: str, *values: object) -> str:
    return f"  {label:<36}" + "".join(_fmt(v) for v in values)


def _latency_rows(ours: dict, echo: dict) -> list[str]:
    rows = []
    for key, label in (("ack_latency_ms", "ack latency"), ("post_returned_ms", "POST returned")):
        for stat in ("p50", "p90", "p99", "mean", "max"):
            o, e = ours["sequential"][key][stat], echo["sequential"][key][stat]
            rows.append(_row(f"{label} {stat} (ms)", o, e, ratio(o, e)))
    return rows


def _level_rows(ours: dict, echo: dict) -> list[str]:
    rows = []
    for level, run in ours["levels"].items():
        base = echo["levels"][level]
        rows.append(_row(f"{level:>3} clients: handled/s", run["handled_per_s"], base["handled_per_s"],
                         ratio(run["handled_per_s"], base["handled_per_s"])))
        o_p99, e_p99 = run["handled_latency_ms"]["p99"], base["handled_latency_ms"]["p99"]
        rows.append(_row("     handled latency p99 (ms)", o_p99, e_p99, ratio(o_p99, e_p99)))
        rows.append(_row("     handled / sent / planned", f"{run['handled']}/{run['sent']}/{run['planned']}",
                         f"{base['handled']}/{base['sent']}/{base['planned']}"))
        rows.append(_row("     bot process CPU (cores)", run["bot_process_cpu_share"], base["bot_process_cpu_share"]))
        rows.append(_row("     bench process CPU (cores)", run["bench_process_cpu_share"], base["bench_process_cpu_share"]))
        for name, r in (("ours", run), ("echo", base)):
            if r["errors"] or r["hit_time_cap"]:
                rows.append(f"     ! {name}: errors {r['errors']}, hit time cap: {r['hit_time_cap']}")
            if not r["settle"]["quiet"]:
                rows.append(f"     ! {name}: the bots were still busy after settling {r['settle']['waited_s']} s")
    return rows


def _trip_rows(result: dict) -> list[str]:
    o = result["targets"]["ours"]["sequential"]["table_round_trips"]
    e = result["targets"]["echo"]["sequential"]["table_round_trips"]
    rows = []
    for window, label in (("before_ack", "POST->ack"), ("until_next_request", "POST->next POST")):
        for kind, suffix in (("excluding_background", ""), ("all", " (+polling)")):
            for stat in ("median", "max"):
                rows.append(_row(f"{label}{suffix}: {stat}", o[window][kind][stat], e[window][kind][stat]))
        if o[window]["calls"]:
            calls = ", ".join(f"{k} x{v}" for k, v in o[window]["calls"].items())
            rows.append(f"  calls {label} (ours, all requests): {calls}")
    idle = result["idle_table_traffic"]
    polling = ", ".join(f"{k} x{v}" for k, v in idle["calls"].items()) or "none"
    rows.append(f"  idle for {idle['seconds']} s before the run, the bots made: {polling}")
    background = sorted(set(o["before_ack"]["background_kinds"]) | set(o["until_next_request"]["background_kinds"]))
    rows.append(f"  counted as background polling: {', '.join(background) or 'nothing'}")
    after_ack = (o["until_next_request"]["excluding_background"]["mean"] or 0) - (o["before_ack"]["excluding_background"]["mean"] or 0)
    if after_ack > 0 and not result["params"]["pause_ms"]:
        rows.append("  ! ours makes Table calls after the ack; they can land in the next request's window. For the "
                    "ack path alone, space the requests (--pause-ms 2000, see bench/README.md).")
    return rows


def _overhead_rows(result: dict) -> list[str]:
    cost = result["proxy_overhead_ms_per_round_trip"]
    trips = result["targets"]["ours"]["sequential"]["table_round_trips"]["before_ack"]["excluding_background"]["median"] or 0
    return [
        f"  a point read takes {cost['direct_p50']:.2f} ms direct, {cost['proxied_p50']:.2f} ms through the proxy "
        f"(p50, {cost['reads']} reads): +{cost['added_p50']:.2f} ms per round trip",
        f"  so our median ack carries about {trips * cost['added_p50']:.2f} ms of proxy cost "
        f"({trips} round trips before the ack); the echo bot carries none",
    ]


def print_report(result: dict) -> None:
    """The figures as a readable table."""
    ours, echo = result["targets"]["ours"], result["targets"]["echo"]
    params = result["params"]
    seq_o, seq_e = ours["sequential"], echo["sequential"]
    print(f"\nack latency bench  commit {result['commit']}{' (dirty tree)' if result['dirty'] else ''}"
          f"  nproc {result['machine']['nproc']}  {result['started_at']}  {result['duration_s']} s")
    sdk = params.get("sdk", "botbuilder")
    print(f"ours: python app.py with TEAMS_SDK={sdk}; echo: the smallest bot on the same SDK "
          f"({'bench/echo_agents.py' if sdk == 'agents' else 'bench/echo_bot.py'})")
    print(f"params: {params['requests']} sequential after {params['warmup']} warm-up; levels {params['levels']} x "
          f"{params['level_requests']} requests; cap {params['time_cap']} s/phase; per-request timeout {params['timeout']} s")
    print("handled = POST returned 2xx AND the thread's first message (the ack) arrived at the connector stand-in")
    print("\n" + _row("", "ours", "echo", "ours/echo"))
    print(f"Sequential (ours {seq_o['handled']}/{seq_o['sent']} handled, echo {seq_e['handled']}/{seq_e['sent']})")
    print("\n".join(_latency_rows(ours, echo)))
    print(_row("messages per thread", seq_o["messages_per_thread"], seq_e["messages_per_thread"]))
    for name, seq in (("ours", seq_o), ("echo", seq_e)):
        warm = seq["warmup"]
        if warm["handled"] < warm["sent"] or warm["sent"] < params["warmup"]:
            print(f"  ! {name}: warm-up handled {warm['handled']} of {warm['sent']} sent ({params['warmup']} planned)")
        if seq["errors"] or seq["hit_time_cap"]:
            print(f"  ! {name}: errors {seq['errors']}, hit time cap: {seq['hit_time_cap']}")
        if not seq["settle"]["quiet"]:
            print(f"  ! {name}: the bots were still busy after settling {seq['settle']['waited_s']} s before this phase")
    print("Throughput (closed loop; ratio > 1 means ours handles more)")
    print("\n".join(_level_rows(ours, echo)))
    print("Table Storage round trips per request (sequential phase, via the counting proxy)")
    print("\n".join(_trip_rows(result)))
    print("Proxy cost (our Table calls all go through the counting proxy)")
    print("\n".join(_overhead_rows(result)))
    print("Targets")
    for check in result["checks"]:
        extra = f"; {check['with_background']} with background polling" if "with_background" in check else ""
        value = "n/a (no handled requests)" if check["value"] is None else check["value"]
        print(f"  [{'MET' if check['met'] else 'NOT MET'}] {check['name']}: {value} (target {check['limit']}{extra})")
