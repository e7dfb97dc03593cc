"""Tests of the Recording data model, against pandas/scipy/xarray as references."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neurotk
from neurotk import (
    AlignmentError,
    ArgumentError,
    DataFormatError,
    DuplicateIdError,
    NeurotkError,
    NonFiniteDataError,
    Recording,
    ShapeMismatchError,
    concat,
)


@pytest.fixture
def rec():
    rng = np.random.default_rng(0)
    samples = pd.DataFrame(
        {
            "stimulus": np.tile(np.arange(5), 4),
            "repeat": np.repeat(np.arange(4), 5),
            "run": np.repeat([0, 0, 1, 1], 5),
            "category": np.tile(["a", "a", "b", "b", "c"], 4),
            "time": np.arange(20) * 0.5,
        }
    )
    units = pd.DataFrame(
        {"unit_id": [f"u{i}" for i in range(6)], "area": ["V1"] * 3 + ["LM"] * 3, "depth": np.arange(6) * 100.0}
    )
    return Recording(rng.normal(size=(20, 6)), samples, units, {"subject": "m1", "name": "test"})


# --------------------------------------------------------------------------- construction
def test_bare_array_gets_default_tables():
    x = np.arange(12).reshape(4, 3)
    r = Recording(x)
    assert r.shape == (4, 3) and r.n_samples == 4 and r.n_units == 3
    assert r.dtype == np.float64
    assert r.units["unit_id"].tolist() == [0, 1, 2]
    assert len(r.samples) == 4 and r.meta == {}
    np.testing.assert_array_equal(r.data, x)


def test_float32_is_kept_and_float16_promoted():
    assert Recording(np.ones((2, 2), np.float32)).dtype == np.float32
    assert Recording(np.ones((2, 2), np.float16)).dtype == np.float32


def test_caller_arrays_and_tables_are_never_changed():
    x = np.arange(6.0).reshape(3, 2)
    samples = pd.DataFrame({"stimulus": [2, 1, 0]})
    r = Recording(x, samples)
    assert not r.data.flags.writeable
    with pytest.raises(ValueError):
        r.data[0, 0] = 99
    x[0, 0] = -1  # the Recording holds its own copy
    assert r.data[0, 0] == 0
    t = r.samples
    t["stimulus"] = 7  # changing the returned table does not change the Recording
    assert r.samples["stimulus"].tolist() == [2, 1, 0]
    assert samples["stimulus"].tolist() == [2, 1, 0]
    r.average(by="stimulus").zscore().select(samples=[0, 1])
    assert x.flags.writeable and samples.shape == (3, 1)


def test_copy_false_wraps_without_touching_caller_flags():
    x = np.ones((3, 2))
    r = Recording(x, copy=False)
    assert np.shares_memory(r.data, x)
    assert x.flags.writeable and not r.data.flags.writeable


def test_dict_tables_and_named_index():
    units = pd.DataFrame({"area": ["V1", "LM"]}, index=pd.Index([10, 20], name="unit_id"))
    r = Recording(np.zeros((1, 2)), samples={"stimulus": [3]}, units=units)
    assert r.unit_ids.tolist() == [10, 20]
    assert r.samples["stimulus"].tolist() == [3]


@pytest.mark.parametrize(
    "data, match",
    [
        (np.zeros(5), "1-D"),
        (np.zeros((2, 3, 4)), "from_trials"),
        (np.zeros((0, 3)), "at least one"),
        (np.zeros((2, 2), complex), "complex"),
        (np.array([["a", "b"]]), "numbers"),
    ],
)
def test_bad_arrays_raise_clear_errors(data, match):
    with pytest.raises(NeurotkError, match=match) as info:
        Recording(data)
    assert "data" in str(info.value)
    assert not isinstance(info.value, (IndexError, KeyError))


def test_shape_errors_are_shape_mismatch():
    with pytest.raises(ShapeMismatchError, match=r"data must be 2-D.*got a 1-D"):
        Recording(np.zeros(5))
    with pytest.raises(ShapeMismatchError, match=r"samples table has 3 rows but data has 4 samples"):
        Recording(np.zeros((4, 2)), samples=pd.DataFrame({"stimulus": [1, 2, 3]}))
    with pytest.raises(ShapeMismatchError, match=r"units table has 1 rows but data has 2 units"):
        Recording(np.zeros((4, 2)), units=pd.DataFrame({"area": ["V1"]}))
    with pytest.raises(ShapeMismatchError, match=r"samples column 'stimulus' has 2 values"):
        Recording(np.zeros((4, 2)), samples={"stimulus": [1, 2]})


def test_nan_and_inf_handling():
    x = np.ones((3, 4))
    x[1, 2] = np.nan
    with pytest.raises(NonFiniteDataError, match=r"1 NaN and 0 infinite.*sample 1, unit 2.*allow_nan=True"):
        Recording(x)
    r = Recording(x, allow_nan=True)
    assert r.allow_nan and np.isnan(r.data[1, 2])
    x[0, 0] = np.inf
    with pytest.raises(NonFiniteDataError, match="infinite"):
        Recording(x, allow_nan=True)


def test_nan_check_spans_chunks(monkeypatch):
    import neurotk.recording as module

    monkeypatch.setattr(module, "_CHUNK_ELEMENTS", 8)
    x = np.ones((50, 4))
    x[37, 3] = np.nan
    with pytest.raises(NonFiniteDataError, match=r"sample 37, unit 3"):
        Recording(x)


def test_duplicate_and_missing_unit_ids():
    with pytest.raises(DuplicateIdError, match=r"duplicated ids \['a'\]"):
        Recording(np.zeros((2, 3)), units={"unit_id": ["a", "b", "a"]})
    with pytest.raises(DuplicateIdError, match="missing values"):
        Recording(np.zeros((2, 2)), units={"unit_id": ["a", None]})


def test_bad_table_and_meta_types():
    with pytest.raises(ArgumentError, match="samples must be a pandas DataFrame"):
        Recording(np.zeros((2, 2)), samples=[1, 2])
    with pytest.raises(ArgumentError, match="meta must be a dict"):
        Recording(np.zeros((2, 2)), meta=["subject"])
    with pytest.raises(DataFormatError, match="duplicated column names"):
        Recording(np.zeros((2, 1)), samples=pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"]))


def test_from_trials_matches_manual_reshape():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5, 3))
    r = Recording.from_trials(x, time=np.linspace(0, 0.4, 5), trials={"stimulus": [9, 8, 7, 6]})
    assert r.shape == (20, 3)
    # sample (trial t, time k) is row t * 5 + k
    np.testing.assert_array_equal(r.data[2 * 5 + 3], x[2, 3])
    s = r.samples
    assert s.loc[13, "trial"] == 2 and s.loc[13, "stimulus"] == 7
    assert s.loc[13, "time"] == pytest.approx(0.3)
    with pytest.raises(ShapeMismatchError, match="3-D"):
        Recording.from_trials(np.zeros((2, 2)))
    with pytest.raises(ShapeMismatchError, match=r"time has shape \(2,\)"):
        Recording.from_trials(x, time=[0, 1])


def test_array_protocol_and_replace(rec):
    np.testing.assert_array_equal(np.asarray(rec), rec.data)
    r2 = rec.replace(data=np.zeros(rec.shape))
    assert r2.data.sum() == 0 and r2.units.equals(rec.units)
    with pytest.raises(ShapeMismatchError):
        rec.replace(data=np.zeros((3, 3)))


# --------------------------------------------------------------------------- select
def test_select_by_query_dict_mask_positions_callable(rec):
    ref = rec.data[:, [0, 1, 2]]
    for sel in ("area == 'V1'", {"area": "V1"}, {"area": ["V1"]}, rec.units["area"].eq("V1").to_numpy(), [0, 1, 2], lambda t: t["area"] == "V1"):
        np.testing.assert_array_equal(rec.select(units=sel).data, ref)
    sub = rec.select(samples="stimulus in [1, 3] and repeat > 1", units={"unit_id": ["u5", "u0"]})
    mask = rec.samples.eval("stimulus in [1, 3] and repeat > 1").to_numpy()
    np.testing.assert_array_equal(sub.data, rec.data[mask][:, [0, 5]])
    assert sub.units["unit_id"].tolist() == ["u0", "u5"]  # table order is kept
    assert sub.samples.index.tolist() == list(range(sub.n_samples))
    np.testing.assert_array_equal(rec.select(samples=slice(2, 5)).data, rec.data[2:5])
    np.testing.assert_array_equal(rec.select(samples=[-1]).data, rec.data[-1:])


def test_select_errors(rec):
    with pytest.raises(ArgumentError, match=r"could not be evaluated.*columns are \['unit_id', 'area', 'depth'\]"):
        rec.select(units="layer == 'conv1'")
    with pytest.raises(ArgumentError, match=r"no column \['layer'\] in the units table"):
        rec.select(units={"layer": "x"})
    with pytest.raises(ArgumentError, match="matched no units"):
        rec.select(units={"area": "IT"})
    with pytest.raises(ShapeMismatchError, match=r"boolean mask has shape \(3,\); expected \(20,\)"):
        rec.select(samples=np.array([True, False, True]))
    with pytest.raises(ArgumentError, match=r"positions \[40\] are out of range for 20 samples"):
        rec.select(samples=[1, 40])
    with pytest.raises(ArgumentError, match="expected a query string"):
        rec.select(samples=3.5)


def test_table_positions_reads_selectors_as_select_does(rec):
    from neurotk.tables import table_positions

    units = rec.units
    assert table_positions(None, units) == slice(None)
    for sel in ("area == 'V1'", {"area": "V1"}, units["area"].eq("V1").to_numpy(), [0, 1, 2], slice(0, 3),
                lambda t: t["area"] == "V1"):
        np.testing.assert_array_equal(table_positions(sel, units), [0, 1, 2])
    with pytest.raises(ShapeMismatchError, match=r"select\(samples=mask\).*one value per sample"):
        table_positions(np.ones(3, dtype=bool), rec.samples, "samples")
    with pytest.raises(ArgumentError, match="could not be evaluated on the units table"):
        table_positions("layer == 1", units)


def test_column_and_codes(rec):
    np.testing.assert_array_equal(rec.column("run"), rec.samples["run"].to_numpy())
    assert rec.column("area", table="units").tolist() == ["V1"] * 3 + ["LM"] * 3
    with pytest.raises(ArgumentError, match=r"runs='fold' is not a column of the samples table \(its columns are "
                                            r"\['stimulus', 'repeat', 'run', 'category', 'time'\]\); expected the runs"):
        rec.column("fold", argument="runs", expected="the runs")
    with pytest.raises(ArgumentError, match="is not a column of the units table"):
        rec.column(3, table="units")
    codes, values = rec.codes("category")
    assert values.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(values[codes], rec.samples["category"].to_numpy())
    assert codes.dtype == np.intp
    codes, values = rec.codes("area", table="units", sort=False)
    assert values.tolist() == ["V1", "LM"] and codes.tolist() == [0, 0, 0, 1, 1, 1]
    holes = Recording(np.zeros((3, 1)), samples={"stimulus": [1.0, np.nan, 2.0]})
    with pytest.raises(ArgumentError, match=r"missing values at rows \[1\]"):
        holes.codes("stimulus")


# --------------------------------------------------------------------------- average
def test_average_matches_pandas_groupby(rec):
    avg = rec.average(by="stimulus")
    frame = pd.DataFrame(rec.data).assign(stimulus=rec.samples["stimulus"])
    ref = frame.groupby("stimulus").mean()
    np.testing.assert_allclose(avg.data, ref.to_numpy(), rtol=1e-12, atol=1e-14)
    s = avg.samples
    assert s["stimulus"].tolist() == [0, 1, 2, 3, 4]
    assert "category" in s and s["category"].tolist() == ["a", "a", "b", "b", "c"]  # constant per stimulus
    assert "repeat" not in s and "time" not in s  # vary within stimulus
    assert s["n_averaged"].tolist() == [4] * 5
    assert avg.units.equals(rec.units)
    assert avg.meta["history"] == ["average(by='stimulus')"]


def test_average_multiple_keys_unsorted_and_strings(rec):
    avg = rec.average(by=["run", "category"], sort=False)
    frame = pd.DataFrame(rec.data).assign(run=rec.samples["run"], category=rec.samples["category"])
    ref = frame.groupby(["run", "category"], sort=False).mean()
    np.testing.assert_allclose(avg.data, ref.to_numpy())
    assert list(zip(avg.samples["run"], avg.samples["category"])) == list(ref.index)


def test_average_with_nan_ignores_missing():
    x = np.array([[1.0, np.nan], [3.0, 5.0], [np.nan, np.nan], [7.0, 1.0]])
    r = Recording(x, samples={"stimulus": [0, 0, 1, 1]}, allow_nan=True)
    ref = pd.DataFrame(x).groupby(np.array([0, 0, 1, 1])).mean().to_numpy()  # pandas skips NaN
    np.testing.assert_allclose(r.average().data, ref)


def test_average_float32_and_errors(rec):
    r32 = Recording(rec.data.astype(np.float32), rec.samples)
    assert r32.average().dtype == np.float32
    with pytest.raises(ArgumentError, match=r"average\(by\)='image': no column \['image'\]"):
        rec.average(by="image")


# --------------------------------------------------------------------------- split, folds
def test_split_and_leave_one_out(rec):
    parts = rec.split("run")
    assert list(parts) == [0, 1]
    np.testing.assert_array_equal(parts[1].data, rec.data[rec.samples["run"].to_numpy() == 1])
    assert (parts[1].samples["run"] == 1).all()
    two = rec.split(["run", "category"])
    assert (1, "c") in two and two[(1, "c")].n_samples == 2
    folds = list(rec.leave_one_out("run"))
    assert [k for k, _, _ in folds] == [0, 1]
    for key, train, test in folds:
        assert set(test.samples["run"]) == {key} and key not in set(train.samples["run"])
        assert train.n_samples + test.n_samples == rec.n_samples
    with pytest.raises(ArgumentError, match="at least 2 folds"):
        list(rec.select(samples={"run": 0}).leave_one_out("run"))


# --------------------------------------------------------------------------- zscore
def test_zscore_matches_scipy(rec):
    np.testing.assert_allclose(rec.zscore().data, scipy.stats.zscore(rec.data, axis=0), atol=1e-12)
    np.testing.assert_allclose(rec.zscore(ddof=1).data, scipy.stats.zscore(rec.data, axis=0, ddof=1), atol=1e-12)
    z = rec.zscore(by="run")
    run = rec.samples["run"].to_numpy()
    for value in (0, 1):
        np.testing.assert_allclose(z.data[run == value], scipy.stats.zscore(rec.data[run == value], axis=0), atol=1e-12)


def test_zscore_constant_units_and_nan():
    x = np.column_stack([np.ones(4), [1.0, 2.0, np.nan, 4.0]])
    z = Recording(x, allow_nan=True).zscore()
    np.testing.assert_array_equal(z.data[:, 0], 0.0)
    np.testing.assert_allclose(z.data[:, 1], scipy.stats.zscore(x[:, 1], nan_policy="omit"))


# --------------------------------------------------------------------------- align
def test_align_reorders_and_drops():
    model = Recording(np.arange(8.0).reshape(4, 2), samples={"stimulus": ["a", "b", "c", "d"]})
    brain = Recording(np.zeros((5, 1)), samples={"stimulus": ["c", "a", "c", "b", "a"]})
    aligned = model.align(brain)
    assert aligned.samples["stimulus"].tolist() == ["c", "a", "c", "b", "a"]
    np.testing.assert_array_equal(aligned.data, model.data[[2, 0, 2, 1, 0]])
    assert model.align(["d", "a"]).samples["stimulus"].tolist() == ["d", "a"]


def test_align_errors_list_missing_and_repeats(rec):
    other = Recording(np.zeros((3, 1)), samples={"stimulus": [0, 17, 18]})
    with pytest.raises(AlignmentError, match="repeats stimulus values.*average"):
        rec.align(other)
    with pytest.raises(AlignmentError, match=r"2 of the 3 stimulus values .* missing here: \[17, 18\]"):
        rec.average().align(other)
    with pytest.raises(ArgumentError, match=r"no column \['image'\]"):
        rec.average().align(other, on="image")


# --------------------------------------------------------------------------- concat
def test_concat_samples_and_units(rec):
    a, b = rec.select(samples={"run": 0}), rec.select(samples={"run": 1})
    joined = concat([a, b], keys=["first", "second"])
    np.testing.assert_array_equal(joined.data, np.vstack([a.data, b.data]))
    assert joined.samples["recording"].tolist() == ["first"] * 10 + ["second"] * 10
    v1, lm = rec.select(units={"area": "V1"}), rec.select(units={"area": "LM"})
    both = Recording.concat([lm, v1], axis="units")
    np.testing.assert_array_equal(both.data, np.hstack([lm.data, v1.data]))
    assert both.units["area"].tolist() == ["LM"] * 3 + ["V1"] * 3


def test_concat_errors_and_relabel(rec):
    v1 = rec.select(units={"area": "V1"})
    with pytest.raises(DuplicateIdError, match="relabel=True"):
        concat([v1, v1], axis="units")
    relabelled = concat([v1, v1], axis="units", relabel=True)
    assert relabelled.unit_ids.tolist() == list(range(6))
    assert relabelled.units["original_unit_id"].tolist() == ["u0", "u1", "u2"] * 2
    with pytest.raises(AlignmentError, match="same unit ids"):
        concat([rec, v1])
    with pytest.raises(ShapeMismatchError, match="has 10 samples but recording 0 has 20"):
        concat([rec, rec.select(samples={"run": 0})], axis="units", relabel=True)
    shuffled = rec.select(samples=np.arange(20)[::-1])
    with pytest.raises(AlignmentError, match="samples column"):
        concat([rec, shuffled], axis="units", relabel=True)
    with pytest.raises(ArgumentError, match="axis="):
        concat([rec], axis="time")
    with pytest.raises(ArgumentError, match="non-empty"):
        concat([])


# --------------------------------------------------------------------------- xarray
def test_xarray_round_trip(rec):
    import xarray as xr

    shared = rec.replace(samples=rec.samples.assign(area="screen"))
    da = shared.to_xarray()
    assert isinstance(da, xr.DataArray) and da.dims == ("sample", "unit")
    assert da.coords["depth"].dims == ("unit",) and da.attrs["subject"] == "m1"
    assert set(["sample_area", "unit_area"]) <= set(da.coords)
    back = Recording.from_xarray(da)
    assert back.equals(shared)
    np.testing.assert_array_equal(da.sel(unit=da.unit_id == "u4").values.ravel(), rec.data[:, 4])


def test_from_xarray_foreign_dims_and_errors():
    import xarray as xr

    da = xr.DataArray(
        np.arange(6.0).reshape(3, 2),
        dims=("neuron", "stim"),
        coords={"stim": [10, 11], "area": ("neuron", ["V1", "V1", "LM"])},
        attrs={"subject": "s"},
    )
    r = Recording.from_xarray(da, sample_dim="stim", unit_dim="neuron")
    assert r.shape == (2, 3) and r.samples["stim"].tolist() == [10, 11]
    assert r.units["area"].tolist() == ["V1", "V1", "LM"]
    np.testing.assert_array_equal(r.data, da.values.T)
    with pytest.raises(ShapeMismatchError, match="2-D"):
        Recording.from_xarray(xr.DataArray(np.zeros((2, 2, 2))))
    with pytest.raises(ArgumentError, match="DataArray"):
        Recording.from_xarray(np.zeros((2, 2)))


# --------------------------------------------------------------------------- repr
def test_repr_is_readable(rec):
    text = repr(rec)
    assert text.splitlines()[0] == "Recording 'test': 20 samples x 6 units (float64)"
    assert "area (V1: 3, LM: 3)" in text and "stimulus (5 values)" in text
    assert "subject='m1'" in text
    assert "(no columns)" in repr(Recording(np.zeros((2, 2))))


# --------------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8), elements=st.floats(-1e6, 1e6)),
    st.data(),
)
def test_average_and_zscore_properties(x, data):
    groups = data.draw(st.lists(st.integers(0, 3), min_size=x.shape[0], max_size=x.shape[0]))
    r = Recording(x, samples={"stimulus": groups})
    ref = pd.DataFrame(x).groupby(np.asarray(groups)).mean().to_numpy()
    np.testing.assert_allclose(r.average().data, ref, rtol=1e-9, atol=1e-6)
    z = r.zscore().data
    assert np.isfinite(z).all()
    spread = x.std(axis=0) > 1e-6 * (1 + np.abs(x).max(axis=0))
    np.testing.assert_allclose(z[:, spread].mean(axis=0), 0, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=3), min_size=1, max_size=6))
def test_unit_ids_unicode_and_duplicates(ids):
    x = np.zeros((2, len(ids)))
    if len(set(ids)) < len(ids):
        with pytest.raises(DuplicateIdError):
            Recording(x, units={"unit_id": ids})
    else:
        assert Recording(x, units={"unit_id": ids}).unit_ids.tolist() == ids


def test_top_level_exports():
    assert neurotk.Recording is Recording and neurotk.concat is concat
    assert issubclass(neurotk.ShapeMismatchError, neurotk.NeurotkError)
    with pytest.raises(AttributeError):
        neurotk.does_not_exist


def test_chunked_paths_agree_with_references(monkeypatch):
    """Tiny chunks (many blocks) must give the same numbers as the references."""
    import neurotk.recording as module

    monkeypatch.setattr(module, "_CHUNK_ELEMENTS", 7)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(23, 5))
    x[[2, 9, 17], [0, 3, 3]] = np.nan
    groups = rng.integers(0, 4, size=23)
    r = Recording(x, samples={"run": groups}, allow_nan=True)
    ref_mean = pd.DataFrame(x).groupby(groups).mean().to_numpy()
    np.testing.assert_allclose(r.average(by="run").data, ref_mean, atol=1e-12)
    z = r.zscore(by="run").data
    for g in range(4):
        np.testing.assert_allclose(z[groups == g], scipy.stats.zscore(x[groups == g], axis=0, nan_policy="omit"), atol=1e-12)
