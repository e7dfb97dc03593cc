"""The contracts every exported result and estimator keeps (../shared/DESIGN.md, Conventions).

The classes are found by walking the public API (every subpackage's ``__all__``), so a new
class is covered without editing a list: a class that looks like a result (it has
``to_frame`` or ``plot``) must derive from :class:`neurotk.results.Result`, a class with
``fit`` must be a scikit-learn ``BaseEstimator``, and each must have a small example below
(the test fails, naming the class, until one is added).

Results: a short repr, ``to_frame()`` a non-empty DataFrame, ``plot()`` Axes (or an array
of Axes), ``save()`` writing the table and the figure atomically.
Estimators: ``clone``, ``get_params``/``set_params`` round-trips, an unknown parameter is an
ArgumentError, using one before ``fit`` is a NotFittedError, and every public attribute that
``fit`` sets ends in ``_``.
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.base import BaseEstimator, clone  # noqa: E402

from neurotk import ArgumentError, NotFittedError, Recording  # noqa: E402
from neurotk.results import Result  # noqa: E402

PACKAGES = ("rsa", "encoding", "connectome", "clustering", "io", "datasets", "report")
#: Exported classes that hold data rather than results of an analysis: the data model, a
#: lazy view of spike times in a file, and the simulators' bundles of ground truth.
DATA_CLASSES = {"io.SpikeTrains", "datasets.VisualHierarchy", "datasets.CalciumPopulation",
                "datasets.CellTypePopulation", "datasets.FMRISimulation",
                "datasets.Objects92"}


def _exported():
    found = {}
    for package in PACKAGES:
        module = importlib.import_module(f"neurotk.{package}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if isinstance(obj, type) and obj.__module__.startswith("neurotk"):
                found.setdefault(f"{package}.{name}", obj)
    return found


EXPORTED = _exported()
RESULTS = sorted(k for k, c in EXPORTED.items() if k not in DATA_CLASSES and not hasattr(c, "fit")
                 and (hasattr(c, "to_frame") or hasattr(c, "plot") or issubclass(c, Result)))
ESTIMATORS = sorted(k for k, c in EXPORTED.items() if callable(getattr(c, "fit", None)))


# --------------------------------------------------------------------------- small inputs
def _rng(seed=0):
    return np.random.default_rng(seed)


def _rdms(n_rdms=3, n=8, seed=0):
    from neurotk import rsa

    x = _rng(seed).normal(size=(n_rdms, n, 12))
    return rsa.stack_rdms([rsa.rdm(x[k]) for k in range(n_rdms)], names=[f"m{k}" for k in range(n_rdms)])


def _repeats(n_repeats=4, n_stimuli=10, n_units=6, seed=0):
    rng = _rng(seed)
    signal = rng.normal(size=(n_stimuli, n_units))
    data = signal[None] + 0.5 * rng.normal(size=(n_repeats, n_stimuli, n_units))
    samples = {"stimulus": np.tile(np.arange(n_stimuli), n_repeats),
               "repeat": np.repeat(np.arange(n_repeats), n_stimuli)}
    return Recording(data.reshape(-1, n_units), samples=samples)


def _traces(seed=0):
    return _rng(seed).normal(size=(120, 6)).cumsum(axis=0)


def _cell_types():
    from neurotk.datasets import simulate_cell_types

    return simulate_cell_types(n_neurons=12, n_types=2, image_shape=(8, 8), n_stimuli=150, random_state=0)


def _connectome_fit():
    from neurotk.connectome import DynamicConnectome

    recs = [Recording(_traces(s)) for s in range(2)]
    return DynamicConnectome(rank=2, window=30, n_restarts=1, max_iter=50, random_state=0).fit(recs)


def _report():
    from neurotk.report import compare_recordings

    rng = _rng(0)
    brain = {"A": Recording(rng.normal(size=(8, 5)), samples={"stimulus": np.arange(8)})}
    models = {"L": Recording(rng.normal(size=(8, 4)), samples={"stimulus": np.arange(8)})}
    return compare_recordings(brain, models, n_bootstrap=10, progress=False)


def _rdm_comparison():
    from neurotk.report import compare_rdms

    return compare_rdms({"A": _rdms(3, seed=1)}, {"m": _rdms(1, seed=2), "n": _rdms(1, seed=3)}, layers=["m", "n"],
                        n_bootstrap=10, progress=False)


def _result_examples():
    from neurotk import connectome, encoding, rsa

    def mapping():
        brain = {"V1": _repeats(seed=1)}
        layer = Recording(_rng(2).normal(size=(10, 5)), samples={"stimulus": np.arange(10)})
        return encoding.map_layers(brain, {"conv": layer}, cv=2, inner_cv=2, alphas=[1.0, 10.0], n_bootstrap=20,
                                   random_state=0)

    def tensor():
        return connectome.affinity_tensor([Recording(_traces(s)) for s in range(2)], window=30)

    return {
        "rsa.RDM": lambda: _rdms(),
        "rsa.BootstrapResult": lambda: rsa.bootstrap(_rdms(1, seed=9), _rdms(), n_bootstrap=20, random_state=0),
        "rsa.PermutationResult": lambda: rsa.permutation_test(_rdms(1, seed=9), _rdms(), n_permutations=20,
                                                              random_state=0),
        "rsa.RDMNoiseCeiling": lambda: rsa.noise_ceiling(_rdms()),
        "rsa.SSMResult": lambda: rsa.ssm(_rng(1).normal(size=(8, 5)), _rng(2).normal(size=(8, 5)), n_permutations=20,
                                          random_state=0),
        "rsa.KernelAnalysisResult": lambda: rsa.kernel_analysis(_rng(1).normal(size=(12, 4)), np.arange(12) % 2,
                                                             cv=2, random_state=0),
        "rsa.Embedding": lambda: rsa.classical_mds(_rdms(1)),
        "rsa.ModelSelection": lambda: rsa.model_selection(
            _rdms(6), instances=np.repeat([0, 1, 2], 2), layers=[0, 1] * 3, noise_levels=[0.0, 0.5], n_repeats=2,
            transforms=["rdm", "rgtm"], random_state=0),
        "encoding.NoiseCeiling": lambda: encoding.noise_ceiling(_repeats()),
        "encoding.LayerMapping": mapping,
        "connectome.Affinity": lambda: connectome.comovement_affinity(_traces(), window=30),
        "connectome.AffinityTensor": tensor,
        "connectome.NTFResult": lambda: connectome.ntf(np.abs(_rng(3).normal(size=(6, 5, 4))), 2, random_state=0),
        "connectome.RankEnsemble": lambda: connectome.rank_ensemble(np.abs(_rng(3).normal(size=(6, 5, 4))), [1, 2],
                                                                    n_restarts=2, random_state=0),
        "connectome.Communities": lambda: connectome.find_communities(np.abs(_rng(4).normal(size=(8, 8))) + np.eye(8),
                                                                      method="spectral"),
        "connectome.Motif": lambda: _connectome_fit().motifs_[0],
        "report.ComparisonReport": _report,
        "report.RDMComparison": _rdm_comparison,
    }


def _estimator_examples():
    """name -> (estimator, fit arguments); None for an abstract base that is never fitted."""
    from neurotk import clustering, connectome, datasets, encoding

    x = _rng(0).normal(size=(40, 6))
    y = x @ _rng(1).normal(size=(6, 3)) + 0.1 * _rng(2).normal(size=(40, 3))
    sim = _cell_types()
    digits = datasets.digits_network(0)  # trained once per process, cached
    maps = _rng(3).normal(size=(30, 2, 3, 3))
    return {
        "encoding.RidgeCV": (encoding.RidgeCV(alphas=[0.1, 1.0], cv=3), (x, y)),
        "encoding.BandedRidgeCV": (encoding.BandedRidgeCV(alphas=[0.1, 1.0], n_iter=3, cv=3), ([x[:, :3], x[:, 3:]], y)),
        "encoding.FactorizedReadout": (encoding.FactorizedReadout(n_iter=3, cv=3),
                                       (maps, maps.mean(axis=(2, 3)) @ _rng(4).normal(size=(2, 2)))),
        "clustering.LNModel": (clustering.LNModel(max_iter=5), (sim.stimuli, sim.responses)),
        "clustering.SharedFeatureModel": (clustering.SharedFeatureModel(network=digits, cv=2),
                                          (_rng(5).uniform(0, 16, size=(60, 8, 8)), _rng(6).poisson(2.0, size=(60, 4)))),
        "clustering.MDSClustering": (clustering.MDSClustering(n_clusters=2, n_restarts=1, n_steps=3, max_rounds=1),
                                     (clustering.LNModel(max_iter=5).fit(sim.stimuli, sim.responses),)),
        "clustering.KMeansClustering": (clustering.KMeansClustering(n_clusters=2), (sim.responses,)),
        "clustering.GaussianMixtureClustering": (clustering.GaussianMixtureClustering(n_clusters=2), (sim.responses,)),
        "connectome.DynamicConnectome": (connectome.DynamicConnectome(rank=2, window=30, n_restarts=1, max_iter=30,
                                                                      random_state=0),
                                         ([Recording(_traces(s)) for s in range(2)],)),
        "datasets.DigitsNetwork": (datasets.DigitsNetwork(n_epochs=1, hidden=(8, 8), n_channels=2),
                                   (_rng(7).uniform(0, 16, size=(50, 8, 8)), np.arange(50) % 10)),
    }


# --------------------------------------------------------------------------- discovery
def test_the_public_api_was_walked():
    assert "rsa.RDM" in RESULTS and "encoding.RidgeCV" in ESTIMATORS and len(EXPORTED) > 25


@pytest.mark.parametrize("name", RESULTS)
def test_every_result_derives_from_result(name):
    assert issubclass(EXPORTED[name], Result), f"{name} has to_frame/plot but does not derive from neurotk.results.Result"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_is_a_scikit_learn_estimator(name):
    assert issubclass(EXPORTED[name], BaseEstimator), f"{name} has fit() but is no scikit-learn BaseEstimator"


# --------------------------------------------------------------------------- results
@pytest.fixture(scope="module")
def result_examples():
    return _result_examples()


@pytest.mark.parametrize("name", RESULTS)
def test_result_contract(name, result_examples, tmp_path):
    assert name in result_examples, f"add an example of {name} to _result_examples() in {__file__}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = result_examples[name]()
    assert type(result) is EXPORTED[name]
    text = repr(result)
    assert text.startswith(type(result).__name__) or type(result).__name__ in text
    assert 0 < len(text) < 2000 and "object at 0x" not in text
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0 and frame.shape[1] > 0
    plt.close("all")
    drawn = result.plot()
    axes = np.ravel(np.asarray(drawn, dtype=object))
    assert axes.size > 0 and all(isinstance(a, matplotlib.axes.Axes) for a in axes)
    plt.close("all")
    if type(result).save is Result.save:  # the shared writer: the table and the figure, atomically
        table = result.save(tmp_path / "table.csv")
        back = pd.read_csv(table)
        assert back.shape == frame.shape and list(back.columns) == [str(c) for c in frame.columns]
        figure = result.save(tmp_path / "figure.png")
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with pytest.raises(ArgumentError, match="suffix"):
            result.save(tmp_path / "table.xlsx")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png", "table.csv"]  # no temporary left
    else:  # a result that saves a folder (the report)
        out = result.save(tmp_path / "out")
        assert any(out.iterdir())
    plt.close("all")


# --------------------------------------------------------------------------- estimators
@pytest.fixture(scope="module")
def estimator_examples():
    return _estimator_examples()


def _public_state(est):
    return {k for k in vars(est) if not k.startswith("_")}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimator_contract(name, estimator_examples):
    assert name in estimator_examples, f"add an example of {name} to _estimator_examples() in {__file__}"
    example = estimator_examples[name]
    if example is None:
        return
    est, fit_args = example
    assert type(est) is EXPORTED[name]
    params = est.get_params(deep=False)
    assert set(params) == set(inspect.signature(type(est).__init__).parameters) - {"self"}
    copy = clone(est)  # scikit-learn checks that every parameter round-trips unchanged
    assert copy is not est and copy.get_params(deep=False).keys() == params.keys()
    key = next(iter(params))
    assert est.set_params(**{key: params[key]}) is est
    with pytest.raises(ArgumentError, match="is not a parameter"):
        clone(est).set_params(not_a_parameter_xyz=1)
    for method, n_args in (("predict", 1), ("transform", 1), ("score_targets", 2)):
        if hasattr(est, method):
            with pytest.raises(NotFittedError, match="not fitted"):
                getattr(clone(est), method)(*fit_args[:n_args])
    before = _public_state(est)
    assert before == set(params), f"{name}.__init__ stores more than its parameters: {before - set(params)}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = est.fit(*fit_args)
    assert fitted is est
    learned = _public_state(est) - before
    assert learned, f"{name}.fit() set no attribute ending in _"
    assert all(k.endswith("_") for k in learned), f"{name}.fit() set {sorted(k for k in learned if not k.endswith('_'))}"
    assert est.get_params(deep=False).keys() == params.keys()  # fitting changed no hyper-parameter's name
