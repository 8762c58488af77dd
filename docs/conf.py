"""Sphinx configuration of the sk_grouprec documentation (``make docs``)."""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SK_GROUPREC_FAST", "1")

import torch  # noqa: E402
from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

import sk_grouprec  # noqa: E402

# The bad-input table and the expected-failure list are generated from the tests' own tables,
# so the documentation and the test suite cannot disagree.
# (A copy of docs/ without the tests beside it builds from the committed generated files.)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bad_input_table import write_tables  # noqa: E402

if (ROOT / "tests" / "bad_input_cases.py").exists():
    write_tables()

project = "sk_grouprec"
author = "sk_grouprec developers"
copyright = "2026, sk_grouprec developers"
version = release = sk_grouprec.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "**/_*.rst",  # fragments pulled in with `.. include::`
]

html_theme = "pydata_sphinx_theme"
html_title = "sk_grouprec"
html_theme_options = {"navigation_with_keys": False}

intersphinx_mapping = {}  # no network at build time

# the gallery's reading order; "*": examples not listed come last
EXAMPLE_ORDER = [
    "plot_grouping.py",
    "plot_dmtl_training_curves.py",
    "plot_group_profiles_tsne.py",
    "plot_attention_weights.py",
    "plot_baselines_benchmark.py",
    "*",
]

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": ExplicitOrder(EXAMPLE_ORDER),
    # "Examples using X" on each API page (the minigallery of the autosummary templates)
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sk_grouprec",),
    "reference_url": {"sk_grouprec": None},
    "matplotlib_animations": False,
    "write_computation_times": False,
    "show_memory": False,
}

nitpicky = False
suppress_warnings = ["config.cache"]

# The gallery runs in this process. One torch thread: on a shared or small machine two
# threads per process are several times slower than one (measured on a shared 2-core machine).
torch.set_num_threads(1)

_TYPE_LINE = re.compile(r"^([A-Za-z_*][\w*, ]*) : (.+)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=[^\w`]|$)")


def _escape_type_specs(app, what, name, obj, options, lines):
    """Escape fitted-attribute names in numpydoc type specs, e.g. ``(n_users_,)``.

    numpydoc renders ``name : type`` with the type as reStructuredText, where ``n_users_``
    would be a hyperlink reference. Runs before numpydoc (priority 400).
    """
    for number, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match and "`" not in match.group(2):
            spec = _TRAILING_UNDERSCORE.sub(r"\\_", match.group(2))
            lines[number] = f"{match.group(1)} : {spec}"


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only members defined in sk_grouprec.

    Inherited members are wanted (``fit``, ``predict``, ``recommend`` of the base class),
    but not those of scikit-learn's mixins (``get_params``, metadata routing...), of
    ``torch.nn.Module`` or of builtins: their docstrings point to glossaries we lack.
    """
    if what not in ("class", "exception"):
        return None
    target = obj.fget if isinstance(obj, property) else obj
    module = getattr(target, "__module__", None) or ""
    if not module.startswith("sk_grouprec"):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_type_specs, priority=400)
    app.connect("autodoc-skip-member", _skip_foreign_members)
