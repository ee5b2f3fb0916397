"""Other ways in: a Python function or a SymPy expression, turned into formula text.

Both end as text for `parse`, so every input meets the same whitelist. Nothing
is called or evaluated: a function is read from its source code.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

from .errors import FlatgradError

# Module prefixes a function body may use for gates: math.exp(x) reads as exp(x).
MODULE_PREFIXES = {"math", "np", "numpy", "jnp", "torch", "flatgrad"}


def function_source(fn) -> tuple[str, tuple[str, ...], dict]:
    """The body of a straight-line Python function as a staged program, its
    parameters (the inputs, in the signature's order; a bound method's `self` is
    not one) and their default values, by name."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except OSError:
        # the interactive prompt, `python -c` and exec keep no source text
        raise FlatgradError(
            f"cannot read the source of {getattr(fn, '__name__', fn)!r}: Python keeps none "
            "for a function defined at the interactive prompt, with `python -c` or by exec",
            hint="pass the formula as text, e.g. flatgrad.compile('x*y + sin(x)'), or define "
                 "the function in a file and import it") from None
    except TypeError as err:
        raise FlatgradError(f"cannot read the source of {fn!r}: {err}") from None
    tree = ast.parse(source)
    found = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda))
             and (getattr(n, "name", "<lambda>") == fn.__name__)]
    if len(found) != 1:
        raise FlatgradError(f"cannot find exactly one definition of {fn.__name__} in its source "
                            "(two lambdas on one line?)")
    node = found[0]
    params = node.args
    if params.vararg or params.kwarg or params.kwonlyargs or params.posonlyargs:
        raise FlatgradError("only plain positional parameters are supported")
    inputs = tuple(a.arg for a in params.args)
    if inspect.ismethod(fn):
        inputs = inputs[1:]  # self (or cls) is bound: not an input
    defaults = {name: p.default for name, p in inspect.signature(fn).parameters.items()
                if p.default is not inspect.Parameter.empty}
    body = [ast.Return(node.body)] if isinstance(node, ast.Lambda) else node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    statements = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name):
            statements.append(f"{stmt.targets[0].id} = {_expression(stmt.value)}")
        elif isinstance(stmt, ast.Return) and stmt is body[-1] and stmt.value is not None:
            statements.append(_expression(stmt.value))
        else:
            raise FlatgradError(f"line {stmt.lineno} of {fn.__name__}: only assignments to a "
                                "name and a final return are supported")
    if not statements:
        raise FlatgradError(f"{fn.__name__} has no return statement")
    return "\n".join(statements), inputs, defaults


class _DropModulePrefix(ast.NodeTransformer):
    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id in MODULE_PREFIXES:
            return ast.copy_location(ast.Name(node.attr, ast.Load()), node)
        return self.generic_visit(node)  # `.T` is kept; anything else the parser refuses


def _expression(node: ast.AST) -> str:
    return ast.unparse(_DropModulePrefix().visit(node))


def sympy_source(expr) -> tuple[str, tuple[str, ...]]:
    """A SymPy expression as formula text, and its free symbols as inputs."""
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):
        # Spell constants and functions as flatgrad's gates; E and pi are written
        # so that a symbol named e or pi stays a variable.
        def _print_Exp1(self, e):
            return "exp(1)"

        def _print_Pi(self, e):
            return "π"

        def _print_Abs(self, e):
            return f"abs({self._print(e.args[0])})"

        def _print_Max(self, e):
            return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

        def _print_Min(self, e):
            return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    text = Printer({"order": "none"}).doprint(expr)
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    order = sorted(symbols, key=lambda s: (text.find(s.name), s.name))
    return text, tuple(s.name for s in order)
