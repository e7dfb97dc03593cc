"""Sphinx configuration of the neurotk documentation."""

import neurotk

project = "neurotk"
author = "the neurotk developers"
copyright = "2026, the neurotk developers"
release = version = neurotk.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
exclude_patterns = ["_build", "generated/*.tmp"]
html_theme = "alabaster"
nitpicky = False
