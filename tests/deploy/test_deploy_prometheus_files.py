"""Prometheus configuration and alert rules checked by promtool (syntax, and the rules' unit
tests in deploy/prometheus/alerts_test.yml), and the dashboard JSON's structure."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess

import pytest
from deploy_support import DEPLOY

PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "streamscribe.json"


def promtool(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is absent (Debian: apt-get install prometheus; .ci/run tries that)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=PROMETHEUS)


def test_promtool_accepts_the_scrape_config_and_its_rule_files():
    out = promtool("check", "config", "prometheus.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout and "alerts.yml" in out.stdout


def test_promtool_accepts_the_alert_rules():
    out = promtool("check", "rules", "alerts.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_alert_rules_fire_on_their_unit_test_series():
    out = promtool("test", "rules", "alerts_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_dashboard_panels_are_well_formed():
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for p in panels:
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(set(refs)) == len(refs) and all(t["expr"].strip() for t in p["targets"]), p["title"]
        assert p["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
    for a, b in itertools.combinations(panels, 2):
        ga, gb = a["gridPos"], b["gridPos"]
        overlap = ga["x"] < gb["x"] + gb["w"] and gb["x"] < ga["x"] + ga["w"] and ga["y"] < gb["y"] + gb["h"] and gb["y"] < ga["y"] + ga["h"]
        assert not overlap, (a["title"], b["title"])
    titles = " | ".join(p["title"].lower() for p in panels)
    for topic in ("realtime factor", "audio hours", "jobs", "fallbacks", "stage", "gpu memory", "lag", "in flight", "dead letters", "api cost"):
        assert topic in titles, f"the issue asks for a {topic!r} panel"
