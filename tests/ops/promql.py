"""Which metric names a PromQL expression reads, and which names the relayer defines."""

from __future__ import annotations

import re

from prometheus_client.core import Metric

from relayer.chains.status import ChainStatus
from relayer.metrics import Metrics
from relayer.orders.book import OrderBook

_KEYWORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "topk", "bottomk", "quantile",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "absent", "absent_over_time",
    "histogram_quantile", "clamp_min", "clamp_max", "abs", "ceil", "floor", "round",
    "time", "vector", "scalar", "max_over_time", "min_over_time", "avg_over_time",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "le",
}
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum",
                                                              "_created"),
             "gauge": ("",), "info": ("_info",), "summary": ("", "_count", "_sum", "_created")}


def metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"(?<![A-Za-z_:])\d+(\.\d+)?([eE][+-]?\d+)?", " ", text)
    return {word for word in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text)
            if word not in _KEYWORDS}


class _Monitor:
    name = "ethereum"

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def status(self) -> ChainStatus:
        return ChainStatus(chain="ethereum", connected=True, head=2, processed=1, max_lag=1)


def defined_families() -> list[Metric]:
    """Every family a fully wired ``Metrics`` exports (custom collectors included)."""
    metrics = Metrics()
    metrics.watch_orders(OrderBook())
    metrics.watch_monitors([_Monitor()])
    return list(metrics.registry.collect())


def defined_series() -> set[str]:
    names = set()
    for family in defined_families():
        for suffix in _SUFFIXES[family.type]:
            names.add(family.name + suffix)
        names.update(sample.name for sample in family.samples)
    return names
