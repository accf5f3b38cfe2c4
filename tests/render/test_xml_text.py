"""Our one-pass XML writer gives ElementTree's own text, character for character."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jenkins_bridge.render.xml_text import indented_xml_text, xml_text

# Names ElementTree writes as they are (it does not check XML's name rules either).
_NAMES = st.text(alphabet="abcXYZ-_.:0", min_size=1, max_size=6)
# Text with everything either writer escapes, line ends, and characters beyond ASCII.
_TEXT = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list("a &<>\"'\r\n\t;#é€\U0001f600")), max_size=12),
    st.text(max_size=8),
)


@st.composite
def _trees(draw: Any, depth: int = 0) -> ET.Element:
    element = ET.Element(draw(_NAMES))
    for key in draw(st.lists(_NAMES, max_size=3, unique=True)):
        element.set(key, draw(st.text(max_size=8)) or draw(_TEXT) or "")
    element.text = draw(_TEXT)
    element.tail = draw(_TEXT)
    if depth < 3:
        for child in draw(st.lists(_trees(depth + 1), max_size=3)):
            element.append(child)
    return element


@settings(max_examples=300, deadline=None)
@given(_trees())
def test_the_text_is_elementtrees(root: ET.Element) -> None:
    assert xml_text(root) == ET.tostring(root, encoding="unicode")
    ET.indent(root, space="  ")
    assert xml_text(root) == ET.tostring(root, encoding="unicode")


def _with(change: str) -> ET.Element:
    root = ET.Element("root", a="1")
    child = ET.SubElement(root, "child")
    if change == "namespace":
        ET.SubElement(root, "{urn:x}named")
    elif change == "comment":
        root.append(ET.Comment("note"))
    elif change == "qname":
        child.set(ET.QName("urn:x", "key"), "v")  # type: ignore[arg-type]
    return root


@pytest.mark.parametrize("change", ["namespace", "comment", "qname"])
def test_trees_it_does_not_cover_are_written_by_elementtree(change: str) -> None:
    root = _with(change)
    assert xml_text(root) == ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize("where", ["text", "attribute"])
def test_a_value_that_is_not_text_is_refused_as_elementtree_refuses_it(where: str) -> None:
    root = ET.Element("root")
    if where == "text":
        root.text = 3  # type: ignore[assignment]
    else:
        root.set("port", 8080)  # type: ignore[arg-type]
    with pytest.raises(TypeError) as ours:
        xml_text(root)
    with pytest.raises(TypeError) as theirs:
        ET.tostring(root, encoding="unicode")
    assert str(ours.value) == str(theirs.value)


@settings(max_examples=300, deadline=None)
@given(_trees(), st.sampled_from(["  ", "", "\t"]))
def test_indented_text_is_elementtrees_indent_then_text(root: ET.Element, space: str) -> None:
    theirs = copy.deepcopy(root)
    ET.indent(theirs, space=space)
    assert indented_xml_text(root, space=space) == ET.tostring(theirs, encoding="unicode")
    # and the tree is left as ET.indent leaves it: written again, the same text
    assert ET.tostring(root, encoding="unicode") == ET.tostring(theirs, encoding="unicode")


@pytest.mark.parametrize("change", ["namespace", "comment", "qname"])
def test_indented_trees_it_does_not_cover_are_indented_and_written_by_elementtree(
    change: str,
) -> None:
    root, theirs = _with(change), _with(change)
    ET.indent(theirs, space="  ")
    assert indented_xml_text(root) == ET.tostring(theirs, encoding="unicode")
