"""The Jenkins adapter: python-jenkins behind typed errors, retries, crumbs and a rate cap.

This is the only module that imports ``jenkins`` (lazily, so the CLI starts fast). It builds
requests from python-jenkins' URL templates and sends them through ``Jenkins.jenkins_request``
instead of the convenience helpers, which spend extra existence GETs on every create and
follow every redirect. Every request goes through ``_send``: the one place where transport
failures become ``JenkinsError`` subclasses, where retries happen and where the rate is capped.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from jenkins_bridge.jenkins.errors import (
    AuthFailed,
    BadRequest,
    Conflict,
    ControllerUnreachable,
    CrumbRejected,
    JenkinsError,
    NotFound,
    PermissionDenied,
    ServerError,
)
from jenkins_bridge.jenkins.ratelimit import TokenBucket
from jenkins_bridge.jenkins.retry import RetryPolicy

XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
PLUGINS_PATH = "pluginManager/api/json?depth=1&tree=plugins[shortName,version,active,enabled]"
CRUMB_PATH = "crumbIssuer/api/json"
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
    crumb_refreshes: int = 0


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        # Never echo userinfo: it may hold a password.
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return parts._replace(netloc=netloc).geturl()
    return url


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
                f"not a Jenkins URL: {_safe_url(url)}", hint="use http(s)://host[:port]/[prefix/]"
            )
        if parts.username or parts.password:
            raise JenkinsError(
                f"the Jenkins URL must not contain credentials: {_safe_url(url)}",
                hint="put the user in $JENKINS_USER and the API token in $JENKINS_TOKEN",
            )
        self.url = url if url.endswith("/") else url + "/"
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.bucket = TokenBucket(max_rps)
        self.stats = ClientStats()
        self._pool_size = pool_size
        self._server: Any = None
        self._server_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._crumb_lock = threading.Lock()
        self._crumb: dict[str, str] | None = None
        self._crumb_generation = 0

    # -- transport ---------------------------------------------------------------------------

    def _jenkins(self) -> Any:
        with self._server_lock:
            if self._server is None:
                self._server = _make_server(
                    self.url, self.credentials, self.timeout, self._pool_size
                )
            return self._server

    def _count(self, *, retry: bool = False, crumb: bool = False) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.retries += int(retry)
            self.stats.crumb_refreshes += int(crumb)

    def _send_once(
        self,
        method: str,
        path: str,
        data: bytes | None,
        headers: Mapping[str, str],
        item: str | None,
    ) -> Any:
        import requests

        server = self._jenkins()
        url = self.url + path
        all_headers = dict(headers)
        if self._crumb and method == "POST":
            all_headers.update(self._crumb)
        request = requests.Request(method, url, data=data, headers=all_headers)
        self.bucket.acquire()
        try:
            return server.jenkins_request(request, add_crumb=False)
        except Exception as exc:  # python-jenkins and requests raise many unrelated types
            raise _classify(exc, url, item, self.credentials) from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        item: str | None = None,
    ) -> Any:
        """One logical request: retried on transient failures, re-crumbed once on rejection."""
        crumb_retried = False
        attempt = 0
        while True:
            generation = self._crumb_generation
            self._count(retry=attempt > 0)
            try:
                return self._send_once(method, path, data, headers or {}, item)
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
            self._count(crumb=True)
            try:
                response = self._send_once("GET", CRUMB_PATH, None, {}, None)
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
        data = self.get_json(PLUGINS_PATH)
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
        response = self._send("GET", item_path(full_name) + "config.xml", item=full_name)
        response.encoding = "utf-8"
        return str(response.text)

    # -- writes ------------------------------------------------------------------------------

    def create_item(self, full_name: str, config_xml: str) -> None:
        """``POST <parent>/createItem?name=N`` with the config: one request, no existence checks.

        A ``Conflict`` after a retried transient failure carries ``retried=True``: the earlier
        attempt may have created the item before its answer was lost.
        """
        parent, _, name = full_name.rpartition("/")
        path = (item_path(parent) if parent else "") + f"createItem?name={quote(name, safe='')}"
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
            item_path(full_name) + "config.xml",
            data=config_xml.encode("utf-8"),
            headers=XML_HEADERS,
            item=full_name,
        )

    def disable(self, full_name: str) -> None:
        self._send("POST", item_path(full_name) + "disable", item=full_name)

    def delete(self, full_name: str) -> None:
        self._send("POST", item_path(full_name) + "doDelete", item=full_name)


def _make_server(url: str, credentials: Credentials, timeout: float, pool_size: int) -> Any:
    import jenkins
    from requests.adapters import HTTPAdapter

    class _Jenkins(jenkins.Jenkins):  # type: ignore[misc]
        # python-jenkins follows redirects, so each doDelete/disable (302 to the parent page)
        # would cost a second GET; Jenkins' 302 here only means "done".
        def _request(self, req: Any, stream: Any = None) -> Any:
            prepared = self._session.prepare_request(req)
            settings = self._session.merge_environment_settings(
                prepared.url, {}, stream, self._session.verify, None
            )
            settings["timeout"] = self.timeout
            return self._session.send(prepared, allow_redirects=False, **settings)

    server = _Jenkins(url, credentials.user, credentials.token, timeout=timeout)
    # python-jenkins mounts a 10-connection pool; N workers need N connections to stay parallel.
    server._session.mount(url, HTTPAdapter(pool_connections=1, pool_maxsize=pool_size))
    return server


def _response_of(exc: BaseException) -> Any:
    """The ``requests.Response`` behind a python-jenkins error (it chains the HTTPError)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        response = getattr(seen, "response", None)
        if response is not None:
            return response
        seen = seen.__context__ or seen.__cause__
    return None


def _classify(
    exc: BaseException, url: str, item: str | None, credentials: Credentials
) -> JenkinsError:
    import jenkins
    import requests

    safe = _safe_url(url)
    what = item or safe
    response = _response_of(exc)
    if response is not None:
        return _from_status(response, safe, item, credentials)
    if isinstance(exc, jenkins.TimeoutException | requests.Timeout):
        return ControllerUnreachable(
            f"{safe} timed out",
            url=safe,
            item=item,
            hint="the controller is overloaded or down; retry later or lower --max-rps/--workers",
        )
    if isinstance(exc, requests.ConnectionError):
        reason = "connection reset" if "reset" in str(exc).lower() else "cannot connect"
        if "RemoteDisconnected" in str(exc) or "Connection aborted" in str(exc):
            reason = "connection closed without a response"
        return ControllerUnreachable(
            f"{reason}: {safe}",
            url=safe,
            item=item,
            hint="check --jenkins / $JENKINS_URL and that the controller is up",
        )
    return JenkinsError(
        f"request to {what} failed: {type(exc).__name__}", url=safe, item=item, hint=None
    )


def _from_status(
    response: Any, url: str, item: str | None, credentials: Credentials
) -> JenkinsError:
    status = int(response.status_code)
    what = item or url
    error_header = response.headers.get("X-Error", "")
    if status == 400:
        if "already exists" in error_header:
            return Conflict(f"{what} already exists", url=url, item=item, status=status, hint=None)
        return BadRequest(
            f"Jenkins refused {what}: {error_header or response.reason}",
            url=url,
            item=item,
            status=status,
            hint="check the item name and config",
        )
    if status == 401:
        return AuthFailed(
            f"authentication failed at {url} (401)",
            url=url,
            item=item,
            status=status,
            hint="check $JENKINS_USER and $JENKINS_TOKEN (an API token from <jenkins>/me/configure)",  # noqa: E501
        )
    if status == 403:
        body = response.text or ""
        if "No valid crumb" in body or "No valid crumb" in (response.reason or ""):
            return CrumbRejected(f"crumb rejected at {url}", url=url, item=item, status=status)
        needed = response.headers.get("X-Required-Permission")
        if credentials.anonymous:
            hint = "set $JENKINS_USER and $JENKINS_TOKEN; anonymous access is not allowed"
        else:
            hint = f"ask a Jenkins admin to grant {credentials.user} " + (
                needed or "Job/Create, Job/Configure, Job/Delete and Overall/Read"
            )
        return PermissionDenied(
            f"permission denied for {what} (403)", url=url, item=item, status=status, hint=hint
        )
    if status == 404:
        return NotFound(f"{what} not found (404)", url=url, item=item, status=status, hint=None)
    if status >= 500:
        return ServerError(
            f"Jenkins failed on {what} ({status})",
            url=url,
            item=item,
            status=status,
            hint="check the controller's log; a re-run resumes where this one stopped",
        )
    return BadRequest(
        f"unexpected answer {status} for {what}", url=url, item=item, status=status, hint=None
    )
