"""Small statistics helpers for the bench: percentiles and summaries, no third-party packages."""

from __future__ import annotations

import math
import statistics
from typing import Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between order statistics; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p90, p99, mean, min and max in milliseconds, plus the count."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": _round(percentile(ms, 50)),
        "p90": _round(percentile(ms, 90)),
        "p99": _round(percentile(ms, 99)),
        "mean": _round(statistics.fmean(ms)) if ms else None,
        "min": _round(min(ms)) if ms else None,
        "max": _round(max(ms)) if ms else None,
    }


def summary_counts(counts: Sequence[int]) -> dict[str, float | int | None]:
    """Median, mean and max of per-request counts, plus how often each count occurred."""
    return {
        "n": len(counts),
        "median": statistics.median(counts) if counts else None,
        "mean": _round(statistics.fmean(counts)) if counts else None,
        "max": max(counts) if counts else None,
        "histogram": {str(k): counts.count(k) for k in sorted(set(counts))},
    }


def ratio(ours: float | None, baseline: float | None) -> float | None:
    """ours / baseline, rounded; None when either is missing or the baseline is zero."""
    if ours is None or not baseline:
        return None
    return round(ours / baseline, 3)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
