"""The Dockerfile read as text (no daemon here to build it): both targets, a non-root user,
the ``streamscribe run`` entry point, and a CUDA/cuDNN pairing that matches the torch build
this project installs."""

from __future__ import annotations

import importlib.metadata
import re

import pytest
from deploy_support import REPO

from streamscribe.settings import Settings

DOCKERFILE = (REPO / "Dockerfile").read_text()
DOCS = (REPO / "docs" / "DEPLOYMENT.md").read_text()
UBUNTU_PYTHON = {"ubuntu22.04": "3.10", "ubuntu24.04": "3.12"}


def stages() -> dict[str, str]:
    """Stage name -> its instructions (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    parts = re.split(r"^FROM\s+(\S+)\s+AS\s+(\S+)\s*$", text, flags=re.M | re.I)
    return {parts[i + 1]: parts[i + 2] for i in range(1, len(parts) - 1, 3)}


def arg_default(name: str) -> str:
    return re.search(rf"^ARG {name}=(\S+)", DOCKERFILE, re.M).group(1)


@pytest.mark.parametrize("stage", ["gpu", "cpu"])
def test_each_target_runs_streamscribe_as_a_non_root_user(stage):
    body = stages()[stage]
    user = re.findall(r"^USER\s+(\S+)", body, re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert re.search(r'^ENTRYPOINT \["streamscribe"\]$', body, re.M)
    assert re.search(r'^CMD \["run"\]$', body, re.M)
    assert f"EXPOSE {Settings.model_fields['metrics_port'].default}" in body
    assert "PYANNOTE_METRICS_ENABLED=0" in body
    assert "/healthz" in body
    assert 'VOLUME ["/models"]' in body and "HF_HOME=/models/" in body


def test_cuda_base_matches_the_torch_build():
    torch = pytest.importorskip("torch")
    if torch.version.cuda is None:
        pytest.skip("a CPU-only torch is installed: no CUDA version to compare")
    image = arg_default("CUDA_IMAGE")
    match = re.match(r"nvidia/cuda:(\d+)\.(\d+)\.\d+-cudnn-runtime-(ubuntu\d+\.\d+)$", image)
    assert match, image
    assert f"{match[1]}.{match[2]}" == torch.version.cuda, f"{image} vs torch built for CUDA {torch.version.cuda}"
    # The virtual environment's site-packages path in LD_LIBRARY_PATH follows the base's Python.
    assert f"/opt/venv/lib/python{UBUNTU_PYTHON[match[3]]}/site-packages/nvidia/cudnn/lib" in stages()["gpu"]


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
    copied = {p for line in re.findall(r"^COPY (.+) \S+$", DOCKERFILE, re.M) for p in line.split()}
    assert copied == {"pyproject.toml", "README.md", "src"}
    assert not copied & ignored
    assert {".git", "tests", "benchmarks"} <= ignored
