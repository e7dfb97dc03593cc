"""RDMs saved by other tools -> a :class:`neurotk.rsa.RDM` stack.

:func:`read_rdms` reads

- MATLAB ``.mat`` files (v4 to v7.2) through :func:`scipy.io.loadmat` with
  ``squeeze_me=True``: scipy parses the file's numbers, text and structs and evaluates
  nothing (MATLAB objects and function handles are refused), and no pickle is involved;
- numpy ``.npy`` / ``.npz`` files, with ``allow_pickle=False``.

Inside them it finds square dissimilarity matrices, condensed vectors (MATLAB's
``squareform`` order, which is scipy's: the lower triangle column by column equals the
upper triangle row by row) and the MATLAB RSA toolbox's struct arrays with ``.RDM`` and
``.name`` fields (Nili et al. 2014, PLoS Comput Biol 10:e1003553; rsagroup/rsatoolbox),
nested in structs or cells at any depth.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from ..errors import ArgumentError, DataFormatError, NeurotkError, NeurotkWarning
from ..rsa.rdms import RDM

__all__ = ["read_rdms"]

#: How deep structs and cells are searched for RDMs.
_MAX_DEPTH = 6


def _triangular(p: int) -> int | None:
    """n with n (n - 1) / 2 == p, or None."""
    n = round((1 + np.sqrt(1 + 8 * p)) / 2)
    return n if p >= 1 and n * (n - 1) // 2 == p else None


def _square_problem(m: np.ndarray) -> str | None:
    """Why a square matrix is not an RDM (None if it is one)."""
    scale = max(1.0, float(np.nanmax(np.abs(m)))) if np.isfinite(m).any() else 1.0
    with np.errstate(invalid="ignore"):
        if np.nanmax(np.abs(m - m.T), initial=0.0) > 1e-8 * scale:
            return "not symmetric"
        if np.nanmax(np.abs(np.diagonal(m)), initial=0.0) > 1e-8 * scale:
            return "non-zero diagonal (a similarity matrix?)"
    return None


class _Finder:
    """Walks the variables of one file and collects the RDMs in them."""

    def __init__(self, path: Path, matlab: bool, explicit: bool):
        self.path, self.matlab, self.explicit = path, matlab, explicit
        self.found: list[dict] = []  # one per RDM: label, variable, index, vector, fields
        self.skipped: list[dict] = []  # label, shape, reason

    # -- numeric arrays --------------------------------------------------------------
    def numeric(self, arr: np.ndarray, label: str, variable: str, index, fields: dict, *,
                rdm_field: bool, allow_vectors: bool, report: bool):
        def skip(reason):
            if report:
                self.skipped.append({"variable": label, "shape": arr.shape, "reason": reason})

        if arr.dtype.kind not in "biuf":
            return skip(f"dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if arr.ndim == 1:
            n = _triangular(arr.size)
            if not (allow_vectors or rdm_field) or n is None or n < 3:
                return skip("not n(n-1)/2 long" if n is None else "a vector not taken for a condensed RDM")
            return self.add(arr, label, variable, index, fields)
        if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.shape[0] >= 2:
            problem = _square_problem(arr)
            if problem:
                return skip(problem)
            i, j = np.triu_indices(arr.shape[0], 1)
            return self.add(arr[i, j], label, variable, index, fields)
        if arr.ndim == 2 and (self.explicit or rdm_field) and _triangular(arr.shape[1]):
            # rows of condensed vectors (the RSA toolbox's vectorised stacks)
            for k in range(arr.shape[0]):
                self.add(arr[k], f"{label}[{k}]", variable, (*index, k), fields)
            return None
        if arr.ndim == 3:
            # MATLAB stacks RDMs along the last axis (n, n, k); numpy along the first (k, n, n)
            stack = None
            if self.matlab and arr.shape[0] == arr.shape[1]:
                stack, fmt = np.moveaxis(arr, 2, 0), "{label}[:,:,{k}]"
            elif arr.shape[1] == arr.shape[2]:
                stack, fmt = arr, "{label}[{k}]"
            if stack is None or stack.shape[1] < 2:
                return skip("3-D but not a stack of square matrices")
            problems = [_square_problem(m) for m in stack]
            if any(problems):
                return skip(next(p for p in problems if p))
            i, j = np.triu_indices(stack.shape[1], 1)
            for k, m in enumerate(stack):
                self.add(m[i, j], fmt.format(label=label, k=k), variable, (*index, k), fields)
            return None
        return skip("not square" if arr.ndim == 2 else f"{arr.ndim}-D")

    def add(self, vector, label, variable, index, fields):
        self.found.append({"label": label, "variable": variable, "index": tuple(index), "vector": vector,
                           "fields": fields})

    # -- MATLAB structs and cells --------------------------------------------------------
    def walk(self, value, label: str, variable: str, index: tuple, depth: int, *, top: bool = False,
             matlab_class: str | None = None):
        from scipy.io.matlab import mat_struct

        if depth > _MAX_DEPTH:
            return
        if isinstance(value, mat_struct):
            names = list(value._fieldnames)
            rdm_key = next((f for f in names if f.lower() == "rdm"), None)
            if rdm_key is None:
                for field in names:
                    self.walk(getattr(value, field), f"{label}.{field}", variable, index, depth + 1)
                return
            fields = {}
            for field in names:
                x = getattr(value, field)
                if field == rdm_key:
                    continue
                if isinstance(x, str):
                    fields[field] = x
                elif isinstance(x, (int, float, np.integer, np.floating, bool)) or (
                        isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "biuf"):
                    fields[field] = x.item() if isinstance(x, np.generic | np.ndarray) else x
            rdm = getattr(value, rdm_key)
            rdm = np.asarray(rdm) if not isinstance(rdm, np.ndarray) else rdm
            self.numeric(rdm, f"{label}.{rdm_key}", variable, index, fields, rdm_field=True,
                         allow_vectors=True, report=True)
            return
        if isinstance(value, np.ndarray) and value.dtype == object:
            for k, pos in enumerate(np.ndindex(value.shape)):
                where = ",".join(str(p) for p in pos)
                self.walk(value[pos], f"{label}[{where}]", variable, (*index, k) if index else (k,), depth + 1)
            return
        if isinstance(value, np.ndarray) and value.dtype.names is None:
            logical = matlab_class == "logical"
            self.numeric(value, label, variable, index, {}, rdm_field=False,
                         allow_vectors=top and not logical, report=top)


def _load_mat(path: Path):
    import scipy.io

    try:
        whos = {name: (tuple(shape), cls) for name, shape, cls in scipy.io.whosmat(str(path))}
        data = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except NotImplementedError as exc:  # v7.3 files are HDF5
        raise DataFormatError(
            f"{path}: a MATLAB v7.3 (HDF5) file ({exc}); expected a MATLAB v4-v7.2 .mat file. Save it in "
            f"MATLAB with save(..., '-v7') to read it here"
        ) from exc
    except Exception as exc:  # scipy raises ValueError, TypeError, OSError ... on bad files
        raise DataFormatError(
            f"{path}: not a readable MATLAB .mat file ({type(exc).__name__}: {exc}); expected a file written by "
            f"MATLAB's save or scipy.io.savemat"
        ) from exc
    return {k: v for k, v in data.items() if not k.startswith("__")}, whos


def _load_numpy(path: Path):
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataFormatError(
            f"{path}: {'holds Python objects, which need unpickling (never done for data files)' if 'pickle' in str(exc) else exc}"
            f"; expected numeric arrays"
        ) from exc
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"{path}: not a readable numpy file ({exc})") from exc
    if isinstance(loaded, np.ndarray):
        data = {path.stem: loaded}
    else:
        with loaded:
            data = {k: loaded[k] for k in loaded.files}
    return data, {k: (tuple(v.shape), str(v.dtype)) for k, v in data.items()}


def read_rdms(path, variables=None, conditions=None) -> RDM:
    """Read the RDMs of a MATLAB ``.mat`` or numpy ``.npy``/``.npz`` file as one RDM stack.

    Every RDM in the file over the same number of conditions goes into the stack:

    - square matrices, symmetric with zeros on the diagonal (a square matrix that is not,
      such as a similarity matrix, is left out and listed in ``meta["skipped"]``), and
      stacks of them: MATLAB's (n, n, k) in ``.mat`` files, numpy's (k, n, n) otherwise;
    - condensed vectors of n (n - 1) / 2 entries (MATLAB ``squareform`` order, the same
      as scipy's), top-level (not MATLAB ``logical``) or in an ``RDM`` field; rows of
      condensed vectors (k, n (n - 1) / 2) in an ``RDM`` field, a ``.npy`` file or a
      variable named in ``variables``;
    - the MATLAB RSA toolbox's structs and struct arrays with ``RDM`` and ``name``
      fields, in structs and cells nested at any depth (e.g. ``RDMs_mIT_hIT_fig1`` of
      Kriegeskorte et al. 2008, or the (1, 4, 2) subject x session array of
      ``92_brainRDMs.mat``).

    Struct arrays are read in row-major order (MATLAB ``RDMs(1,1,1)``, ``RDMs(1,1,2)``,
    ``RDMs(1,2,1)`` ...). When RDMs over different numbers of conditions are found, the
    largest group is kept (the first on a tie) and a :class:`~neurotk.NeurotkWarning`
    names the rest; ``variables`` picks others.

    Parameters
    ----------
    path : str or Path
        A ``.mat``, ``.npy`` or ``.npz`` file. It is opened read-only.
    variables : str or sequence of str, optional
        Read only these top-level variables (``.npz`` keys), in this order.
    conditions : array-like, optional
        Condition labels (the files hold none; default 0 .. n-1).

    Returns
    -------
    RDM
        The stack, float64, ``metric=None`` (the files do not say). ``descriptors``:
        ``name`` (a struct's ``name`` field, else the variable's path such as
        ``RDMs[0,1,1].RDM`` or ``rdm_hIT``), ``variable``, ``label`` (the path in the
        file), ``index`` (position in the variable's struct array, row-major) and one
        ``index_<d>`` column per axis of that array (the subject and session of
        ``92_brainRDMs.mat``: ``index_1``, ``index_2``), plus the structs' other text
        and number fields. ``meta``: ``path``, ``source`` ("mat", "npy" or "npz"),
        ``variables`` (name -> shape as stored, MATLAB's unsqueezed shape for ``.mat``),
        ``skipped`` (what was not read, and why).

    Raises
    ------
    DataFormatError
        No RDM in the file (the message lists every variable with its shape and class, and
        why the near misses are not RDMs), an unreadable or v7.3 file, or Python objects in
        a numpy file.
    ArgumentError
        A name in ``variables`` that the file does not hold, or ``conditions`` that do not
        fit.

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, pathlib
    >>> from neurotk.io import read_rdms
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rdms.mat"
    >>> m = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0.]])
    >>> scipy.io.savemat(path, {"V1": m, "IT": np.array([[4, 5, 6.]])})
    >>> rdms = read_rdms(path)
    >>> rdms.names, rdms.vectors.tolist()
    (['V1', 'IT'], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    """
    if not isinstance(path, (str, Path)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected a path to a .mat, .npy or .npz file")
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: {'not a file' if path.exists() else 'no such file'}; expected an RDM file")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        data, whos = _load_mat(path)
        source = "mat"
    elif suffix in (".npy", ".npz"):
        data, whos = _load_numpy(path)
        source = suffix[1:]
    else:
        raise DataFormatError(f"{path}: unknown RDM file suffix {suffix or '(none)'!r}; expected .mat, .npy or .npz")
    if variables is not None:
        wanted = [variables] if isinstance(variables, str) else list(variables)
        missing = [v for v in wanted if v not in data]
        if missing:
            raise ArgumentError(f"variables={wanted!r}: {missing} not in {path}; it holds {sorted(data)}")
        data = {v: data[v] for v in wanted}
    finder = _Finder(path, matlab=source == "mat", explicit=variables is not None or source == "npy")
    shapes = {}
    for name, value in data.items():
        shape, cls = whos.get(name, (np.shape(value), type(value).__name__))
        shapes[name] = shape
        first = len(finder.found)
        finder.walk(value, name, name, (), 0, top=True, matlab_class=cls)
        for rec in finder.found[first:]:  # positions within the variable's own (unsqueezed) array
            if rec["index"] and isinstance(value, np.ndarray) and value.dtype == object and len(shape) > 1 \
                    and int(np.prod(shape)) == value.size:
                rec["axes"] = tuple(int(i) for i in np.unravel_index(rec["index"][0], shape))
    if not finder.found:
        listing = "; ".join(f"{name} {shape} {whos.get(name, ((), '?'))[1]}" for name, shape in shapes.items())
        misses = "; ".join(f"{s['variable']} {s['shape']}: {s['reason']}" for s in finder.skipped[:10])
        raise DataFormatError(
            f"{path}: no matrix of RDM shape; expected square symmetric matrices with zeros on the diagonal "
            f"(n, n), condensed vectors of n(n-1)/2 entries, or RSA-toolbox structs with an RDM field. "
            f"Variables found: {listing or 'none'}" + (f". Not RDMs: {misses}" if misses else "")
        )

    groups: dict[int, list[dict]] = {}
    for rec in finder.found:
        groups.setdefault(_triangular(rec["vector"].size), []).append(rec)
    n, chosen = max(groups.items(), key=lambda kv: len(kv[1]))  # first group wins a tie
    skipped = list(finder.skipped)
    if len(groups) > 1:
        others = [f"{r['label']} ({m} conditions)" for m, rs in groups.items() if m != n for r in rs]
        skipped += [{"variable": r["label"], "shape": r["vector"].shape, "reason": f"{m} conditions, not {n}"}
                    for m, rs in groups.items() if m != n for r in rs]
        warnings.warn(
            f"{path}: RDMs over different numbers of conditions; read the {len(chosen)} over {n} conditions and "
            f"left out {', '.join(others[:8])}{' ...' if len(others) > 8 else ''} (pass variables= to choose)",
            NeurotkWarning, stacklevel=caller_stacklevel(),
        )

    vectors = np.vstack([r["vector"] for r in chosen])
    names = [str(r["fields"].get("name", r["label"])) for r in chosen]
    desc = pd.DataFrame({"name": names, "variable": [r["variable"] for r in chosen],
                         "label": [r["label"] for r in chosen]})
    has_index = [bool(r["index"]) for r in chosen]
    if any(has_index):
        desc["index"] = pd.array([r["index"][0] if r["index"] else pd.NA for r in chosen], dtype="Int64")
        n_axes = max(len(r.get("axes", ())) for r in chosen)
        for d in range(n_axes):
            desc[f"index_{d}"] = pd.array([r["axes"][d] if len(r.get("axes", ())) > d else pd.NA for r in chosen],
                                          dtype="Int64")
    extra = sorted({k for r in chosen for k in r["fields"] if k != "name"})
    for key in extra:
        desc[key] = [r["fields"].get(key) for r in chosen]
    meta = {"path": str(path), "source": source, "variables": shapes, "skipped": skipped}
    try:
        return RDM(vectors, conditions, names, None, meta, desc, allow_nan=bool(np.isnan(vectors).any()))
    except NeurotkError as exc:  # infinite values, conditions of the wrong length ...
        raise type(exc)(f"{path}: {exc}") from exc
