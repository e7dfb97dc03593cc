"""fMRI masking side by side with nilearn's NiftiMasker, in one process.

Masks a synthetic 4-D image (float32, written to a temporary ``.nii`` and ``.nii.gz``)
into a volumes x voxels array with ``neurotk.io.load_fmri(path, mask=mask_path)`` and with
``nilearn.maskers.NiftiMasker(mask_img=mask_path, standardize=False, detrend=False,
smoothing_fwhm=None).fit_transform(path)`` on the same files. Prints time ratios
(nilearn / neurotk, > 1 means neurotk is faster), peak traced memory (numpy allocations
seen by ``tracemalloc``; neurotk's memory map of an uncompressed file is page cache, not
counted) and the largest absolute difference. Both read the file from the page cache
(best of three calls).

Needs nilearn (the ``bench`` extra). Run: ``python benchmarks/bench_fmri.py [--quick]``
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
from _measure import measure


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
    args = parser.parse_args(argv)

    try:
        from nilearn.maskers import NiftiMasker
    except ImportError:
        print("nilearn is not installed (pip install 'neurotk[bench]'); nothing to compare with: skipped")
        return []

    from neurotk.io import load_fmri

    shape, n_volumes = ((32, 32, 20), 50) if args.quick else ((64, 64, 40), 200)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths, n_voxels = make_image(shape, n_volumes, Path(tmp))
        for kind in ("nii", "nii.gz"):
            path = str(paths[kind])
            masker = NiftiMasker(mask_img=str(paths["mask"]), standardize=False, detrend=False,
                                 smoothing_fwhm=None)

            def peer(masker=masker, path=path):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return np.asarray(masker.fit_transform(path))

            t_p, m_p, ref = measure(peer)
            for dtype in (np.float32, np.float64):
                def ours_fn(path=path, dtype=dtype):
                    return load_fmri(path, mask=str(paths["mask"]), dtype=dtype).data

                t_n, m_n, ours = measure(ours_fn)
                diff = float(np.abs(ours - ref).max())
                rows.append((kind, np.dtype(dtype).name, ref.dtype.name, t_n, t_p, m_n, m_p, diff))

    size = np.prod(shape) * n_volumes * 4 / 2**20
    print(f"image: {shape} x {n_volumes} volumes float32 ({size:.0f} MiB), mask {n_voxels} voxels")
    print(f"{'file':7} {'neurotk dtype':>13} {'nilearn dtype':>13} {'neurotk s':>10} {'nilearn s':>10} "
          f"{'ratio':>7} {'neurotk MiB':>12} {'nilearn MiB':>12} {'max |diff|':>11}")
    for kind, ours_dtype, peer_dtype, t_n, t_p, m_n, m_p, diff in rows:
        print(f"{kind:7} {ours_dtype:>13} {peer_dtype:>13} {t_n:10.4f} {t_p:10.4f} {t_p / t_n:7.2f} "
              f"{m_n:12.1f} {m_p:12.1f} {diff:11.2e}")
    return rows


if __name__ == "__main__":
    main()
