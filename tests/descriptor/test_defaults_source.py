"""Defaults live in one place, the schema: the model has none, and every one reaches it."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jenkins_bridge.descriptor import model
from jenkins_bridge.descriptor.loading import build_service
from jenkins_bridge.descriptor.schema import DEFAULT_LIBRARY, SCHEMA, with_defaults

# A descriptor that sets every mapping and list item the schema gives no default of its own
# (image, a deploy stage with an approval, a parameter, a companion with a healthcheck and a
# volume) and
# nothing else.
SPARSE: dict[str, Any] = {
    "apiVersion": "jenkins-bridge/v1",
    "kind": "Service",
    "metadata": {"name": "web", "team": "shop"},
    "source": {"repo": "https://git.example.com/shop/web.git"},
    "pipeline": {"parameters": [{"name": "FLAVOUR"}]},
    "image": {"repository": "registry.example.com/shop/web"},
    "runtime": {
        "companions": [
            {
                "name": "db",
                "image": "postgres",
                "healthcheck": {},
                "volume": {"name": "db-data", "path": "/data"},
            }
        ]
    },
    "deploy": [{"environment": "dev", "approval": {}}],
}

# Where the model keeps a key under another name than its snake_case spelling.
RENAMED = {("monitoring", "alerts", "notify"): ("monitoring", "alerts_notify")}


def _model_classes() -> list[type]:
    return [v for v in vars(model).values() if dataclasses.is_dataclass(v) and isinstance(v, type)]


def test_the_model_declares_no_defaults_of_its_own() -> None:
    with_default = [
        f"{cls.__name__}.{f.name}"
        for cls in _model_classes()
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    ]
    assert with_default == [], "defaults belong in descriptor/schema.py"


def _schema_defaults(node: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    for key, child in node.get("properties", {}).items():
        here = (*path, key)
        if "default" in child and child["default"] not in ({}, []):  # not empty containers
            yield here, child["default"]
        if "properties" in child:
            yield from _schema_defaults(child, here)
        if isinstance(child.get("items"), dict):
            yield from _schema_defaults(child["items"], here)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _model_value(service: model.Service, path: tuple[str, ...]) -> Any:
    node: Any = service
    for part in RENAMED.get(path, path):
        node = getattr(node, _snake(part))
        if isinstance(node, tuple) and node and dataclasses.is_dataclass(node[0]):
            node = node[0]  # the one item of SPARSE's lists
    return node


def test_every_schema_default_reaches_the_model() -> None:
    service = build_service(SPARSE, Path("web.yaml"), "web.yaml")
    defaults = list(_schema_defaults(SCHEMA, ()))
    assert len(defaults) > 20
    for path, default in defaults:
        value = _model_value(service, path)
        if isinstance(value, tuple) and isinstance(default, list):  # the model's lists are tuples
            value = list(value)
        assert value == default, f"{'.'.join(path)}: model has {value!r}, schema {default!r}"
    assert service.pipeline.library == DEFAULT_LIBRARY


def test_with_defaults_fills_absent_sections_but_not_optional_ones() -> None:
    full = with_defaults(SPARSE)
    assert full["runtime"]["healthcheck"]["path"] == "/healthz"  # runtime.healthcheck was absent
    assert full["deploy"][0]["approval"]["timeoutMinutes"] == 1440
    assert "listen" not in full["deploy"][0] and "cpus" not in full["runtime"]["resources"]
    assert "healthcheck" not in SPARSE["runtime"]  # the data given is left alone
    assert "image" not in with_defaults({k: v for k, v in SPARSE.items() if k != "image"})


def test_the_digest_is_of_the_descriptor_as_written_not_its_defaults() -> None:
    written = build_service(SPARSE, Path("web.yaml"), "web.yaml")
    spelled_out = build_service(with_defaults(SPARSE), Path("web.yaml"), "web.yaml")
    assert written.runtime == spelled_out.runtime
    assert written.digest != spelled_out.digest


def test_filled_defaults_are_copies_never_the_schema_itself() -> None:
    full = with_defaults(SPARSE)
    full["runtime"]["env"]["LEAK"] = "1"
    full["pipeline"]["test"].append({"name": "leak", "run": "true"})
    again = with_defaults(SPARSE)
    assert again["runtime"]["env"] == {} and again["pipeline"]["test"] == []
    assert SCHEMA["properties"]["runtime"]["properties"]["env"]["default"] == {}


def _reference_filled(value: Any, node: dict[str, Any]) -> Any:
    """Filling defaults spelled out, schema node by schema node, with no plan or shortcut."""
    if isinstance(value, list):
        items = node.get("items")
        return [_reference_filled(v, items) for v in value] if isinstance(items, dict) else value
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key, child in (node.get("properties") or {}).items():
        if key in out:
            out[key] = _reference_filled(out[key], child)
        elif "default" in child:
            out[key] = _reference_filled(copy.deepcopy(child["default"]), child)
    return out


def _examples() -> list[dict[str, Any]]:
    found = [SPARSE, {k: v for k, v in SPARSE.items() if k not in ("runtime", "deploy")}]
    for path in sorted(Path(__file__).parents[2].joinpath("examples").rglob("*.yaml")):
        if not path.name.startswith("_"):
            found.append(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("data", _examples(), ids=lambda d: d["metadata"]["name"])
def test_filled_defaults_are_the_schemas_spelled_out_in_the_same_order(data: Any) -> None:
    want = _reference_filled(data, SCHEMA)
    got = with_defaults(data)
    assert json.dumps(got) == json.dumps(want)  # the same values, keys in the same order
    assert with_defaults(data) is not got


def test_each_filled_default_is_a_new_copy() -> None:
    first, second = with_defaults(SPARSE), with_defaults(SPARSE)
    assert first["monitoring"] == second["monitoring"]
    assert first["monitoring"] is not second["monitoring"]
    first["monitoring"]["alerts"]["receivers"]["x"] = {}
    assert "x" not in with_defaults(SPARSE)["monitoring"]["alerts"]["receivers"]
