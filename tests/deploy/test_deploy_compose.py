"""docker-compose.yml: the Compose CLI's own validation (``docker compose config``, or the
``docker-compose`` 1.29 of Debian, which validates against the Compose spec without a daemon),
and the references inside it: services, profiles, volumes, files, images, settings."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import dockerfile
import pytest
import yaml
from deploy_support import DEPLOY, REPO

from streamscribe.settings import Settings

COMPOSE = REPO / "docker-compose.yml"
PROFILES = ["cpu", "gpu", "ui"]


def compose_cli() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def run_compose(*args: str) -> subprocess.CompletedProcess:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no Compose CLI: neither the `docker compose` plugin nor docker-compose is installed")
    return subprocess.run([*cli, "-f", str(COMPOSE), *args], capture_output=True, text=True, timeout=60, cwd=REPO)


def test_compose_cli_accepts_the_file_with_every_profile():
    profiles = [a for p in PROFILES for a in ("--profile", p)]
    out = run_compose(*profiles, "config", "-q")
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(("profile", "present", "absent"), [
    ("cpu", {"kafka", "kafka-init", "streamscribe-cpu", "prometheus", "grafana"}, {"streamscribe", "dcgm-exporter", "kafka-ui"}),
    ("gpu", {"kafka", "kafka-init", "streamscribe", "dcgm-exporter", "prometheus", "grafana"}, {"streamscribe-cpu", "kafka-ui"}),
])
def test_each_profile_starts_one_consumer(compose, profile, present, absent):
    # Compose's rule: a service runs when it has no profiles or one of them is enabled
    # (computed here: docker-compose 1.29's `config --services` ignores profiles).
    services = {n for n, s in compose["services"].items() if not s.get("profiles") or profile in s["profiles"]}
    assert present <= services and not absent & services, services


def test_dependencies_volumes_and_files_exist(compose):
    services = compose["services"]
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        for dep in deps if isinstance(deps, list) else deps.keys():
            assert dep in services, f"{name} depends on unknown service {dep}"
            # A dependency must be active whenever the dependent is.
            assert not services[dep].get("profiles") or set(svc.get("profiles", [])) <= set(services[dep]["profiles"]), (name, dep)
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repository"
            elif not source.startswith(("$", "/")):
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_images_are_pinned_and_build_targets_exist(compose):
    stages = {c.value[2] for c in dockerfile.parse_file(str(REPO / "Dockerfile")) if c.cmd == "FROM"}
    for name, svc in compose["services"].items():
        image = svc["image"]
        assert re.search(r":[\w][\w.-]*$", image) and not image.endswith(":latest"), f"{name}: pin a tag, not {image}"
        if "build" in svc:
            assert svc["build"]["target"] in stages, f"{name} builds target {svc['build']['target']}; stages: {stages}"
            assert image.endswith(f":{svc['build']['target']}")


def test_consumers_get_valid_settings_and_the_right_devices(compose, monkeypatch):
    fields = {f"STREAMSCRIBE_{n.upper()}" for n in Settings.model_fields}
    consumers = {n: s for n, s in compose["services"].items() if "build" in s}
    assert set(consumers) == {"streamscribe", "streamscribe-cpu"}
    for name, svc in consumers.items():
        env = svc["environment"]
        assert set(env) <= fields, f"{name}: not streamscribe settings: {sorted(set(env) - fields)}"
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value)))
            settings = Settings()
        grace = int(svc["stop_grace_period"].rstrip("s"))
        assert grace > settings.shutdown_timeout_s, f"{name}: stop_grace_period must exceed the drain deadline"
        devices = svc.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        if name == "streamscribe":
            assert settings.use_gpu_pipeline and devices[0]["capabilities"] == ["gpu"] and devices[0]["count"] == 1
        else:
            assert not settings.use_gpu_pipeline and not devices


def test_prometheus_and_grafana_find_what_compose_runs(compose):
    services = compose["services"]
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    for job in prometheus["scrape_configs"]:
        for sd in job["dns_sd_configs"]:
            assert set(sd["names"]) <= set(services), (job["job_name"], sd["names"])
    (job,) = [j for j in prometheus["scrape_configs"] if j["job_name"] == "streamscribe"]
    for name in job["dns_sd_configs"][0]["names"]:
        assert job["dns_sd_configs"][0]["port"] == int(services[name]["environment"]["STREAMSCRIBE_METRICS_PORT"])
    datasources = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (ds,) = datasources["datasources"]
    assert ds["url"] == "http://prometheus:9090" and "prometheus" in services
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "streamscribe.json").read_text())
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {ds["uid"]}
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "streamscribe.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in services["grafana"]["volumes"] if v.startswith("./"))
    assert mounts["./deploy/grafana/dashboards"] == provider["providers"][0]["options"]["path"]
