"""The comparison reports (simulated and real-data sections) and the neurotk demo / compare commands."""

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr

from neurotk import AlignmentError, ArgumentError, Recording, ShapeMismatchError
from neurotk.cli import main
from neurotk.datasets import (
    digits_network,
    load_92_objects,
    pretrained_onet,
    simulate_visual_hierarchy,
)
from neurotk.report import compare_rdms, compare_recordings
from neurotk.rsa import RDM


@pytest.fixture(scope="module")
def inputs():
    sim = simulate_visual_hierarchy(n_stimuli=60, random_state=0)
    net = digits_network(0)
    brain = {a: sim.area(a) for a in sim.areas}
    layers = net.activations(sim.images, stimulus_ids=sim.stimulus_ids)
    return sim, brain, layers


def _upper(x):
    m = 1 - np.corrcoef(x)
    return m[np.triu_indices(len(m), 1)]


def test_scores_equal_an_independent_rsa(inputs):
    sim, brain, layers = inputs
    report = compare_recordings(brain, layers, n_bootstrap=50, progress=False)
    plain = report.scores[report.scores["transform"] == "none"].set_index(["area", "layer"])
    assert set(report.scores.columns) >= {"area", "layer", "method", "score", "ci_low", "ci_high"}
    for area in sim.areas:
        means = sim.area(area).average("stimulus")  # stimuli sorted by id, as the RDMs are
        for name, rec in layers.items():
            expected = spearmanr(_upper(means.data), _upper(rec.align(means).data))[0]
            assert plain.loc[(area, name), "score"] == pytest.approx(expected, abs=1e-12)
            row = plain.loc[(area, name)]
            assert row["ci_low"] <= row["score"] <= row["ci_high"]
    assert set(report.scores["transform"]) == {"none", "rgtm"}
    assert report.best["area"].tolist() == list(sim.areas)
    assert report.hierarchy_recovered is None and report.hierarchy_sentence == ""  # no order given: no claim


def test_report_folder_is_complete(inputs, tmp_path):
    _, brain, layers = inputs
    report = compare_recordings(brain, layers, n_bootstrap=20, n_permutations=50, progress=False)
    out = report.save(tmp_path / "report")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["bootstrap.png", "index.html", "layer_area.png", "mds.png", "pairwise.csv", "rdms.png",
                     "report.json", "scores.csv", "topology.png"]
    page = (out / "index.html").read_text()
    for png in (n for n in names if n.endswith(".png")):
        assert f'src="{png}"' in page
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "scores.csv", keep_default_na=False, na_values=[""])
    expected = report.scores.reset_index(drop=True).replace({"best": {"": np.nan}})
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)


def test_mismatched_inputs_are_clear_errors(inputs):
    _, brain, layers = inputs
    with pytest.raises(ArgumentError, match="non-empty dict"):
        compare_recordings({}, layers)
    bare = {"V1": Recording(np.ones((5, 3)))}
    with pytest.raises(ArgumentError, match="no samples column 'stimulus'"):
        compare_recordings(bare, layers)
    other = {"X": Recording(np.random.default_rng(0).normal(size=(3, 4)), samples={"stimulus": [900, 901, 902]})}
    with pytest.raises(AlignmentError, match="share 0 stimulus values"):
        compare_recordings(brain, other)


def _tau_a(a, b, chunk=512):
    """Kendall's tau-a by its definition: the mean over ordered pairs i != j of
    sign(a_i - a_j) * sign(b_i - b_j) (ties count 0), in row chunks."""
    n, total = len(a), 0.0
    for start in range(0, n, chunk):
        da = np.sign(a[start:start + chunk, None] - a[None, :])
        db = np.sign(b[start:start + chunk, None] - b[None, :])
        total += float((da * db).sum())
    return total / (n * (n - 1))


def _ceiling(subjects):
    """Nili et al. (2014) / rsatoolbox ``ceilingAvgRDMcorr`` for Spearman: every subject's RDM
    against the mean rank-transformed RDM of all subjects (upper) and of the others (lower)."""
    ranks = np.vstack([rankdata(v) for v in subjects])
    upper = np.mean([spearmanr(v, ranks.mean(axis=0))[0] for v in subjects])
    lower = np.mean([spearmanr(v, np.delete(ranks, k, axis=0).mean(axis=0))[0] for k, v in enumerate(subjects)])
    return lower, upper


def test_cli_demo_writes_the_report(tmp_path, capsys):
    """The demo's two sections: the simulated one and the real 92-object one, whose numbers
    are recomputed here from the packaged data with numpy and scipy."""
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n-bootstrap", "30", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    table = pd.read_csv(out / "scores.csv")
    assert {"V1", "V4", "IT"} == set(table["area"])
    assert (out / "demo_session.nwb").exists()

    page = (out / "index.html").read_text()
    assert "Simulated data" in page and "Real data" in page
    assert page.index("How this report was made") < page.index("Notes and warnings") < page.index("<h2>Simulated cortex")
    assert "Hierarchy (area order given: V1 -&gt; V4 -&gt; IT)" in page and "p = 0.167" in page
    assert "Kriegeskorte" in page and "Neuron 60(6):1126-1141" in page
    assert "MTCNN&#x27;s O-Net" in page and "MTCNN's" not in page  # text is escaped, as everywhere on the page
    assert page.index("<h2>Simulated cortex") < page.index("<h2>Real data: human and monkey IT")
    for png in ("objects92_scores.png", "objects92_layers.png", "objects92_rdms.png"):
        assert f'src="{png}"' in page and (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "one RDM: no noise ceiling" in page

    real = pd.read_csv(out / "objects92_scores.csv").set_index(["area", "candidate"])
    data = load_92_objects()
    layers = ["conv1", "conv2", "conv3", "conv4", "fc5"]
    models = [m for m in data.rdms if m not in ("hIT", "mIT", "monkeyIT")]  # monkeyIT is the mIT RDM itself
    assert np.allclose(data.rdms["monkeyIT"].vectors, data.rdms["mIT"].vectors)
    assert sorted(real.loc["hIT"].index) == sorted(["mIT", *layers, *models])
    assert sorted(real.loc["mIT"].index) == sorted(["hIT", *layers, *models])
    assert set(real["kind"]) == {"brain area", "O-Net layer", "model RDM"}

    # independent re-computation: session means per subject, 1 - r layer RDMs, scipy comparisons
    sessions = pd.DataFrame(np.asarray(data.subjects.vectors))
    subjects = sessions.groupby(data.subjects.descriptors["subject"].to_numpy()).mean().to_numpy()
    assert subjects.shape == (4, 92 * 91 // 2)
    hit, mit = np.asarray(data.rdms["hIT"].vectors)[0], np.asarray(data.rdms["mIT"].vectors)[0]
    assert np.allclose(subjects.mean(axis=0), hit)
    acts = pretrained_onet().activations(data.images, stimulus_ids=data.conditions, layers=layers)
    candidates = {name: _upper(acts[name].data) for name in layers}
    candidates.update({m: np.asarray(data.rdms[m].vectors)[0] for m in models})
    lower, upper = _ceiling(subjects)
    for name, vec in [*candidates.items(), ("mIT", mit)]:
        row = real.loc[("hIT", name)]
        assert row["score"] == pytest.approx(np.mean([spearmanr(s, vec)[0] for s in subjects]), abs=1e-9)
        assert row["group_score"] == pytest.approx(spearmanr(hit, vec)[0], abs=1e-9)
        assert (row["ceiling_low"], row["ceiling_high"]) == pytest.approx((lower, upper), abs=1e-9)
        assert row["n_data_rdms"] == 4 and row["ci_low"] <= row["ci_high"]
    for name, vec in [*candidates.items(), ("hIT", hit)]:
        row = real.loc[("mIT", name)]
        assert row["score"] == pytest.approx(spearmanr(mit, vec)[0], abs=1e-9)
        assert row["group_score"] == pytest.approx(row["score"], abs=1e-12)
        assert np.isnan(row["ceiling_low"]) and np.isnan(row["ceiling_high"]) and row["n_data_rdms"] == 1
    for area, name, vec_a, vec_b in (("hIT", "mIT", hit, mit), ("hIT", "conv4", hit, candidates["conv4"]),
                                     ("mIT", "animacy", mit, candidates["animacy"])):
        assert real.loc[(area, name), "tau_a"] == pytest.approx(_tau_a(vec_a, vec_b), abs=1e-9)
    assert real.loc[("hIT", "mIT"), "tau_a"] == pytest.approx(0.304, abs=5e-4)  # Kriegeskorte et al. 2008's match


def test_compare_rdms_scores_ceiling_and_errors(tmp_path):
    rng = np.random.default_rng(3)
    truth = rng.random(66)
    subjects = truth + 0.4 * rng.random((5, 66))
    single = truth + 0.4 * rng.random(66)
    cands = {"true": truth, "noise": rng.random(66), "tied": (truth > 0.5).astype(float)}
    res = compare_rdms({"A": RDM(subjects), "B": RDM(single)}, {k: RDM(v) for k, v in cands.items()},
                       kinds={"true": "model", "noise": "model", "tied": "category"}, layers=["noise", "true"],
                       n_bootstrap=400, progress=False)
    frame = res.to_frame().set_index(["area", "candidate"])
    lower, upper = _ceiling(subjects)
    for name, vec in cands.items():
        assert frame.loc[("A", name), "score"] == pytest.approx(np.mean([spearmanr(s, vec)[0] for s in subjects]))
        assert frame.loc[("A", name), "ceiling_low"] == pytest.approx(lower)
        assert frame.loc[("A", name), "ceiling_high"] == pytest.approx(upper)
        assert frame.loc[("A", name), "tau_a"] == pytest.approx(_tau_a(subjects.mean(axis=0), vec))
        assert frame.loc[("B", name), "score"] == pytest.approx(spearmanr(single, vec)[0])
    assert res.ceilings["B"] is None and res.best.groupby("area").size().tolist() == [2, 2]
    assert "noise ceiling" in res.verdicts()[0] and res.verdicts()[-1].endswith("(one RDM: no noise ceiling)")
    out = res.save(tmp_path / "alone")
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "rdms_layers.png", "rdms_pairwise.csv",
                                                     "rdms_rdms.png", "rdms_scores.csv", "rdms_scores.png"]
    # significance: the planted RDM is above chance (no permutation reaches it) and beats noise;
    # noise is not above chance; the best of a kind needs both
    assert frame.loc[("A", "true"), "p_value"] == pytest.approx(1 / 1001)
    assert frame.loc[("A", "noise"), "p_value"] > 0.05
    assert frame.loc[("A", "true"), "best"] == "true" and frame.loc[("A", "noise"), "best_set"] == "true"
    pair = res.pairwise[(res.pairwise["area"] == "A") & (res.pairwise["model_a"].isin(["true", "noise"]))
                        & (res.pairwise["model_b"].isin(["true", "noise"]))]
    assert len(pair) == 1 and bool(pair["significant"].iloc[0])
    assert "best true (significantly better than every other model)" in res.verdicts()[0]
    noise_only = compare_rdms({"A": RDM(subjects)}, {"n1": RDM(rng.random(66)), "n2": RDM(rng.random(66))},
                              n_bootstrap=40, n_permutations=200, progress=False)
    assert (noise_only.scores["best"] == "").all()
    assert "no candidate explains this area above chance" in noise_only.verdicts()[0]
    with pytest.raises(ArgumentError, match=r"data\['A'\] is a ndarray; expected a neurotk.rsa.RDM"):
        compare_rdms({"A": subjects}, {"true": RDM(truth)})
    with pytest.raises(ArgumentError, match="kinds names \\['nope'\\]"):
        compare_rdms({"A": RDM(subjects)}, {"true": RDM(truth)}, kinds={"nope": "model"})
    with pytest.raises(ArgumentError, match="layers="):
        compare_rdms({"A": RDM(subjects)}, {"true": RDM(truth)}, layers=["conv9"])
    with pytest.raises(AlignmentError, match=r"candidates\['short'\] is over 11 conditions"):
        compare_rdms({"A": RDM(subjects)}, {"short": RDM(rng.random(55))})
    with pytest.raises(ShapeMismatchError, match="categories has shape"):
        compare_rdms({"A": RDM(subjects)}, {"true": RDM(truth)}, categories=[0, 1])
    with pytest.raises(ArgumentError, match="name="):
        compare_rdms({"A": RDM(subjects)}, {"true": RDM(truth)}, name="../x")


def test_cli_compare_on_array_files(inputs, tmp_path, capsys):
    sim, _, layers = inputs
    means = sim.recording.average("stimulus")
    brain = {a: means.select(units={"area": a}).data for a in sim.areas}
    np.savez(tmp_path / "brain.npz", stimulus=means.samples["stimulus"].to_numpy(), **brain)
    np.savez(tmp_path / "model.npz", stimulus=sim.stimulus_ids, **{k: v.data for k, v in layers.items()})
    code = main(["compare", str(tmp_path / "brain.npz"), str(tmp_path / "model.npz"),
                 "--out", str(tmp_path / "rep"), "--n-bootstrap", "20"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "V1" in printed and (tmp_path / "rep" / "index.html").exists()
    assert main(["compare", str(tmp_path / "brain.npz"), str(tmp_path / "nothing.txt"), "--quiet"]) == 2
    assert "nothing.txt" in capsys.readouterr().err


def test_cli_compare_with_an_rdm_file_as_brain(tmp_path, capsys):
    from scipy.io import savemat
    from scipy.spatial.distance import pdist, squareform
    from scipy.stats import spearmanr

    rng = np.random.default_rng(7)
    feats = rng.normal(size=(14, 30))
    subjects = np.stack([squareform(pdist(feats + 0.6 * rng.normal(size=feats.shape), "correlation"))
                         for _ in range(4)])
    conv, fc = feats @ rng.normal(size=(30, 25)), rng.normal(size=(14, 9))
    np.savez(tmp_path / "model.npz", stimulus=np.arange(14), conv=conv, fc=fc)
    np.save(tmp_path / "subjects.npy", subjects)                          # numpy (k, n, n) stack
    savemat(tmp_path / "subjects.mat", {"rdms": np.moveaxis(subjects, 0, -1)})  # MATLAB (n, n, k)
    for brain in ("subjects.npy", "subjects.mat"):
        out = tmp_path / brain.replace(".", "_")
        assert main(["compare", str(tmp_path / brain), str(tmp_path / "model.npz"), "--out", str(out),
                     "--n-bootstrap", "400"]) == 0
        printed = capsys.readouterr().out
        assert "RDM file, 4 RDMs over 14 conditions" in printed
        scores = pd.read_csv(out / "rdms_scores.csv", keep_default_na=False).set_index("candidate")
        for name, layer in (("conv", conv), ("fc", fc)):  # mean over subjects of Spearman with the layer RDM
            expected = np.mean([spearmanr(squareform(s, checks=False), pdist(layer, "correlation"))[0]
                                for s in subjects])
            assert scores.loc[name, "score"] == pytest.approx(expected, abs=1e-9)
        assert scores.loc["conv", "best"] == "conv" and scores.loc["fc", "p_value"] > 0.05
        assert np.isfinite(scores.loc["conv", "ceiling_low"])
        assert (out / "index.html").exists() and "best conv" in printed
    np.savez(tmp_path / "short.npz", stimulus=np.arange(10), conv=conv[:10])
    assert main(["compare", str(tmp_path / "subjects.npy"), str(tmp_path / "short.npz"), "--out",
                 str(tmp_path / "bad"), "--quiet"]) == 2
    assert "no rows for 4 of the BRAIN RDM's 14 conditions" in capsys.readouterr().err


# --------------------------------------------------------------------------- statistics (issue 17)
def _square(vec, n):
    m = np.zeros((n, n))
    m[np.triu_indices(n, 1)] = vec
    return m + m.T


def _holm_by_hand(p):
    p = np.asarray(p, float)
    order = np.argsort(p, kind="stable")
    out, running = np.empty_like(p), 0.0
    for rank, k in enumerate(order):
        running = max(running, (len(p) - rank) * p[k])
        out[k] = min(1.0, running)
    return out


def _random_inputs(seed, n_stimuli=24, n_repeats=2, areas=("A", "B", "C"), n_layers=3):
    rng = np.random.default_rng(seed)
    stim = np.tile(np.arange(n_stimuli), n_repeats)
    samples = {"stimulus": stim, "repeat": np.repeat(np.arange(n_repeats), n_stimuli)}
    brain = {a: Recording(rng.normal(size=(len(stim), 15)), samples=samples) for a in areas}
    layers = {f"l{k}": Recording(rng.normal(size=(n_stimuli, 10)), samples={"stimulus": np.arange(n_stimuli)})
              for k in range(n_layers)}
    return brain, layers


def test_statistics_equal_independent_computations(inputs):
    """p-values (permutation by hand with scipy), Holm by hand, the best-layer rule, the
    split-half ceiling (Spearman-Brown by formula) and the exact area-order test."""
    import itertools

    sim = simulate_visual_hierarchy(n_stimuli=20, n_repeats=2, random_state=1)
    net = digits_network(0)
    brain = {a: sim.area(a) for a in sim.areas}
    layers = net.activations(sim.images, stimulus_ids=sim.stimulus_ids)
    n_perm = 60
    report = compare_recordings(brain, layers, n_bootstrap=80, n_permutations=n_perm, random_state=0,
                                progress=False, area_order=list(sim.areas))
    cols = list(report.scores.columns)
    assert cols[:9] == ["area", "layer", "score", "ci_low", "ci_high", "p_value", "best", "noise_ceiling_low",
                        "noise_ceiling_high"] and cols[9] == "best_set"
    plain = report.scores[report.scores["transform"] == "none"]
    n = 20
    perms = np.argsort(np.random.default_rng(0).random((n_perm, n)), axis=1)  # the documented draw
    tops = []
    for area in sim.areas:
        rows = plain[plain["area"] == area]
        means = sim.area(area).average("stimulus")
        data = _square(_upper(means.data), n)
        iu = np.triu_indices(n, 1)
        for name, row in zip(rows["layer"], rows.itertuples()):
            model = _upper(layers[name].align(means).data)
            observed = spearmanr(data[iu], model)[0]
            null = np.array([spearmanr(data[np.ix_(p, p)][iu], model)[0] for p in perms])
            assert row.p_value == pytest.approx((1 + np.sum(null >= observed - 1e-12)) / (1 + n_perm))
        assert np.allclose(rows["p_holm"], _holm_by_hand(rows["p_value"]))
        pairs = report.pairwise[(report.pairwise["area"] == area) & (report.pairwise["transform"] == "none")]
        assert len(pairs) == 6 and np.allclose(pairs["p_adjusted"], _holm_by_hand(pairs["p_value"]))
        # best-layer rule by hand
        top = rows.loc[rows["score"].idxmax(), "layer"]
        tops.append(list(layers).index(top))
        beats = {}
        for r in pairs.itertuples():
            if top in (r.model_a, r.model_b):
                other = r.model_b if r.model_a == top else r.model_a
                diff = r.difference if r.model_a == top else -r.difference
                beats[other] = r.p_adjusted < 0.05 and diff > 0
        tied = {top} | {o for o, b in beats.items() if not b}
        assert set(rows["best_set"].iloc[0].split(";")) == tied
        expected_best = top if tied == {top} and rows.loc[rows["layer"] == top, "p_holm"].iloc[0] < 0.05 else ""
        assert (rows["best"].fillna("") == expected_best).all()
        # split-half by hand: 20 splits, each stimulus's presentations ordered by a uniform key (the
        # documented draw), the first k // 2 in one half; Spearman-Brown: 2 r / (1 + r)
        rec = sim.area(area)
        stim = rec.samples["stimulus"].to_numpy()
        rng, rs = np.random.default_rng(0), []
        for _ in range(20):
            key = rng.random(len(stim))
            first = np.zeros(len(stim), bool)
            for c in np.unique(stim):
                idx = np.flatnonzero(stim == c)
                first[idx[np.argsort(key[idx])][: len(idx) // 2]] = True
            halves = [_upper(np.vstack([rec.data[(stim == c) & m].mean(axis=0) for c in np.unique(stim)]))
                      for m in (first, ~first)]
            rs.append(spearmanr(*halves)[0])
        r = np.mean(rs)
        low = 2 * r / (1 + r)
        assert rows["noise_ceiling_low"].iloc[0] == pytest.approx(low, abs=1e-12)
        assert rows["noise_ceiling_high"].iloc[0] == pytest.approx(np.sqrt(low), abs=1e-12)
    # area-order test: Spearman rho of position vs top depth over all 3! orders, by hand
    rho_obs = spearmanr(np.arange(3), tops)[0]
    if np.isfinite(rho_obs):
        rhos = [spearmanr(np.array(p), tops)[0] for p in itertools.permutations(range(3))]
        assert report.hierarchy_p == pytest.approx(np.mean(np.array(rhos) >= rho_obs - 1e-12))
        assert f"p = {report.hierarchy_p:.3g}" in report.hierarchy_sentence


def test_ceiling_across_sessions_is_nili():
    brain, layers = _random_inputs(2, n_stimuli=12, n_repeats=3, areas=("A",))
    rec = brain["A"]
    rec = Recording(rec.data + np.tile(np.random.default_rng(5).normal(size=(12, 15)), (3, 1)),
                    samples=rec.samples.assign(session=rec.samples["repeat"]))
    report = compare_recordings({"A": rec}, layers, n_bootstrap=20, n_permutations=10, ceiling_by="session",
                                progress=False)
    per_session = [_upper(rec.select(samples=(rec.samples["session"] == k).to_numpy()).average("stimulus").data)
                   for k in range(3)]
    lower, upper = _ceiling(np.vstack(per_session))
    row = report.scores.iloc[0]
    assert (row["noise_ceiling_low"], row["noise_ceiling_high"]) == pytest.approx((lower, upper), abs=1e-12)
    assert row["noise_ceiling_method"] == "across 3 session values"
    with pytest.raises(ArgumentError, match="ceiling_by='subject'"):
        compare_recordings({"A": rec}, layers, n_bootstrap=5, n_permutations=5, ceiling_by="subject", progress=False)


def test_random_data_name_no_best_layer_and_no_hierarchy_claim(tmp_path):
    # seed 1; at alpha 0.05 a random area passes in about 5% of draws (seed 0 has one such area)
    brain, layers = _random_inputs(1)
    report = compare_recordings(brain, layers, n_bootstrap=200, n_permutations=200, progress=False,
                                provenance={"command": "neurotk compare a b", "seed": 0})
    assert (report.scores["best"].fillna("") == "").all() and (report.best["layer"] == "").all()
    assert (report.best["verdict"] == "no layer explains this area above chance").all()
    assert report.hierarchy_sentence == "" and report.hierarchy_recovered is None
    out = report.save(tmp_path / "rand")
    page = (out / "index.html").read_text()
    assert "no layer explains any area above chance" in page and "Hierarchy" not in page
    import json

    record = json.loads((out / "report.json").read_text())
    assert record["provenance"]["command"] == "neurotk compare a b" and record["provenance"]["seed"] == 0
    assert record["provenance"]["versions"]["neurotk"] and record["provenance"]["analysis"]["n_permutations"] == 200
    assert record["provenance"]["data"] != "simulated"
    table = pd.read_csv(out / "scores.csv")
    assert list(table.columns[:9]) == ["area", "layer", "score", "ci_low", "ci_high", "p_value", "best",
                                       "noise_ceiling_low", "noise_ceiling_high"]
    one = compare_recordings({"A": brain["A"]}, layers, n_bootstrap=20, n_permutations=20, progress=False,
                             area_order=["A"])
    assert one.hierarchy_sentence == "" and "at least 2" in one.messages()[-1]
    with pytest.raises(ArgumentError, match="area_order"):
        compare_recordings(brain, layers, n_bootstrap=5, n_permutations=5, progress=False, area_order=["A", "Z"])


def test_warnings_become_notes_at_the_top(monkeypatch, tmp_path):
    import neurotk.rsa as rsa_module

    original = rsa_module.permutation_test

    def noisy(*args, **kwargs):
        import warnings

        warnings.warn("something odd in the permutations", UserWarning, stacklevel=2)
        return original(*args, **kwargs)

    monkeypatch.setattr(rsa_module, "permutation_test", noisy)
    brain, layers = _random_inputs(1, areas=("A",))
    with pytest.warns(UserWarning, match="something odd") as record:
        report = compare_recordings(brain, layers, n_bootstrap=10, n_permutations=10, progress=False)
    assert len(record) == 1 and record[0].filename == __file__  # once, pointing at the caller
    assert report.messages().count("warning: UserWarning: something odd in the permutations") == 1
    page = (report.save(tmp_path / "w") / "index.html").read_text()
    assert page.index("<h2>Notes and warnings</h2>") < page.index("something odd") < page.index("<h2>Brain areas")


def test_encoding_view_beside_rsa(tmp_path):
    from neurotk.encoding import map_layers

    sim = simulate_visual_hierarchy(n_stimuli=30, random_state=0)
    brain = {a: sim.area(a) for a in sim.areas[:2]}
    layers = digits_network(0).activations(sim.images, stimulus_ids=sim.stimulus_ids)
    report = compare_recordings(brain, layers, n_bootstrap=30, n_permutations=10, progress=False, encoding=True)
    direct = map_layers(brain, layers, n_bootstrap=30, random_state=0).to_frame()
    assert np.allclose(report.encoding["score"], direct["score"])
    assert np.allclose(report.encoding[["ci_low", "ci_high"]], direct[["ci_low", "ci_high"]])
    out = report.save(tmp_path / "enc")
    page = (out / "index.html").read_text()
    assert 'src="encoding.png"' in page and (out / "encoding_scores.csv").exists()
    assert "noise ceiling" in pd.read_csv(out / "encoding_scores.csv")["normalisation"].iloc[0]
