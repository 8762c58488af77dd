"""The documentation: API reference coverage, Examples sections, runnable pages, the build.

- every name of every public module's ``__all__`` is documented in ``docs/api.rst``;
- every public class and function has a numpydoc "Examples" section (the doctests
  themselves run through ``--doctest-modules``);
- the Python code blocks of the user-guide pages run, in order, one namespace per page
  (blocks marked ``:class: no-run`` are skipped: GPU, clusters, long searches);
- the Sphinx site builds with ``-W`` (no warning), gallery included (slow, real data).
"""

import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PUBLIC_MODULES = (
    "sk_grouprec",
    "sk_grouprec.aggregation",
    "sk_grouprec.baselines",
    "sk_grouprec.datasets",
    "sk_grouprec.dmtl",
    "sk_grouprec.ensemble",
    "sk_grouprec.grouping",
    "sk_grouprec.metrics",
    "sk_grouprec.model_selection",
    "sk_grouprec.testing",
)
SPHINX_PACKAGES = ("sphinx", "numpydoc", "pydata_sphinx_theme", "sphinx_gallery")


def public_objects():
    """``{"module.name": object}`` for every name of every public module's ``__all__``."""
    found = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not (name.startswith("__") and name.endswith("__")):
                found[f"{module_name}.{name}"] = getattr(module, name)
    return found


def documented_in_api_rst(text):
    """Objects documented in api.rst: autosummary entries, ``.. data::`` and modules."""
    objects, modules = [], set()
    current = None
    in_autosummary = False
    for line in text.splitlines():
        directive = re.match(r"\.\. (currentmodule|automodule|autosummary|data)::\s*(\S*)", line)
        if directive:
            kind, argument = directive.groups()
            in_autosummary = kind == "autosummary"
            if kind == "currentmodule":
                current = argument
            elif kind == "automodule":
                modules.add(argument)
            elif kind == "data":
                objects.append((current, argument))
            continue
        if in_autosummary:
            entry = re.match(r"^ {3}(~?[\w.]+)\s*$", line)
            if entry:
                objects.append((current, entry.group(1).lstrip("~")))
            elif line.strip() and not line.startswith("   "):
                in_autosummary = False
    resolved = []
    for module_name, name in objects:
        target = importlib.import_module(module_name)
        for part in name.split("."):
            target = getattr(target, part)
        resolved.append(target)
    return resolved, modules


def test_every_public_name_is_in_the_api_reference():
    documented, modules = documented_in_api_rst((DOCS / "api.rst").read_text(encoding="utf-8"))
    missing = []
    for qualname, obj in public_objects().items():
        if inspect.ismodule(obj):
            if obj.__name__ not in modules:
                missing.append(qualname)
        elif not any(obj is other for other in documented):
            missing.append(qualname)
    assert not missing, f"public names missing from docs/api.rst: {missing}"


def _needs_examples():
    """Public classes and functions (data such as ``SCORERS`` or scorer instances excluded)."""
    seen = {}
    for qualname, obj in public_objects().items():
        if inspect.isclass(obj) or inspect.isfunction(obj):
            seen.setdefault(id(obj), (qualname, obj))
    return sorted(seen.values(), key=lambda item: item[0])


NEEDS_EXAMPLES = _needs_examples()


@pytest.mark.parametrize("qualname, obj", NEEDS_EXAMPLES, ids=[q for q, _ in NEEDS_EXAMPLES])
def test_public_docstring_has_an_examples_section(qualname, obj):
    doc = inspect.getdoc(obj) or ""
    assert re.search(r"^Examples\n-{8,}\n", doc, flags=re.MULTILINE), (
        f"{qualname} has no numpydoc 'Examples' section"
    )
    assert ">>> " in doc.split("Examples", 1)[1], f"{qualname}'s Examples section has no doctest"


# --------------------------------------------------------------------------------------
# the code of the user-guide pages


def python_blocks(rst_text):
    """Bodies of the ``.. code-block:: python`` directives not marked ``:class: no-run``."""
    lines = rst_text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = re.match(r"^(\s*)\.\. code-block:: python\s*$", lines[i])
        if not match:
            i += 1
            continue
        indent = len(match.group(1))
        i += 1
        options = []
        while i < len(lines) and re.match(r"^\s+:[\w-]+:", lines[i]):
            options.append(lines[i].strip())
            i += 1
        body = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
        ):
            body.append(lines[i])
            i += 1
        if not any(re.match(r":class:.*\bno-run\b", option) for option in options):
            blocks.append(textwrap.dedent("\n".join(body)).strip() + "\n")
    return blocks


def test_python_blocks_parser():
    text = textwrap.dedent(
        """
        Title
        =====

        .. code-block:: python

           a = 1
           if a:
               b = 2

        text

        .. code-block:: python
           :class: no-run

           raise RuntimeError

        .. code-block:: bash

           make test
        """
    )
    assert python_blocks(text) == ["a = 1\nif a:\n    b = 2\n"]


SYNTHETIC_PAGES = (
    "user_guide/grouping.rst",
    "user_guide/dmtl.rst",
    "user_guide/baselines.rst",
    "user_guide/aggregation.rst",
    "user_guide/model_selection.rst",
    "user_guide/persistence.rst",
)
REAL_DATA_PAGES = ("quickstart.rst", "user_guide/natural_groups.rst")


@pytest.fixture
def one_torch_thread():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the test box is shared: one thread is several times faster
    yield
    torch.set_num_threads(before)


def run_page(page, tmp_path, monkeypatch):
    blocks = python_blocks((DOCS / page).read_text(encoding="utf-8"))
    assert blocks, f"{page} has no runnable python block"
    monkeypatch.chdir(tmp_path)  # pages may write files (persistence)
    namespace = {"__name__": "__docs__"}
    for number, code in enumerate(blocks, start=1):
        try:
            exec(compile(code, f"{page}[block {number}]", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{page}, code block {number} fails:\n{code}") from exc


@pytest.mark.parametrize("page", SYNTHETIC_PAGES)
def test_user_guide_page_runs(page, tmp_path, monkeypatch, one_torch_thread):
    run_page(page, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("page", REAL_DATA_PAGES)
def test_real_data_page_runs(page, data_home, tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.setenv("SK_GROUPREC_DATA", str(data_home))
    run_page(page, tmp_path, monkeypatch)


# --------------------------------------------------------------------------------------
# the build


@pytest.mark.slow
@pytest.mark.realdata
def test_docs_build_without_warnings(data_home, tmp_path):
    """``sphinx -W`` on a copy of docs/ and examples/ (the gallery runs, in fast mode).

    Takes about a minute and a half on a 2-core machine (most of it the gallery).
    """
    for package in SPHINX_PACKAGES:
        pytest.importorskip(package, reason="the docs extra is not installed")
    generated = shutil.ignore_patterns("_build", "generated", "auto_examples")
    shutil.copytree(DOCS, tmp_path / "docs", ignore=generated)
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    env = dict(os.environ, SK_GROUPREC_FAST="1", SK_GROUPREC_DATA=str(data_home), MPLBACKEND="agg")
    out = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(tmp_path / "docs"), str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    # -W: any warning makes the build fail
    assert result.returncode == 0, f"sphinx failed:\n{result.stderr[-6000:]}"
    for page in ("index", "quickstart", "api", "user_guide/dmtl", "auto_examples/index",
                 "generated/sk_grouprec.GroupDMTLRecommender"):
        assert (out / f"{page}.html").is_file(), page
    images = list((tmp_path / "docs" / "auto_examples" / "images").glob("sphx_glr_plot_*.png"))
    examples = list((REPO / "examples").glob("plot_*.py"))
    drawn = {re.sub(r"_\d{3}\.png$", "", p.name) for p in images}
    assert drawn >= {f"sphx_glr_{p.stem}" for p in examples}, "an example drew no figure"


@pytest.mark.parametrize(
    "estimator, pages",
    [
        ("GroupDMTLRecommender", ("user_guide/dmtl.rst", "user_guide/multitask.rst",
                                  "user_guide/implicit_groups.rst")),
        ("KMeansGrouper", ("user_guide/grouping.rst",)),
        ("GroupAggregator", ("user_guide/aggregation.rst",)),
    ],
)
def test_user_guide_explains_every_parameter(estimator, pages):
    import sk_grouprec

    text = "".join((DOCS / page).read_text(encoding="utf-8") for page in pages)
    params = inspect.signature(getattr(sk_grouprec, estimator)).parameters
    missing = [name for name in params if not re.search(rf"``{name}(``|=)", text)]
    assert not missing, f"{pages} never mention {estimator}'s parameters {missing}"
