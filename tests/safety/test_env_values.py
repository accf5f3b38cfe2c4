"""Hostile CI variables: values that feed image tags, labels and timestamps are checked, and a
bad one is one line and exit 1 before the engine is contacted (never a traceback, never a
silently ignored or mangled value)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import write_image_service

from jenkins_bridge.cli import main
from jenkins_bridge.containers.errors import InvalidBuildEnvironment
from jenkins_bridge.containers.provenance import MAX_SOURCE_DATE_EPOCH, collect_build_facts

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
COMMIT = "0123456789abcdef0123456789abcdef01234567"

HOSTILE: list[tuple[str, str]] = [
    ("GIT_COMMIT", "not-a-commit"),
    ("GIT_COMMIT", "abc12"),  # too short
    ("GIT_COMMIT", "a" * 65),
    ("GIT_COMMIT", "0123456789abcdef\n"),
    ("GIT_COMMIT", "$(touch /tmp/pwned)"),
    ("GIT_COMMIT", "../../etc/passwd"),
    ("GIT_COMMIT", "０１２３４５６７"),  # fullwidth digits
    ("BRANCH_NAME", "main\nLABEL evil=1"),
    ("BRANCH_NAME", "feature\x00x"),
    ("BRANCH_NAME", "x" * 256),
    ("BRANCH_NAME", "---"),
    ("BRANCH_NAME", "..."),
    ("BRANCH_NAME", "fix\u202eexe.txt"),  # right-to-left override
    ("BRANCH_NAME", "tab\there"),
    ("SOURCE_DATE_EPOCH", "yesterday"),
    ("SOURCE_DATE_EPOCH", "-1"),
    ("SOURCE_DATE_EPOCH", "1e9"),
    ("SOURCE_DATE_EPOCH", "1700000000.5"),
    ("SOURCE_DATE_EPOCH", str(MAX_SOURCE_DATE_EPOCH + 1)),
    ("SOURCE_DATE_EPOCH", "9" * 400),
    ("SOURCE_DATE_EPOCH", " 1700000000"),
    ("SOURCE_DATE_EPOCH", "٣"),  # Arabic-Indic digit: str.isdigit() says yes
    ("BUILD_NUMBER", "0"),
    ("BUILD_NUMBER", "-3"),
    ("BUILD_NUMBER", "12a"),
    ("BUILD_NUMBER", "1" * 11),
    ("BUILD_NUMBER", "007"),
    ("BUILD_NUMBER", "²"),
    ("BUILD_URL", "javascript:alert(1)"),
    ("BUILD_URL", "https://ci.example.com/job/x/1/\nforged: yes"),
]


@pytest.mark.parametrize(("name", "value"), HOSTILE)
def test_unusable_values_raise_a_typed_error(name: str, value: str) -> None:
    environ = {"GIT_COMMIT": COMMIT, name: value}
    with pytest.raises(InvalidBuildEnvironment) as caught:
        collect_build_facts(environ, Path("/nonexistent"), now=WHEN)
    assert caught.value.name == name
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"GIT_COMMIT": COMMIT.upper()}, {"commit": COMMIT}),
        ({"GIT_COMMIT": "abcdef1"}, {"commit": "abcdef1"}),
        ({"GIT_COMMIT": "", "BRANCH_NAME": ""}, {"commit": None, "branch": None}),
        ({"BRANCH_NAME": "feature/JIRA-12 fix", "BUILD_NUMBER": "17"}, {"build_number": "17"}),
        ({"SOURCE_DATE_EPOCH": "0"}, {"created": datetime(1970, 1, 1, tzinfo=UTC)}),
        (
            {"SOURCE_DATE_EPOCH": str(MAX_SOURCE_DATE_EPOCH)},
            {"created": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)},
        ),
        ({"SOURCE_DATE_EPOCH": ""}, {"created": WHEN}),
        (
            {"BUILD_URL": "https://ci.example.com/job/a%20b/3/"},
            {"build_url": "https://ci.example.com/job/a%20b/3/"},
        ),
    ],
)
def test_usable_values_are_taken(environ: dict[str, str], expected: dict[str, object]) -> None:
    facts = collect_build_facts(environ, Path("/nonexistent"), now=WHEN)
    for key, value in expected.items():
        assert getattr(facts, key) == value


# An environment variable cannot hold NUL; every other case goes through the CLI too.
@pytest.mark.parametrize(("name", "value"), [(n, v) for n, v in HOSTILE if "\0" not in v])
def test_the_cli_reports_one_line_and_exits_1_before_the_engine(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    descriptor = write_image_service(tmp_path)
    for variable in ("GIT_COMMIT", "BRANCH_NAME", "BUILD_NUMBER", "BUILD_URL", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("GIT_COMMIT", COMMIT)
    monkeypatch.setenv("BUILD_NUMBER", "5")
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")

    assert main(["image", "build", str(descriptor)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: ${name}=") and "cannot reach the Docker engine" not in err

    assert main(["--output", "json", "image", "build", str(descriptor)]) == 1
    envelope = json.loads(capsys.readouterr().out)
    assert envelope["status"] == "invalid-environment"
