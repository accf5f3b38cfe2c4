"""Typed errors of the Jenkins adapter: what went wrong, on which URL or item, and what to do.

python-jenkins folds 401, 403 and 500 into one message; the adapter classifies the HTTP status
itself (``transport.translate_error``, the one place) so callers can react to each case. No
error carries secrets.
"""

from __future__ import annotations

from typing import TypedDict, Unpack
from urllib.parse import urlsplit

from jenkins_bridge.errors import BridgeError


class RequestEvidence(TypedDict, total=False):
    """Where a request failed: its URL, the item it was about, the HTTP status it got."""

    url: str | None
    item: str | None
    status: int | None


class JenkinsError(BridgeError):
    """A request to the controller failed. ``url`` is the request URL (never credentials);
    ``status`` the HTTP status and ``body`` an excerpt of the answer, when there was one."""

    code = "jenkins"
    retryable = False

    def __init__(
        self, message: str, *, hint: str | None = None, **evidence: Unpack[RequestEvidence]
    ) -> None:
        super().__init__(message, hint=hint)
        self.url = evidence.get("url")
        self.item = evidence.get("item")
        self.status = evidence.get("status")
        self.body: str | None = None
        self.attempts = 1  # how many times the request was sent before this error


def safe_url(url: str) -> str:
    """``url`` without userinfo: it may hold a password, so it is never echoed."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return parts._replace(netloc=netloc).geturl()
    return url


class NotFound(JenkinsError):
    code = "not-found"


class AuthFailed(JenkinsError):
    """401: the user or API token is wrong."""

    code = "auth-failed"


class PermissionDenied(JenkinsError):
    """403: authenticated (or anonymous) but not allowed."""

    code = "permission-denied"


class CrumbRejected(PermissionDenied):
    """403 "No valid crumb": the client fetches a fresh crumb and retries once."""

    code = "crumb-rejected"


class Conflict(JenkinsError):
    """An item of that name already exists."""

    code = "conflict"


class BadRequest(JenkinsError):
    """400 (other than a duplicate name), 405, ...: the request itself was refused."""

    code = "bad-request"


class ServerError(JenkinsError):
    """5xx: the controller failed; retried with backoff before it surfaces."""

    code = "server-error"
    retryable = True


class ControllerUnreachable(JenkinsError):
    """No HTTP answer: refused, reset, timed out, DNS; retried before it surfaces."""

    code = "unreachable"
    retryable = True
