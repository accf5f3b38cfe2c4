"""The Jenkins adapter: typed errors, retries, crumbs, rate cap, secrets kept out of messages."""

from __future__ import annotations

import time
from typing import Any

import pytest

from jenkins_bridge.jenkins import (
    AuthFailed,
    Conflict,
    ControllerUnreachable,
    Credentials,
    CrumbRejected,
    JenkinsClient,
    NotFound,
    PermissionDenied,
    RetryPolicy,
    ServerError,
    TokenBucket,
)
from jenkins_bridge.jenkins.client import item_path, item_tree_path
from jenkins_bridge.testing import FaultInjection, JenkinsEmulator

from .conftest import TOKEN, USER

FOLDER = (
    "<com.cloudbees.hudson.plugins.folder.Folder><description>x</description>"
    "</com.cloudbees.hudson.plugins.folder.Folder>"
)


def no_wait() -> RetryPolicy:
    return RetryPolicy(attempts=3, sleep=lambda _: None)


def client(url: str, token: str = TOKEN, **kwargs: Any) -> JenkinsClient:
    return JenkinsClient(url, Credentials(USER, token), max_rps=0, retry=no_wait(), **kwargs)


def test_paths() -> None:
    assert item_path("a b/c%d") == "job/a%20b/job/c%25d/"
    fields = "name,fullName,description,color,_class"
    # Three levels in full (teams, jobs, branches), then only names: who holds more.
    assert item_tree_path() == (
        f"api/json?tree=jobs[{fields},jobs[{fields},jobs[{fields},jobs[name]]]]"
    )


def test_item_tree_lists_every_depth(emulator: JenkinsEmulator) -> None:
    """Items below the levels one request lists are fetched with one request per group that
    holds them, so nothing hides deep in a hand-made folder."""
    good = client(emulator.url)
    for folder in ("team", "team/a", "team/a/b", "team/a/b/c", "team/a/b/c/d", "team/e"):
        good.create_item(folder, FOLDER)
    good.create_item("team/a/b/c/d/deep", FOLDER)
    emulator.reset_counters()
    names: list[str] = []
    stack = list(good.item_tree())
    while stack:
        job = stack.pop()
        names.append(job["fullName"])
        stack.extend(job.get("jobs", []))
    assert sorted(names) == [
        "team",
        "team/a",
        "team/a/b",
        "team/a/b/c",
        "team/a/b/c/d",
        "team/a/b/c/d/deep",
        "team/e",
    ]
    # the root listing, then team/a/b (holds c at level 4), nothing below d/deep's level
    assert emulator.requests.total == 2


def test_typed_errors(emulator: JenkinsEmulator) -> None:
    good = client(emulator.url)
    with pytest.raises(NotFound):
        good.get_config("nope/job")
    good.create_item("team", FOLDER)
    with pytest.raises(Conflict):
        good.create_item("team", FOLDER)
    with pytest.raises(NotFound, match="folder missing does not exist"):
        good.create_item("missing/job", FOLDER)
    with pytest.raises(AuthFailed) as auth:
        client(emulator.url, token="not-the-token").plugins()
    assert "not-the-token" not in str(auth.value) + (auth.value.hint or "")
    anonymous = JenkinsClient(emulator.url, Credentials(), max_rps=0)
    with pytest.raises(PermissionDenied, match="permission denied") as denied:
        anonymous.item_tree()
    assert "JENKINS_TOKEN" in (denied.value.hint or "")
    assert "token123" not in repr(good.credentials)


def test_retries_then_server_error(emulator: JenkinsEmulator) -> None:
    emulator.faults = FaultInjection(error_rate=1.0, seed=1)
    flaky = client(emulator.url)
    with pytest.raises(ServerError) as error:
        flaky.plugins()
    assert error.value.attempts == 3 and emulator.requests.total == 3
    assert flaky.stats.retries == 2


def test_resets_are_retried(emulator: JenkinsEmulator) -> None:
    emulator.faults = FaultInjection(reset_rate=0.5, seed=3)
    flaky = client(emulator.url)
    flaky.retry = RetryPolicy(attempts=10, sleep=lambda _: None)
    for _ in range(10):
        flaky.plugins()
    assert emulator.requests.resets_injected > 0


def test_unreachable() -> None:
    with JenkinsEmulator() as emu:
        url = emu.url
    with pytest.raises(ControllerUnreachable, match="cannot connect"):
        client(url).plugins()


def test_crumb_is_fetched_once_on_rejection(
    emulator: JenkinsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    jc = client(emulator.url)
    calls: list[tuple[str, str, dict[str, str]]] = []
    real = jc._send_once

    def fake(method: str, path: str, data: Any, headers: Any, item: Any) -> Any:
        calls.append((method, path, dict(jc._crumb or {})))
        if method == "POST" and not jc._crumb:
            raise CrumbRejected("crumb rejected")
        return real(method, path, data, headers, item)

    monkeypatch.setattr(jc, "_send_once", fake)
    jc.create_item("team", FOLDER)
    jc.create_item("team2", FOLDER)
    assert [c[:2] for c in calls] == [
        ("POST", "createItem?name=team"),
        ("GET", "crumbIssuer/api/json"),
        ("POST", "createItem?name=team"),
        ("POST", "createItem?name=team2"),
    ]
    assert calls[2][2] == {"Jenkins-Crumb": calls[2][2]["Jenkins-Crumb"]}


def test_token_bucket_caps_the_rate() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(10, burst=5, clock=lambda: now[0], sleep=sleep)
    for _ in range(25):
        bucket.acquire()
    assert now[0] == pytest.approx(2.0)  # 5 free, then 20 at 10/s
    assert TokenBucket(0).acquire() == 0.0


def test_client_respects_max_rps(emulator: JenkinsEmulator) -> None:
    capped = JenkinsClient(emulator.url, Credentials(USER, TOKEN), max_rps=40, retry=no_wait())
    capped.bucket = TokenBucket(40, burst=1)
    started = time.monotonic()
    for _ in range(20):
        capped.plugins()
    assert time.monotonic() - started >= 0.45


def test_url_with_credentials_is_refused() -> None:
    with pytest.raises(Exception, match="must not contain credentials") as error:
        JenkinsClient("http://u:secret@127.0.0.1/", Credentials())
    assert "secret" not in str(error.value)


def canned(status: int, body: str, headers: dict[str, str] | None = None) -> Any:
    """A ``requests.Response`` as the controller would send it, without a controller."""
    import requests

    response = requests.Response()
    response.status_code = status
    response._content = body.encode("utf-8")
    response.headers.update(headers or {})
    response.encoding = "utf-8"
    return response


def test_translate_error_keeps_status_url_and_an_excerpt() -> None:
    from jenkins_bridge.jenkins.transport import EXCERPT_LENGTH, translate_error

    page = "<html>\n  <body>" + "Jenkins stack trace " * 100 + "</body></html>"
    error = translate_error(
        "http://u:secret@127.0.0.1/job/a/config.xml",
        "a",
        Credentials(USER, TOKEN),
        response=canned(500, page),
    )
    assert isinstance(error, ServerError) and error.status == 500 and error.retryable
    assert error.url == "http://127.0.0.1/job/a/config.xml"
    assert error.body is not None and error.body.startswith("<html> <body>Jenkins stack trace")
    assert len(error.body) == EXCERPT_LENGTH
    late_crumb = "x" * 5000 + "No valid crumb was included in the request"
    rejected = translate_error(
        "http://h/createItem", None, Credentials(), response=canned(403, late_crumb)
    )
    assert isinstance(rejected, CrumbRejected)
    conflict = translate_error(
        "http://h/createItem",
        "t",
        Credentials(),
        response=canned(400, "", {"X-Error": "A job already exists with the name t"}),
    )
    assert isinstance(conflict, Conflict) and conflict.body is None


def test_no_redirect_is_followed(emulator: JenkinsEmulator) -> None:
    """Jenkins answers doDelete/disable with a 302 to a page: one request each, not two."""
    jc = client(emulator.url)
    jc.create_item("team", FOLDER)
    jc.create_item("team/app", "<flow-definition><disabled>false</disabled></flow-definition>")
    emulator.reset_counters()
    jc.disable("team/app")
    jc.delete("team/app")
    assert emulator.requests.total == 2
