"""Compare brain areas with network layers and write the report folder.

:func:`compare_recordings` runs the RSA comparison of every area with every layer
(RDMs, bootstrap confidence intervals over stimuli, topological RSA) and returns a
:class:`ComparisonReport`; :meth:`ComparisonReport.save` writes figures (PNG),
``scores.csv`` and an ``index.html`` that shows them. ``neurotk demo`` and
``neurotk compare`` are thin wrappers around these two steps.

:func:`compare_rdms` compares RDMs that are already computed (brain areas measured in
several subjects, network layers, model RDMs) with bootstrap confidence intervals and
noise ceilings and returns an :class:`RDMComparison`; added to a report's ``sections``
it is written into the same folder and page (``neurotk demo`` adds the real human and
monkey IT data of Kriegeskorte et al. 2008 this way).
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AlignmentError, ArgumentError, ShapeMismatchError
from .recording import Recording
from .results import Result
from .tables import spreadsheet_safe
from .utils import atomic_path

__all__ = ["ComparisonReport", "RDMComparison", "compare_rdms", "compare_recordings"]

#: Default thresholds of the geo-topological transform (quantiles of each RDM's distances).
TOPOLOGY_THRESHOLDS = (0.1, 0.5)


def _plain_text(method):
    """Draw a report's figures with mathtext off: area, layer and condition names come from
    data files, and a name such as ``V1 $\\frac$`` must be drawn as written, not parsed."""
    import functools

    @functools.wraps(method)
    def draw(self, *args, **kwargs):
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return method(self, *args, **kwargs)

    return draw


@dataclass(repr=False)
class ComparisonReport(Result):
    """Scores of every (area, layer) pair and everything needed to draw and save them.

    Attributes
    ----------
    scores : DataFrame
        One row per area, layer and transform (``scores.csv``): ``area``, ``layer``,
        ``score``, ``ci_low``, ``ci_high`` (95% bootstrap CI over stimuli), ``p_value``
        (condition-label permutation test against zero), ``best`` (the area's best layer,
        or "" when no layer is significantly better than every other), ``noise_ceiling_low``,
        ``noise_ceiling_high`` (NaN for RGTM rows and areas without repeats), ``best_set``
        (";"-joined layers not significantly worse than the top one), then ``sem``,
        ``p_holm``, ``in_best_set``, ``noise_ceiling_method``, ``method``, ``transform``
        ("none" or "rgtm").
    best : DataFrame
        One row per area (plain RDMs): ``layer`` (the significant best layer or ""),
        ``top_layer`` (the top score), its score, interval and p-values, ``best_set`` and a
        ``verdict`` sentence.
    pairwise : DataFrame
        The pairwise layer tests of every area and transform (:func:`neurotk.rsa.compare_models`,
        Holm-corrected within each area).
    hierarchy_sentence : str
        The hierarchy test as a sentence with its p-value ("" without ``area_order``).
    hierarchy_p : float
        Its p-value (NaN without ``area_order``).
    provenance : dict
        Versions, analysis settings and the caller's ``provenance`` (``report.json``).
    encoding : DataFrame or None
        The encoding view (``encoding=True``): per area and layer the mean
        ceiling-normalised encoding score over units and its bootstrap interval
        (``encoding_scores.csv``).
    area_rdms, layer_rdms : RDM
        Stacks of RDMs over the shared conditions (names = areas / layers).
    categories : ndarray or None
        A category per condition, for figure bands and colours.
    hierarchy_recovered : bool or None
        Whether the hierarchy test (see :func:`compare_recordings`) is significant with a
        positive trend; None when no ``area_order`` was given.
    title, description : str
        Heading and opening paragraph of this comparison on the report page (e.g. where the
        data come from, and whether they are simulated).
    sections : list of RDMComparison
        Further comparisons written into the same folder and page by :meth:`save`, after
        this one (``neurotk demo`` adds the real 92-object data this way).
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
    hierarchy_recovered: bool | None
    notes: list = field(default_factory=list)
    title: str = "Brain areas vs network layers"
    description: str = ""
    sections: list = field(default_factory=list)
    pairwise: pd.DataFrame | None = None
    hierarchy_sentence: str = ""
    hierarchy_p: float = float("nan")
    provenance: dict = field(default_factory=dict)
    simulated: bool = False
    alpha: float = 0.05
    encoding: pd.DataFrame | None = None

    def messages(self) -> list:
        """Notes and warnings of this comparison and of its sections (for the console)."""
        out = list(self.notes)
        for section in self.sections:
            out.extend(f"{section.title}: {n}" for n in section.notes)
        return out

    def summary(self) -> list:
        """One line per area (best layer or tie / chance verdict) and the hierarchy sentence, if any."""
        lines = [f"{r.area}: {r.verdict} (top {r.top_layer} {r.score:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}], "
                 f"p = {r.p_value:.3g})" for r in self.best.itertuples()]
        return lines + ([self.hierarchy_sentence] if self.hierarchy_sentence else [])

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
    @_plain_text
    def figures(self) -> dict:
        """Draw every figure of the report; returns name -> matplotlib Figure."""
        import matplotlib.pyplot as plt

        from . import rsa
        from .plotting.rsa import (
            plot_best_layers,
            plot_embedding,
            plot_layer_area,
            plot_model_comparison,
            plot_rdm,
        )

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
        fig.suptitle(f"RDMs ({self.metric} distance, shown as percentiles"
                     + ("; stimuli sorted by category)" if cats is not None else ")"))
        figs["rdms"] = fig

        plain = self.scores[self.scores["transform"] == "none"]
        fig, ax = plt.subplots(figsize=(1.3 * self.layer_rdms.n_rdms + 3, 0.8 * self.area_rdms.n_rdms + 2), constrained_layout=True)
        plot_layer_area(plain, ax=ax, title=f"RDM similarity ({self.method}) of each area with each layer",
                        outline="in_best_set" if "in_best_set" in plain else None)
        figs["layer_area"] = fig
        if self.encoding is not None:
            fig, ax = plt.subplots(figsize=(1.3 * self.layer_rdms.n_rdms + 3, 0.8 * self.area_rdms.n_rdms + 2),
                                   constrained_layout=True)
            metric = self.encoding["metric"].iloc[0]
            plot_layer_area(self.encoding, ax=ax, label=f"normalised {metric}",
                            title="Encoding: ceiling-normalised score of each area with each layer")
            figs["encoding"] = fig

        n_areas = self.area_rdms.n_rdms
        fig, axes = plt.subplots(1, n_areas, figsize=(3.3 * n_areas, 3.6), constrained_layout=True, squeeze=False, sharey=True)
        for ax, area in zip(axes[0], self.area_rdms.names):
            rows = plain[plain["area"] == area].rename(columns={"layer": "model"})
            band = rows[["noise_ceiling_low", "noise_ceiling_high"]].iloc[0].to_numpy(float) if "noise_ceiling_low" in rows else None
            plot_model_comparison(rows, ax=ax, method=self.method, title=area, xlabel="network layer",
                                  noise_ceiling=tuple(band) if band is not None and np.isfinite(band).all() else None,
                                  significant=(rows["p_holm"] < self.alpha).to_numpy() if "p_holm" in rows else None)
        for ax in axes[0][:-1]:  # one legend for the row: the band is drawn alike in every panel
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        fig.suptitle("Which layer explains each area? (bars: 95% bootstrap CI over stimuli)")
        figs["bootstrap"] = fig

        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
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
        top = table.loc[table.groupby(["kind", "area"], sort=False)["score"].idxmax()]
        plot_best_layers(top, self.layer_rdms.names, ax=axes[2], title="top-scoring layer:\nRDM vs RGTM")
        figs["topology"] = fig
        from .plotting.layout import fit_texts

        return {name: fit_texts(fig) for name, fig in figs.items()}  # wrap titles wider than their room

    # ------------------------------------------------------------------ saving
    def save(self, out) -> Path:
        """Write the report folder: PNG figures, ``scores.csv`` and ``index.html``.

        Each of :attr:`sections` adds its own figures and table (named after the
        section, e.g. ``objects92_scores.png`` and ``objects92_scores.csv``) and its part
        of the page. Every file is written to a temporary name and renamed, so an
        interrupted run leaves no half-written file.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        import json

        names = _save_figures(self.figures(), out, "")
        with atomic_path(out / "scores.csv") as tmp:
            spreadsheet_safe(self.scores).to_csv(tmp, index=False)
        if self.pairwise is not None:
            with atomic_path(out / "pairwise.csv") as tmp:
                spreadsheet_safe(self.pairwise).to_csv(tmp, index=False)
        if self.encoding is not None:
            with atomic_path(out / "encoding_scores.csv") as tmp:
                spreadsheet_safe(self.encoding).to_csv(tmp, index=False)
        record = {"provenance": self.provenance, "notes": self.messages(), "hierarchy": self.hierarchy_sentence,
                  "hierarchy_p": None if not np.isfinite(self.hierarchy_p) else self.hierarchy_p,
                  "best": self.best.to_dict(orient="records"), "files": {"scores": "scores.csv"}}
        with atomic_path(out / "report.json") as tmp:
            tmp.write_text(json.dumps(record, indent=2, default=_json_default), encoding="utf-8")
        parts = [self._header_html(), self._html_section(names)]
        for section in self.sections:
            parts.append(section._write_files(out))
        with atomic_path(out / "index.html") as tmp:
            tmp.write_text(_page("neurotk comparison report", parts), encoding="utf-8")
        return out

    def _html(self, figure_names) -> str:
        """The page of this comparison alone (no sections)."""
        return _page("neurotk comparison report", [self._html_section(figure_names)])

    def _header_html(self) -> str:
        """Provenance block and the notes and warnings, for the top of the page."""
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_html_value(v)}</td></tr>"
                       for k, v in self.provenance.items() if k != "versions")
        versions = ", ".join(f"{html.escape(k)} {html.escape(str(v))}" for k, v in self.provenance.get("versions", {}).items())
        data = ("<p><strong>Simulated data</strong> in the first section: no animal was recorded.</p>\n"
                if self.simulated else "")
        notes = self.messages()
        listed = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>none</li>"
        return f"""<section class="provenance">
<h2>How this report was made</h2>
{data}<table>{rows}<tr><th>versions</th><td>{versions}</td></tr></table>
<p>All of it: <a href="report.json">report.json</a>.</p>
<h2>Notes and warnings</h2>
<ul>{listed}</ul>
</section>
"""

    def _html_section(self, figure_names) -> str:
        captions = {
            "layer_area": ("RDM similarity of every brain area (rows) with every network layer (columns); colour scale "
                           "from 0 (symmetric around 0 when a score is negative); the top-scoring layer of each area "
                           "is outlined, with the layers it does not beat significantly."),
            "bootstrap": ("Scores with 95% confidence intervals from bootstrapping the stimuli; grey band: the area's noise "
                          "ceiling (where it has one); *: above chance (Holm-corrected permutation p < 0.05)."),
            "rdms": ("Representational dissimilarity matrices of the areas and the layers (percentiles"
                     + ("; coloured bands: stimulus categories)." if self.categories is not None else ").")),
            "mds": ("Classical multidimensional scaling of the last area and the last layer"
                    + (", coloured by stimulus category." if self.categories is not None else
                       " (no stimulus categories given).")),
            "topology": ("Topological RSA: the first area's RDM, its geo-topological transform (RGTM: keeps the "
                         "neighbourhood structure, discards exact distances), and the top-scoring layer of each "
                         "area with plain RDMs and with RGTMs."),
        }
        if self.encoding is not None:
            captions["encoding"] = (f"Encoding view beside RSA: cross-validated ridge from each layer to each area's "
                                    f"units, {self.encoding['normalisation'].iloc[0]}, mean over units (numbers: "
                                    f"encoding_scores.csv); the top-scoring layer of each area is outlined.")
        order = [n for n in ("layer_area", "encoding", "bootstrap", "rdms", "mds", "topology") if n in figure_names]
        best_rows = "".join(
            f"<tr><td>{html.escape(str(r.area))}</td><td>{html.escape(str(r.layer) or '-')}</td>"
            f"<td>{html.escape(str(r.top_layer))}</td><td>{r.score:.3f}</td><td>[{r.ci_low:.3f}, {r.ci_high:.3f}]</td>"
            f"<td>{r.p_value:.3g}</td><td>{html.escape(str(r.verdict))}</td></tr>"
            for r in self.best.itertuples()
        )
        hierarchy = f"<p>{html.escape(self.hierarchy_sentence)}</p>\n" if self.hierarchy_sentence else ""
        figures = "".join(
            f'<figure><img src="{n}.png" alt="{n}"><figcaption>{html.escape(captions.get(n, n))}</figcaption></figure>'
            for n in order
        )
        description = f"<p>{html.escape(self.description)}</p>\n" if self.description else ""
        return f"""<section>
<h2>{html.escape(self.title)}</h2>
{description}<p>{_count(self.area_rdms.n_rdms, "area")} and {_count(self.layer_rdms.n_rdms, "layer")} compared on {self.area_rdms.n_conditions}
stimuli: RDMs with the {html.escape(self.metric)} distance, compared by {html.escape(self.method)} correlation;
95% confidence intervals from a bootstrap over stimuli; p-values against zero from
{self.provenance.get("analysis", {}).get("n_permutations", "")} condition-label permutations; pairwise layer tests from
the bootstrap, Holm-corrected within each area; a layer is called best only when it is significantly better than every
other layer (alpha {self.alpha:g}). Computed in {self.seconds:.1f} s. All numbers: <a href="scores.csv">scores.csv</a>,
<a href="pairwise.csv">pairwise.csv</a>.</p>
{hierarchy}<h3>Best layer per area</h3>
<table><tr><th>area</th><th>best layer</th><th>top-scoring layer</th><th>score</th><th>95% CI</th><th>p</th>
<th>verdict</th></tr>{best_rows}</table>
{figures}
</section>
"""


_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
          "img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px}"
          "figure{margin:2em 0}figcaption{color:#444}section{margin-bottom:3em}")


def _page(title: str, sections) -> str:
    """An HTML page around already escaped section markup."""
    body = "\n".join(sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>\n'
            f"<style>{_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def _save_figures(figures: dict, out: Path, prefix: str) -> list:
    """Write each figure as ``<prefix><name>.png`` (atomically) and close it; returns the names."""
    import matplotlib.pyplot as plt

    names = []
    for name, fig in figures.items():
        with atomic_path(out / f"{prefix}{name}.png") as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        names.append(name)
    return names


def _count(n: int, noun: str) -> str:
    """``"1 area"``, ``"3 areas"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _fmt(value) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.3f}"


@dataclass(repr=False)
class RDMComparison(Result):
    """RDMs of brain areas (one per subject, or one in all) against candidate RDMs.

    Returned by :func:`compare_rdms`. Every score is comparable with its area's noise
    ceiling: both are means over the area's data RDMs (the reference's convention, see
    :func:`compare_rdms`).

    Attributes
    ----------
    scores : DataFrame
        One row per area and candidate: ``area``, ``candidate``, ``kind``, ``method``,
        ``score`` (mean over the area's data RDMs of the similarity with the candidate),
        ``ci_low``, ``ci_high``, ``sem`` (bootstrap over conditions), ``group_score``
        (similarity with the area's mean RDM), ``tau_a`` (Kendall's tau-a with the mean
        RDM), ``n_data_rdms``, ``ceiling_low``, ``ceiling_high`` (NaN for an area with one
        RDM: no noise ceiling can be estimated from one), ``p_value`` (condition-label
        permutation test against zero), ``p_holm``, ``best`` (the significant best of the
        area and kind, or ""), ``best_set`` (the candidates not significantly worse than
        the top one, ";"-joined) and ``verdict``.
    pairwise : DataFrame
        Bootstrap tests between every two candidates of an area, as
        :func:`neurotk.rsa.compare_models` returns them (``p_adjusted``: Holm over all of the
        area's pairs), with an ``area`` column. ``best`` uses Holm within each kind.
    ceilings : dict of str -> RDMNoiseCeiling or None
        The noise ceiling of each area (None with a single data RDM).
    data_rdms : dict of str -> RDM
        Each area's data RDMs (a stack), over the shared conditions.
    candidate_rdms : RDM
        The candidates (names = candidate names), over the same conditions.
    kinds : dict of str -> str
        The kind of each candidate ("network layer", "model RDM", "brain area" ...).
    layers : list of str
        Candidates drawn as a depth profile (network layers, early -> late).
    categories : ndarray or None
        A category per condition, for the bands of the RDM figure.
    method : str
    n_bootstrap : int
    name : str
        Prefix of the files this comparison writes (``<name>_scores.csv`` ...).
    title, description, citation : str
        What the report page says about it.
    seconds : float
    notes : list of str

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(45)
    >>> result = compare_rdms({"IT": RDM(truth + 0.3 * rng.random((3, 45)))},
    ...                       {"true": RDM(truth), "noise": RDM(rng.random(45))},
    ...                       n_bootstrap=400, n_permutations=200, progress=False)
    >>> result
    RDMComparison(1 area(s) x 2 candidate(s) on 10 conditions, method='spearman'; significant best: {'IT': 'true'})
    >>> bool(result.ceilings["IT"].lower > 0)
    True
    """

    scores: pd.DataFrame
    pairwise: pd.DataFrame
    ceilings: dict
    data_rdms: dict
    candidate_rdms: object
    kinds: dict
    layers: list
    categories: np.ndarray | None
    method: str
    n_bootstrap: int
    name: str
    title: str
    description: str
    citation: str
    seconds: float
    notes: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The scores table (a copy)."""
        return self.scores.copy()

    @property
    def best(self) -> pd.DataFrame:
        """The top-scoring candidate of each area and each kind, in input order; its ``best``
        column says whether it is significantly the best (non-empty) or tied (``best_set``).

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.rsa import RDM
        >>> rng = np.random.default_rng(1)
        >>> res = compare_rdms({"A": RDM(rng.random(15))}, {"a": RDM(rng.random(15)), "b": RDM(rng.random(15))},
        ...                    kinds={"a": "model", "b": "model"}, n_bootstrap=10, progress=False)
        >>> res.best[["area", "kind"]].values.tolist()
        [['A', 'model']]
        """
        idx = self.scores.groupby(["area", "kind"], sort=False)["score"].idxmax()
        return self.scores.loc[idx.to_numpy()].reset_index(drop=True)

    def verdicts(self) -> list:
        """One sentence per area and kind: its significant best candidate (or the tied set), the
        top score with its CI, and how far it is from the noise ceiling.

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.rsa import RDM
        >>> rng = np.random.default_rng(0)
        >>> res = compare_rdms({"A": RDM(rng.random(15))}, {"a": RDM(rng.random(15))}, n_bootstrap=10,
        ...                    n_permutations=20, progress=False)
        >>> res.verdicts()[0][:40]
        'A, candidate: no candidate explains this'
        >>> res.verdicts()[0].endswith("(one RDM: no noise ceiling)")
        True
        """
        out = []
        for r in self.best.itertuples():
            head = f"{r.area}, {r.kind}: "
            if r.best:
                head += f"best {r.best} (significantly better than every other {r.kind})"
            elif r.verdict.startswith("no candidate explains"):
                head += f"no {r.kind} explains this area above chance"
            else:
                head += f"no single best {r.kind}; tied: {r.best_set.replace(';', ', ')}"
            text = head + f"; top {r.candidate} at {r.score:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}], p = {r.p_value:.3g}"
            if np.isfinite(r.ceiling_low):
                low, high = r.ceiling_low, r.ceiling_high
                where = ("below the noise ceiling" if r.score < low else
                         "within the noise ceiling" if r.score <= high else "above the noise ceiling")
                text += (f", {where} [{low:.3f}, {high:.3f}] ({100 * r.score / low:.0f}% of its lower bound)"
                         if low > 0 else f", noise ceiling [{low:.3f}, {high:.3f}]")
            else:
                text += " (one RDM: no noise ceiling)"
            out.append(text)
        return out

    def __repr__(self) -> str:
        best = self.scores.groupby("area", sort=False)["best"].agg(lambda b: ";".join(x for x in b.unique() if x))
        return (f"RDMComparison({len(self.data_rdms)} area(s) x {self.candidate_rdms.n_rdms} candidate(s) on "
                f"{self.candidate_rdms.n_conditions} conditions, method={self.method!r}; "
                f"significant best: {best.to_dict()})")

    def plot(self, ax=None, area: str | None = None, **kwargs):
        """Bar plot of one area's scores (default the first) with CIs and its noise ceiling; returns the Axes."""
        from .plotting.layout import axes_or_new
        from .plotting.rsa import plot_model_comparison

        area = next(iter(self.data_rdms)) if area is None else area
        if area not in self.data_rdms:
            raise ArgumentError(f"area={area!r} is not an area of this comparison; expected one of {list(self.data_rdms)}")
        rows = self.scores[self.scores["area"] == area].rename(columns={"candidate": "model"})
        ax = axes_or_new(ax, (max(4.0, 0.45 * len(rows) + 2), 3.8))
        ceiling = self.ceilings[area]
        kwargs.setdefault("title", self._area_title(area))
        kwargs.setdefault("xlabel", "candidate RDM")
        return plot_model_comparison(rows, ax=ax, noise_ceiling=None if ceiling is None else tuple(ceiling),
                                     method=self.method, **kwargs)

    def _area_title(self, area: str) -> str:
        n = self.data_rdms[area].n_rdms
        if self.ceilings[area] is None:
            return f"{area} (one RDM: no noise ceiling)"
        return f"{area} (mean over {n} RDMs; grey: noise ceiling)"

    def _mean_rdm(self, area: str):
        from . import rsa

        stack = self.data_rdms[area]
        return rsa.RDM(np.asarray(stack.vectors).mean(axis=0), stack.conditions, [area], stack.metric)

    # ------------------------------------------------------------------ figures
    @_plain_text
    def figures(self) -> dict:
        """Draw every figure: ``rdms``, ``scores`` and (with layers) ``layers``; name -> Figure."""
        import matplotlib.pyplot as plt

        from .plotting.rsa import plot_rdm

        figs = {}
        first = next(iter(self.data_rdms))
        panels = [(self._mean_rdm(a), f"{a}" + (f" (mean of {self.data_rdms[a].n_rdms})" if self.data_rdms[a].n_rdms > 1 else ""))
                  for a in self.data_rdms]
        best = self.best
        for row in best[best["area"] == first].itertuples():
            if row.candidate in self.data_rdms:
                continue
            k = self.candidate_rdms.names.index(row.candidate)
            panels.append((self.candidate_rdms[k], f"best {row.kind} for {first}: {row.candidate}"))
        ncols = min(len(panels), 2)
        nrows = -(-len(panels) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 4.9 * nrows), constrained_layout=True,
                                 squeeze=False)
        for ax, (rdm, title) in zip(axes.ravel(), panels):
            plot_rdm(rdm, ax=ax, categories=self.categories, rank=True, title=title)
            ax.tick_params(axis="both", labelsize="small")
            ax.tick_params(axis="x", labelrotation=90)
        for ax in axes.ravel()[len(panels):]:
            ax.axis("off")
        fig.suptitle("RDMs in the original stimulus order (dissimilarities shown as percentiles; bands: categories)")
        figs["rdms"] = fig

        n = len(self.data_rdms)
        width = max(6.0, 0.42 * self.candidate_rdms.n_rdms + 2.5)
        fig, axes = plt.subplots(n, 1, figsize=(width, 3.9 * n), constrained_layout=True, squeeze=False)
        for ax, area in zip(axes[:, 0], self.data_rdms):
            self.plot(ax=ax, area=area)
        fig.suptitle(f"How well each candidate RDM matches each area ({self.method})\nbars: mean over the area's "
                     f"RDMs; whiskers: 95% bootstrap CI over stimuli ({self.n_bootstrap} samples)")
        figs["scores"] = fig

        if self.layers:
            fig, ax = plt.subplots(figsize=(max(5.5, 0.9 * len(self.layers) + 2.5), 4.0), constrained_layout=True)
            x = np.arange(len(self.layers))
            for k, area in enumerate(self.data_rdms):
                rows = self.scores[self.scores["area"] == area].set_index("candidate").loc[self.layers]
                colour = f"C{k}"
                ax.errorbar(x + 0.06 * (k - (n - 1) / 2), rows["score"], fmt="o-", color=colour,
                            yerr=[np.clip(rows["score"] - rows["ci_low"], 0, None), np.clip(rows["ci_high"] - rows["score"], 0, None)],
                            capsize=3, label=area)
                ceiling = self.ceilings[area]
                if ceiling is not None:
                    ax.axhspan(ceiling.lower, ceiling.upper, color=colour, alpha=0.12,
                               label=f"{area} noise ceiling [{ceiling.lower:.2f}, {ceiling.upper:.2f}]")
            ax.axhline(0, color="black", lw=0.8)
            ax.set_xticks(x, self.layers)
            ax.set_xlabel("network layer (input -> output)")
            ax.set_ylabel(f"RDM similarity ({self.method})")
            ax.set_title("Network layers vs each area (95% bootstrap CI over stimuli)")
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
            figs["layers"] = fig
        from .plotting.layout import fit_texts

        return {name: fit_texts(fig) for name, fig in figs.items()}  # wrap titles wider than their room

    # ------------------------------------------------------------------ saving
    def save(self, out) -> Path:
        """Write a folder: the figures, ``<name>_scores.csv`` and an ``index.html`` showing them.

        Every file is written to a temporary name and renamed.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        section = self._write_files(out)
        with atomic_path(out / "index.html") as tmp:
            tmp.write_text(_page(self.title, [section]), encoding="utf-8")
        return out

    def _write_files(self, out: Path) -> str:
        """Write the figures and the table into ``out``; returns this section's HTML."""
        names = _save_figures(self.figures(), out, f"{self.name}_")
        with atomic_path(out / f"{self.name}_scores.csv") as tmp:
            spreadsheet_safe(self.scores).to_csv(tmp, index=False)
        with atomic_path(out / f"{self.name}_pairwise.csv") as tmp:
            spreadsheet_safe(self.pairwise).to_csv(tmp, index=False)
        return self._html_section(names)

    def _html_section(self, figure_names) -> str:
        esc = html.escape
        captions = {
            "scores": ("Every candidate RDM against every area: bars are the mean over the area's RDMs, "
                       "whiskers the 95% bootstrap interval over stimuli, the grey band the noise ceiling "
                       "(where the area has several RDMs)."),
            "layers": "The network's layers, input to output, against each area, with the noise ceiling.",
            "rdms": "The areas' RDMs and the best candidate of each kind for the first area.",
        }
        rows = []
        for r in self.best.itertuples():
            ceiling = (f"[{_fmt(r.ceiling_low)}, {_fmt(r.ceiling_high)}]" if np.isfinite(r.ceiling_low)
                       else f"none: {r.n_data_rdms} RDM")
            best = esc(r.best) if r.best else f"none (tied: {esc(r.best_set.replace(';', ', '))})"
            rows.append(f"<tr><td>{esc(str(r.area))}</td><td>{esc(str(r.kind))}</td><td>{esc(str(r.candidate))}</td>"
                        f"<td>{_fmt(r.score)}</td><td>[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]</td>"
                        f"<td>{r.p_value:.3g}</td><td>{best}</td>"
                        f"<td>{_fmt(r.tau_a)}</td><td>{ceiling}</td></tr>")
        areas = ", ".join(f"{esc(a)} ({s.n_rdms} RDM{'s' if s.n_rdms > 1 else ''})" for a, s in self.data_rdms.items())
        figures = "".join(
            f'<figure><img src="{esc(self.name)}_{esc(n)}.png" alt="{esc(n)}">'
            f"<figcaption>{esc(captions.get(n, n))}</figcaption></figure>"
            for n in ("scores", "layers", "rdms") if n in figure_names
        )
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        verdicts = "".join(f"<li>{esc(v)}</li>" for v in self.verdicts())
        description = f"<p>{esc(self.description)}</p>\n" if self.description else ""
        citation = f"<p>Cite: {esc(self.citation)}</p>\n" if self.citation else ""
        table = f"{esc(self.name)}_scores.csv"
        return f"""<section>
<h2>{esc(self.title)}</h2>
{description}<p>Areas: {areas}; {self.candidate_rdms.n_rdms} candidate RDMs over {self.candidate_rdms.n_conditions}
conditions, compared by {esc(self.method)} correlation (score: the mean over an area's RDMs, comparable with
its noise ceiling); 95% confidence intervals from {self.n_bootstrap} bootstrap samples of the stimuli; Kendall's
tau-a with the area's mean RDM beside it. Computed in {self.seconds:.1f} s. All numbers:
<a href="{table}">{table}</a>.</p>
{citation}<h3>Top candidate per area and kind</h3>
<p>p: condition-label permutation test against zero. A candidate is the significant best only when it is above
chance and better than every other candidate of its kind (bootstrap tests, Holm-corrected within the kind, alpha {ALPHA:g});
otherwise the candidates not significantly worse than the top one are listed as tied. All pairwise tests:
<a href="{esc(self.name)}_pairwise.csv">{esc(self.name)}_pairwise.csv</a>.</p>
<table><tr><th>area</th><th>kind</th><th>top candidate</th><th>score</th><th>95% CI</th><th>p</th>
<th>significant best</th><th>tau-a</th><th>noise ceiling</th></tr>{"".join(rows)}</table>
<ul>{verdicts}</ul>
{figures}
<ul>{notes}</ul>
</section>
"""


def _check_rdms(group, what: str) -> dict:
    from .rsa import RDM

    if not isinstance(group, Mapping) or not group:
        raise ArgumentError(f"{what} must be a non-empty dict of name -> neurotk.rsa.RDM")
    for name, value in group.items():
        if not isinstance(value, RDM):
            raise ArgumentError(f"{what}[{name!r}] is a {type(value).__name__}; expected a neurotk.rsa.RDM")
    return dict(group)


def compare_rdms(
    data: Mapping,
    candidates: Mapping,
    *,
    kinds: Mapping[str, str] | None = None,
    layers=None,
    method: str = "spearman",
    n_bootstrap: int = 1000,
    categories=None,
    name: str = "rdms",
    title: str = "Brain RDMs vs candidate RDMs",
    description: str = "",
    citation: str = "",
    n_permutations: int = 1000,
    random_state=0,
    n_jobs: int = 1,
    progress: bool = True,
) -> RDMComparison:
    """Compare each area's RDMs with candidate RDMs, with bootstrap CIs and noise ceilings.

    This is what the RSA toolbox's ``compareRefRDM2candRDMs`` computes for a reference
    RDM measured in several subjects (rsagroup/rsatoolbox, MATLAB
    ``Engines/compareRefRDM2candRDMs.m``, used on these data by
    ``Demos/DEMO1_RSA_ROI_simulatedAndRealData.m``; Nili et al. 2014, PLoS Comput Biol
    10:e1003553): for each candidate, the similarity (``method``, default Spearman, the
    reference's default) with each of the area's data RDMs, averaged over them; the noise
    ceiling of those data RDMs (:func:`neurotk.rsa.noise_ceiling`: each RDM against the
    pooled RDM of all of them, upper, or of the others, lower); and a bootstrap over
    conditions (the reference's ``conditionRFXbootstrap``, :func:`neurotk.rsa.bootstrap`)
    for the 95% intervals. An area with one data RDM gets scores and intervals but no
    noise ceiling (none can be estimated from one RDM). Two numbers are added beside the
    reference's: ``group_score``, the similarity with the area's mean RDM, and ``tau_a``,
    Kendall's tau-a with the mean RDM (the measure Nili et al. 2014 recommend when
    candidates have tied dissimilarities, as categorical models do). A candidate named
    like an area is not compared with that area.

    Parameters
    ----------
    data : dict of str -> RDM
        Each area's data RDMs: a stack of one RDM per subject, or a single RDM.
    candidates : dict of str -> RDM
        Candidate RDMs over the same conditions (a stack is averaged first, as the
        reference does).
    kinds : dict of str -> str, optional
        A kind per candidate ("network layer", "model RDM" ...); default "candidate".
    layers : list of str, optional
        Candidates drawn as a depth profile (network layers, early -> late).
    method : str, default "spearman"
        RDM comparison (see :func:`neurotk.rsa.compare`).
    n_bootstrap : int, default 1000
        Bootstrap samples over conditions.
    categories : array-like, shape (n_conditions,), optional
        A category per condition (in the data's condition order), for the RDM figure.
    name : str, default "rdms"
        Prefix of the files written (``<name>_scores.csv``, ``<name>_scores.png`` ...).
    title, description, citation : str
        What the report page says about the data.
    n_permutations : int, default 1000
        Condition-label permutations of the test against zero (:func:`neurotk.rsa.permutation_test`,
        column ``p_value``; ``p_holm`` corrects it over the area's candidates).
    random_state, n_jobs, progress
        Seed, parallel jobs and progress bars of the bootstrap.

    Returns
    -------
    RDMComparison
        A candidate is an area's ``best`` of its kind only when it is above chance and
        significantly better than every other candidate of that kind (bootstrap pairwise
        tests, Holm-corrected within the kind, alpha 0.05, as for :func:`compare_recordings`); otherwise
        ``best`` is empty and ``best_set`` lists the tied candidates.

    Raises
    ------
    ArgumentError
        Empty or non-RDM inputs, unknown kinds or layers, a bad ``name``.
    AlignmentError
        A candidate or area over other conditions than the first area.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(45)
    >>> res = compare_rdms({"IT": RDM(truth + 0.3 * rng.random((3, 45)))},
    ...                    {"true": RDM(truth), "noise": RDM(rng.random(45))}, n_bootstrap=50, progress=False)
    >>> res.scores[["area", "candidate", "n_data_rdms"]].values.tolist()
    [['IT', 'true', 3], ['IT', 'noise', 3]]
    """
    from . import rsa
    from .rsa.comparison import canonical_method

    start = time.perf_counter()
    data = _check_rdms(data, "data")
    candidates = _check_rdms(candidates, "candidates")
    kinds = {c: "candidate" for c in candidates} | dict(kinds or {})
    unknown = sorted(set(kinds) - set(candidates))
    if unknown:
        raise ArgumentError(f"kinds names {unknown}, which are not candidates; expected names from {list(candidates)}")
    layers = [] if layers is None else list(layers)
    unknown = [c for c in layers if c not in candidates]
    if unknown:
        raise ArgumentError(f"layers={unknown} are not candidates; expected names from {list(candidates)}")
    if not isinstance(name, str) or not name or not all(ch.isalnum() or ch in "_-" for ch in name):
        raise ArgumentError(f"name={name!r}; expected a non-empty file-name prefix of letters, digits, '_' or '-'")
    method = canonical_method(method)
    reference = next(iter(data.values())).conditions

    def aligned(rdm, what):
        if set(rdm.conditions.tolist()) != set(reference.tolist()) or rdm.n_conditions != len(reference):
            raise AlignmentError(f"{what} is over {rdm.n_conditions} conditions that differ from the "
                                 f"{len(reference)} of data[{next(iter(data))!r}]; expected RDMs over the same conditions")
        return rdm.subset(reference)

    data = {a: aligned(r, f"data[{a!r}]") for a, r in data.items()}
    vectors = [np.asarray(aligned(r, f"candidates[{c!r}]").vectors).mean(axis=0) for c, r in candidates.items()]
    stack = rsa.RDM(np.vstack(vectors), reference, list(candidates))
    if categories is not None:
        categories = np.asarray(categories)
        if categories.shape != (len(reference),):
            raise ShapeMismatchError(f"categories has shape {categories.shape}; expected ({len(reference)},), one "
                                     f"per condition")

    rows, pairs, ceilings = [], [], {}
    for area, rdms in data.items():
        keep = [k for k, c in enumerate(stack.names) if c != area]
        others = stack[keep]
        boot = rsa.bootstrap(rdms, others, method=method, n_bootstrap=n_bootstrap, random_state=random_state,
                             n_jobs=n_jobs, progress=progress)
        ceilings[area] = boot.noise_ceiling
        mean = rsa.RDM(np.asarray(rdms.vectors).mean(axis=0), reference)
        frame = boot.to_frame().rename(columns={"model": "candidate"})
        frame.insert(0, "area", area)
        frame.insert(2, "kind", [kinds[c] for c in frame["candidate"]])
        frame.insert(3, "method", method)
        frame["group_score"] = np.ravel(rsa.compare(mean, others, method=method))
        frame["tau_a"] = np.ravel(rsa.compare(mean, others, method="kendall"))
        frame["n_data_rdms"] = rdms.n_rdms
        nc = boot.noise_ceiling
        frame["ceiling_low"] = np.nan if nc is None else nc.lower
        frame["ceiling_high"] = np.nan if nc is None else nc.upper
        perm = rsa.permutation_test(rdms, others, method=method, n_permutations=n_permutations,
                                    random_state=random_state, n_jobs=n_jobs)
        frame["p_value"] = perm.p_values
        frame["p_holm"] = _holm_adjust(perm.p_values)
        pairwise = rsa.compare_models(boot, correction="holm", alpha=ALPHA)
        frame["best"], frame["best_set"], frame["verdict"] = "", "", ""
        for kind in dict.fromkeys(frame["kind"]):
            rows_of_kind = frame.index[frame["kind"] == kind]
            sub = frame.loc[rows_of_kind].rename(columns={"candidate": "layer"})
            names = set(sub["layer"])
            # one family of tests per kind: Holm over the pairs within the kind only
            pw = pairwise[pairwise["model_a"].isin(names) & pairwise["model_b"].isin(names)].copy()
            pw["p_adjusted"] = _holm_adjust(pw["p_value"].to_numpy()) if len(pw) else pw["p_value"]
            best, tied, verdict = _best_of_area(sub, pw, ALPHA)
            frame.loc[rows_of_kind, "best"] = best
            frame.loc[rows_of_kind, "best_set"] = ";".join(tied)
            frame.loc[rows_of_kind, "verdict"] = verdict.replace("layer", "candidate")
        pairs.append(pairwise.assign(area=area))
        rows.append(frame)
    notes = [f"{a}: one RDM, so no noise ceiling (it needs several independent RDMs, e.g. one per subject)"
             for a, r in data.items() if r.n_rdms < 2]
    pairwise = pd.concat(pairs, ignore_index=True)
    pairwise = pairwise[["area"] + [c for c in pairwise.columns if c != "area"]]
    return RDMComparison(
        scores=pd.concat(rows, ignore_index=True), pairwise=pairwise, ceilings=ceilings, data_rdms=data, candidate_rdms=stack,
        kinds=kinds, layers=layers, categories=categories, method=method, n_bootstrap=int(n_bootstrap), name=name,
        title=title, description=description, citation=citation, seconds=time.perf_counter() - start, notes=notes,
    )


# --------------------------------------------------------------------------- statistics
#: Significance level of the report's tests (per-layer, pairwise, best layer).
ALPHA = 0.05


def _within_group_ranks(codes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Rank (0, 1, ...) of every row among the rows of its group, ordered by ``keys``."""
    order = np.lexsort((keys, codes))
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    ranks = np.empty(len(codes), dtype=int)
    ranks[order] = np.arange(len(codes)) - first
    return ranks


def split_half_rdm_ceiling(rec: Recording, conditions, *, metric: str = "correlation", method: str = "spearman",
                           condition: str = "stimulus", n_splits: int = 20, random_state=0):
    """Noise ceiling of an area's RDM from its repeated presentations (split-half, Spearman-Brown).

    In each of ``n_splits`` random splits, the presentations of every condition are divided
    into two halves (``k // 2`` and the rest of its ``k`` presentations); an RDM is computed
    from each half and the two are compared by ``method``. The mean split-half similarity
    ``r`` is corrected to the full number of repeats by the Spearman-Brown formula,
    ``rel = 2 r / (1 + r)`` (:func:`neurotk.encoding.spearman_brown`; Spearman 1910, Brown
    1910). ``rel`` estimates how well an independent replication of the whole experiment
    would match this RDM (the lower bound, as the leave-one-subject-out bound of Nili et
    al. 2014 is the match with independent data); ``sqrt(rel)`` estimates the match of this
    RDM with the noise-free RDM (the upper bound: no model can exceed it on average).
    Both follow classical test theory, exact for Pearson and an approximation for rank
    correlations.

    Returns ``(lower, upper, r_half)``, or None when a condition has fewer than 2
    presentations (no split is possible).
    """
    from . import rsa
    from .encoding.ceiling import spearman_brown
    from .utils import as_rng

    keep = rec.select(samples=rec.samples[condition].isin(list(conditions)).to_numpy())
    labels = keep.samples[condition].to_numpy()
    _, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes)
    if counts.min() < 2:
        return None
    rng = as_rng(random_state)
    sims = []
    for _ in range(int(n_splits)):  # a loop over random splits, not over units or pairs
        ranks = _within_group_ranks(codes, rng.random(len(codes)))
        first = ranks < (counts // 2)[codes]
        halves = [rsa.rdm(keep.select(samples=mask), metric=metric, condition=condition).subset(conditions)
                  for mask in (first, ~first)]
        sims.append(float(np.ravel(rsa.compare(halves[0], halves[1], method=method))[0]))
    r_half = float(np.mean(sims))
    rel = float(spearman_brown(r_half, 2))
    return rel, float(np.sqrt(rel)) if rel > 0 else np.nan, r_half


def _holm_adjust(p) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, as :func:`neurotk.rsa.compare_models` corrects."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    out = np.empty(p.size)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _best_of_area(frame: pd.DataFrame, pairwise: pd.DataFrame, alpha: float):
    """The significant best layer (or ""), the tied set and a verdict for one area."""
    top = frame.loc[frame["score"].idxmax(), "layer"]
    involving = pairwise[(pairwise["model_a"] == top) | (pairwise["model_b"] == top)]
    other = np.where(involving["model_a"] == top, involving["model_b"], involving["model_a"])
    sign = np.where(involving["model_a"] == top, 1.0, -1.0)
    beaten = (involving["p_adjusted"].to_numpy() < alpha) & (sign * involving["difference"].to_numpy() > 0)
    tied = [top] + [o for o, b in zip(other, beaten) if not b]
    tied = [layer for layer in frame["layer"] if layer in tied]  # in depth order
    above = frame["p_holm"].to_numpy() < alpha
    if not above.any():
        return "", tied, "no layer explains this area above chance"
    top_above = bool(frame.loc[frame["layer"] == top, "p_holm"].iloc[0] < alpha)
    if len(tied) == 1 and top_above:
        return top, tied, f"best layer {top}: significantly better than every other layer"
    return "", tied, f"no single best layer; tied: {', '.join(tied)}"


def _area_order_test(depths: np.ndarray, max_exact: int = 8, n_random: int = 9999, random_state=0):
    """Spearman correlation of area position with top-layer depth and its permutation p-value.

    The null distribution permutes the area order: all ``n!`` orders when ``n <= max_exact``
    (an exact p-value, including the observed order), else ``n_random`` random orders plus
    the observed one. One-sided: ``#{rho_perm >= rho_obs} / #orders``.
    """
    import itertools

    from scipy.stats import rankdata

    from .utils import as_rng

    n = len(depths)
    d = rankdata(depths)
    d = d - d.mean()
    if not np.any(d):
        return np.nan, 1.0, 1
    if n <= max_exact:
        perms = np.array(list(itertools.permutations(range(n))), dtype=float)
    else:
        rng = as_rng(random_state)
        perms = np.vstack([np.arange(n), np.argsort(rng.random((n_random, n)), axis=1)]).astype(float)
    pos = perms - perms.mean(axis=1, keepdims=True)
    rhos = pos @ d / (np.linalg.norm(pos, axis=1) * np.linalg.norm(d))
    observed = rhos[0]
    return float(observed), float(np.mean(rhos >= observed - 1e-12)), len(perms)


def _versions() -> dict:
    import importlib.metadata as md
    import platform

    from . import __version__

    out = {"neurotk": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "pandas", "scikit-learn", "matplotlib", "joblib", "pynwb", "h5py"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return str(value)


def _html_value(value) -> str:
    import json

    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, Mapping):
        return "<br>".join(f"{html.escape(str(k))}: {_html_value(v)}" for k, v in value.items())
    return html.escape(json.dumps(value, default=_json_default))


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
    title: str = "Brain areas vs network layers",
    description: str = "",
    n_permutations: int = 1000,
    ceiling_by: str | None = None,
    n_splits: int = 20,
    area_order=None,
    provenance: Mapping | None = None,
    simulated: bool = False,
    alpha: float = ALPHA,
    encoding: bool = False,
) -> ComparisonReport:
    """Compare every brain area with every network layer by RSA and topological RSA, with statistics.

    For each area and each layer an RDM is computed over the stimuli they share
    (repeats averaged); each area's RDM is compared with every layer's RDM by
    ``method``, and the same is done after the geo-topological transform (thresholds as
    quantiles). For every comparison the report computes what the RSA toolbox's inference
    computes (rsagroup/rsatoolbox, MATLAB ``Engines/compareRefRDM2candRDMs.m``; Nili et al.
    2014, PLoS Comput Biol 10:e1003553):

    - a 95% confidence interval from a bootstrap over stimuli (:func:`neurotk.rsa.bootstrap`);
    - ``p_value``, a one-sided test against zero from a condition-label permutation of the
      area's RDM (:func:`neurotk.rsa.permutation_test`, ``n_permutations``); ``p_holm``
      beside it, Holm-corrected over the layers of the area;
    - pairwise layer tests within each area from the paired bootstrap differences,
      Holm-corrected over the area's pairs (:func:`neurotk.rsa.compare_models`), in
      :attr:`ComparisonReport.pairwise`;
    - ``best``: the top layer only when it is significantly better than every other layer
      (corrected p < ``alpha``) and above chance (``p_holm`` < ``alpha``); otherwise empty,
      and ``best_set`` lists the layers that the top one does not beat significantly;
    - a noise ceiling per area (``noise_ceiling_low``, ``noise_ceiling_high``): with
      ``ceiling_by``, one RDM per value of that samples column (subjects, sessions) and the
      ceiling of Nili et al. 2014 (:func:`neurotk.rsa.noise_ceiling`); otherwise, from
      repeated presentations, split-half with the Spearman-Brown correction
      (:func:`split_half_rdm_ceiling`); NaN when the area has neither;
    - with ``area_order``, a hierarchy test: the Spearman correlation between an area's
      position in the order and the depth of its top layer, against all permutations of the
      area order (:attr:`ComparisonReport.hierarchy_sentence`). Without an order (or with
      fewer than 2 areas in it) no hierarchy claim is made.

    Parameters
    ----------
    brain : dict of str -> Recording
        One Recording per area (presentations x units).
    models : dict of str -> Recording
        One Recording per layer (stimuli x units), in depth order.
    metric : str, default "correlation"
        Dissimilarity measure of the RDMs (see :func:`neurotk.rsa.rdm`).
    method : str, default "spearman"
        RDM comparison (see :func:`neurotk.rsa.compare`).
    n_bootstrap : int, default 1000
        Bootstrap samples over stimuli for the confidence intervals and pairwise tests.
    thresholds : (float, float)
        Lower and upper quantiles of the geo-topological transform.
    condition : str, default "stimulus"
        Samples column identifying stimuli in every Recording.
    category : str or None, default "category"
        Samples column (of the brain Recordings) with a category per stimulus, for figures.
    random_state, n_jobs, progress
        Seed, parallel jobs and progress bars of the bootstrap.
    title, description : str
        Heading and opening paragraph of the comparison on the report page (say where
        the data come from, e.g. that they are simulated).
    n_permutations : int, default 1000
        Condition-label permutations of each per-layer test against zero.
    ceiling_by : str, optional
        Samples column of the brain Recordings naming subjects or sessions: the noise
        ceiling is then computed across them (each must show every shared stimulus).
    n_splits : int, default 20
        Random splits of the repeats for the split-half noise ceiling.
    area_order : list of str, optional
        Area names in hierarchy order (early -> late); None makes no hierarchy claim.
    provenance : dict, optional
        How the report was made (command line, inputs with sha256, seed, window ...);
        written with the versions and the analysis settings into the page header and
        ``report.json``.
    simulated : bool, default False
        The brain data are simulated; the header says so.
    alpha : float, default 0.05
        Level of every test of the report.
    encoding : bool, default False
        Add the encoding view: :func:`neurotk.encoding.map_layers` (cross-validated ridge
        from each layer to each area's units, scores normalised by the units' noise
        ceiling, bootstrap CIs over units) as a second heatmap and ``encoding_scores.csv``,
        beside RSA, as Brain-Score reports both kinds of benchmark.

    Returns
    -------
    ComparisonReport

    Raises
    ------
    ArgumentError
        Empty or non-Recording inputs, a missing ``condition`` or ``ceiling_by`` column,
        ``area_order`` naming unknown or repeated areas.
    AlignmentError
        Fewer than 3 shared stimuli; a ``ceiling_by`` group without every stimulus.

    Examples
    --------
    >>> from neurotk.datasets import simulate_visual_hierarchy, digits_network
    >>> sim = simulate_visual_hierarchy(n_stimuli=30, random_state=0)
    >>> net = digits_network(0)
    >>> brain = {a: sim.area(a) for a in sim.areas}
    >>> layers = net.activations(sim.images, stimulus_ids=sim.stimulus_ids)
    >>> report = compare_recordings(brain, layers, n_bootstrap=20, n_permutations=20, progress=False)
    >>> list(report.scores.columns[:9])
    ['area', 'layer', 'score', 'ci_low', 'ci_high', 'p_value', 'best', 'noise_ceiling_low', 'noise_ceiling_high']
    """
    import warnings

    options = dict(locals())
    options.pop("warnings")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = _compare_recordings(**options)
    seen = set()
    for w in caught:  # into the report's notes, and on to the caller
        text = f"warning: {w.category.__name__}: {w.message}"  # the form neurotk compare de-duplicates
        if text not in seen:
            seen.add(text)
            report.notes.append(text)
            warnings.warn(w.message, w.category, stacklevel=2)
    return report


def _compare_recordings(brain, models, *, metric, method, n_bootstrap, thresholds, condition, category, random_state,
                        n_jobs, progress, title, description, n_permutations, ceiling_by, n_splits, area_order,
                        provenance, simulated, alpha, encoding) -> ComparisonReport:
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
    ceilings = _area_ceilings(brain, conditions, metric=metric, method=method, condition=condition,
                              ceiling_by=ceiling_by, n_splits=n_splits, random_state=random_state)
    rows, pairs, verdicts = [], [], {}
    for transform, layers in (("none", layer_rdms), ("rgtm", layer_topo)):
        for k, area in enumerate(area_rdms.names):
            data = area_rdms[k] if transform == "none" else rsa.geotopological(area_rdms[k], lower, upper)
            boot = rsa.bootstrap(data, layers, method=method, n_bootstrap=n_bootstrap,
                                 random_state=random_state, n_jobs=n_jobs, progress=progress)
            perm = rsa.permutation_test(data, layers, method=method, n_permutations=n_permutations,
                                        random_state=random_state, n_jobs=n_jobs)
            frame = boot.to_frame().rename(columns={"model": "layer"})
            frame.insert(0, "area", area)
            frame["p_value"] = perm.p_values
            frame["p_holm"] = _holm_adjust(perm.p_values)
            pairwise = rsa.compare_models(boot, correction="holm", alpha=alpha)
            best, tied, verdict = _best_of_area(frame, pairwise, alpha)
            frame["best"] = best
            frame["best_set"] = ";".join(tied)
            frame["in_best_set"] = frame["layer"].isin(tied)
            low, high, kind = ceilings[area] if transform == "none" else (np.nan, np.nan, "none")
            frame["noise_ceiling_low"], frame["noise_ceiling_high"], frame["noise_ceiling_method"] = low, high, kind
            frame["method"], frame["transform"] = method, transform
            rows.append(frame)
            pairs.append(pairwise.assign(area=area, transform=transform))
            if transform == "none":
                verdicts[area] = verdict
    first_cols = ["area", "layer", "score", "ci_low", "ci_high", "p_value", "best", "noise_ceiling_low",
                  "noise_ceiling_high", "best_set"]
    scores = pd.concat(rows, ignore_index=True)
    scores = scores[first_cols + [c for c in scores.columns if c not in first_cols]]
    pairwise = pd.concat(pairs, ignore_index=True)
    pairwise = pairwise[["area", "transform"] + [c for c in pairwise.columns if c not in ("area", "transform")]]
    plain = scores[scores["transform"] == "none"]
    top = plain.loc[plain.groupby("area", sort=False)["score"].idxmax()].reset_index(drop=True)
    best = top.rename(columns={"layer": "top_layer"})[["area", "top_layer", "score", "ci_low", "ci_high", "p_value",
                                                        "p_holm", "best", "best_set"]]
    best.insert(1, "layer", best["best"])
    best["verdict"] = best["area"].map(verdicts)
    if not (plain["p_holm"] < alpha).any():
        notes.insert(0, f"no layer explains any area above chance (every layer's permutation p >= {alpha:g} after "
                        f"Holm correction)")

    hierarchy = _hierarchy(area_order, list(area_rdms.names), top, list(layer_rdms.names), alpha, notes)
    settings = {"metric": metric, "method": method, "n_bootstrap": int(n_bootstrap),
                "n_permutations": int(n_permutations), "alpha": alpha, "condition": condition,
                "topology_thresholds": [lower, upper], "n_stimuli": len(conditions),
                "areas": list(area_rdms.names), "layers": list(layer_rdms.names),
                "area_order": None if area_order is None else list(area_order),
                "noise_ceiling": {a: c[2] for a, c in ceilings.items()},
                "random_state": random_state if isinstance(random_state, (int, np.integer)) else repr(random_state)}
    encoding_view = None
    if encoding:
        from .encoding import map_layers

        mapping = map_layers(brain, models, on=condition, n_bootstrap=n_bootstrap, random_state=random_state,
                             n_jobs=n_jobs, progress=progress)
        encoding_view = mapping.to_frame().assign(normalisation=mapping.normalisation, metric=mapping.metric)
        settings["encoding"] = f"neurotk.encoding.map_layers ({mapping.metric}, {mapping.normalisation})"
    record = {"data": "simulated" if simulated else "recorded (as given)", **dict(provenance or {}),
              "analysis": settings, "versions": _versions()}
    return ComparisonReport(
        scores=scores, best=best, area_rdms=area_rdms, layer_rdms=layer_rdms, categories=categories,
        metric=metric, method=method, thresholds=(lower, upper), seconds=time.perf_counter() - start,
        hierarchy_recovered=hierarchy["recovered"], notes=notes, title=title, description=description,
        pairwise=pairwise, hierarchy_sentence=hierarchy["sentence"], hierarchy_p=hierarchy["p"],
        provenance=record, simulated=bool(simulated), alpha=alpha, encoding=encoding_view,
    )


def _area_ceilings(brain, conditions, *, metric, method, condition, ceiling_by, n_splits, random_state) -> dict:
    """``area -> (low, high, how)``: across ``ceiling_by`` groups, split-half over repeats, or none."""
    from . import rsa

    out = {}
    for area, rec in brain.items():
        if ceiling_by is not None:
            if ceiling_by not in rec.samples.columns:
                raise ArgumentError(f"ceiling_by={ceiling_by!r}: brain[{area!r}] has no such samples column; its "
                                    f"columns are {list(rec.samples.columns)}")
            groups = pd.unique(rec.samples[ceiling_by])
            rdms = []
            for g in groups:  # one RDM per subject / session
                part = rec.select(samples=(rec.samples[ceiling_by] == g).to_numpy())
                missing = set(conditions.tolist()) - set(part.samples[condition].tolist())
                if missing:
                    raise AlignmentError(f"ceiling_by={ceiling_by!r}: brain[{area!r}] group {g!r} lacks "
                                         f"{len(missing)} of the {len(conditions)} shared stimuli; expected every "
                                         f"group to show every stimulus")
                part = part.select(samples=part.samples[condition].isin(list(conditions)).to_numpy())
                rdms.append(rsa.rdm(part, metric=metric, condition=condition).subset(conditions))
            if len(rdms) >= 2:
                nc = rsa.noise_ceiling(rsa.stack_rdms(rdms), method=method)
                out[area] = (nc.lower, nc.upper, f"across {len(rdms)} {ceiling_by} values")
                continue
        split = split_half_rdm_ceiling(rec, conditions, metric=metric, method=method, condition=condition,
                                       n_splits=n_splits, random_state=random_state)
        out[area] = (np.nan, np.nan, "none") if split is None else (split[0], split[1], "split-half")
    return out


def _hierarchy(area_order, areas, top, layers, alpha, notes) -> dict:
    """The hierarchy test and sentence (no claim without an order of at least 2 areas)."""
    none = {"recovered": None, "sentence": "", "p": np.nan}
    if area_order is None:
        return none
    order = [str(a) for a in area_order]
    unknown = [a for a in order if a not in areas]
    if unknown or len(set(order)) != len(order):
        raise ArgumentError(f"area_order={order}: {'unknown areas ' + str(unknown) if unknown else 'repeats an area'}; "
                            f"expected distinct names from {areas}")
    if len(order) < 2:
        notes.append(f"area_order names {len(order)} area; a hierarchy needs at least 2, so no hierarchy claim is made")
        return none
    depth = {name: k for k, name in enumerate(layers)}
    tops = top.set_index("area").loc[order, "layer"]
    rho, p, n_orders = _area_order_test(tops.map(depth).to_numpy(dtype=float))
    path = " -> ".join(f"{a} ({t})" for a, t in tops.items())
    if not np.isfinite(rho):
        sentence = (f"Hierarchy (area order {' -> '.join(order)}): every area's top-scoring layer is {tops.iloc[0]}, "
                    f"so the layer depth does not change along the order (p = 1).")
        return {"recovered": False, "sentence": sentence, "p": 1.0}
    smallest = 1.0 / n_orders
    if rho > 0:
        verdict = "rises significantly" if p < alpha else "rises, but not significantly,"
    else:
        verdict = "does not rise"
    sentence = (f"Hierarchy (area order given: {' -> '.join(order)}): the depth of the top-scoring layer {verdict} "
                f"along the order ({path}; Spearman rho = {rho:.2f}, permutation test over "
                f"{'all ' + str(n_orders) if len(order) <= 8 else n_orders} orders of the areas: p = {p:.3g}"
                + (f"; with {len(order)} areas no p below {smallest:.3g} is possible" if smallest >= alpha else "")
                + ").")
    return {"recovered": bool(p < alpha and rho > 0), "sentence": sentence, "p": p}
