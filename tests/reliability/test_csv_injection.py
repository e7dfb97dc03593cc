"""CSV tables never carry spreadsheet formulas from file-controlled names (issue 18, OWASP CSV injection)."""

import csv

import numpy as np
import pandas as pd

from neurotk import Recording
from neurotk.report import compare_recordings
from neurotk.tables import spreadsheet_safe

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB"]


def _cells(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [cell for row in csv.reader(f) for cell in row]


def test_spreadsheet_safe_quotes_formula_text_only():
    frame = pd.DataFrame({"name": [*HOSTILE, "V1", "a=b"], "score": [-0.5, 1, 2, 3, 4, 5, 6]})
    safe = spreadsheet_safe(frame)
    assert safe["name"].tolist() == ["'" + h for h in HOSTILE] + ["V1", "a=b"]
    pd.testing.assert_series_equal(safe["score"], frame["score"])  # numbers untouched, negatives included
    assert frame["name"].tolist()[0] == HOSTILE[0]  # the input is not modified


def test_report_tables_carry_no_formula(tmp_path):
    rng = np.random.default_rng(0)
    n = 12
    samples = {"stimulus": np.arange(n)}
    latent = rng.normal(size=(n, 3))
    brain = {HOSTILE[0]: Recording(latent @ rng.normal(size=(3, 5)) + rng.normal(size=(n, 5)), samples),
             "V1": Recording(latent @ rng.normal(size=(3, 5)) + rng.normal(size=(n, 5)), samples)}
    layers = {HOSTILE[3]: Recording(latent @ rng.normal(size=(3, 4)), samples),
              "fc": Recording(latent @ rng.normal(size=(3, 4)), samples)}
    report = compare_recordings(brain, layers, n_bootstrap=5, n_permutations=5, progress=False)
    out = report.save(tmp_path / "report")
    tables = sorted(out.glob("*.csv"))
    assert tables
    cells = [c for t in tables for c in _cells(t)]
    assert "'" + HOSTILE[0] in cells and "'" + HOSTILE[3] in cells
    assert not any(c.startswith(("=", "+", "@", "\t")) for c in cells)
    # numbers still read back as numbers
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    assert pd.api.types.is_float_dtype(scores["score"])


def test_mathtext_in_file_controlled_names_is_drawn_as_text(tmp_path):
    rng = np.random.default_rng(3)
    n = 12
    samples = {"stimulus": np.arange(n)}
    latent = rng.normal(size=(n, 3))
    name = r"V1 $\frac$"  # mathtext that matplotlib cannot parse
    brain = {name: Recording(latent @ rng.normal(size=(3, 5)) + rng.normal(size=(n, 5)), samples),
             "LM": Recording(latent @ rng.normal(size=(3, 5)) + rng.normal(size=(n, 5)), samples)}
    layers = {"conv": Recording(latent @ rng.normal(size=(3, 4)), samples),
              "fc": Recording(latent @ rng.normal(size=(3, 4)), samples)}
    report = compare_recordings(brain, layers, n_bootstrap=5, n_permutations=5, progress=False)
    out = report.save(tmp_path / "report")  # raised ValueError in matplotlib's mathtext before
    assert (out / "index.html").exists() and any(out.glob("*.png"))
    import matplotlib.pyplot as plt

    figs = report.figures()
    texts = [t.get_text() for f in figs.values() for t in f.findobj(plt.Text)]
    assert any(name in t for t in texts)
    plt.close("all")
