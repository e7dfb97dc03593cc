"""The ``neurotk compare`` command on NWB files (pynwb-written here, and the real files in
../shared/realdata when present), its argument errors, and the console hygiene it relies on
(progress lines, warnings that point at the caller)."""

import hashlib
import json
import re
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from neurotk import NeurotkWarning, cli
from neurotk._console import PlainProgress, progress_bar
from neurotk.cli import main

matplotlib.use("Agg")

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
if not REALDATA.is_dir():
    REALDATA = Path("/work/shared/realdata")

pynwb = pytest.importorskip("pynwb")

#: The file written with pynwb: 2 areas x 4 units, 6 images x 5 repeats, 0.5 s apart.
N_IMAGES, N_REPEATS, AREAS = 6, 5, ("V1", "IT")


@pytest.fixture(scope="module")
def nwb_file(tmp_path_factory):
    """An NWB file as a lab would write it with pynwb: the presentations in an interval table
    named "image_table" whose condition column is "image_name", areas in the units column
    "location" (none of them the names neurotk looks for by default)."""
    from datetime import datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals

    rng = np.random.default_rng(1)
    nwb = NWBFile(session_description="cli test", identifier="cli-test",
                  session_start_time=datetime(2024, 1, 1).astimezone())
    order = rng.permutation(np.repeat(np.arange(N_IMAGES), N_REPEATS))
    onsets = 0.5 * np.arange(order.size) + 0.1
    table = TimeIntervals(name="image_table", description="image presentations")
    table.add_column("image_name", "which image")
    for t, k in zip(onsets, order):
        table.add_row(start_time=float(t), stop_time=float(t + 0.3), image_name=f"img{k:02d}")
    nwb.add_time_intervals(table)
    nwb.add_unit_column("location", "brain area")
    tuning = rng.gamma(2.0, 3.0, size=(len(AREAS) * 4, N_IMAGES))  # expected spikes per image in 0-0.25 s
    spikes = []
    for u in range(tuning.shape[0]):
        times = np.concatenate([t + np.sort(rng.uniform(0, 0.25, rng.poisson(tuning[u, k])))
                                for t, k in zip(onsets, order)] + [rng.uniform(0, onsets[-1] + 0.5, 5)])
        times = np.sort(times)
        spikes.append(times)
        nwb.add_unit(spike_times=times, location=AREAS[u // 4])
    path = tmp_path_factory.mktemp("nwb") / "lab.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path, onsets, order, spikes


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    rng = np.random.default_rng(2)
    path = tmp_path_factory.mktemp("model") / "layers.npz"
    ids = np.array([f"img{k:02d}" for k in range(N_IMAGES)])
    np.savez(path, stimulus=ids[::-1], conv=rng.random((N_IMAGES, 12)), fc=rng.random((N_IMAGES, 4)))
    return path


def _args(nwb, model, out, *extra):
    return ["compare", str(nwb), str(model), "--out", str(out), "--n-bootstrap", "20", "--quiet", *extra]


LAB_FLAGS = ("--intervals", "image_table", "--condition", "image_name", "--area-column", "location")


def test_brain_counts_equal_an_independent_count(nwb_file):
    """The BRAIN side of compare: spikes in [onset, onset + 0.25) per presentation, counted here
    with np.searchsorted on the times written with pynwb, split by the units' location."""
    path, onsets, order, spikes = nwb_file
    args = cli.build_parser().parse_args(["compare", str(path), "m.npz", *LAB_FLAGS])
    brain = cli._nwb_brain(path, args)
    assert list(brain) == list(AREAS)
    for a, area in enumerate(AREAS):
        rec = brain[area]
        expected = np.stack([np.searchsorted(spikes[u], onsets + 0.25, side="left")
                             - np.searchsorted(spikes[u], onsets, side="left") for u in range(4 * a, 4 * a + 4)], 1)
        np.testing.assert_array_equal(rec.data, expected)
        assert rec.samples["stimulus"].tolist() == [f"img{k:02d}" for k in order]


def test_compare_runs_on_a_pynwb_file(nwb_file, model_file, tmp_path, capsys):
    path = nwb_file[0]
    out = tmp_path / "rep"
    assert main(_args(path, model_file, out, *LAB_FLAGS, "--area-order", "V1", "IT")) == 0
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["area"]) == set(AREAS) and set(scores["layer"]) == {"conv", "fc"}
    prov = json.loads((out / "report.json").read_text())["provenance"]  # what compare passes to the report
    brain = next(i for i in prov["inputs"] if i["side"] == "BRAIN")
    assert brain["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["window"] == [0.0, 0.25] and prov["n_bootstrap"] == 20 and prov["seed"] == 0
    assert prov["metric"] == "correlation" and prov["method"] == "spearman" and prov["area_order"] == ["V1", "IT"]
    assert "--intervals image_table" in prov["command"]


@pytest.mark.parametrize(("extra", "message"), [
    ((), r"table 'image_table' has no condition column 'stimulus'.*e.g. --condition image_name"),
    (("--intervals", "image"), r"no interval table 'image'.*did you mean 'image_table'"),
    (("--intervals", "image_table"), r"no condition column 'stimulus'.*\['image_name'\]"),
    (("--intervals", "image_table", "--condition", "imagename"), "did you mean 'image_name'"),
    (("--intervals", "image_table", "--condition", "image_name", "--area-column", "area"),
     "no column 'area'.*did you mean 'location'"),
    ((*LAB_FLAGS, "--area-order", "V1", "V4"), r"--area-order names \['V4'\]"),
])
def test_wrong_choices_list_what_the_file_has(nwb_file, model_file, tmp_path, capsys, extra, message):
    assert main(_args(nwb_file[0], model_file, tmp_path / "rep", *extra)) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err


def test_argument_errors_come_before_any_work(nwb_file, model_file, tmp_path, capsys, monkeypatch):
    def no_work(*a, **k):
        raise AssertionError("a file was read before the arguments were checked")

    monkeypatch.setattr(cli, "_brain", no_work)
    existing = tmp_path / "a_file.txt"
    existing.write_text("x")
    assert main(_args(nwb_file[0], model_file, existing)) == 2
    assert "--out" in (err := capsys.readouterr().err) and "existing file" in err
    assert main(_args(tmp_path / "nope.nwb", model_file, tmp_path / "r")) == 2
    assert "BRAIN file" in capsys.readouterr().err
    assert main(_args(nwb_file[0], tmp_path / "nope.npz", tmp_path / "r")) == 2
    assert "MODEL file" in capsys.readouterr().err
    assert main(["compare", str(nwb_file[0]), "--model", "digits", "--out", str(tmp_path / "r")]) == 2
    assert "needs --images" in capsys.readouterr().err
    for flag in ("--metric", "--method"):
        with pytest.raises(SystemExit) as exc:
            main(_args(nwb_file[0], model_file, tmp_path / "r", flag, "nonsense"))
        assert exc.value.code == 2
        assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_version(capsys):
    from neurotk import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"neurotk {__version__}"


def test_npz_without_ids_is_matched_by_position_with_a_warning(nwb_file, tmp_path, capsys):
    """Rows of a MODEL .npz without a 'stimulus' key are the BRAIN's conditions in sorted order."""
    rng = np.random.default_rng(3)
    acts = rng.random((N_IMAGES, 5))
    np.savez(tmp_path / "noids.npz", fc=acts)
    args = cli.build_parser().parse_args(["compare", str(nwb_file[0]), str(tmp_path / "noids.npz")])
    with pytest.warns(NeurotkWarning, match="matched to BRAIN's 6 conditions by position"):
        layers = cli._models(args, [f"img{k:02d}" for k in range(N_IMAGES)])
    assert layers["fc"].samples["stimulus"].tolist() == [f"img{k:02d}" for k in range(N_IMAGES)]
    np.testing.assert_array_equal(layers["fc"].data, acts)
    code = main(["compare", str(nwb_file[0]), str(tmp_path / "noids.npz"), "--out", str(tmp_path / "r"),
                 "--n-bootstrap", "10", *LAB_FLAGS])
    assert code == 0 and "by position" in capsys.readouterr().err  # on the console, under the notes heading


def test_bundled_model_with_an_image_npz(nwb_file, tmp_path):
    rng = np.random.default_rng(4)
    images = rng.uniform(0, 16, size=(N_IMAGES, 8, 8))
    ids = np.array([f"img{k:02d}" for k in range(N_IMAGES)])
    np.savez(tmp_path / "images.npz", images=images, stimulus=ids)
    out = tmp_path / "r"
    assert main(["compare", str(nwb_file[0]), "--model", "digits", "--images", str(tmp_path / "images.npz"),
                 "--out", str(out), "--n-bootstrap", "10", "--quiet", *LAB_FLAGS]) == 0
    from neurotk.datasets import digits_network

    layers = pd.read_csv(out / "scores.csv")["layer"].unique()
    assert set(layers) <= set(digits_network(0).layers) and len(layers) >= 2


def test_plain_progress_lines_without_a_terminal():
    import io

    stream = io.StringIO()
    bar = progress_bar(total=100, desc="bootstrap", file=stream)
    assert isinstance(bar, PlainProgress)
    for _ in range(100):
        bar.update(1)
    bar.close()
    text = stream.getvalue()
    assert "\r" not in text and len(text.splitlines()) == 5  # start, 3 quarters, done
    assert text.splitlines()[-1].startswith("bootstrap: 100/100 it done")
    stream = io.StringIO()
    bar = progress_bar(total=100, desc="x", file=stream)
    bar.update(64)  # passes two quarters: one line
    bar.update(36)
    bar.close()
    assert [line.split(" (")[0] for line in stream.getvalue().splitlines()] == ["x: 0/100 it", "x: 64/100 it",
                                                                              "x: 100/100 it done"]
    stream = io.StringIO()
    for _ in progress_bar(range(10), desc="transient", leave=False, file=stream):
        pass
    assert stream.getvalue() == ""  # a quick transient bar writes nothing
    stream = io.StringIO()
    bar = progress_bar(total=10, desc="slow", leave=False, file=stream)
    bar._start -= 2 * PlainProgress.quiet_below_seconds  # as if it had run for a while
    bar.update(10)
    bar.close()
    assert [line.split(" (")[0] for line in stream.getvalue().splitlines()] == ["slow: 10/10 it done"]


def test_warnings_point_at_the_callers_line(nwb_file):
    """A warning raised deep inside neurotk names this file, not neurotk's code."""
    from neurotk.io import count_spikes

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from neurotk.datasets import digits_network

        digits_network(0).activations(np.full((3, 8, 8), 0.5))  # pixels on a 0..1 scale warn
    assert caught and all(w.filename == __file__ for w in caught), [(w.filename, str(w.message)) for w in caught]
    if (REALDATA / "dandicli_sub-anm369963_ses-20170228.nwb").exists():  # unsorted spike times: a warning
        with pytest.warns(NeurotkWarning) as record:
            count_spikes(REALDATA / "dandicli_sub-anm369963_ses-20170228.nwb", "trials", window=(0, 0.25))
        assert all(w.filename == __file__ for w in record)


# ----------------------------------------------------------------- the real files, when present
REAL = {  # file -> (flags, condition column): every real NWB file with an intervals table
    "pynapple_sub-4_ses-4_ecephys+image.nwb": (("--intervals", "encoding_table", "--condition", "stimCategory",
                                                 "--area-column", "location"), "stimCategory"),
    "dandicli_sub-anm369963_ses-20170228.nwb": (("--intervals", "trials", "--condition", "response",
                                                  "--area-column", "location", "--metric", "euclidean"), "response"),
    "dandicli_sub-anm372793_ses-20170508.nwb": (("--intervals", "trials", "--condition", "response",
                                                  "--area-column", "location", "--metric", "euclidean"), "response"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_compare_on_real_nwb_files(name, tmp_path):
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"{path} absent (../shared/realdata is not part of a clone)")
    from neurotk.io import read_spikes

    flags, condition = REAL[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)
        table = read_spikes(path).intervals(flags[1])
    ids = np.unique(np.asarray(table[condition]).astype(str))
    rng = np.random.default_rng(5)
    np.savez(tmp_path / "m.npz", stimulus=ids, a=rng.random((ids.size, 6)), b=rng.random((ids.size, 3)))
    out = tmp_path / "rep"
    assert main(_args(path, tmp_path / "m.npz", out, *flags)) == 0
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["layer"]) == {"a", "b"} and len(scores)


def test_real_file_whose_only_table_has_one_row(tmp_path, capsys):
    """pynapple_A8604: one 'epochs' interval, so one condition: a clear error, not a traceback."""
    path = REALDATA / "pynapple_A8604-211122.nwb"
    if not path.exists():
        pytest.skip(f"{path} absent")
    np.savez(tmp_path / "m.npz", stimulus=np.arange(3), a=np.ones((3, 2)))
    assert main(_args(path, tmp_path / "m.npz", tmp_path / "r", "--condition", "tags")) == 2
    assert "expected at least 3 common stimuli" in capsys.readouterr().err


def test_onnx_model_and_an_image_folder(nwb_file, tmp_path):
    """MODEL as an .onnx file with --images a folder of PNGs named by condition (in shuffled
    file order: they are matched by name). The layer is checked against numpy: relu(x @ W)."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper
    from PIL import Image

    rng = np.random.default_rng(6)
    w = rng.normal(size=(8 * 8, 5)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["flat"], name="flatten"),
         helper.make_node("MatMul", ["flat", "W"], ["hidden"], name="dense"),
         helper.make_node("Relu", ["hidden"], ["y"], name="relu")],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 5])], [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "tiny.onnx")
    folder = tmp_path / "images"
    folder.mkdir()
    pixels = rng.integers(0, 256, size=(N_IMAGES, 8, 8)).astype(np.uint8)
    for k in rng.permutation(N_IMAGES):
        Image.fromarray(pixels[k], mode="L").save(folder / f"img{k:02d}.png")
    args = cli.build_parser().parse_args(["compare", str(nwb_file[0]), str(tmp_path / "tiny.onnx"), "--images",
                                          str(folder), "--quiet"])
    conditions = [f"img{k:02d}" for k in range(N_IMAGES)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeurotkWarning)  # matched by name: no position warning
        layers = cli._models(args, conditions)
    (layer,) = layers.values()
    by_id = dict(zip(layer.samples["stimulus"], layer.data))
    expected = np.maximum(pixels.reshape(N_IMAGES, -1).astype(np.float64) @ w, 0)
    np.testing.assert_allclose(np.stack([by_id[c] for c in conditions]), expected, rtol=1e-4, atol=1e-3)
    out = tmp_path / "r"
    assert main(["compare", str(nwb_file[0]), str(tmp_path / "tiny.onnx"), "--images", str(folder),
                 "--out", str(out), "--n-bootstrap", "10", "--quiet", *LAB_FLAGS]) == 0
    assert (out / "scores.csv").exists()


def test_compare_writes_aside_and_respects_a_running_report(nwb_file, model_file, tmp_path, capsys):
    """compare shares the demo's run folder: a live lock on --out stops it with a clear error, files untouched."""
    import subprocess
    import sys

    out = tmp_path / "rep"
    out.mkdir()
    (out / "index.html").write_text("previous page")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".rep.neurotk-lock").write_text(str(other.pid))
        assert main(_args(nwb_file[0], model_file, out, *LAB_FLAGS)) != 0
        assert "being written by another neurotk run" in capsys.readouterr().err
        assert [p.name for p in out.iterdir()] == ["index.html"] and (out / "index.html").read_text() == "previous page"
    finally:
        other.kill()
        other.wait()
    (tmp_path / ".rep.neurotk-lock").unlink()
    assert main(_args(nwb_file[0], model_file, out, *LAB_FLAGS)) == 0  # without the lock it runs and replaces
    assert (out / "scores.csv").exists() and (out / "index.html").read_text() != "previous page"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep.")]
