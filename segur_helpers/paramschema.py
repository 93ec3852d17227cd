"""The campaign's JSON Schema (``params.schema.json``) as the one declarative list of keys, types and ranges.

Editors validate a campaign with the schema (``# yaml-language-server: $schema=…``); the toolkit validates
it with the same file, through :func:`problems`, before anything runs. So the schema and the code cannot
disagree: adding a key to the campaign is adding it to the schema.

:func:`problems` interprets the subset of JSON Schema (2020-12) the file uses — :data:`KEYWORDS`; a test
checks the schema uses no other — and returns one :class:`Problem` per fault, in document order, each
naming the key as the toolkit writes it (``requirements.SSI/IE.31.data``, ``attachments[2]``) and what
was expected: the schema's own ``x-expected`` phrase where it gives one (``x-missing`` for a missing
required key), else a phrase derived from the type and range. Beyond JSON Schema, numbers must be finite
(YAML's ``.inf`` and ``.nan`` are refused) and an unknown key suggests the nearest known one.
"""
from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("params.schema.json")

# the keywords this interpreter knows (annotations included); tests/test_params_schema.py checks the
# schema uses no other, so a keyword the code would silently ignore cannot creep in
KEYWORDS = {"$schema", "$id", "$ref", "$defs", "title", "description", "default", "examples",
            "type", "properties", "required", "additionalProperties", "propertyNames", "minProperties",
            "enum", "const", "pattern", "items", "minItems", "anyOf", "allOf", "if", "then",
            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "x-expected", "x-missing"}


@dataclass
class Problem:
    key: str
    message: str


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def typename(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, float) and not math.isfinite(v):
        return f"{v!r}"
    return {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number",
            type(None): "nothing"}.get(type(v), type(v).__name__)


def join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


class _Validator:
    def __init__(self, root: dict):
        self.root = root
        self.out: list[Problem] = []

    # -- helpers --------------------------------------------------------------------------------------
    def resolve(self, node: dict) -> dict:
        seen = 0
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"params.schema.json: only local $ref are supported, got {ref}")
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            # the referring node's own annotations win (x-expected …)
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            seen += 1
            if seen > 20:
                raise ValueError("params.schema.json: $ref loop")
        return node

    def expected(self, node: dict) -> str:
        node = self.resolve(node)
        if "x-expected" in node:
            return node["x-expected"]
        if "enum" in node:
            return " or ".join(map(str, node["enum"]))
        kind = node.get("type")
        words = {"string": "text", "number": "a number", "integer": "an integer", "boolean": "true or false",
                 "object": "a mapping", "array": "a list", "null": "nothing"}
        if isinstance(kind, list):
            return " or ".join(words.get(k, k) for k in kind)
        if kind in ("number", "integer"):
            bounds = []
            if "exclusiveMinimum" in node:
                bounds.append(f"more than {node['exclusiveMinimum']:g}")
            if "minimum" in node:
                bounds.append(f"at least {node['minimum']:g}")
            if "exclusiveMaximum" in node:
                bounds.append(f"less than {node['exclusiveMaximum']:g}")
            if "maximum" in node:
                bounds.append(f"at most {node['maximum']:g}")
            return words[kind] + (" " + " and ".join(bounds) if bounds else "")
        if "anyOf" in node:
            return " or ".join(self.expected(a) for a in node["anyOf"])
        return words.get(kind, "a value")

    @staticmethod
    def type_ok(kind: str, v: Any) -> bool:
        if kind == "string":
            return isinstance(v, str)
        if kind == "integer":
            return isinstance(v, int) and not isinstance(v, bool)
        if kind == "number":
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        if kind == "boolean":
            return isinstance(v, bool)
        if kind == "object":
            return isinstance(v, dict)
        if kind == "array":
            return isinstance(v, list)
        if kind == "null":
            return v is None
        raise ValueError(f"params.schema.json: unknown type {kind}")

    def fits(self, node: dict, v: Any) -> bool:
        """Whether ``v`` satisfies ``node`` (no problem recorded)."""
        sub = _Validator(self.root)
        sub.check(node, v, "")
        return not sub.out

    def add(self, key: str, message: str) -> None:
        self.out.append(Problem(key, message))

    # -- the walk ---------------------------------------------------------------------------------
    def check(self, node: dict, v: Any, path: str) -> None:
        node = self.resolve(node)
        kind = node.get("type")
        if kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            if not any(self.type_ok(k, v) for k in kinds):
                self.add(path, f"expected {self.expected(node)}, got {typename(v)}")
                return
        if isinstance(v, float) and not math.isfinite(v):
            self.add(path, f"{v!r} is not a finite number; expected {self.expected(node)}")
            return
        if "anyOf" in node:
            alternatives = [self.resolve(a) for a in node["anyOf"]]
            if not any(self.fits(a, v) for a in alternatives):
                # one alternative of the value's own type: its precise problem; else the general form
                same = [a for a in alternatives
                        if a.get("type") is None or any(self.type_ok(k, v) for k in
                                                        (a["type"] if isinstance(a["type"], list) else [a["type"]]))]
                if len(same) == 1 and isinstance(v, (dict, list)):
                    alt = same[0]
                    if "x-expected" not in alt and "x-expected" in node:
                        alt = {**alt, "x-expected": node["x-expected"]}
                    self.check(alt, v, path)
                else:
                    self.add(path, f"expected {self.expected(node)}, got "
                                   f"{_shown(v) if same else typename(v)}")
                return
        if "const" in node and v != node["const"]:
            self.add(path, f"{_shown(v)}; expected {self.expected(node)}")
            return
        if "enum" in node and v not in node["enum"]:
            self.add(path, f"{_shown(v)}; expected {self.expected(node)}")
            return
        if isinstance(v, str) and "pattern" in node and not re.search(node["pattern"], v):
            self.add(path, f"{_shown(v)}; expected {self.expected(node)}")
            return
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            lo, hi = node.get("minimum"), node.get("maximum")
            xlo, xhi = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
            if ((lo is not None and v < lo) or (hi is not None and v > hi) or (xlo is not None and v <= xlo)
                    or (xhi is not None and v >= xhi)):
                self.add(path, f"{v!r} is out of range; expected {self.expected(node)}")
                return
        if isinstance(v, dict):
            self.check_object(node, v, path)
        if isinstance(v, list):
            if len(v) < node.get("minItems", 0):
                self.add(path, f"empty; expected {self.expected(node)}")
                return
            if "items" in node:
                for i, item in enumerate(v):
                    self.check(node["items"], item, f"{path}[{i}]")
        for sub in node.get("allOf", []):
            sub = self.resolve(sub)
            branch = (sub.get("then") if self.fits(sub["if"], v) else None) if "if" in sub else sub
            if not branch:
                continue
            if isinstance(v, dict) and set(branch) <= {"required"}:
                # a conditional "required": the properties (and their x-expected) are the node's own
                self.check_object({"required": branch["required"], "properties": node.get("properties", {})},
                                  {k: v[k] for k in v if k in branch["required"]}, path)
            else:
                self.check(branch, v, path)

    def check_object(self, node: dict, v: dict, path: str) -> None:
        props = node.get("properties", {})
        if len(v) < node.get("minProperties", 0):
            self.add(path, f"empty; expected {self.expected(node)}")
            return
        for req in node.get("required", []):
            if req not in v:
                sub = self.resolve(props.get(req, {}))
                self.add(join(path, req), sub.get("x-missing") or f"missing; expected {self.expected(sub)}")
        names = node.get("propertyNames")
        extra = node.get("additionalProperties", True)
        for k, item in v.items():
            key = join(path, k)
            if names is not None and not re.search(self.resolve(names)["pattern"], str(k)):
                self.add(key, f"{str(k)!r} is not a valid key here; expected {self.expected(names)}")
                continue
            if k in props:
                self.check(props[k], item, key)
            elif extra is False:
                known = sorted(props)
                near = difflib.get_close_matches(str(k), known, n=1, cutoff=0.6)
                hint = f" (did you mean {near[0]}?)" if near else ""
                self.add(key, f"unknown key{hint}; expected one of {', '.join(known)}")
            elif isinstance(extra, dict):
                self.check(extra, item, key)


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "…"


def problems(data: Any) -> list[Problem]:
    """Every problem of ``data`` (a campaign as loaded) against ``params.schema.json``, in document order."""
    v = _Validator(schema())
    v.check(v.root, data, "")
    return v.out


def schema_keywords(node: Any = None) -> set[str]:
    """Every keyword the schema uses (for the test that keeps it within :data:`KEYWORDS`)."""
    node = schema() if node is None else node
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            found.add(k)
            if k in ("properties", "$defs"):
                for sub in v.values():
                    found |= schema_keywords(sub)
            elif k in ("enum", "const", "required", "examples", "default") or isinstance(v, str):
                continue
            else:
                found |= schema_keywords(v)
    elif isinstance(node, list):
        for item in node:
            found |= schema_keywords(item)
    return found


def section_keys(*path: str) -> tuple[str, ...]:
    """The keys the schema lists at ``path`` (e.g. ``("requirements", "*", "justification")``)."""
    v = _Validator(schema())
    node = v.resolve(v.root)
    for part in path:
        if part == "*":
            node = v.resolve(node["additionalProperties"])
            node = next((v.resolve(a) for a in node.get("anyOf", [node]) if v.resolve(a).get("type") == "object"),
                        node)
        else:
            node = v.resolve(node["properties"][part])
    return tuple(node.get("properties", {}))
