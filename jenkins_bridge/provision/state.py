"""Desired and live state of the managed item tree, and the ownership line that links them.

Every item jenkins-bridge creates ends its description with one line::

    [managed by jenkins-bridge] sha256=<hex> source=<origin>

``sha256`` is the hash of the item's config as rendered *without* that line and without
``plugin="..."`` attributes, so it depends only on the descriptor: one ``api/json`` listing of
names and descriptions says which items are ours and which are up to date, and a plugin upgrade
on the controller does not make every job look changed.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, unescape

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.provision.saved_form import undo_jenkins_saves
from jenkins_bridge.render.job_config import (
    MANAGED_MARKER,
    SharedLibrary,
    render_folder_config,
    render_job_config,
)

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
PIPELINE_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
MULTIBRANCH_CLASS = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
GROUP_CLASSES = frozenset({FOLDER_CLASS, MULTIBRANCH_CLASS})

_OWNERSHIP = re.compile(
    re.escape(MANAGED_MARKER) + r"(?: sha256=(?P<sha>[0-9a-f]{64}))?(?: source=(?P<source>.*))?$"
)
_PLUGIN_ATTRIBUTE = re.compile(r' plugin="[^"]*"')


@dataclass(frozen=True)
class DesiredItem:
    full_name: str
    kind: str  # folder | pipeline | multibranch
    class_name: str
    config_xml: str  # what is posted: carries the ownership line
    sha256: str
    source: str

    @property
    def parent(self) -> str | None:
        parent, _, _ = self.full_name.rpartition("/")
        return parent or None


@dataclass(frozen=True)
class LiveItem:
    full_name: str
    class_name: str
    description: str | None
    color: str | None

    @property
    def ownership(self) -> tuple[bool, str | None, str | None]:
        """(managed, sha256, source) read from the description's last marker line."""
        for line in reversed((self.description or "").splitlines()):
            match = _OWNERSHIP.match(line.strip())
            if match:
                return True, match.group("sha"), match.group("source")
        return False, None, None

    @property
    def managed(self) -> bool:
        return self.ownership[0]

    @property
    def sha256(self) -> str | None:
        return self.ownership[1]

    @property
    def disabled(self) -> bool:
        return self.color == "disabled"

    @property
    def is_group(self) -> bool:
        return self.class_name in GROUP_CLASSES


@dataclass
class DesiredState:
    items: dict[str, DesiredItem] = field(default_factory=dict)  # full name -> item

    @property
    def folders(self) -> list[DesiredItem]:
        return [i for i in self.items.values() if i.kind == "folder"]

    @property
    def teams(self) -> set[str]:
        return {i.full_name for i in self.folders}


@dataclass
class LiveState:
    items: dict[str, LiveItem] = field(default_factory=dict)  # case-folded full name -> item

    def get(self, full_name: str) -> LiveItem | None:
        return self.items.get(full_name.casefold())


def config_digest(config_xml: str) -> str:
    """sha256 of a rendered config without ``plugin="..."`` attributes."""
    return hashlib.sha256(_PLUGIN_ATTRIBUTE.sub("", config_xml).encode("utf-8")).hexdigest()


def ownership_line(sha256: str, source: str) -> str:
    return f"{MANAGED_MARKER} sha256={sha256} source={source}"


def stamp(config_xml: str, sha256: str, source: str) -> str:
    """Replace the renderer's marker line in the first ``<description>`` with the ownership
    line (or append it when the description has none)."""
    start_tag, end_tag = "<description>", "</description>"
    start = config_xml.find(start_tag)
    end = config_xml.find(end_tag, start)
    if start < 0 or end < 0:
        raise ValueError("rendered config has no <description>")
    text = unescape(config_xml[start + len(start_tag) : end])
    lines = [line for line in text.splitlines() if MANAGED_MARKER not in line]
    lines.append(ownership_line(sha256, source))
    return config_xml[: start + len(start_tag)] + escape("\n".join(lines)) + config_xml[end:]


def build_desired(
    services: Iterable[Service],
    plugins: Mapping[str, str],
    library: SharedLibrary | None = None,
) -> DesiredState:
    """Folders (one per team) and jobs, each with its stamped config (pure)."""
    state = DesiredState()
    teams: dict[str, None] = {}
    for service in services:
        teams.setdefault(service.metadata.team)
        rendered = render_job_config(service, plugins)
        digest = config_digest(rendered)
        multibranch = service.pipeline.job_type == "multibranch"
        state.items[service.full_name] = DesiredItem(
            full_name=service.full_name,
            kind="multibranch" if multibranch else "pipeline",
            class_name=MULTIBRANCH_CLASS if multibranch else PIPELINE_CLASS,
            config_xml=stamp(rendered, digest, service.origin),
            sha256=digest,
            source=service.origin,
        )
    for team in teams:
        rendered = render_folder_config(team, plugins, library)
        digest = config_digest(rendered)
        state.items[team] = DesiredItem(
            full_name=team,
            kind="folder",
            class_name=FOLDER_CLASS,
            config_xml=stamp(rendered, digest, f"team:{team}"),
            sha256=digest,
            source=f"team:{team}",
        )
    return state


def parse_live(jobs: Sequence[Mapping[str, Any]]) -> LiveState:
    """The ``api/json?tree=jobs[...,jobs[...]]`` answer as a flat map of items."""
    state = LiveState()
    stack: list[tuple[str, Mapping[str, Any]]] = [("", job) for job in jobs]
    while stack:
        prefix, job = stack.pop()
        name = str(job.get("name", ""))
        full_name = str(job.get("fullName") or (f"{prefix}/{name}" if prefix else name))
        description = job.get("description")
        color = job.get("color")
        item = LiveItem(
            full_name=full_name,
            class_name=str(job.get("_class", "")),
            description=description if isinstance(description, str) else None,
            color=color if isinstance(color, str) else None,
        )
        state.items[full_name.casefold()] = item
        children = job.get("jobs")
        if isinstance(children, list) and item.class_name == FOLDER_CLASS:
            stack.extend((full_name, child) for child in children if isinstance(child, Mapping))
    return state


def normalise_config(config_xml: str) -> str:
    """A comparable form of a config: no XML declaration, no ``plugin`` attributes, attributes
    sorted, whitespace-only text dropped, text stripped, indented two spaces, and what Jenkins
    adds or rewrites on its own saves undone (``saved_form``)."""
    body = config_xml.strip()
    if body.startswith("<?xml"):
        body = body[body.index("?>") + 2 :]
    root = ET.fromstring(body.strip())
    undo_jenkins_saves(root)
    for element in root.iter():
        element.attrib.pop("plugin", None)
        element.attrib = dict(sorted(element.attrib.items()))
        element.text = (element.text or "").strip() or None
        element.tail = None
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode", short_empty_elements=True) + "\n"
