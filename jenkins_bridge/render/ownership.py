"""The ownership line a managed item's description ends with, and the digest it carries.

Every item jenkins-bridge creates ends its description with one line::

    [managed by jenkins-bridge] sha256=<hex> item=<full name> repo=<repository> source=<origin>

``sha256`` is ``config_digest`` of the config as ``render`` writes it to disk (the human
marker line in place of this one), so it depends only on the descriptor. The renderer writes
the line (``render_owned_job_config``/``render_owned_folder_config``); provisioning reads it
back from live descriptions (``provision.state.LiveItem.marker``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote

MANAGED_MARKER = "[managed by jenkins-bridge]"
_PLUGIN_ATTRIBUTE = re.compile(r' plugin="[^"]*"')


@dataclass(frozen=True)
class Ownership:
    """Who an item is rendered for: its full name, the descriptor repository's identity and
    the descriptor file (or ``team:<name>`` for a team folder) it comes from."""

    item: str
    repository: str
    source: str

    def line(self, sha256: str) -> str:
        return ownership_line(sha256, self.source, self.item, self.repository)


def config_digest(config_xml: str) -> str:
    """sha256 of a rendered config without ``plugin="..."`` attributes, so a plugin upgrade on
    the controller does not make every item look changed."""
    return hashlib.sha256(_PLUGIN_ATTRIBUTE.sub("", config_xml).encode("utf-8")).hexdigest()


def _quoted(value: str) -> str:
    return quote(value, safe="/:@+~,=")


def ownership_line(sha256: str, source: str, item: str, repository: str) -> str:
    return (
        f"{MANAGED_MARKER} sha256={sha256} item={_quoted(item)} repo={_quoted(repository)} "
        f"source={source}"
    )


def owned_description(rendered: str, line: str) -> str:
    """The description as posted: the rendered one without the lines that carry the marker
    text (the human marker line, and any a descriptor value holds), then ``line``."""
    kept = [text for text in rendered.splitlines() if MANAGED_MARKER not in text]
    return "\n".join([*kept, line])
