"""Jenkins agent label expressions (``pipeline.agent``), checked by the grammar Jenkins uses.

Follows Jenkins core's ``LabelExpressionLexer.g4`` and ``LabelExpressionParser.g4``: atoms,
``"quoted atoms"``, ``!``, ``&&``, ``||``, ``->`` (not chained), ``<->`` and parentheses, with
``!`` binding tightest and ``<->`` loosest. An atom is any run of characters except
``& | ! < > ( ) " '``, space and tab; a ``-`` belongs to it unless ``>`` follows. Stricter
than Jenkins in one way: no control characters and no empty quoted atom, since no agent can
carry such a label (agents' labels are split on whitespace).
"""

from __future__ import annotations

from dataclasses import dataclass

_NOT_IN_ATOM = frozenset("&|!<>()\"' \t")
_OPERATORS = ("<->", "&&", "||", "->", "!")  # longest first: "<->" before "->"
_QUOTED_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'"}
_QUOTED_ESCAPES["\\"] = "\\"


class LabelExpressionError(ValueError):
    """An expression Jenkins would refuse; the message names the column (1-based)."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # atom | quoted | ( | ) | ! | && | || | -> | <-> | end
    text: str
    column: int  # 1-based


# Expressions found valid in this process: a fleet's descriptors repeat a few agent labels.
# Bounded; an expression Jenkins refuses is never remembered (it is checked, and refused, again).
_VALID: set[str] = set()
_VALID_MAX = 1024


def check_label_expression(expression: str) -> None:
    """Raise :class:`LabelExpressionError` unless Jenkins parses ``expression``."""
    if expression in _VALID:
        return
    _Parser(tokenize(expression)).expression()
    if len(_VALID) >= _VALID_MAX:
        _VALID.clear()
    _VALID.add(expression)


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(expression):
        ch = expression[index]
        column = index + 1
        if ch in " \t":
            index += 1
            continue
        if ch in "()":
            tokens.append(Token(ch, ch, column))
            index += 1
            continue
        operator = next((op for op in _OPERATORS if expression.startswith(op, index)), None)
        if operator is not None:
            tokens.append(Token(operator, operator, column))
            index += len(operator)
            continue
        if ch == '"':
            text, index = _quoted(expression, index)
            tokens.append(Token("quoted", text, column))
            continue
        if ch in _NOT_IN_ATOM:
            hint = " (labels are joined with && or ||)" if ch in "&|" else ""
            hint = " (a label with spaces is written in double quotes)" if ch == "'" else hint
            raise LabelExpressionError(f"column {column}: unexpected {ch!r}{hint}")
        start = index
        while index < len(expression) and _in_atom(expression, index):
            index += 1
        atom = expression[start:index]
        _printable(atom, column)
        tokens.append(Token("atom", atom, column))
    tokens.append(Token("end", "", len(expression) + 1))
    return tokens


def _in_atom(expression: str, index: int) -> bool:
    ch = expression[index]
    if ch == "-":
        return not expression.startswith("->", index)
    return ch not in _NOT_IN_ATOM


def _quoted(expression: str, start: int) -> tuple[str, int]:
    text: list[str] = []
    index = start + 1
    while index < len(expression):
        ch = expression[index]
        if ch == '"':
            if not text:
                raise LabelExpressionError(f"column {start + 1}: empty quoted label")
            value = "".join(text)
            _printable(value, start + 1)
            return value, index + 1
        if ch in "\r\n":
            break
        if ch == "\\":
            escaped = _QUOTED_ESCAPES.get(expression[index + 1 : index + 2])
            if escaped is None:
                raise LabelExpressionError(f"column {index + 1}: unknown escape in quoted label")
            text.append(escaped)
            index += 2
            continue
        text.append(ch)
        index += 1
    raise LabelExpressionError(f"column {start + 1}: quoted label is not closed")


def _printable(label: str, column: int) -> None:
    if not label.isprintable():
        raise LabelExpressionError(f"column {column}: a label cannot hold control characters")


# Binary operators, loosest first (Jenkins' grammar rules term1..term4): each is
# left-associative except '->', which takes one operand on each side.
_BINARY_LEVELS = ("<->", "->", "||", "&&")


class _Parser:
    """Recursive descent over the grammar's rules term1 (<->) .. term6 (atoms, parentheses)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0

    def _peek(self) -> Token:
        return self.tokens[self.position]

    def _take(self, kind: str) -> bool:
        if self._peek().kind == kind:
            self.position += 1
            return True
        return False

    def expression(self) -> None:
        self._level()
        token = self._peek()
        if token.kind != "end":
            hint = " (join labels with && or ||)" if token.kind in ("atom", "quoted") else ""
            raise LabelExpressionError(f"column {token.column}: unexpected {token.text!r}{hint}")

    def _level(self, level: int = 0) -> None:
        """One operator level of ``_BINARY_LEVELS`` and the tighter ones below it."""
        if level == len(_BINARY_LEVELS):
            self._not()
            return
        operator = _BINARY_LEVELS[level]
        self._level(level + 1)
        if operator != "->":
            while self._take(operator):
                self._level(level + 1)
        elif self._take("->"):
            self._level(level + 1)
            if self._peek().kind == "->":
                token = self._peek()
                raise LabelExpressionError(
                    f"column {token.column}: '->' cannot be chained; add parentheses"
                )

    def _not(self) -> None:
        self._take("!")
        self._primary()

    def _primary(self) -> None:
        token = self._peek()
        if self._take("atom") or self._take("quoted"):
            return
        if self._take("("):
            self._level()
            if not self._take(")"):
                closing = self._peek()
                raise LabelExpressionError(f"column {closing.column}: expected ')'")
            return
        found = "the end" if token.kind == "end" else repr(token.text)
        raise LabelExpressionError(f"column {token.column}: expected a label, found {found}")
