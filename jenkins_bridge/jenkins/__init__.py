"""The Jenkins adapter: the only package that talks to a controller (python-jenkins' URL table,
our own ``requests`` session in ``transport``, typed errors in ``errors``)."""

from jenkins_bridge.jenkins.client import ClientStats, Credentials, JenkinsClient, Plugin
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

__all__ = [
    "AuthFailed",
    "BadRequest",
    "ClientStats",
    "Conflict",
    "ControllerUnreachable",
    "Credentials",
    "CrumbRejected",
    "JenkinsClient",
    "JenkinsError",
    "NotFound",
    "PermissionDenied",
    "Plugin",
    "RetryPolicy",
    "ServerError",
    "TokenBucket",
]
