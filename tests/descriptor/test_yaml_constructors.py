"""YAML that PyYAML's own constructors choke on is a located problem, never a traceback:
tags with values they cannot build, merge keys that include themselves, control characters
in keys (shown escaped, never raw), and numbers that are not finite."""

from __future__ import annotations

import pytest

from jenkins_bridge.descriptor.yamlsource import YamlProblem, load_yaml_mapping, visible

HEAD = "apiVersion: jenkins-bridge/v1\nkind: Service\n"


def problem_of(text: str) -> tuple[int | None, int | None, str]:
    with pytest.raises(YamlProblem) as caught:
        load_yaml_mapping((HEAD + text).encode(), "svc.yaml")
    problem = caught.value.problem
    return problem.line, problem.column, problem.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pipeline: {timeoutMinutes: !!int abc}\n", "'abc' is not a valid !!int value"),
        ("pipeline: {timeoutMinutes: !!int ''}\n", "'' is not a valid !!int value"),
        ("runtime: {port: !!int 0x}\n", "'0x' is not a valid !!int value"),
        ('runtime: {port: !!float ""}\n', "'' is not a valid !!float value"),
        ("runtime: {port: !!bool abc}\n", "'abc' is not a valid !!bool value"),
        ("runtime: {port: !!python/name:os.system x}\n", "tag '!!python/name:os.system'"),
        ("runtime: {port: !custom x}\n", "tag '!custom' is not supported"),
        ("runtime: {port: .nan}\n", "'.nan' is not a finite number"),
        ("runtime: {port: -.inf}\n", "'-.inf' is not a finite number"),
        ("runtime: {port: " + "9" * 5000 + "}\n", "is not a valid !!int value"),
    ],
)
def test_values_constructors_refuse_are_located(text: str, message: str) -> None:
    line, column, got = problem_of(text)
    assert line == 3 and column is not None and column > 1
    assert message in got and "\n" not in got


@pytest.mark.parametrize(
    "text",
    [
        "pipeline: &self {<<: *self}\n",
        "pipeline: &a {agent: x, <<: [{keepBuilds: 1}, *a]}\n",
    ],
)
def test_a_merge_that_includes_itself_is_located(text: str) -> None:
    line, _, message = problem_of(text)
    assert line == 3 and "'<<' merges a mapping into itself" in message


def test_a_merge_that_builds_a_cycle_stops_at_the_depth_limit() -> None:
    line, _, message = problem_of("a: &a {b: {<<: *a}}\n")
    assert line == 3 and "nesting deeper than" in message


def test_merged_mappings_listed_earlier_win() -> None:
    doc = load_yaml_mapping("x: {<<: [{a: 1}, {a: 2, b: 3}], c: 4}\n", "svc.yaml")
    assert doc.data == {"x": {"a": 1, "b": 3, "c": 4}}
    line, _, message = problem_of("x: {<<: {a: 1, a: 2}}\n")
    assert line == 3 and "duplicate key 'a'" in message


@pytest.mark.timeout(20)
def test_merges_of_merges_cost_what_they_hold() -> None:
    # Each level merges the previous one ten times: 10**8 pairs if expanded naively.
    text = "l0: &l0 {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9}\n"
    for level in range(1, 9):
        text += f"l{level}: &l{level} {{<<: [{', '.join([f'*l{level - 1}'] * 10)}]}}\n"
    doc = load_yaml_mapping(text, "svc.yaml")
    assert doc.data["l8"] == doc.data["l0"]


@pytest.mark.parametrize(
    ("key", "shown", "code"),
    [
        ("\\e[31mred", "\\x1b[31mred", "U+001B"),
        ("a\\tb", "a\\x09b", "U+0009"),
        ("a\\nb", "a\\x0ab", "U+000A"),
        ("a\\u202eb", "a\\u202eb", "U+202E"),
        ("a\\x9bb", "a\\x9bb", "U+009B"),
    ],
)
def test_control_characters_in_keys_are_refused_and_shown_escaped(
    key: str, shown: str, code: str
) -> None:
    line, column, message = problem_of(f'pipeline: {{"{key}": 1}}\n')
    assert (line, column) == (3, 12)
    assert message == f"key '{shown}' holds control character {code}; keys are plain names"
    assert all(ch.isprintable() for ch in message)


def test_visible_escapes_only_what_a_terminal_would_interpret() -> None:
    assert visible("caf\u00e9 \u65e5\u672c") == "caf\u00e9 \u65e5\u672c"
    assert visible("\x1b]0;title\x07") == "\\x1b]0;title\\x07"


def test_a_values_type_depends_on_how_it_is_written_not_on_what_was_read_before() -> None:
    # The parser's tag answers are cached across documents, keyed on everything they depend
    # on: the same characters quoted, plain, as a key or in a list type differently.
    text = "a: '123'\nb: 123\nc: [\"yes\", yes, 1.5, '1.5']\n'yes': ~\nno: [[]]\n"
    for _ in range(2):
        data = load_yaml_mapping((HEAD + text).encode(), "svc.yaml").data
        assert data["a"] == "123" and data["b"] == 123
        assert data["c"] == ["yes", True, 1.5, "1.5"]
        assert data["yes"] is None and data["no"] == [[]]


def test_the_tag_cache_stays_bounded_and_right(monkeypatch: pytest.MonkeyPatch) -> None:
    from jenkins_bridge.descriptor import yamlsource

    monkeypatch.setattr(yamlsource, "_RESOLVED", {})
    monkeypatch.setattr(yamlsource, "_RESOLVED_MAX", 8)
    for number in range(40):
        data = load_yaml_mapping(f"{HEAD}v: {number}\nw: '{number}'\n".encode(), "s.yaml").data
        assert data["v"] == number and data["w"] == str(number)
        assert len(yamlsource._RESOLVED) <= 8


def test_a_duplicate_key_names_where_it_was_first_defined() -> None:
    line, column, message = problem_of("metadata: {name: a, team: t,\n  name: b}\n")
    assert (line, column) == (4, 3)
    assert "duplicate key 'name' (first defined at line 3, column 12)" in message
