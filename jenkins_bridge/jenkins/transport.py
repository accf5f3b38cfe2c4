"""The one HTTP session of our own to a Jenkins controller, and the one error translator.

python-jenkins keeps its ``requests.Session`` private, follows every redirect and folds 401,
403 and 500 into one message, so through its public surface the adapter could not read a
status, manage crumbs itself, or POST without a second request. Every request of the adapter
therefore goes through ``ControllerSession.send``, and every failure becomes a typed
``errors.JenkinsError`` in ``translate_error`` (the model is docker-py's
``create_api_error_from_http_exception``: status + URL + body excerpt -> a typed error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict, Unpack

import requests
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth

from jenkins_bridge.jenkins import errors

if TYPE_CHECKING:
    from jenkins_bridge.jenkins.client import Credentials

# How much of an error page an error keeps as evidence; Jenkins' error pages are long HTML.
EXCERPT_LENGTH = 300


class RequestParts(TypedDict, total=False):
    """What a request carries besides its method and URL; ``item`` is the Jenkins item it is
    about, named in its errors."""

    data: bytes | None
    headers: Mapping[str, str] | None
    item: str | None


class ControllerSession:
    """The adapter's ``requests.Session`` to one controller, configured in one place:

    - HTTP basic auth (user and API token) on every request, as python-jenkins sends it;
      anonymous when either is missing. The token is never put in a URL or a message.
    - A pool of ``pool_size`` connections to the controller, so that many worker threads
      sharing this session stay parallel (requests' default pool holds 10).
    - No transport retries (``max_retries=0``): ``JenkinsClient`` retries with backoff and
      counts every try, so the counts the tests pin are the requests actually sent.
    - Redirects are never followed: Jenkins answers a POST to ``doDelete``, ``disable`` or
      ``createItem`` with a 302 to a page, which only means "done"; a 3xx is a success.
    - ``timeout`` seconds per request; proxies and CA bundles come from the environment as
      requests reads them.

    ``send`` returns the response of a success (status < 400) and raises the ``errors.JenkinsError``
    that ``translate_error`` makes of anything else. It is safe to share between threads.
    """

    def __init__(
        self, base_url: str, credentials: Credentials, *, timeout: float, pool_size: int
    ) -> None:
        self.credentials = credentials
        self.timeout = timeout
        self._session = requests.Session()
        if credentials.user and credentials.token:
            # UTF-8, as python-jenkins sends them (requests would encode a str as Latin-1)
            self._session.auth = HTTPBasicAuth(
                credentials.user.encode("utf-8"), credentials.token.encode("utf-8")
            )
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._session.mount(base_url, adapter)

    def send(self, method: str, url: str, **parts: Unpack[RequestParts]) -> requests.Response:
        item = parts.get("item")
        try:
            response = self._session.request(
                method,
                url,
                data=parts.get("data"),
                headers=dict(parts.get("headers") or {}),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise translate_error(url, item, self.credentials, failure=exc) from None
        if response.status_code >= 400:
            raise translate_error(url, item, self.credentials, response=response) from None
        return response


def translate_error(
    url: str,
    item: str | None,
    credentials: Credentials,
    *,
    response: requests.Response | None = None,
    failure: requests.RequestException | None = None,
) -> errors.JenkinsError:
    """The typed error for a request to ``url`` (about ``item``, if any) that got an error
    ``response``, or no answer at all (``failure``)."""
    safe = errors.safe_url(url)
    if response is not None:
        return _from_status(response, safe, item, credentials)
    if isinstance(failure, requests.Timeout):
        return errors.ControllerUnreachable(
            f"{safe} timed out",
            url=safe,
            item=item,
            hint="the controller is overloaded or down; retry later or lower --max-rps/--workers",
        )
    if isinstance(failure, requests.ConnectionError):
        text = str(failure)
        reason = "connection reset" if "reset" in text.lower() else "cannot connect"
        if "RemoteDisconnected" in text or "Connection aborted" in text:
            reason = "connection closed without a response"
        return errors.ControllerUnreachable(
            f"{reason}: {safe}",
            url=safe,
            item=item,
            hint="check --jenkins / $JENKINS_URL and that the controller is up",
        )
    return errors.JenkinsError(
        f"request to {item or safe} failed: {type(failure).__name__}", url=safe, item=item
    )


def _excerpt(text: str) -> str | None:
    return " ".join(text.split())[:EXCERPT_LENGTH] or None


def _from_status(
    response: requests.Response, url: str, item: str | None, credentials: Credentials
) -> errors.JenkinsError:
    status = int(response.status_code)
    text = response.text or ""  # requests decodes with errors="replace": never raises
    kind, message, hint = _meaning(response, text, item or url, url, credentials)
    error = kind(message, url=url, item=item, status=status, hint=hint)
    error.body = _excerpt(text)
    return error


_Meaning = tuple[type[errors.JenkinsError], str, str | None]  # error class, message, hint


def _meaning(
    response: requests.Response, text: str, what: str, url: str, credentials: Credentials
) -> _Meaning:
    """What an error status means, named by the item (or URL) the request was about."""
    status = int(response.status_code)
    error_header = response.headers.get("X-Error", "")
    if status == 400 and "already exists" in error_header:
        return errors.Conflict, f"{what} already exists", None
    if status == 400:
        refused = f"Jenkins refused {what}: {error_header or response.reason}"
        return errors.BadRequest, refused, "check the item name and config"
    if status == 401:
        return (
            errors.AuthFailed,
            f"authentication failed at {url} (401)",
            "check $JENKINS_USER and $JENKINS_TOKEN (an API token from <jenkins>/me/configure)",
        )
    if status == 403 and "No valid crumb" in f"{text} {response.reason}":
        return errors.CrumbRejected, f"crumb rejected at {url}", None
    if status == 403:
        needed = response.headers.get("X-Required-Permission")
        if credentials.anonymous:
            hint = "set $JENKINS_USER and $JENKINS_TOKEN; anonymous access is not allowed"
        else:
            hint = f"ask a Jenkins admin to grant {credentials.user} " + (
                needed or "Job/Create, Job/Configure, Job/Delete and Overall/Read"
            )
        return errors.PermissionDenied, f"permission denied for {what} (403)", hint
    if status == 404:
        return errors.NotFound, f"{what} not found (404)", None
    if status >= 500:
        return (
            errors.ServerError,
            f"Jenkins failed on {what} ({status})",
            "check the controller's log; a re-run resumes where this one stopped",
        )
    return errors.BadRequest, f"unexpected answer {status} for {what}", None
