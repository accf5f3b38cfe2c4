"""What a reviewer reads of an update: a config diff in sections a person can follow (pure).

A job's config.xml carries the whole pipeline script as escaped XML text, and the script carries
the resolved descriptor as a chain of Groovy literals wrapped at a fixed width. Diffed as one
text, a three-field change is thirty lines of ``&amp;&amp;`` and rewrapped JSON. Here each
layer is diffed as what it is: the XML around the script (text unescaped), the script as
script text, and the resolved descriptor one key per line.
"""

from __future__ import annotations

import difflib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Kinds of change, in the order the sections are shown; the summary counts updates by these.
SETTINGS = "job settings"
SCRIPT = "pipeline script"
DESCRIPTOR = "resolved descriptor"
KINDS = (SETTINGS, SCRIPT, DESCRIPTOR)

_SCRIPT_PATH = "definition/script"
_SCRIPT_PLACEHOLDER = "(the pipeline script: diffed below)"
_DESCRIPTOR_PLACEHOLDER = "    // resolvedDescriptor(): diffed key by key below"
# The methods render.jenkinsfile writes around the resolved descriptor's literals.
_DESCRIPTOR_METHODS = re.compile(
    r"^String resolvedDescriptor(?:Part\d+)?\(\) \{\n.*?^\}\n", re.MULTILINE | re.DOTALL
)
_GROOVY_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'", re.DOTALL)
_GROOVY_UNESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_UNICODE_ESCAPE = re.compile(r"\\u005cu([0-9a-fA-F]{4})")
# Every change changes the config's hash in the ownership line: news to no reviewer.
_OWNERSHIP_HASH = re.compile(r"(\[managed by jenkins-bridge\][^\n]*?sha256=)[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """The readable diff of one item's config, and which kinds of change it holds."""

    text: str
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Layers:
    settings: list[str]  # the XML, script replaced by a placeholder, one element a line
    script: list[str]  # the script, resolved descriptor methods replaced by a placeholder
    descriptor: list[str]  # ``key.path: value`` lines, or [] when the script carries none


def review_diff(full_name: str, before_xml: str, after_xml: str) -> ConfigChange:
    """Sections ``job settings``, ``pipeline script``, ``resolved descriptor``, each a unified
    diff (only those that differ). Both configs come normalised (``state.normalise_config``)."""
    before, after = _layers(before_xml), _layers(after_xml)
    sections: list[str] = []
    kinds: list[str] = []
    for kind, old, new in (
        (SETTINGS, before.settings, after.settings),
        (SCRIPT, before.script, after.script),
        (DESCRIPTOR, before.descriptor, after.descriptor),
    ):
        if old == new:
            continue
        kinds.append(kind)
        body = list(difflib.unified_diff(old, new, lineterm="", n=2))[2:]  # no ---/+++ pair
        sections.append(f"# {kind}\n" + "\n".join(body) + "\n")
    if not sections:
        return ConfigChange("", ())
    header = f"--- {full_name} (live)\n+++ {full_name} (descriptors)\n"
    return ConfigChange(header + "".join(sections), tuple(kinds))


def _layers(config_xml: str) -> _Layers:
    try:
        root = ET.fromstring(config_xml)
    except ET.ParseError:
        return _Layers(config_xml.splitlines(), [], [])
    script_element = root.find(_SCRIPT_PATH)
    script = ""
    if script_element is not None:
        script = script_element.text or ""
        script_element.text = _SCRIPT_PLACEHOLDER
    settings = list(_element_lines(root, 0))
    script_text, descriptor = split_descriptor(script)
    return _Layers(settings, script_text.splitlines(), descriptor)


def _element_lines(element: ET.Element, depth: int) -> Iterator[str]:
    """The element as indented lines with its text as text (no ``&amp;``): a reviewer reads
    values, not their XML escaping. Multi-line text keeps its own lines."""
    indent = "  " * depth
    attributes = "".join(f' {key}="{value}"' for key, value in element.attrib.items())
    open_tag = f"{indent}<{element.tag}{attributes}"
    text = _OWNERSHIP_HASH.sub(r"\1…", element.text or "")
    children = list(element)
    if children:
        text = text.strip()  # the indentation ET.indent put there
    if not children and not text:
        yield open_tag + " />"
        return
    if not children:
        lines = text.split("\n")
        if len(lines) == 1:
            yield f"{open_tag}>{text}</{element.tag}>"
            return
        yield f"{open_tag}>{lines[0]}"
        yield from lines[1:-1]
        yield f"{lines[-1]}</{element.tag}>"
        return
    yield open_tag + ">" + text
    for child in children:
        yield from _element_lines(child, depth + 1)
    yield f"{indent}</{element.tag}>"


def split_descriptor(script: str) -> tuple[str, list[str]]:
    """The script without the resolved descriptor's methods, and the descriptor as lines.

    A script that does not carry one the way render writes it is left whole (no lines)."""
    methods = list(_DESCRIPTOR_METHODS.finditer(script))
    if not methods:
        return script, []
    literals = "".join(
        _groovy_unquote(match.group(1))
        for method in methods
        for match in _GROOVY_LITERAL.finditer(method.group(0))
    )
    try:
        resolved = json.loads(literals)
    except ValueError:
        return script, []
    first, last = methods[0], methods[-1]
    body = (
        script[: first.start()]
        + f"String resolvedDescriptor() {{\n{_DESCRIPTOR_PLACEHOLDER}\n}}\n"
        + script[last.end() :]
    )
    return body, list(flatten(resolved))


def _groovy_unquote(body: str) -> str:
    """The value of a single-quoted literal as ``render.quoting.groovy_string`` writes it."""
    body = _UNICODE_ESCAPE.sub(lambda m: "\\u" + m.group(1), body)
    out: list[str] = []
    index = 0
    while index < len(body):
        ch = body[index]
        if ch == "\\" and index + 1 < len(body):
            nxt = body[index + 1]
            if nxt == "u" and index + 6 <= len(body):
                out.append(chr(int(body[index + 2 : index + 6], 16)))
                index += 6
                continue
            out.append(_GROOVY_UNESCAPES.get(nxt, nxt))
            index += 2
            continue
        out.append(ch)
        index += 1
    # Surrogate pairs (characters above U+FFFF) come as two \\u escapes.
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")


def flatten(value: Any, path: str = "") -> Iterator[str]:
    """``a.b[0].c: "x"``: one line per leaf, keys sorted, values as JSON."""
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from flatten(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from flatten(item, f"{path}[{index}]")
    else:
        yield f"{path or '.'}: {json.dumps(value, ensure_ascii=False)}"
