"""Sphinx configuration for the intacct_sync documentation.

Built warning-free in CI: ``sphinx-build -W --keep-going -q -b html docs docs/_build/html``.
No extension here reaches the network (intersphinx is deliberately off).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intacct_sync.__about__ import __version__  # noqa: E402

project = "intacct_sync"
author = "intacct_sync contributors"
copyright = "intacct_sync contributors"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "jupyter_execute"]

# MyST: anchors for ## and ### headings so pages can link to [x](configuration.md#timeouts).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# autodoc + napoleon: Google-style docstrings, types shown in the parameter descriptions.
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Type hints name classes from pandas, lxml and the standard library that have no target here
# (intersphinx is off: the build must not need the network). Sphinx reports such missing targets
# only in nitpicky mode, which stays off, so nothing needs suppressing today; add narrow entries
# (e.g. "myst.xref_missing") here only with a comment saying why.
nitpicky = False
suppress_warnings: list[str] = []

# Render napoleon "Attributes:" sections as :ivar: fields rather than attribute directives, so a
# class documenting a property both in its docstring and as a member is not a duplicate object.
napoleon_use_ivar = True

html_theme = "furo"
html_title = f"intacct_sync {release}"
html_static_path: list[str] = []
