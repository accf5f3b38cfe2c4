"""Secret values kept out of what a deploy reports: its errors, the JSON envelope (which
``bridgeDeploy`` archives, where Jenkins' console masking does not apply) and history.

A failing hook or companion may print the secret it was given; its output is shown only
masked, bounded and labelled as what it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.errors import BridgeError

MASK = "****"
OUTPUT_LINES = 10
OUTPUT_CHARS = 1000


def secret_values(service: Service, environ: Mapping[str, str]) -> list[str]:
    """The values of every secret the service and its companions declare, where bound."""
    names = [s.env for s in service.runtime.secrets]
    names += [s.env for c in service.runtime.companions for s in c.secrets]
    return [environ[n] for n in names if environ.get(n)]


class Redactor:
    """Replaces each known secret value in a text by ``****``."""

    def __init__(self, values: Iterable[str]) -> None:
        # Longest first: a value that contains another is masked whole.
        self._values = sorted({v for v in values if v}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text

    def output(self, what: str, text: str) -> str:
        """The last lines a process printed, masked, cut to a bound and labelled."""
        lines = text.strip().splitlines()[-OUTPUT_LINES:]
        if not lines:
            return f"{what}: it printed nothing"
        shown = self(" | ".join(lines))  # masked before cutting: a cut must not split a value
        if len(shown) > OUTPUT_CHARS:
            shown = "..." + shown[-OUTPUT_CHARS:]
        return f"{what} (last {len(lines)} lines, secret values masked): {shown}"

    def error(self, exc: BridgeError) -> None:
        """Mask ``exc``'s message and hint in place (the one boundary a deploy's errors pass)."""
        exc.message = self(exc.message)
        if exc.hint is not None:
            exc.hint = self(exc.hint)
