"""Test a CRM or dialler integration against a simulated site, from your own repository.

``pip install e1cti`` registers a pytest plugin (entry point ``pytest11``: ``cti``) with
fixtures that start a simulated board, the far-end exchanges and a cti-server — in-process
(:class:`SimulatedSite`) or as a subprocess (:class:`SiteProcess`) — wait until every span is
ready (the ``ServerReady`` event), hand out bus clients, place scripted calls from the
network and record the event trace for assertions. See docs/testing.md.
"""
from __future__ import annotations

from cti.testing.harness import EventTrace, SimulatedSite, SiteProcess, site_config

__all__ = ["EventTrace", "SimulatedSite", "SiteProcess", "site_config"]
