"""Instant PromQL queries against one Prometheus (``GET /api/v1/query``): one
``requests.Session``, a timeout on every request, and one place (``_answer``) where transport
failures, HTTP statuses and the API's own ``status: error`` become ``PrometheusError``s that
name the server, the query and what it said. Credentials in the URL are never echoed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from jenkins_bridge.errors import BridgeError

DEFAULT_TIMEOUT_SECONDS = 10.0


class PrometheusError(BridgeError):
    """A query failed. ``url`` is the server (without credentials), ``query`` the PromQL,
    ``status`` the HTTP status when there was an answer."""

    code = "prometheus"

    def __init__(
        self,
        message: str,
        *,
        url: str,
        query: str,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.url = url
        self.query = query
        self.status = status


class PrometheusUnreachable(PrometheusError):
    """No answer: refused, timed out, DNS, TLS."""

    code = "prometheus-unreachable"


class PrometheusRefused(PrometheusError):
    """An answer that is not a result: an HTTP error or ``status: error`` (bad PromQL, a
    query timeout on the server, too many samples)."""

    code = "prometheus-refused"


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector: its labels (``__name__`` included when kept) and
    value (``nan`` and ``±inf`` as Prometheus sends them)."""

    labels: dict[str, str] = field(default_factory=dict)
    value: float = math.nan


def shown_url(url: str) -> str:
    """``url`` without userinfo (it may hold a password)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return parts._replace(netloc=netloc).geturl()
    return url


class PrometheusClient:
    """Instant queries against the server at ``url`` (e.g. ``http://127.0.0.1:9090``, or a
    path prefix behind a proxy such as ``https://host/prometheus``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def query(self, promql: str, at: float) -> list[Sample]:
        """The instant vector (or scalar, as one unlabelled sample) of ``promql`` at the Unix
        time ``at``. The server stops evaluating after ``timeout`` too."""
        shown = shown_url(self.url)
        params = {"query": promql, "time": f"{at:.3f}", "timeout": f"{self.timeout:g}"}
        try:
            response = self.session.get(
                f"{self.url}/api/v1/query", params=params, timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise PrometheusUnreachable(
                f"Prometheus {shown} did not answer within {self.timeout:g} s: {promql}",
                url=shown,
                query=promql,
                hint="check deploy[].canary.prometheus and that the server is up",
            ) from exc
        except requests.RequestException as exc:
            words = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else repr(exc)
            raise PrometheusUnreachable(
                f"Prometheus {shown} cannot be reached: {words}",
                url=shown,
                query=promql,
                hint="check deploy[].canary.prometheus and that the server is up",
            ) from exc
        return _answer(response, shown, promql)


def _answer(response: requests.Response, shown: str, promql: str) -> list[Sample]:
    """The result of one query response, or the error it is."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
        excerpt = response.text.strip().replace("\n", " ")[:200]
        raise PrometheusRefused(
            f"Prometheus {shown} answered HTTP {response.status_code} without a query result "
            f"({excerpt or 'empty body'}): {promql}",
            url=shown,
            query=promql,
            status=response.status_code,
            hint="is deploy[].canary.prometheus the server's base URL (no /api/v1 on it)?",
        )
    if body["status"] == "error":
        kind = body.get("errorType") or "error"
        raise PrometheusRefused(
            f"Prometheus {shown} refused the query ({kind}, HTTP {response.status_code}): "
            f"{body.get('error') or 'no reason given'}: {promql}",
            url=shown,
            query=promql,
            status=response.status_code,
        )
    data: Any = body.get("data") or {}
    result_type: Any = data.get("resultType")
    result: Any = data.get("result")
    try:
        if result_type == "vector":
            return [
                Sample({str(k): str(v) for k, v in item["metric"].items()}, float(item["value"][1]))
                for item in result
            ]
        if result_type == "scalar":
            return [Sample({}, float(result[1]))]
    except (TypeError, KeyError, IndexError, ValueError) as exc:
        raise PrometheusRefused(
            f"Prometheus {shown} answered a {result_type} result this client cannot read: {promql}",
            url=shown,
            query=promql,
            status=response.status_code,
        ) from exc
    raise PrometheusRefused(
        f"Prometheus {shown} answered a {result_type} result where an instant vector was "
        "expected: "
        f"{promql}",
        url=shown,
        query=promql,
        status=response.status_code,
    )
