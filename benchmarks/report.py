"""Build docs/BENCHMARKS.md and the plots in docs/ from the JSON in benchmarks/results/.

    python3 benchmarks/report.py [--results benchmarks/results] [--out docs]

Nothing is measured here: every number comes from a results file, so the page can be rebuilt
(``make report``) without re-running anything. A missing results file leaves its section saying
how to produce it. RTF = audio seconds / wall seconds (higher is faster).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AUDIO_HOURS = 1000 * 60 / 3600  # the seed's cost table: 1,000 sessions of 60 s
# Prices are assumptions, stated with their source; change them here.
PRICES = {
    "cpu": (0.1026, "AWS EC2 c7a.large (2 vCPU AMD EPYC, 4 GiB, like the development machine), on-demand, us-east-1, "
                    "AWS public price list (assumed; check the current price)"),
    "gpu_vast": (0.20, "NVIDIA L4 on Vast.ai, the seed's assumption (seed-pipeline.md: \"$0.20/hour\"); marketplace prices vary"),
    "gpu_aws": (0.8048, "AWS EC2 g6.xlarge (1x NVIDIA L4), on-demand, us-east-1, AWS public price list (assumed; check the current price)"),
    "api": (0.006, "OpenAI audio transcription (whisper-1), $0.006 per audio minute (the seed's figure and OpenAI's list price)"),
}
# GPU speed when no CUDA run exists: published figures, labelled as estimates wherever shown.
GPU_ESTIMATE = {
    "sequential": 13 * 60 / 63,  # large-v2 fp16 beam 5: 13 min of audio in 1m03s
    "batched": 13 * 60 / 17,  # same, batch_size=8: 17 s
    "source": "faster-whisper 1.2.1 README benchmark (large-v2, fp16, beam 5, 13 min of audio, RTX 3070 Ti 8 GB: 1m03s "
              "sequential, 17 s with batch_size=8)",
    "diarization_rtf_fraction": 0.025,
    "diarization_source": "pyannote/speaker-diarization-3.1 model card: real-time factor about 2.5 % on one V100",
}


def load(results: Path) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in sorted(results.glob("*.json"))}


def med(s: dict) -> float:
    return s["median"]


def rng(s: dict, fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def ok(value: float, target: float, higher: bool = True) -> str:
    return "**met**" if (value >= target if higher else value < target) else "**missed**"


def combined(*rtfs: float) -> float:
    """RTF of stages run one after the other: wall times add up."""
    return 1 / sum(1 / r for r in rtfs)


class Report:
    def __init__(self, data: dict, out: Path) -> None:
        self.d, self.out, self.lines, self.summary = data, out, [], []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def runinfo(self, name: str) -> str:
        r = self.d[name]
        load = f", load average {r['loadavg_start'][0]:.1f} → {r['loadavg_end'][0]:.1f} (1 min)" if "loadavg_start" in r else ""
        wall = f", script {r['script_wall_s']:.0f} s" if "script_wall_s" in r else ""
        return f"`{r.get('command', 'python3 benchmarks/' + name + '.py')}` — {r['machine']['date']}, git {r['machine']['git']}{load}{wall}"

    def missing(self, name: str, command: str) -> bool:
        if name in self.d:
            return False
        self.add(f"*Not run yet:* `{command}`", "")
        return True

    def plot(self, name: str, fig) -> str:
        fig.tight_layout()
        path = self.out / f"bench_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return f"![{name}]({path.name})"

    # --- sections --------------------------------------------------------------------------
    def machine(self) -> None:
        any_run = next(iter(self.d.values()))["machine"]
        v = any_run["versions"]
        loads = [r[k][0] for r in self.d.values() for k in ("loadavg_start", "loadavg_end") if k in r]
        self.add(
            "## Machine", "",
            f"* CPU: {any_run['cpu']}, {any_run['cores']} cores, {any_run.get('memory_bytes', 0) / 2**30:.0f} GiB RAM, no GPU; "
            f"{any_run['platform']}, Python {any_run['python']}",
            "* " + ", ".join(f"{k} {x}" for k, x in v.items()),
            f"* 1-minute load average {min(loads):.1f}–{max(loads):.1f} on {any_run['cores']} cores, recorded at the start "
            "and end of every script"
            + (" (the machine was shared: absolute numbers are depressed; " if max(loads) > 2 else " (a quiet machine; ")
            + "the ratios come from interleaved runs, A B A B, in one process).",
            "* Whisper: tiny.en (the offline default), CTranslate2 int8, 2 threads, beam 5, Silero VAD, word timestamps, "
            "unless a row says otherwise.", "",
        )

    def overhead(self) -> None:
        self.add("## 1. Service overhead: bare faster-whisper vs the whole service path", "")
        if self.missing("overhead", "python3 benchmarks/overhead.py"):
            return
        r = self.d["overhead"]
        ratio = r["ratio_service_vs_bare"]
        self.summary.append(("Service overhead: RTF through submit → Kafka → executor → result ÷ RTF of bare faster-whisper",
                             f"{ratio:.3f}", "≥ 0.95", ok(ratio, 0.95), "overhead"))
        self.add(
            f"Same model, settings and file ({r['audio']}, {r['audio_seconds']:.0f} s): A = `WhisperModel.transcribe(path)` consumed "
            "to the end, what a user would write instead; B = the file submitted as an event (acks=all) → embedded broker → "
            "consumer → decode pool → executor → result published (acks=all) and read back. Wall = submit to result read.", "",
            "| variant | wall s, median (min–max) | RTF, median (min–max) |", "|---|---|---|",
            f"| bare faster-whisper | {rng(r['wall_s']['bare'], '{:.2f}')} | {rng(r['rtf']['bare'])} |",
            f"| full service path | {rng(r['wall_s']['service'], '{:.2f}')} | {rng(r['rtf']['service'])} |", "",
            f"Ratio {ratio:.3f} (target ≥ 0.95): {ok(ratio, 0.95)}. Same words in both: {r['same_text']}. "
            f"Runs: {len(r['wall_s']['bare']['runs'])} each. {self.runinfo('overhead')}", "",
            "The service path adds a decode-pool hop and four Kafka round trips to seconds of model time. On a quiet machine "
            "(2026-11-25, git a398cc4) it measured 0.887: aiokafka's default 500 ms fetch wait, and the embedded broker "
            "answers a fetch only at its deadline, so each hop (event in, result out) cost up to 0.25 s. With a 100 ms fetch "
            "wait (`STREAMSCRIBE_FETCH_MAX_WAIT_MS`, and the result reader) it is the figure above. Apache Kafka answers a "
            "fetch as soon as data arrives, so there the wait costs nothing either way.", "",
        )

    def persistent(self) -> None:
        self.add("## 2. Persistent models vs loading them per job (the seed)", "")
        if self.missing("persistent", "python3 benchmarks/persistent.py"):
            return
        r = self.d["persistent"]
        ratio = med(r["ratio_per_job_vs_persistent"])
        t = r["total_wall_s"]
        self.summary.append(("Persistent models vs the seed's load-per-job, 20 clips of 3–5 s (wall ratio)", f"{ratio:.2f}×", "≥ 5×",
                             ok(ratio, 5), "persistent"))
        per_clip = (med(t["per_job"]) - med(t["persistent"])) / len(r["clips"])
        per_clip_persistent = med(t["persistent"]) / len(r["clips"])
        recipe_load = f"{self.d['diarization']['results']['recipe']['load_s']:.1f} s" if "diarization" in self.d else "seconds"
        self.add(
            f"{len(r['clips'])} different clips of 3–5 s ({r['audio_seconds']:.0f} s in all) cut from the six recordings. "
            "Per job (seed): `with GPUTranscriptionPipeline(...) as p: p.process(clip)` — Whisper and the pyannote pipeline "
            "loaded for the job and freed after it. Persistent (service): one pipeline loaded once. Diarization on in both; "
            "interleaved clip by clip.", "",
            "| variant | total wall s for the clips, median (min–max) | RTF |", "|---|---|---|",
            f"| load per job (seed) | {rng(t['per_job'], '{:.1f}')} | {r['rtf_total']['per_job']:.1f} |",
            f"| persistent (service) | {rng(t['persistent'], '{:.1f}')} | {r['rtf_total']['persistent']:.1f} |", "",
            f"Ratio {rng(r['ratio_per_job_vs_persistent'], '{:.2f}')}× (target ≥ 5×): {ok(ratio, 5)}. "
            f"Loading both models takes {med(r['load_s']):.2f} s here (measured alone); per clip the seed pays "
            f"{per_clip:.2f} s more — more than the load alone: a freshly loaded model's first inference is slower too (ONNX "
            "Runtime and CTranslate2 warm up on first use), and both grow under CPU contention. This run shared the 2 cores with "
            "other test suites (load average above); the spread between runs is large, the ratio is the interleaved comparison.", "",
            ("**Why the target is missed here:** " if ratio < 5 else "**Why the ratio depends on the model:** ") + f"what a per-job load costs depends on the models. tiny.en is 75 MB and the "
            f"offline diarization pipeline builds in a fraction of a second (CAM++ from a cached ONNX export), while a 3–5 s "
            f"clip still costs {per_clip_persistent:.1f} s of compute here (a full 30 s Whisper window plus a 10 s diarization window on "
            f"2 busy cores). With the "
            "production model the balance flips: large-v3 is 3 GB of weights (seconds to load from a warm disk, more from a "
            "cold one) against a few hundred ms of GPU work per short clip, and the seed also built its pyannote pipeline per "
            f"request ({recipe_load} for the reference recipe here, benchmarks/results/diarization.json `recipe.load_s`). "
            "The GPU run (section 8) will measure the large-v3 load time.",
            f"{self.runinfo('persistent')}", "",
        )
        fig, ax = plt.subplots(figsize=(8, 3.2))
        x = range(len(r["clips"]))
        ax.bar([i - 0.2 for i in x], r["per_clip_median_wall_s"]["per_job"], 0.4, label="load per job (seed)")
        ax.bar([i + 0.2 for i in x], r["per_clip_median_wall_s"]["persistent"], 0.4, label="persistent (service)")
        ax.set_xlabel("clip (20 different 3–5 s clips)")
        ax.set_ylabel("wall s per job (median)")
        ax.legend()
        ax.set_title("Models loaded per job vs once (tiny.en + diarization, CPU)")
        self.add(self.plot("persistent", fig), "")

    def batched(self) -> None:
        self.add("## 3. Batched inference vs sequential", "")
        if self.missing("batched", "python3 benchmarks/batched.py"):
            return
        r = self.d["batched"]
        res = r["results"]
        best = max(res, key=lambda n: med(res[n]["lecture"]["rtf"]))
        speed = r["speedup_vs_sequential_beam5_lecture"]
        self.summary.append((f"Batched inference: {best.replace('_', ' ')} vs sequential beam 5 (service), lecture RTF",
                             f"{speed[best]:.2f}× (WER {res[best]['refs']['wer']:.1%} vs {res['sequential_beam5']['refs']['wer']:.1%})",
                             "—", "info", "batched"))
        self.add(
            f"One tiny.en model; `BatchedInferencePipeline` (batch_size {r['batch_size']}) vs `WhisperModel.transcribe`, VAD and "
            "word timestamps on (the service's settings). Speed on the 60 s lecture; WER on jfk + the pyannote sample back to back "
            "(41 s, references from SOURCES.md and pyannote_sample.stm). The lecture has no human reference: its last column is "
            "the word difference to the sequential beam-5 output, not an error rate.", "",
            "| variant | lecture RTF, median (min–max) | speed-up vs service | WER jfk + sample | refs RTF | lecture: differs from beam 5 |",
            "|---|---|---|---|---|---|",
        )
        for name, x in res.items():
            label = name.replace("_", " ") + (" (service today)" if name == "sequential_beam5" else "")
            self.add(f"| {label} | {rng(x['lecture']['rtf'])} | {speed[name]:.2f}× | {x['refs']['wer']:.1%} | "
                     f"{med(x['refs']['rtf']):.1f} | {x['lecture']['diff_vs_sequential_beam5']:.1%} |")
        self.add(
            "", f"{self.runinfo('batched')}", "",
        )
        c = self.d.get("batching_crossjob")
        if c is None:
            self.add("Cross-job batching: *not run yet:* `python3 benchmarks/batching_crossjob.py`", "")
        else:
            cr = c["results"]
            self.summary.append(("Cross-job batching: 16 short jobs in one batched call vs one after the other (RTF ratio)",
                                 f"{c['speedup_batched_vs_sequential']:.2f}×", "—", "info", "batching_crossjob"))
            self.add(
                f"**Cross-job batching** (short clips of several jobs decoded in one `BatchedInferencePipeline` call; added to the "
                f"service after the run above, measured by `benchmarks/batching_crossjob.py`): {len(c['clips'])} different clips "
                f"of 3–11 s ({c['audio_seconds']:.0f} s), tiny.en, beam {c['beam_size']}, batch {c['batch_size']}.", "",
                "| mode | RTF, median (min–max) | WER vs sequential text | jfk WER vs reference |", "|---|---|---|---|",
                *[f"| {n} | {rng(x['rtf'])} | {x['wer_vs_sequential']:.1%} | {x['jfk_wer_vs_reference']:.1%} |" for n, x in cr.items()], "",
                f"Speed-up {c['speedup_batched_vs_sequential']:.2f}× on this 2-core CPU: batching pays where there is parallel "
                "hardware to fill (a GPU); on 2 cores the sequential decoder already keeps them busy.",
                self.runinfo("batching_crossjob"), "",
            )
        self._rtf_plot()

    def _rtf_plot(self) -> None:
        bars = []
        if "overhead" in self.d:
            o = self.d["overhead"]["rtf"]
            bars += [("bare faster-whisper, beam 5", o["bare"]), ("service path, beam 5", o["service"])]
        if "batched" in self.d:
            for n, x in self.d["batched"]["results"].items():
                bars.append((n.replace("_", " "), x["lecture"]["rtf"]))
        if not bars:
            return
        fig, ax = plt.subplots(figsize=(7, 3.2))
        names = [b[0] for b in bars]
        vals = [med(b[1]) for b in bars]
        err = [[v - b[1]["min"] for v, b in zip(vals, bars)], [b[1]["max"] - v for v, b in zip(vals, bars)]]
        ax.barh(names, vals, xerr=err, color=["#777", "#1f77b4"][: min(2, len(bars))] + ["#2ca02c"] * (len(bars) - 2))
        ax.invert_yaxis()
        ax.set_xlabel("RTF = audio s ÷ wall s (higher is faster), median, min–max")
        ax.set_title("tiny.en int8, 2 threads, 60 s lecture")
        self.add(self.plot("rtf", fig), "")

    def consumer(self) -> None:
        self.add("## 4. The consumer alone (null model) vs a raw aiokafka loop", "")
        if self.missing("consumer", "python3 benchmarks/consumer.py"):
            return
        r = self.d["consumer"]
        e = r["events_per_s"]
        ratio, ratio2 = r["ratio_service_vs_raw_batched"], r["ratio_service_inflight_vs_raw_batched"]
        self.summary.append(("Consumer alone: events/s of our loop (null model) ÷ raw aiokafka batched loop",
                             f"{ratio:.2f} (max_in_flight 500: {ratio2:.2f})", "≥ 0.8", ok(max(ratio, ratio2), 0.8), "consumer"))
        labels = {"service": f"streamscribe consumer, defaults (max_in_flight {r['service_max_in_flight_default']})",
                  "service_inflight": "streamscribe consumer, max_in_flight 500",
                  "raw_batched": "raw aiokafka: produce all, await acks, commit per fetched batch",
                  "raw_per_message": "raw aiokafka: send_and_wait + commit per message"}
        self.add(
            f"{r['events_per_run']:,} events pre-filled on a fresh 3-partition topic per run; clock from the first fetched record to "
            "the last offset committed after its output was acknowledged (acks=all, gzip). The service's consumer gets the null "
            "provider and a decoded 1 s clip instead of decoding each event's file (so this is Kafka, parsing, bookkeeping and "
            "publishing, not PyAV).", "",
            "| loop | events/s, median (min–max) | vs raw batched |", "|---|---|---|",
            *[f"| {labels[n]} | {rng(e[n], '{:,.0f}')} | {med(e[n]) / med(e['raw_batched']):.2f} |" for n in labels], "",
            f"Ratio {ratio:.2f} at the defaults, {ratio2:.2f} with max_in_flight 500 (target ≥ 0.8): {ok(max(ratio, ratio2), 0.8)}.", "",
            ("**Why it is missed:** " if max(ratio, ratio2) < 0.8 else "**Where the difference goes:** ") + "the raw loop is the floor of what Kafka costs; the service does per event what the raw loop "
            "does not: a pydantic-validated event, an asyncio task, a hop to the decode thread pool, a pydantic result, a "
            "separate `send_and_wait` per result (acks=all) and a dedup follower reading the results topic back. With the "
            "default max_in_flight 2 it also fetches 2 records per loop turn and commits every turn, which is close to the "
            "commit-per-message loop. None of this matters for transcription: one 60 s job takes seconds on the executor, so "
            "even the slowest loop here is hundreds of times faster than the model (see section 1: the whole path costs "
            "within noise of bare faster-whisper). If the service ever fronts a much faster model, the levers are: "
            "publish without awaiting each ack individually (gather per loop turn), and skip the thread hop for tiny inputs.",
            f"{self.runinfo('consumer')}", "",
        )
        short = {"service": "ours, defaults", "service_inflight": "ours, max_in_flight 500",
                 "raw_batched": "raw, commit per batch", "raw_per_message": "raw, commit per message"}
        fig, ax = plt.subplots(figsize=(7, 2.6))
        ax.barh([short[n] for n in labels], [med(e[n]) for n in labels], color=["#1f77b4", "#1f77b4", "#777", "#777"])
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel("events/s (log scale), null model, embedded broker")
        self.add(self.plot("consumer", fig), "")

    def diarization(self) -> None:
        self.add("## 5. Diarization cost and quality", "")
        if self.missing("diarization", "python3 benchmarks/diarization.py"):
            return
        r = self.d["diarization"]
        res = r["results"]
        rows = []
        for clip in ("sample", "lecture"):
            asr = med(res["asr"][clip]["wall_s"])
            diar = med(res["service"][clip]["wall_s"])
            rows.append(f"| {clip} ({r['audio_seconds'][clip]:.0f} s) | {asr:.2f} | {asr + diar:.2f} | {(asr + diar) / asr:.2f}× | "
                        f"{r['audio_seconds'][clip] / asr:.1f} → {r['audio_seconds'][clip] / (asr + diar):.1f} | "
                        f"{med(res['recipe'][clip]['wall_s']) / diar:.1f}× |")
        self.summary.append(("Diarization: DER on the pyannote sample, service settings (reference recipe)",
                             f"{res['service']['der_sample']:.2%} ({res['recipe']['der_sample']:.2%})", "—", "info", "diarization"))
        self.add(
            "Existing `benchmarks/diarization.py` (not duplicated): tiny.en ASR alone vs ASR + diarization (service settings: "
            "3 s window hop, CAM++ on ONNX Runtime), and the reference pyannote recipe (1 s hop, CAM++ in torch) in the same run. "
            "With = ASR wall + diarization wall (alignment is ~1 ms).", "",
            "| audio | wall s without diarization | wall s with | cost of diarization | RTF without → with | service diarizer vs recipe |",
            "|---|---|---|---|---|---|", *rows, "",
            f"DER on the pyannote sample (collar 0, overlap scored): service {res['service']['der_sample']:.2%}, recipe "
            f"{res['recipe']['der_sample']:.2%}. Peak RSS of `streamscribe demo` (tiny.en + diarization): "
            f"{r['peak_rss_bytes_demo_tinyen_diarization'] / 2**20:,.0f} MiB. The ASR here runs with CTranslate2's default "
            "thread count (4 on 2 cores), as in the original script. The recipe's torch/OpenMP code suffers far more from CPU "
            "contention than ONNX Runtime, so its ratio to the service's diarizer grows with the machine's load (4.0–4.2× on an idle "
            "machine, README).",
            f"{self.runinfo('diarization')}", "",
        )

    def memory(self) -> None:
        self.add("## 6. Memory", "")
        if not self.missing("memory", "python3 benchmarks/memory.py"):
            r = self.d["memory"]["peak_rss_mib"]
            self.add("Peak RSS of a fresh `streamscribe demo` process (broker client, consumer, executor) transcribing the lecture "
                     "and the sample, per configuration (read from its rusage).", "",
                     "| configuration | peak RSS MiB, median (min–max) |", "|---|---|",
                     *[f"| {n} | {rng(s, '{:,.0f}')} |" for n, s in r.items()], "", self.runinfo("memory"), "")
            fig, ax = plt.subplots(figsize=(7, 2.6))
            ax.barh(list(r), [med(s) for s in r.values()], color="#9467bd")
            ax.invert_yaxis()
            ax.set_xlabel("peak RSS, MiB")
            self.add(self.plot("memory", fig), "")
        if not self.missing("soak", "python3 benchmarks/soak.py"):
            s = self.d["soak"]
            growth = s["rss_growth_pct"]
            self.summary.append((f"Memory growth, RSS after {s['events'] + 10} jobs vs after 10 (null provider)", f"{growth:+.2f} %",
                                 "< 5 %", ok(growth, 5, higher=False), "soak"))
            self.add(f"Growth (existing `benchmarks/soak.py`): RSS {s['rss_after_10_bytes'] / 2**20:,.0f} MiB after 10 events, "
                     f"{s['rss_after_all_bytes'] / 2**20:,.0f} MiB after {s['events'] + 10}: **{growth:+.2f} %** (target < 5 %: "
                     f"{ok(growth, 5, higher=False)}); {s['events_per_s']} events/s including decoding real files and submitting. "
                     f"{self.runinfo('soak')}", "")

    def cost(self) -> None:
        self.add("## 7. Cost: 1,000 sessions of 60 s", "",
                 f"1,000 × 60 s = {AUDIO_HOURS:.1f} hours of audio. Processing hours = audio hours ÷ RTF (one job at a time per "
                 "machine, as the service runs); cost = processing hours × the hourly price. Prices are assumptions:", "")
        for key, (price, source) in PRICES.items():
            self.add(f"* `{key}`: ${price:g}{'/min' if key == 'api' else '/h'} — {source}")
        self.add("")
        rows = []  # (label, rtf, price key, basis)
        if "overhead" in self.d:
            service = med(self.d["overhead"]["rtf"]["service"])
            rows.append(("streamscribe, CPU, tiny.en, no diarization", service, "cpu", "measured (section 1)"))
            if "diarization" in self.d:
                d = self.d["diarization"]
                diar = d["audio_seconds"]["lecture"] / med(d["results"]["service"]["lecture"]["wall_s"])
                rows.append(("streamscribe, CPU, tiny.en + diarization", combined(service, diar), "cpu",
                             "measured stages added (sections 1, 5)"))
        if "batched" in self.d:
            rows.append(("CPU, tiny.en batched greedy (not the service's setting)",
                         med(self.d["batched"]["results"]["batched_greedy"]["lecture"]["rtf"]), "cpu", "measured (section 3)"))
        gpu = self.d.get("gpu")
        if gpu and gpu.get("device") == "cuda" and not gpu.get("quick"):
            lec = gpu["results"]["lecture"]
            where = f"measured on {gpu.get('gpu')}, {gpu['model']}"
            rows += [(f"streamscribe, GPU, {gpu['model']} + diarization", med(lec["sequential+diarization"]["rtf"]), "gpu_vast", where),
                     (f"streamscribe, GPU, {gpu['model']} + diarization", med(lec["sequential+diarization"]["rtf"]), "gpu_aws", where),
                     (f"GPU, {gpu['model']} batched, no diarization", med(lec["batched"]["rtf"]), "gpu_vast", where)]
        else:
            seq = combined(GPU_ESTIMATE["sequential"], 1 / GPU_ESTIMATE["diarization_rtf_fraction"])
            bat = combined(GPU_ESTIMATE["batched"], 1 / GPU_ESTIMATE["diarization_rtf_fraction"])
            rows += [("ESTIMATE: GPU L4, large-v2/v3 fp16 + diarization", seq, "gpu_vast", "estimate †"),
                     ("ESTIMATE: GPU L4, large-v2/v3 fp16 + diarization", seq, "gpu_aws", "estimate †"),
                     ("ESTIMATE: GPU L4, large fp16 batched + diarization", bat, "gpu_vast", "estimate † (batched decoding)")]
        self.add("| method | RTF | processing hours | cost | price | basis |", "|---|---|---|---|---|---|")
        costs = []
        for label, speed, key, basis in rows:
            hours = AUDIO_HOURS / speed
            costs.append((label + (" (AWS)" if key == "gpu_aws" else " (Vast.ai)" if key.startswith("gpu") else ""), hours * PRICES[key][0]))
            self.add(f"| {costs[-1][0]} | {speed:.1f} | {hours:.2f} | ${hours * PRICES[key][0]:.2f} | {key} | {basis} |")
        api = AUDIO_HOURS * 60 * PRICES["api"][0]
        costs.append(("OpenAI API (whisper-1)", api))
        self.add(f"| OpenAI API (whisper-1) | — (requests run in parallel; rate limits decide) | — | ${api:.2f} | api | list price |", "")
        if not (gpu and gpu.get("device") == "cuda"):
            self.add(f"† No GPU was available for this run, so GPU rows are **estimates, not measurements**: Whisper speed from the "
                     f"{GPU_ESTIMATE['source']} (RTF {GPU_ESTIMATE['sequential']:.1f} sequential, {GPU_ESTIMATE['batched']:.1f} batched); "
                     f"diarization from the {GPU_ESTIMATE['diarization_source']}; stages added. An L4 is in the same class as an RTX "
                     "3070 Ti for this work. `benchmarks/gpu.sh` replaces these rows with measured ones.", "")
        self.add(
            "Compared with the seed's table: 1,000 × 60 s is 1,000 audio minutes, i.e. **$6.00** through the API at $0.006/min "
            "(the seed's \"$360 / 1000 hours\" treats each 60 s session as an hour), and 16.7 audio hours at its own 15× is "
            "1.1 GPU hours ($0.22 at $0.20/h), not 4 hours/$0.80. The seed's conclusion holds: self-hosting costs "
            f"{min(c for _, c in costs[:-1]):.2f}–{max(c for _, c in costs[:-1]):.2f} $ against ${api:.2f} through the API. "
            "The CPU rows are tiny.en, a much weaker model than large-v3 (section 3 has its WER); their low price is not a "
            "like-for-like comparison with the GPU rows, which assume the large model.", "",
        )
        fig, ax = plt.subplots(figsize=(7.5, 3))
        bars = ax.barh([c[0] for c in costs], [c[1] for c in costs],
                       color=["#ff7f0e" if "ESTIMATE" in c[0] else "#d62728" if "API" in c[0] else "#1f77b4" for c in costs])
        for bar, c in zip(bars, costs):
            if "ESTIMATE" in c[0]:
                bar.set_hatch("//")
        ax.set_xscale("log")
        ax.set_xlim(right=max(c[1] for c in costs) * 4)
        ax.invert_yaxis()
        ax.set_xlabel("US$ for 1,000 × 60 s sessions (log scale)")
        for i, c in enumerate(costs):
            ax.text(c[1], i, f" ${c[1]:.2f}", va="center", fontsize=8)
        self.add(self.plot("cost", fig), "")

    def gpu(self) -> None:
        self.add("## 8. GPU", "")
        g = self.d.get("gpu")
        if not g or g.get("device") != "cuda" or g.get("quick"):
            self.add("**Not measured: no GPU was lent for this run.** `benchmarks/gpu.sh [MODEL]` does it in one command on a CUDA "
                     "machine: checks `nvidia-smi`, installs the project if needed (`PIP_FIND_LINKS=<dir>` for carried wheels), "
                     "then runs `benchmarks/gpu.py`: Whisper fp16 sequential and batched (batch_size 16) and the full job with "
                     "diarization on the lecture, the sample and all six recordings back to back, reporting RTF, stage times and "
                     "the VRAM peak from the service's own `streamscribe_gpu_memory_used_bytes` gauge. The GPU machines have no "
                     "internet: large-v3 must be carried in as a CTranslate2 directory (`benchmarks/gpu.sh /path/to/large-v3`); "
                     "without it the script falls back to the bundled `base` model and says so in its summary line and JSON.", "")
            return
        self.add(f"{g['model']} ({g['compute_type']}) on {g['gpu']}" + (f" — **{g['model_fallback']}**" if g["model_fallback"] else "")
                 + f"; load {g['load_s']:.1f} s; VRAM peak {max(g['vram_peak_bytes_gauge'], g['vram_peak_bytes_sampled']) / 2**30:.2f} GiB.", "",
                 "| audio | sequential RTF | batched RTF | with diarization RTF | stages s (median) |", "|---|---|---|---|---|")
        for clip, x in g["results"].items():
            stages = ", ".join(f"{k} {med(v):.2f}" for k, v in x["stages_s"].items())
            self.add(f"| {clip} ({x['audio_seconds']:.0f} s) | {rng(x['sequential']['rtf'])} | {rng(x['batched']['rtf'])} | "
                     f"{rng(x['sequential+diarization']['rtf'])} | {stages} |")
        self.add("", self.runinfo("gpu"), "")

    def build(self) -> str:
        for section in (self.machine, self.overhead, self.persistent, self.batched, self.consumer, self.diarization, self.memory,
                        self.cost, self.gpu):
            section()
        body, self.lines = self.lines, []
        self.add(
            "# Benchmarks", "",
            "Generated by `make bench` (runs every script in `benchmarks/`, then `benchmarks/report.py` builds this page and the "
            "plots from `benchmarks/results/*.json`); do not edit by hand. **RTF = audio seconds ÷ wall seconds: higher is "
            "faster** (10× = a minute of audio in 6 s). Every number is the median of ≥ 3 runs with min–max beside it, A and B "
            "interleaved (A B A B) in the same process because the machine is noisy.", "",
            "## Summary", "",
            "| comparison | measured | target | | reproduce |", "|---|---|---|---|---|",
            *[f"| {a} | {b} | {c} | {d} | `python3 benchmarks/{e}.py` |" for a, b, c, d, e in self.summary], "",
        )
        return "\n".join(self.lines + body) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    data = load(args.results)
    if not data:
        raise SystemExit(f"no results in {args.results}: run `make bench` first")
    args.out.mkdir(parents=True, exist_ok=True)
    report = Report(data, args.out)
    (args.out / "BENCHMARKS.md").write_text(report.build())
    print(f"report: wrote {args.out / 'BENCHMARKS.md'} and {len(list(args.out.glob('bench_*.png')))} plots from {len(data)} results files")


if __name__ == "__main__":
    main()
