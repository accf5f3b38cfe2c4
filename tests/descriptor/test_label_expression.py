"""The agent label check follows Jenkins' LabelExpressionLexer/Parser grammar."""

from __future__ import annotations

import pytest

from jenkins_bridge.descriptor.label_expression import (
    LabelExpressionError,
    check_label_expression,
)

VALID = [
    "linux",
    "linux && docker",
    "linux&&docker",
    "linux || windows",
    "!windows",
    "linux && !arm",
    "(linux || mac) && docker",
    "a -> b",
    "a->b",  # '-' before '>' is the operator, not part of the atom
    "a <-> b <-> c",
    "linux-docker",
    "x86_64.large",
    "-x-",
    "docker-",
    "os:linux/arch=amd64",
    "日本",
    '"my label"',
    '"a\\"b" && c',
    "!(a || b)",
    "((a))",
]
# Each expression Jenkins refuses, and what the refusal says (a key may be listed only once).
INVALID = {
    "linux docker": "column 7: unexpected 'docker' (join labels with && or ||)",
    "linux & docker": "column 7: unexpected '&'",
    "linux | docker": "column 7: unexpected '|'",
    "'linux'": 'column 1: unexpected "\'" (a label with spaces is written in double quotes)',
    '"linux': "column 1: quoted label is not closed",
    '""': "column 1: empty quoted label",
    '"a\\qb"': "unknown escape",
    "a -> b -> c": "cannot be chained",
    "!!a": "column 2: expected a label, found '!'",
    "a &&": "column 5: expected a label, found the end",
    "&& a": "column 1: expected a label, found '&&'",
    "(a || b": "column 8: expected ')'",
    "a)": "column 2: unexpected ')'",
    "()": "column 2: expected a label, found ')'",
    "a < b": "column 3: unexpected '<'",
    "a > b": "column 3: unexpected '>'",
    "a <- b": "unexpected '<'",
    "lin\nux": "control characters",
    "   ": "expected a label, found the end",
}


@pytest.mark.parametrize("expression", VALID)
def test_jenkins_accepts(expression: str) -> None:
    check_label_expression(expression)


@pytest.mark.parametrize(("expression", "message"), INVALID.items())
def test_jenkins_refuses(expression: str, message: str) -> None:
    with pytest.raises(LabelExpressionError) as caught:
        check_label_expression(expression)
    assert message in str(caught.value)


def test_a_valid_expression_is_checked_once_a_refused_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jenkins_bridge.descriptor import label_expression

    monkeypatch.setattr(label_expression, "_VALID", set())
    checked: list[str] = []
    real = label_expression.tokenize

    def counting(expression: str) -> list[label_expression.Token]:
        checked.append(expression)
        return real(expression)

    monkeypatch.setattr(label_expression, "tokenize", counting)
    for _ in range(3):
        check_label_expression("linux && docker")
        with pytest.raises(LabelExpressionError):
            check_label_expression("linux &&")
    assert checked == ["linux && docker"] + ["linux &&"] * 3


def test_the_valid_expressions_remembered_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from jenkins_bridge.descriptor import label_expression

    monkeypatch.setattr(label_expression, "_VALID", set())
    monkeypatch.setattr(label_expression, "_VALID_MAX", 4)
    for index in range(20):
        check_label_expression(f"linux-{index}")
        assert len(label_expression._VALID) <= 4
    with pytest.raises(LabelExpressionError):
        check_label_expression("linux &&")
