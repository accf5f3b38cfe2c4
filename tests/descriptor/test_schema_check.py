"""The pure-Python check never calls valid what jsonschema-rs refuses, and does call the
descriptors people write valid (otherwise validate would not be spared jsonschema-rs)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from conftest import GOLDEN, ROOT

from jenkins_bridge.descriptor.loading import discover, load_files
from jenkins_bridge.descriptor.schema import SCHEMA
from jenkins_bridge.descriptor.schema_check import certainly_valid

RUST = jsonschema_rs.validator_for(SCHEMA)


def _merged_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every valid descriptor of the examples and goldens, as validation sees it (merged with
    its _defaults.yaml chain)."""
    found = []
    for folder in [ROOT / "examples", *(p for p in GOLDEN.iterdir() if p.is_dir())]:
        if folder.name.startswith("err-"):
            continue
        loaded = load_files(discover([folder]))
        found += [(str(path), data) for data, path, _ in loaded.records]
    return found


DOCUMENTS = _merged_documents()

# Values that break or bend a rule somewhere: types, bounds, lengths, text Python and Rust
# regex engines could read differently (a trailing newline, Unicode digits and spaces).
PROBES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.0,
    2.5,
    2**60,
    float("inf"),
    "",
    "x",
    "a" * 300,
    "a" * 5000,
    "main\n",
    "\u0661\u0662",  # Arabic-Indic digits: \d in some engines
    "a\u00a0b",  # no-break space: \s in some engines
    "ok-name",
    "OK_NAME",
    "/abs/path",
    "../up",
    "https://example.com/x",
    "user@example.com",
    "10.0.0.0/8",
    "127.0.0.1:8080",
    [],
    ["x"],
    {},
    {"unknown": 1},
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replaced(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    node: Any = copied
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copied


def _without(data: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any] | None:
    copied = copy.deepcopy(data)
    node: Any = copied
    for part in path[:-1]:
        node = node[part]
    if not isinstance(node, dict):
        return None
    del node[path[-1]]
    return copied


def _mutations(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in _paths(data):
        if not path:
            continue
        for probe in PROBES:
            yield _replaced(data, path, probe)
        removed = _without(data, path)
        if removed is not None:
            yield removed
        parent = _replaced(data, path[:-1], None) if len(path) > 1 else None
        if parent is not None:
            yield parent
    for key in ("unknown", "metadata ", "Metadata"):
        yield {**data, key: {}}


def test_every_written_descriptor_is_certainly_valid() -> None:
    assert len(DOCUMENTS) >= 8
    for name, data in DOCUMENTS:
        assert RUST.is_valid(data), name
        assert certainly_valid(data, SCHEMA), name


@pytest.mark.parametrize("name,data", DOCUMENTS, ids=[Path(n).name for n, _ in DOCUMENTS])
def test_never_valid_where_jsonschema_rs_finds_a_problem(name: str, data: dict[str, Any]) -> None:
    agreed_valid = refused = 0
    for mutated in _mutations(data):
        rust = RUST.is_valid(mutated)
        if certainly_valid(mutated, SCHEMA):
            assert rust, f"{name}: Python calls valid what jsonschema-rs refuses: {mutated}"
            agreed_valid += 1
        elif not rust:
            refused += 1
    # Both answers occur, so the comparison above says something.
    assert agreed_valid > 0 and refused > 0


@pytest.mark.parametrize(
    "schema,value",
    [
        ({"type": "integer"}, 1.0),  # an integer to JSON Schema; Python is not sure
        ({"type": "string", "pattern": "^a$"}, "a\n"),  # Python's $ matches before a newline
        ({"type": "string", "pattern": "^[0-9]+$"}, "\u0661"),
        ({"enum": [1]}, True),  # True == 1 in Python, not in JSON
        ({"const": 1}, 1.0),
        ({"type": "string", "format": "email"}, "x"),  # a keyword it does not know
        ({"items": [{"type": "string"}]}, ["x"]),  # the tuple form
        ({"type": "number", "maximum": 10}, 2**60),
        ("not a schema", "x"),
        (False, "x"),
    ],
)
def test_not_sure_is_false(schema: Any, value: Any) -> None:
    assert certainly_valid(value, schema) is False


def test_validate_of_one_file_does_not_load_jsonschema_rs() -> None:
    import subprocess
    import sys

    def run(path: Path) -> str:
        code = (
            "import sys; from jenkins_bridge.cli import main;"
            f"rc = main(['validate', {str(path)!r}]);"
            "print(rc, 'jsonschema_rs' in sys.modules, file=sys.stderr)"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        return done.stderr.strip().splitlines()[-1]

    assert run(GOLDEN / "minimal" / "hello.yaml") == "0 False"
    # An invalid file is reported by jsonschema-rs, worded as before (tests/golden/err-*).
    assert run(GOLDEN / "err-bad-types") == "1 True"
