"""Sphinx configuration for the skdrop documentation."""

from __future__ import annotations

import os

import skdrop

project = "skdrop"
author = "The skdrop developers"
copyright = "2026, The skdrop developers"
release = skdrop.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
}
# The build machines are offline: cross-project links resolve when online and
# degrade to plain text otherwise instead of failing the build.
if os.environ.get("SKDROP_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

# The gallery runs every example in this process at the examples' default
# "docs" size (each under a minute; the out-of-core example streams 220 MB,
# not 7 GB).  SKDROP_EXAMPLE_SIZE=full make docs builds it at full size.
_EXAMPLE_SIZES = ("full", "docs", "test")
os.environ.setdefault("SKDROP_EXAMPLE_SIZE", "docs")
if os.environ["SKDROP_EXAMPLE_SIZE"] not in _EXAMPLE_SIZES:
    raise ValueError(
        f"SKDROP_EXAMPLE_SIZE must be one of {list(_EXAMPLE_SIZES)}, "
        f"got {os.environ['SKDROP_EXAMPLE_SIZE']!r}"
    )

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "reference_url": {"skdrop": None},
}

html_theme = "pydata_sphinx_theme"
html_title = f"skdrop {release}"
html_static_path: list[str] = []
