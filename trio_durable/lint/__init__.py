"""The determinism lint: static checks that workflow code replays alike.

``check_source(text, path)`` analyses one module (sans-IO); ``check_paths``
reads files and folders; ``python -m trio_durable.lint PATH...`` (and
``trio-durable check``) prints one ``path:line:col: CODE message`` line per
finding and exits 1 when there is any. ``# noqa: TD001`` on a line suppresses
that code there; a bare ``# noqa`` suppresses every code.
"""

from trio_durable.lint.analysis import Finding, check_source
from trio_durable.lint.files import check_paths, main
from trio_durable.lint.rules import RULES, Rule

__all__ = ["RULES", "Finding", "Rule", "check_paths", "check_source", "main"]
