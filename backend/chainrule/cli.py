"""The command line: `chainrule "sin(x*y) + x**2" x=1.5 y=2` prints every step as tables.

The forward values, the backward sweep's chain-rule products (upstream × local = contribution,
with the sums where a value fans out), the gradients, the finite-difference check and the cost of
each method; `--mode forward --wrt x` adds forward mode's tangents; `--json` prints the API's
JSON instead. A mistake in the input exits with status 2, its message and a caret line.

`chainrule serve [--host H] [--port P] [--workers N]` serves the UI and the API;
`chainrule export-html "sin(x*y)" x=1.5 y=2 -o steps.html` writes the offline file;
`chainrule torch train.py:setup [-o steps.html]` reads a PyTorch loss with `from_torch` (with
the same --mode, --wrt, --jacobian, --seed and --check as the text; --of NAME for the output).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .analyses.methods import methods_data
from .answer.models import Answer
from .answer.schemas import (
    Check,
    Jacobian,
    MethodsResponse,
    NodeOut,
    PathsResponse,
    Value,
)
from .core.numbers import decode
from .differentiate import backprop, from_torch, paths_data
from .errors import ChainruleError
from .settings import HOST, LIMITS, PORT, WORKERS

CELL = 48  # longest cell before it is cut with "…"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 for a mistake in the input)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in COMMANDS:
        return COMMANDS[args_list[0]](args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    values = _values(parser, args.values)
    if args.mode == "forward" and not args.wrt:
        parser.error("--mode forward needs --wrt NAME (the input to differentiate by)")
    if args.paths and not args.wrt:
        parser.error("--paths needs --wrt NAME (the input whose paths to the output are listed)")
    try:
        text = _answer(args, values)
    except ChainruleError as err:
        sys.stderr.write(error_text(args.source, err))
        return 2
    sys.stdout.write(text)
    return 0


def _answer(args: argparse.Namespace, values: dict[str, object]) -> str:
    if args.methods:
        methods = MethodsResponse.model_validate(methods_data(args.source, values))
        return methods.model_dump_json() + "\n" if args.json else methods_report(methods)
    if args.paths:
        paths = PathsResponse.model_validate(
            paths_data(args.source, values, wrt=args.wrt, limit=args.limit))
        return paths.model_dump_json() + "\n" if args.json else paths_report(paths)
    result = backprop(args.source, values, check=_check_option(args), mode=args.mode,
                      wrt=args.wrt, seed=args.seed, jacobian=args.jacobian,
                      output=args.output_name)
    return result.model_dump_json(by_alias=True) + "\n" if args.json else report(result)


def _values(parser: argparse.ArgumentParser, items: Sequence[str]) -> dict[str, object]:
    """`name=value` arguments as a dict; a malformed one stops with a usage error."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not NAME.fullmatch(name):
            parser.error(f"values are written name=number or name=[[1,2],[3,4]], not {item!r}")
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            parser.error(f"the value of {name} is not a number or a JSON list: {text!r}")
    return values


def serve_command(argv: Sequence[str]) -> int:
    """`chainrule serve`: the UI, the API and /docs on one port, until interrupted."""
    parser = argparse.ArgumentParser(
        prog="chainrule serve", description="Serve the chainrule UI and API.")
    parser.add_argument("--host", default=HOST, help=f"address to listen on (default {HOST})")
    parser.add_argument("--port", type=int, default=PORT, help=f"port (default {PORT})")
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help=f"worker processes (default {WORKERS}, from CHAINRULE_WORKERS)")
    args = parser.parse_args(argv)
    from .server.main import serve  # uvicorn is needed only here

    serve(args.host, args.port, args.workers)
    return 0


def export_html_command(argv: Sequence[str]) -> int:
    """`chainrule export-html`: one HTML file that plays the steps offline."""
    parser = argparse.ArgumentParser(
        prog="chainrule export-html",
        description="Write one self-contained HTML file that plays every step of the "
        "computation, from file:// and with no network.",
        epilog='example: chainrule export-html "sin(x*y) + x**2" x=1.5 y=2 -o steps.html')
    parser.add_argument("source", help="an expression, or lines `name = expression`")
    parser.add_argument("values", nargs="*", metavar="name=value",
                        help="input values: x=1.5 or W=[[1,2],[3,4]]")
    parser.add_argument("-o", "--output", default="chainrule-steps.html",
                        help="the file to write (default chainrule-steps.html)")
    parser.add_argument("--mode", choices=["reverse", "forward"], default="reverse",
                        help="forward plays forward mode's tangents (needs --wrt)")
    parser.add_argument("--wrt", help="the input forward mode differentiates by")
    args = parser.parse_args(argv)
    values = _values(parser, args.values)
    if args.mode == "forward" and not args.wrt:
        parser.error("--mode forward needs --wrt NAME (the input to differentiate by)")
    try:
        result = backprop(args.source, values, mode=args.mode, wrt=args.wrt)
    except ChainruleError as err:
        sys.stderr.write(error_text(args.source, err))
        return 2
    return _write_offline(result, args.output)


def torch_command(argv: Sequence[str]) -> int:
    """`chainrule torch script.py:fn`: a PyTorch loss read by `from_torch`, every step."""
    parser = argparse.ArgumentParser(
        prog="chainrule torch",
        description="Read a PyTorch loss with from_torch and print every step as tables (or "
        "write the offline file). The script is run as a module (not as __main__); `fn`, "
        "called with no arguments, returns (loss_fn, model) as from_torch takes them, or "
        "returns the loss itself, and is then the loss_fn (its leaf tensors that require "
        "grad are the inputs).",
        epilog="example: chainrule torch train.py:setup -o steps.html")
    parser.add_argument("target", metavar="script.py:fn", help="a Python file and a function "
                        "in it")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
    parser.add_argument("-o", "--output", help="write the offline HTML file there instead")
    _differentiate_options(parser, "--of", "differentiate the value NAME names (a module's "
                           "output, model.0; a loss read as its parts, mse_loss) instead of "
                           "the loss")
    _check_options(parser)
    args = parser.parse_args(argv)
    if args.mode == "forward" and not args.wrt:
        parser.error("--mode forward needs --wrt NAME (the input to differentiate by)")
    fn = _script_function(parser, args.target)
    try:
        result = from_torch(*_loss_and_model(parser, fn), check=_check_option(args),
                            mode=args.mode, wrt=args.wrt, seed=args.seed,
                            jacobian=args.jacobian, output=args.output_name)
    except ChainruleError as err:
        sys.stderr.write(error_text("", err))
        return 2
    if args.output:
        return _write_offline(result, args.output)
    sys.stdout.write(result.model_dump_json(by_alias=True) + "\n" if args.json
                     else report(result))
    return 0


def _script_function(parser: argparse.ArgumentParser, target: str) -> Callable[[], Any]:
    """`fn` of `script.py:fn`, the script run as a module (its folder first on sys.path, as
    `python script.py` has it); a missing file or function stops with a usage error."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name.isidentifier():
        parser.error(f"name a script and a function in it, as train.py:setup, not {target!r}")
    script = Path(path)
    if not script.is_file():
        parser.error(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(script.stem, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(script.resolve().parent))
    spec.loader.exec_module(module)
    fn = getattr(module, name, None)
    if not callable(fn):
        parser.error(f"{path} has no function {name}")
    return fn  # type: ignore[no-any-return]


def _loss_and_model(parser: argparse.ArgumentParser, fn: Callable[[], Any]
                    ) -> tuple[Callable[[], Any], Any]:
    """(loss_fn, model): what `fn()` returns, or `fn` itself when it returns the loss."""
    import torch  # the script has imported it already

    made = fn()
    if isinstance(made, tuple) and len(made) == 2 and callable(made[0]):
        return made[0], made[1]
    if isinstance(made, torch.Tensor):
        return fn, None
    parser.error(f"{fn.__name__}() returned {type(made).__name__}: return (loss_fn, model), "
                 "or the loss tensor")


def _write_offline(result: Answer, path: str) -> int:
    from .export import offline_html

    html = offline_html(result)
    with open(path, "w", encoding="utf-8") as out:
        out.write(html)
    sys.stdout.write(f"wrote {path} ({len(html.encode()) // 1024:,} KB): open it in a "
                     "browser; it plays offline\n")
    return 0


COMMANDS = {"serve": serve_command, "export-html": export_html_command, "torch": torch_command}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule", description="Backpropagation, step by step: the chain rule applied "
        "node by node from the output back to the inputs.",
        epilog='example: chainrule "sin(x*y) + x**2" x=1.5 y=2; '
               '`chainrule serve --port 8000` serves the UI')
    parser.add_argument("source", help="an expression, or lines `name = expression` "
                        "(separated by ; or newlines)")
    parser.add_argument("values", nargs="*", metavar="name=value",
                        help="input values: x=1.5 or W=[[1,2],[3,4]]")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
    _differentiate_options(parser, "--output", "differentiate the line that assigns NAME (a "
                           "scalar) instead of the last line")
    parser.add_argument("--paths", action="store_true", help="the derivative by --wrt as a sum "
                        "over paths: their exact count and the largest ones")
    parser.add_argument("--methods", action="store_true", help="three ways to differentiate: "
                        "symbolic (sympy, with its size), finite differences over h, backprop")
    parser.add_argument("--limit", type=int, default=20, metavar="N",
                        help="--paths lists at most N paths (default 20)")
    _check_options(parser)
    return parser


def _differentiate_options(parser: argparse.ArgumentParser, output: str,
                           output_help: str) -> None:
    """The options every reader takes (`backprop`'s): --mode, --wrt, the output (`output`
    names its flag), --jacobian, --seed."""
    parser.add_argument("--mode", choices=["reverse", "forward"], default="reverse",
                        help="forward adds forward mode's tangents (needs --wrt)")
    parser.add_argument("--wrt", help="the input forward mode (or --paths) differentiates by")
    parser.add_argument(output, dest="output_name", metavar="NAME", help=output_help)
    parser.add_argument("--jacobian", action="store_true", help="print the Jacobian (an array "
                        "output always has it; this asks for it with a scalar output too)")
    parser.add_argument("--seed", type=_json_value, metavar="JSON", help="the cotangent the "
                        "backward pass starts from, shaped like the output (default ones)")


def _check_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", choices=["auto", "elements", "directions"], default="auto",
                       help="the gradient check: each input element on its own (elements), "
                       "random directions per input tensor (directions), or elements for up "
                       f"to {LIMITS.check_elements_up_to} input elements and directions above "
                       "(auto, the default)")
    group.add_argument("--no-check", action="store_true", help="skip the gradient check")


def _check_option(args: argparse.Namespace) -> str | bool:
    return False if args.no_check else str(args.check)


def methods_report(m: MethodsResponse) -> str:
    """The three ways side by side: per input the three numbers, the formula's swell, and the
    finite differences' errors over h (the V of truncation against rounding)."""
    parts = [f"chainrule --methods: {m.source}\noutput = {fmt(m.output)}\n",
             f"\nThree ways to the derivatives ({m.graph_operations} operations in the graph)\n",
             table(["input", "backprop", "symbolic (sympy)", "formula size", "with cse"],
                   [[i.name, fmt(i.backprop), fmt(i.symbolic.value), str(i.symbolic.size),
                     str(i.symbolic.size_cse)] for i in m.inputs])]
    for i in m.inputs:
        fd = i.finite_differences
        parts += [f"\nd output/d{i.name} = {i.symbolic.derivative}\n",
                  f"Finite differences for {i.name}: error against backprop\n",
                  table(["h", "forward", "central"],
                        [[f"{h:.0e}", fmt(f), fmt(c)] for h, f, c in
                         zip(fd.h, fd.forward_error, fd.central_error, strict=True)])]
    c = m.cost
    parts.append(f"\nCost: backprop {c.backprop.note}; finite differences "
                 f"{c.finite_differences.evaluations} evaluations per h; symbolic: "
                 f"{c.symbolic.note}.\n")
    return "".join(parts)


def _json_value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"not a number or a JSON list: {text!r}") from None


def error_text(source: str, err: ChainruleError) -> str:
    """The message, then the source line at fault with carets under the span."""
    text = f"error: {err.message}\n"
    if err.span is None or not source:
        return text
    return text + pointer(source, err.span)


def pointer(source: str, span: tuple[int, int], indent: str = "  ") -> str:
    """The source line where `span` starts, with carets under the span (on that line)."""
    start, end = span
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    line_end = len(source) if line_end < 0 else line_end
    width = max(1, min(end, line_end) - start)
    return (f"{indent}{source[line_start:line_end]}\n"
            f"{indent}{' ' * (start - line_start)}{'^' * width}\n")


def fmt(value: Value | None) -> str:
    """A number or an array, short enough for a table cell."""
    if value is None:
        return "—"
    if isinstance(value, float | int):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    text = np.array2string(decode(value), precision=4, separator=", ",
                           max_line_width=10**6).replace("\n", "")
    return _cut(re.sub(r"\s+", " ", text))


def _cut(text: str) -> str:
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(headers)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                     .rstrip() for line in lines) + "\n"


def report(r: Answer) -> str:
    """Every section of the answer as readable text."""
    expr = {n.id: _cut(n.expr.plain) for n in r.nodes}
    op_text = {n.id: _op_text(n) for n in r.nodes}
    parts = [f"chainrule: {r.source}\noutput = {fmt(r.output.value)}\n",
             "\nForward pass: every node once, inputs first\n",
             table(["#", "node", "expression", "op", "value"],
                   [[str(s.index), s.node, expr[s.node], op_text[s.node], fmt(s.value)]
                    for s in r.forward])]
    if r.tangent is None:
        parts += ["\nBackward pass: the chain rule once per edge, from the output back\n",
                  table(["#", "at", "dL/d(at)", "to input", "local derivative",
                         "upstream × local = contribution", "dL/d(input) so far"],
                        _backward_rows(r, expr))]
    else:
        t = r.tangent
        parts += [f"\nForward mode: d(node)/d{t.wrt}, carried from {t.wrt} to the output\n",
                  f"  {t.seed_note}\n",
                  table(["#", "node", "from", "local derivative", "tangent in", "contribution",
                         f"d(node)/d{t.wrt}"], _tangent_rows(r, expr)),
                  f"  d(output)/d{t.wrt} = {fmt(t.derivative)}\n"]
    parts += ["\nGradients: dL/d(input)\n",
              table(["input", "gradient"], [[n, fmt(g)] for n, g in r.gradients.items()])]
    if r.check is not None:
        parts.append(_check_section(r.check))
        if r.check.rules:
            parts.append(rules_section(r.source, r.check))
    if r.jacobian is not None:
        parts.append(jacobian_section(r.jacobian))
    n = r.cost
    parts.append(f"\nCost for N = {n.input_elements} input elements and M = {n.outputs} output "
                 f"elements: backprop 1 forward + {n.reverse.passes} backward "
                 f"pass{'es' if n.reverse.passes > 1 else ''}; forward mode "
                 f"{n.forward.passes} passes; finite differences "
                 f"{n.finite_differences.evaluations} evaluations.\n")
    parts += [f"\nwarning: {w.message}\n" for w in r.warnings]
    return "".join(parts)


def jacobian_section(j: Jacobian) -> str:
    """The Jacobian as a table: a row per output element, a column per input element."""
    columns = [f"{i.name}{list(k) if i.shape else ''}" for i in j.inputs
               for k in (np.ndindex(*i.shape) if i.shape else [()])]
    outputs = [f"out{list(k)}" if j.output_shape else "out"
               for k in (np.ndindex(*j.output_shape) if j.output_shape else [()])]
    matrix = decode(j.matrix).reshape(j.rows, j.columns)
    rows = [[name, *(fmt(float(x)) for x in row)] for name, row in zip(outputs, matrix,
                                                                        strict=True)]
    return (f"\nJacobian d(output)/d(inputs): {j.rows} × {j.columns}\n"
            + table(["", *columns], rows) + f"  {j.cost.note}\n")


def _op_text(node: NodeOut) -> str:
    """The op column: the op, and for an input whose literal was overridden, which one."""
    if node.literal is not None and node.literal.overridden:
        return f"input, overriding {node.literal.text} (line {node.literal.line})"
    return node.op


def _check_section(c: Check) -> str:
    """Which check ran, over what and why; its rows (directions, then elements); the verdict."""
    verdict = "all within tolerance" if c.ok else "SOME ENTRIES DISAGREE"
    title = ("by random directions" if c.kind == "directions" else "element by element")
    parts = [f"\nGradient check, {title}: {c.reason}\n  {c.method}\n"]
    if c.kind == "directions":
        parts.append(table(["input", "shape", "elements", "directions", "one by one", "ok"], [
            [i.input or i.node, str(i.shape), str(i.size), str(i.directions),
             str(i.elements_checked), "yes" if i.ok else "NO"] for i in c.inputs]))
    if c.directions:
        parts.append(table(["input", "direction", "grad · v", "numeric", "rel. error", "ok"], [
            [d.input or d.node, str(d.direction), fmt(d.backprop), fmt(d.numeric),
             fmt(d.rel_error), "yes" if d.ok else "NO"] for d in c.directions]))
    if c.entries:
        parts.append(table(["input", "index", "backprop", "numeric", "rel. error", "ok"], [
            [e.input or e.node, str(e.index) if e.index else "", fmt(e.backprop),
             fmt(e.numeric), fmt(e.rel_error), "yes" if e.ok else "NO"] for e in c.entries]))
    covered = (f"{c.checked} of {c.elements} elements" if c.kind == "elements" else
               f"{len([i for i in c.inputs if i.directions])} of {len(c.inputs)} input "
               f"tensors ({c.checked} of {c.elements} elements)")
    parts.append(f"  {verdict} ({c.tolerance}); {c.evaluations} evaluations for {covered}"
                 f"{'' if c.complete else ', not all'} (each element on its own: "
                 f"{c.evaluations_for_all})\n")
    return "".join(parts)


def rules_section(source: str, c: Check) -> str:
    """Each derivative rule of the program's own against central differences of its function:
    the verdict, and for a wrong one the rule's line and the node where it is most wrong."""
    parts = ["\nYour own derivative rules, against central differences of their functions:\n"]
    for rule in c.rules:
        parts.append(f"  {'ok' if rule.ok else 'WRONG'}: {rule.message}\n")
        if not rule.ok:
            parts += [pointer(source, rule.decorator_span, "    "),
                      pointer(source, rule.span, "    ")]
    return "".join(parts)


def _backward_rows(r: Answer, expr: dict[str, str]) -> list[list[str]]:
    rows = []
    for s in r.backward:
        if not s.terms:
            rows.append([str(s.index), expr[s.node], fmt(s.upstream), "", "", "",
                         "seed" if s.seed else "complete"])
        for t in s.terms:
            product = (f"{fmt(s.upstream)} × {fmt(t.local)} = {fmt(t.contribution)}"
                       if t.local is not None else f"VJP = {fmt(t.contribution)}")
            total = (f"{fmt(t.before)} + {fmt(t.contribution)} = {fmt(t.after)} (fan-out)"
                     if t.accumulated else fmt(t.after))
            rows.append([str(s.index), expr[s.node], fmt(s.upstream), expr[t.input],
                         _cut(t.rule.plain), product, total])
    return rows


def _tangent_rows(r: Answer, expr: dict[str, str]) -> list[list[str]]:
    assert r.tangent is not None
    rows = []
    for s in r.tangent.steps:
        if not s.terms:
            rows.append([str(s.index), expr[s.node], "seed", "", "", "", fmt(s.tangent)])
        for k, t in enumerate(s.terms):
            rows.append([str(s.index), expr[s.node], expr[t.input],
                         _cut(t.rule.plain), fmt(t.tangent_in),
                         fmt(t.contribution), fmt(s.tangent) if k == len(s.terms) - 1 else ""])
    return rows


def paths_report(p: PathsResponse) -> str:
    """The sum over paths: the count, each listed path with its factors, and the sums."""
    rows = [[str(k + 1), _cut(" → ".join(p.labels[i] for i in path.nodes)),
             _cut(" × ".join(fmt(f) for f in path.factors)), fmt(path.product)]
            for k, path in enumerate(p.paths)]
    listed = "every path" if p.complete else f"the {len(p.paths)} largest by |product|"
    return (f"chainrule: {p.source}\n\nd(output)/d{p.wrt} as a sum over paths: "
            f"{p.count_text} paths from {p.wrt} to the output; {listed}:\n"
            + table(["#", "path", "local derivatives", "product"], rows)
            + f"\n  sum of the listed products = {fmt(p.listed_sum)}"
            + ("" if p.complete else f"; the other paths add {fmt(p.rest_sum)}")
            + f"\n  backprop's gradient         = {fmt(p.gradient)}\n  {p.note}\n")
