"""Reading the engine's build and push streams (canned entries, no engine)."""

from __future__ import annotations

import pytest

from jenkins_bridge.containers.streams import (
    BuildProgress,
    PushFailureKind,
    PushProgress,
    classify_push_error,
)

FAILING_BUILD = [
    {"stream": "Step 1/3 : FROM base"},
    {"stream": "\n"},
    {"stream": " ---> 20513f847bcf\n"},
    {"stream": "Step 2/3 : RUN echo preparing && echo boom && exit 3"},
    {"stream": "\n"},
    {"stream": " ---> Running in f1c6ec61acbf\n"},
    {"stream": "preparing\nboo"},
    {"stream": "m\n"},
    {
        "errorDetail": {"code": 3, "message": "The command '/bin/sh -c exit 3' returned 3"},
        "error": "The command '/bin/sh -c exit 3' returned 3",
    },
]


def test_build_progress_names_the_failing_step_and_its_last_lines() -> None:
    progress = BuildProgress()
    lines = [line for entry in FAILING_BUILD for line in progress.feed(entry)]
    assert "Step 2/3 : RUN echo preparing && echo boom && exit 3" in lines
    assert "boom" in lines  # a line split across two entries is joined
    assert progress.step == "2/3 RUN echo preparing && echo boom && exit 3"
    assert progress.last_lines == ["preparing", "boom"]
    assert progress.error == "The command '/bin/sh -c exit 3' returned 3"
    assert progress.image_id is None


def test_build_progress_reports_the_image_id() -> None:
    progress = BuildProgress()
    progress.feed({"stream": "Successfully built 2ded5eb094dd"})
    progress.feed({"aux": {"ID": "sha256:2ded"}})
    assert progress.finish() == ["Successfully built 2ded5eb094dd"]
    assert progress.image_id == "sha256:2ded"
    assert progress.error is None


def test_push_progress_logs_state_changes_and_keeps_the_digest() -> None:
    progress = PushProgress()
    entries = [
        {"status": "The push refers to repository [r/app]"},
        {"status": "Pushing", "progressDetail": {"current": 1}, "id": "aaa"},
        {"status": "Pushing", "progressDetail": {"current": 2}, "id": "aaa"},
        {"status": "Pushed", "progressDetail": {}, "id": "aaa"},
        {"status": "t: digest: sha256:abc size: 943"},
        {"progressDetail": {}, "aux": {"Tag": "t", "Digest": "sha256:abc", "Size": 943}},
    ]
    lines = [line for entry in entries for line in progress.feed(entry)]
    assert lines == [
        "The push refers to repository [r/app]",
        "aaa: Pushing",
        "aaa: Pushed",
        "t: digest: sha256:abc size: 943",
    ]
    assert progress.result is not None
    assert progress.result.digest == "sha256:abc"
    assert progress.error is None


def test_push_progress_records_error_entries() -> None:
    progress = PushProgress()
    progress.feed({"status": "Preparing", "id": "aaa"})
    progress.feed({"errorDetail": {"message": "no basic auth credentials"}, "error": "x"})
    assert progress.error == "no basic auth credentials"
    assert progress.result is None


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (
            'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
            PushFailureKind.UNREACHABLE,
        ),
        ("no basic auth credentials", PushFailureKind.AUTH),
        ("unauthorized: authentication required", PushFailureKind.AUTH),
        ("denied: requested access to the resource is denied", PushFailureKind.AUTH),
        ("tag does not exist: r/app:nope", PushFailureKind.NOT_FOUND),
        (
            "invalid reference format: repository name must be lowercase",
            PushFailureKind.INVALID_NAME,
        ),
        ("manifest invalid: manifest invalid", PushFailureKind.REJECTED),
        ("name unknown: repository name not known to registry", PushFailureKind.REJECTED),
    ],
)
def test_classify_push_error(message: str, kind: str) -> None:
    assert classify_push_error(message) == kind
