"""Alert rules and the dashboard read only series the relayer defines; docs list them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.ops.promql import defined_families, defined_series, metric_names

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "k8s" / "monitoring" / "prometheus-rules.yaml"
DASHBOARD = ROOT / "k8s" / "monitoring" / "relayer-dashboard.json"


def test_expression_parser() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, route) (rate(relayer_x_bucket{a="b{c}",'
            'job="$job"}[$__rate_interval]))) / clamp_min(sum(relayer_y_total), 1e-9) > 0.5 '
            'and on (chain) relayer_z == 0')
    assert metric_names(expr) == {"relayer_x_bucket", "relayer_y_total", "relayer_z"}


def test_alert_rules_read_only_defined_series() -> None:
    document = yaml.safe_load(RULES.read_text())
    assert document["kind"] == "PrometheusRule"
    defined = defined_series()
    alerts = [rule for group in document["spec"]["groups"] for rule in group["rules"]]
    assert len(alerts) >= 10
    names = [rule["alert"] for rule in alerts]
    assert len(names) == len(set(names))
    used = set()
    for rule in alerts:
        read = metric_names(rule["expr"])
        assert read, rule["alert"]
        assert read <= defined, (rule["alert"], read - defined)
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        used |= read
    # Every area of the issue has at least one alert.
    for prefix in ("relayer_http_", "relayer_chain_", "relayer_decayer_", "relayer_store_",
                   "relayer_event_handler_", "relayer_secrets_", "relayer_websocket_"):
        assert any(name.startswith(prefix) for name in used), prefix


def _panel_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_dashboard_reads_only_defined_series_and_shows_each_area() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    defined = defined_series()
    used: set[str] = set()
    for expr in _panel_exprs(dashboard):
        read = metric_names(expr)
        assert read and read <= defined, (expr, read - defined)
        used |= read
    families = {family.name for family in defined_families()}
    shown = {family for family in families
             if any(name == family or name.startswith(family + "_") for name in used)}
    assert families - shown <= {"relayer_start_time_seconds", "relayer_build_info"}, \
        families - shown
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_every_series_is_documented() -> None:
    text = (ROOT / "docs" / "metrics.md").read_text()
    for family in defined_families():
        exported = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{exported}`" in text, exported
