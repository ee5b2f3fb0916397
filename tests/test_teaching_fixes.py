"""Teaching defects found by a teacher trying the handouts: the sigmoid's note, the points
chosen without --at, the hyperparameters of --at random, float noise in means, booklets,
the digits on wires, the worksheet's variant label and the name `dot`."""
from __future__ import annotations

import math

import pytest

import flatgrad
from flatgrad.core import gates


def test_sigmoid_note_is_for_students_and_overflow_text_is_for_the_error():
    sigmoid = gates.GATES["sigmoid"]
    assert sigmoid.note == ("sigmoid is grouped as one gate because its local gradient "
                            "(1 - σ)·σ is so simple")
    assert "709" in sigmoid.domain
    with pytest.raises(OverflowError) as raised:
        flatgrad.compile("σ(z)", profile="teach").value_and_grad(-800.0)
    message = str(raised.value)
    assert message.startswith("overflow: the notes' 1.0 / (1 + math.exp(-x)) overflows for x "
                              "below about -709")
    assert "at stage (1) f = 1.0 / (1 + math.exp(-z))" in message
    # and the fast profile is exact there
    value, (dz,) = flatgrad.compile("σ(z)", profile="fast").value_and_grad(-800.0)
    assert value == math.exp(-800.0)
