"""Answer models.  The default runs a GGUF file through llama.cpp (llama-cpp-python)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from secondme import paths
from secondme.errors import ModelError

if TYPE_CHECKING:
    from secondme.config import LLMSettings


class LLM(Protocol):
    """A chat model that streams text."""

    name: str

    def chat(
        self, messages: list[dict[str, str]], max_tokens: int, stop: list[str] | None = None
    ) -> Iterator[str]:
        """Stream the reply to ``messages`` (OpenAI-style role/content dicts) piece by piece."""
        ...


class LlamaCppLLM:
    """A GGUF model run by llama.cpp on the CPU, or on the GPU with ``n_gpu_layers``."""

    def __init__(self, path: Path, name: str, settings: LLMSettings) -> None:
        from secondme.models.cpu import check_build

        build = check_build(paths.cache_dir())
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(
                f"llama-cpp-python cannot be imported: {exc}", hint="install it: pip install llama-cpp-python"
            ) from None
        self.name = name
        self.path = path
        self.settings = settings
        threads = settings.n_threads or max(1, os.cpu_count() or 1)
        try:
            with _quiet_stderr():
                self.llama = Llama(
                    model_path=str(path),
                    n_ctx=settings.n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_gpu_layers=settings.n_gpu_layers,
                    seed=settings.seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load model {path}: {exc}",
                hint="check that it is a complete GGUF file (llm.model_path)",
            ) from None
        # What a saved prompt state depends on besides its tokens: the model file, the llama.cpp
        # build (another build's kernels round differently, so its state would answer otherwise
        # than a state computed here) and the context.
        stat = path.stat()
        #: The key and length of the prefix state this process last loaded or computed, while the
        #: context still starts with it as loaded.
        self._primed: tuple[str, int] | None = None
        self.state_identity = (
            f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{build}|{settings.n_ctx}|{settings.n_gpu_layers}"
        )

    #: :meth:`chat` can report each generated token's log-probability (``logprobs``).
    scores_tokens = True

    def chat(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        stop: list[str] | None = None,
        logprobs: list[tuple[str, float]] | None = None,
    ) -> Iterator[str]:
        """Stream the reply, greedy by default (temperature 0) so answers are repeatable.

        With ``logprobs``, each generated token is appended to it as (text, natural-log
        probability the model gave it), read from the logits as they are sampled: no second
        pass and no ``logits_all``.
        """
        if self._primed is not None and self.llama.n_tokens != self._primed[1]:
            # Not asked right after `prime`: this prompt may part from the prefix inside it and
            # evaluate its tokens again in other batches, so the context no longer holds the
            # prefix as loaded.  The next `prime` loads it again.
            self._primed = None
        scorer = _TokenScorer(greedy=self.settings.temperature == 0) if logprobs is not None else None
        processors = None
        if scorer is not None:
            from llama_cpp import LogitsProcessorList

            processors = LogitsProcessorList([scorer])
        stream = self.llama.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=self.settings.temperature,
            top_k=1 if self.settings.temperature == 0 else 40,
            stop=stop,
            stream=True,
            logits_processor=processors,
        )
        chunk: Any
        try:
            for chunk in stream:
                text = chunk["choices"][0].get("delta", {}).get("content")
                if text:
                    yield str(text)
        finally:
            if scorer is not None and logprobs is not None:
                for token, logprob in scorer.scored():
                    piece = self.llama.detokenize([token]).decode("utf-8", "replace")
                    logprobs.append((piece, logprob))

    def prime(self, messages: list[dict[str, str]]) -> None:
        """Load (or compute and save) the KV state of a fixed prompt prefix.

        The system prompt and core memories are the same for every question, so their state is
        kept in the cache dir and later prompts only evaluate what comes after them.  A state is
        reused only by the same model file and llama.cpp build (:attr:`state_identity`): one
        computed by another build would answer some questions in other words.  Call it before
        every prompt: once the prefix is loaded, a later call only cuts the context back to it.
        """
        tokens = self._prefix_tokens(messages)
        if len(tokens) < 16:
            return
        key = hashlib.sha256(f"{self.state_identity}|{tokens}".encode()).hexdigest()[:24]
        if self._primed == (key, len(tokens)) and self._holds(tokens):
            # The prefix is still in the context, untouched by the questions evaluated after it:
            # cut back to it.  A question then starts from the state it would start from after
            # a load, whatever was asked before it (llama-cpp-python would otherwise reuse the
            # previous prompt's matching tokens past the prefix, evaluated in other batches, and
            # answer some questions in other words).
            self.llama.n_tokens = len(tokens)
            return
        cache = paths.cache_dir() / "prompt-states"
        cache.mkdir(parents=True, exist_ok=True)
        file = cache / f"{key}.state"
        self._primed = None
        if file.exists() and self._load_state(file, tokens):
            self._primed = (key, len(tokens))
            return
        self.llama.reset()
        self.llama.eval(tokens)
        self._save_state(file, tokens)
        self._primed = (key, len(tokens))
        # Keep the cache small: the newest few prefixes only.
        states = sorted(cache.glob("*.state"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in states[8:]:
            old.unlink(missing_ok=True)

    def _holds(self, tokens: list[int]) -> bool:
        n = len(tokens)
        return bool(self.llama.n_tokens >= n and self.llama.input_ids[:n].tolist() == tokens)

    def _save_state(self, file: Path, tokens: list[int]) -> None:
        # Only the KV cache and the token ids: llama-cpp-python's own save_state() also copies a
        # logits buffer of hundreds of megabytes that a prefix does not need.
        import ctypes

        import llama_cpp

        ctx = self.llama._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * int(size))()
        written = int(llama_cpp.llama_state_get_data(ctx, buffer, size))
        header = json.dumps({"tokens": tokens, "bytes": written}).encode()
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(len(header).to_bytes(8, "little"))
            handle.write(header)
            handle.write(bytes(buffer)[:written])
        os.replace(tmp, file)

    def _load_state(self, file: Path, tokens: list[int]) -> bool:
        import ctypes

        import llama_cpp

        try:
            with open(file, "rb") as handle:
                length = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(length))
                data = handle.read()
            if header["tokens"] != tokens or len(data) != header["bytes"]:
                raise ValueError("state does not match the prefix")
            buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            self.llama.reset()
            if int(llama_cpp.llama_state_set_data(self.llama._ctx.ctx, buffer, len(data))) != len(data):
                raise ValueError("llama.cpp refused the state")
        except (OSError, ValueError, KeyError):
            file.unlink(missing_ok=True)  # damaged or stale: it is recomputed
            return False
        self.llama.input_ids[: len(tokens)] = tokens
        self.llama.n_tokens = len(tokens)
        return True

    def _prefix_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        # Render the prefix messages followed by a marker user turn, then cut at the marker, so
        # that the tokens are exactly those the full prompt starts with.
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            return []
        marker = "\x00secondme-prefix\x00"
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self.llama.detokenize([self.llama.token_eos()]).decode("utf-8", "ignore"),
            bos_token=self.llama.detokenize([self.llama.token_bos()]).decode("utf-8", "ignore"),
        )
        turns: Any = [*messages, {"role": "user", "content": marker}]
        rendered = formatter(messages=turns).prompt
        prefix = rendered.split(marker)[0]
        # The last few tokens may merge differently with what follows: leave them out.
        tokens = self.llama.tokenize(prefix.encode("utf-8"), add_bos=False, special=True)
        return tokens[:-4]


class _TokenScorer:
    """A llama.cpp logits processor that leaves the logits alone and notes the log-probability
    of each token the sampler picks.

    It sees the logits before a token is picked; the token picked shows up as the last input id
    of the next call.  No call follows the last pick: under greedy sampling that token is the
    most likely one (an end-of-turn token has no text and counts for nothing); otherwise it is
    unknown and left out.
    """

    def __init__(self, greedy: bool) -> None:
        self.greedy = greedy
        self.previous: Any = None
        self.tokens: list[tuple[int, float]] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        if self.previous is not None:
            token = int(input_ids[-1])
            self.tokens.append((token, float(self.previous[token])))
        top = float(scores.max())
        self.previous = scores - (top + float(np.log(np.exp(scores - top).sum())))
        return scores

    def scored(self) -> list[tuple[int, float]]:
        """(token id, log-probability) for each token generated."""
        if self.greedy and self.previous is not None:
            last = int(self.previous.argmax())
            return [*self.tokens, (last, float(self.previous[last]))]
        return list(self.tokens)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's C-level loading chatter unless SECONDME_DEBUG is set."""
    if os.environ.get("SECONDME_DEBUG"):
        yield
        return
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(fd, 2)
    finally:
        os.close(fd)


def resolve_model_path(settings: LLMSettings) -> tuple[Path, str]:
    """The GGUF file and a display name for the configured model (verifying pinned models)."""
    from secondme.models import defaults

    if settings.model_path:
        path = defaults.check_gguf(Path(settings.model_path))
        return path, path.name
    pinned = defaults.LLMS.get(settings.model)
    if pinned is None:
        raise ModelError(
            f"unknown model {settings.model!r}",
            hint=f"known: {', '.join(defaults.LLMS)}; or set llm.model_path to a GGUF file",
        )
    return defaults.ensure(pinned), pinned.name


def load_llm(settings: LLMSettings) -> Any:
    """The configured answer model (a plugin's, a GGUF path, or a pinned default)."""
    from secondme.plugins import plugin_llms

    custom = plugin_llms().get(settings.model)
    if custom is not None and not settings.model_path:
        return custom(settings)
    path, name = resolve_model_path(settings)
    return LlamaCppLLM(path, name, settings)
