"""Settings, date parsing and the rule-based type guess."""

from datetime import datetime

import pytest

from secondme import config, paths
from secondme.classify import classify
from secondme.errors import InputError
from secondme.memory import MemoryType
from secondme.timeparse import iso, parse_when

REF = datetime(2026, 11, 22, 15, 30, 0)  # a Sunday


def test_defaults_file_and_environment(monkeypatch):
    assert config.load().llm.model == "qwen2.5-coder-1.5b"
    paths.config_path().write_text('[llm]\nn_ctx = 2048\n[search]\nk = 5\n[[watch]]\npath = "~/notes"\n')
    monkeypatch.setenv("SECONDME_SEARCH_K", "7")
    settings = config.load()
    assert settings.llm.n_ctx == 2048 and settings.search.k == 7
    assert settings.watch == [{"path": "~/notes", "kind": "auto"}]
    # What differs from the defaults, as benchmark reports record it.
    assert config.changed(settings) == {"llm.n_ctx": 2048, "search.k": 7}
    assert config.changed(config.Settings()) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[llm]\nn_ctx = 'big'\n", "not a int"),
        ("[llm]\ncolour = 1\n", "unknown setting llm.colour"),
        ("[llm\n", "cannot read"),
    ],
)
def test_bad_config_is_a_clear_error(text, message):
    paths.config_path().write_text(text)
    with pytest.raises(InputError, match=message):
        config.load()


def test_example_config_documents_every_setting():
    from tests.conftest import REPO

    example = (REPO / "config.example.toml").read_text()
    for section, values in config.Settings().to_dict().items():
        if isinstance(values, dict):
            assert f"[{section}]" in example
            for key in values:
                assert f"{key} = " in example, f"{section}.{key} is not documented"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-02", "2024-03-02T00:00:00"),
        ("2024-03-02 14:30", "2024-03-02T14:30:00"),
        ("yesterday", "2026-11-21T00:00:00"),
        ("3 days ago", "2026-11-19T15:30:00"),
        ("last friday", "2026-11-20T00:00:00"),
        ("last sunday", "2026-11-15T00:00:00"),
        ("8 May 2023", "2023-05-08T00:00:00"),
        ("1:56 pm on 8 May, 2023", "2023-05-08T13:56:00"),
    ],
)
def test_parse_when(text, expected):
    assert iso(parse_when(text, REF)) == expected


def test_parse_when_refuses_nonsense():
    with pytest.raises(InputError, match="cannot understand the date"):
        parse_when("when pigs fly", REF)


@pytest.mark.parametrize(
    ("text", "has_time", "expected"),
    [
        ("My dentist is Dr. Ana Costa", False, MemoryType.SEMANTIC),
        ("Moved to Lisbon", True, MemoryType.EPISODIC),
        ("Met Ana for coffee yesterday", False, MemoryType.EPISODIC),
        ("My name is Rui", False, MemoryType.CORE),
        ("Slides are at https://example.org/talk.pdf", False, MemoryType.RESOURCE),
        ("The wifi password is hunter2", False, MemoryType.VAULT),
        ("card 4111 1111 1111 1111", False, MemoryType.VAULT),
    ],
)
def test_classify(text, has_time, expected):
    assert classify(text, has_time=has_time) is expected
