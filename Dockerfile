# syntax=docker/dockerfile:1
#
# streamscribe images. Two targets:
#   docker build --target gpu -t streamscribe:gpu .   # CUDA 12.8 runtime + cuDNN 9, for NVIDIA GPU nodes
#   docker build --target cpu -t streamscribe:cpu .   # Debian slim, CPU-only torch (no CUDA libraries)
#
# CUDA / cuDNN pairing (the top source of "works on my machine"): torch 2.9.1's PyPI wheel is
# built for CUDA 12.8 and pulls nvidia-cublas-cu12 12.8.4.1 and nvidia-cudnn-cu12 9.10.2.21;
# CTranslate2 4.8.5 (faster-whisper) needs CUDA 12 and dlopens libcublas.so.12. Both therefore
# use the CUDA 12 / cuDNN 9 libraries from those wheels, found first through LD_LIBRARY_PATH
# below; the base image's CUDA 12.8 runtime and cuDNN 9 are the same major versions, for
# anything else on the image. The host needs an NVIDIA driver >= 570 (CUDA 12.8).
# See docs/DEPLOYMENT.md ("CUDA and cuDNN").
#
# Models: the bundled offline models (tiny.en, base, diarization weights) come with the
# Python packages. Hub models (e.g. large-v3) are downloaded into /models on first start,
# which should be a volume; or bake them in: --build-arg PRELOAD_MODELS="large-v3".

ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ARG CPU_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# gpu: Python from Ubuntu 24.04 (3.12) in a virtual environment on the CUDA runtime image.
FROM ${CUDA_IMAGE} AS gpu
ARG PRELOAD_MODELS=""
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /src
# The cuBLAS/cuDNN that torch was built against come first for every library that loads them.
ENV LD_LIBRARY_PATH=/opt/venv/lib/python3.12/site-packages/nvidia/cublas/lib:/opt/venv/lib/python3.12/site-packages/nvidia/cudnn/lib:${LD_LIBRARY_PATH} \
    STREAMSCRIBE_USE_GPU_PIPELINE=true \
    STREAMSCRIBE_MODEL_CACHE_DIR=/models/streamscribe \
    HF_HOME=/models/huggingface \
    PYANNOTE_METRICS_ENABLED=0 \
    PYTHONUNBUFFERED=1
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin app \
 && mkdir -p /models/streamscribe /models/huggingface /audio && chown -R app:app /models
USER 10001:10001
RUN if [ -n "$PRELOAD_MODELS" ]; then \
      for m in $PRELOAD_MODELS; do python -c "import sys; from faster_whisper import download_model; download_model(sys.argv[1])" "$m"; done; \
    fi
VOLUME ["/models"]
EXPOSE 9400
HEALTHCHECK --interval=15s --timeout=3s --start-period=300s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9400/healthz', timeout=2).status != 200)"
ENTRYPOINT ["streamscribe"]
CMD ["run"]

# ---------------------------------------------------------------------------------------------
# cpu: no CUDA at all; torch from its CPU wheel index (about 4 GB smaller than the CUDA build).
FROM ${CPU_IMAGE} AS cpu
ARG PRELOAD_MODELS=""
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install "torch==2.9.1" "torchaudio==2.9.*" --index-url "$TORCH_INDEX_URL" \
 && pip install . && rm -rf /src
ENV STREAMSCRIBE_USE_GPU_PIPELINE=false \
    STREAMSCRIBE_MODEL_CACHE_DIR=/models/streamscribe \
    HF_HOME=/models/huggingface \
    PYANNOTE_METRICS_ENABLED=0 \
    PYTHONUNBUFFERED=1
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin app \
 && mkdir -p /models/streamscribe /models/huggingface /audio && chown -R app:app /models
USER 10001:10001
RUN if [ -n "$PRELOAD_MODELS" ]; then \
      for m in $PRELOAD_MODELS; do python -c "import sys; from faster_whisper import download_model; download_model(sys.argv[1])" "$m"; done; \
    fi
VOLUME ["/models"]
EXPOSE 9400
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9400/healthz', timeout=2).status != 200)"
ENTRYPOINT ["streamscribe"]
CMD ["run"]
