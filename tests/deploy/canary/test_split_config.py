"""The proxy's canary split: weights per step, its own request log, and the file read back
(``status`` and the next deploy learn the split from the proxy itself)."""

from __future__ import annotations

import pytest

from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.proxy import (
    Split,
    canary_log_path,
    render_proxy_config,
    render_split_config,
    split_of,
    upstream_of,
)

STABLE, CANARY = "198.19.200.2:8080", "198.19.200.3:8080"


def _split(percent: int, step: int = 1) -> Split:
    return Split(STABLE, CANARY, percent, step, 3, "jb-x-app-7", canary_log_path(7, step))


def test_a_step_weights_both_upstreams_and_logs_each_request() -> None:
    text = render_split_config(_split(10))
    assert f"server {STABLE} weight=90;  # stable" in text
    assert f"server {CANARY} weight=10;  # canary" in text
    assert "proxy_pass http://jenkins_bridge_split;" in text
    assert "access_log /var/log/nginx/jenkins-bridge-canary-7-1.log jenkins_bridge_canary;" in text
    assert "'$msec|$upstream_addr|$upstream_status|$upstream_response_time|$status'" in text


def test_at_100_percent_the_stable_version_gets_nothing_but_stays_declared() -> None:
    text = render_split_config(_split(100, 3))
    assert f"server {STABLE} down;  # stable" in text
    assert f"server {CANARY} weight=100;  # canary" in text


def test_the_split_is_read_back_and_the_stable_version_is_the_live_one() -> None:
    split = _split(50, 2)
    text = render_split_config(split)
    assert split_of(text) == split
    assert upstream_of(text) == STABLE
    assert split.describe() == "canary jb-x-app-7 at 50 %, step 2/3"
    plain = render_proxy_config(STABLE)
    assert split_of(plain) is None and upstream_of(plain) == STABLE
    assert "access_log" not in plain


@pytest.mark.parametrize(
    "split",
    [
        Split("evil;", CANARY, 10, 1, 3, "c", "/var/log/nginx/x.log"),
        Split(STABLE, CANARY, 0, 1, 3, "c", "/var/log/nginx/x.log"),
        Split(STABLE, CANARY, 10, 1, 3, "c", "/var/log/nginx/x.log; evil"),
    ],
)
def test_only_validated_values_reach_the_text(split: Split) -> None:
    with pytest.raises(DeployError):
        render_split_config(split)
