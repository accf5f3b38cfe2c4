"""manifest.json's text: the hand-laid fast path is byte for byte ``json.dumps(indent=2)``."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jenkins_bridge import __version__
from jenkins_bridge.output.manifest import (
    entry_text,
    joined_manifest_text,
    manifest_text,
    spliced_manifest_text,
)

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


FLAT = st.fixed_dictionaries(
    {"path": st.text(), "kind": st.text(), "sha256": st.text(), "source": st.none() | st.text()}
)


@settings(max_examples=300, deadline=None)
@given(st.lists(FLAT, min_size=1, max_size=8, unique_by=lambda e: e["path"]), st.data())
def test_a_spliced_manifest_is_the_manifest_of_the_new_entries(
    entries: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Entries replaced in place (the same paths, new fields) give what encoding the new list
    whole gives, byte for byte, whatever the fields hold (quotes, newlines, the separators)."""
    chosen = data.draw(st.sets(st.sampled_from(range(len(entries)))))
    replaced = {i: {**data.draw(FLAT), "path": entries[i]["path"]} for i in chosen}
    new = [replaced.get(i, entry) for i, entry in enumerate(entries)]
    dropped = [entries[i] for i in sorted(chosen)]
    fresh = [replaced[i] for i in sorted(chosen)]
    spliced = spliced_manifest_text(manifest_text(entries), dropped, fresh)
    assert spliced == manifest_text(new) == reference(new)


def _entry(path: str, sha: str = "a" * 64) -> dict[str, Any]:
    return {"kind": "jenkinsfile", "path": path, "sha256": sha, "source": "t/s.yaml"}


def test_a_splice_it_cannot_place_exactly_is_refused() -> None:
    """None (the caller encodes the whole list) for anything but entries replaced where they
    stand in a manifest laid out by manifest_text for this version."""
    entries = [_entry(f"t/s{i}/Jenkinsfile") for i in range(5)]
    old = manifest_text(entries)
    changed = _entry("t/s2/Jenkinsfile", "b" * 64)
    assert spliced_manifest_text(old, [entries[2]], [changed]) == manifest_text(
        [*entries[:2], changed, *entries[3:]]
    )
    # a path added or gone: entries would move
    assert spliced_manifest_text(old, [entries[2]], [_entry("t/s9/Jenkinsfile")]) is None
    assert spliced_manifest_text(old, [entries[2]], []) is None
    # the old entry is not in the text as recorded (a cache that does not match the file)
    wrong = _entry("t/s2/Jenkinsfile", "c" * 64)
    assert spliced_manifest_text(old, [wrong], [changed]) is None
    # another layout, another version, a field of another type
    assert spliced_manifest_text(old.replace("\n", "\r\n"), [entries[2]], [changed]) is None
    other = old.replace(f'"version": {json.dumps(__version__)}', '"version": "0.0.0"')
    assert spliced_manifest_text(other, [entries[2]], [changed]) is None
    assert spliced_manifest_text(old, [entries[2]], [{**changed, "source": 1}]) is None
    assert spliced_manifest_text(old, [entries[2]], [{**changed, "extra": "x"}]) is None


RENDERED = st.lists(
    st.tuples(st.text(), st.text(), st.text(), st.one_of(st.text(), st.none())),
    min_size=1,
    max_size=8,
    unique_by=lambda entry: entry[1],  # (kind, path, sha256, source): one entry a path
)


@settings(max_examples=300, deadline=None)
@given(RENDERED)
def test_entries_made_apart_and_joined_are_the_whole_manifest(
    rendered: list[tuple[str, str, str, str | None]],
) -> None:
    entries = [(path, entry_text(kind, path, sha, source)) for kind, path, sha, source in rendered]
    whole = [{"kind": k, "path": p, "sha256": h, "source": s} for k, p, h, s in rendered]
    assert joined_manifest_text(entries) == reference(whole)
    assert joined_manifest_text(reversed(entries)) == reference(whole)


def test_joined_entries_refuse_a_path_given_twice_and_nothing() -> None:
    one = ("a/b", entry_text("jenkinsfile", "a/b", "0" * 64, None))
    assert joined_manifest_text([one, one]) is None
    assert joined_manifest_text([]) is None
