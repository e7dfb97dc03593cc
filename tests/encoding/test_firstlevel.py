"""The first-level GLM of fMRI runs (neurotk.encoding.glm), checked against the simulation's
planted betas, an independent least-squares fit and nitime's real event-related BOLD series.

Images are loaded with neurotk.io.load_fmri first: glm takes Recordings only.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from neurotk import DataFormatError, Recording
from neurotk.datasets import simulate_fmri
from neurotk.encoding import glm
from neurotk.errors import ArgumentError
from neurotk.io import load_fmri


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_fmri(path=tmp_path_factory.mktemp("sim"), random_state=0)


@pytest.fixture(scope="module")
def sim_rec(sim):
    return load_fmri(sim.paths["bold"], mask=sim.paths["mask"], atlas=sim.paths["atlas"],
                     atlas_labels=sim.paths["atlas_labels"])


def truth_for(sim, betas):
    rows = [sim.conditions.index(c) for c in betas.samples["condition"]]
    return sim.betas[rows]


def corr_active(sim, est, truth):
    a = sim.active
    return np.corrcoef(est[:, a].ravel(), truth[:, a].ravel())[0, 1]


def test_glm_recovers_planted_betas_per_run(sim, sim_rec):
    betas = glm(sim_rec, sim.paths["events"])  # one events file per run
    assert betas.shape == (8, sim_rec.n_units)
    assert betas.samples["run"].tolist() == [1] * 4 + [2] * 4
    assert (betas.samples["stimulus"] == betas.samples["condition"]).all()
    for rec in betas.split("run").values():
        assert corr_active(sim, rec.data, truth_for(sim, rec)) > 0.9
    # one table with a run column gives the same betas
    assert np.allclose(glm(sim_rec, sim.events).data, betas.data)
    # runs as cross-validation folds
    folds = list(betas.leave_one_out("run"))
    assert [k for k, _, _ in folds] == [1, 2]
    r1, r2 = betas.split("run").values()
    assert np.corrcoef(r1.data[:, sim.active].ravel(), r2.data[:, sim.active].ravel())[0, 1] > 0.85


def test_glm_pooled_trial_and_t(sim, sim_rec):
    pooled = glm(sim_rec, sim.events, pool_runs=True)
    assert pooled.shape == (4, sim_rec.n_units) and "run" not in pooled.samples
    assert corr_active(sim, pooled.data, truth_for(sim, pooled)) > 0.95
    trials = glm(sim_rec, sim.events, per="trial")
    assert trials.n_samples == len(sim.events)
    assert trials.samples["onset"].tolist() == sim.events["onset"].tolist()
    mean = trials.average(by="condition")
    assert corr_active(sim, mean.data, truth_for(sim, mean)) > 0.9
    t = glm(sim_rec, sim.events, stat="t")
    assert np.abs(t.data[:, sim.active]).mean() > 2 * np.abs(t.data[:, ~sim.active]).mean()


def spm_hrf_by_hand(tr, oversampling=16):
    dt = tr / oversampling
    t = np.arange(int(32 / dt) + 1) * dt
    h = scipy.stats.gamma.pdf(t, 6.0) - scipy.stats.gamma.pdf(t, 16.0) / 6.0
    return h / h.sum()


def test_glm_equals_independent_lstsq(sim, sim_rec):
    tr, n, osf = sim.tr, 150, 16
    hrf = spm_hrf_by_hand(tr)
    run = sim_rec.select(samples={"run": 1})
    ev = sim.events[sim.events["run"] == 1]
    dt = tr / osf
    columns = []
    for cond in sorted(sim.conditions):
        box = np.zeros(n * osf)
        for onset, duration in ev.loc[ev["trial_type"] == cond, ["onset", "duration"]].to_numpy():
            start = int(np.rint(onset / dt))
            box[start : max(int(np.rint((onset + duration) / dt)), start + 1)] = 1.0
        columns.append(np.convolve(box, hrf)[: n * osf][::osf])
    n_cos = int(np.floor(2 * n * tr / 128))
    cosines = np.cos(np.pi * np.outer(np.arange(n) + 0.5, np.arange(1, n_cos + 1)) / n)
    X = np.column_stack(columns + [cosines, np.ones(n)])
    expected = np.linalg.lstsq(X, run.data, rcond=None)[0][: len(sim.conditions)]
    got = glm(run, ev)
    assert got.samples["condition"].tolist() == sorted(sim.conditions)
    assert np.allclose(got.data, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


def test_glm_from_image_paths(sim, sim_rec):
    betas = glm(load_fmri(sim.paths["bold"], mask=sim.paths["mask"]), sim.paths["events"])
    assert np.allclose(betas.data, glm(sim_rec, sim.paths["events"]).data)


def test_glm_refuses_images_and_says_to_load_them(sim, sim_rec):
    for images in (sim.paths["bold"], sim.paths["bold"][0], sim.images[0]):
        with pytest.raises(ArgumentError, match=r"load_fmri\(img, mask=\.\.\.\)"):
            glm(images, sim.paths["events"])
    with pytest.raises(TypeError, match="mask"):
        glm(sim_rec, sim.paths["events"], mask=sim.paths["mask"])  # glm no longer loads images
    with pytest.raises(ArgumentError, match="expected a Recording"):
        glm(np.ones((10, 2)), sim.events)


def test_glm_of_a_list_of_runs_equals_glm_of_their_concatenation(sim, sim_rec):
    runs = list(sim_rec.split("run").values())
    betas = glm(sim_rec, sim.paths["events"])
    assert np.array_equal(glm(runs, sim.paths["events"]).data, betas.data)
    bare = [r.replace(samples=r.samples.drop(columns="run")) for r in runs]  # runs labelled 1, 2
    assert np.array_equal(glm(bare, sim.paths["events"]).data, betas.data)
    with pytest.raises(ArgumentError, match="all or none"):
        glm([runs[0], bare[1]], sim.paths["events"])


def test_glm_on_real_nitime_bold():
    nitime = pytest.importorskip("nitime")
    table = pd.read_csv(Path(nitime.__file__).parent / "data" / "event_related_fmri.csv")
    tr = 2.0
    codes = table["events"].to_numpy()
    hits = np.flatnonzero(codes > 0)
    events = pd.DataFrame({"onset": hits * tr, "duration": 0.0, "trial_type": codes[hits].astype(int)})
    rec = Recording(table[["bold"]].to_numpy(), samples={"volume": np.arange(len(table))}, meta={"tr": tr})
    betas = glm(rec, events, drift=None)
    assert betas.samples["condition"].tolist() == sorted(set(codes[hits].astype(int)))
    assert (betas.data > 0).all()  # every event type evokes a positive response
    # same betas as lstsq on the same regressors
    from neurotk.signal import event_regressors

    X = event_regressors(events.onset, events.duration, len(table), tr, events.trial_type)
    X = np.column_stack([X, np.ones(len(table))])
    ref = np.linalg.lstsq(X, rec.data, rcond=None)[0][:-1]
    assert np.allclose(betas.data, ref)


def test_events_errors(sim, sim_rec, tmp_path):
    late = sim.events[sim.events["run"] == 1].copy()
    late.loc[late.index[3], "onset"] = 400.0
    path = tmp_path / "late_events.tsv"
    late.drop(columns="run").to_csv(path, sep="\t", index=False)
    one_run = sim_rec.select(samples={"run": 1})
    with pytest.raises(DataFormatError, match=r"late_events.tsv, row 3: onset 400 s is beyond"):
        glm(one_run, path)
    with pytest.raises(DataFormatError, match="run labels"):
        glm(sim_rec, sim.events.assign(run=sim.events["run"] + 5))
    with pytest.raises(DataFormatError, match="trial_type"):
        glm(one_run, sim.events.drop(columns="trial_type"))
    with pytest.raises(DataFormatError, match="no 'run' column"):
        glm(sim_rec, sim.events.drop(columns="run"))
    with pytest.raises(ArgumentError, match="tr="):
        glm(Recording(np.ones((10, 2))), sim.events.drop(columns="run"))


def test_glm_confounds(sim, sim_rec):
    run = sim_rec.select(samples={"run": 1})
    ev = sim.events[sim.events["run"] == 1]
    confound = np.random.default_rng(2).normal(size=(run.n_samples, 2))
    with_conf = glm(run, ev, confounds=confound)
    assert with_conf.shape == (4, run.n_units) and not np.allclose(with_conf.data, glm(run, ev).data)
    with pytest.raises(ArgumentError, match="confounds"):
        glm(run, ev, confounds=confound[:-1])


# --------------------------------------------------------------------------- contrasts, nilearn's convention
def spm_design_by_hand(ev, conditions, n, tr, osf=16):
    """SPM-convention task columns + cosines + intercept, written out with loops (as above)."""
    hrf = spm_hrf_by_hand(tr, osf)
    dt = tr / osf
    columns = []
    for cond in conditions:
        box = np.zeros(n * osf)
        for onset, duration in ev.loc[ev["trial_type"] == cond, ["onset", "duration"]].to_numpy():
            start = int(np.rint(onset / dt))
            box[start : max(int(np.rint((onset + duration) / dt)), start + 1)] = 1.0
        columns.append(np.convolve(box, hrf)[: n * osf][::osf])
    n_cos = int(np.floor(2 * n * tr / 128))
    cosines = np.cos(np.pi * np.outer(np.arange(n) + 0.5, np.arange(1, n_cos + 1)) / n)
    return np.column_stack(columns + [cosines, np.ones(n)])


def test_glm_t_contrast_equals_its_definition(sim, sim_rec):
    run = sim_rec.select(samples={"run": 1})
    ev = sim.events[sim.events["run"] == 1]
    conditions = sorted(sim.conditions)
    a, b = conditions[0], conditions[1]
    X = spm_design_by_hand(ev, conditions, run.n_samples, sim.tr)
    c = np.zeros(X.shape[1])
    c[0], c[1] = 1.0, -0.5
    beta, *_ = np.linalg.lstsq(X, run.data, rcond=None)
    resid = run.data - X @ beta
    sigma2 = (resid ** 2).sum(axis=0) / (run.n_samples - np.linalg.matrix_rank(X))
    expected_t = c @ beta / np.sqrt(sigma2 * (c @ np.linalg.inv(X.T @ X) @ c))
    spec = {"a - b/2": {a: 1.0, b: -0.5}, "a": {a: 1}}
    t = glm(run, ev, stat="t", contrasts=spec)
    assert t.samples["condition"].tolist() == ["a - b/2", "a"]
    np.testing.assert_allclose(t.data[0], expected_t, rtol=1e-6)
    np.testing.assert_allclose(t.data[1], glm(run, ev, stat="t").data[0], rtol=1e-10)
    effect = glm(run, ev, contrasts=spec)
    np.testing.assert_allclose(effect.data[0], c @ beta, rtol=1e-6, atol=1e-9 * np.abs(beta).max())
    # per run and pooled
    per_run = glm(sim_rec, sim.events, stat="t", contrasts=spec)
    assert per_run.samples["run"].tolist() == [1, 1, 2, 2]
    np.testing.assert_allclose(per_run.data[0], t.data[0], rtol=1e-10)
    pooled = glm(sim_rec, sim.events, pool_runs=True, contrasts=spec)
    assert pooled.shape == (2, sim_rec.n_units) and "run" not in pooled.samples
    full = glm(sim_rec, sim.events, pool_runs=True)
    np.testing.assert_allclose(pooled.data[0], full.data[0] - 0.5 * full.data[1], rtol=1e-10, atol=1e-10)


def test_glm_contrast_errors(sim, sim_rec):
    run = sim_rec.select(samples={"run": 1})
    ev = sim.events[sim.events["run"] == 1]
    with pytest.raises(ArgumentError, match=r"contrasts\['x'\] weighs condition 'nope', which has no events in run 1"):
        glm(run, ev, contrasts={"x": {"nope": 1}})
    with pytest.raises(ArgumentError, match="needs per='condition'"):
        glm(run, ev, per="trial", contrasts={"x": {sim.conditions[0]: 1}})
    with pytest.raises(ArgumentError, match=r"contrasts\['x'\]\[.*\] = 'a'; expected a finite number"):
        glm(run, ev, contrasts={"x": {sim.conditions[0]: "a"}})
    with pytest.raises(ArgumentError, match="expected a non-empty dict"):
        glm(run, ev, contrasts=[1, -1])
    with pytest.raises(ArgumentError, match="hrf_convention"):
        glm(run, ev, hrf_convention="fsl")


def nilearn_design_by_hand(events, conditions, n, tr, oversampling=50):
    """nilearn's hrf_model="spm" regressors, from its documented scheme, written with loops:
    the HRF on linspace(0, 32, round(32 / dt)) with gammas shifted by dt and ratio 0.167; an
    event grid from -24 s to n * tr; onsets and offsets at the first grid point >= the time;
    convolution; linear interpolation at the scan times."""
    dt = tr / oversampling
    ts = np.linspace(0, 32, round(32 / dt))
    hrf = scipy.stats.gamma.pdf(ts - dt, 6) - 0.167 * scipy.stats.gamma.pdf(ts - dt, 16)
    hrf /= hrf.sum()
    frame_times = np.arange(n) * tr
    t_end = frame_times[-1] * (1 + 1 / (n - 1))
    n_grid = round((n - 1) / frame_times[-1] * (t_end + 24) * oversampling + 1)
    grid = np.linspace(-24, t_end, n_grid)
    columns = []
    for cond in conditions:
        box = np.zeros(n_grid)
        for onset, duration in events.loc[events["trial_type"] == cond, ["onset", "duration"]].to_numpy():
            i = min(int(np.sum(grid < onset)), n_grid - 1)
            j = min(int(np.sum(grid < onset + duration)), n_grid - 1)
            if j == i and i < n_grid - 1:
                j += 1
            box[i] += 1
            box[j] -= 1
        reg = np.convolve(np.cumsum(box), hrf)[:n_grid]
        columns.append(np.interp(frame_times, grid, reg))
    return np.column_stack(columns)


@pytest.mark.parametrize("tr, oversampling", [(2.0, None), (0.8, 50), (1.3, 7)])
def test_nilearn_convention_equals_its_scheme(tr, oversampling):
    rng = np.random.default_rng(4)
    n = 90
    events = pd.DataFrame({"onset": np.r_[0.0, np.sort(rng.uniform(0, n * tr - 2, 25)), 3.0],
                           "duration": np.r_[0.0, rng.choice([0.0, 0.9, 4.0], 25), 2.0],
                           "trial_type": np.r_[["a"], rng.choice(["a", "b", "c"], 25), ["c"]]})
    X_task = nilearn_design_by_hand(events, ["a", "b", "c"], n, tr, oversampling or 50)
    n_cos = int(np.floor(2 * n * tr / 128))
    X = np.column_stack([X_task, np.cos(np.pi * np.outer(np.arange(n) + 0.5, np.arange(1, n_cos + 1)) / n), np.ones(n)])
    Y = X @ rng.normal(size=(X.shape[1], 4)) + rng.normal(scale=0.1, size=(n, 4))
    rec = Recording(Y, samples={"volume": np.arange(n)}, meta={"tr": tr})
    expected = np.linalg.lstsq(X, Y, rcond=None)[0][:3]
    got = glm(rec, events, hrf_convention="nilearn", oversampling=oversampling)
    np.testing.assert_allclose(got.data, expected, rtol=1e-8, atol=1e-8)
    assert got.meta["glm"]["hrf_convention"] == "nilearn"
    assert got.meta["glm"]["oversampling"] == (oversampling or 50)
    # the default convention fits a different design: close, not equal
    spm = glm(rec, events)
    assert not np.allclose(spm.data, expected, rtol=1e-4)
    assert np.corrcoef(spm.data.ravel(), expected.ravel())[0, 1] > 0.9
    nilearn = pytest.importorskip("nilearn.glm.first_level")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm = nilearn.make_first_level_design_matrix(np.arange(n) * tr, events, hrf_model="spm", drift_model=None,
                                                    oversampling=oversampling or 50)
    np.testing.assert_allclose(X_task, dm[["a", "b", "c"]].to_numpy(), atol=1e-12)
