"""Layer -> area mapping on planted hierarchies."""

import warnings

import numpy as np
import pandas as pd
import pytest

from neurotk import Recording
from neurotk.encoding import LayerMapping, map_layers
from neurotk.errors import AlignmentError, ArgumentError, NeurotkWarning

N_STIM, N_REP, N_FEAT = 120, 4, 25


def _planted(seed=0, noise=1.0, n_units=15):
    """Three layers of random ReLU features; area k reads layer k linearly, with repeats."""
    rng = np.random.default_rng(seed)
    ids = np.arange(N_STIM)
    l0 = rng.normal(size=(N_STIM, N_FEAT))
    l1 = np.maximum(l0 @ rng.normal(size=(N_FEAT, N_FEAT)), 0)
    l2 = np.maximum((l1 - l1.mean(0)) @ rng.normal(size=(N_FEAT, N_FEAT)), 0)
    layers = {}
    for name, act in zip(["L0", "L1", "L2"], [l0, l1, l2]):
        layers[name] = Recording(act, samples=pd.DataFrame({"stimulus": ids}))
    brain, truth = {}, {}
    for k, (name, act) in enumerate(zip(["A0", "A1", "A2"], [l0, l1, l2])):
        z = (act - act.mean(0)) / (act.std(0) + 1e-12)
        signal = z @ rng.normal(size=(N_FEAT, n_units)) / np.sqrt(N_FEAT)
        reps = signal[None] + noise * rng.normal(size=(N_REP, N_STIM, n_units))
        samples = pd.DataFrame({"stimulus": np.tile(ids, N_REP), "repeat": np.repeat(np.arange(N_REP), N_STIM)})
        units = pd.DataFrame({"unit_id": [f"{name}-{u}" for u in range(n_units)]})
        brain[name] = Recording(reps.reshape(-1, n_units), samples=samples, units=units)
        truth[name] = signal
    return brain, layers, truth


@pytest.fixture(scope="module")
def planted_mapping():
    brain, layers, truth = _planted()
    # layers given in a shuffled stimulus order: the mapping must align them
    order = np.random.default_rng(1).permutation(N_STIM)
    shuffled = {k: v.select(samples=order) for k, v in layers.items()}
    result = map_layers(brain, shuffled, alphas=np.logspace(-2, 4, 13), cv=4, inner_cv=4,
                        n_bootstrap=300, random_state=0)
    return brain, layers, truth, result


def test_planted_layers_are_found(planted_mapping):
    _, _, _, result = planted_mapping
    assert isinstance(result, LayerMapping)
    assert result.best["best_layer"].tolist() == ["L0", "L1", "L2"]
    assert result.hierarchy_recovered
    assert result.areas == ["A0", "A1", "A2"] and result.layers == ["L0", "L1", "L2"]
    # most units pick their own layer; pseudo-depth rises with the area
    own = result.unit_best["best_layer"].str[1] == result.unit_best["area"].str[1]
    assert own.mean() > 0.8
    assert np.all(np.diff(result.best["pseudo_depth"]) > 0.5)


def test_normalised_scores_reach_the_ceiling_for_the_true_layer(planted_mapping):
    brain, _, truth, result = planted_mapping
    s = result.scores
    for k, area in enumerate(["A0", "A1", "A2"]):
        rows = s[(s.area == area) & (s.layer == f"L{k}")]
        # independent check of the ceiling: the true signal's share of the repeat-mean variance
        mean = brain[area].data.reshape(N_REP, N_STIM, -1).mean(0)
        true_fraction = truth[area].var(0) / mean.var(0)
        np.testing.assert_allclose(rows["ceiling"].mean(), true_fraction.mean(), atol=0.08)
        # a linear readout of the true layer explains nearly all of the explainable variance
        assert 0.8 < rows["normalised"].mean() < 1.15
        np.testing.assert_allclose(rows["normalised"], rows["score"] / rows["ceiling"])
    summary = result.to_frame()
    assert ((summary["ci_low"] <= summary["score"]) & (summary["score"] <= summary["ci_high"])).all()
    assert set(result.best["p_best"]) <= {x for x in result.best["p_best"] if 0 <= x <= 1}
    assert result.matrix().shape == (3, 3)


def test_outputs_match_a_direct_nested_cv(planted_mapping):
    """The score of one unit equals an explicit nested CV with scikit-learn."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold

    brain, layers, _, _ = planted_mapping
    alphas = np.logspace(-2, 4, 7)
    result = map_layers({"A1": brain["A1"]}, {"L1": layers["L1"]}, alphas=alphas, cv=KFold(3),
                        inner_cv=KFold(3), ceiling=None, n_bootstrap=10)
    y = brain["A1"].average("stimulus").data
    x = layers["L1"].data
    pred = np.empty_like(y)
    for tr, te in KFold(3).split(x):
        for u in range(y.shape[1]):
            inner = [np.mean([r2_score(y[tr][b, u], Ridge(alpha=a).fit(x[tr][a_], y[tr][a_, u]).predict(x[tr][b]))
                              for a_, b in KFold(3).split(x[tr])]) for a in alphas]
            pred[te, u] = Ridge(alpha=alphas[int(np.argmax(inner))]).fit(x[tr], y[tr, u]).predict(x[te])
    np.testing.assert_allclose(result.scores["score"], r2_score(y, pred, multioutput="raw_values"), atol=1e-8)
    assert "no noise ceiling" in result.normalisation


def test_recording_split_by_area_and_pearson():
    brain, layers, _ = _planted(seed=2, n_units=6)
    one = brain["A0"].replace(units=brain["A0"].units.assign(area="A0"))
    two = brain["A2"].replace(units=brain["A2"].units.assign(area="A2"))
    from neurotk import concat

    joined = concat([one, two], axis="units")
    result = map_layers(joined, layers, metric="pearson", cv=3, inner_cv=3, n_bootstrap=50,
                        alphas=np.logspace(-2, 4, 7), random_state=0)
    assert result.areas == ["A0", "A2"]
    assert result.best["best_layer"].tolist() == ["L0", "L2"]
    assert "r / sqrt" in result.normalisation


def test_no_repeats_warns_and_keeps_raw_scores():
    brain, layers, _ = _planted(seed=3, n_units=4)
    single = brain["A0"].select(samples={"repeat": 0})
    with pytest.warns(NeurotkWarning, match="no noise ceiling"):
        result = map_layers({"A0": single}, layers, cv=3, inner_cv=3, n_bootstrap=20,
                            alphas=np.logspace(-2, 4, 7))
    assert result.scores["ceiling"].isna().all()
    np.testing.assert_array_equal(result.scores["normalised"], result.scores["score"])


def test_voxel_values_to_nifti_writes_best_layer_and_score(tmp_path):
    nib = pytest.importorskip("nibabel")
    from neurotk.io import to_nifti

    brain, layers, _ = _planted(seed=4, n_units=6)
    area = brain["A1"]
    ijk = pd.DataFrame({"i": [0, 1, 2, 0, 1, 2], "j": [0, 0, 0, 1, 1, 1], "k": [1] * 6})
    voxels = area.replace(units=pd.concat([area.units, ijk], axis=1),
                          meta={**area.meta, "affine": np.eye(4), "shape": (3, 2, 2)})
    result = map_layers({"V": voxels}, layers, cv=3, inner_cv=3, n_bootstrap=20, alphas=np.logspace(-2, 4, 7))
    img = to_nifti(result.voxel_values("V"), voxels, path=tmp_path / "best.nii.gz")
    data = nib.load(tmp_path / "best.nii.gz").get_fdata()
    assert img.shape == (3, 2, 2, 2)
    best = result.unit_best
    np.testing.assert_array_equal(data[ijk.i, ijk.j, ijk.k, 0], best["layer_index"] + 1)
    np.testing.assert_allclose(data[ijk.i, ijk.j, ijk.k, 1], best["score"])
    assert np.isnan(data[0, 0, 0, 0])


def test_bad_input():
    brain, layers, _ = _planted(seed=5, n_units=3)
    partial = {"L0": layers["L0"].select(samples=np.arange(100))}
    with pytest.raises(AlignmentError, match="lacks 20 stimuli"):
        map_layers(brain, partial, n_bootstrap=10)
    with pytest.raises(ArgumentError, match="metric"):
        map_layers(brain, layers, metric="mse")
    with pytest.raises(ArgumentError, match="expected a Recording"):
        map_layers(brain, {"L0": layers["L0"].data})
    with pytest.raises(ArgumentError, match="samples column 'image'"):
        map_layers(brain, layers, on="image")
    with pytest.raises(ArgumentError, match="ci"):
        map_layers(brain, layers, ci=95)


def test_visual_hierarchy_is_recovered():
    """The planted hierarchy of simulate_visual_hierarchy: V1 -> early, IT -> late layers."""
    from neurotk.datasets import digits_network, simulate_visual_hierarchy

    sim = simulate_visual_hierarchy(random_state=0)
    net = digits_network(random_state=0)
    acts = net.activations(sim.images, stimulus_ids=sim.stimulus_ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)
        result = map_layers(sim.recording, acts, cv=3, inner_cv=3, alphas=np.logspace(-1, 5, 10),
                            n_bootstrap=200, random_state=0)
    assert result.hierarchy_recovered, result.matrix()
    assert result.best["best_layer"].iloc[0] == "conv1"


def test_mapping_is_a_result_with_a_short_repr(planted_mapping, tmp_path):
    from neurotk.results import Result

    _, _, _, result = planted_mapping
    assert isinstance(result, Result)
    assert repr(result) == ("LayerMapping(metric='r2', areas=['A0', 'A1', 'A2'], layers=['L0', 'L1', 'L2'], "
                            "best={'A0': 'L0', 'A1': 'L1', 'A2': 'L2'})")
    table = pd.read_csv(result.save(tmp_path / "mapping.csv"))
    np.testing.assert_allclose(table["score"], result.summary["score"])
    values = result.voxel_values("A1")
    best = result.unit_best[result.unit_best["area"] == "A1"]
    np.testing.assert_array_equal(values[0], best["layer_index"] + 1)
    np.testing.assert_array_equal(values[1], best["score"])
    assert values.shape == (2, result.units["A1"].n_units)
    with pytest.raises(ArgumentError, match="name one"):
        result.voxel_values()
    with pytest.raises(ArgumentError, match="area='V9'"):
        result.voxel_values("V9")
