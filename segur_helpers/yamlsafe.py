"""YAML as the toolkit reads a user's file: safe, bounded, and strict about duplicate keys.

``load_yaml(path)`` reads a campaign file, a YAML driver map or any other YAML a user hands the
toolkit. It is PyYAML's safe loader with four limits, each refused in one line (:class:`UserError`
naming the file and, where there is one, the key):

- **size**: at most :data:`MAX_BYTES` bytes;
- **depth**: at most :data:`MAX_DEPTH` nested mappings/lists (PyYAML's composer recurses: a 20,000-deep
  list otherwise ends in ``RecursionError``);
- **aliases**: at most :data:`MAX_ALIASES` alias uses, and at most :data:`MAX_NODES` nodes once every
  alias is expanded (a "billion laughs" file is a few hundred bytes that expand to billions of nodes;
  anything that walks it, such as the secret check, would spin for hours). Anchors and aliases as the
  demo campaign uses them (``document: *ldl``) stay allowed;
- **duplicate keys**: a key given twice in one mapping is refused (PyYAML keeps the last one silently).

Timestamps are left as the text written (``2026-11-20`` stays a string): the params are validated
against a JSON Schema, whose dates are strings, and the code reads them with ``date.fromisoformat``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import UserError

MAX_BYTES = 2_000_000
MAX_DEPTH = 64
MAX_ALIASES = 1_000
MAX_NODES = 200_000


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, mark=None, key: str | None = None):
        super().__init__(message)
        self.message, self.mark, self.key = message, mark, key


class _Resolver(yaml.resolver.Resolver):
    """The safe resolver without the timestamp rule (dates stay strings, as in JSON)."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in rules if tag != "tag:yaml.org,2002:timestamp"]
    for first, rules in yaml.resolver.Resolver.yaml_implicit_resolvers.items()}


class StrictLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
                   yaml.constructor.SafeConstructor, _Resolver):
    """PyYAML's SafeLoader, bounded in depth and aliases, refusing duplicate keys, dates kept as text."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(f"more than {MAX_ALIASES} aliases (*name); expected a file without an alias bomb",
                               self.peek_event().start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels; expected a flatter structure",
                               self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            # the keys written in this mapping (a merge ``<<: *base`` may be overridden: not a duplicate)
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise _Refused("a mapping key that is itself a mapping or a list; expected a plain key",
                                   key_node.start_mark) from None
                if key in seen:
                    raise _Refused(f"duplicate key {key!r} (line {seen[key].line + 1} and line "
                                   f"{key_node.start_mark.line + 1}); expected each key once", key_node.start_mark,
                                   key=str(key))
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_constructor("tag:yaml.org,2002:map", StrictLoader.construct_yaml_map)


def expanded_size(root: Node, limit: int = MAX_NODES) -> tuple[int, int]:
    """How many nodes the document has once every alias is expanded, and how deep it then is (memoised:
    linear in the file)."""
    memo: dict[int, int] = {}
    depth: dict[int, int] = {}
    # iterative post-order walk (a deep file must not recurse here either)
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in memo:
            continue
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in memo)
            continue
        total = 1 + sum(memo.get(id(c), 1) for c in children)
        memo[id(node)] = min(total, limit + 1)
        depth[id(node)] = 1 + max((depth.get(id(c), 1) for c in children), default=0)
    return memo.get(id(root), 1), depth.get(id(root), 1)


def load_yaml(path: str | Path, *, shown: str | None = None, what: str = "a YAML file") -> Any:
    """Read ``path`` with the limits above; any problem is one :class:`UserError` line naming the file."""
    path = Path(path)
    shown = shown or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UserError(f"{size} bytes; expected {what} of at most {MAX_BYTES} bytes", file=shown)
        data = path.read_bytes()
    except IsADirectoryError:
        raise UserError(f"is a folder; expected {what}", file=shown) from None
    except OSError as exc:
        raise UserError(f"cannot be read ({exc.strerror or exc}); expected {what}", file=shown) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"is not UTF-8 text; expected {what}", file=shown) from None
    return loads(text, shown=shown, what=what)


def loads(text: str, *, shown: str, what: str = "a YAML file") -> Any:
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise UserError(f"larger than {MAX_BYTES} bytes; expected {what}", file=shown)
    loader = None
    try:
        loader = StrictLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        size, depth = expanded_size(node)
        if size > MAX_NODES:
            raise _Refused(f"expands to more than {MAX_NODES} values through its aliases (*name); expected a "
                           "file without an alias bomb", node.start_mark)
        if depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels through its aliases (*name); expected a "
                           "flatter structure", node.start_mark)
        return loader.construct_document(node)
    except _Refused as exc:
        where = f" (line {exc.mark.line + 1}, column {exc.mark.column + 1})" if exc.mark else ""
        raise UserError(f"{exc.message}{where}", file=shown, key=exc.key) from None
    except RecursionError:
        raise UserError(f"nested too deeply; expected {what} at most {MAX_DEPTH} levels deep", file=shown) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or "syntax error"
        raise UserError(f"malformed YAML at {where}: {problem}; expected {what}", file=shown) from None
    finally:
        if loader is not None:
            loader.dispose()
