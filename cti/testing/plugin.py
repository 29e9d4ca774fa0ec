"""pytest plugin (entry point ``pytest11``: ``cti``): fixtures for testing against a simulated site.

Fixtures (each test gets its own site; see docs/testing.md)::

    cti_site_overrides   # override in your conftest.py: a dict merged over the site configuration
    cti_site             # SimulatedSite, in-process, ready (ServerReady seen)
    cti_client           # BusClient on cti_site (plain mode: the integrator account)
    cti_trace            # EventTrace of cti_site from its first event
    cti_site_process     # SiteProcess: the same site as a `cti-server` subprocess, ready

Nothing is imported until a fixture is used, so the plugin costs nothing to runs that do not.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from cti.bus.client import BusClient
    from cti.testing.harness import EventTrace, SimulatedSite, SiteProcess


@pytest.fixture
def cti_site_overrides() -> dict[str, Any]:
    """Configuration merged over the simulated site's defaults (``{"trunk": [...]}`` replaces
    the trunks; ``{"contact": {...}}`` adds a contact centre). Override it in a conftest.py."""
    return {}


@pytest.fixture
def cti_site(cti_site_overrides: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedSite]:
    """A simulated board + exchanges + cti-server in this process, every span ready."""
    from cti.testing.harness import SimulatedSite
    site = SimulatedSite(cti_site_overrides, directory=str(_short_dir(tmp_path_factory))).start()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture
def cti_client(cti_site: SimulatedSite) -> Iterator[BusClient]:
    """A bus client connected to :func:`cti_site`."""
    with cti_site.client() as c:
        yield c


@pytest.fixture
def cti_trace(cti_site: SimulatedSite) -> Iterator[EventTrace]:
    """Every event of :func:`cti_site` from seq 1 on (``wait_for``, ``of_call``, ``assert_sequence``)."""
    trace = cti_site.trace()
    try:
        yield trace
    finally:
        trace.close()


@pytest.fixture
def cti_site_process(cti_site_overrides: dict[str, Any],
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteProcess]:
    """The simulated site run as a ``cti-server`` subprocess, every span ready."""
    from cti.testing.harness import SiteProcess
    site = SiteProcess(cti_site_overrides, directory=str(_short_dir(tmp_path_factory))).start()
    try:
        yield site
    finally:
        site.stop()


def _short_dir(factory: pytest.TempPathFactory) -> Any:
    """A scratch directory whose ipc:// socket paths fit the 107-byte limit of a Unix socket."""
    import tempfile
    d = factory.mktemp("cti")
    if len(str(d)) > 80:
        return tempfile.mkdtemp(prefix="cti-")
    return d
