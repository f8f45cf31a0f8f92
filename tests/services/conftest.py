"""Fixtures of the services tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="package")
def local_ray():
    """A Ray instance of this machine only, started as ``--ray auto`` starts one (its processes end
    with ray.shutdown). Started once for the services tests that use it (test_farm, test_video_farm):
    a start costs seconds of both cores."""
    ray = pytest.importorskip("ray", reason="the [farm] extra (Ray) is installed by the test set-up")
    from nst_desktop.services.farm import connect, existing_cluster

    assert not ray.is_initialized()
    if existing_cluster(ray) is not None:
        pytest.skip("this machine belongs to a Ray cluster: --ray auto would join it")
    connect("auto", num_cpus=2)
    yield ray
    ray.shutdown()
