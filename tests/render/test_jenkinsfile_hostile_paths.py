"""Hostile descriptor file names and paths: whatever the path, the Jenkinsfile adds no code.

Groovy turns ``\\uXXXX`` escapes into characters before it lexes, inside comments too, so a
file named ``a\\u000aevil().yaml`` would end the header comment and run ``evil()``. Every file
here is parsed by real Groovy 2.4 in one JVM; the AST must hold no call the template does not
make itself.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from conftest import groovy_facts
from test_groovy_parse import ALLOWED_CALLS, ALLOWED_GSTRINGS

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from jenkins_bridge.render.quoting import groovy_comment, groovy_string

B = "\\"
# Pieces of file names, each hostile to a different stage: Groovy's \u preprocessing (with
# extra u's, an escaped backslash, a broken escape), comment and string delimiters, line
# breaks, interpolation, quotes, non-ASCII and the U+FFFF sentinel that ANTLR 2 reads as EOF.
PIECES = [
    # Parses: the comment ends, evil() runs, and "//" (\u002f\u002f) comments out the rest.
    B + "u000aevil()" + B + "u000a" + B + "u002f" + B + "u002f",
    B + "u000aevil()",
    B + "u000devil()",
    B + "uu000a evil()",
    B + "uuuu000Aevil()",
    B + B + "u000aevil()",
    B + B + B + "u000aevil()",
    B + "u2028evil()",
    B + "u0027); evil(); //",
    B + "u005cu000aevil()",
    B + "uZZZZ",
    B + "u",
    B,
    "\nevil()\n",
    "\revil()",
    "\u2028evil()",
    "\u0085evil()",
    "\uffff",
    "*/ evil() /*",
    "/* x",
    "${evil()}",
    "$evil",
    "'",
    '"',
    "'''",
    "é",
    "😀",
    "ß日本",
    "%5C",
    "#",
    " ",
]


def _descriptor(name: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "jenkins-bridge/v1",
            "kind": "Service",
            "metadata": {"name": "svc", "team": "core"},
            "source": {"repo": "https://git.example.com/core/svc.git"},
            "image": {"repository": "registry.example.com/core/svc"},
            "deploy": [{"environment": "prod", "approval": {"submitter": "leads"}}],
        }
    ).replace("name: svc", f"name: {name}")


def _hostile_names() -> list[str]:
    rng = random.Random(20261130)
    names = list(PIECES)
    names += ["".join(rng.choice(PIECES) for _ in range(rng.randint(2, 5))) for _ in range(40)]
    names.append("x" * 200 + B + "u000aevil()")  # very long, with the escape near the limit
    return names


@pytest.mark.groovy
def test_hostile_file_names_and_paths_add_no_code(tmp_path: Path) -> None:
    rendered: dict[Path, str] = {}
    for index, piece in enumerate(_hostile_names()):
        # The hostile text both in a directory name and in the file name.
        root = tmp_path / "in" / str(index)
        folder = root / f"d{piece.replace('/', '_')}"[:200]
        folder.mkdir(parents=True)
        descriptor = folder / f"s{piece.replace('/', '_')}.yaml"[:250]
        descriptor.write_text(_descriptor(f"s{index}"), encoding="utf-8")
        (service,) = load_services([root])
        assert service.origin == f"{folder.name}/{descriptor.name}"
        target = tmp_path / f"J{index}.groovy"
        target.write_text(render_jenkinsfile(service), encoding="utf-8")
        rendered[target] = service.origin
    facts = groovy_facts(list(rendered))
    for path, origin in rendered.items():
        entry = facts[str(path)]
        assert entry["ok"], (origin, entry.get("error"))
        assert set(entry["calls"]) <= ALLOWED_CALLS, (origin, set(entry["calls"]) - ALLOWED_CALLS)
        assert set(entry["gstrings"]) <= ALLOWED_GSTRINGS, (origin, entry["gstrings"])


@pytest.mark.parametrize("value", _hostile_names())
def test_comment_text_has_no_backslash_or_line_break(value: str) -> None:
    text = groovy_comment(value)
    assert B not in text
    assert text.isprintable(), repr(text)
    assert "\uffff" not in text


def test_comment_text_keeps_names_readable_and_distinct() -> None:
    assert groovy_comment("payments/api.yaml") == "payments/api.yaml"
    assert groovy_comment("é/😀.yaml") == "é/😀.yaml"
    assert groovy_comment(B + "u000a") != groovy_comment("%5Cu000a")


@pytest.mark.groovy
def test_string_literals_survive_unicode_preprocessing(tmp_path: Path) -> None:
    values = [*_hostile_names(), "\ud800", "a\udc00b", "\ufffe", "\x00", "\x1b[0m"]
    script = tmp_path / "strings.groovy"
    script.write_text(
        "".join(f"x({groovy_string(v)})\n" for v in values),
        encoding="utf-8",
        errors="surrogatepass",
    )
    entry = groovy_facts([script])[str(script)]
    assert entry["ok"], entry.get("error")
    assert "evil" not in entry["calls"]
    for value in values:
        assert value in entry["strings"], repr(value)
