"""The safe HDF5 reader the NWB and Allen loaders share (neurotk.io._hdf5), on small files
written here with h5py. Corrupted real files go through it in tests/reliability."""

import h5py
import numpy as np
import pytest

from neurotk import ArgumentError, DataFormatError
from neurotk.io import _hdf5
from neurotk.io._hdf5 import (
    CORRUPT_FILE_ERRORS,
    Reader,
    attr,
    decode,
    file_errors,
    open_hdf5,
    ragged_ends,
    read_table,
)


@pytest.fixture
def table_file(tmp_path):
    """A DynamicTable as NWB writes one: colnames, a ragged column, an unlisted dataset."""
    path = tmp_path / "table.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("intervals/trials")
        g.attrs["colnames"] = ["start_time", "stop_time", "tags"]
        g.create_dataset("id", data=np.arange(3))
        g.create_dataset("start_time", data=[0.0, 1.0, 2.0])
        g.create_dataset("stop_time", data=[0.5, 1.5, 2.5])
        g.create_dataset("tags", data=np.array([b"a", b"b", b"c", b"d"]))
        g.create_dataset("tags_index", data=[1, 1, 4])
        g.create_dataset("stimulus", data=np.array([b"x", b"y", b"z"]))  # not in colnames
        g.create_dataset("short", data=[1, 2])  # another length: left out
        g.create_dataset("image", data=np.zeros((3, 2, 2)))  # not a 1-D scalar column: left out
    return path


def test_read_table_columns_ragged_and_skipped(table_file):
    with open_hdf5(table_file) as h:
        f = Reader(h, table_file)
        table = read_table(f, h["intervals/trials"])
        assert list(table.columns) == ["id", "start_time", "stop_time", "tags", "stimulus"]
        assert table["tags"].tolist() == [["a"], [], ["b", "c", "d"]]
        assert table["stimulus"].tolist() == ["x", "y", "z"]
        flat = read_table(f, h["intervals/trials"], skip=("stop_time",), ragged=False)
        assert list(flat.columns) == ["id", "start_time", "stimulus"]


def test_ragged_ends_refuses_bad_indices(tmp_path):
    path = tmp_path / "index.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("ok", data=[2, 2, 5])
        f.create_dataset("down", data=[2, 1, 5])
        f.create_dataset("beyond", data=[2, 9])
        f.create_dataset("floats", data=[2.0, 5.0])
    with open_hdf5(path) as h:
        f = Reader(h, path)
        np.testing.assert_array_equal(ragged_ends(f, h["ok"], 5), [2, 2, 5])
        for name, match in [("down", "not monotone"), ("beyond", "beyond the data"), ("floats", "integer index")]:
            with pytest.raises(DataFormatError, match=match) as err:
                ragged_ends(f, h[name], 5)
            assert str(path) in str(err.value) and f"/{name}" in str(err.value)


def test_reader_refuses_variable_length_sequences_and_oversized_reads(tmp_path, monkeypatch):
    path = tmp_path / "vlen.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("ragged", shape=(2,), dtype=h5py.vlen_dtype(np.int32))
        ds[0], ds[1] = [1, 2], [3]
        sequences = np.empty(1, dtype=object)
        sequences[0] = np.array([1, 2], dtype=np.int32)
        f.attrs.create("bad", data=sequences, dtype=h5py.vlen_dtype(np.int32))
        f.create_dataset("x", data=np.arange(100.0))
    with open_hdf5(path) as h:
        f = Reader(h, path)
        with pytest.raises(DataFormatError, match="variable-length sequence"):
            f.read(h["ragged"])
        with pytest.raises(DataFormatError, match="attribute 'bad'"):
            attr(h, "bad")
        monkeypatch.setattr(_hdf5, "available_memory", lambda: 100)  # a process that may allocate 100 bytes
        with pytest.raises(DataFormatError, match="more than the .* of memory"):
            f.read(h["x"])
        assert f.read(h["x"], slice(0, 10)).tolist() == list(range(10))  # 80 bytes fit


def test_open_and_file_errors_name_the_file(tmp_path):
    with pytest.raises(ArgumentError, match="no file"):
        open_hdf5(tmp_path / "missing.nwb")
    with pytest.raises(ArgumentError, match="is a folder"):
        open_hdf5(tmp_path)
    text = tmp_path / "notes.nwb"
    text.write_text("not hdf5")
    with pytest.raises(DataFormatError, match="notes.nwb: could not be opened as an HDF5 file"):
        open_hdf5(text)
    with pytest.raises(DataFormatError, match="s.nwb: could not be read .*expected an Allen file"):
        with file_errors("s.nwb", "an Allen file"):
            raise OSError("truncated")
    with pytest.raises(ArgumentError, match="unchanged"):  # neurotk errors pass through as they are
        with file_errors("s.nwb"):
            raise ArgumentError("unchanged")
    assert KeyError in CORRUPT_FILE_ERRORS and OSError in CORRUPT_FILE_ERRORS


def test_decode_keeps_numbers_and_decodes_bytes():
    assert decode(np.array([b"caf\xc3\xa9", b"x"])).tolist() == ["café", "x"]
    assert decode(np.array([b"a", "b", 1], dtype=object)).tolist() == ["a", "b", 1]
    assert decode(np.arange(3)).dtype.kind == "i"
