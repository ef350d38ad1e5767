"""A real Prometheus on 127.0.0.1 scraping one streamscribe consumer, with the shipped rules.

Why: the tests and the dashboard picture need Prometheus itself (PromQL, rule evaluation,
query_range), not a parser of its files. The configuration is derived from the committed
prometheus.yml: its ``streamscribe`` job, with the container DNS discovery replaced by the
local target, and its rule files; so a renamed job or a broken rule shows up here too.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "prometheus.yml"


def binary() -> str | None:
    """The prometheus executable (Debian's ``prometheus`` package), or None."""
    return shutil.which("prometheus")


def local_config(target: str, scrape_interval: str = "1s") -> dict:
    config = yaml.safe_load(CONFIG.read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "streamscribe")
    job.pop("dns_sd_configs")
    job["static_configs"] = [{"targets": [target]}]
    config["scrape_configs"] = [job]
    config["global"] = {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval}
    config["rule_files"] = [str(HERE / f) for f in config.get("rule_files", [])]
    return config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPrometheus:
    """``with LocalPrometheus("127.0.0.1:9400", workdir) as prom: prom.query("up")``."""

    def __init__(self, target: str, workdir: Path, scrape_interval: str = "1s") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.workdir / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(local_config(target, scrape_interval)))
        self.log_path = self.workdir / "prometheus.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "LocalPrometheus":
        exe = binary()
        if exe is None:
            raise RuntimeError("prometheus is not installed (apt-get install prometheus)")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [exe, f"--config.file={self.config_path}", f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not become ready\n{self.log()}")
            time.sleep(0.2)

    def api(self, path: str, **params) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=30) as resp:
            body = json.load(resp)
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def wait_for(self, expr: str, timeout: float = 60) -> list[dict]:
        """Poll an instant query until it returns at least one series."""
        deadline = time.monotonic() + timeout
        while not (result := self.query(expr)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no series for {expr!r} within {timeout:.0f}s\n{self.log()[-3000:]}")
            time.sleep(0.5)
        return result
