"""The README stays true: its listing is what flatgrad prints, its gate table is complete."""
import re

import flatgrad
from flatgrad.core import gates
from conftest import REFERENCE, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_install_and_test_commands():
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    # python3 -m: the `flatgrad` script is not on PATH until the environment is activated
    assert first_block[0] == ("python3 -m pip install . && "
                              "python3 -m flatgrad compile '(x+σ(y))/(σ(x)+(x+y)²)'")
    assert first_block[1].endswith("python3 -m pytest")


def test_reference_listing_is_the_generated_code():
    listing = README.split("<!-- reference-listing -->\n```python\n", 1)[1].split("```", 1)[0]
    # the whole module: the notes' two functions and nothing else
    assert listing == flatgrad.compile(REFERENCE).source
    assert "try" not in listing and "failed_stage" not in listing and "STAGES" not in listing


def test_every_callable_gate_is_documented():
    table = README.split("## Gates", 1)[1]
    documented = set(re.findall(r"`(\w+)`", table))
    assert set(gates.CALLABLE) <= documented
