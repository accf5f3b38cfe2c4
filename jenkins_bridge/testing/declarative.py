"""What a declarative pipeline's build does to its job's saved config.xml
(pipeline-model-definition ``Utils.updateJobProperties`` and ``updateRunAndJobActions``).

The emulator has no Groovy and no Jenkinsfile: it assumes the Jenkinsfile declares the
`options`/`parameters`/`triggers` the job's config carries (true of what jenkins-bridge
generates, the two come from one descriptor), re-creates them the way declarative binds them,
and applies them to the job exactly as the plugin does.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

TRACKER_ACTION = (
    "org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobPropertyTrackerAction"
)
JOB_ACTION = "org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobAction"
PARAMETERS = "hudson.model.ParametersDefinitionProperty"
TRIGGERS = "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"
_STRING_KINDS = ("hudson.model.StringParameterDefinition", "hudson.model.TextParameterDefinition")


def _xml(element: ET.Element) -> str:
    """A stand-in for Items.XSTREAM2.toXML (Utils.isObjectsEqualsXStream): exact text kept,
    so an empty description differs from an absent one, as "" differs from null."""
    clone = copy.deepcopy(element)
    for node in clone.iter():
        node.attrib.pop("plugin", None)
        node.tail = None
        if len(node) and not (node.text or "").strip():
            node.text = None
    return ET.tostring(clone, encoding="unicode")


def _bound_parameter(definition: ET.Element) -> ET.Element:
    """The definition as the `parameters` block binds it through its @DataBoundSetters:
    ParameterDefinition.setDescription and StringParameterDefinition.setDefaultValue apply
    Util.fixEmpty; ChoiceParameterDefinition.setChoices(List) stores an ArrayList."""
    bound = copy.deepcopy(definition)
    for tag in ("description", "defaultValue") if bound.tag in _STRING_KINDS else ("description",):
        child = bound.find(tag)
        if child is not None and not (child.text or ""):
            bound.remove(child)
    choices = bound.find("choices")
    if choices is not None and choices.get("class") is not None:
        _store_as_array_list(choices)
    return bound


def _store_as_array_list(holder: ET.Element) -> None:
    """``holder``'s strings as XStream writes the ``java.util.ArrayList`` that
    ChoiceParameterDefinition.setChoices(List) keeps: the field's declared type, so no class
    attribute (the saved ``Arrays$ArrayList``/``string-array`` form is gone), one <string> per
    choice in order."""
    choices = [s.text or "" for s in holder.iter("string")]
    tail = holder.tail
    holder.clear()  # attributes, text and children: nothing of the saved form survives
    holder.tail = tail
    holder.extend(_string(choice) for choice in choices)


def _string(text: str) -> ET.Element:
    element = ET.Element("string")
    element.text = text
    return element


def _set_of_strings(parent: ET.Element, tag: str, values: list[str]) -> None:
    """A java.util.HashSet<String> as XStream writes it: in the set's iteration order."""
    holder = ET.SubElement(parent, tag)
    for value in sorted(values, key=_hash_set_slot):
        ET.SubElement(holder, "string").text = value


def _java_string_hash(value: str) -> int:
    """java.lang.String.hashCode over UTF-16 code units, as an unsigned 32-bit value."""
    data = value.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def _hash_set_slot(value: str) -> int:
    """HashMap bucket of a small set (16 buckets): (h ^ h >>> 16) & 15; a stable sort keeps
    insertion order within a bucket, as the bucket's list does."""
    h = _java_string_hash(value)
    return (h ^ (h >> 16)) & 15


INLINE_DEFINITION = "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
# DeclarativeOptions (not job properties) the generated pipelines declare: the tracker action
# records their descriptor names (DeclarativeJobPropertyTrackerAction.options).
_DECLARATIVE_OPTIONS = ("skipDefaultCheckout",)


def declared_options(config: ET.Element) -> list[str]:
    """The DeclarativeOption names of a job whose script the emulator can read: a job holding
    its script inline (CpsFlowDefinition). A script read from SCM is not visible here."""
    definition = config.find("definition")
    if definition is None or definition.get("class") != INLINE_DEFINITION:
        return []
    script = definition.findtext("script") or ""
    return [name for name in _DECLARATIVE_OPTIONS if f"{name}()" in script]


def run_declarative_build(config: ET.Element, plugin_version: str | None) -> None:
    """Mutate a WorkflowJob config as the first build of its declarative pipeline saves it."""
    properties = config.find("properties")
    if properties is None:
        properties = ET.SubElement(config, "properties")
    declared = [copy.deepcopy(p) for p in properties]

    def find(tag: str) -> ET.Element | None:
        return next((p for p in properties if p.tag == tag), None)

    # parameters: isParametersListEquals compares descriptor ids, descriptions, then XStream
    existing_params = find(PARAMETERS)
    existing_defs = (
        [] if existing_params is None else list(existing_params.findall("parameterDefinitions/*"))
    )
    new_defs = [_bound_parameter(d) for d in existing_defs]
    if [_xml(d) for d in new_defs] != [_xml(d) for d in existing_defs]:
        # Job.removeProperty then addProperty: the property moves to the end of the list
        if existing_params is not None:
            properties.remove(existing_params)
        if new_defs:
            holder = ET.SubElement(properties, PARAMETERS)
            listed = ET.SubElement(holder, "parameterDefinitions")
            listed.extend(new_defs)
    # Triggers and the other properties (build discarder, concurrency) are declared equal to
    # what the job has, so getPropertiesToUpdate/isTriggersListEquals leave them in place.

    plugin = "pipeline-model-definition" + (f"@{plugin_version}" if plugin_version else "")
    actions = config.find("actions")
    if actions is None:
        actions = ET.Element("actions")
        config.insert(0, actions)
    if actions.find(JOB_ACTION) is None:  # Utils.updateRunAndJobActions
        ET.SubElement(actions, JOB_ACTION, plugin=plugin)
    tracker = ET.Element(TRACKER_ACTION, plugin=plugin)
    job_properties = [p.tag for p in declared if p.tag not in (PARAMETERS, TRIGGERS)]
    triggers = [t.tag for p in declared if p.tag == TRIGGERS for t in p.findall("triggers/*")]
    parameters = [
        n.text or ""
        for p in declared
        if p.tag == PARAMETERS
        for n in p.findall("parameterDefinitions/*/name")
    ]
    _set_of_strings(tracker, "jobProperties", job_properties)
    _set_of_strings(tracker, "triggers", triggers)
    _set_of_strings(tracker, "parameters", parameters)
    _set_of_strings(tracker, "options", declared_options(config))
    previous = actions.findall(TRACKER_ACTION)
    if [_xml(a) for a in previous] == [_xml(tracker)]:
        return  # the same sets as last time: the job is not saved again
    for old in previous:  # Actionable.replaceAction
        actions.remove(old)
    actions.append(tracker)
