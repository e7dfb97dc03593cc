"""The comparison reports (simulated and real-data sections) and the neurotk demo / compare commands."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import rankdata, spearmanr  # noqa: E402

from neurotk import AlignmentError, ArgumentError, Recording, ShapeMismatchError  # noqa: E402
from neurotk.cli import main  # noqa: E402
from neurotk.datasets import (  # noqa: E402
    digits_network,
    load_92_objects,
    pretrained_onet,
    simulate_visual_hierarchy,
)
from neurotk.report import compare_rdms, compare_recordings  # noqa: E402
from neurotk.rsa import RDM  # noqa: E402


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
    assert report.hierarchy_recovered


def test_report_folder_is_complete(inputs, tmp_path):
    _, brain, layers = inputs
    report = compare_recordings(brain, layers, n_bootstrap=20, progress=False)
    out = report.save(tmp_path / "report")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["bootstrap.png", "index.html", "layer_area.png", "mds.png", "rdms.png", "scores.csv", "topology.png"]
    page = (out / "index.html").read_text()
    for png in (n for n in names if n.endswith(".png")):
        assert f'src="{png}"' in page
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "scores.csv")
    pd.testing.assert_frame_equal(table, report.scores.reset_index(drop=True), check_dtype=False)


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
    assert "Kriegeskorte" in page and "Neuron 60(6):1126-1141" in page
    assert "MTCNN&#x27;s O-Net" in page and "MTCNN's" not in page  # text is escaped, as everywhere on the page
    assert page.index("Simulated cortex") < page.index("Real data: human and monkey IT")
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
                       n_bootstrap=40, progress=False)
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
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "rdms_layers.png", "rdms_rdms.png",
                                                     "rdms_scores.csv", "rdms_scores.png"]
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
    assert "V1 -> conv1" in printed and (tmp_path / "rep" / "index.html").exists()
    assert main(["compare", str(tmp_path / "brain.npz"), str(tmp_path / "nothing.txt"), "--quiet"]) == 2
    assert "unsupported format" in capsys.readouterr().err
