"""An in-process Jenkins controller for tests: the REST surface a provisioning tool uses,
behaving like Jenkins core (security on, "logged-in users can do anything", default crumb
issuer, cloudbees-folder and workflow-job installed). Stdlib only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import secrets
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .declarative import run_declarative_build
from .faults import FaultInjection, RequestCounters
from .items import (
    FOLDER,
    ITEM_TYPES,
    MULTIBRANCH,
    WORKFLOW_JOB,
    ConfigError,
    Failure,
    HalfBuilt,
    Item,
    ItemSnapshot,
    ItemType,
    blank_config,
    check_good_name,
    java_trim,
    name_key,
    parse_config,
)
from .jenkins_model import (
    DEFAULT_PLUGINS,
    crumb_bean,
    item_bean,
    plugin_manager_bean,
    root_bean,
    user_bean,
)
from .stapler_export import Bean, pruner_for, write_bean

CRUMB_FIELD = "Jenkins-Crumb"
NO_VALID_CRUMB = "No valid crumb was included in the request"
# mirrors jenkins.model.Jenkins.ALWAYS_READABLE_PATHS (the part a REST client can reach)
ALWAYS_READABLE = ("login", "loginError", "logout", "accessDenied", "error", "oops", "signup")
POST_ONLY = (
    "createItem",
    "doDelete",
    "disable",
    "enable",
    "submitDescription",
    "build",
    "buildWithParameters",
)


def _version_tuple(version: str) -> tuple[int, ...]:
    out = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


@dataclass
class Reply:
    """One HTTP response, assembled by the dispatch code and written by the handler."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str
    form: list[tuple[str, str]] = field(default_factory=list)

    def param(self, name: str) -> str | None:
        """mirrors ServletRequest.getParameter: query string first, then a url-encoded body."""
        for key, value in (*self.query, *self.form):
            if key == name:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass
class _Auth:
    user: str | None  # None = anonymous
    via_token: bool
    session_id: str | None


class _NotFound(Exception):
    pass


class JenkinsEmulator:
    """A Jenkins REST API emulator served over loopback HTTP from a background thread.

    `users` maps user ids to API tokens (HTTP Basic). The same value is accepted as the
    password of the login form, which yields a cookie session that needs crumbs.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        users: dict[str, str] | None = None,
        plugins: dict[str, str] | None = None,
        version: str = "2.568.2",
        *,
        log_limit: int = 100_000,
    ) -> None:
        self.host = host
        self.port = port
        self.users = dict(users if users is not None else {"admin": "admin"})
        self.plugins = dict(DEFAULT_PLUGINS if plugins is None else plugins)
        self.version = version
        self.faults: FaultInjection | None = None
        self.requests = RequestCounters(log_limit)
        self._lock = threading.RLock()
        self._root: dict[str, Item] = {}
        self._sessions: dict[str, str | None] = {}
        # mirrors jenkins.model.Jenkins.SESSION_HASH and the winstone cookie name suffix
        self.session_hash = secrets.token_hex(4)
        self.cookie_name = f"JSESSIONID.{secrets.token_hex(4)}"
        self._crumb_salt = secrets.token_hex(16)
        self._queue_ids = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> JenkinsEmulator:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"jenkins-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> JenkinsEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # ---- inspection ------------------------------------------------------------------------

    @property
    def request_log(self) -> list[tuple[str, str]]:
        return self.requests.log()

    def reset_counters(self) -> None:
        self.requests.reset()

    @property
    def items(self) -> dict[str, ItemSnapshot]:
        """A consistent snapshot: full name -> item."""
        with self._lock:
            out: dict[str, ItemSnapshot] = {}
            stack = list(self._root.values())
            while stack:
                item = stack.pop()
                out[item.full_name] = ItemSnapshot(
                    full_name=item.full_name,
                    kind=item.kind,
                    class_name=item.type.class_name,
                    config_xml=item.config_xml(self.plugins),
                    disabled=item.disabled,
                    description=item.description,
                )
                stack.extend(item.children.values())
            return out

    # ---- security --------------------------------------------------------------------------

    def crumb_for(self, user: str, session_id: str) -> str:
        """mirrors DefaultCrumbIssuer.issueCrumb: sha256(user;session+salt)."""
        digest = hashlib.sha256(f"{user};{session_id}".encode())
        digest.update(self._crumb_salt.encode())
        return digest.hexdigest()

    def _new_session(self, user: str | None) -> str:
        with self._lock:
            sid = f"node0{secrets.token_hex(12)}{len(self._sessions)}"
            self._sessions[sid] = user
        return sid

    def _session_from_cookie(self, cookie_header: str | None) -> str | None:
        if not cookie_header:
            return None
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name:
                with self._lock:
                    if value in self._sessions:
                        return value
        return None

    def _authenticate(self, req: _Request) -> _Auth | Reply:
        """mirrors jenkins.security.BasicHeaderProcessor, then the HTTP session."""
        session_id = self._session_from_cookie(req.headers.get("cookie"))
        header = req.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                user, _, token = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, token = "", ""
            expected = self.users.get(user)
            if expected is None or not secrets.compare_digest(expected, token):
                return self._unauthorized()
            return _Auth(user, True, session_id)
        if session_id is not None:
            with self._lock:
                return _Auth(self._sessions.get(session_id), False, session_id)
        return _Auth(None, False, None)

    def _crumb_ok(self, req: _Request, auth: _Auth) -> bool:
        """mirrors hudson.security.csrf.CrumbFilter + DefaultCrumbIssuer.validateCrumb."""
        if auth.via_token:  # jenkins.security.csrf ApiCrumbExclusion
            return True
        crumb = req.headers.get(CRUMB_FIELD.lower()) or req.param(CRUMB_FIELD)
        if not crumb or auth.session_id is None:
            return False
        expected = self.crumb_for(auth.user or "anonymous", auth.session_id)
        return secrets.compare_digest(crumb, expected)

    # ---- headers and pages -----------------------------------------------------------------

    def _advertise(self) -> list[tuple[str, str]]:
        """mirrors hudson.Functions.advertiseHeaders."""
        return [
            ("X-Hudson", "1.395"),
            ("X-Jenkins", self.version),
            ("X-Jenkins-Session", self.session_hash),
        ]

    def _api_headers(self) -> list[tuple[str, str]]:
        """mirrors hudson.model.Api.setHeaders."""
        return [
            ("X-Jenkins", self.version),
            ("X-Jenkins-Session", self.session_hash),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "deny"),
        ]

    def _json(self, bean: Bean, req: _Request) -> Reply:
        """mirrors org.kohsuke.stapler.ResponseImpl.serveExposedBean (JSON flavor)."""
        try:
            pruner = pruner_for(req.param("tree"), req.param("depth"))
            with self._lock:
                data = write_bean(bean, pruner)
        except ValueError as e:
            return self._oops(f"java.lang.IllegalArgumentException: {e}")
        except HalfBuilt as e:
            return self._oops(str(e))
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return Reply(200, body, "application/json;charset=utf-8", self._api_headers())

    @staticmethod
    def _page(title: str, text: str) -> bytes:
        return (
            f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
        ).encode()

    @staticmethod
    def _container_error(status: int, message: str, path: str) -> Reply:
        """Jetty's error page for HttpServletResponse.sendError."""
        body = (
            '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
            f"<title>Error {status} {html.escape(message)}</title>\n</head>\n<body>\n"
            f"<h2>HTTP ERROR {status} {html.escape(message)}</h2>\n<table>\n"
            f"<tr><th>URI:</th><td>{html.escape(path)}</td></tr>\n"
            f"<tr><th>STATUS:</th><td>{status}</td></tr>\n"
            f"<tr><th>MESSAGE:</th><td>{html.escape(message)}</td></tr>\n"
            "<tr><th>SERVLET:</th><td>Stapler</td></tr>\n</table>\n</body>\n</html>\n"
        ).encode()
        return Reply(status, body, "text/html;charset=utf-8")

    def _unauthorized(self) -> Reply:
        """mirrors BasicHeaderProcessor.fail -> BasicAuthenticationEntryPoint.commence."""
        realm = 'Basic realm="Jenkins"'
        if _version_tuple(self.version) >= (2, 568):
            realm += ', charset="UTF-8"'  # Spring Security 7
        reply = self._container_error(401, "Unauthorized", "")
        reply.headers.append(("WWW-Authenticate", realm))
        return reply

    def _authentication_required(self, req: _Request) -> Reply:
        """mirrors hudson.security.HudsonAuthenticationEntryPoint.commence (403, not 401)."""
        target = "/login?from=" + quote(req.path, safe="")
        body = (
            f"<html><head><meta http-equiv='refresh' content='1;url={html.escape(target)}'/>"
            "</head><body style='background-color:white; color:white;'>\n\n"
            "Authentication required\n<!--\n-->\n\n</body></html>"
        ).encode()
        headers = self._advertise()
        if _version_tuple(self.version) >= (2, 568):
            # AccessDeniedException3.reportAsHeaders: Spring 7 passes the cause through
            headers += [
                ("X-You-Are-Authenticated-As", "anonymous"),
                (
                    "X-You-Are-In-Group-Disabled",
                    "JENKINS-39402: use -Dhudson.security."
                    "AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose",
                ),
                ("X-Required-Permission", "hudson.model.Hudson.Read"),
                ("X-Permission-Implied-By", "hudson.security.Permission.GenericRead"),
                ("X-Permission-Implied-By", "hudson.model.Hudson.Administer"),
            ]
        return Reply(403, body, "text/html;charset=utf-8", headers)

    def _failure(self, message: str) -> Reply:
        """mirrors hudson.model.Failure.generateResponse: 400 + X-Error."""
        return Reply(
            400,
            self._page("Error", message),
            "text/html;charset=utf-8",
            [("X-Error", message)],
        )

    def _oops(self, message: str) -> Reply:
        """mirrors jenkins.model.InstallUncaughtExceptionHandler: 500 oops page."""
        return Reply(500, self._page("Oops!", message), "text/html;charset=utf-8")

    def _not_found(self, path: str) -> Reply:
        return self._container_error(404, "Not Found", path)

    def _redirect(self, req: _Request, location: str) -> Reply:
        # Absolute, as servlet containers historically made it (JENKINS-CORE: assumed).
        return Reply(302, b"", None, [("Location", req.base_url + location.lstrip("/"))])

    def _html(self, title: str) -> Reply:
        return Reply(200, self._page(title, title), "text/html;charset=utf-8", self._advertise())

    # ---- dispatch --------------------------------------------------------------------------

    def handle(self, req: _Request) -> Reply:
        """The filter chain: authentication, login form, CSRF, Read permission, then Stapler."""
        auth = self._authenticate(req)
        if isinstance(auth, Reply):
            return auth
        segments = [unquote(s) for s in req.path.lstrip("/").split("/")]
        if segments and segments[-1] == "":
            segments.pop()
        if segments == ["j_spring_security_check"] and req.method == "POST":
            return self._login(req)
        if req.method == "POST" and not self._crumb_ok(req, auth):
            return self._container_error(403, NO_VALID_CRUMB, req.path)
        if auth.user is None and (not segments or segments[0] not in ALWAYS_READABLE):
            return self._authentication_required(req)
        try:
            return self._route(req, auth, segments)
        except _NotFound:
            return self._not_found(req.path)
        except Failure as e:
            return self._failure(str(e))
        except ConfigError as e:
            return self._oops(f"java.io.IOException: {e}")
        except HalfBuilt as e:
            return self._oops(str(e))

    def _login(self, req: _Request) -> Reply:
        """mirrors the Spring form login (AuthenticationProcessingFilter2)."""
        user = req.param("j_username") or ""
        password = req.param("j_password") or ""
        expected = self.users.get(user)
        if expected is None or not secrets.compare_digest(expected, password):
            return self._redirect(req, "loginError")
        sid = self._new_session(user)
        reply = self._redirect(req, "")
        reply.headers.append(("Set-Cookie", f"{self.cookie_name}={sid}; Path=/; HttpOnly"))
        return reply

    def _route(self, req: _Request, auth: _Auth, segments: list[str]) -> Reply:
        item: Item | None = None
        i = 0
        with self._lock:
            while i + 1 < len(segments) and segments[i] == "job":
                children = self._children(item)
                if children is None:
                    raise _NotFound
                child = children.get(name_key(segments[i + 1]))
                if child is None:
                    raise _NotFound
                item, i = child, i + 2
        rest = "/".join(segments[i:])
        if rest in POST_ONLY and req.method != "POST":
            # mirrors org.kohsuke.stapler.verb.RequirePOST.Processor (+ CrumbFilter retry page)
            body = self._page("This URL requires POST", "This URL requires POST")
            return Reply(405, body, "text/html;charset=utf-8", [("Allow", "POST")])
        if item is None:
            return self._route_root(req, auth, rest)
        return self._route_item(req, item, rest)

    def _route_root(self, req: _Request, auth: _Auth, rest: str) -> Reply:
        if rest == "":
            return self._html("Dashboard [Jenkins]")
        if rest in ALWAYS_READABLE:
            return self._html("Sign in [Jenkins]")
        if rest == "api/json":
            with self._lock:
                return self._json(root_bean(self._sorted(None), req.base_url), req)
        if rest == "createItem":
            return self._create_item(req, None)
        if rest == "crumbIssuer/api/json":
            return self._issue_crumb(req, auth)
        if rest == "me/api/json":
            return self._json(user_bean(auth.user or "anonymous", req.base_url), req)
        if rest == "pluginManager/api/json":
            return self._json(plugin_manager_bean(self.plugins), req)
        raise _NotFound

    def _issue_crumb(self, req: _Request, auth: _Auth) -> Reply:
        """mirrors DefaultCrumbIssuer.issueCrumb: `req.getSession()` creates a session."""
        headers: list[tuple[str, str]] = []
        sid = auth.session_id
        if sid is None:
            # A session created for a token request carries no user seed: cookie-only
            # requests on it stay anonymous (HttpSessionContextIntegrationFilter2).
            sid = self._new_session(None if auth.via_token else auth.user)
            headers.append(("Set-Cookie", f"{self.cookie_name}={sid}; Path=/; HttpOnly"))
        reply = self._json(crumb_bean(self.crumb_for(auth.user or "anonymous", sid)), req)
        reply.headers.extend(headers)
        return reply

    def _route_item(self, req: _Request, item: Item, rest: str) -> Reply:
        if rest in ("", "configure"):
            with self._lock:
                failure = item.page_failure  # the page renders the folder's views and tab bar
            if failure is not None:
                raise HalfBuilt(failure)
            return self._html(f"{item.full_name} [Jenkins]")
        if rest == "api/json":
            with self._lock:
                return self._json(item_bean(item, req.base_url), req)
        if rest == "config.xml":
            return self._config_xml(req, item)
        if rest == "createItem" and item.type is FOLDER:
            return self._create_item(req, item)
        if rest == "doDelete":
            return self._delete(req, item)
        if rest in ("disable", "enable") and item.kind == "job":
            # mirrors ParameterizedJobMixIn.ParameterizedJob.doDisable/doEnable -> makeDisabled
            with self._lock:
                item.set_disabled(rest == "disable")
            return self._redirect(req, self._item_path(item))
        if rest in ("build", "buildWithParameters") and item.type is WORKFLOW_JOB:
            return self._build(req, item, rest)
        if rest == "description" and item.kind == "job":
            return self._description(req, item)
        if rest == "submitDescription":
            # mirrors AbstractItem.doSubmitDescription
            with self._lock:
                item.set_description(req.param("description") or "")
            return self._redirect(req, self._item_path(item))
        raise _NotFound

    def _description(self, req: _Request, item: Item) -> Reply:
        """mirrors hudson.model.Job.doDescription."""
        if req.method == "GET":
            with self._lock:
                text = item.description or ""
            return Reply(200, text.encode(), "text/plain;charset=utf-8")
        value = req.param("description")
        if req.method == "POST" and value is not None:
            with self._lock:
                item.set_description(value)
            return Reply(204)
        return self._container_error(400, "Bad Request", req.path)

    # ---- items -----------------------------------------------------------------------------

    def _children(self, parent: Item | None) -> dict[str, Item] | None:
        if parent is None:
            return self._root
        return parent.children if parent.type.is_group else None

    def _sorted(self, parent: Item | None) -> list[Item]:
        return (
            [self._root[k] for k in sorted(self._root)]
            if parent is None
            else (parent.sorted_children())
        )

    @staticmethod
    def _item_path(item: Item | None) -> str:
        parts: list[str] = []
        while item is not None:
            parts.append(f"job/{quote(item.name, safe='')}/")
            item = item.parent
        return "/" + "".join(reversed(parts))

    def _installed_types(self) -> dict[str, ItemType]:
        return {t.class_name: t for t in ITEM_TYPES if t.plugin is None or t.plugin in self.plugins}

    def _create_item(self, req: _Request, parent: Item | None) -> Reply:
        """mirrors hudson.model.ItemGroupMixIn.createTopLevelItem (via Jenkins.doCreateItem or
        Folder.doCreateItem)."""
        content_type = req.content_type
        mode = req.param("mode")
        if content_type is None and mode != "copy":
            raise Failure("No Content-Type header set")
        is_xml = content_type is not None and (
            content_type.startswith("application/xml") or content_type.startswith("text/xml")
        )
        raw_name = req.param("name")
        if raw_name is None:
            raise Failure("Query parameter 'name' is required")
        check_good_name(raw_name)
        name = java_trim(raw_name)
        with self._lock:
            siblings = self._children(parent)
            assert siblings is not None  # routing only sends groups here
            if name_key(name) in siblings:
                raise Failure(f"A job already exists with the name ‘{name}’")
            if mode == "copy":
                source = self._resolve_copy_source(req.param("from"), parent)
                item_type, config = source.type, _clone(source.config)
            elif is_xml:
                # createProjectFromXML re-checks the trimmed name
                check_good_name(name)
                item_type, config = parse_config(req.body, set(self.plugins))
                siblings[name_key(name)] = Item(name, parent, item_type, config)
                return Reply(200)
            else:
                if mode is None:
                    raise Failure("No mode given")
                found = self._installed_types().get(mode)
                if found is None:
                    raise Failure(f"No item type ‘{mode}’ is known")
                check_good_name(name)
                item_type, config = found, blank_config(found)
            item = Item(name, parent, item_type, config)
            siblings[name_key(name)] = item
        return self._redirect(req, self._item_path(item) + "configure")

    def _resolve_copy_source(self, source: str | None, parent: Item | None) -> Item:
        """mirrors Jenkins.getItem(String, ItemGroup): relative to the parent, or absolute."""
        if not source:
            raise Failure("Specify which job to copy")
        found: Item | None = None
        if source.startswith("/"):
            node_children: dict[str, Item] | None = self._root
            for part in source.strip("/").split("/"):
                found = node_children.get(name_key(part)) if node_children is not None else None
                node_children = self._children(found) if found is not None else None
        else:
            siblings = self._children(parent)
            found = siblings.get(name_key(source)) if siblings is not None else None
        if found is None:
            raise Failure(f"No such job: {source}")
        return found

    def _config_xml(self, req: _Request, item: Item) -> Reply:
        """mirrors AbstractItem.doConfigDotXml / updateByXml."""
        if req.method == "GET":
            with self._lock:
                text = item.config_xml(self.plugins)
            return Reply(200, text.encode(), "application/xml")
        if req.method != "POST":
            return self._container_error(400, "Bad Request", req.path)
        item_type, config = parse_config(req.body, set(self.plugins))
        if item_type is not item.type:
            raise ConfigError(
                f"Expecting class {item.type.class_name} but got class "
                f"{item_type.class_name} instead"
            )
        with self._lock:
            item.config = config
        return Reply(200)

    def _delete(self, req: _Request, item: Item) -> Reply:
        """mirrors AbstractItem.doDoDelete: a folder takes its children with it."""
        with self._lock:
            self._delete_tree(item)
        return self._redirect(req, self._item_path(item.parent))

    def _delete_tree(self, item: Item) -> None:
        """mirrors AbstractItem.delete: children first (a failure stops the delete with
        "Failed to delete <child>"), then the item's files, then ``parent.onDeleted``, which
        in AbstractFolder removes the child and only then loops over the folder's views, so a
        half-built holder fails the request after the item is already gone."""
        for child in item.sorted_children():
            try:
                self._delete_tree(child)
            except HalfBuilt as e:
                raise HalfBuilt(
                    f"java.io.IOException: Failed to delete {child.full_display_name}\n"
                    f"Caused by: {e}"
                ) from e
        siblings = self._children(item.parent)
        assert siblings is not None
        siblings.pop(name_key(item.name), None)
        if item.parent is not None:
            item.parent.require_views()

    # ---- builds and branches (test helpers for what a controller does on its own) ----------

    def _build(self, req: _Request, item: Item, rest: str) -> Reply:
        """mirrors ParameterizedJobMixIn.doBuild / doBuildWithParameters: 201 and the queue
        item's URL. The build runs at once and succeeds (see ``build``)."""
        with self._lock:
            if item.disabled:
                message = f"{item.full_name} is not buildable"
                return self._container_error(409, message, req.path)
            parameters = "properties/hudson.model.ParametersDefinitionProperty"
            parameterized = item.config.find(parameters) is not None
            if rest == "build" and parameterized and req.param("json") is None:
                # ParametersDefinitionProperty._doBuild -> StaplerRequest.getSubmittedForm
                return self._oops(
                    "jakarta.servlet.ServletException: This page expects a form submission"
                )  # status assumed: an uncaught ServletException
            if rest == "buildWithParameters" and not parameterized:
                message = f"{item.full_name} is not parameterized"
                return self._container_error(400, message, req.path)
            self._run_build(item)
            self._queue_ids += 1
            queue_id = self._queue_ids
        return Reply(201, b"", None, [("Location", f"{req.base_url}queue/item/{queue_id}/")])

    def _run_build(self, item: Item) -> None:
        if item.type is not WORKFLOW_JOB:
            raise ValueError(f"{item.full_name} is not a pipeline job")
        if item.disabled:
            raise ValueError(f"{item.full_name} is not buildable")
        run_declarative_build(item.config, self.plugins.get("pipeline-model-definition"))
        item.builds += 1

    def build(self, full_name: str) -> None:
        """Run one successful build of a declarative pipeline job and save the job as
        pipeline-model-definition does (``jenkins_bridge.testing.declarative``)."""
        with self._lock:
            self._run_build(self._find(full_name))

    def add_branch(self, project: str, branch: str) -> None:
        """What branch indexing does: a multibranch project gets a pipeline job per branch."""
        with self._lock:
            owner = self._find(project)
            if owner.type is not MULTIBRANCH:
                raise ValueError(f"{project} is not a multibranch project")
            config = blank_config(WORKFLOW_JOB)
            owner.children[name_key(branch)] = Item(branch, owner, WORKFLOW_JOB, config)

    def _find(self, full_name: str) -> Item:
        children: dict[str, Item] | None = self._root
        found: Item | None = None
        for part in full_name.split("/"):
            found = children.get(name_key(part)) if children is not None else None
            if found is None:
                raise KeyError(full_name)
            children = self._children(found)
        assert found is not None
        return found


def _clone(config: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(config))


def _kind_of(path: str) -> str:
    """Endpoint kind for the counters, from the last meaningful path segments."""
    segments = [s for s in path.split("/") if s]
    if not segments:
        return "root"
    if segments[0] in ("crumbIssuer", "pluginManager", "me"):
        return segments[0]
    if segments[-2:] == ["api", "json"]:
        return "api/json"
    if len(segments) >= 2 and segments[-2] == "job":
        return "job"
    return segments[-1]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: JenkinsEmulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, sock: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)

    def close_connections(self) -> None:
        """Keep-alive handler threads would otherwise keep serving after stop()."""
        with self._connections_lock:
            for sock in list(self._connections):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._connections.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; Nagle + delayed ACK would add 40 ms each
    disable_nagle_algorithm = True
    server: _Server
    timeout = 60

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log lives in JenkinsEmulator.requests

    def version_string(self) -> str:
        return "Jetty(12.0.22)"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        emulator.requests.record(self.command, self.path, _kind_of(split.path))
        faults = emulator.faults
        if faults is not None:
            outcome, status, delay = faults.decide()
            if delay > 0:
                time.sleep(delay)
            if outcome != "ok":
                emulator.requests.record_fault(outcome)
            if outcome == "reset":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if outcome == "error":
                page = JenkinsEmulator._page(f"Error {status}", "injected fault")
                self._write(Reply(status, page, "text/html;charset=utf-8"))
                return
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = _Request(
            method=self.command,
            path=split.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            base_url=_base_url(headers, emulator),
        )
        if (req.content_type or "").startswith("application/x-www-form-urlencoded"):
            req.form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        try:
            reply = emulator.handle(req)
        except Exception as e:  # a bug in the emulator: answer like Jenkins' oops page
            reply = emulator._oops(f"{type(e).__name__}: {e}")
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, _header_safe(value))
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


def _header_safe(value: str) -> str:
    """Jetty writes header values as ISO-8859-1 and replaces what does not fit (assumed)."""
    return "".join(c if ord(c) <= 0xFF and c not in "\r\n" else "?" for c in value)


def _base_url(headers: dict[str, str], emulator: JenkinsEmulator) -> str:
    """mirrors jenkins.model.Jenkins.getRootUrlFromRequest (X-Forwarded-*, else Host)."""
    proto = headers.get("x-forwarded-proto", "http").split(",")[0].strip()
    host_header = headers.get("x-forwarded-host") or headers.get("host")
    host_header = (host_header or f"{emulator.host}:{emulator.port}").split(",")[0].strip()
    host, port = host_header, ""
    head, sep, tail = host_header.rpartition(":")
    if sep and tail.isdigit() and not head.endswith(":"):
        host, port = head, tail
    port = headers.get("x-forwarded-port", port)
    default = {"http": "80", "https": "443"}.get(proto)
    netloc = host if not port or port == default else f"{host}:{port}"
    return f"{proto}://{netloc}/"


def serve(
    host: str, port: int, users: dict[str, str], *, plugins: dict[str, str] | None = None
) -> None:
    """Run an emulator in the foreground until Ctrl-C."""
    emulator = JenkinsEmulator(host=host, port=port, users=users, plugins=plugins)
    emulator.start()
    names = ", ".join(sorted(users)) or "(none)"
    print(f"Jenkins emulator listening on {emulator.url}", file=sys.stderr)
    print(f"users: {names} (authenticate with the API token you configured)", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
