"""The emulator's item tree: folders and jobs kept the way Jenkins core and cloudbees-folder keep
them (case-insensitive names, per-folder scopes, config.xml as the source of truth)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Literal

ItemKind = Literal["folder", "job", "multibranch"]


class Failure(Exception):
    """A user error Jenkins reports as 400 with an `X-Error` header (hudson.model.Failure)."""


class ConfigError(Exception):
    """A config.xml Jenkins cannot load; surfaces as 500 (IOException via the oops page)."""


class HalfBuilt(Exception):
    """An object XStream loaded without running its constructor, used later: Jenkins answers
    the request that touches it with 500 (the uncaught exception's oops page)."""


DEFAULT_VIEW_HOLDER = "com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder"
MULTIBRANCH_VIEW_HOLDER = "jenkins.branch.MultiBranchProjectViewHolder"
_VIEWS_NPE = (
    'java.lang.NullPointerException: Cannot invoke "java.util.List.size()" because '
    'the return value of "com.cloudbees.hudson.plugins.folder.views.AbstractFolderViewHolder.'
    'getViews()" is null'
)
_OWNER_NPE = (
    'java.lang.NullPointerException: Cannot invoke "jenkins.branch.MultiBranchProject.'
    'hasVisibleItems()" because "this.owner" is null'
)
_TAB_BAR_NPE = (
    "java.lang.NullPointerException: Cannot invoke "
    '"hudson.views.ViewsTabBar.getDescriptor()" because the return value of '
    '"com.cloudbees.hudson.plugins.folder.views.AbstractFolderViewHolder.getTabBar()" is null'
)


def views_failure(config: ET.Element) -> str | None:
    """Why a folder's views cannot be listed, or None when they can.

    XStream runs no constructor: an empty ``DefaultFolderViewHolder`` keeps null ``views``
    (cloudbees-folder DefaultFolderViewHolder), and AbstractFolder.init only builds a holder
    when the field itself is null, so the broken one stays; ViewGroupMixIn.getViews then throws.
    ``MultiBranchProjectViewHolder.owner`` is final and set only by its constructor (branch-api),
    so a holder without ``<owner>`` throws from getViews/getPrimaryView. A missing
    ``<folderViews>`` is fine: init builds the default holder.
    """
    holder = config.find("folderViews")
    if holder is None:
        return None
    kind = holder.get("class")
    if kind == DEFAULT_VIEW_HOLDER:
        views = holder.find("views")
        return _VIEWS_NPE if views is None or len(views) == 0 else None
    if kind == MULTIBRANCH_VIEW_HOLDER:
        return _OWNER_NPE if holder.find("owner") is None else None
    return None


def page_failure(config: ET.Element) -> str | None:
    """Why the folder's page cannot render (its views, or a null tab bar, which
    MultiBranchProjectViewHolder alone rebuilds on demand)."""
    failure = views_failure(config)
    if failure is not None:
        return failure
    holder = config.find("folderViews")
    if (
        holder is not None
        and holder.get("class") == DEFAULT_VIEW_HOLDER
        and holder.find("tabBar") is None
    ):
        return _TAB_BAR_NPE
    return None


@dataclass(frozen=True)
class ItemType:
    """A TopLevelItemDescriptor: the XStream alias of its root element, its class, its plugin."""

    root_element: str
    class_name: str
    kind: ItemKind
    plugin: str | None

    @property
    def is_group(self) -> bool:
        return self.kind != "job"


FREESTYLE = ItemType("project", "hudson.model.FreeStyleProject", "job", None)
WORKFLOW_JOB = ItemType(
    "flow-definition", "org.jenkinsci.plugins.workflow.job.WorkflowJob", "job", "workflow-job"
)
FOLDER = ItemType(
    "com.cloudbees.hudson.plugins.folder.Folder",
    "com.cloudbees.hudson.plugins.folder.Folder",
    "folder",
    "cloudbees-folder",
)
MULTIBRANCH = ItemType(
    "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
    "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
    "multibranch",
    "workflow-multibranch",
)
ITEM_TYPES = (FREESTYLE, WORKFLOW_JOB, FOLDER, MULTIBRANCH)

# Characters Jenkins.checkGoodName rejects.
UNSAFE_CHARS = "?*/\\%!@#$^&|<>[]:;"


def name_key(name: str) -> str:
    """Folding that matches java.lang.String.CASE_INSENSITIVE_ORDER (per char upper, then lower)."""
    out = []
    for ch in name:
        up = ch.upper()
        out.append(up.lower() if len(up) == 1 else ch.lower())
    return "".join(out)


def _is_iso_control(ch: str) -> bool:
    code = ord(ch)
    return code <= 0x1F or 0x7F <= code <= 0x9F


def check_good_name(name: str) -> None:
    """mirrors jenkins.model.Jenkins.checkGoodName (messages: hudson/model/Messages.properties)."""
    if not name:
        raise Failure("No name is specified")
    if name.strip() in (".", ".."):
        raise Failure(f"“{name.strip()}” is not an allowed name")
    for ch in name:
        if _is_iso_control(ch):
            raise Failure(f"No control code is allowed: {_printable_name(name)}")
        if ch in UNSAFE_CHARS:
            raise Failure(f"‘{ch}’ is an unsafe character")
    # SECURITY-2424 (Jenkins.NAME_VALIDATION_REJECTS_TRAILING_DOT_PROP, on by default)
    if name.strip().endswith("."):
        raise Failure("A name cannot end with ‘.’")


def _printable_name(name: str) -> str:
    """mirrors Jenkins.toPrintableName: control chars become `\\u<decimal>;`."""
    return "".join(f"\\u{ord(c)};" if _is_iso_control(c) else c for c in name)


def java_trim(name: str) -> str:
    """String.trim() strips every char <= U+0020, not Unicode whitespace."""
    start, end = 0, len(name)
    while start < end and ord(name[start]) <= 0x20:
        start += 1
    while end > start and ord(name[end - 1]) <= 0x20:
        end -= 1
    return name[start:end]


def parse_config(body: bytes, installed: set[str]) -> tuple[ItemType, ET.Element]:
    """mirrors XMLUtils.safeTransform + Items.load: well-formed, no DTD, root element known to
    an installed plugin (XStream cannot resolve aliases of missing plugins)."""
    if b"<!DOCTYPE" in body:
        raise ConfigError("Failed to persist config.xml: DOCTYPE is disallowed")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise ConfigError(f"Failed to persist config.xml: {e}") from e
    for item_type in ITEM_TYPES:
        if root.tag == item_type.root_element and (
            item_type.plugin is None or item_type.plugin in installed
        ):
            return item_type, root
    raise ConfigError(f"Unable to read config.xml: no item type for element <{root.tag}>")


def blank_config(item_type: ItemType) -> ET.Element:
    """The config a form POST with `mode=<class>` produces (descriptor.newInstance + save)."""
    root = ET.Element(item_type.root_element)
    ET.SubElement(root, "actions")
    if item_type.kind == "job":
        ET.SubElement(root, "keepDependencies").text = "false"
        ET.SubElement(root, "properties")
        ET.SubElement(root, "disabled").text = "false"
    else:
        ET.SubElement(root, "properties")
        ET.SubElement(root, "healthMetrics")
    return root


class Item:
    """One item; groups (folders, multibranch) hold children keyed by `name_key`."""

    def __init__(
        self, name: str, parent: Item | None, item_type: ItemType, config: ET.Element
    ) -> None:
        self.name = name
        self.parent = parent
        self.type = item_type
        self.config = config
        self.children: dict[str, Item] = {}
        self.builds = 0  # completed builds (jobs only)

    @property
    def full_name(self) -> str:
        return self.name if self.parent is None else f"{self.parent.full_name}/{self.name}"

    @property
    def full_display_name(self) -> str:
        """mirrors AbstractItem.getFullDisplayName: names joined with ' » '."""
        own = self.name
        return own if self.parent is None else f"{self.parent.full_display_name} » {own}"

    @property
    def views_failure(self) -> str | None:
        return views_failure(self.config) if self.type.is_group else None

    @property
    def page_failure(self) -> str | None:
        return page_failure(self.config) if self.type.is_group else None

    def require_views(self) -> None:
        """Raise what Jenkins throws when this group's views are used half-built."""
        failure = self.views_failure
        if failure is not None:
            raise HalfBuilt(failure)

    @property
    def kind(self) -> ItemKind:
        return self.type.kind

    @property
    def disabled(self) -> bool:
        """mirrors WorkflowJob/AbstractProject.isDisabled: the persisted `disabled` field."""
        if self.type.kind != "job":
            return False
        el = self.config.find("disabled")
        return el is not None and (el.text or "").strip() == "true"

    def set_disabled(self, value: bool) -> None:
        el = self.config.find("disabled")
        if el is None:
            el = ET.SubElement(self.config, "disabled")
        el.text = "true" if value else "false"

    @property
    def description(self) -> str | None:
        """mirrors AbstractItem.getDescription: null when the element is absent."""
        el = self.config.find("description")
        return None if el is None else (el.text or "")

    def set_description(self, value: str) -> None:
        el = self.config.find("description")
        if el is None:
            el = ET.Element("description")
            self.config.insert(0, el)
        el.text = value

    def sorted_children(self) -> list[Item]:
        """mirrors AbstractFolder.items: a map in CASE_INSENSITIVE_ORDER."""
        return [self.children[k] for k in sorted(self.children)]

    def config_xml(self, plugin_versions: dict[str, str]) -> str:
        """mirrors XStream2.toXMLUTF8: XML 1.1 header, `plugin="name@version"` on the root."""
        root = self.config
        if self.type.plugin and self.type.plugin in plugin_versions:
            root.set("plugin", f"{self.type.plugin}@{plugin_versions[self.type.plugin]}")
        body = ET.tostring(root, encoding="unicode")
        return f'<?xml version="1.1" encoding="UTF-8"?>\n{body}'


@dataclass(frozen=True)
class ItemSnapshot:
    """Read-only view of an item for tests (`JenkinsEmulator.items`)."""

    full_name: str
    kind: ItemKind
    class_name: str
    config_xml: str
    disabled: bool
    description: str | None
