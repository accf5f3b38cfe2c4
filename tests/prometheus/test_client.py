"""The Prometheus adapter against answers a real Prometheus 2.42 gave (``recorded/``, taken
from the per-track queries of ``test_live.py``), served on loopback: results become samples,
and every failure is one ``PrometheusError`` naming the server (never its credentials), the
query and what went wrong."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from jenkins_bridge.prometheus.client import (
    PrometheusClient,
    PrometheusRefused,
    PrometheusUnreachable,
)

RECORDED = Path(__file__).parent / "recorded"
AT = 1796625227.167


Answer = tuple[int, str, str]  # HTTP status, content type, body


@contextmanager
def serving(
    answers: dict[str, Answer] | Callable[[str], Answer],
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback server answering each query (by its text, ``*`` for any; or a function of
    it) with (status, content type, body); yields its URL and the requests it got."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            seen.append({"path": parts.path, **params, "auth": self.headers.get("Authorization")})
            promql = params.get("query", "")
            if callable(answers):
                status, kind, body = answers(promql)
            else:
                status, kind, body = answers.get(promql, answers.get("*", (404, "text/plain", "")))
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def recorded(name: str, status: int = 200) -> Answer:
    return status, "application/json", (RECORDED / f"{name}.json").read_text(encoding="utf-8")


def vector(values: dict[str, float], at: float = AT) -> Answer:
    """An instant vector by track, in the shape of the recorded answers."""
    result = [{"metric": {"track": t}, "value": [at, repr(v)]} for t, v in values.items()]
    body = {"status": "success", "data": {"resultType": "vector", "result": result}}
    return 200, "application/json", json.dumps(body)


def test_a_vector_becomes_labelled_samples_at_the_asked_time() -> None:
    with serving({"*": recorded("p95")}) as (url, seen):
        samples = PrometheusClient(url + "/", timeout=3).query("some_query", AT)
    assert [(s.labels, s.value) for s in samples] == [
        ({"track": "canary"}, pytest.approx(0.46)),
        ({"track": "stable"}, pytest.approx(0.095)),
    ]
    [request] = seen
    assert request["path"] == "/api/v1/query"  # the trailing slash of the URL is no path
    assert request["query"] == "some_query" and request["time"] == f"{AT:.3f}"
    assert request["timeout"] == "3"  # the server stops evaluating too


def test_a_scalar_is_one_unlabelled_sample_and_nothing_is_an_empty_list() -> None:
    with serving({"s": recorded("scalar"), "e": recorded("empty")}) as (url, _):
        client = PrometheusClient(url)
        assert [(s.labels, s.value) for s in client.query("s", AT)] == [({}, 2.5)]
        assert client.query("e", AT) == []


def test_bad_promql_is_refused_with_the_servers_words_and_the_query() -> None:
    with (
        serving({"*": recorded("bad_data", 400)}) as (url, _),
        pytest.raises(PrometheusRefused) as refused,
    ):
        PrometheusClient(url).query("sum(", AT)
    error = refused.value
    assert error.status == 400 and error.query == "sum(" and error.url == url
    assert error.message == (
        f'Prometheus {url} refused the query (bad_data, HTTP 400): invalid parameter "query": '
        "1:5: parse error: unclosed left parenthesis: sum("
    )


def test_a_proxy_error_page_is_refused_naming_the_status() -> None:
    page = (502, "text/html", "<html><body>502 Bad Gateway</body></html>")
    with (
        serving({"*": page}) as (url, _),
        pytest.raises(PrometheusRefused, match="HTTP 502 without a query result") as refused,
    ):
        PrometheusClient(url).query("up", AT)
    assert "502 Bad Gateway" in refused.value.message and refused.value.hint is not None


def test_a_result_of_another_shape_is_refused() -> None:
    matrix = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}})
    with (
        serving({"*": (200, "application/json", matrix)}) as (url, _),
        pytest.raises(PrometheusRefused, match="matrix result where an instant vector"),
    ):
        PrometheusClient(url).query("up[1m]", AT)


def test_credentials_are_sent_but_never_echoed() -> None:
    with serving({"*": recorded("bad_data", 400)}) as (url, seen):
        secret = url.replace("http://", "http://reader:s3cret@")
        with pytest.raises(PrometheusRefused) as refused:
            PrometheusClient(secret).query("sum(", AT)
    assert seen[0]["auth"] is not None  # requests sends the URL's userinfo as basic auth
    assert "s3cret" not in refused.value.message and refused.value.url == url


def test_a_server_that_never_answers_times_out_naming_the_query() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(PrometheusUnreachable, match=r"did not answer within 0.5 s: up$"):
            PrometheusClient(url, timeout=0.5).query("up", AT)
