"""The Dockerfile, parsed by BuildKit's own parser (the ``dockerfile`` package; no daemon here
to build it): both targets, a non-root user, the ``streamscribe run`` entry point, and a
CUDA/cuDNN pairing that matches the torch build this project installs."""

from __future__ import annotations

import importlib.metadata
import re

import dockerfile
import pytest
from deploy_support import REPO

from streamscribe.settings import Settings

DOCKERFILE = (REPO / "Dockerfile").read_text()
DOCS = (REPO / "docs" / "DEPLOYMENT.md").read_text()
UBUNTU_PYTHON = {"ubuntu22.04": "3.10", "ubuntu24.04": "3.12"}


def stages() -> dict[str, list]:
    """Stage name -> its instructions, as BuildKit parses them (a syntax error raises)."""
    out: dict[str, list] = {}
    current = None
    for command in dockerfile.parse_string(DOCKERFILE):
        if command.cmd == "FROM":
            current = out.setdefault(command.value[2], [])
        elif current is not None:
            current.append(command)
    return out


def instructions(stage: str, cmd: str) -> list[tuple[str, ...]]:
    return [c.value for c in stages()[stage] if c.cmd == cmd]


def env(stage: str) -> dict[str, str]:
    pairs = [v for values in instructions(stage, "ENV") for v in zip(values[::2], values[1::2])]
    return dict(pairs)


def arg_default(name: str) -> str:
    return re.search(rf"^ARG {name}=(\S+)", DOCKERFILE, re.M).group(1)


@pytest.mark.parametrize("stage", ["gpu", "cpu"])
def test_each_target_runs_streamscribe_as_a_non_root_user(stage):
    assert instructions(stage, "USER")[-1][0].split(":")[0] not in ("0", "root")
    assert instructions(stage, "ENTRYPOINT") == [("streamscribe",)]
    assert instructions(stage, "CMD") == [("run",)]
    assert instructions(stage, "EXPOSE") == [(str(Settings.model_fields["metrics_port"].default),)]
    assert instructions(stage, "VOLUME") == [("/models",)]
    variables = env(stage)
    assert variables["PYANNOTE_METRICS_ENABLED"] == "0"
    assert variables["HF_HOME"].startswith("/models/") and variables["STREAMSCRIBE_MODEL_CACHE_DIR"].startswith("/models/")
    assert variables["STREAMSCRIBE_USE_GPU_PIPELINE"] == ("true" if stage == "gpu" else "false")
    (healthcheck,) = instructions(stage, "HEALTHCHECK")
    assert "/healthz" in healthcheck[1]


def test_cuda_base_matches_the_torch_build():
    torch = pytest.importorskip("torch")
    if torch.version.cuda is None:
        pytest.skip("a CPU-only torch is installed: no CUDA version to compare")
    image = arg_default("CUDA_IMAGE")
    match = re.match(r"nvidia/cuda:(\d+)\.(\d+)\.\d+-cudnn-runtime-(ubuntu\d+\.\d+)$", image)
    assert match, image
    assert f"{match[1]}.{match[2]}" == torch.version.cuda, f"{image} vs torch built for CUDA {torch.version.cuda}"
    # The virtual environment's site-packages path in LD_LIBRARY_PATH follows the base's Python.
    assert f"/opt/venv/lib/python{UBUNTU_PYTHON[match[3]]}/site-packages/nvidia/cudnn/lib" in env("gpu")["LD_LIBRARY_PATH"]


@pytest.mark.parametrize("dist", ["nvidia-cudnn-cu12", "nvidia-cublas-cu12", "ctranslate2", "torch"])
def test_documented_versions_are_the_installed_ones(dist):
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{dist} is not installed here")
    assert f"{dist} {version}" in DOCS, f"docs/DEPLOYMENT.md should name {dist} {version}"
    if dist.startswith("nvidia-"):
        assert f"{dist} {version}" in DOCKERFILE


def test_dockerignore_keeps_what_the_image_copies():
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")}
    copied = {p for stage in stages() for values in instructions(stage, "COPY") for p in values[:-1]}
    assert copied == {"pyproject.toml", "README.md", "src"}
    assert not copied & ignored
    assert {".git", "tests", "benchmarks"} <= ignored
