"""ElementTree's own text for the trees render builds, written in one pass.

``ET.tostring`` first walks the whole tree for namespaces, then serialises it through a
generic writer: a fifth of rendering a config.xml. Ours has no namespaces, comments or
processing instructions, so a plain walk gives the same characters (the same escaping, the
attributes in the order they were set, ``<empty />``). Anything else (a namespaced or
non-string tag, a ``QName``, a value that is not text) goes to ``ET.tostring`` itself, which
serialises or refuses it as it always did.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET


class _Unusual(Exception):
    """A tree this writer does not cover: ElementTree writes it."""


def _cdata(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _attribute(text: str) -> str:
    text = _cdata(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#09;")
    return text


def _name(name: object) -> str:
    if type(name) is not str or "{" in name:
        raise _Unusual
    return name


def _write(element: ET.Element, parts: list[str]) -> None:
    # The hot loop of rendering a config.xml (~40 elements each): one call per element, the
    # common cases (no attributes, text without anything to escape) without further calls.
    tag = element.tag
    if type(tag) is not str or "{" in tag:
        raise _Unusual
    attrib = element.attrib
    head = "<" + tag
    if attrib:
        for key, value in attrib.items():
            if type(value) is not str:
                raise _Unusual
            head += f' {_name(key)}="{_attribute(value)}"'
    text = element.text
    if text is not None:
        if type(text) is not str:
            raise _Unusual
        if "&" in text or "<" in text or ">" in text:
            text = _cdata(text)
    if len(element):
        parts.append(head + ">" + text if text else head + ">")
        for child in element:
            _write(child, parts)
        parts.append("</" + tag + ">")
    elif text:
        parts.append(head + ">" + text + "</" + tag + ">")
    else:
        parts.append(head + " />")
    tail = element.tail
    if tail:
        if type(tail) is not str:
            raise _Unusual
        if "&" in tail or "<" in tail or ">" in tail:
            tail = _cdata(tail)
        parts.append(tail)


def _write_indented(element: ET.Element, parts: list[str], level: int, indents: list[str]) -> None:
    """``_write`` of an element with children, indenting as ``ET.indent`` does on the way:
    the same text and tails are set on the tree (and written), in the same order."""
    tag = element.tag
    if type(tag) is not str or "{" in tag:
        raise _Unusual
    head = "<" + tag
    for key, value in element.attrib.items():
        if type(value) is not str:
            raise _Unusual
        head += f' {_name(key)}="{_attribute(value)}"'
    if len(indents) <= level + 1:
        indents.append(indents[-1] + indents[1][1:])
    inner, outer = indents[level + 1], indents[level]
    text = element.text
    if text is not None and type(text) is not str:
        raise _Unusual
    if not text or not text.strip():
        element.text = text = inner
    elif "&" in text or "<" in text or ">" in text:
        text = _cdata(text)
    parts.append(head + ">" + text)
    last = len(element) - 1
    for index, child in enumerate(element):
        tail = child.tail
        if tail is not None and type(tail) is not str:
            raise _Unusual
        if not tail or not tail.strip():  # ET.indent's two rules for a child's tail
            child.tail = tail = inner if index < last else outer
        if len(child):
            _write_indented(child, parts, level + 1, indents)
            parts.append(_cdata(tail) if "&" in tail or "<" in tail or ">" in tail else tail)
        else:
            _write(child, parts)  # its tail too
    parts.append("</" + tag + ">")


def indented_xml_text(root: ET.Element, space: str = "  ") -> str:
    """``ET.indent(root, space=space)`` then ``xml_text(root)``, in one pass: the tree is left
    indented, exactly as ``ET.indent`` leaves it."""
    if not len(root):
        return xml_text(root)
    parts: list[str] = []
    tail = root.tail
    try:
        _write_indented(root, parts, 0, ["\n", "\n" + space])
    except _Unusual:
        ET.indent(root, space=space)
        return ET.tostring(root, encoding="unicode")
    if tail:
        if type(tail) is not str:
            return ET.tostring(root, encoding="unicode")  # refused as ElementTree refuses it
        parts.append(_cdata(tail))
    return "".join(parts)


def xml_text(root: ET.Element) -> str:
    """``ET.tostring(root, encoding="unicode")``, character for character."""
    parts: list[str] = []
    try:
        _write(root, parts)
    except _Unusual:
        return ET.tostring(root, encoding="unicode")
    return "".join(parts)
