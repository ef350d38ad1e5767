"""``streamscribe`` command line: run, submit, transcribe, demo, broker, schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from importlib import resources
from pathlib import Path

from .formats import FORMATS
from .settings import Settings

log = logging.getLogger("streamscribe")


def _setup_logging(level: str, quiet_kafka: bool = False) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    if quiet_kafka:
        logging.getLogger("aiokafka").setLevel(logging.WARNING)


def sample_audio() -> Path:
    """The 30 s two-speaker sample that ships inside the pyannote.audio wheel."""
    # Through the `pyannote` namespace: importing pyannote.audio itself would load torch.
    path = resources.files("pyannote") / "audio" / "sample" / "sample.wav"
    if not path.is_file():
        raise SystemExit("no sample audio found (is pyannote.audio installed?): pass audio files to `streamscribe demo`")
    return Path(str(path))


# --- commands ------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from .app import EXIT_FORCED, run_service

    try:
        code = asyncio.run(run_service(settings))
    except Exception as exc:  # start-up failures (model, broker): one clear line, the traceback at DEBUG
        log.debug("start-up failed", exc_info=True)
        log.critical("streamscribe could not start: %s", exc)
        return 1
    if code == EXIT_FORCED:
        logging.shutdown()
        os._exit(code)  # the executor thread may still be inside a model call: do not wait for it
    return code


def cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    from .schemas import uri_scheme
    from .submit import event_for, submit_events

    if not settings.bootstrap_servers:
        raise SystemExit("set STREAMSCRIBE_BOOTSTRAP_SERVERS (or --bootstrap-servers) to the broker to submit to")
    for f in args.files:
        if uri_scheme(f) == "file" and not Path(f).is_file():
            print(f"warning: {f} does not exist here; submitting anyway (the consumer may see another filesystem)", file=sys.stderr)
    events = [event_for(f, language=args.language, diarize=not args.no_diarize) for f in args.files]
    for event in asyncio.run(submit_events(settings.bootstrap_servers, settings.input_topic, events)):
        print(event.job_id, event.audio_uri)
    return 0


def cmd_transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from .formats import render
    from .pipeline import JobError, TranscriptionExecutor, decode_audio

    async def go():
        executor = TranscriptionExecutor(settings)
        try:
            keep_channels = settings.diarization_mode == "channel"
            audio = await asyncio.to_thread(decode_audio, args.file, keep_channels)
            return await executor.transcribe(
                audio, language=args.language, enable_diarization=not args.no_diarize,
                providers=executor.provider_chain(force_cpu=args.force_cpu),
            )
        finally:
            await executor.shutdown()

    try:
        transcript = asyncio.run(go())
    except JobError as exc:
        print(f"error ({exc.code.value}): {exc.message}", file=sys.stderr)
        return 2
    print(render(transcript, args.format, uri=Path(args.file).stem))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    files = [Path(f) for f in args.files] or [sample_audio()]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"no such file: {', '.join(missing)}")
    # Always the embedded broker and a free metrics port: the demo must not touch anything real.
    settings = settings.model_copy(update={"bootstrap_servers": None, "metrics_port": 0})
    return asyncio.run(_demo(files, settings, timeout=args.timeout))


async def _demo(files: list[Path], settings: Settings, timeout: float) -> int:
    from .app import kafka_endpoint
    from .consumer import TranscriptionConsumer
    from .formats import to_text
    from .metrics import Health, MetricsServer
    from .pipeline import TranscriptionExecutor
    from .submit import ResultReader, event_for_file, submit_events

    async with kafka_endpoint(settings) as settings:
        health = Health()
        server = MetricsServer(health, "127.0.0.1", 0).start()
        executor = TranscriptionExecutor(settings)
        service = TranscriptionConsumer(settings, executor, health)
        reader = await ResultReader(settings.bootstrap_servers, settings.results_topic).start()
        service_task = asyncio.create_task(service.run())
        try:
            events = await submit_events(settings.bootstrap_servers, settings.input_topic, [event_for_file(f) for f in files])
            names = {e.job_id: Path(e.audio_uri).name for e in events}
            print(f"submitted {len(events)} file(s) to {settings.input_topic} on {settings.bootstrap_servers}; "
                  f"metrics at http://127.0.0.1:{server.port}/metrics", flush=True)

            async def show_results() -> int:
                failures = 0
                async for result in reader.results(names, timeout=timeout):
                    header = f"=== {names[result.job_id]} (job {result.job_id[:8]}): {result.status}"
                    if result.status == "completed":
                        header += (f", {result.duration:.1f}s audio on {result.provider}, "
                                   f"{result.realtime_factor:.1f}x realtime (audio s / wall s)")
                        print(f"{header}\n{to_text(result)}\n", flush=True)
                    else:
                        failures += 1
                        print(f"{header}: {result.error.code.value}: {result.error.message}\n", flush=True)
                return failures

            shower = asyncio.create_task(show_results())
            done, _ = await asyncio.wait({shower, service_task}, return_when=asyncio.FIRST_COMPLETED)
            if shower not in done:  # the consumer ended first: that is an error, surface it
                shower.cancel()
                service_task.result()
                raise RuntimeError("the consumer stopped before all results arrived")
            failures = shower.result()
        finally:
            service.stop()
            await asyncio.gather(service_task, return_exceptions=True)
            await reader.stop()
            await executor.shutdown()
            server.stop()
    print(f"demo finished: {len(files) - failures} completed, {failures} failed")
    return 1 if failures else 0


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    from .broker import EmbeddedBroker, ensure_topics

    with EmbeddedBroker(port=args.port) as broker:
        topics = [settings.input_topic, settings.results_topic, settings.dlq_topic]
        asyncio.run(ensure_topics(broker.bootstrap_servers, topics, partitions=settings.topic_partitions))
        print(f"embedded broker at {broker.bootstrap_servers} (memory-only); topics: {', '.join(topics)}", flush=True)
        print(f"  export STREAMSCRIBE_BOOTSTRAP_SERVERS={broker.bootstrap_servers}", flush=True)
        try:
            while broker.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from .schemas import write_json_schemas

    for path in write_json_schemas(Path(args.out)):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamscribe",
        description="Audio-ready events from Kafka in, speaker-labelled transcripts out. "
        "Settings come from STREAMSCRIBE_* environment variables (see README).",
    )
    parser.add_argument("--bootstrap-servers", help="Kafka bootstrap servers (overrides STREAMSCRIBE_BOOTSTRAP_SERVERS)")
    parser.add_argument("--model", help="Whisper model name or directory (overrides STREAMSCRIBE_WHISPER_MODEL)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the consumer (embedded broker when no bootstrap servers are set)").set_defaults(fn=cmd_run)

    p = sub.add_parser("submit", help="produce audio-ready events for files or URIs; prints their job ids")
    p.add_argument("files", nargs="+", metavar="FILE_OR_URI", help="local file, http(s)://, s3://bucket/key or data: URI")
    p.add_argument("--language")
    p.add_argument("--no-diarize", action="store_true")
    p.set_defaults(fn=cmd_submit)

    p = sub.add_parser("transcribe", help="transcribe one file here, without Kafka")
    p.add_argument("file")
    p.add_argument("--format", choices=FORMATS, default="json", help="json (default), text, srt, vtt or rttm")
    p.add_argument("--language")
    p.add_argument("--no-diarize", action="store_true")
    p.add_argument("--force-cpu", action="store_true")
    p.set_defaults(fn=cmd_transcribe)

    p = sub.add_parser("demo", help="embedded broker + consumer; submit files (default: a bundled sample) and print transcripts")
    p.add_argument("files", nargs="*")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for all results")
    p.set_defaults(fn=cmd_demo)

    p = sub.add_parser("broker", help="run the embedded Kafka-compatible broker and create the topics")
    p.add_argument("--port", type=int, default=None, help="default: a free port")
    p.set_defaults(fn=cmd_broker)

    p = sub.add_parser("schema", help="write the JSON Schema of the event and result formats")
    p.add_argument("--out", default="schema", help="directory (default: ./schema)")
    p.set_defaults(fn=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {}
    if args.bootstrap_servers:
        overrides["bootstrap_servers"] = args.bootstrap_servers
    if args.model:
        overrides["whisper_model"] = args.model
    if args.log_level:
        overrides["log_level"] = args.log_level
    settings = Settings().model_copy(update=overrides)
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")  # pyannote's telemetry stays off
    _setup_logging(settings.log_level, quiet_kafka=args.command in ("demo", "submit", "transcribe"))
    return args.fn(args, settings) or 0


if __name__ == "__main__":
    sys.exit(main())
