"""The real ``streamscribe`` process, as a subprocess: crash and shutdown semantics, and the CLI.

The consumer is configured only through ``STREAMSCRIBE_*`` environment variables, runs
against the session broker on per-test topics and group, and is observed from outside:
its log file, its ``/readyz`` endpoint, the results topic and the group's committed offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import committed_offsets, read_topic, results_by_job
from processes import EXIT_TIMEOUT_S, JOB_START_TIMEOUT_S, RESULT_TIMEOUT_S, _clean_env, service_env, started

from streamscribe.settings import Settings
from streamscribe.submit import event_for_file, submit_events

REPO = Path(__file__).resolve().parents[2]
LECTURE = "silero_lecture_60s.wav"  # ~4-6 s of tiny.en on a 2-core CPU: long enough to interrupt

def job_started(job_id: str) -> str:
    return rf"job {re.escape(job_id)}: [\d.]+s of audio from "


def job_completed(job_id: str) -> str:
    return rf"job {re.escape(job_id)} completed on "


async def results_for(settings: Settings, job_id: str, *, expect: int, timeout: float, settle: float) -> list[dict]:
    records = await read_topic(settings.bootstrap_servers, settings.results_topic, expect=expect, timeout=timeout, settle=settle)
    return results_by_job(records).get(job_id, [])


async def committed_total(settings: Settings) -> int:
    offsets = await committed_offsets(settings.bootstrap_servers, settings.group_id, settings.input_topic)
    return sum(v or 0 for v in offsets.values())


def run_cli(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run a CLI command to completion in its own process group; the whole group dies on timeout."""
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(args)} did not finish within {timeout:.0f}s\nstdout:\n{out}\nstderr:\n{err}", pytrace=False)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # e.g. an embedded broker left behind
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def console_script() -> str:
    """The installed ``streamscribe`` entry point, preferably the one next to this interpreter."""
    here = Path(sys.executable).parent / "streamscribe"
    found = str(here) if here.is_file() else shutil.which("streamscribe")
    assert found, "the streamscribe console script is not installed (pip install -e .)"
    return found


# --- the consumer process ------------------------------------------------------------------
@pytest.mark.slow
async def test_kill_minus_9_during_a_job_redelivers_it(settings, audio_dir, tmp_path):
    env = service_env(settings, tmp_path)
    event = event_for_file(audio_dir / LECTURE)

    with started(env, tmp_path / "first.log") as first:
        await first.wait_ready()
        await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
        await first.wait_for_log(job_started(event.job_id), JOB_START_TIMEOUT_S)
        await asyncio.sleep(1.0)

        assert first.proc.poll() is None, f"the first process exited on its own (rc {first.proc.returncode})"
        early = await results_for(settings, event.job_id, expect=0, timeout=5, settle=0.3)
        assert not early and not re.search(job_completed(event.job_id), first.log()), (
            "the job finished before the SIGKILL: this test did not kill mid-job (use longer audio)"
        )
        first.proc.send_signal(signal.SIGKILL)
        assert first.proc.wait(timeout=10) == -signal.SIGKILL

    # Nothing of the killed run reached the results topic: what comes next is the redelivery.
    assert not re.search(job_completed(event.job_id), first.log()), "the job completed before the kill landed"
    assert await results_for(settings, event.job_id, expect=0, timeout=5, settle=1.0) == []
    assert await committed_total(settings) == 0, "the killed job's offset must not be committed"

    with started(env, tmp_path / "second.log") as second:
        await second.wait_ready()
        await second.wait_for_log(job_started(event.job_id), JOB_START_TIMEOUT_S)
        await second.wait_for_log(job_completed(event.job_id), RESULT_TIMEOUT_S)
        results = await results_for(settings, event.job_id, expect=1, timeout=RESULT_TIMEOUT_S, settle=2.0)
        assert len(results) == 1, f"expected exactly one result for the job, got {len(results)}: {results}"
        assert results[0]["status"] == "completed", results[0].get("error")
        assert abs(results[0]["duration"] - 60.0) < 0.5

        # The commit follows the acknowledged publish, asynchronously: give it a few seconds.
        deadline = time.monotonic() + 20
        while (total := await committed_total(settings)) < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert total == 1, f"committed offsets on {settings.input_topic} sum to {total}, expected 1"

        second.proc.send_signal(signal.SIGTERM)
        assert await second.wait_exit(EXIT_TIMEOUT_S) == 0


@pytest.mark.slow
async def test_sigterm_finishes_the_running_job_then_exits_cleanly(settings, audio_dir, tmp_path):
    env = service_env(settings, tmp_path)
    event = event_for_file(audio_dir / LECTURE)

    with started(env, tmp_path / "service.log") as service:
        await service.wait_ready()
        await submit_events(settings.bootstrap_servers, settings.input_topic, [event])
        await service.wait_for_log(job_started(event.job_id), JOB_START_TIMEOUT_S)
        assert not re.search(job_completed(event.job_id), service.log()), (
            "the job finished before SIGTERM: this test did not stop mid-job (use longer audio)"
        )
        service.proc.send_signal(signal.SIGTERM)
        rc = await service.wait_exit(EXIT_TIMEOUT_S)
        assert rc == 0, f"exit code {rc} after SIGTERM, expected 0"
        log = service.log()

    assert re.search(job_completed(event.job_id), log), "the running job was not finished before exiting"
    assert "abandoning" not in log, "SIGTERM abandoned the running job"
    results = await results_for(settings, event.job_id, expect=1, timeout=30, settle=1.0)
    assert len(results) == 1, f"expected exactly one result for the job, got {len(results)}: {results}"
    assert results[0]["status"] == "completed", results[0].get("error")
    # Committed before exiting, so a restart would not reprocess the job.
    total = await committed_total(settings)
    assert total == 1, f"committed offsets on {settings.input_topic} sum to {total}, expected 1"


# --- the other commands --------------------------------------------------------------------
@pytest.mark.slow
def test_demo_prints_the_transcript_of_a_file(audio_dir, tmp_path):
    done = run_cli([sys.executable, "-m", "streamscribe", "demo", str(audio_dir / "jfk.flac")], _clean_env(tmp_path), timeout=180)
    assert done.returncode == 0, f"demo exited with {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout.lower()
    assert "ask not what your country can do for you" in out, done.stdout
    assert "completed" in out, done.stdout


@pytest.mark.slow
def test_cli_transcribe_text_format(audio_dir, tmp_path):
    env = _clean_env(tmp_path)
    done = run_cli([console_script(), "transcribe", str(audio_dir / "jfk.flac"), "--format", "text"], env, timeout=180)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "fellow americans" in done.stdout.lower(), done.stdout

    missing = tmp_path / "nonexistent.wav"
    done = run_cli([console_script(), "transcribe", str(missing)], env, timeout=180)
    assert done.returncode == 2, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "audio_not_found" in done.stderr, done.stderr


def test_schema_command_matches_committed_files(tmp_path):
    out = tmp_path / "schema"
    done = run_cli([console_script(), "schema", "--out", str(out)], _clean_env(tmp_path), timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"

    committed_dir = REPO / "schema"
    written = sorted(p.name for p in out.iterdir())
    assert written, "schema wrote no files"
    assert written == sorted(p.name for p in committed_dir.glob("*.json")), "schema/ and the generated files differ in names"
    for name in written:
        assert (out / name).read_bytes() == (committed_dir / name).read_bytes(), (
            f"schema/{name} is stale: regenerate it with `streamscribe schema`"
        )
    assert sorted(done.stdout.split()) == [str(out / name) for name in written], done.stdout
