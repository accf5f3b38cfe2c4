"""Test doubles for jenkins-bridge users: an in-process Jenkins REST API emulator."""

from .emulator import JenkinsEmulator, serve
from .faults import FaultInjection, RequestCounters
from .items import ItemSnapshot

__all__ = ["FaultInjection", "ItemSnapshot", "JenkinsEmulator", "RequestCounters", "serve"]
