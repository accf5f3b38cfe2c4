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
    tag = _name(element.tag)
    parts.append("<" + tag)
    for key, value in element.attrib.items():
        if type(value) is not str:
            raise _Unusual
        parts.append(f' {_name(key)}="{_attribute(value)}"')
    text = element.text
    if text is not None and type(text) is not str:
        raise _Unusual
    if text or len(element):
        parts.append(">")
        if text:
            parts.append(_cdata(text))
        for child in element:
            _write(child, parts)
        parts.append("</" + tag + ">")
    else:
        parts.append(" />")
    tail = element.tail
    if tail:
        if type(tail) is not str:
            raise _Unusual
        parts.append(_cdata(tail))


def xml_text(root: ET.Element) -> str:
    """``ET.tostring(root, encoding="unicode")``, character for character."""
    parts: list[str] = []
    try:
        _write(root, parts)
    except _Unusual:
        return ET.tostring(root, encoding="unicode")
    return "".join(parts)
