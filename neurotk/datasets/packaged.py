"""Small real datasets shipped inside neurotk, each with its licence and citation.

Three reduced copies of public data, in ``neurotk/datasets/data/`` (written from the
originals by ``tools/build_datasets.py`` in the source tree; the licence file of each
source lies beside its data):

- :func:`load_92_objects`: the 92-object RDMs and images of Kriegeskorte et al. (2008),
  human and monkey inferior temporal cortex (``data/rsa92/``, MIT, from the RSA toolbox);
- :func:`load_category_localizer`: a block of one studyforrest visual category localizer
  run, BOLD fMRI with its events (``data/studyforrest_localizer/``, public domain, PDDL);
- :func:`load_calcium_excerpt`: the 20 accepted cells of a suite2p two-photon excerpt
  (``data/suite2p_excerpt/``, MIT, pynapple's test data).

Nothing is downloaded. The RDMs, the voxels and the traces are the original values; only
the images are reduced (downsampled), and the run is cut to a block of voxels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float
from ..errors import DataFormatError
from ..recording import Recording
from ..rsa.rdms import RDM
from ._simulation import summary_repr

__all__ = ["Objects92", "load_92_objects", "load_calcium_excerpt", "load_category_localizer"]

DATA = Path(__file__).resolve().parent / "data"

CITATION_92 = (
    "Kriegeskorte N, Mur M, Ruff DA, Kiani R, Bodurka J, Esteky H, Tanaka K, Bandettini PA (2008). "
    "Matching categorical object representations in inferior temporal cortex of man and monkey. "
    "Neuron 60(6):1126-1141. doi:10.1016/j.neuron.2008.10.043"
)
CITATION_LOCALIZER = (
    "Sengupta A, Kaule FR, Guntupalli JS, Hoffmann MB, Haeusler C, Stadler J, Hanke M (2016). "
    "A studyforrest extension, retinotopic mapping and localization of higher visual areas. "
    "Scientific Data 3:160093. doi:10.1038/sdata.2016.93"
)
CITATION_CALCIUM = (
    "Viejo G, Levenstein D, Skromne Carrasco S, Mehrotra D, Mahallati S, Vite GR, Denny H, Sjulson L, "
    "Battaglia FP, Peyrache A (2023). Pynapple, a toolbox for data analysis in neuroscience. eLife "
    "12:RP85786 (test data); suite2p: Pachitariu M et al. (2017), bioRxiv 061507"
)

#: The BIDS name of the shipped localizer run.
_LOCALIZER_STEM = "sub-02_task-oneback_run-1"
#: categories column <- categoryVectors label of the .mat.
_CATEGORY_COLUMNS = {"animate": "animate", "inanimate": "inanim", "human": "human",
                     "nonhuman": "nonhumani", "face": "face", "body": "body",
                     "natural_object": "natObj", "artificial": "artiObj", "monkey_ape": "monkeyape"}


def _data_file(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.is_file():
        raise DataFormatError(
            f"{path}: missing from the installed package; expected neurotk's packaged data file "
            f"(reinstall neurotk, or rebuild the data with tools/build_datasets.py in a source checkout)"
        )
    return path


def _licence_text(folder: str) -> str:
    files = sorted((DATA / folder).glob("LICENSE*"))
    if not files:
        raise DataFormatError(f"{DATA / folder}: no LICENSE file; expected the source's licence beside its data")
    return files[0].read_text(encoding="utf-8")


def _read_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@dataclass(repr=False)
class Objects92:
    """The 92-object data of Kriegeskorte et al. (2008): RDMs of human and monkey IT, models, images.

    Returned by :func:`load_92_objects`; all RDMs are over the same 92 conditions, the
    images in their original order.

    Attributes
    ----------
    rdms : dict of str -> RDM
        ``"hIT"`` (human IT, 316 voxels, fMRI; the RDM of the paper's Figure 1, which
        is the mean of the 8 RDMs in ``subjects``, so it is not independent of them: use
        ``subjects`` for noise ceilings), ``"mIT"`` (monkey IT, 674 neurons, from Kiani
        et al. 2007),
        and the 8 model RDMs of ``92_modelRDMs.mat`` under their names in the file:
        ``"animacy"``, ``"FaceBodyManmadeNatobj"``, ``"monkeyIT"``, ``"EVA"``, ``"HMAX"``,
        ``"V1"``, ``"Silhouette"``, ``"RADON"``. Each holds one RDM.
    subjects : RDM
        The 8 human IT RDMs of 4 subjects x 2 sessions (``92_brainRDMs.mat``), in the
        file's order (subject BE session 1, BE 2, KO 1 ...); ``descriptors`` columns
        ``name`` (as in the file), ``subject`` and ``session``.
    images : ndarray of uint8, shape (92, 64, 64, 3)
        The stimuli, RGB, area-averaged from 175 x 175 (see :func:`load_92_objects`).
    categories : DataFrame
        One row per image, in order: ``condition``, ``category`` (human bodypart, human
        face, nonhuman bodypart, nonhuman face, natural inanimate, artificial
        inanimate), and the bool columns ``animate``, ``inanimate``, ``human``,
        ``nonhuman`` (nonhuman animate), ``face``, ``body``, ``natural`` (not man-made:
        the animate images and the natural objects), ``natural_object``, ``artificial``
        and ``monkey_ape``.
    conditions : ndarray of int
        The condition ids of every RDM above and the row of each image: 0 .. 91.
    meta : dict
        ``citation``, ``licence`` (the text), ``source``, ``files``, ``image_method``.

    Examples
    --------
    >>> from neurotk.datasets import load_92_objects
    >>> data = load_92_objects()
    >>> data
    Objects92(n_conditions=92, rdms=[hIT, mIT, animacy, FaceBodyManmadeNatobj, monkeyIT, EVA, HMAX, V1, Silhouette, RADON], n_subject_rdms=8, images=(92, 64, 64, 3))
    """

    rdms: dict
    subjects: RDM
    images: np.ndarray
    categories: pd.DataFrame
    conditions: np.ndarray
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return summary_repr(self, {"n_conditions": len(self.conditions),
                                   "rdms": "[" + ", ".join(self.rdms) + "]",
                                   "n_subject_rdms": self.subjects.n_rdms, "images": self.images.shape})


def load_92_objects() -> Objects92:
    """The 92 object images and their RDMs in human and monkey IT (Kriegeskorte et al. 2008).

    The classic comparison of human fMRI (inferior temporal cortex, 316 voxels) and
    monkey electrophysiology (IT, 674 neurons; Kiani et al. 2007) on the same 92 images
    of faces, bodies and objects, with the model RDMs of the RSA toolbox's demo. The
    RDMs are the original values (the paper's dissimilarity is the correlation distance
    ``1 - r``) in the original condition order.

    Source: ``demos/92imageData`` of the RSA toolbox (github.com/rsagroup/rsatoolbox;
    ``Kriegeskorte_Neuron2008_supplementalData.mat``, ``92_brainRDMs.mat``,
    ``92_modelRDMs.mat``). Licence: MIT (the toolbox's licence, shipped as
    ``data/rsa92/LICENSE_rsatoolbox_MIT.txt``). Cite: Kriegeskorte N, Mur M, Ruff DA,
    Kiani R, Bodurka J, Esteky H, Tanaka K, Bandettini PA (2008), Matching categorical
    object representations in inferior temporal cortex of man and monkey, Neuron
    60(6):1126-1141.

    What is reduced: the images, from 175 x 175 to 64 x 64 RGB by exact area averaging
    (each output pixel is the mean of the input pixels weighted by how much of them it
    covers, rounded to the nearest integer: the box filter of OpenCV's ``INTER_AREA``),
    so the package stays small; :func:`neurotk.datasets.pretrained_onet` resizes them to
    its 48 x 48 input. The random splits of the file's ``categoryVectors``
    (``rand24``, ``rand48``, ``other48``) are not shipped.

    Returns
    -------
    Objects92
        ``.rdms`` (name -> RDM), ``.subjects`` (an RDM stack of 8), ``.images``,
        ``.categories``, ``.conditions``, ``.meta``.

    Raises
    ------
    DataFormatError
        The packaged file is missing (a broken install).

    Examples
    --------
    >>> from neurotk import rsa
    >>> from neurotk.datasets import load_92_objects
    >>> data = load_92_objects()
    >>> data.images.shape, data.images.dtype.name, int(data.categories["face"].sum())
    ((92, 64, 64, 3), 'uint8', 24)
    >>> tau = rsa.compare(data.rdms["hIT"], data.rdms["mIT"], method="kendall")
    >>> round(float(tau), 3)
    0.304
    """
    path = _data_file("rsa92", "rsa92.npz")
    z = _read_npz(path)
    conditions = np.arange(z["images"].shape[0])
    files = {"hIT": "Kriegeskorte_Neuron2008_supplementalData.mat", "mIT": "Kriegeskorte_Neuron2008_supplementalData.mat"}
    original = {"hIT": "RDMs_mIT_hIT_fig1: hITvisStim_316vx", "mIT": "RDMs_mIT_hIT_fig1: mIT_674neurons"}
    vectors = {"hIT": z["hIT"], "mIT": z["mIT"]}
    for name in z["model_names"].tolist():
        vectors[name] = z[f"model_{name}"]
        files[name] = "92_modelRDMs.mat"
        original[name] = f"Models: {name}"
    rdms = {
        name: RDM(v, conditions, [name], None,
                  {"dataset": "Kriegeskorte et al. 2008 (92 objects)", "file": files[name],
                   "variable": original[name], "citation": CITATION_92},
                  pd.DataFrame({"name": [name], "file": [files[name]], "variable": [original[name]]}))
        for name, v in vectors.items()
    }
    names = z["subject_names"].tolist()  # "hIT | BE | Session: 1"
    parts = [[p.strip() for p in n.split("|")] for n in names]
    desc = pd.DataFrame({"name": names, "subject": [p[1] for p in parts],
                         "session": [int(p[2].split(":")[1]) for p in parts]})
    subjects = RDM(z["subjects"], conditions, names, None,
                   {"dataset": "Kriegeskorte et al. 2008 (92 objects)", "file": "92_brainRDMs.mat",
                    "variable": "RDMs (4 subjects x 2 sessions)", "citation": CITATION_92}, desc)

    vec = {label: z["category_vectors"][:, k].astype(bool) for k, label in enumerate(z["category_labels"].tolist())}
    categories = pd.DataFrame({"condition": conditions, "category": z["category"].tolist()})
    for column, label in _CATEGORY_COLUMNS.items():
        categories[column] = vec[label]
    categories["natural"] = z["flag_natural"].astype(bool)
    categories = categories[["condition", "category", "animate", "inanimate", "human", "nonhuman", "face", "body",
                             "natural", "natural_object", "artificial", "monkey_ape"]]
    meta = {
        "citation": CITATION_92, "licence": _licence_text("rsa92"), "licence_name": "MIT",
        "source": "github.com/rsagroup/rsatoolbox, demos/92imageData",
        "files": sorted(set(files.values()) | {"92_brainRDMs.mat"}), "path": str(path),
        "image_method": (f"area average from {tuple(int(s) for s in z['original_image_shape'])} to "
                         f"{z['images'].shape[1:]}, rounded to uint8"),
    }
    return Objects92(rdms, subjects, z["images"], categories, conditions, meta)


def load_category_localizer(mask=None, dtype=np.float64) -> tuple[Recording, pd.DataFrame]:
    """A block of a real visual category localizer run (studyforrest, BOLD fMRI), with its events.

    One run of subject 02 of the studyforrest extension's localizer of higher visual
    areas: a one-back task on blocks of faces, bodies, houses, objects, scenes and
    scrambled images (192 events, 32 per category, about 0.9 s each, blocks of 16), 156
    volumes at TR 2.0 s, 3 x 3 x 3.3 mm voxels. The face > house contrast of
    :func:`neurotk.encoding.glm` finds face-selective clusters in it (see the
    tutorial "A real fMRI localizer").

    Source: github.com/datalad/example-dicom-functional (converted from DICOM without
    reorientation). Licence: PDDL, public domain (``data/studyforrest_localizer/
    LICENSE_PDDL.txt``). Cite: Sengupta A, Kaule FR, Guntupalli JS, Hoffmann MB,
    Haeusler C, Stadler J, Hanke M (2016), A studyforrest extension, retinotopic mapping
    and localization of higher visual areas, Scientific Data 3:160093.

    What is reduced: the full run (80 x 80 x 35 voxels, 26 MB) is cut to the block
    ``i`` 14-65, ``j`` 42-79, ``k`` 2-11 of the original voxel grid (52 x 38 x 10
    voxels; the image's axes point left, posterior and superior, so this is the
    posterior, inferior part of the brain, which holds the ventral occipito-temporal
    cortex), 3.6 MB. The voxels keep their original uint16 values and the header its
    affine, moved to the block's corner, so world coordinates are unchanged. The run
    has no anatomical scan: show maps on its mean functional image.

    The files are a BIDS run (``..._bold.nii.gz``, ``..._events.tsv`` and a
    ``..._bold.json`` sidecar with ``RepetitionTime``), read with
    :func:`neurotk.io.read_bids_run`; ``recording.meta["path"]`` is the image, for
    nibabel or nilearn.

    Parameters
    ----------
    mask : str, Path, nibabel image or bool array, optional
        Voxels to keep, passed to :func:`neurotk.io.read_bids_run` (default: every voxel
        that varies over time).
    dtype : {np.float64, np.float32}, default np.float64
        Precision of the data.

    Returns
    -------
    recording : Recording
        156 volumes x voxels, as from :func:`neurotk.io.read_bids_run` (``units``
        ``i``, ``j``, ``k`` index the block; ``meta["tr"]`` is 2.0), with ``meta``
        ``citation``, ``licence``, ``crop`` (the block's start and stop indices in the
        original grid) and ``original_shape``.
    events : DataFrame
        ``onset``, ``duration`` (s), ``trial_type`` and ``stim_file``, one row per image.

    Examples
    --------
    >>> from neurotk.datasets import load_category_localizer
    >>> rec, events = load_category_localizer()
    >>> rec.n_samples, rec.meta["tr"], sorted(events["trial_type"].unique())[:3]
    (156, 2.0, ['body', 'face', 'house'])
    """
    from ..io.bids import read_bids_run

    bold = _data_file("studyforrest_localizer", f"{_LOCALIZER_STEM}_bold.nii.gz")
    rec, events = read_bids_run(bold, mask=mask, dtype=dtype)
    meta = rec.meta
    crop = meta["sidecar"].get("neurotkCrop", {})
    meta.update({
        "dataset": "studyforrest visual category localizer (sub-02, run 1), a block of voxels",
        "citation": CITATION_LOCALIZER, "licence": _licence_text("studyforrest_localizer"),
        "licence_name": "PDDL (public domain)", "source": "github.com/datalad/example-dicom-functional",
        "crop": {axis: tuple(crop[axis]) for axis in ("i", "j", "k") if axis in crop},
        "original_shape": tuple(crop.get("original_shape", ())),
    })
    return rec.replace(meta=meta), events


def load_calcium_excerpt(signal: str = "F", neuropil: float = 0.7) -> Recording:
    """The 20 accepted cells of a real suite2p two-photon excerpt: frames x cells.

    pynapple's suite2p test folder (one plane, 219 ROIs x 2000 frames, of which suite2p's
    classifier accepted 20 as cells, ``iscell[:, 0] == 1``), reduced to those 20 cells.
    By default the traces are suite2p's neuropil-corrected fluorescence ``F - 0.7 *
    Fneu``, what suite2p deconvolves and what :func:`neurotk.io.read_suite2p` returns
    for the original folder.

    The frame rate is **not recorded**: suite2p keeps it only in ``ops.npy``, which the
    excerpt does not include. ``samples`` therefore has the frame index only,
    ``meta["sampling_rate"]`` is None and ``meta["sampling_rate_source"]`` says why;
    state any rate you assume. With 20 cells and 2000 frames, population analyses
    (affinities, tensor factorisations) show what the method does on real traces, not
    results about the brain.

    Source: github.com/pynapple-org/pynapple, ``tests/nwbfilestest/suite2p``. Licence:
    MIT (``data/suite2p_excerpt/LICENSE_pynapple_MIT.txt``). Cite: Viejo G et al. (2023),
    Pynapple, a toolbox for data analysis in neuroscience, eLife 12:RP85786; suite2p:
    Pachitariu M et al. (2017), bioRxiv 061507.

    Parameters
    ----------
    signal : {"F", "spks"}, default "F"
        ``"F"``: ``F - neuropil * Fneu``; ``"spks"``: suite2p's deconvolved activity.
    neuropil : float, default 0.7
        suite2p's neuropil coefficient (``neucoeff``); 0 gives the raw ``F``.

    Returns
    -------
    Recording
        (2000, 20), float64, as :func:`neurotk.io.read_suite2p` reads the original folder:
        ``samples`` ``frame``; ``units`` ``unit_id`` and ``roi`` (the ROI's index among
        the 219), ``plane``, ``is_cell``, ``cell_probability``, ``source``; ``meta``
        ``n_frames``, ``n_rois``, ``sampling_rate`` (None), ``sampling_rate_source``,
        ``caveat``, ``citation``, ``licence`` ...

    Examples
    --------
    >>> from neurotk.datasets import load_calcium_excerpt
    >>> rec = load_calcium_excerpt()
    >>> rec.shape, rec.meta["n_frames"], rec.meta["sampling_rate"]
    ((2000, 20), 2000, None)
    """
    signal = check_choice(signal, "signal", ("F", "spks"))
    neuropil = check_float(neuropil, "neuropil", low=0)
    path = _data_file("suite2p_excerpt", "suite2p_excerpt.npz")
    z = _read_npz(path)
    f = z["F"].astype(np.float64)
    if signal == "spks":
        x = z["spks"].astype(np.float64)
        measure = "deconvolved activity (a.u.)"
    elif neuropil > 0:
        x = f - neuropil * z["Fneu"].astype(np.float64)
        measure = f"F - {neuropil:g} * Fneu (a.u.)"
    else:
        x = f
        measure = "F (a.u.)"
    roi = z["roi"]
    units = pd.DataFrame({"unit_id": roi, "roi": roi, "plane": 0, "is_cell": z["iscell"][:, 0] > 0.5,
                          "cell_probability": z["iscell"][:, 1].astype(np.float64), "source": "brain"})
    n_frames = int(z["n_frames"])
    meta = {
        "dataset": "suite2p excerpt (pynapple test data), the accepted cells",
        "path": str(path), "source": "suite2p", "signal": signal,
        "neuropil": None if signal == "spks" else neuropil,
        "sampling_rate": None,
        "sampling_rate_source": ("unknown: not recorded (suite2p keeps the frame rate only in ops.npy, which "
                                 "this excerpt does not include)"),
        "caveat": "the frame rate is not recorded; times are frame indices",
        "planes": [0], "n_rois": int(z["n_rois"]), "n_frames": n_frames, "cells_only": True,
        "units_of_measure": measure, "citation": CITATION_CALCIUM, "licence": _licence_text("suite2p_excerpt"),
        "licence_name": "MIT", "origin": "github.com/pynapple-org/pynapple, tests/nwbfilestest/suite2p",
    }
    return Recording(np.ascontiguousarray(x.T), pd.DataFrame({"frame": np.arange(n_frames)}), units, meta,
                     copy=False)
