"""Hostile and broken descriptors: no traceback ever, every error located, no injected code.

Property-based (hypothesis) for the loader and the escapers, plus a seeded corpus of nasty
values rendered into Jenkinsfiles that real Groovy 2.4 parses in one JVM.
"""

from __future__ import annotations

import random
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import groovy_facts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.descriptor.loading import build_service
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from jenkins_bridge.render.job_config import render_job_config
from jenkins_bridge.render.quoting import groovy_string, shell_word

VALID = {
    "apiVersion": "jenkins-bridge/v1",
    "kind": "Service",
    "metadata": {"name": "svc", "team": "core"},
    "source": {"repo": "https://git.example.com/core/svc.git"},
}
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _load(path: Path) -> None:
    try:
        load_services([path])
    except InvalidDescriptors as exc:
        problems = exc.problems()
        assert problems
        for problem in problems:
            assert problem.file == str(path), problem
            assert problem.line is not None and problem.line >= 1, problem
            assert problem.column is not None and problem.column >= 1, problem


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_never_traceback(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "svc.yaml"
    path.write_bytes(data)
    _load(path)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@SETTINGS
@given(
    st.lists(st.sampled_from(["metadata", "source", "pipeline", "image", "runtime", "deploy",
                              "monitoring", "imagee", "pipeline.test", "runtime.healthcheck"]),
             min_size=1, max_size=3),
    st.lists(yaml_values, min_size=3, max_size=3),
)  # fmt: skip
def test_random_structures_never_traceback(
    tmp_path: Path, places: list[str], values: list[Any]
) -> None:
    data: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in VALID.items()}
    for place, value in zip(places, values, strict=False):
        head, _, tail = place.partition(".")
        if tail:
            section = data.setdefault(head, {})
            if isinstance(section, dict):
                section[tail] = value
        else:
            data[head] = value
    path = tmp_path / "svc.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _load(path)


@SETTINGS
@given(st.text(max_size=300))
def test_random_yaml_text_never_tracebacks(tmp_path: Path, text: str) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _load(path)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_groovy_literal_is_single_quoted_and_closed(value: str) -> None:
    literal = groovy_string(value)
    assert literal.startswith("'") and literal.endswith("'")
    body = literal[1:-1]
    # No unescaped quote can end the literal early, and no raw line break splits it.
    stripped = body.replace("\\\\", "")
    assert "'" not in stripped.replace("\\'", "")
    assert "\n" not in body and "\r" not in body


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=60))
def test_shell_word_reads_back_as_the_same_string(value: str) -> None:
    out = subprocess.run(
        ["sh", "-c", f"printf '%s' {shell_word(value)}"], capture_output=True, check=True
    ).stdout
    assert out.decode("utf-8", errors="surrogateescape") == value


xml_text = st.lists(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
        ),
        max_size=10,
    )
    | st.sampled_from(["\n", "\t", "]]>", "<", "&", '"', "'"]),
    max_size=8,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(xml_text, xml_text)
def test_config_xml_keeps_values_as_text(description: str, repo: str) -> None:
    data = {**VALID, "metadata": {"name": "svc", "team": "core", "description": description}}
    data["source"] = {"repo": repo or "x"}
    service = build_service(data, Path("svc.yaml"), "svc.yaml")
    root = ET.fromstring(render_job_config(service).split("\n", 1)[1])
    # The job holds its script: XML text that is exactly the Jenkinsfile, where the
    # repository is a single-quoted Groovy literal handed to the git step.
    script = root.findtext("definition/script") or ""
    assert script == render_jenkinsfile(service)
    assert f"git(url: {groovy_string(repo or 'x')}," in script
    if description.strip():
        assert (root.findtext("description") or "").startswith(description)


NASTY = [
    *("'", '"', '"""', "\\", "$", "${", "}", "\n", "\t", "]]>", "<", "&", "`", "$(id)"),
    *("evil()", "'; evil(); '", "\\'", "\u2028", "é", "😀", "/*", "*/", "//", "#", " "),
    # Groovy applies \uXXXX escapes before lexing, in strings too (U+FFFF reads as EOF).
    *("\\u0027); evil(); //", "\\u000a", "\\uu000a", "\\uZZ", "\\u", "\uffff", "\x00"),
]


@pytest.mark.groovy
def test_nasty_values_survive_as_string_constants_in_real_groovy(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    expected: dict[Path, list[str]] = {}
    for index in range(120):
        values = ["".join(rng.choice(NASTY) for _ in range(rng.randint(1, 8))) for _ in range(5)]
        data = {
            **VALID,
            "pipeline": {
                "agent": values[0],
                "parameters": [{"name": "P", "default": values[1], "description": values[2]}],
                "test": [{"name": values[3], "run": values[4]}],
            },
        }
        service = build_service(data, Path("svc.yaml"), "svc.yaml")
        path = tmp_path / f"f{index}.groovy"
        path.write_text(render_jenkinsfile(service), encoding="utf-8")
        expected[path] = values
    facts = groovy_facts(list(expected))
    for path, values in expected.items():
        entry = facts[str(path)]
        assert entry["ok"], (values, entry.get("error"))
        for value in values:
            assert value in entry["strings"], (value, path)
        assert "evil" not in entry["calls"] and "id" not in entry["calls"]


def _optional(section: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of a section's keys, each with one of its candidate values."""
    return st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in section.items()})


names = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z")
parameters = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"name": st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,8}\Z")},
            optional={
                "type": st.sampled_from(["string", "text"]),
                "default": st.text(max_size=5) | st.integers(),
                "description": st.text(max_size=5),
            },
        ),
        st.fixed_dictionaries(
            {"name": st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,8}\Z"), "type": st.just("boolean")},
            optional={"default": st.booleans()},
        ),
        st.fixed_dictionaries(
            {
                "name": st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,8}\Z"),
                "type": st.just("choice"),
                "choices": st.just(["a", "b"]),
            },
            optional={"default": st.sampled_from(["a", "b"])},
        ),
    ),
    max_size=3,
)
# Remote URLs git may be given, with any printable text in the path (it reaches config.xml).
repos = st.sampled_from(
    ["https://git.example.com/a/b.git", "ssh://git@git.example.com:22/a/b", "git@h:a/b.git"]
) | st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs")), max_size=20).map(
    "https://git.example.com/".__add__
)
descriptors = st.fixed_dictionaries(
    {
        "apiVersion": st.just("jenkins-bridge/v1"),
        "kind": st.just("Service"),
        "metadata": st.fixed_dictionaries(
            {"name": names, "team": names},
            optional={"description": st.text(max_size=20), "owners": st.lists(st.just("a@b.c"))},
        ),
        "source": st.fixed_dictionaries(
            {"repo": repos},
            optional={"branch": st.sampled_from(["main", "release/1.x"]), "credentialsId": names},
        ),
    },
    optional={
        "pipeline": st.fixed_dictionaries(
            {},
            optional={
                "jobType": st.sampled_from(["pipeline", "multibranch"]),
                "agent": st.sampled_from(["any", "linux", "x y"]),
                "parameters": parameters,
                "triggers": _optional({"poll": ["H/5 * * * *"], "cron": ["@daily"]}),
                "test": st.lists(
                    st.fixed_dictionaries({"name": names, "run": st.text(min_size=1)}),
                    max_size=2,
                    unique_by=lambda t: t["name"],
                ),
                "notify": _optional({"email": ["x@y.z"]}),
            },
        ),
        "runtime": _optional({"port": [1, 65535], "restart": ["no", "always"]}),
        "monitoring": _optional({"metricsPath": ["/m"]}),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(descriptors)
def test_any_valid_descriptor_loads_and_renders(tmp_path: Path, document: dict[str, Any]) -> None:
    """Whatever the schema admits either loads and renders, or is refused with located
    problems (rules across fields, like duplicate parameter names)."""
    path = tmp_path / "svc.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    try:
        (service,) = load_services([path])
    except InvalidDescriptors as exc:
        assert all(p.file == str(path) and p.line for p in exc.problems())
        return
    render_jenkinsfile(service)
    ET.fromstring(render_job_config(service).split("\n", 1)[1])
