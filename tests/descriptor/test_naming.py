"""Object names are unique per (team, service, environment) and fit every engine's rules."""

from __future__ import annotations

import re

from jenkins_bridge.descriptor.naming import (
    DNS_LABEL_MAX,
    ObjectNames,
    fit,
    legacy_base,
    reserved_suffix,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def test_the_triples_the_old_names_confused_get_different_names() -> None:
    pairs = [
        (("t", "rt-col", "x-test"), ("t", "rt-col-x", "test")),
        (("a", "b-c", "prod"), ("a-b", "c", "prod")),
    ]
    for first, second in pairs:
        assert legacy_base(*first) == legacy_base(*second)  # the ambiguity being fixed
        one, two = ObjectNames.of(*first), ObjectNames.of(*second)
        assert one.base != two.base
        assert {one.network, one.proxy, one.state, one.lock, one.app(1)}.isdisjoint(
            {two.network, two.proxy, two.state, two.lock, two.app(1)}
        )


def test_names_stay_readable_and_fit_a_dns_label_at_the_longest() -> None:
    names = ObjectNames.of("payments", "api", "prod")
    assert names.base.startswith("jb-payments-api-prod-")
    longest = "x" * 63
    big = ObjectNames.of(longest, longest, longest)
    for name in (
        big.base,
        big.proxy,
        big.state,
        big.lock,
        big.app(999999),
        big.hook(999999),
        big.exec(4194304),
        big.companion(longest),
        big.volume(longest),
        big.secret("A" * 128, "v12"),
    ):
        assert len(name) <= DNS_LABEL_MAX and DNS_LABEL.match(name), name
    # Cut names still differ where the full names differ.
    assert big.companion("x" * 62 + "a") != big.companion("x" * 62 + "b")
    assert ObjectNames.of(longest, longest, "a").base != ObjectNames.of(longest, longest, "b").base


def test_fit_keeps_short_text_as_it_is() -> None:
    assert fit("jb-a-b-c-store") == "jb-a-b-c-store"
    assert len(fit("y" * 200)) == DNS_LABEL_MAX


def test_adopted_legacy_names_are_not_cut() -> None:
    legacy = ObjectNames.legacy("t", "app", "prod")
    assert legacy.base == "jb-t-app-prod"
    assert legacy.companion("c" * 63) == "jb-t-app-prod-" + "c" * 63


def test_the_deploys_own_suffixes_are_reserved() -> None:
    for name in ("proxy", "state", "lock", "app-1", "hook-12", "exec-3"):
        assert reserved_suffix(name), name
    for name in ("store", "app", "db-1", "proxy-cache"):
        assert not reserved_suffix(name), name
