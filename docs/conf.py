"""Sphinx configuration of the neurotk documentation.

Build: ``pip install -e ".[docs]" && python -m sphinx -W -b html docs docs/_build/html``.
The tutorials in ``tutorials/`` are executed by sphinx-gallery and rendered, with their
figures, into the gallery (``docs/auto_tutorials/``, generated), each downloadable as a
Python script and a Jupyter notebook. ``NEUROTK_DOCS_PLOT=0`` skips running them (the
test suite runs them anyway).
"""

import os
import re
from pathlib import Path

import matplotlib
from sphinx_gallery.sorting import ExplicitOrder

matplotlib.use("Agg")

import neurotk  # noqa: E402

project = "neurotk"
author = "the neurotk developers"
copyright = "2026, the neurotk developers"
release = version = neurotk.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
exclude_patterns = ["_build", "generated/*.tmp"]
html_theme = "alabaster"
nitpicky = False


def _tutorial_number(name):
    """The number in ``plot_<n>_<name>.py``, so that plot_10 comes after plot_9, not after plot_1."""
    found = re.match(r"plot_(\d+)_", name)
    return (int(found.group(1)) if found else float("inf"), name)


#: The tutorials in the classroom order: by their number, not their file name. (A sort
#: function defined here cannot be cached by Sphinx; an ExplicitOrder can. Any file not
#: listed would come after these, at the "*".)
TUTORIAL_ORDER = sorted((p.name for p in (Path(__file__).parent.parent / "tutorials").glob("plot_*.py")),
                        key=_tutorial_number)

sphinx_gallery_conf = {
    "examples_dirs": "../tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"plot_",
    "plot_gallery": os.environ.get("NEUROTK_DOCS_PLOT", "1") != "0",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": ExplicitOrder([*TUTORIAL_ORDER, "*"]),
    "show_memory": False,
}
