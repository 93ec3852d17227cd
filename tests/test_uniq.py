"""Fresh values per proof in the campaign's data: {uniq}, {rpps}, {digits:N} and their labels."""
from __future__ import annotations

import re

from segur_helpers.uniq import UniqueValues, luhn_key, luhn_valid, new_rpps


def test_luhn_key_on_published_examples():
    # the usual worked example of the Luhn algorithm (7992739871 → key 3) and a few more
    assert luhn_key("7992739871") == "3"
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert [luhn_key(p) for p in ("9876234510", "246897531", "135798642")] == ["0", "9", "9"]
    # every single-digit error is caught
    number = new_rpps()
    for i in range(11):
        for d in "0123456789":
            if d != number[i]:
                assert not luhn_valid(number[:i] + d + number[i + 1:])


def test_rpps_form_is_an_11_digit_test_number_with_its_key():
    values = UniqueValues()
    data = values.substitute({"pro": {"rpps": "{rpps}"}, "again": "{rpps}", "control": "{rpps:temoin}",
                              "mail": "a+{uniq}@x.test", "n": "{digits:9}", "m": "{digits:9:autre}",
                              "left": "{digits:0} {nope} {rpps:} {uniq:x}", "k": 7, "l": ["{uniq}"]})
    rpps = data["pro"]["rpps"]
    assert re.fullmatch(r"99\d{9}", rpps) and luhn_valid(rpps)
    assert data["again"] == rpps                       # one form, one value within the proof
    assert data["control"] != rpps and luhn_valid(data["control"])
    assert data["mail"] == f"a+{values.token}@x.test" and data["l"] == [values.token]
    assert re.fullmatch(r"[1-9]\d{8}", data["n"]) and data["m"] != data["n"]
    assert data["left"] == "{digits:0} {nope} {rpps:} {uniq:x}" and data["k"] == 7


def test_each_proof_draws_its_own_numbers():
    # The body is drawn from all 10⁸ numbers after the prefix, not from a smaller range
    asked = []
    number = new_rpps(lambda n: asked.append(n) or n - 1)
    assert asked == [10 ** 8] and number[:10] == "9999999999" and luhn_valid(number)
    # Each proof draws afresh. Random draws may meet: 2,000 draws among 10⁸ give on average
    # 2000² / (2 · 10⁸) = 0.02 pairs that meet (one run in 50 sees one), so equality would be a
    # flaky test. Eleven or more meetings has a probability below 10⁻²⁵; a repeated or narrow
    # draw (a constant, a counter reset per proof, a 3-digit body) fails at once.
    seen = {UniqueValues().substitute("{rpps}") for _ in range(2000)}
    assert len(seen) >= 1990
