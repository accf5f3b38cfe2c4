"""User-facing error types: every failure a user can cause or fix is one of these.

They carry evidence (where, what, what to do next) and are caught once, at the CLI boundary,
where they become a one-line message (or a JSON error object) and an exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_ROLLED_BACK = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem: ``file:line:column: message`` (line and column are 1-based)."""

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def location(self) -> str:
        parts = [p for p in (self.file, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def as_json(self) -> dict[str, object]:
        """Every field, by name: the JSON envelope's problem object."""
        return asdict(self)


class BridgeError(Exception):
    """Base of every error a user can act on. ``hint`` says what to do next."""

    code = "error"
    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def problems(self) -> list[Problem]:
        text = f"{self.message} ({self.hint})" if self.hint else self.message
        return [Problem(self.code, text)]


class InvalidDescriptors(BridgeError):
    """One or more descriptors failed to load or validate; carries every problem found."""

    code = "invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self._problems = sorted(
            problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.message)
        )
        count = len(self._problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found")

    def problems(self) -> list[Problem]:
        return list(self._problems)


class UsageError(BridgeError):
    """The command line itself is wrong (missing path, bad option value, ...)."""

    code = "usage"


class Interrupted(BridgeError):
    """Ctrl-C stopped ``command``; ``data`` says what it had done by then."""

    code = "interrupted"
    exit_code = EXIT_INTERRUPTED

    def __init__(self, command: str, data: dict[str, object] | None = None) -> None:
        super().__init__(
            f"{command} interrupted",
            hint="what was done before the interrupt is listed; run it again to finish",
        )
        self.command = command
        self.data: dict[str, object] = dict(data or {})
