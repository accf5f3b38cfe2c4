"""manifest.json's text: the hand-laid fast path is byte for byte ``json.dumps(indent=2)``."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jenkins_bridge import __version__
from jenkins_bridge.output.manifest import manifest_text

SCALARS = st.one_of(st.text(), st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False))
ENTRIES = st.lists(
    st.fixed_dictionaries(
        {"path": st.text(), "kind": st.text(), "sha256": st.text(), "source": SCALARS},
        optional={
            "extra": st.one_of(
                SCALARS, st.lists(st.integers()), st.dictionaries(st.text(), st.integers())
            )
        },
    ),
    max_size=8,
)


def reference(entries: list[dict[str, Any]]) -> str:
    ordered = sorted(entries, key=lambda entry: str(entry["path"]))
    manifest = {"generator": "jenkins-bridge", "version": __version__, "artifacts": ordered}
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


@settings(max_examples=300, deadline=None)
@given(ENTRIES)
def test_manifest_text_is_json_dumps_indent_2(entries: list[dict[str, Any]]) -> None:
    assert manifest_text(entries) == reference(entries)


def test_manifest_text_of_a_real_sized_tree_and_of_nothing() -> None:
    entries = [
        {"kind": "jenkinsfile", "path": f"t/s{i}/Jenkinsfile", "sha256": "a" * 64, "source": None}
        for i in range(2000)
    ]
    entries.append({"kind": "x", "path": 'q"\\\né\u2028', "sha256": "b" * 64, "source": "s"})
    # The separator the fast path splits on, inside values: escaped, so never mistaken.
    entries.append({"kind": "}", "path": '},\n      {"', "sha256": "{", "source": "}, {"})
    assert manifest_text(entries) == reference(entries)
    assert manifest_text([]) == reference([])
