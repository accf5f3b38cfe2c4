"""Subnet rules without an engine: allocation from a pool, refused ranges as a setting."""

from __future__ import annotations

import ipaddress

import pytest

from jenkins_bridge.deploy.errors import NoSubnet
from jenkins_bridge.deploy.target import check_subnet
from jenkins_bridge.descriptor.networks import allocate_subnet, overlapping

POOL = "198.18.0.0/15"


def test_allocation_is_stable_per_environment_and_skips_what_is_taken() -> None:
    first = allocate_subnet(POOL, [], [], "jb-t-app-test-0123456789")
    assert first is not None
    assert ipaddress.IPv4Network(first).subnet_of(ipaddress.IPv4Network(POOL))
    assert ipaddress.IPv4Network(first).prefixlen == 24
    assert allocate_subnet(POOL, [], [], "jb-t-app-test-0123456789") == first
    other = allocate_subnet(POOL, [], [], "jb-t-web-test-9876543210")
    assert other != first  # environments spread over the pool
    moved = allocate_subnet(POOL, [first, "198.0.0.0/8"], [], "jb-t-app-test-0123456789")
    assert moved is None  # every /24 of the pool overlaps the taken /8
    again = allocate_subnet(POOL, [first], ["198.19.0.0/16"], "jb-t-app-test-0123456789")
    assert again is not None and again != first
    assert overlapping(again, [first, "198.19.0.0/16"]) is None


def test_a_full_pool_allocates_nothing() -> None:
    assert allocate_subnet("198.18.7.0/24", ["198.18.7.128/25"], [], "k") is None


def test_private_ranges_are_refused_only_when_the_setting_says_so() -> None:
    refused = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    for subnet in ("10.1.0.0/24", "172.17.0.0/16", "192.168.1.0/24"):
        with pytest.raises(NoSubnet, match="refused range"):
            check_subnet(subnet, "svc.yaml", refused)
        assert check_subnet(subnet, "svc.yaml") == subnet  # no setting: a subnet like any
    with pytest.raises(NoSubnet, match="special range"):
        check_subnet("127.0.0.0/24", "svc.yaml")
