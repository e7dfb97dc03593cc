"""Build the real datasets that ship inside neurotk (``neurotk/datasets/data/``).

Not part of the package and never imported by it: run it by hand when the reduced files
must be rebuilt from the originals::

    python tools/build_datasets.py                       # reads ../shared/realdata
    python tools/build_datasets.py --source /path/to/realdata --out neurotk/datasets/data

It reads the original files (opened read-only, never modified) and writes, for
:mod:`neurotk.datasets.packaged`:

``rsa92/rsa92.npz``
    The 92-object data of Kriegeskorte et al. 2008 (rsagroup/rsatoolbox,
    ``demos/92imageData``): the hIT and mIT RDMs of ``RDMs_mIT_hIT_fig1``, the 8 hIT
    subject x session RDMs of ``92_brainRDMs.mat`` and the 8 model RDMs of
    ``92_modelRDMs.mat``, as condensed upper triangles (scipy ``squareform`` order) in
    their stored dtypes (so the values are exactly the originals); the 92 images
    downsampled from 175 x 175 to 64 x 64 by exact area averaging (below); the
    ``categoryVectors`` with their ``categoryLabels`` and the per-image ``category``,
    ``human``, ``face``, ``animal``, ``natural`` fields of ``stimuli_92objs``.
``studyforrest_localizer/sub-02_task-oneback_run-1_bold.nii.gz`` (+ ``_events.tsv``, ``_bold.json``)
    A block of the studyforrest localizer run (Sengupta et al. 2016): voxels
    ``CROP`` (i, j, k; the posterior, inferior part of the volume, which holds the
    ventral occipito-temporal cortex) of all 156 volumes, the original uint16 values
    and header, the affine moved to the block's first voxel; the events table
    unchanged; a sidecar with ``RepetitionTime`` 2.0 s (BIDS), which the original
    (converted from DICOM without one) lacks.
``suite2p_excerpt/suite2p_excerpt.npz``
    The ROIs that suite2p accepted as cells (``iscell[:, 0] == 1``) of the pynapple
    suite2p test folder: their rows of ``F.npy``, ``Fneu.npy`` and ``spks.npy``
    (float32, unchanged), their ROI indices, ``iscell`` rows and the folder's ROI and
    frame counts.

and copies each source's licence file beside its data, with a ``README.txt`` giving the
source, the citation, the licence and what was reduced. The zip and gzip containers are
written with fixed timestamps, so a rebuild from the same originals gives the same bytes.

Area averaging (``area_downsample``): output pixel ``o`` of ``m`` covers the input
interval ``[o n / m, (o + 1) n / m)``; its value is the mean of the input pixels weighted
by their overlap with that interval, rounded to the nearest integer (the weighted sums are
multiples of ``1 / n**2`` with ``n = 175`` odd, so no value lies exactly halfway).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = (ROOT / ".." / "shared" / "realdata").resolve()
DEFAULT_OUT = ROOT / "neurotk" / "datasets" / "data"

#: The shipped block of the localizer run: (start, stop) voxel indices along i, j, k.
CROP = ((14, 66), (42, 80), (2, 12))
#: Side of the shipped 92-object images.
IMAGE_SIDE = 64
#: A fixed timestamp for the containers (the zip format's earliest date).
_EPOCH = (1980, 1, 1, 0, 0, 0)


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of exact area averaging; each row sums to 1."""
    # in units of 1 / (n_in * n_out): output o covers [o n_in, (o + 1) n_in), input i covers [i n_out, (i + 1) n_out)
    o = np.arange(n_out)[:, None]
    i = np.arange(n_in)[None, :]
    overlap = np.minimum((o + 1) * n_in, (i + 1) * n_out) - np.maximum(o * n_in, i * n_out)
    return np.clip(overlap, 0, None) / n_in


def area_downsample(images: np.ndarray, side: int) -> np.ndarray:
    """(n, H, W, C) uint8 -> (n, side, side, C) uint8 by exact area averaging."""
    wy = area_weights(images.shape[1], side)
    wx = area_weights(images.shape[2], side)
    out = np.einsum("oh,nhwc,pw->nopc", wy, images.astype(np.float64), wx, optimize=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def write_npz(path: Path, arrays: dict) -> None:
    """np.savez_compressed with fixed timestamps (same input, same bytes); no object arrays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, value in arrays.items():
            arr = np.asarray(value)
            if arr.dtype == object:
                raise TypeError(f"{name}: object array; only numeric and fixed-width text arrays are shipped")
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr, order="C"), allow_pickle=False)
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    tmp.replace(path)


def condensed(matrix) -> np.ndarray:
    """Upper triangle of a square RDM, row by row (scipy squareform order), in its dtype."""
    m = np.asarray(matrix)
    i, j = np.triu_indices(m.shape[0], 1)
    return m[i, j]


#: The README.txt written beside each dataset: what it is, its source, citation, licence and reduction.
READMES = {
    "rsa92": """The 92-object data of Kriegeskorte et al. (2008), for neurotk.datasets.load_92_objects.

Source: github.com/rsagroup/rsatoolbox, demos/92imageData
(Kriegeskorte_Neuron2008_supplementalData.mat, 92_brainRDMs.mat, 92_modelRDMs.mat).
Licence: MIT (LICENSE_rsatoolbox_MIT.txt).
Cite: Kriegeskorte N, Mur M, Ruff DA, Kiani R, Bodurka J, Esteky H, Tanaka K, Bandettini PA
(2008). Matching categorical object representations in inferior temporal cortex of man and
monkey. Neuron 60(6):1126-1141. doi:10.1016/j.neuron.2008.10.043
Reduced: the RDMs are the original values (condensed upper triangles); the 92 images are
area-averaged from 175 x 175 to 64 x 64 RGB (tools/build_datasets.py in neurotk's source).
""",
    "studyforrest_localizer": """A block of one studyforrest visual category localizer run, for
neurotk.datasets.load_category_localizer.

Source: github.com/datalad/example-dicom-functional (studyforrest, sub-02, run 1).
Licence: PDDL, public domain (LICENSE_PDDL.txt).
Cite: Sengupta A, Kaule FR, Guntupalli JS, Hoffmann MB, Haeusler C, Stadler J, Hanke M
(2016). A studyforrest extension, retinotopic mapping and localization of higher visual
areas. Scientific Data 3:160093. doi:10.1038/sdata.2016.93
Reduced: voxels i {i0}-{i1}, j {j0}-{j1}, k {k0}-{k1} of the 80 x 80 x 35 grid (all 156 volumes),
original uint16 values, the affine moved to the block's corner; events unchanged; the
sidecar (RepetitionTime 2.0 s) added.
""",
    "suite2p_excerpt": """The accepted cells of a suite2p test folder, for neurotk.datasets.load_calcium_excerpt.

Source: github.com/pynapple-org/pynapple, tests/nwbfilestest/suite2p (plane0).
Licence: MIT (LICENSE_pynapple_MIT.txt).
Cite: Viejo G et al. (2023). Pynapple, a toolbox for data analysis in neuroscience. eLife
12:RP85786; suite2p: Pachitariu M et al. (2017), bioRxiv 061507.
Reduced: the rows of F.npy, Fneu.npy, spks.npy (float32, unchanged) and iscell.npy of the
ROIs with iscell[:, 0] == 1, with their ROI indices. The frame rate is not recorded (suite2p
keeps it in ops.npy, which the source does not include).
""",
}


def write_readme(out: Path, folder: str) -> None:
    (i0, i1), (j0, j1), (k0, k1) = CROP
    text = READMES[folder].format(i0=i0, i1=i1 - 1, j0=j0, j1=j1 - 1, k0=k0, k1=k1 - 1)
    (out / folder / "README.txt").write_text(text, encoding="utf-8")


def build_rsa92(source: Path, out: Path) -> Path:
    import scipy.io

    folder = source / "rsa92"
    load = {"squeeze_me": True, "struct_as_record": False}
    supp = scipy.io.loadmat(str(folder / "Kriegeskorte_Neuron2008_supplementalData.mat"), **load)
    brain = scipy.io.loadmat(str(folder / "92_brainRDMs.mat"), **load)["RDMs"]  # (4 subjects, 2 sessions)
    models = scipy.io.loadmat(str(folder / "92_modelRDMs.mat"), **load)["Models"]

    arrays = {}
    fig1 = {s.name: np.asarray(s.RDM) for s in supp["RDMs_mIT_hIT_fig1"]}
    arrays["hIT"] = fig1["hITvisStim_316vx"]
    arrays["mIT"] = fig1["mIT_674neurons"]
    arrays["fig1_names"] = np.array(["hITvisStim_316vx", "mIT_674neurons"])
    arrays["model_names"] = np.array([str(m.name) for m in models])
    for m in models:
        arrays[f"model_{m.name}"] = condensed(m.RDM)
    arrays["subject_names"] = np.array([str(brain[s, r].name) for s in range(brain.shape[0])
                                        for r in range(brain.shape[1])])
    arrays["subjects"] = np.vstack([condensed(brain[s, r].RDM) for s in range(brain.shape[0])
                                    for r in range(brain.shape[1])])

    stimuli = supp["stimuli_92objs"]
    images = np.stack([np.asarray(s.image) for s in stimuli])
    arrays["images"] = area_downsample(images, IMAGE_SIDE)
    arrays["original_image_shape"] = np.array(images.shape[1:])
    arrays["category"] = np.array([str(s.category) for s in stimuli])
    for flag in ("human", "face", "animal", "natural"):
        arrays[f"flag_{flag}"] = np.array([int(getattr(s, flag)) for s in stimuli], dtype=np.uint8)
    arrays["category_vectors"] = np.asarray(supp["categoryVectors"], dtype=np.uint8)
    arrays["category_labels"] = np.array([str(x) for x in supp["categoryLabels"]])

    path = out / "rsa92" / "rsa92.npz"
    write_npz(path, arrays)
    shutil.copyfile(folder / "LICENSE_rsatoolbox_MIT.txt", out / "rsa92" / "LICENSE_rsatoolbox_MIT.txt")
    return path


def build_localizer(source: Path, out: Path) -> Path:
    import nibabel as nib

    folder = source / "studyforrest_localizer"
    stem = "sub-02_task-oneback_run-1"
    img = nib.load(str(folder / f"{stem}_bold.nii.gz"))
    (i0, i1), (j0, j1), (k0, k1) = CROP
    block = np.asarray(img.dataobj[i0:i1, j0:j1, k0:k1, :])  # the stored uint16 values, unscaled
    if block.dtype != img.get_data_dtype():
        raise TypeError(f"expected the stored dtype {img.get_data_dtype()}, read {block.dtype}")
    header = img.header.copy()
    affine = img.affine.copy()
    affine[:3, 3] = img.affine[:3, :3] @ np.array([i0, j0, k0]) + img.affine[:3, 3]
    cropped = nib.Nifti1Image(block, affine, header)
    cropped.set_data_dtype(img.get_data_dtype())
    cropped.header.set_qform(affine, int(img.header["qform_code"]))
    cropped.header.set_sform(affine, int(img.header["sform_code"]))

    target = out / "studyforrest_localizer"
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{stem}_bold.nii.gz"
    raw = cropped.to_bytes()  # .nii bytes (header + data), compressed here with a fixed mtime
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    tmp.replace(path)
    shutil.copyfile(folder / f"{stem}_events.tsv", target / f"{stem}_events.tsv")
    sidecar = {"RepetitionTime": 2.0, "TaskName": "oneback",
               "neurotkCrop": {"i": list(CROP[0]), "j": list(CROP[1]), "k": list(CROP[2]),
                               "original_shape": [int(s) for s in img.shape]}}
    (target / f"{stem}_bold.json").write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")
    shutil.copyfile(folder / "LICENSE_PDDL.txt", target / "LICENSE_PDDL.txt")
    return path


def build_calcium(source: Path, out: Path) -> Path:
    folder = source / "suite2p_pynapple"
    f = np.load(folder / "F.npy", allow_pickle=False)
    fneu = np.load(folder / "Fneu.npy", allow_pickle=False)
    spks = np.load(folder / "spks.npy", allow_pickle=False)
    iscell = np.load(folder / "iscell.npy", allow_pickle=False)
    keep = np.flatnonzero(iscell[:, 0] > 0.5)
    arrays = {"F": f[keep], "Fneu": fneu[keep], "spks": spks[keep], "roi": keep.astype(np.int64),
              "iscell": iscell[keep], "n_rois": np.array(f.shape[0]), "n_frames": np.array(f.shape[1])}
    path = out / "suite2p_excerpt" / "suite2p_excerpt.npz"
    write_npz(path, arrays)
    shutil.copyfile(folder / "LICENSE_pynapple_MIT.txt", out / "suite2p_excerpt" / "LICENSE_pynapple_MIT.txt")
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the realdata folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="neurotk/datasets/data")
    args = parser.parse_args(argv)
    for folder, build in (("rsa92", build_rsa92), ("studyforrest_localizer", build_localizer),
                          ("suite2p_excerpt", build_calcium)):
        path = build(args.source, args.out)
        write_readme(args.out, folder)
        print(f"{path.relative_to(args.out)}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
