"""Record a real run and draw the dashboard from it: the picture in the README (docs/dashboard.png).

Why: a dashboard picture should show what the panels show on real data. This starts the
embedded broker, a real ``streamscribe run`` (provider chain cuda,cpu: on a machine without a
GPU every job falls back, so the fallback panel has data), and a real Prometheus with the
shipped rules; feeds it recordings in bursts (so lag builds and drains) plus a few poison
records and missing files (dead letters, failed jobs); then renders the dashboard through
render_dashboard.py. Everything listens on 127.0.0.1 and is stopped at the end.

    python3 deploy/grafana/record_dashboard.py --minutes 6 --out docs/dashboard.png
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "prometheus"))

from local_prometheus import LocalPrometheus, _free_port  # noqa: E402
from render_dashboard import render  # noqa: E402

FILES = ["jfk.flac", "pyannote_sample.wav", "silero_lecture_60s.wav", "multilingual.mp3", "hotwords.mp3"]


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "streamscribe", *args], env=env, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not 200 within {timeout:.0f}s")


async def _feed(bootstrap: str, topic: str, audio_dir: Path, minutes: float) -> None:
    from aiokafka import AIOKafkaProducer

    from streamscribe.submit import event_for_file, submit_events

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        start = time.monotonic()
        burst = 0
        while time.monotonic() - start < minutes * 60:
            files = [audio_dir / FILES[(burst + i) % len(FILES)] for i in range(2 + burst % 4)]
            await submit_events(bootstrap, topic, [event_for_file(f) for f in files])
            if burst % 2 == 1:  # a poison record and a missing recording: dead letters
                await producer.send_and_wait(topic, b"this is not json")
                await submit_events(bootstrap, topic, [event_for_file(audio_dir / "no-such-file.flac")])
            burst += 1
            await asyncio.sleep(45)
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6, help="how long to feed events")
    parser.add_argument("--audio-dir", type=Path, default=REPO.parent / "shared" / "audio")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.png")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="streamscribe-record-") as tmp:
        work = Path(tmp)
        broker_port, metrics_port = _free_port(), _free_port()
        bootstrap = f"127.0.0.1:{broker_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSCRIBE_")}
        env.update(PYANNOTE_METRICS_ENABLED="0", PYTHONUNBUFFERED="1", STREAMSCRIBE_BOOTSTRAP_SERVERS=bootstrap,
                   STREAMSCRIBE_METRICS_HOST="127.0.0.1", STREAMSCRIBE_METRICS_PORT=str(metrics_port),
                   STREAMSCRIBE_PROVIDERS="cuda,cpu", STREAMSCRIBE_MODEL_CACHE_DIR=str(work / "models"))
        procs = [_start(["broker", "--port", str(broker_port)], env, work / "broker.log")]
        try:
            time.sleep(5)
            procs.append(_start(["run"], env, work / "consumer.log"))
            _wait_http(f"http://127.0.0.1:{metrics_port}/readyz", 300)
            with LocalPrometheus(f"127.0.0.1:{metrics_port}", work / "prometheus", scrape_interval="2s") as prom:
                began = time.time()
                asyncio.run(_feed(bootstrap, "audio.ready", args.audio_dir, args.minutes))
                time.sleep(60)  # the last burst drains
                end = time.time()
                title = (f"streamscribe dashboard: {(end - began) / 60:.0f} min of a real run on a 2-core CPU machine, no GPU "
                         "(every panel's PromQL through Prometheus query_range)")
                panels = render(prom.url, args.out, began, end, rate_interval="1m", title=title)
        finally:
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(timeout=150)
                except subprocess.TimeoutExpired:
                    p.kill()
    for p in panels:
        print(f"{len(p.series):3d} series  {p.title}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
