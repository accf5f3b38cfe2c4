"""Provisioning: turn services into Jenkins folders and jobs, touching only what it owns.

``state`` (desired and live items), ``plan`` (pure diffing), ``executor`` (ordered, parallel
apply), ``preflight`` (plugins) and ``session`` (the few requests that tie them together).
``controller`` picks the controller and its credentials; ``commands`` is what the CLI calls.
"""
