"""The resolved descriptor a Jenkinsfile carries is JSON with everything beyond ASCII escaped,
whether or not the descriptor has such characters (the escaped form is skipped when equal)."""

from __future__ import annotations

import json

import pytest

from jenkins_bridge.descriptor.loading import _ascii_json

VALUES = ["plain", "caf\u00e9", "\u20ac 5", "del\x7fete", "tab\tand\nline", 'q"\\', "\U0001f600"]


@pytest.mark.parametrize("value", VALUES)
def test_it_is_the_escaping_json_of_the_data(value: str) -> None:
    data = {"b": [value, 1, True, None], "a": {"k": value}}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    wanted = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert _ascii_json(data, canonical) == wanted
