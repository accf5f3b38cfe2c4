"""Desired and live state of the managed item tree, and the ownership line that links them.

Every item jenkins-bridge creates ends its description with one line, written by the renderer
(``render.ownership``)::

    [managed by jenkins-bridge] sha256=<hex> item=<full name> repo=<repository> source=<origin>

``sha256`` is the hash of the item's config as rendered *without* that line and without
``plugin="..."`` attributes, so it depends only on the descriptor: one ``api/json`` listing of
names and descriptions says which items are ours and which are up to date, and a plugin upgrade
on the controller does not make every job look changed. Desired configs are posted exactly as
the renderer built them; this module only reads the line back from live descriptions.

``item`` and ``repo`` make the line unforgeable by copy: a job copied from a managed one
("Copy from") keeps the line, but it names the original item, so the copy is not managed;
and a job another descriptor repository wrote names that repository, so this one does not
touch it (``claim``). Lines without them were written by earlier versions (``legacy``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.provision.saved_form import undo_jenkins_saves
from jenkins_bridge.render.job_config import (
    OwnedConfig,
    SharedLibrary,
    render_owned_folder_config,
    render_owned_job_config,
)
from jenkins_bridge.render.ownership import MANAGED_MARKER, Ownership

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
PIPELINE_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
MULTIBRANCH_CLASS = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
GROUP_CLASSES = frozenset({FOLDER_CLASS, MULTIBRANCH_CLASS})

_OWNERSHIP = re.compile(
    re.escape(MANAGED_MARKER)
    + r"(?: sha256=(?P<sha>[0-9a-f]{64}))?"
    + r"(?: item=(?P<item>\S+) repo=(?P<repo>\S+))?"
    + r"(?: source=(?P<source>.*))?$"
)
# Team folders are shared by every descriptor file of a repository: their source is this.
TEAM_SOURCE_PREFIX = "team:"

Claim = Literal["ours", "foreign", "legacy", "unmanaged"]


@dataclass(frozen=True)
class Owner:
    """Who a run is: the identity of its descriptor repository and which descriptor files of
    that repository it read (origin prefixes ending in ``/``, or exact origins; ``""`` is all).

    A job written by this repository from a file this run did not read belongs to another
    folder of descriptors: this run neither prunes nor rewrites it.
    """

    repository: str
    scope: tuple[str, ...] = ("",)

    def covers(self, source: str | None) -> bool:
        if source is None:
            return False
        if source.startswith(TEAM_SOURCE_PREFIX):
            return True
        return any(
            source == prefix
            or ((prefix == "" or prefix.endswith("/")) and source.startswith(prefix))
            for prefix in self.scope
        )


UNNAMED_OWNER = Owner("local:unnamed")


@dataclass(frozen=True)
class Marker:
    """An ownership line as read from a live description."""

    sha256: str | None
    source: str | None
    item: str | None  # the full name it was written for; None: an earlier version wrote it
    repository: str | None

    @property
    def legacy(self) -> bool:
        return self.item is None

    def describe(self) -> str:
        """The other source, named for a user: repository and descriptor file."""
        if self.legacy:
            return f"an earlier jenkins-bridge version from {self.source}"
        return f"{self.repository} ({self.source})"


@dataclass(frozen=True)
class DesiredItem:
    full_name: str
    kind: str  # folder | pipeline | multibranch
    class_name: str
    config: OwnedConfig  # what is posted: the renderer's XML, ownership line included
    source: str

    @property
    def config_xml(self) -> str:
        return self.config.config_xml

    @property
    def sha256(self) -> str:
        return self.config.sha256

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
    def marker(self) -> Marker | None:
        """The description's last ownership line, if any (whoever wrote it)."""
        for line in reversed((self.description or "").splitlines()):
            match = _OWNERSHIP.match(line.strip())
            if match:
                item, repo = match.group("item"), match.group("repo")
                return Marker(
                    match.group("sha"),
                    match.group("source"),
                    unquote(item) if item is not None else None,
                    unquote(repo) if repo is not None else None,
                )
        return None

    @property
    def sha256(self) -> str | None:
        marker = self.marker
        return marker.sha256 if marker is not None else None

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


def claim(item: LiveItem, owner: Owner, wanted_source: str | None = None) -> Claim:
    """Whose ``item`` is, as seen by ``owner``.

    ``ours`` only when its ownership line names exactly this item and this repository, and a
    descriptor file this run read (or ``wanted_source``, the file that describes it now).
    ``foreign``: a line naming this item, written by another repository or another folder of
    descriptors. ``legacy``: a line without owner, from an earlier version. ``unmanaged``: no
    line, a bare marker text, or a line naming another item (a copy, or a renamed item).
    """
    marker = item.marker
    if marker is None or marker.source is None:
        return "unmanaged"
    if marker.legacy:
        return "legacy"
    assert marker.item is not None
    if marker.item.casefold() != item.full_name.casefold():
        return "unmanaged"
    if marker.repository != owner.repository:
        return "foreign"
    if owner.covers(marker.source) or marker.source == wanted_source:
        return "ours"
    return "foreign"


def build_desired(
    services: Iterable[Service],
    plugins: Mapping[str, str],
    owner: Owner = UNNAMED_OWNER,
    library: SharedLibrary | None = None,
) -> DesiredState:
    """Folders (one per team) and jobs, each with the config the renderer built for ``owner``
    (its ownership line included) (pure)."""
    state = DesiredState()
    teams: dict[str, None] = {}
    for service in services:
        teams.setdefault(service.metadata.team)
        job = render_owned_job_config(
            service, plugins, Ownership(service.full_name, owner.repository, service.origin)
        )
        multibranch = service.pipeline.job_type == "multibranch"
        state.items[service.full_name] = DesiredItem(
            full_name=service.full_name,
            kind="multibranch" if multibranch else "pipeline",
            class_name=MULTIBRANCH_CLASS if multibranch else PIPELINE_CLASS,
            config=job,
            source=service.origin,
        )
    for team in teams:
        source = TEAM_SOURCE_PREFIX + team
        folder = render_owned_folder_config(
            team, plugins, library, Ownership(team, owner.repository, source)
        )
        state.items[team] = DesiredItem(
            full_name=team,
            kind="folder",
            class_name=FOLDER_CLASS,
            config=folder,
            source=source,
        )
    return state


def parse_live(jobs: Sequence[Mapping[str, Any]]) -> LiveState:
    """The listed tree (``JenkinsClient.item_tree``) as a flat map of items at every depth:
    the children of any group (folders, multibranch projects) are listed too."""
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
        if isinstance(children, list):
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
