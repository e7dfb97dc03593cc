"""Tests of neurotk.signal against independent references (scipy, SPM, direct convolution)."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import gamma

from neurotk.errors import ArgumentError, ShapeMismatchError
from neurotk.signal import canonical_hrf, event_regressors


def reference_hrf(tr, oversampling=16, duration=32.0):
    """SPM's double gamma written out with scipy: peak 6 s, undershoot 16 s, ratio 1/6."""
    dt = tr / oversampling
    t = np.arange(0.0, duration + dt, dt)
    t = t[t <= duration + 1e-9]  # every grid time from 0 to duration inclusive
    h = gamma.pdf(t, 6.0, scale=1.0) - gamma.pdf(t, 16.0, scale=1.0) / 6.0
    return h / h.sum()


@pytest.mark.parametrize("tr, oversampling", [(2.0, 16), (1.0, 10), (0.72, 50), (2.5, 1)])
def test_canonical_hrf_matches_scipy_double_gamma(tr, oversampling):
    hrf = canonical_hrf(tr, oversampling=oversampling)
    ref = reference_hrf(tr, oversampling)
    assert hrf.shape == ref.shape
    np.testing.assert_allclose(hrf, ref, rtol=1e-10, atol=1e-14)
    assert hrf.sum() == pytest.approx(1.0)


def test_canonical_hrf_matches_spm_hrf_at_tr_2():
    # SPM12: spm_hrf(2)' rounded to 4 decimals (the kernel sampled once per TR, unit sum).
    spm = [0.0, 0.0866, 0.3749, 0.3849, 0.2161, 0.0769, 0.0016, -0.0306, -0.0373, -0.0308,
           -0.0205, -0.0116, -0.0058, -0.0026, -0.0011, -0.0004, -0.0001]
    np.testing.assert_allclose(canonical_hrf(2.0, oversampling=1), spm, atol=6e-5)


def test_canonical_hrf_peak_and_undershoot_times():
    dt = 0.01
    hrf = canonical_hrf(dt, oversampling=1)
    t = np.arange(hrf.size) * dt
    peak, trough = t[np.argmax(hrf)], t[np.argmin(hrf)]
    assert 4.8 <= peak <= 5.2  # mode of the 6 s gamma: (6 - 1) * 1 s
    assert 15.0 <= trough <= 16.5  # mode of the 16 s gamma, shifted by the response's tail
    # depth of the undershoot relative to the peak: about the ratio of the densities at their modes
    ratio = -hrf.min() / hrf.max()
    expected = (gamma.pdf(15.0, 16) / 6) / gamma.pdf(5.0, 6)
    assert ratio == pytest.approx(expected, rel=0.1)


def test_canonical_hrf_normalisations_and_parameters():
    unscaled = canonical_hrf(1.0, oversampling=4, normalize=None)
    t = np.arange(unscaled.size) * 0.25
    np.testing.assert_allclose(unscaled, gamma.pdf(t, 6) - gamma.pdf(t, 16) / 6)
    assert canonical_hrf(1.0, normalize="peak").max() == pytest.approx(1.0)
    # a different parameter set: delay 5 s, dispersion 0.5 s -> gamma(shape 10, scale 0.5)
    h = canonical_hrf(1.0, oversampling=2, peak_delay=5, peak_dispersion=0.5, ratio=0.0, normalize=None)
    t = np.arange(h.size) * 0.5
    np.testing.assert_allclose(h, gamma.pdf(t, 10, scale=0.5))
    # onset shifts the whole kernel
    shifted = canonical_hrf(1.0, oversampling=1, onset=3.0, normalize=None, duration=40)
    base = canonical_hrf(1.0, oversampling=1, normalize=None, duration=40)
    np.testing.assert_allclose(shifted[3:], base[:-3], atol=1e-15)
    assert len(canonical_hrf(1.0, oversampling=1, duration=20)) == 21


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"tr": 0}, "tr"),
        ({"tr": 2.0, "oversampling": 0}, "oversampling"),
        ({"tr": 2.0, "oversampling": 2.5}, "oversampling"),
        ({"tr": 2.0, "duration": -1}, "duration"),
        ({"tr": 2.0, "ratio": -0.1}, "ratio"),
        ({"tr": 2.0, "normalize": "max"}, "normalize"),
        ({"tr": 2.0, "peak_dispersion": 0}, "peak_dispersion"),
    ],
)
def test_canonical_hrf_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ArgumentError, match=word):
        canonical_hrf(**kwargs)


def direct_design(onsets, durations, types, conditions, n_scans, tr, oversampling, hrf, amplitudes=None):
    """Design built the slow, obvious way: one boxcar per condition, np.convolve, subsample."""
    dt = tr / oversampling
    n_grid = n_scans * oversampling
    out = np.zeros((n_scans, len(conditions)))
    for c, name in enumerate(conditions):
        box = np.zeros(n_grid)
        for k, (onset, duration, kind) in enumerate(zip(onsets, durations, types)):
            if kind != name:
                continue
            start = int(round(onset / dt))
            stop = max(start + 1, int(round((onset + duration) / dt)))
            box[start:stop] += 1.0 if amplitudes is None else amplitudes[k]
        out[:, c] = np.convolve(box, hrf)[:n_grid][::oversampling]
    return out


def test_event_regressors_match_direct_convolution():
    rng = np.random.default_rng(3)
    tr, oversampling, n_scans = 2.0, 16, 90
    onsets = np.sort(rng.choice(np.arange(0, 170, 0.5), size=24, replace=False))
    durations = rng.choice([0.0, 1.0, 3.0, 6.5], size=24)
    types = rng.choice(["a", "b", "c"], size=24)
    amplitudes = rng.uniform(0.5, 2.0, size=24)
    hrf = reference_hrf(tr, oversampling)

    X = event_regressors(onsets, durations, n_scans, tr, trial_types=types)
    assert X.shape == (n_scans, 3)
    np.testing.assert_allclose(X, direct_design(onsets, durations, types, ["a", "b", "c"], n_scans, tr,
                                                oversampling, hrf), atol=1e-10)

    # explicit condition order, an empty condition, amplitudes and another grid
    conds = ["c", "zero", "a", "b"]
    X = event_regressors(onsets, durations, n_scans, tr, trial_types=types, conditions=conds,
                         amplitudes=amplitudes, oversampling=8)
    ref = direct_design(onsets, durations, types, conds, n_scans, tr, 8, reference_hrf(tr, 8), amplitudes)
    np.testing.assert_allclose(X, ref, atol=1e-10)
    assert np.all(X[:, 1] == 0)


def test_event_regressors_timing_and_plateau():
    # identity kernel: the design is the boxcar read at the scan times 0, 2, 4, ...
    X = event_regressors([4.0], [6.0], n_scans=8, tr=2.0, hrf=[1.0], oversampling=4)
    np.testing.assert_array_equal(X[:, 0], [0, 0, 1, 1, 1, 0, 0, 0])
    # a long block with the unit-sum HRF levels off at 1 once the kernel has passed
    X = event_regressors([0.0], [200.0], n_scans=100, tr=2.0)
    np.testing.assert_allclose(X[20:100, 0], 1.0, atol=1e-9)
    assert X[0, 0] == 0.0
    # events past the end of the run are ignored; single condition without trial types
    X = event_regressors([10.0, 500.0], 2.0, n_scans=30, tr=2.0)
    Y = event_regressors([10.0], [2.0], n_scans=30, tr=2.0)
    np.testing.assert_allclose(X, Y)


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"onsets": [0, 1], "durations": [1, 1, 1]}, ShapeMismatchError, "durations"),
        ({"onsets": [0, 1], "durations": 1, "trial_types": ["a"]}, ShapeMismatchError, "trial_types"),
        ({"onsets": [0, 1], "durations": 1, "amplitudes": [1]}, ShapeMismatchError, "amplitudes"),
        ({"onsets": [-1, 1], "durations": 1}, ArgumentError, "onsets"),
        ({"onsets": [0, 1], "durations": [1, -1]}, ArgumentError, "durations"),
        ({"onsets": [0, np.nan], "durations": 1}, ArgumentError, "onsets"),
        ({"onsets": [0, 1], "durations": 1, "trial_types": ["a", "x"], "conditions": ["a"]},
         ArgumentError, "x"),
        ({"onsets": [0, 1], "durations": 1, "n_scans": 0}, ArgumentError, "n_scans"),
        ({"onsets": [0, 1], "durations": 1, "hrf": np.ones((2, 2))}, ArgumentError, "hrf"),
    ],
)
def test_event_regressors_rejects_bad_arguments(kwargs, error, word):
    args = {"n_scans": 10, "tr": 2.0, **kwargs}
    with pytest.raises(error, match=word):
        event_regressors(**args)


def test_event_regressors_refuses_values_that_are_not_numbers():
    args = {"n_scans": 10, "tr": 2.0}
    with pytest.raises(ArgumentError, match="durations could not be read as numbers"):
        event_regressors([0, 1], ["x", 1], **args)
    with pytest.raises(ArgumentError, match="onsets is complex"):
        event_regressors(np.array([0, 1]) + 1j, 1, **args)
    with pytest.raises(ArgumentError, match="hrf could not be read as numbers"):
        event_regressors([0, 1], 1, hrf=["a", "b"], **args)
    with pytest.raises(ArgumentError, match="durations contains NaN"):
        event_regressors([0, 1], [1, np.inf], **args)
    # a scalar duration is shared by every event, a scalar onset is one event
    np.testing.assert_allclose(event_regressors([0, 4], 2.0, **args), event_regressors([0, 4], [2.0, 2.0], **args))
    np.testing.assert_allclose(event_regressors(4.0, [2.0], **args), event_regressors([4.0], [2.0], **args))


def test_canonical_hrf_scalars_are_checked():
    with pytest.raises(ArgumentError, match=r"tr=0; expected a positive number of seconds"):
        canonical_hrf(0)
    with pytest.raises(ArgumentError, match=r"onset=inf; expected a finite number of seconds"):
        canonical_hrf(2.0, onset=np.inf)
    with pytest.raises(ArgumentError, match=r"oversampling=True"):
        canonical_hrf(2.0, oversampling=True)
    np.testing.assert_array_equal(canonical_hrf(2, oversampling=np.int64(16)), canonical_hrf(2.0))


def test_signal_import_stays_light():
    code = (
        "import sys, neurotk, neurotk.signal, neurotk.datasets\n"
        "heavy = [m for m in ('nibabel', 'sklearn', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
