"""The batch entry point's channel list, one contract for the DTMF and MF detectors.

``process_channels(samples, now, channels)`` refuses a list with repeats, out-of-range or
non-integer entries and rows that do not match it, and a refused call leaves the detector
usable; the compiled kernels check an int32 array in C and anything else through the twin's
check, so both paths and both builds are held to the same errors here.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from conftest import kernel_impls, load_impl

BLOCK = 160
DETECTORS = {"dtmf": "DtmfDetector", "mf": "MfDetector"}


@pytest.fixture(params=[pytest.param((kind, p), id=f"{kind}-{p.id}")
                        for kind in DETECTORS for p in kernel_impls(kind)])
def detector(request: Any) -> Any:
    """A factory of the detector class: ``detector(channels)``."""
    kind, p = request.param
    return getattr(load_impl(p.values[0]), DETECTORS[kind])


@pytest.mark.parametrize("chans,exc", [
    (np.array([2, 0, 2], np.int32), ValueError), (np.array([0, 3], np.int32), ValueError),
    (np.array([-1], np.int32), ValueError),
    ([0, 0], ValueError), ([1, 1], ValueError), ([3], ValueError), ([-1], ValueError),
    ("01", TypeError), ([0.5], TypeError), ([[0, 1]], ValueError), (5, TypeError),
    (None, TypeError), ([True], TypeError), ([False], TypeError),
])
def test_bad_channel_lists(detector, chans, exc):
    det = detector(3)
    with pytest.raises(exc):
        det.process_channels(np.zeros((1, BLOCK), np.int16), 0.0, chans)


def test_a_refused_list_leaves_the_detector_usable(detector):
    det = detector(3)
    with pytest.raises(ValueError):
        det.process_channels(np.zeros((3, BLOCK), np.int16), 0.0, np.array([1, 2, 1], np.int32))
    # the same channels, listed once each, are accepted right after
    assert det.process_channels(np.zeros((2, BLOCK), np.int16), 0.0, np.array([1, 2], np.int32)) == []
    assert det.process_channels(np.zeros((2, BLOCK), np.int16), 0.02, np.array([2, 1], np.int32)) == []


def test_rows_must_match_channels(detector):
    det = detector(4)
    with pytest.raises(ValueError):
        det.process_channels(np.zeros((3, BLOCK), np.int16), 0.0, [0, 1])
    assert det.process_channels(np.zeros((0, BLOCK), np.int16), 0.0, []) == []
