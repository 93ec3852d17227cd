"""Fresh values per proof in a campaign's test data, so repeated runs against one target never collide.

A campaign's ``data`` may hold these forms; each proof replaces them with its own values:

| form | value | example |
|---|---|---|
| ``{uniq}`` | 8 hexadecimal characters, the proof's token | ``camille+{uniq}@…`` → ``camille+3f9a0c1e@…`` |
| ``{rpps}`` | an 11-digit test RPPS number with a valid check key (below) | ``99418203576`` |
| ``{rpps:LABEL}`` | another one: same label, same number within the proof | ``{rpps:temoin}`` |
| ``{digits:N}`` | N digits (1 to 18), the first one not 0 | ``{digits:9}`` → ``517204839`` |
| ``{digits:N:LABEL}`` | another one of N digits, labelled the same way | ``{digits:6:dossier}`` |

Within one proof, one form (and label) gives one value wherever it is written, and two different
labels never give the same number; across proofs the numbers are drawn afresh.

**The RPPS form.** An RPPS number has 11 digits, the last one a check key computed with the Luhn
algorithm (mod 10) over the first ten. Test numbers made here begin with ``99``: the RPPS numbers in
use that we know of begin with ``10``, so a made-up number cannot be a real professional's. The eight
digits after ``99`` are random (10⁸ numbers: on a target that already holds N of them, a new one
collides with probability N / 10⁸).
"""
from __future__ import annotations

import re
import secrets
from typing import Any

RPPS_PREFIX = "99"
FORM = re.compile(r"\{(?:(uniq)|rpps(?::(\w+))?|digits:(\d{1,2})(?::(\w+))?)\}")


def luhn_key(payload: str) -> str:
    """The Luhn check digit of a string of digits (the digit to append)."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:       # the digit right of which the key will stand is doubled
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """Whether a string of digits ends with its Luhn check digit."""
    return number.isdigit() and len(number) >= 2 and luhn_key(number[:-1]) == number[-1]


def new_rpps(rand=secrets.randbelow) -> str:
    """A fresh 11-digit test RPPS number (prefix 99, random body, Luhn key)."""
    body = RPPS_PREFIX + f"{rand(10 ** 8):08d}"
    return body + luhn_key(body)


class UniqueValues:
    """The values of one proof: ``substitute(data)`` replaces every form in strings, recursively."""

    def __init__(self, token: str | None = None):
        self.token = token or secrets.token_hex(4)
        self._values: dict[tuple[str, str], str] = {}

    def _fresh(self, kind: str, label: str, make) -> str:
        key = (kind, label)
        if key not in self._values:
            taken = set(self._values.values())
            value = make()
            while value in taken:
                value = make()
            self._values[key] = value
        return self._values[key]

    def value(self, m: re.Match) -> str:
        uniq, rpps_label, n, digits_label = m.groups()
        if uniq:
            return self.token
        if n is None:
            return self._fresh("rpps", rpps_label or "", new_rpps)
        width = int(n)
        if not 1 <= width <= 18:
            return m.group(0)
        return self._fresh(f"digits{width}", digits_label or "",
                           lambda: str(1 + secrets.randbelow(9)) + "".join(str(secrets.randbelow(10))
                                                                           for _ in range(width - 1)))

    def substitute(self, node: Any) -> Any:
        if isinstance(node, str):
            return FORM.sub(self.value, node)
        if isinstance(node, dict):
            return {k: self.substitute(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.substitute(v) for v in node]
        return node
