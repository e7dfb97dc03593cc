"""The benchmark machinery: ``benchmarks/_measure.py`` (interleaving, medians, RST tables) and
``benchmarks/run.py`` (the page it writes), on fake sides and a fake benchmark folder.

No timing is asserted: the clock is replaced by a scripted one, so the medians and ranges are
known exactly.
"""

from __future__ import annotations

import importlib.util
import shutil
import statistics
import sys
import textwrap
from pathlib import Path

import pytest

docutils_core = pytest.importorskip("docutils.core")
from docutils import nodes

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_neurotk_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


measure = _load("_measure")


def parse_rst(text):
    """The docutils tree of ``text``; any docutils warning (a malformed table ...) raises."""
    return docutils_core.publish_doctree(
        text, settings_overrides={"halt_level": 2, "report_level": 2, "warning_stream": False,
                                  "doctitle_xform": False})


class FakeClock:
    """Stands in for ``time`` inside ``_measure``: the sides advance it by scripted amounts."""

    def __init__(self):
        self.wall = 0.0
        self.cpu = 0.0

    def perf_counter(self):
        return self.wall

    def process_time(self):
        return self.cpu


def scripted(clock, log, name, walls, cpus):
    """A side that logs its calls and costs walls[i] / cpus[i] on its i-th call (0: warm-up)."""
    calls = iter(zip(walls, cpus))

    def side():
        log.append(name)
        wall, cpu = next(calls)
        clock.wall += wall
        clock.cpu += cpu
        return name, len(log)

    return side


def test_compare_interleaves_and_takes_medians(monkeypatch):
    clock, log = FakeClock(), []
    monkeypatch.setattr(measure, "time", clock)
    a_wall = [99.0, 5.0, 1.0, 3.0, 100.0, 2.0]  # first call: the untimed warm-up
    b_wall = [50.0, 0.5, 0.125, 0.375, 0.25, 0.3125]  # dyadic: the sums are exact
    a_cpu = [9.0, 10.0, 2.0, 6.0, 4.0, 8.0]
    b_cpu = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    runs = measure.compare({"a": scripted(clock, log, "a", a_wall, a_cpu),
                            "b": scripted(clock, log, "b", b_wall, b_cpu)}, repeat=5)
    assert log == ["a", "b"] * 6  # warm-up A B, then A B A B ...
    assert runs["a"].wall == a_wall[1:] and runs["b"].wall == b_wall[1:]
    assert runs["a"].median_wall == statistics.median(a_wall[1:]) == 3.0
    assert runs["b"].median_wall == 0.3125
    assert runs["a"].median_cpu == 6.0
    assert measure.ratio(runs, "a", "b") == pytest.approx(9.6)
    assert runs["a"].result == ("a", 11)  # the last timed call's result
    row = dict(zip(measure.TIMING_HEADER, measure.timing_rows(runs, reference="b")[0]))
    assert row["wall s, median [range]"] == "3 [1-100]"
    assert row["ratio"] == "9.60" and row["ratio, 1 thread"] == ""


def test_compare_repeats_at_least_three_and_skips_warmup(monkeypatch):
    clock, log = FakeClock(), []
    monkeypatch.setattr(measure, "time", clock)
    ones = [1.0] * 10
    runs = measure.compare({"a": scripted(clock, log, "a", ones, ones),
                            "b": scripted(clock, log, "b", ones, ones)}, repeat=1, warmup=False)
    assert log == ["a", "b"] * measure.MIN_REPEAT
    assert len(runs["a"].wall) == measure.MIN_REPEAT


def test_compare_pinned_runs_on_one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import numpy as np

    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    seen = []

    def side():
        seen.append(max((i["num_threads"] for i in threadpoolctl.threadpool_info()), default=1))

    runs = measure.compare({"a": side, "b": side}, repeat=3, pinned=True, warmup=False)
    assert len(runs["a"].wall1) == len(runs["b"].cpu1) == 3
    assert seen[6:] == [1] * 6  # the last 2 x 3 calls ran pinned
    row = measure.timing_rows(runs, reference="a")[1]
    assert row[4] != ""


def _table_cells(tree):
    tables = list(tree.findall(nodes.table))
    assert len(tables) == 1
    rows = [[entry.astext() for entry in row.findall(nodes.entry)] for row in tables[0].findall(nodes.row)]
    return rows


def test_rst_table_parses_as_the_table_it_was_given():
    header = ["side", "wall s, median [range]", "ratio"]
    rows = [["neurotk ``ntf``", "0.1 [0.09-0.2]", "1.00"], ["a much longer peer name", "12.5 [12-13]", "125.00"],
            ["x", "", "3"]]
    text = measure.rst_table(header, rows, title="Some title")
    tree = parse_rst(text)
    cells = _table_cells(tree)
    assert cells[0] == header
    assert cells[1:] == [["neurotk ntf", "0.1 [0.09-0.2]", "1.00"], rows[1], rows[2]]
    # a section made as the scripts make it: title, paragraph, table, conclusion
    section = "Recording\n---------\n\nWhat was run.\n\n" + measure.rst_table(header, rows) + "\nConclusion.\n"
    tree = parse_rst(section)
    assert [s[0].astext() for s in tree.findall(nodes.section)] == ["Recording"]
    assert len(_table_cells(tree)) == 4


def test_rst_table_cells_are_text_not_markup():
    header = ["side", "max |diff|"]
    rows = [["numpy", "0"], ["", "1e-16"], ["torch", "|x|"]]
    text = measure.rst_table(header, rows)
    tree = parse_rst(text)  # an undefined substitution or a merged row would raise or miscount
    assert not list(tree.findall(nodes.substitution_reference))
    cells = _table_cells(tree)
    assert cells == [header, ["numpy", "0"], ["", "1e-16"], ["torch", "|x|"]]


FAKE_GOOD = '''
import os, sys
from _measure import compare, emit, rst_table, timing_rows, TIMING_HEADER
repeat = int(os.environ.get("NEUROTK_BENCH_REPEAT", "3"))
quick = "--quick" in sys.argv
runs = compare({"neurotk": lambda: sum(range(100)), "peer": lambda: sum(range(1000))}, repeat=repeat)
size = 10 if quick else 1000
emit(None, "Good one\\n--------\\n\\nSize {}, repeat {}, {} timed calls.\\n\\n".format(size, repeat, len(runs["peer"].wall))
     + rst_table(TIMING_HEADER, timing_rows(runs, "neurotk")) + "\\nDone.\\n")
'''
FAKE_BAD = '''
from _measure import emit
emit(None, "Bad one, partial\\n----------------\\n\\nThe first half was measured.\\n")
raise RuntimeError("the peer exploded")
'''
FAKE_SKIP = '''
import sys
print("peerlib is not installed: skipped")
sys.exit(77)
'''


def test_runner_writes_the_page(tmp_path):
    run = _load("run")
    folder = tmp_path / "bench"
    folder.mkdir()
    shutil.copy(BENCH / "_measure.py", folder)
    for name, code in [("zz_good", FAKE_GOOD), ("aa_bad", FAKE_BAD), ("mm_skip", FAKE_SKIP)]:
        (folder / f"bench_{name}.py").write_text(textwrap.dedent(code))
    out = tmp_path / "docs" / "benchmarks.rst"
    out.parent.mkdir()
    out.write_text("Old page\n========\n\nratio 99.9 from an old run\n")
    code = run.main(["--folder", str(folder), "--quick", "--repeat", "4", "--rst", str(out)])
    assert code == 1  # a script failed
    text = out.read_text()
    assert "99.9" not in text and "Old page" not in text
    tree = parse_rst(text)  # valid RST, no warnings
    assert tree.findall(nodes.title).__next__().astext() == "Benchmarks"
    for field in ("date:", "command:", "--quick --repeat 4", "CPU:", "cores", "memory:", "GiB",
                  "load average (1/5/15 min) before:", "after:", "neurotk ", "numpy ", "rsatoolbox",
                  "interleaved", "median"):
        assert field in text, field
    assert "Size 10, repeat 4, 4 timed calls." in text  # --quick and --repeat reached the script
    titles = [s[0].astext() for s in tree.findall(nodes.section)]
    # the fixed order: none of these names is in ORDER, so by name
    assert titles.index("bench_aa_bad.py: failed") < titles.index("bench_mm_skip.py: skipped") < titles.index("Good one")
    assert "Bad one, partial" in titles  # what it wrote before failing, under the failure note
    assert "the peer exploded" in text and "peerlib is not installed: skipped" in text
    assert len(list(tree.findall(nodes.table))) == 1
    assert not list(out.parent.glob(".*tmp"))  # the temporary file was renamed


def test_runner_only_and_order(tmp_path, capsys):
    run = _load("run")
    names = [Path(f"bench_{n}.py") for n in ("zz", "clustering", "recording", "encoding")]
    assert [p.stem for p in run.order(names)] == ["bench_recording", "bench_encoding", "bench_clustering",
                                                  "bench_zz"]
    with pytest.raises(SystemExit):
        run.main(["--folder", str(tmp_path), "--only", "nothing"])
    with pytest.raises(SystemExit):
        run.main(["--folder", str(tmp_path), "--repeat", "2"])


def test_the_benchmarks_page_is_valid_rst():
    page = BENCH.parent / "docs" / "benchmarks.rst"
    tree = parse_rst(page.read_text(encoding="utf-8"))
    assert next(tree.findall(nodes.title)).astext() == "Benchmarks"
    assert list(tree.findall(nodes.table))


def test_runner_stops_a_script_at_its_timeout(tmp_path):
    run = _load("run")
    (tmp_path / "bench_slow.py").write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    out = tmp_path / "page.rst"
    assert run.main(["--folder", str(tmp_path), "--timeout", "2", "--rst", str(out)]) == 1
    text = out.read_text()
    assert "bench_slow.py: timed out" in text and "stopped after 2 s" in text
    parse_rst(text)
