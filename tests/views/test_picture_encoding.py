"""The picture published with its operators' entries encoded apart (a slice per loop pass) is the same JSON
text as the whole document encoded at once."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dialer.control import encode


@pytest.mark.parametrize("doc", [
    {"engine": "e1", "at": "t", "campaigns": [{"id": 1, "operators": []}], "operators": [{"id": 7, "x": 0.5}],
     "groups": [], "pbx_down": [], "ownership": None},
    {"operators": [{"id": 1}, {"id": 2}], "groups": []},
    {"engine": "e1", "operators": []},
    {"operators": []},
    {"engine": "e1", "operators": [{"flag": np.bool_(True)}], "numpy": {"rate": np.float64(0.5)}},
])
def test_operators_encoded_apart_give_the_same_text(doc: dict[str, object]) -> None:
    entries = encode({"operators": doc["operators"]})[len('{"operators": '):-1]
    assert encode(doc, operators=entries) == encode(doc)
    json.loads(encode(doc, operators=entries))
