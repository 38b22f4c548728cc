"""YAML of unknown origin, read strictly: rule packs' ``pack.yaml`` and report templates.

YAML's safe loader without anchors and aliases (a few lines of ``&a`` / ``*a`` expand to
billions of nodes: the "billion laughs"), at most ``MAX_YAML_DEPTH`` nested levels, and files of
at most ``MAX_YAML_BYTES``.
"""

from __future__ import annotations

import copy
from functools import lru_cache

import yaml

MAX_YAML_BYTES = 2 * 2**20


class StrictYamlLoader(yaml.SafeLoader):
    """YAML's safe loader for files of unknown origin: without anchors and aliases
    (``&a``/``*a``: a few lines of aliases expand to billions of nodes) and with at most
    ``MAX_YAML_DEPTH`` nested levels; an impossible date stays text, so that it is reported
    where it is used."""

    def compose_node(self, parent: object, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed", event.start_mark
            )
        self.depth = getattr(self, "depth", 0) + 1
        if self.depth > MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark
            )
        node = super().compose_node(parent, index)
        self.depth -= 1
        return node

    def date_or_text(self, node: yaml.Node) -> object:
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


StrictYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictYamlLoader.date_or_text)
MAX_YAML_DEPTH = 20


def parse_yaml(text: str) -> object:
    """YAML text read with :class:`StrictYamlLoader`: the one YAML parser. A text is parsed
    once per process (every scoring reads the same pack and template files); each caller gets
    its own deep copy."""
    return copy.deepcopy(_parsed(text))


@lru_cache(maxsize=128)
def _parsed(text: str) -> object:
    return yaml.load(text, Loader=StrictYamlLoader)  # noqa: S506 - a stricter SafeLoader
