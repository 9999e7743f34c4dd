"""Sphinx configuration of asyncssl's API reference: autodoc from the docstrings.

    nox -s docs                                   # builds asyncssl, then this, warnings as errors
    sphinx-build -W --keep-going -b html docs docs/_build/html   # by hand, asyncssl importable

autodoc imports the package, so asyncssl must be built (any OpenSSL leg: every class and
method exists on each; what the linked library lacks raises NotSupportedError when called).
"""

from __future__ import annotations

import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import asyncssl

project = "asyncssl"
author = "the asyncssl developers"
copyright = "the asyncssl developers"  # noqa: A001 - Sphinx's name
release = version = asyncssl.__version__

# No intersphinx: the build must work offline (CI machines may have no network).
extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = f"asyncssl {release}"
html_static_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# The docstrings write code as ``double backticks`` and parameter names as `single` ones
# (reStructuredText's default role: shown in italics, never a cross-reference).

logger = logging.getLogger(__name__)


# --- the SSL module's constants -----------------------------------------------------------------
# asyncssl.SSL has ~170 integer constants (pyOpenSSL's and QUIC's). Each group below lists the
# names matching its pattern as py:data entries; the build warns (and so fails under -W) when a
# constant belongs to no group or to two, so a new constant cannot go undocumented.

def ssl_constants() -> list[str]:
    from asyncssl import SSL

    return sorted(n for n in dir(SSL) if not n.startswith("_") and isinstance(getattr(SSL, n), int)
                  and not isinstance(getattr(SSL, n), type))


class ConstantsDirective(SphinxDirective):
    """``.. asyncssl-constants:: REGEX`` then a sentence: the constants whose names match REGEX."""

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        pattern = re.compile(self.arguments[0])
        names = [n for n in ssl_constants() if pattern.fullmatch(n)]
        if not names:
            logger.warning(f"asyncssl-constants: no constant matches {pattern.pattern}", location=self.get_location())
        seen = self.env.domaindata.setdefault("asyncssl_constants", {})
        lines = StringList()
        source = self.get_source_info()[0]
        for line in self.content:
            lines.append(line, source)
        lines.append("", source)
        for name in names:
            if name in seen:
                logger.warning(f"asyncssl-constants: {name} is listed twice ({seen[name]} and {self.env.docname})",
                               location=self.get_location())
            seen[name] = self.env.docname
            lines.append(f".. py:data:: {name}", source)
            lines.append("", source)
        container = nodes.container()
        self.state.nested_parse(lines, self.content_offset, container)
        return container.children


def forget_constants_of(app: Sphinx, env: object, docname: str) -> None:
    # a document is read again (incremental build): its groups are listed afresh
    seen = app.env.domaindata.get("asyncssl_constants", {})
    for name in [n for n, doc in seen.items() if doc == docname]:
        del seen[name]


def check_constants_documented(app: Sphinx, env: object) -> None:
    seen = app.env.domaindata.get("asyncssl_constants", {})
    missing = [n for n in ssl_constants() if n not in seen]
    if missing:
        logger.warning(f"asyncssl.SSL constants in no group of docs/api/ssl.rst: {', '.join(missing)}")


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("asyncssl-constants", ConstantsDirective)
    app.connect("env-purge-doc", forget_constants_of)
    app.connect("env-check-consistency", check_constants_documented)
    return {"parallel_read_safe": False}

