"""Property-based tests of the public functions: a correct result or a NeurotkError, nothing else.

Inputs are drawn by hypothesis: small random shapes (including empty ones), NaN and
infinite entries, empty tables, unicode and duplicated ids. Each call either returns a
result that agrees with a plain numpy/scipy computation of the same thing, or raises a
:class:`neurotk.NeurotkError` of the documented kind; any other exception is a bug. The
inputs must be unchanged afterwards.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats
from scipy.spatial.distance import pdist

import neurotk
from neurotk import NeurotkError, Recording, rsa
from neurotk.encoding import RidgeCV, noise_ceiling
from neurotk.io import from_arrays

#: 40 examples per test in CI (derandomized: the same examples every run, so a failure
#: reproduces); NEUROTK_HYPOTHESIS_EXAMPLES=500 searches longer with fresh random examples.
_EXAMPLES = int(os.environ.get("NEUROTK_HYPOTHESIS_EXAMPLES", "40"))
SETTINGS = settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize="NEUROTK_HYPOTHESIS_EXAMPLES" not in os.environ, database=None)

# --------------------------------------------------------------------------- strategies
#: Moderate finite floats (so sums of squares stay finite), with NaN and +-inf mixed in.
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
with_bad = st.one_of(finite, finite, finite, finite, finite, st.sampled_from([np.nan, np.inf, -np.inf]))
ids = st.one_of(st.integers(-3, 3), st.text(min_size=0, max_size=3))  # unicode, empty, repeated


def matrices(min_side=0, max_side=6, elements=with_bad):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=min_side, max_side=max_side),
                      elements=elements)


def outcome(call, *inputs):
    """``call()``'s result, or the NeurotkError it raised; checks the inputs are unchanged."""
    before = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x.copy(deep=True) for x in inputs]
    try:
        result = call()
    except NeurotkError as err:
        result = err
    for old, new in zip(before, inputs):
        if isinstance(old, np.ndarray):
            np.testing.assert_array_equal(old, new, err_msg="an input array was modified")
        else:
            pd.testing.assert_frame_equal(old, new, obj="an input table was modified")
    return result


# --------------------------------------------------------------------------- Recording
@SETTINGS
@given(data=matrices(), allow_nan=st.booleans())
def test_recording_construction(data, allow_nan):
    rec = outcome(lambda: Recording(data, allow_nan=allow_nan), data)
    if 0 in data.shape:
        assert isinstance(rec, neurotk.ShapeMismatchError)
    elif np.isinf(data).any() or (np.isnan(data).any() and not allow_nan):
        assert isinstance(rec, neurotk.NonFiniteDataError)
    else:
        assert isinstance(rec, Recording)
        np.testing.assert_array_equal(rec.data, data)
        assert not rec.data.flags.writeable
        assert rec.unit_ids.tolist() == list(range(data.shape[1]))


@SETTINGS
@given(unit_ids=st.lists(ids, min_size=1, max_size=6), n_samples=st.integers(1, 4))
def test_recording_unit_ids(unit_ids, n_samples):
    data = np.zeros((n_samples, len(unit_ids)))
    units = pd.DataFrame({"unit_id": pd.Series(unit_ids, dtype=object)})
    rec = outcome(lambda: Recording(data, units=units), data, units)
    if len(set(map(repr, unit_ids))) < len(unit_ids) or len(set(unit_ids)) < len(unit_ids):
        assert isinstance(rec, neurotk.DuplicateIdError)
    else:
        assert isinstance(rec, Recording), rec
        assert list(rec.unit_ids) == unit_ids


@SETTINGS
@given(n_samples=st.integers(1, 6), n_units=st.integers(1, 4), n_table=st.integers(0, 7))
def test_recording_table_lengths(n_samples, n_units, n_table):
    """Tables (possibly empty) whose length differs from the data: a ShapeMismatchError."""
    data = np.ones((n_samples, n_units))
    samples = pd.DataFrame({"stimulus": np.arange(n_table)})
    rec = outcome(lambda: Recording(data, samples=samples), data, samples)
    if n_table != n_samples:
        assert isinstance(rec, neurotk.ShapeMismatchError)
    else:
        assert rec.samples["stimulus"].tolist() == list(range(n_samples))


@SETTINGS
@given(draw=st.data())
def test_recording_average_matches_pandas(draw):
    n_samples = draw.draw(st.integers(1, 8))
    n_units = draw.draw(st.integers(1, 3))
    labels = draw.draw(st.lists(st.sampled_from(["a", "ß", "猫", "", "0"]), min_size=n_samples,
                                max_size=n_samples))
    data = draw.draw(hnp.arrays(np.float64, (n_samples, n_units),
                                elements=st.one_of(finite, st.just(np.nan))))
    allow_nan = bool(np.isnan(data).any())
    rec = Recording(data, samples={"stimulus": labels}, allow_nan=allow_nan)
    avg = outcome(lambda: rec.average(by="stimulus"))
    assert isinstance(avg, Recording), avg
    expected = pd.DataFrame(data).groupby(pd.Series(labels, name="stimulus"), sort=True).mean()
    assert avg.samples["stimulus"].tolist() == expected.index.tolist()
    np.testing.assert_allclose(avg.data, expected.to_numpy(), rtol=1e-9, atol=1e-9)
    assert avg.samples["n_averaged"].sum() == n_samples


@SETTINGS
@given(draw=st.data())
def test_recording_select_mask(draw):
    n_samples = draw.draw(st.integers(1, 6))
    n_units = draw.draw(st.integers(1, 5))
    data = draw.draw(hnp.arrays(np.float64, (n_samples, n_units), elements=finite))
    rows = np.array(draw.draw(st.lists(st.booleans(), min_size=n_samples, max_size=n_samples)))
    cols = np.array(draw.draw(st.lists(st.booleans(), min_size=n_units, max_size=n_units)))
    rec = Recording(data, units={"unit_id": [f"ü{i}" for i in range(n_units)]})
    out = outcome(lambda: rec.select(samples=rows, units=cols), rows, cols)
    if not rows.any() or not cols.any():
        assert isinstance(out, neurotk.ArgumentError)
    else:
        np.testing.assert_array_equal(out.data, data[np.ix_(rows, cols)])
        assert list(out.unit_ids) == [f"ü{i}" for i in np.flatnonzero(cols)]
    np.testing.assert_array_equal(rec.data, data)  # the source Recording is untouched


@SETTINGS
@given(name=st.text(max_size=4), value=st.one_of(st.integers(), st.text(max_size=3)))
def test_average_on_missing_or_empty_columns(name, value):
    """``average(by=...)`` on a column the (possibly empty) samples table lacks: an ArgumentError."""
    rec = Recording(np.ones((3, 2)))  # a samples table with no columns
    out = outcome(lambda: rec.average(by=name or "stimulus"))
    assert isinstance(out, neurotk.NeurotkError)
    rec = Recording(np.ones((3, 2)), samples={"x": [value] * 3})
    out = outcome(lambda: rec.average(by="x"))
    assert isinstance(out, Recording) and out.shape == (1, 2)


# --------------------------------------------------------------------------- RSA
@SETTINGS
@given(x=matrices(min_side=0, max_side=7), metric=st.sampled_from(["euclidean", "sqeuclidean", "correlation",
                                                                     "cosine"]))
def test_rdm_matches_scipy(x, metric):
    out = outcome(lambda: rsa.rdm(x, metric=metric, normalize=False), x)  # scipy does not normalise
    if isinstance(out, NeurotkError):
        # only inputs scipy cannot turn into a meaningful RDM either
        bad = 0 in x.shape or x.shape[0] < 3 or not np.isfinite(x).all()  # an RDM needs 3 conditions
        if metric in ("correlation", "cosine") and not bad:
            centred = x - x.mean(axis=1, keepdims=True) if metric == "correlation" else x
            # a constant (or zero) pattern; in float64, one whose squared norm underflows to 0
            bad = bool((np.einsum("ij,ij->i", centred, centred) == 0).any())
        assert bad, f"rdm({metric}) refused a valid input: {out}"
        return
    assert np.isfinite(x).all(), "an RDM was computed from non-finite data"
    expected = pdist(x, metric)
    assert out.vector.shape == expected.shape
    ok = np.isfinite(expected)
    np.testing.assert_allclose(out.vector[ok], expected[ok], rtol=1e-6, atol=1e-6 * max(1.0, np.abs(x).max() ** 2))
    assert (out.vector[ok] >= -1e-9).all()


@SETTINGS
@given(draw=st.data())
def test_rdm_conditions_with_unicode_and_duplicates(draw):
    n = draw.draw(st.integers(2, 8))
    labels = draw.draw(st.lists(st.sampled_from(["α", "β", "γ", "δ", "ε"]), min_size=n, max_size=n))
    x = draw.draw(hnp.arrays(np.float64, (n, 3), elements=finite))
    out = outcome(lambda: rsa.rdm(x, metric="euclidean", conditions=labels), x)
    means = pd.DataFrame(x).groupby(pd.Series(labels)).mean()
    if len(means) < 3:  # an RDM needs at least 3 conditions
        assert isinstance(out, NeurotkError)
        return
    assert isinstance(out, rsa.RDM), out
    # whatever order the conditions come in, each pair's distance is that of the means
    order = [means.index.get_loc(c) for c in out.conditions]
    expected = pdist(means.to_numpy()[order])
    np.testing.assert_allclose(out.vector, expected, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(draw=st.data())
def test_compare_matches_scipy(draw):
    n = draw.draw(st.integers(3, 7))
    n_pairs = n * (n - 1) // 2
    method = draw.draw(st.sampled_from(["pearson", "spearman"]))
    elements = st.one_of(st.floats(0, 10, width=64), st.just(np.nan))
    a = draw.draw(hnp.arrays(np.float64, n_pairs, elements=elements))
    b = draw.draw(hnp.arrays(np.float64, n_pairs, elements=elements))
    out = outcome(lambda: rsa.compare(a, b, method=method), a, b)
    if isinstance(out, NeurotkError):
        return  # NaN dissimilarities or constant RDMs may be refused
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 3 or np.ptp(a[both]) == 0 or np.ptp(b[both]) == 0:
        assert out is None or np.isnan(out) or np.isfinite(out)  # undefined: NaN or a number, no crash
        return
    ref = (stats.pearsonr if method == "pearson" else stats.spearmanr)(a[both], b[both])[0]
    if np.isfinite(a).all() and np.isfinite(b).all():
        assert out == pytest.approx(ref, abs=1e-9)
    assert -1 - 1e-9 <= out <= 1 + 1e-9


# --------------------------------------------------------------------------- encoding
@SETTINGS
@given(draw=st.data())
def test_ridge_fit_matches_closed_form(draw):
    n = draw.draw(st.integers(0, 12))
    p = draw.draw(st.integers(1, 4))
    t = draw.draw(st.integers(1, 3))
    X = draw.draw(hnp.arrays(np.float64, (n, p), elements=with_bad))
    Y = draw.draw(hnp.arrays(np.float64, (n, t), elements=with_bad))
    model = RidgeCV(alphas=[0.1, 10.0], cv=2)
    out = outcome(lambda: model.fit(X, Y), X, Y)
    if isinstance(out, NeurotkError):
        valid = n >= 4 and np.isfinite(X).all() and np.isfinite(Y).all() and (np.ptp(Y, axis=0) > 0).all()
        assert not valid, f"refused a valid input: {out}"
        return
    assert np.isfinite(X).all() and np.isfinite(Y).all(), "fitted on non-finite data"
    assert out.coef_.shape == (t, p) and out.alpha_.shape == (t,)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    for j in range(t):
        expected = np.linalg.solve(Xc.T @ Xc + out.alpha_[j] * np.eye(p), Xc.T @ Yc[:, j])
        np.testing.assert_allclose(out.coef_[j], expected, rtol=1e-6, atol=1e-6 * (1 + np.abs(expected).max()))
    np.testing.assert_allclose(out.predict(X), X @ out.coef_.T + out.intercept_, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(draw=st.data())
def test_noise_ceiling_bounds(draw):
    shape = draw.draw(st.tuples(st.integers(0, 4), st.integers(0, 6), st.integers(1, 3)))
    x = draw.draw(hnp.arrays(np.float64, shape, elements=with_bad))
    method = draw.draw(st.sampled_from(["explainable_variance", "split_half"]))
    out = outcome(lambda: noise_ceiling(x, method=method, n_splits=5, random_state=0), x)
    if isinstance(out, NeurotkError):
        return
    assert shape[0] >= 2 and shape[1] >= 2, "a noise ceiling from fewer than 2 repeats or stimuli"
    assert np.isfinite(x).all(), "a noise ceiling from non-finite data"
    values = np.asarray(out.values)
    assert values.shape == (shape[2],)
    finite_values = values[np.isfinite(values)]
    assert (finite_values <= 1 + 1e-9).all()


# --------------------------------------------------------------------------- io
ids_strategy = st.one_of(st.integers(0, 3), st.text(max_size=2))
layer_names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=5)


@SETTINGS
@given(draw=st.data())
def test_from_arrays_dict(draw):
    n = draw.draw(st.integers(0, 5))
    names = draw.draw(st.lists(layer_names, min_size=1, max_size=3, unique=True))
    names = [k for k in names if k not in ("stimulus", "stimulus_ids", "category", "categories")]
    assume(names)
    arrays = {k: draw.draw(hnp.arrays(np.float64, (n, draw.draw(st.integers(0, 3))), elements=with_bad))
              for k in names}
    stim_ids = draw.draw(st.one_of(st.none(), st.lists(ids_strategy, min_size=n, max_size=n)))
    out = outcome(lambda: from_arrays(arrays, stimulus_ids=stim_ids), *arrays.values())
    if isinstance(out, NeurotkError):
        return
    for k, values in arrays.items():
        assert values.size and np.isfinite(values).all(), f"layer {k!r} accepted with shape {values.shape}"
        np.testing.assert_array_equal(out[k].data, values)
        if stim_ids is not None:
            assert out[k].samples["stimulus"].tolist() == stim_ids


@SETTINGS
@given(draw=st.data())
def test_from_arrays_files(draw, tmp_path_factory):
    folder = tmp_path_factory.mktemp("npz")
    n = draw.draw(st.integers(1, 4))
    kind = draw.draw(st.sampled_from(["numeric", "object", "empty", "strings"]))
    path = folder / "layers.npz"
    if kind == "numeric":
        arrays = {"fc": draw.draw(hnp.arrays(np.float32, (n, 2), elements=st.floats(-5, 5, width=32)))}
    elif kind == "object":
        arrays = {"fc": np.array([{"a": 1}] * n, dtype=object)}
    elif kind == "strings":
        arrays = {"fc": np.array(["ü"] * n)}
    else:
        arrays = {"fc": np.zeros((0, 2))}
    np.savez(path, **arrays)
    out = outcome(lambda: from_arrays(path))
    if kind == "numeric":
        np.testing.assert_array_equal(out["fc"].data, arrays["fc"])
    else:
        assert isinstance(out, neurotk.DataFormatError if kind != "empty" else NeurotkError), out
        assert str(path) in str(out)


@SETTINGS
@given(draw=st.data())
def test_zscore_matches_scipy(draw):
    n_samples = draw.draw(st.integers(1, 8))
    n_units = draw.draw(st.integers(1, 3))
    data = draw.draw(hnp.arrays(np.float64, (n_samples, n_units), elements=finite))
    z = outcome(lambda: Recording(data).zscore(), data)
    sd = data.std(axis=0)
    expected = np.where(sd > 0, (data - data.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)
    scale = np.abs(data).max() + 1
    big = sd > 1e-6 * scale  # near-constant units: rounding decides between 0 and +-1 either way
    np.testing.assert_allclose(z.data[:, big], expected[:, big], rtol=1e-7, atol=1e-7)
    assert np.isfinite(z.data).all()


@SETTINGS
@given(draw=st.data())
def test_concat_units_with_duplicated_and_unicode_ids(draw):
    from neurotk import concat

    ids_a = draw.draw(st.lists(st.sampled_from(["ν1", "ν2", "ß", 0, 1]), min_size=1, max_size=3, unique=True))
    ids_b = draw.draw(st.lists(st.sampled_from(["ν1", "ν3", "ü", 0, 2]), min_size=1, max_size=3, unique=True))
    relabel = draw.draw(st.booleans())
    a = Recording(np.ones((2, len(ids_a))), units={"unit_id": pd.Series(ids_a, dtype=object)})
    b = Recording(np.zeros((2, len(ids_b))), units={"unit_id": pd.Series(ids_b, dtype=object)})
    out = outcome(lambda: concat([a, b], axis="units", relabel=relabel))
    collide = bool(set(ids_a) & set(ids_b))
    if collide and not relabel:
        assert isinstance(out, neurotk.DuplicateIdError)
        return
    assert isinstance(out, Recording), out
    assert out.n_units == len(ids_a) + len(ids_b)
    assert out.units["unit_id"].is_unique
    np.testing.assert_array_equal(out.data, np.hstack([a.data, b.data]))
    if not collide:
        assert list(out.unit_ids) == ids_a + ids_b


@SETTINGS
@given(draw=st.data())
def test_align_to_unicode_stimuli(draw):
    pool = ["猫", "犬", "ü", "", "0", 0]
    mine = draw.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6))
    theirs = draw.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6))
    rec = Recording(np.arange(len(mine), dtype=float)[:, None], samples={"stimulus": pd.Series(mine, dtype=object)})
    out = outcome(lambda: rec.align(Recording(np.zeros((len(theirs), 1)),
                                              samples={"stimulus": pd.Series(theirs, dtype=object)})))
    if len(set(mine)) < len(mine) or not set(theirs) <= set(mine):
        assert isinstance(out, neurotk.AlignmentError)
        return
    assert out.samples["stimulus"].tolist() == theirs
    np.testing.assert_array_equal(out.data[:, 0], [mine.index(t) for t in theirs])


@SETTINGS
@given(draw=st.data())
def test_rsa_noise_ceiling_bounds(draw):
    n_subjects = draw.draw(st.integers(1, 4))
    n = draw.draw(st.integers(3, 6))
    vectors = draw.draw(hnp.arrays(np.float64, (n_subjects, n * (n - 1) // 2),
                                   elements=st.one_of(st.floats(0, 10, width=64), st.just(np.nan))))
    out = outcome(lambda: rsa.noise_ceiling(rsa.RDM(vectors, allow_nan=True), method="pearson"), vectors)
    if isinstance(out, NeurotkError):
        return
    assert n_subjects >= 2, "a noise ceiling from a single subject"
    lower, upper = float(out.lower), float(out.upper)
    if np.isfinite(lower) and np.isfinite(upper):
        assert -1 - 1e-9 <= lower <= upper + 1e-9 <= 1 + 2e-9


# --------------------------------------------------------------------------- spike counting
@pytest.fixture(scope="module")
def demo_spikes(tmp_path_factory):
    pytest.importorskip("pynwb")
    from neurotk.datasets import make_demo_session
    from neurotk.io import read_spikes

    path = make_demo_session(tmp_path_factory.mktemp("demo") / "s.nwb", n_stimuli=6, n_repeats=2,
                             n_units_per_area=2)
    spikes = read_spikes(path)
    return spikes, [spikes.times(u) for u in spikes.unit_ids]


times_or_bad = st.one_of(st.floats(-1.0, 10.0, width=64), st.sampled_from([np.nan, np.inf, -np.inf]))


@SETTINGS
@given(draw=st.data())
def test_count_spikes_matches_numpy(demo_spikes, draw):
    from neurotk.io import count_spikes

    spikes, times = demo_spikes
    onsets = draw.draw(hnp.arrays(np.float64, st.integers(0, 6), elements=times_or_bad))
    w0 = draw.draw(st.floats(-0.5, 0.5, width=64))
    w1 = draw.draw(st.floats(-0.5, 1.0, width=64))
    table = pd.DataFrame({"start_time": onsets, "label": [f"é{i}" for i in range(len(onsets))]})
    out = outcome(lambda: count_spikes(spikes, table, window=(w0, w1)), table)
    if isinstance(out, NeurotkError):
        assert w0 >= w1 or len(onsets) == 0 or not np.isfinite(onsets).all(), f"refused a valid input: {out}"
        if not np.isfinite(onsets).all() and w0 < w1 and len(onsets):
            assert isinstance(out, neurotk.DataFormatError) and "start_time" in str(out)
        return
    assert w0 < w1 and np.isfinite(onsets).all() and len(onsets)
    expected = np.array([[np.count_nonzero((t >= a + w0) & (t < a + w1)) for t in times] for a in onsets])
    np.testing.assert_array_equal(out.data, expected)
    assert out.samples["label"].tolist() == table["label"].tolist()


@SETTINGS
@given(bin_size=st.floats(0.05, 5.0, width=64), start=st.one_of(st.none(), st.floats(-2.0, 5.0, width=64)),
       length=st.floats(0.01, 20.0, width=64))
def test_bin_spikes_matches_numpy(demo_spikes, bin_size, start, length):
    from neurotk.io import bin_spikes

    spikes, times = demo_spikes
    stop = None if start is None else start + length
    out = outcome(lambda: bin_spikes(spikes, bin_size, start=start, stop=stop))
    assert isinstance(out, Recording), out
    edges = np.r_[out.samples["time"].to_numpy(), out.samples["bin_stop"].to_numpy()[-1]]
    np.testing.assert_allclose(np.diff(edges), bin_size, rtol=1e-9)
    # half-open bins [edge_k, edge_k+1): a spike on an edge counts in the later bin
    expected = np.stack([np.bincount(np.searchsorted(edges, t[(t >= edges[0]) & (t < edges[-1])], "right") - 1,
                                     minlength=len(edges) - 1) for t in times], axis=1)
    np.testing.assert_array_equal(out.data, expected)
    if start is None:
        assert out.data.sum() == spikes.n_spikes
