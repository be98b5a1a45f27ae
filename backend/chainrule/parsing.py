"""From source text to a whitelisted syntax tree.

The grammar below is the whole input language: lark's LALR parser (iterative, so a 20,000-term
line cannot exhaust the stack) turns the text into a tree, and `_convert` turns that tree into
`Expr` nodes, refusing with a span anything that is not arithmetic on numbers, names and the
functions of the op table. Nothing the user types is ever executed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import ChainruleError, Span
from .ops import FUNCTIONS, OPS
from .settings import LIMITS, Limits

GRAMMAR = r"""
start: (_sep | stmt _sep)* stmt?
_sep: _NL | ";"
stmt: NAME "=" expr -> assign
    | expr         -> output

?expr: sum
?sum: product
    | sum "+" product -> add
    | sum "-" product -> sub
?product: unary
    | product "*" unary -> mul
    | product "/" unary -> div
    | product "@" unary -> matmul
?unary: power
    | "-" unary -> neg
    | "+" unary -> pos
?power: postfix
    | postfix POW unary -> pow
?postfix: atom
    | postfix "." NAME -> attribute
    | postfix "(" [expr ("," expr)* [","]] ")" -> call
    | postfix "[" [expr ("," expr)* [","]] "]" -> index
?atom: NUMBER -> number
    | NAME -> name
    | "(" expr ")"
    | "[" [expr ("," expr)* [","]] "]" -> array

POW: "**" | "^"
NAME: /[^\W\d]\w*/
NUMBER: /(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/
_NL: /(\r?\n)+/
COMMENT: /#[^\n]*/
%ignore COMMENT
%ignore /[ \t\f\r]+/
%ignore /\\\r?\n/
"""

# keep_all_tokens: spans are computed from the tokens (brackets included), which is much faster
# than lark's propagate_positions.
_PARSER = Lark(GRAMMAR, parser="lalr", keep_all_tokens=True, maybe_placeholders=False)

# ------------------------------------------------------------------------- syntax tree


@dataclass
class Expr:
    """A node of the whitelisted syntax tree: a number, an array literal, a name or an op."""

    kind: str  # "number" | "array" | "name" | "op"
    span: Span
    op: str = ""
    args: list[Expr] = field(default_factory=list)
    value: object = None  # float for numbers, nested lists of floats for arrays
    name: str = ""


@dataclass
class Statement:
    """One line: `name = expr`, or a bare expression (only as the last line, the output)."""

    target: str | None
    target_span: Span | None
    expr: Expr
    span: Span


@dataclass
class Program:
    """The parsed source: its statements, the last of which is the output."""

    source: str
    statements: list[Statement]


# Python syntax that is not arithmetic, found before parsing so the message can name it.
_FORBIDDEN_RE = re.compile(
    r"\b(lambda|for|in|if|else|elif|import|def|class|return|and|or|not|is|while|yield|await|"
    r"async|with|from|global|nonlocal|pass|del|try|except|raise|assert|True|False|None)\b"
    r"|[\"'`]|[{}<>!&|~%:=]=?|\$|\?"
)
_COMMENT_RE = re.compile(r"#[^\n]*")

_FORBIDDEN_WORDS = {
    "lambda": "lambda functions are not allowed: write the expression itself",
    "for": "comprehensions and loops are not allowed: write each line out",
    "if": "conditionals are not allowed: use max, min, relu or abs",
    "import": "imports are not allowed: only the functions of the op table can be called",
}


def _describe_forbidden(text: str) -> str:
    if text in ("'", '"', "`"):
        return "strings are not allowed: chainrule works on numbers"
    if text in _FORBIDDEN_WORDS:
        return _FORBIDDEN_WORDS[text]
    if text.isidentifier():
        return f"'{text}' is Python syntax that chainrule does not accept"
    if text in ("$", "?"):
        return f"unexpected character '{text}' here"
    return f"the operator '{text}' is not supported: use + - * / ** ^ @ and .T"


def parse(source: str, limits: Limits = LIMITS) -> Program:
    """Parse a program into statements of whitelisted expressions, or raise ChainruleError."""
    if len(source) > limits.max_source_chars:
        raise ChainruleError(
            f"the source has {len(source):,} characters; the limit is {limits.max_source_chars:,}",
            (limits.max_source_chars, len(source)), "limit",
        )
    code = _COMMENT_RE.sub(lambda m: " " * len(m.group()), source)
    _check_forbidden(code)
    try:
        tree = _PARSER.parse(_join_bracketed_lines(code, limits.max_nesting))
    except UnexpectedInput as err:
        raise _syntax_error(source, err) from None
    spans = _spans(tree)
    statements = [_statement(stmt, spans) for stmt in tree.children if isinstance(stmt, Tree)]
    if not statements:
        raise ChainruleError("the source is empty: type an expression such as x*y + sin(x)",
                             (0, len(source)), "syntax")
    for stmt in statements[:-1]:
        if stmt.target is None:
            raise ChainruleError(
                "only the last line may be a bare expression (the output); give this line a "
                "name, as in `h = ...`", stmt.span, "syntax")
    return Program(source, statements)


def _check_forbidden(code: str) -> None:
    for match in _FORBIDDEN_RE.finditer(code):
        if match.group() == "=":  # assignment; `==` and the like are refused
            continue
        raise ChainruleError(_describe_forbidden(match.group()), match.span(), "forbidden")


_STRUCTURE_RE = re.compile(r"[()\[\]\n]")


def _join_bracketed_lines(code: str, max_nesting: int) -> str:
    """Newlines inside brackets join lines, as in Python: they become spaces (offsets kept).

    Also refuses brackets nested deeper than `max_nesting`, at the first one too deep.
    """
    depth = 0
    joins = []
    for match in _STRUCTURE_RE.finditer(code):
        char = match.group()
        if char in "([":
            depth += 1
            if depth > max_nesting:
                raise ChainruleError(
                    f"brackets are nested more than {max_nesting} deep; split the expression "
                    "into named lines", match.span(), "limit")
        elif char in ")]":
            depth = max(0, depth - 1)
        elif depth > 0:
            joins.append(match.start())
    if not joins:
        return code
    chars = list(code)
    for i in joins:
        chars[i] = " "
    return "".join(chars)


def _syntax_error(source: str, err: UnexpectedInput) -> ChainruleError:
    if isinstance(err, UnexpectedToken) and err.token.type == "$END" or isinstance(
        err, UnexpectedEOF
    ):
        end = len(source.rstrip())
        return ChainruleError("the source ends too early: an operand or a closing bracket is "
                              "missing", (max(0, end - 1), end), "syntax")
    if isinstance(err, UnexpectedToken):
        tok = err.token
        start = tok.start_pos or 0
        span = (start, max(tok.end_pos or start + 1, start + 1))
        if tok.type == "_NL":
            return ChainruleError("this line ends too early: an operand or a closing bracket "
                                  "is missing", (max(0, start - 1), start), "syntax")
        shown = str(tok).replace("\n", "\\n")
        return ChainruleError(f"unexpected '{shown}' here", span, "syntax")
    assert isinstance(err, UnexpectedCharacters)
    pos = err.pos_in_stream or 0
    char = source[pos]
    return ChainruleError(f"unexpected character '{char}' here", (pos, pos + 1), "syntax")


# --------------------------------------------------------------- lark tree -> Expr


Spans = dict[int, Span]


def _spans(tree: Tree) -> Spans:
    """The character span of every subtree, from its first and last tokens (bottom-up)."""
    spans: Spans = {}
    for sub in tree.iter_subtrees():
        ends = [_token_span(c) if isinstance(c, Token) else spans[id(c)] for c in sub.children]
        spans[id(sub)] = (ends[0][0], ends[-1][1]) if ends else (0, 0)
    return spans


def _token_span(token: Token) -> Span:
    return (token.start_pos or 0, token.end_pos or 0)


def _statement(stmt: Tree, spans: Spans) -> Statement:
    if stmt.data == "assign":
        name_tok, _, expr = stmt.children
        assert isinstance(name_tok, Token) and isinstance(expr, Tree)
        return Statement(str(name_tok), _token_span(name_tok), _convert(expr, spans),
                         spans[id(stmt)])
    expr = stmt.children[0]
    assert isinstance(expr, Tree)
    return Statement(None, None, _convert(expr, spans), spans[id(stmt)])


def _convert(root: Tree, spans: Spans) -> Expr:
    """Turn a lark subtree into an Expr, iteratively (post-order with an explicit stack)."""
    done: dict[int, Expr] = {}
    stack: list[tuple[Tree, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        children = _operands(node)
        if not expanded and children:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
            continue
        done[id(node)] = _build(node, [done.pop(id(c)) for c in children], spans)
    return done[id(root)]


def _operands(node: Tree) -> list[Tree]:
    """The children that are expressions (not brackets, operators, names of attributes)."""
    trees = [c for c in node.children if isinstance(c, Tree)]
    return trees[1:] if node.data == "call" else trees


_ARITHMETIC = {"add", "sub", "mul", "div", "matmul", "pow", "neg"}


def _build(node: Tree, args: list[Expr], spans: Spans) -> Expr:
    span = spans[id(node)]
    kind = node.data
    if kind == "number":
        token = node.children[0]
        assert isinstance(token, Token)
        return Expr("number", span, value=_number(token))
    if kind == "name":
        return Expr("name", span, name=str(node.children[0]))
    if kind in _ARITHMETIC:
        return Expr("op", span, op=str(kind), args=args)
    if kind in ("pos", "atom"):  # unary plus, parentheses
        return args[0]
    if kind == "array":
        return Expr("array", span, value=_array_value(args, span))
    if kind == "attribute":
        dot, attr = node.children[1], node.children[2]
        assert isinstance(dot, Token) and isinstance(attr, Token)
        if str(attr) != "T":
            raise ChainruleError(
                f"attributes other than .T (transpose) are not allowed: found .{attr}",
                (_token_span(dot)[0], _token_span(attr)[1]), "forbidden")
        return Expr("op", span, op="transpose", args=args)
    if kind == "call":
        return _call(node, args, spans)
    if kind == "index":
        raise ChainruleError("indexing with [...] is not supported: use whole arrays with "
                             "sum, mean, @ and elementwise ops", span, "forbidden")
    raise ChainruleError(f"unsupported syntax '{kind}'", span, "forbidden")


def _call(node: Tree, args: list[Expr], spans: Spans) -> Expr:
    callee, span = node.children[0], spans[id(node)]
    assert isinstance(callee, Tree)
    if callee.data != "name":
        raise ChainruleError("only the functions of the op table can be called, by name",
                             spans[id(callee)], "forbidden")
    fname = str(callee.children[0])
    fspan = spans[id(callee)]
    op = FUNCTIONS.get(fname)
    if op is None:
        close = difflib.get_close_matches(fname, FUNCTIONS, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(FUNCTIONS)}"
        if fname in OPS:
            hint = f"; write it with its operator: {OPS[fname].expr.plain}"
        raise ChainruleError(f"unknown function '{fname}'{hint}", fspan, "unknown_function")
    if len(args) != op.arity:
        raise ChainruleError(
            f"{fname} takes {op.arity} argument{'s' if op.arity > 1 else ''}, "
            f"got {len(args)}", span, "arity")
    return Expr("op", span, op=fname, args=args)


def _number(token: Token) -> float:
    value = float(str(token))
    if value == float("inf"):
        raise ChainruleError(f"the number {str(token)[:20]} is too large for float64",
                             _token_span(token), "limit")
    return value


def _literal(expr: Expr) -> object:
    if expr.kind in ("number", "array"):
        return expr.value
    if expr.kind == "op" and expr.op == "neg" and expr.args[0].kind == "number":
        return -float(expr.args[0].value)  # type: ignore[arg-type]
    raise ChainruleError("array literals hold numbers only; name the array and pass its "
                         "value, or build it from numbers", expr.span, "forbidden")


def _array_value(items: list[Expr], span: Span) -> list[object]:
    values = [_literal(item) for item in items]
    kinds = {isinstance(v, list) for v in values}
    if len(kinds) > 1:
        raise ChainruleError("this array mixes numbers and lists: every row must have the "
                             "same shape", span, "shape")
    return values




def literal_value(expr: Expr) -> object | None:
    """The value of a literal (a number, a negated number or an array), or None if not literal."""
    try:
        return _literal(expr)
    except ChainruleError:
        return None
