"""Find descriptor files, apply each folder's ``_defaults.yaml``, validate, and build models.

Every problem of a run is collected and raised at once as ``InvalidDescriptors``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jenkins_bridge.descriptor import model
from jenkins_bridge.descriptor.schema import DEFAULT_LIBRARY
from jenkins_bridge.descriptor.validation import field_problems, problem_at, schema_problems
from jenkins_bridge.descriptor.yamlsource import LoadedDocument, YamlProblem, load_yaml_mapping
from jenkins_bridge.errors import InvalidDescriptors, Problem, UsageError

DEFAULTS_FILE = "_defaults.yaml"
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class DescriptorFile:
    path: Path
    origin: str  # the file's path in its git repository; stable across machines and PATHs
    key: str = ""  # its real path, to notice a file named twice


Roots = dict[str, str | None]


def _repository_root(folder: str, cache: Roots) -> str | None:
    """The nearest enclosing folder holding ``.git`` (a folder, or a file in worktrees)."""
    if folder not in cache:
        parent = os.path.dirname(folder)
        if os.path.exists(os.path.join(folder, ".git")):
            cache[folder] = folder
        else:
            cache[folder] = None if parent == folder else _repository_root(parent, cache)
    return cache[folder]


def _with_origin(
    path: Path, fallback: str, roots: Roots, real: str | None = None
) -> DescriptorFile:
    """Name a descriptor by its path in its repository, so the name (which generated files
    carry) does not depend on which folder was passed; outside a repository, by ``fallback``
    (its path under the PATH argument)."""
    real = real or os.path.realpath(path)
    root = _repository_root(os.path.dirname(real), roots)
    origin = real[len(root) + 1 :] if root is not None else fallback
    return DescriptorFile(path, origin.replace(os.sep, "/"), real)


def _walk_folder(folder: Path, roots: Roots) -> Iterator[DescriptorFile]:
    """Descriptor files under ``folder`` in sorted order, skipping names starting '_' or '.'."""
    base = os.path.realpath(folder)
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        rel_dir = os.path.relpath(current, folder)
        for name in sorted(files):
            if name.startswith(("_", ".")) or not name.endswith(SUFFIXES):
                continue
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            real = os.path.join(base, rel)
            yield _with_origin(Path(current, name), rel.replace(os.sep, "/"), roots, real)


def discover(paths: Sequence[str | Path]) -> list[DescriptorFile]:
    """Descriptor files named by ``paths``: files as given, directories searched recursively.

    Files and folders starting with '_' or '.' are skipped in directories; a ``_defaults.yaml``
    named on its own stands for the descriptors beside it.
    """
    found: list[DescriptorFile] = []
    missing = []
    roots: Roots = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(_walk_folder(path, roots))
        elif path.is_file() and path.name == DEFAULTS_FILE:
            # Defaults are checked through the descriptors they apply to (pre-commit passes
            # the changed file alone): take the descriptors beside it.
            found.extend(
                _with_origin(candidate, candidate.name, roots)
                for candidate in sorted(path.parent.iterdir())
                if candidate.is_file()
                and candidate.suffix in SUFFIXES
                and not candidate.name.startswith(("_", "."))
            )
        elif path.is_file():
            found.append(_with_origin(path, path.name, roots))
        else:
            missing.append(str(raw))
    unique: dict[str, DescriptorFile] = {}
    for descriptor in found:  # a file named twice (say, itself and its folder) counts once
        unique.setdefault(descriptor.key, descriptor)
    found = list(unique.values())
    if missing:
        raise UsageError(
            f"no such file or directory: {', '.join(missing)}",
            hint="pass descriptor files or folders that hold them",
        )
    if not found:
        raise UsageError(
            f"no descriptors (*.yaml, *.yml) found in {', '.join(map(str, paths))}",
            hint="create one with 'jenkins-bridge init NAME --team TEAM'",
        )
    return found


class _Defaults:
    """One folder's ``_defaults.yaml``: data merged under each descriptor, and locked paths."""

    def __init__(self, doc: LoadedDocument) -> None:
        self.doc = doc
        data = dict(doc.data)
        locked = data.pop("locked", [])
        self.problems: list[Problem] = []
        if not isinstance(locked, list) or not all(isinstance(p, str) for p in locked):
            self.problems.append(problem_at(doc, ("locked",), "must be a list of dotted paths"))
            locked = []
        self.locked: list[str] = locked
        self.data = data


def _read(path: Path) -> LoadedDocument:
    """Messages name the file as given, so the user finds it from where they ran us."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlProblem(Problem("io", f"cannot read file: {exc.strerror}", name)) from exc
    return load_yaml_mapping(raw, name)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_MISSING = object()


def _lookup(data: dict[str, Any], dotted_path: str) -> Any:
    node: Any = data
    for part in dotted_path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


@dataclass
class LoadedFiles:
    """What loading some descriptor files gave: validated data, problems, and where each
    service's name is (for the checks across files, which need every file of the run).

    It holds plain data rather than ``Service`` objects because chunks travel between
    processes, and plain dicts pickle several times faster than nested dataclasses.
    """

    records: list[tuple[dict[str, Any], Path, str]]  # merged, validated data; file; origin
    problems: list[Problem]
    name_positions: dict[Path, tuple[str, int, int]]

    def services(self) -> list[model.Service]:
        return [build_service(data, path, origin) for data, path, origin in self.records]


def load_files(files: Sequence[DescriptorFile]) -> LoadedFiles:
    """Load, merge and validate ``files`` (no checks across files; see ``load_services``)."""
    loaded = LoadedFiles([], [], {})
    defaults_by_dir: dict[Path, _Defaults | None] = {}
    for descriptor in files:
        folder = descriptor.path.parent
        if folder not in defaults_by_dir:
            defaults_by_dir[folder] = None
            defaults_path = folder / DEFAULTS_FILE
            if defaults_path.is_file():
                try:
                    defaults_by_dir[folder] = defaults = _Defaults(_read(defaults_path))
                    loaded.problems.extend(defaults.problems)
                except YamlProblem as exc:
                    loaded.problems.append(exc.problem)
        try:
            doc = _read(descriptor.path)
        except YamlProblem as exc:
            loaded.problems.append(exc.problem)
            continue
        data, found = _validate_one(doc, defaults_by_dir[folder])
        loaded.problems.extend(found)
        if data is not None:
            loaded.records.append((data, descriptor.path, descriptor.origin))
            loaded.name_positions[descriptor.path] = doc.where(("metadata", "name"))
    return loaded


def check_across_files(
    names: Iterable[tuple[str, Path]], positions: dict[Path, tuple[str, int, int]]
) -> list[Problem]:
    """Problems only a whole run can see: the same service defined in two files.

    ``names`` holds (full name, descriptor path) in file order.
    """
    problems = []
    seen: dict[str, Path] = {}
    for full_name, path in names:
        key = full_name.lower()  # Jenkins item names are case-insensitive
        if key in seen:
            file, line, column = positions[path]
            first_file, first_line, _ = positions[seen[key]]
            problems.append(
                Problem(
                    "invalid",
                    f"metadata.name: service '{full_name}' is already defined at "
                    f"{first_file}:{first_line}; names must be unique within a team",
                    file,
                    line,
                    column,
                )
            )
        else:
            seen[key] = path
    return problems


def load_services(
    paths: Sequence[str | Path], *, workers: int | None = None
) -> list[model.Service]:
    """Load, merge, validate and build every descriptor under ``paths``; all problems at once.

    Thousands of files are loaded by several processes (``workers``; see ``parallel``).
    """
    from jenkins_bridge.descriptor.parallel import map_chunks

    return collect(map_chunks(load_files, discover(paths), workers=workers))


def check_chunks(chunks: Sequence[LoadedFiles]) -> None:
    """Raise every problem of a run's chunks, including those only the whole run can see."""
    positions = {path: pos for chunk in chunks for path, pos in chunk.name_positions.items()}
    names = [
        (f"{data['metadata']['team']}/{data['metadata']['name']}", path)
        for chunk in chunks
        for data, path, _ in chunk.records
    ]
    # A folder's _defaults.yaml is read by every chunk that has files there: report it once.
    problems = list(dict.fromkeys(p for chunk in chunks for p in chunk.problems))
    problems += check_across_files(names, positions)
    if problems:
        raise InvalidDescriptors(problems)


def collect(chunks: Sequence[LoadedFiles]) -> list[model.Service]:
    """The services of all chunks of a run, after the checks across files; or every problem."""
    check_chunks(chunks)
    return [service for chunk in chunks for service in chunk.services()]


def load_service(path: str | Path) -> model.Service:
    """Load one descriptor file (with its folder's ``_defaults.yaml``)."""
    services = load_services([path])
    return services[0]


def _validate_one(
    doc: LoadedDocument, defaults: _Defaults | None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []
    data = doc.data
    combined = doc
    if defaults is not None:
        for index, locked in enumerate(defaults.locked):
            own = _lookup(doc.data, locked)
            if own is _MISSING:
                continue
            if own != _lookup(defaults.data, locked):
                path = tuple(locked.split("."))
                file, line, column = defaults.doc.where(("locked", index))
                problems.append(
                    problem_at(
                        doc,
                        path,
                        f"is locked by {file}:{line}:{column} and may not be overridden here",
                        key=True,
                    )
                )
        data = _deep_merge(defaults.data, doc.data)
        combined = LoadedDocument(file=doc.file, data=data, root=doc.root, fallback=defaults.doc)
    problems.extend(schema_problems(combined, data))
    problems.extend(field_problems(combined, data))
    if problems:
        return None, problems
    return data, []


@functools.cache
def _schema_default(*path: str) -> Any:
    from jenkins_bridge.descriptor.schema import SCHEMA

    node: dict[str, Any] = SCHEMA
    for part in path:
        node = node["items"] if part == "[]" else node["properties"][part]
    return node.get("default")


def _parameter_default(value: Any) -> str | bool | None:
    if value is None or isinstance(value, bool):
        return value
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_service(data: dict[str, Any], path: Path, origin: str) -> model.Service:
    """Build the typed model from validated data; schema defaults fill what is absent."""
    meta = data["metadata"]
    src = data["source"]
    pipe = data.get("pipeline", {})
    triggers = pipe.get("triggers", {})
    runtime = data.get("runtime", {})
    health = runtime.get("healthcheck", {})
    resources = runtime.get("resources", {})
    monitoring = data.get("monitoring", {})
    image = data.get("image")

    def d(section: dict[str, Any], key: str, *schema_path: str) -> Any:
        return section[key] if key in section else _schema_default(*schema_path, key)

    parameters = tuple(
        model.Parameter(
            name=p["name"],
            type=p.get("type", "string"),
            default=_parameter_default(p.get("default")),
            description=p.get("description", ""),
            choices=tuple(p.get("choices", ())),
        )
        for p in pipe.get("parameters", [])
    )
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return model.Service(
        metadata=model.Metadata(
            name=meta["name"],
            team=meta["team"],
            description=meta.get("description", ""),
            owners=tuple(meta.get("owners", ())),
        ),
        source=model.Source(
            repo=src["repo"],
            branch=d(src, "branch", "source"),
            credentials_id=src.get("credentialsId"),
            jenkinsfile=d(src, "jenkinsfile", "source"),
            descriptor=d(src, "descriptor", "source"),
        ),
        pipeline=model.PipelineSpec(
            job_type=d(pipe, "jobType", "pipeline"),
            agent=d(pipe, "agent", "pipeline"),
            timeout_minutes=d(pipe, "timeoutMinutes", "pipeline"),
            keep_builds=d(pipe, "keepBuilds", "pipeline"),
            triggers=model.Triggers(poll=triggers.get("poll"), cron=triggers.get("cron")),
            parameters=parameters,
            test=tuple(model.TestStep(t["name"], t["run"]) for t in pipe.get("test", [])),
            notify=model.Notify(email=pipe.get("notify", {}).get("email")),
            library=pipe.get("library", DEFAULT_LIBRARY),
        ),
        image=(
            None
            if image is None
            else model.ImageSpec(
                repository=image["repository"],
                credentials_id=image.get("credentialsId"),
                context=d(image, "context", "image"),
                dockerfile=d(image, "dockerfile", "image"),
                target=image.get("target"),
                build_args={k: _text(v) for k, v in sorted(image.get("buildArgs", {}).items())},
            )
        ),
        runtime=model.RuntimeSpec(
            port=d(runtime, "port", "runtime"),
            env={k: _text(v) for k, v in sorted(runtime.get("env", {}).items())},
            secrets=tuple(
                model.Secret(s["env"], s["credentialsId"]) for s in runtime.get("secrets", [])
            ),
            healthcheck=model.Healthcheck(
                path=d(health, "path", "runtime", "healthcheck"),
                interval_seconds=d(health, "intervalSeconds", "runtime", "healthcheck"),
                timeout_seconds=d(health, "timeoutSeconds", "runtime", "healthcheck"),
                retries=d(health, "retries", "runtime", "healthcheck"),
                start_period_seconds=d(health, "startPeriodSeconds", "runtime", "healthcheck"),
            ),
            restart=d(runtime, "restart", "runtime"),
            resources=model.Resources(cpus=resources.get("cpus"), memory=resources.get("memory")),
        ),
        deploy=tuple(
            model.DeployStage(
                environment=s["environment"],
                target=s.get("target", "docker"),
                strategy=s.get("strategy", "rolling"),
                listen=s.get("listen"),
                replicas=s.get("replicas", 1),
                approval=(
                    None
                    if "approval" not in s
                    else model.Approval(
                        submitter=s["approval"].get("submitter"),
                        message=s["approval"].get("message", ""),
                        timeout_minutes=d(
                            s["approval"], "timeoutMinutes", "deploy", "[]", "approval"
                        ),
                    )
                ),
            )
            for s in data.get("deploy", [])
        ),
        monitoring=model.Monitoring(
            metrics_path=d(monitoring, "metricsPath", "monitoring"),
            slo=model.Slo(
                availability=monitoring.get("slo", {}).get("availability"),
                latency_p95_ms=monitoring.get("slo", {}).get("latencyP95Ms"),
            ),
            alerts_notify=monitoring.get("alerts", {}).get("notify"),
        ),
        path=path,
        origin=origin,
        digest=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
    )
