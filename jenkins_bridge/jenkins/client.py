"""The Jenkins adapter: typed errors, retries, crumbs and a rate cap over python-jenkins' URLs.

This package is the only one that imports ``jenkins`` and ``requests`` (both lazily, so the
CLI starts fast). The REST paths come from python-jenkins' public table of URL templates
(``jenkins.CONFIG_JOB``, ``jenkins.CREATE_JOB``, ...); the requests go through our own
``transport.ControllerSession``, because python-jenkins' public calls cannot give us a status
code, a crumb we manage, or a POST that does not follow the redirect (see ``transport``).
Every request goes through ``_send``: where retries happen and the rate is capped.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import quote, urlsplit

from jenkins_bridge.jenkins.errors import (
    CrumbRejected,
    JenkinsError,
    NotFound,
    safe_url,
)
from jenkins_bridge.jenkins.ratelimit import TokenBucket
from jenkins_bridge.jenkins.retry import RetryPolicy

if TYPE_CHECKING:
    import requests

    from jenkins_bridge.jenkins.transport import ControllerSession, RequestParts

XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
PLUGIN_FIELDS = "&tree=plugins[shortName,version,active,enabled]"
_ITEM_FIELDS = "name,fullName,description,color,_class"
# Levels listed in full by one request: teams, their jobs, and a multibranch project's branch
# jobs. Jenkins' ``tree`` has no recursion, each level is spelled out, so a request is bounded;
# deeper items are listed by further requests, one per group that holds them.
LISTING_LEVELS = 3


def item_tree_path(levels: int = LISTING_LEVELS) -> str:
    """``api/json?tree=jobs[...,jobs[...]]`` with ``levels`` levels of item fields, and below
    the last one only the children's names: enough to know which groups hold more."""
    tree = f"{_ITEM_FIELDS},jobs[name]"
    for _ in range(levels - 1):
        tree = f"{_ITEM_FIELDS},jobs[{tree}]"
    return f"api/json?tree=jobs[{tree}]"


def _deeper_groups(
    jobs: list[dict[str, Any]], prefix: str, levels: int
) -> list[tuple[str, dict[str, Any]]]:
    """The groups at the last fully listed level that hold items: (full name, listed dict)."""
    found: list[tuple[str, dict[str, Any]]] = []
    stack = [(prefix, job, 1) for job in jobs if isinstance(job, dict)]
    while stack:
        parent, job, level = stack.pop()
        name = str(job.get("name", ""))
        full_name = str(job.get("fullName") or (f"{parent}/{name}" if parent else name))
        children = job.get("jobs")
        if not isinstance(children, list) or not children:
            continue
        if level == levels:
            found.append((full_name, job))
        else:
            stack.extend((full_name, c, level + 1) for c in children if isinstance(c, dict))
    return found


def item_path(full_name: str) -> str:
    """``team/svc`` -> ``job/team/job/svc/`` with each segment percent-encoded."""
    return "".join(f"job/{quote(part, safe='')}/" for part in full_name.split("/"))


def item_url(template: str, full_name: str) -> str:
    """Fill one of python-jenkins' item URL templates (``%(folder_url)s``, ``%(short_name)s``)
    for ``full_name``; every segment percent-encoded, ``/`` included, as in ``item_path``."""
    parent, _, name = full_name.rpartition("/")
    folder_url = item_path(parent) if parent else ""
    return template % {"folder_url": folder_url, "short_name": quote(name, safe="")}


@dataclass(frozen=True)
class Credentials:
    """Who talks to the controller. The token never appears in ``repr`` or messages."""

    user: str | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def anonymous(self) -> bool:
        return not (self.user and self.token)


@dataclass(frozen=True)
class Plugin:
    short_name: str
    version: str
    active: bool
    enabled: bool


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0


class JenkinsClient:
    """A thread-safe client of one controller; share one instance between worker threads."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        timeout: float = 30.0,
        max_rps: float = 50.0,
        retry: RetryPolicy | None = None,
        pool_size: int = 16,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise JenkinsError(
                f"not a Jenkins URL: {safe_url(url)}", hint="use http(s)://host[:port]/[prefix/]"
            )
        if parts.username or parts.password:
            raise JenkinsError(
                f"the Jenkins URL must not contain credentials: {safe_url(url)}",
                hint="put the user in $JENKINS_USER and the API token in $JENKINS_TOKEN",
            )
        self.url = url if url.endswith("/") else url + "/"
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.bucket = TokenBucket(max_rps)
        self.stats = ClientStats()
        self._pool_size = pool_size
        self._transport: ControllerSession | None = None
        self._transport_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._crumb_lock = threading.Lock()
        self._crumb: dict[str, str] | None = None
        self._crumb_generation = 0

    # -- transport ---------------------------------------------------------------------------

    def _session(self) -> ControllerSession:
        with self._transport_lock:
            if self._transport is None:
                from jenkins_bridge.jenkins.transport import ControllerSession

                self._transport = ControllerSession(
                    self.url, self.credentials, timeout=self.timeout, pool_size=self._pool_size
                )
            return self._transport

    def _count(self, *, retry: bool = False) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.retries += int(retry)

    def _send_once(
        self,
        method: str,
        path: str,
        data: bytes | None,
        headers: Mapping[str, str],
        item: str | None,
    ) -> requests.Response:
        session = self._session()
        all_headers = dict(headers)
        if self._crumb and method == "POST":
            all_headers.update(self._crumb)
        self.bucket.acquire()
        return session.send(method, self.url + path, data=data, headers=all_headers, item=item)

    def _send(self, method: str, path: str, **parts: Unpack[RequestParts]) -> requests.Response:
        """One logical request: retried on transient failures, re-crumbed once on rejection."""
        crumb_retried = False
        attempt = 0
        while True:
            generation = self._crumb_generation
            self._count(retry=attempt > 0)
            try:
                return self._send_once(
                    method, path, parts.get("data"), parts.get("headers") or {}, parts.get("item")
                )
            except CrumbRejected:
                if crumb_retried:
                    raise
                crumb_retried = True
                self._refresh_crumb(generation)
            except JenkinsError as exc:
                attempt += 1
                if not exc.retryable or attempt >= self.retry.attempts:
                    exc.attempts = attempt
                    raise
                self.retry.wait(attempt - 1)

    def _refresh_crumb(self, seen_generation: int) -> None:
        with self._crumb_lock:
            if self._crumb_generation != seen_generation:
                return  # another thread already fetched a fresh one
            self._count()
            try:
                response = self._send_once("GET", _jenkins().CRUMB_URL, None, {}, None)
            except NotFound:
                self._crumb = None
            else:
                body = json.loads(response.text)
                self._crumb = {str(body["crumbRequestField"]): str(body["crumb"])}
            self._crumb_generation += 1

    # -- reads -------------------------------------------------------------------------------

    def get_json(self, path: str) -> Any:
        response = self._send("GET", path)
        try:
            return json.loads(response.text)
        except ValueError as exc:
            raise JenkinsError(
                f"{self.url}{path} did not answer JSON",
                url=self.url + path,
                hint="check that --jenkins points at the Jenkins root URL",
            ) from exc

    def plugins(self) -> list[Plugin]:
        data = self.get_json(_jenkins().PLUGIN_INFO % {"depth": 1} + PLUGIN_FIELDS)
        return [
            Plugin(
                str(p.get("shortName")),
                str(p.get("version")),
                bool(p.get("active", True)),
                bool(p.get("enabled", True)),
            )
            for p in data.get("plugins", [])
        ]

    def item_tree(self, levels: int = LISTING_LEVELS) -> list[dict[str, Any]]:
        """Every item on the controller at every depth, as nested ``jobs`` lists: one request
        for the first ``levels`` levels, plus one per group found deeper that holds items."""
        jobs = self._jobs(item_tree_path(levels))
        pending = _deeper_groups(jobs, "", levels)
        while pending:
            full_name, group = pending.pop()
            group["jobs"] = self._jobs(item_path(full_name) + item_tree_path(levels))
            pending.extend(_deeper_groups(group["jobs"], full_name, levels))
        return jobs

    def _jobs(self, path: str) -> list[dict[str, Any]]:
        data = self.get_json(path)
        jobs = data.get("jobs", []) if isinstance(data, dict) else []
        return jobs if isinstance(jobs, list) else []

    def get_config(self, full_name: str) -> str:
        response = self._send("GET", item_url(_jenkins().CONFIG_JOB, full_name), item=full_name)
        response.encoding = "utf-8"
        return str(response.text)

    # -- writes ------------------------------------------------------------------------------

    def create_item(self, full_name: str, config_xml: str) -> None:
        """``POST <parent>/createItem?name=N`` with the config: one request, no existence checks.

        A ``Conflict`` after a retried transient failure carries ``retried=True``: the earlier
        attempt may have created the item before its answer was lost.
        """
        parent = full_name.rpartition("/")[0]
        path = item_url(_jenkins().CREATE_JOB, full_name)
        try:
            self._send(
                "POST", path, data=config_xml.encode("utf-8"), headers=XML_HEADERS, item=full_name
            )
        except NotFound as exc:
            raise NotFound(
                f"cannot create {full_name}: folder {parent or '/'} does not exist",
                url=exc.url,
                item=full_name,
                status=404,
                hint="create the folder first (apply does this itself)",
            ) from None

    def update_config(self, full_name: str, config_xml: str) -> None:
        self._send(
            "POST",
            item_url(_jenkins().CONFIG_JOB, full_name),
            data=config_xml.encode("utf-8"),
            headers=XML_HEADERS,
            item=full_name,
        )

    def disable(self, full_name: str) -> None:
        self._send("POST", item_url(_jenkins().DISABLE_JOB, full_name), item=full_name)

    def delete(self, full_name: str) -> None:
        self._send("POST", item_url(_jenkins().DELETE_JOB, full_name), item=full_name)


def _jenkins() -> Any:
    """python-jenkins, imported on first use: its module constants are the REST URL table."""
    import jenkins

    return jenkins
