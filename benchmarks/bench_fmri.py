"""fMRI masking side by side with nilearn's NiftiMasker, in one process.

Masks a synthetic 4-D image (float32, written to a temporary ``.nii`` and ``.nii.gz``)
into a volumes x voxels array with ``neurotk.io.load_fmri(path, mask=mask_path)`` and with
``nilearn.maskers.NiftiMasker(mask_img=mask_path, standardize=False, detrend=False,
smoothing_fwhm=None).fit_transform(path)`` on the same files. The three sides (neurotk float32, neurotk float64, nilearn) are
interleaved (``_measure.compare``: median and range of wall time, CPU time), so all read
the file from the page cache. Prints and emits a section with the time ratios (nilearn /
neurotk: above 1, neurotk is faster), peak traced memory (numpy allocations seen by
``tracemalloc``; neurotk's memory map of an uncompressed file is page cache, not counted)
and the largest absolute difference. No 1-thread column: reading and decompressing use no
BLAS.

Needs nilearn (the ``bench`` extra; without it the script exits with status 77, skipped).
Run: ``python benchmarks/bench_fmri.py [--quick] [--repeat N]`` (``NEUROTK_BENCH_REPEAT``
sets the default of ``--repeat``, as ``run.py`` does).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import numpy as np
from _measure import (
    MIN_REPEAT,
    TIMING_HEADER,
    compare,
    emit,
    peak_mib,
    ratio,
    rst_table,
    timing_rows,
)

SKIPPED = 77  # the exit status run.py reads as "skipped"


def faster(*ratios: float) -> str:
    """Ratios (peer / neurotk time) in words: ``"2.1-3.4x faster than"``, ``"1.2x slower than"`` ..."""
    lo, hi = min(ratios), max(ratios)
    span = (lambda a, b: f"{a:.1f}x" if f"{a:.1f}" == f"{b:.1f}" else f"{a:.1f}-{b:.1f}x")
    if lo >= 1:
        return f"{span(lo, hi)} faster than"
    if hi < 1:
        return f"{span(1 / hi, 1 / lo)} slower than"
    return f"between {1 / lo:.1f}x slower and {hi:.1f}x faster than"


def paragraph(text: str) -> str:
    """``text`` wrapped at 100 characters (never inside a word or an inline literal's word)."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def make_image(shape, n_volumes, folder: Path, seed: int = 0):
    """A brain-like 4-D float32 image (ellipsoid with smooth baseline + noise) and its mask."""
    import nibabel as nib

    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"), axis=-1)
    radius = np.sqrt(((grid / [0.85, 0.9, 0.8]) ** 2).sum(-1))
    mask = radius <= 1.0
    baseline = np.where(mask, 1000.0 - 300.0 * radius, 5.0).astype(np.float32)
    data = np.empty(shape + (n_volumes,), dtype=np.float32)
    for t in range(n_volumes):  # one volume at a time keeps the generator's memory small
        data[..., t] = baseline + rng.standard_normal(shape, dtype=np.float32) * np.where(mask, 10.0, 1.0)
    affine = np.diag([3.0, 3.0, 3.5, 1.0])
    affine[:3, 3] = -np.asarray(shape) * [1.5, 1.5, 1.75]
    img = nib.Nifti1Image(data, affine)
    img.header.set_zooms((3.0, 3.0, 3.5, 2.0))
    img.header.set_xyzt_units("mm", "sec")
    paths = {"nii": folder / "bold.nii", "nii.gz": folder / "bold.nii.gz", "mask": folder / "mask.nii.gz"}
    nib.save(img, paths["nii"])
    nib.save(img, paths["nii.gz"])
    nib.save(nib.Nifti1Image(mask.astype(np.uint8), affine), paths["mask"])
    return paths, int(mask.sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("NEUROTK_BENCH_REPEAT", MIN_REPEAT)),
                        help=f"timed calls per side, interleaved (median kept; at least {MIN_REPEAT})")
    args = parser.parse_args(argv)

    try:
        from nilearn.maskers import NiftiMasker
    except ImportError:
        print("nilearn is not installed (pip install 'neurotk[bench]'); nothing to compare with: skipped")
        sys.exit(SKIPPED)

    from neurotk.io import load_fmri

    shape, n_volumes = ((32, 32, 20), 50) if args.quick else ((64, 64, 40), 200)
    rows, found = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        paths, n_voxels = make_image(shape, n_volumes, Path(tmp))
        mask = str(paths["mask"])
        for kind in ("nii", "nii.gz"):
            path = str(paths[kind])
            masker = NiftiMasker(mask_img=mask, standardize=False, detrend=False, smoothing_fwhm=None)

            def peer(masker=masker, path=path):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return np.asarray(masker.fit_transform(path))

            sides = {"neurotk float32": lambda path=path: load_fmri(path, mask=mask, dtype=np.float32).data,
                     "neurotk float64": lambda path=path: load_fmri(path, mask=mask, dtype=np.float64).data,
                     "nilearn NiftiMasker": peer}
            runs = compare(sides, repeat=args.repeat)
            ref = runs["nilearn NiftiMasker"].result
            for name, row in zip(runs, timing_rows(runs, reference="neurotk float32")):
                out = runs[name].result
                diff = float(np.abs(out - ref).max())
                rows.append([kind, *row[:4], out.dtype.name, f"{peak_mib(sides[name]):.0f}",
                             f"{diff:.1e}" if diff else "0"])
                found[kind, name] = (ratio(runs, "nilearn NiftiMasker", name), diff)
            for t in runs.values():
                t.result = None

    size = np.prod(shape) * n_volumes * 4 / 2**20
    repeats = max(args.repeat, MIN_REPEAT)
    worst = max(v[1] for v in found.values())
    text = "\n".join([
        "fMRI masking",
        "------------",
        "",
        paragraph(f"``python benchmarks/bench_fmri.py{' --quick' if args.quick else ''}``: a synthetic 4-D "
                  f"float32 image of {shape[0]} x {shape[1]} x {shape[2]} voxels x {n_volumes} volumes "
                  f"({size:.0f} MiB), written uncompressed (``.nii``) and compressed (``.nii.gz``), masked to "
                  f"{n_voxels:,} voxels by ``neurotk.io.load_fmri(path, mask=...)`` (float32 and float64 output) "
                  "and by nilearn's ``NiftiMasker(standardize=False, detrend=False).fit_transform``; the three "
                  f"sides interleaved, {repeats} timed calls each, all reading from the page cache. Ratio: the "
                  "side's time / neurotk float32's. Peak MiB: numpy memory traced by ``tracemalloc`` in one call "
                  "(neurotk's memory map of the ``.nii`` file is page cache and not counted); max diff: the "
                  "largest absolute difference from nilearn's array. No 1-thread column: reading and "
                  "decompressing use no BLAS."),
        "",
        rst_table(["file", *TIMING_HEADER[:4], "dtype", "peak MiB", "max diff"], rows),
        paragraph(f"neurotk is {faster(found['nii', 'neurotk float32'][0], found['nii', 'neurotk float64'][0])} "
                  f"nilearn on the uncompressed file and "
                  f"{faster(found['nii.gz', 'neurotk float32'][0], found['nii.gz', 'neurotk float64'][0])} "
                  "it on the compressed one (float32 and float64 output); "
                  + ("the arrays agree exactly." if worst == 0 else f"the arrays agree to within {worst:.1e}.")),
    ])
    emit(None, text)
    return rows


if __name__ == "__main__":
    main()
