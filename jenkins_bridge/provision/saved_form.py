"""What Jenkins itself adds to or rewrites in an item's config.xml, undone so that ``plan
--verify`` reports only real edits (made in the UI or by a script), never Jenkins' own saves.

Each rule names the code that causes it. Anything not listed here stays significant: a changed
description, parameter, default, trigger spec, script path or repository is drift.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

# Job actions pipeline-model-definition saves on a declarative build (Utils.updateJobProperties
# replaceAction, Utils.updateRunAndJobActions addAction): bookkeeping, never configuration.
JENKINS_ACTIONS = frozenset(
    {
        "org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobPropertyTrackerAction",
        "org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobAction",
    }
)
GROUP_ROOTS = frozenset(
    {
        "com.cloudbees.hudson.plugins.folder.Folder",
        "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject",
    }
)
DEFAULT_VIEW_HOLDER = "com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder"
_STRING_PARAMETERS = frozenset(
    {"hudson.model.StringParameterDefinition", "hudson.model.TextParameterDefinition"}
)


def undo_jenkins_saves(root: ET.Element) -> None:
    """Rewrite ``root`` (a parsed config) in place into the form both sides are compared in."""
    actions = root.find("actions")
    if actions is not None:
        for action in [a for a in actions if a.tag in JENKINS_ACTIONS]:
            actions.remove(action)
    properties = root.find("properties")
    if properties is not None and root.tag not in GROUP_ROOTS:
        # Job.properties is a list Jenkins treats as a set: declarative's removeProperty +
        # addProperty moves a rebound property to the end, which changes nothing.
        properties[:] = sorted(properties, key=lambda p: p.tag)
    for definitions in root.iterfind("properties/*/parameterDefinitions"):
        for definition in definitions:
            _rebind_parameter(definition)
    if root.tag in GROUP_ROOTS:
        _drop_folder_defaults(root)


def _rebind_parameter(definition: ET.Element) -> None:
    """A parameter as the declarative ``parameters`` block binds it: ParameterDefinition.
    setDescription and StringParameterDefinition.setDefaultValue turn "" into null (Util.
    fixEmpty), ChoiceParameterDefinition.setChoices(List) stores a plain ArrayList."""
    empty_able = ["description"]
    if definition.tag in _STRING_PARAMETERS:
        empty_able.append("defaultValue")
    for tag in empty_able:
        child = definition.find(tag)
        if child is not None and not (child.text or "").strip():
            definition.remove(child)
    choices = definition.find("choices")
    if choices is not None and choices.get("class") is not None:
        values = [s.text or "" for s in choices.iter("string")]
        choices.attrib.clear()
        choices[:] = []
        for value in values:
            ET.SubElement(choices, "string").text = value


def _drop_folder_defaults(root: ET.Element) -> None:
    """Elements AbstractFolder.init builds when they are absent and Jenkins then saves:
    the health metrics (from the controller's folder configuration), and a complete default
    view holder. An *empty* holder stays: it is the half-built object that breaks the folder,
    and it must show as a change so that ``apply`` replaces it."""
    for metrics in root.findall("healthMetrics"):
        root.remove(metrics)
    for holder in root.findall("folderViews"):
        views = holder.find("views")
        if holder.get("class") == DEFAULT_VIEW_HOLDER and views is not None and len(views) > 0:
            root.remove(holder)
