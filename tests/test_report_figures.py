"""The report's figures: nothing falls outside a figure, honest colour scales, lines that stay visible.

Issue 17 part 5. The geometry check measures every title, axis label, tick label and legend
text with matplotlib's own renderer (``artist.get_window_extent``), the size it has in the
saved PNG, and requires it inside the figure.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from neurotk.datasets import digits_network, simulate_visual_hierarchy  # noqa: E402
from neurotk.plotting.rsa import plot_best_layers, plot_layer_area  # noqa: E402
from neurotk.report import compare_rdms, compare_recordings  # noqa: E402
from neurotk.rsa import RDM  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def inputs():
    sim = simulate_visual_hierarchy(n_stimuli=30, random_state=0)
    brain = {a: sim.area(a) for a in sim.areas}
    layers = digits_network(0).activations(sim.images, stimulus_ids=sim.stimulus_ids)
    return brain, layers


def _report(brain, layers, **kw):
    return compare_recordings(brain, layers, n_bootstrap=20, progress=False, **kw)


@pytest.fixture(scope="module")
def demo(inputs):
    """The demo's comparison (3 areas x 4 layers) and its figures, drawn once."""
    report = _report(*inputs)
    return report, report.figures()


# ---------------------------------------------------------------------- the geometry check
def _texts(fig):
    """(description, Text) of every title, axis label, drawn tick label and legend text of ``fig``."""
    out = []
    if fig._suptitle is not None:
        out.append(("suptitle", fig._suptitle))
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison and not ax.get_title():
            continue
        name = f"axes {k} ({ax.get_title() or ax.get_ylabel() or 'untitled'})"
        for where in ("left", "center", "right"):
            out.append((f"{name} title", ax.title if where == "center" else getattr(ax, f"_{where}_title")))
        out.append((f"{name} x label", ax.xaxis.label))
        out.append((f"{name} y label", ax.yaxis.label))
        for axis, lo_hi in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = sorted(lo_hi)
            for tick in axis.get_major_ticks():
                if lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:  # drawn (ticks outside the view are not)
                    out += [(f"{name} tick label", t) for t in (tick.label1, tick.label2) if t.get_visible()]
        legend = ax.get_legend()
        if legend is not None:
            out += [(f"{name} legend", t) for t in [*legend.get_texts(), legend.get_title()]]
    return [(what, t) for what, t in out if t.get_visible() and t.get_text().strip()]


def outside(fig, tol=1.0):
    """Descriptions of the texts of ``fig`` that do not lie wholly inside it (pixels, as saved)."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    bad = []
    for what, text in _texts(fig):
        box = text.get_window_extent(renderer)
        if box.x0 < -tol or box.y0 < -tol or box.x1 > width + tol or box.y1 > height + tol:
            bad.append(f"{what} {text.get_text()!r}: [{box.x0:.0f}, {box.x1:.0f}] x [{box.y0:.0f}, {box.y1:.0f}] "
                       f"in a {width:.0f} x {height:.0f} figure")
    return bad


def test_the_check_finds_a_clipped_title():
    """The old topology panel: a title wider than its Axes, in the last column, runs off the figure."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), constrained_layout=True)
    axes[2].set_title("best layer: geometry vs topology, a title much wider than its axes")
    axes[2].set_ylabel("best-matching layer")
    bad = outside(fig)
    assert bad and "axes 2" in bad[0] and "title" in bad[0]
    fig2, ax = plt.subplots(figsize=(3, 2), constrained_layout=True)
    ax.set_title("fits")
    assert outside(fig2) == []


def _all_figures(report):
    figs = report.figures()
    for section in report.sections:
        figs.update({f"{section.name}_{k}": v for k, v in section.figures().items()})
    return figs


def test_no_title_or_label_of_the_demo_falls_outside_its_figure(demo):
    problems = {name: outside(fig) for name, fig in demo[1].items()}
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize("shape", ["one_area_one_layer", "long_names", "no_categories"])
def test_no_title_or_label_falls_outside_its_figure(inputs, shape):
    brain, layers = inputs
    kw = {}
    if shape == "one_area_one_layer":
        brain, layers = {"IT": brain["IT"]}, {"logits": layers["logits"]}
    elif shape == "long_names":
        brain = {f"{a} (inferior temporal cortex, right hemisphere)": brain[a] for a in ("V1", "IT")}
        layers = {f"block_{k}.{name}.activation_output": layers[name] for k, name in enumerate(("conv1", "logits"))}
    elif shape == "no_categories":
        brain, layers, kw["category"] = {a: brain[a] for a in ("V1", "IT")}, {n: layers[n] for n in ("conv1", "fc2")}, None
    report = _report(brain, layers, **kw)
    figs = report.figures()
    assert set(figs) == {"layer_area", "bootstrap", "rdms", "mds", "topology"}
    problems = {name: outside(fig) for name, fig in figs.items()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_rdm_comparison_figures_fit():
    rng = np.random.default_rng(0)
    truth = rng.random(45)
    res = compare_rdms({"hIT": RDM(truth + 0.3 * rng.random((3, 45))), "mIT": RDM(truth + 0.3 * rng.random(45))},
                       {"conv1": RDM(rng.random(45)), "fc2": RDM(truth), "animacy": RDM(truth > 0.5)},
                       kinds={"conv1": "network layer", "fc2": "network layer", "animacy": "model RDM"},
                       layers=["conv1", "fc2"], categories=np.repeat(["a", "b"], 5), n_bootstrap=20, progress=False)
    problems = {name: outside(fig) for name, fig in res.figures().items()}
    assert {k: v for k, v in problems.items() if v} == {}


def _legend_overlaps(fig):
    """Descriptions of legends that cover a bar, an interval or a data line of their own Axes."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(fig.canvas, "get_renderer"):  # a module-scoped figure closed by an earlier test
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    bad = []
    for k, ax in enumerate(fig.axes):
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        data = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() != 0 and p.get_width() < 5]
        data += [ln for ln in ax.lines if isinstance(ln, Line2D) and len(ln.get_xdata()) > 0
                 and np.ptp(np.asarray(ln.get_ydata(), float)) > 0]
        data += [c for c in ax.collections if isinstance(c, LineCollection)]
        for artist in data:
            other = artist.get_window_extent(renderer)
            if other.width > 0 and box.overlaps(other):
                bad.append(f"axes {k} legend covers {type(artist).__name__} at {other.bounds}")
    return bad


def test_legends_cover_no_bar_interval_or_line(demo):
    """The noise-ceiling legend sat inside the bar plots, over the bars of a high-scoring layer."""
    problems = {name: _legend_overlaps(fig) for name, fig in demo[1].items()}
    assert {k: v for k, v in problems.items() if v} == {}
    rng = np.random.default_rng(0)
    truth = rng.random(45)
    res = compare_rdms({"hIT": RDM(truth + 0.1 * rng.random((3, 45)))},
                       {"conv1": RDM(truth + 0.05 * rng.random(45)), "fc2": RDM(truth)},
                       kinds={"conv1": "network layer", "fc2": "network layer"}, layers=["conv1", "fc2"],
                       n_bootstrap=20, n_permutations=20, progress=False)
    problems = {name: _legend_overlaps(fig) for name, fig in res.figures().items()}
    assert {k: v for k, v in problems.items() if v} == {}
    # the check itself finds a legend placed over bars
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.bar([0, 1], [0.9, 0.95])
    ax.axhspan(0.8, 1.0, label="noise ceiling", alpha=0.3)
    ax.legend(loc="upper left")
    assert _legend_overlaps(fig)


# ---------------------------------------------------------------------- colour scale of the heatmap
def _heatmap(fig):
    return next(ax for ax in fig.axes if ax.images and ax.get_ylabel() == "brain area")


def test_heatmap_colour_scale_starts_at_zero(demo):
    report, figs = demo
    image = _heatmap(figs["layer_area"]).images[0]
    plain = report.scores[report.scores["transform"] == "none"]
    assert plain["score"].min() > 0.1  # the demo's scores are all well above 0 ...
    assert image.get_clim() == pytest.approx((0.0, plain["score"].max()))  # ... and the scale still starts at 0


def _wcag_contrast(a, b):
    def lum(c):
        c = np.array(to_rgba(c)[:3])
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_heatmap_is_symmetric_around_zero_for_signed_scores_and_labels_stay_readable():
    t = pd.DataFrame({"area": ["V1"] * 3 + ["IT"] * 3, "layer": ["c1", "f1", "f2"] * 2,
                      "score": [0.6, -0.2, 0.05, -0.7, 0.3, 0.0]})
    ax = plot_layer_area(t)
    image = ax.images[0]
    assert image.get_clim() == pytest.approx((-0.7, 0.7))
    assert image.norm(0.0) == pytest.approx(0.5)  # 0 sits in the middle of the diverging map
    assert image.cmap.name == "RdBu_r"
    for text in ax.texts:
        r, c = np.argwhere(np.isclose(image.get_array(), float(text.get_text()), atol=0.005))[0]
        cell = image.cmap(image.norm(image.get_array()[r, c]))
        other = "white" if text.get_color() == "black" else "black"
        assert _wcag_contrast(text.get_color(), cell) >= _wcag_contrast(other, cell)


def test_heatmap_outline_column_marks_a_tied_set():
    t = pd.DataFrame({"area": ["V4"] * 3, "layer": ["c1", "f1", "f2"], "score": [0.32, 0.35, 0.34],
                      "tied": [False, True, True]})
    assert [p.get_xy() for p in plot_layer_area(t, outline="tied").patches] == [(0.5, -0.5), (1.5, -0.5)]
    assert [p.get_xy() for p in plot_layer_area(t).patches] == [(0.5, -0.5)]


# ---------------------------------------------------------------------- the topology panel
def test_coinciding_lines_of_the_topology_panel_stay_distinguishable(inputs, demo):
    report, figs = demo
    ax = next(a for a in figs["topology"].axes if a.get_ylabel() == "top-scoring layer")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["RDM", "RGTM"]
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    assert lines[0].get_marker() != lines[1].get_marker()
    y0, y1 = (np.asarray(line.get_ydata(), dtype=float) for line in lines)
    assert np.all(np.abs(y0 - y1) > 0.05)  # never drawn on top of each other
    names = list(inputs[1])
    for line, transform in zip(lines, ("none", "rgtm")):
        rows = report.scores[report.scores["transform"] == transform]
        top = [names.index(rows[rows["area"] == a].sort_values("score").iloc[-1]["layer"]) for a in inputs[0]]
        np.testing.assert_array_equal(np.rint(np.asarray(line.get_ydata(), dtype=float)), top)


def test_plot_best_layers_rejects_unknown_layers():
    from neurotk import ArgumentError

    with pytest.raises(ArgumentError, match="not in layers"):
        plot_best_layers(pd.DataFrame({"kind": ["RDM"], "area": ["V1"], "layer": ["x"]}), ["c1"])
    with pytest.raises(ArgumentError, match="no column 'kind'"):
        plot_best_layers(pd.DataFrame({"area": ["V1"], "layer": ["c1"]}), ["c1"])


# ---------------------------------------------------------------------- captions and plurals
def test_captions_say_only_what_is_shown_and_plurals_are_right(inputs, demo, tmp_path):
    brain, layers = inputs
    one = _report({"IT": brain["IT"]}, {"logits": layers["logits"]}, category=None)
    page = one.save(tmp_path / "one").joinpath("index.html").read_text()
    assert "1 area and 1 layer compared" in page
    assert "1 areas" not in page and "1 layers" not in page
    assert "coloured by" not in page and "bands: stimulus categories" not in page
    page = demo[0]._html_section(list(demo[1]))  # the demo's section of the page (saving it again is slow)
    assert f"{len(brain)} areas and {len(layers)} layers compared" in page
    assert "coloured by stimulus category" in page
