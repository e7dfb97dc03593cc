"""The comparison report and the neurotk demo / compare commands."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from neurotk import AlignmentError, ArgumentError, Recording  # noqa: E402
from neurotk.cli import main  # noqa: E402
from neurotk.datasets import digits_network, simulate_visual_hierarchy  # noqa: E402
from neurotk.report import compare_recordings  # noqa: E402


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


def test_cli_demo_writes_the_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--n-bootstrap", "30", "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "demo" / "scores.csv")
    assert {"V1", "V4", "IT"} == set(table["area"])
    assert (tmp_path / "demo" / "demo_session.nwb").exists()
    assert capsys.readouterr().out == ""


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
