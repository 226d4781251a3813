"""One rule for every command: one `error:` line with a hint on stderr, an exit code from the table."""

from __future__ import annotations

import pytest

from secondme.errors import EXIT_CODES, EXIT_NOT_FOUND, EXIT_PARTIAL, EXIT_STORE, EXIT_USAGE
from tests.conftest import run_mem


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and lines[0].endswith(")"), stderr  # "(hint)" at the end
    assert "Traceback" not in stderr and "Usage:" not in stderr and "╭" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "abc"], EXIT_USAGE, "invalid value for 'memory_id'"),
        (["search", "x", "-k", "0"], EXIT_USAGE, "invalid value for '-k' / '--k'"),
        (["search", "x", "-k", "100000"], EXIT_USAGE, "less than or equal to 1000"),
        (["forget", "999999"], EXIT_NOT_FOUND, "no memory #999999"),
        (["frobnicate"], EXIT_USAGE, "no such command 'frobnicate'"),
        (["list", "--limit", "many"], EXIT_USAGE, "invalid value for '--limit'"),
        (["show"], EXIT_USAGE, "missing argument"),
        (["search", "x", "--no-such-option"], EXIT_USAGE, "no such option"),
        # Larger than SQLite's integers (found by bench/fuzz.py: they crashed).
        (["show", "99999999999999999999"], EXIT_USAGE, "less than or equal to 9223372036854775807"),
        (["forget", "1", "99999999999999999999"], EXIT_USAGE, "invalid value for 'memory_ids'"),
        (["list", "--offset", "99999999999999999999"], EXIT_USAGE, "invalid value for '--offset'"),
    ],
)
def test_usage_and_lookup_errors_are_one_line_with_a_hint(args, code, message):
    result = run_mem(*args)
    assert result.returncode == code, result.stderr
    line = one_error_line(result.stderr)
    assert message in line
    assert result.stdout == ""


def test_usage_errors_name_the_command_help():
    line = one_error_line(run_mem("search", "x", "-k", "0").stderr)
    assert line.endswith("(see `mem search --help`)")


def test_forgetting_some_missing_ids_is_a_partial_failure():
    assert run_mem("add", "the plumber comes on Monday").returncode == 0
    result = run_mem("forget", "1", "999999")
    assert result.returncode == EXIT_PARTIAL
    assert result.stdout.strip() == "Forgot #1"
    assert "no memory #999999" in one_error_line(result.stderr)


@pytest.mark.parametrize("under", ["file", "file/home"])
def test_a_data_home_under_a_regular_file_is_told_with_a_hint(tmp_path, under):
    (tmp_path / "file").write_text("not a folder")
    result = run_mem("list", env={"SECONDME_HOME": str(tmp_path / under)})
    assert result.returncode == EXIT_STORE
    line = one_error_line(result.stderr)
    assert "cannot use" in line and "as the data home: a file is in the way" in line
    assert "SECONDME_HOME" in line


def test_no_arguments_shows_the_help_and_succeeds():
    result = run_mem()
    assert result.returncode == 0 and "Usage" in result.stdout and result.stderr == ""


def test_every_exit_code_is_documented():
    from tests.conftest import REPO

    table = (REPO / "docs" / "errors.md").read_text()
    for code in EXIT_CODES:
        assert f"\n| {code} |" in table


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "x", "type": true}', "line 1: type must be a string, not true"),
        ('{"text": "x", "importance": "high"}', 'line 1: importance must be a number, not "high"'),
        ('{"text": "x", "tags": "a"}', 'line 1: tags must be a list of strings, not "a"'),
        ('{"text": ["x"]}', 'line 1: text must be a string, not ["x"]'),
        ('{"type": "semantic"}', 'line 1: no "text" field'),
    ],
)
def test_import_refuses_fields_of_the_wrong_type_in_one_line(tmp_path, line, message):
    from tests.cli_helpers import invoke

    file = tmp_path / "in.jsonl"
    file.write_text(line + "\n")
    outcome = invoke(["import", str(file)])
    assert outcome.code == EXIT_USAGE
    assert message in one_error_line(outcome.stderr)


def test_invalid_utf8_on_stdin_is_read_and_said(tmp_path):
    from tests.cli_helpers import invoke

    outcome = invoke(["add", "--json"], input="Caf\xe9 on Sunday".encode("latin-1"))
    assert outcome.code == 0
    assert outcome.stderr.startswith("warning: stdin: not UTF-8")
    assert invoke(["show", "1", "--json"]).stdout.count("Café on Sunday") == 1


def test_a_number_too_large_in_the_config_file_is_one_line(home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[answer]\nmax_memory_chars = 1e400\n")
    result = run_mem("list")
    assert result.returncode == EXIT_USAGE
    assert "setting answer.max_memory_chars has the value inf, which is not a int" in one_error_line(
        result.stderr
    )
