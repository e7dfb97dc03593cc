"""Compare brain areas with network layers and write the report folder.

:func:`compare_recordings` runs the RSA comparison of every area with every layer
(RDMs, bootstrap confidence intervals over stimuli, topological RSA) and returns a
:class:`ComparisonReport`; :meth:`ComparisonReport.save` writes figures (PNG),
``scores.csv`` and an ``index.html`` that shows them. ``neurotk demo`` and
``neurotk compare`` are thin wrappers around these two steps.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .errors import AlignmentError, ArgumentError
from .recording import Recording
from .results import Result
from .utils import atomic_path

__all__ = ["ComparisonReport", "compare_recordings"]

#: Default thresholds of the geo-topological transform (quantiles of each RDM's distances).
TOPOLOGY_THRESHOLDS = (0.1, 0.5)


@dataclass(repr=False)
class ComparisonReport(Result):
    """Scores of every (area, layer) pair and everything needed to draw and save them.

    Attributes
    ----------
    scores : DataFrame
        One row per area, layer and transform: ``area``, ``layer``, ``method``,
        ``transform`` ("none" or "rgtm"), ``score``, ``ci_low``, ``ci_high``, ``sem``.
    best : DataFrame
        The best layer of each area (plain RDMs), with its score and interval.
    area_rdms, layer_rdms : RDM
        Stacks of RDMs over the shared conditions (names = areas / layers).
    categories : ndarray or None
        A category per condition, for figure bands and colours.
    hierarchy_recovered : bool
        Whether the best layer never moves earlier as areas go later, and the first
        area's best layer is earlier than the last's (areas and layers taken in the order
        given).
    """

    scores: pd.DataFrame
    best: pd.DataFrame
    area_rdms: object
    layer_rdms: object
    categories: np.ndarray | None
    metric: str
    method: str
    thresholds: tuple
    seconds: float
    hierarchy_recovered: bool
    notes: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The scores table (a copy)."""
        return self.scores.copy()

    def __repr__(self) -> str:
        return (f"ComparisonReport({self.area_rdms.n_rdms} area(s) x {self.layer_rdms.n_rdms} layer(s) on "
                f"{self.area_rdms.n_conditions} stimuli, {self.metric} RDMs compared by {self.method}; "
                f"best layers: {dict(zip(self.best['area'], self.best['layer']))})")

    def plot(self, ax=None, **kwargs):
        """The heatmap of every area's score with every layer (plain RDMs); returns the Axes."""
        from .plotting.layout import axes_or_new
        from .plotting.rsa import plot_layer_area

        ax = axes_or_new(ax, figsize=(1.3 * self.layer_rdms.n_rdms + 3, 0.8 * self.area_rdms.n_rdms + 2))
        plain = self.scores[self.scores["transform"] == "none"]
        kwargs.setdefault("title", f"RDM similarity ({self.method}) of each area with each layer")
        return plot_layer_area(plain, ax=ax, **kwargs)

    # ------------------------------------------------------------------ figures
    def figures(self) -> dict:
        """Draw every figure of the report; returns name -> matplotlib Figure."""
        import matplotlib.pyplot as plt

        from . import rsa
        from .plotting.rsa import plot_embedding, plot_layer_area, plot_model_comparison, plot_rdm

        figs = {}
        order = np.argsort(self.categories, kind="stable") if self.categories is not None else np.arange(self.area_rdms.n_conditions)
        conds = self.area_rdms.conditions[order]
        cats = self.categories[order] if self.categories is not None else None

        stacks = [("brain area", self.area_rdms), ("network layer", self.layer_rdms)]
        ncols = max(self.area_rdms.n_rdms, self.layer_rdms.n_rdms)
        fig, axes = plt.subplots(2, ncols, figsize=(3.2 * ncols, 6.2), constrained_layout=True, squeeze=False)
        for r, (kind, stack) in enumerate(stacks):
            sub = stack.subset(conds)
            for c in range(ncols):
                if c < stack.n_rdms:
                    plot_rdm(sub, ax=axes[r, c], index=c, categories=cats, rank=True, title=f"{kind}: {stack.names[c]}")
                else:
                    axes[r, c].axis("off")
        fig.suptitle(f"RDMs ({self.metric} distance, shown as percentiles; stimuli sorted by category)")
        figs["rdms"] = fig

        plain = self.scores[self.scores["transform"] == "none"]
        fig, ax = plt.subplots(figsize=(1.3 * self.layer_rdms.n_rdms + 3, 0.8 * self.area_rdms.n_rdms + 2), constrained_layout=True)
        plot_layer_area(plain, ax=ax, title=f"RDM similarity ({self.method}) of each area with each layer")
        figs["layer_area"] = fig

        n_areas = self.area_rdms.n_rdms
        fig, axes = plt.subplots(1, n_areas, figsize=(3.3 * n_areas, 3.6), constrained_layout=True, squeeze=False, sharey=True)
        for ax, area in zip(axes[0], self.area_rdms.names):
            rows = plain[plain["area"] == area].rename(columns={"layer": "model"})
            plot_model_comparison(rows, ax=ax, method=self.method, title=area, xlabel="network layer")
        fig.suptitle("Which layer explains each area? (bars: 95% bootstrap CI over stimuli)")
        figs["bootstrap"] = fig

        fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), constrained_layout=True)
        for ax, (kind, stack) in zip(axes, [("brain area", self.area_rdms[-1]), ("network layer", self.layer_rdms[-1])]):
            coords = rsa.classical_mds(stack)
            plot_embedding(coords, categories=self.categories, ax=ax, title=f"MDS of {kind} {stack.names[0]}")
        figs["mds"] = fig

        lower, upper = self.thresholds
        first = self.area_rdms[0].subset(conds)
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), constrained_layout=True)
        plot_rdm(first, ax=axes[0], categories=cats, rank=True, title=f"{first.names[0]}: RDM")
        plot_rdm(rsa.geotopological(first, lower, upper), ax=axes[1], categories=cats, cmap="gray_r",
                 title=f"RGTM (quantiles {lower:g}-{upper:g})")
        topo = self.scores[self.scores["transform"] == "rgtm"]
        table = pd.concat([plain.assign(kind="RDM"), topo.assign(kind="RGTM")])
        for kind, rows in table.groupby("kind", sort=False):
            best = rows.loc[rows.groupby("area", sort=False)["score"].idxmax()]
            axes[2].plot(best["area"], best["layer"].map({n: k for k, n in enumerate(self.layer_rdms.names)}), "o-", label=kind)
        axes[2].set_yticks(range(self.layer_rdms.n_rdms), self.layer_rdms.names)
        axes[2].set_xlabel("brain area (early -> late)")
        axes[2].set_ylabel("best-matching layer")
        axes[2].legend(fontsize="small")
        axes[2].set_title("best layer: geometry vs topology")
        figs["topology"] = fig
        return figs

    # ------------------------------------------------------------------ saving
    def save(self, out) -> Path:
        """Write the report folder: PNG figures, ``scores.csv`` and ``index.html``.

        Every file is written to a temporary name and renamed, so an interrupted run
        leaves no half-written file.
        """
        import matplotlib.pyplot as plt

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        names = []
        for name, fig in self.figures().items():
            with atomic_path(out / f"{name}.png") as tmp:
                fig.savefig(tmp, dpi=110, format="png")
            plt.close(fig)
            names.append(name)
        with atomic_path(out / "scores.csv") as tmp:
            self.scores.to_csv(tmp, index=False)
        with atomic_path(out / "index.html") as tmp:
            tmp.write_text(self._html(names), encoding="utf-8")
        return out

    def _html(self, figure_names) -> str:
        captions = {
            "layer_area": "RDM similarity of every brain area (rows) with every network layer (columns); the best layer of each area is outlined.",
            "bootstrap": "Scores with 95% confidence intervals from bootstrapping the stimuli.",
            "rdms": "Representational dissimilarity matrices of the areas and the layers (percentiles; coloured bands: stimulus categories).",
            "mds": "Classical multidimensional scaling of the last area and the last layer, coloured by category.",
            "topology": "Topological RSA: the geo-topological transform keeps the neighbourhood structure and discards exact distances.",
        }
        order = [n for n in ("layer_area", "bootstrap", "rdms", "mds", "topology") if n in figure_names]
        verdict = "recovered" if self.hierarchy_recovered else "NOT recovered"
        best_rows = "".join(
            f"<tr><td>{html.escape(str(r.area))}</td><td>{html.escape(str(r.layer))}</td>"
            f"<td>{r.score:.3f}</td><td>[{r.ci_low:.3f}, {r.ci_high:.3f}]</td></tr>"
            for r in self.best.itertuples()
        )
        figures = "".join(
            f'<figure><img src="{n}.png" alt="{n}"><figcaption>{html.escape(captions.get(n, n))}</figcaption></figure>'
            for n in order
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>neurotk comparison report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
img{{max-width:100%}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 10px}}
figure{{margin:2em 0}}figcaption{{color:#444}}</style></head><body>
<h1>Brain areas vs network layers</h1>
<p>{self.area_rdms.n_rdms} areas and {self.layer_rdms.n_rdms} layers compared on {self.area_rdms.n_conditions}
stimuli: RDMs with the {html.escape(self.metric)} distance, compared by {html.escape(self.method)} correlation;
95% confidence intervals from a bootstrap over stimuli. Layer order {verdict}: the best layer
{'moves deeper' if self.hierarchy_recovered else 'does not consistently move deeper'} as areas go later.
Computed in {self.seconds:.1f} s. All numbers: <a href="scores.csv">scores.csv</a>.</p>
<h2>Best layer per area</h2>
<table><tr><th>area</th><th>best layer</th><th>score</th><th>95% CI</th></tr>{best_rows}</table>
{figures}
<ul>{notes}</ul>
</body></html>
"""


def _check_inputs(recordings: Mapping[str, Recording], what: str) -> dict:
    if not isinstance(recordings, Mapping) or not recordings:
        raise ArgumentError(f"{what} must be a non-empty dict of name -> Recording")
    for name, rec in recordings.items():
        if not isinstance(rec, Recording):
            raise ArgumentError(f"{what}[{name!r}] is a {type(rec).__name__}; expected a Recording")
    return dict(recordings)


def compare_recordings(
    brain: Mapping[str, Recording],
    models: Mapping[str, Recording],
    *,
    metric: str = "correlation",
    method: str = "spearman",
    n_bootstrap: int = 1000,
    thresholds: tuple = TOPOLOGY_THRESHOLDS,
    condition: str = "stimulus",
    category: str | None = "category",
    random_state=0,
    n_jobs: int = 1,
    progress: bool = True,
) -> ComparisonReport:
    """Compare every brain area with every network layer by RSA and topological RSA.

    For each area and each layer an RDM is computed over the stimuli they share
    (repeats averaged); each area's RDM is compared with every layer's RDM by
    ``method``, with confidence intervals from bootstrapping stimuli; the same is done
    after the geo-topological transform (thresholds as quantiles).

    Parameters
    ----------
    brain : dict of str -> Recording
        One Recording per area (presentations x units), in hierarchy order if known.
    models : dict of str -> Recording
        One Recording per layer (stimuli x units), in depth order.
    metric : str, default "correlation"
        Dissimilarity measure of the RDMs (see :func:`neurotk.rsa.rdm`).
    method : str, default "spearman"
        RDM comparison (see :func:`neurotk.rsa.compare`).
    n_bootstrap : int, default 1000
        Bootstrap samples over stimuli for the confidence intervals.
    thresholds : (float, float)
        Lower and upper quantiles of the geo-topological transform.
    condition : str, default "stimulus"
        Samples column identifying stimuli in every Recording.
    category : str or None, default "category"
        Samples column (of the brain Recordings) with a category per stimulus, for figures.
    random_state, n_jobs, progress
        Seed, parallel jobs and progress bars of the bootstrap.

    Returns
    -------
    ComparisonReport

    Examples
    --------
    >>> from neurotk.datasets import simulate_visual_hierarchy, digits_network
    >>> sim = simulate_visual_hierarchy(n_stimuli=30, random_state=0)
    >>> net = digits_network(0)
    >>> brain = {a: sim.area(a) for a in sim.areas}
    >>> layers = net.activations(sim.images, stimulus_ids=sim.stimulus_ids)
    >>> report = compare_recordings(brain, layers, n_bootstrap=20, progress=False)
    >>> sorted(report.scores.columns)[:3]
    ['area', 'ci_high', 'ci_low']
    """
    from . import rsa

    start = time.perf_counter()
    brain = _check_inputs(brain, "brain")
    models = _check_inputs(models, "models")
    for what, group in (("brain", brain), ("models", models)):
        for name, rec in group.items():
            if condition not in rec.samples.columns:
                raise ArgumentError(
                    f"{what}[{name!r}] has no samples column {condition!r}; its columns are "
                    f"{list(rec.samples.columns)}"
                )
    sets = {f"{w}[{n!r}]": set(r.samples[condition]) for w, g in (("brain", brain), ("models", models)) for n, r in g.items()}
    shared = set.intersection(*sets.values())
    if len(shared) < 3:
        raise AlignmentError(
            f"the recordings share {len(shared)} {condition} values; expected at least 3 common "
            f"stimuli (sizes: {', '.join(f'{k}: {len(v)}' for k, v in sets.items())})"
        )
    notes = []
    dropped = {k: len(v - shared) for k, v in sets.items() if len(v - shared)}
    if dropped:
        notes.append(f"stimuli not shown to every recording were left out: {dropped}")
    conditions = np.array(sorted(shared))

    def stack(group):
        rdms = []
        for name, rec in group.items():
            keep = rec.select(samples=rec.samples[condition].isin(shared).to_numpy())
            one = rsa.rdm(keep, metric=metric, condition=condition)
            rdms.append(rsa.RDM(one.vectors, one.conditions, [name], one.metric, one.meta).subset(conditions))
        return rsa.stack_rdms(rdms)

    area_rdms, layer_rdms = stack(brain), stack(models)
    categories = None
    first = next(iter(brain.values()))
    if category and category in first.samples.columns:
        table = first.samples.drop_duplicates(condition).set_index(condition)
        categories = table.loc[conditions, category].to_numpy()

    lower, upper = thresholds
    layer_topo = rsa.geotopological(layer_rdms, lower, upper)
    rows = []
    for transform, layers in (("none", layer_rdms), ("rgtm", layer_topo)):
        for k, area in enumerate(area_rdms.names):
            data = area_rdms[k] if transform == "none" else rsa.geotopological(area_rdms[k], lower, upper)
            boot = rsa.bootstrap(data, layers, method=method, n_bootstrap=n_bootstrap,
                                 random_state=random_state, n_jobs=n_jobs, progress=progress)
            frame = boot.to_frame().rename(columns={"model": "layer"})
            frame.insert(0, "area", area)
            frame.insert(2, "method", method)
            frame.insert(3, "transform", transform)
            rows.append(frame)
    scores = pd.concat(rows, ignore_index=True)
    plain = scores[scores["transform"] == "none"]
    best = plain.loc[plain.groupby("area", sort=False)["score"].idxmax()].reset_index(drop=True)
    depth = {name: k for k, name in enumerate(layer_rdms.names)}
    best_depth = best["layer"].map(depth).to_numpy()
    recovered = bool(len(best_depth) > 1 and np.all(np.diff(best_depth) >= 0) and best_depth[0] < best_depth[-1])
    return ComparisonReport(
        scores=scores, best=best, area_rdms=area_rdms, layer_rdms=layer_rdms, categories=categories,
        metric=metric, method=method, thresholds=(lower, upper), seconds=time.perf_counter() - start,
        hierarchy_recovered=recovered, notes=notes,
    )
