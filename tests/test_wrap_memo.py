"""Long lines are laid out once per shape (names replaced by placeholders of their
length): the result must be exactly the layout of the line itself."""
from __future__ import annotations

import ast

import pytest

import flatgrad
from flatgrad.emit.wrap import _wrap_code, wrap_code

LONG = "veryveryverylongname_alpha"
FORMULAS = [
    "+".join(f"σ({a}*x{k} - y{k})*(x{k} - {a})²" for k, a in enumerate((1.5, 0.25, 3.0))),
    f"{LONG}*atan2({LONG}_beta, gamma_gamma_gamma) + logaddexp({LONG}, softplus(g2))"
    f"/σ({LONG}_beta*{LONG})",
    f"if_then = exp(1e5*{LONG}) + log1p(2.5e-3*{LONG}_beta); "
    f"else_value = if_then*if_then/(1 + if_then) + is_it*in_it",
    "(" * 30 + "x*y" + ")" * 30 + " + " + "sin(" * 30 + "x" + ")" * 30,
]


@pytest.mark.parametrize("text", FORMULAS)
@pytest.mark.parametrize("profile", ["fast", "teach"])
def test_a_memoised_layout_is_the_lines_own(text, profile):
    compiled = flatgrad.compile(text, profile=profile)
    lines = [line.text for line in compiled.plan.lines]
    assert lines
    for code in lines:
        for width, reserve in ((96, 8), (60, 6), (40, 0)):
            assert wrap_code(code, width, reserve) == _wrap_code(code, width, reserve), code


def test_lines_that_differ_only_in_names_share_a_layout_but_keep_their_names():
    first = "sigcx2pcy2 = 1.0 / (1.0 + math.exp(-cx2pcy2)) if cx2pcy2 > -709.0 else " \
            "math.exp(cx2pcy2)"
    second = first.replace("cx2pcy2", "ab3mcd3")
    for code in (first, second, first):
        wrapped = wrap_code(code, 70, 6)
        assert len(wrapped) > 1
        assert wrapped == _wrap_code(code, 70, 6)
        assert ast.dump(ast.parse("\n".join(wrapped))) == ast.dump(ast.parse(code))


def test_exponents_attributes_and_keywords_are_not_names():
    code = "value_of_it = 1e5 * math.exp(-alpha_beta) if alpha_beta > -7.5e2 else None or " \
           "not_this and is_that"
    wrapped = wrap_code(code, 40)
    assert len(wrapped) > 1 and wrapped == _wrap_code(code, 40, 0)
    assert "1e5 * math.exp(-alpha_beta)" in wrapped[1] and "-7.5e2" in wrapped[2]
