"""From source text to a whitelisted syntax tree.

The grammar below is the whole input language. lark's LALR parser (iterative, so a 20,000-term
line cannot exhaust the stack) reads the tokens of `_Lexer` and, as it reduces each rule, calls
`_ToExpr`, which builds `Expr` nodes and refuses, with a span, anything that is not arithmetic
on numbers, names and the functions of the op table. Nothing the user types is ever executed.

Speed (see `_replayed_statements`): lark's table decides each shift and reduction from the token
TYPES alone, and programs repeat a handful of line shapes (`a7 = sin(a6)` is NAME EQUAL NAME LPAR
NAME RPAR). So each line is lexed into `re.Match` objects, its type string looked up in a bounded
cache of the actions lark's own table takes on it, and those actions replayed, calling lark's own
callbacks (the `_ToExpr` methods): the same trees, 2.1-2.8 times faster than lark's own loop
over lark Tokens. Any line the table rejects sends the whole source through lark's plain parse
(`_lark_statements`), which raises the error as always; tests/test_parser_replay.py checks both
against lark whole on random programs.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.common import LexerConf
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.grammar import Rule
from lark.lexer import Lexer, PatternStr
from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift

from .errors import ChainruleError, Span
from .ops import FUNCTIONS, OPS
from .settings import LIMITS, PARSE_CACHE_SHAPES, Limits

# `u.relu()` reads as one method call: at `u.relu` followed by `(`, lark's LALR table shifts (its
# rule for a shift/reduce choice), so the attribute is never reduced on its own there.
GRAMMAR = r"""
start: (_sep | stmt _sep)* stmt?
_sep: _NL | ";"
stmt: NAME "=" expr -> assign
    | NAME AUGASSIGN expr -> augassign
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
    | postfix "." NAME "(" [expr ("," expr)* [","]] ")" -> method
    | postfix "(" [expr ("," expr)* [","]] ")" -> call
    | postfix "[" [expr ("," expr)* [","]] "]" -> index
?atom: NUMBER -> number
    | NAME -> name
    | "(" expr ")"
    | "[" [expr ("," expr)* [","]] "]" -> array

POW: "**" | "^"
AUGASSIGN: "+=" | "-=" | "*=" | "/=" | "**=" | "@="
NAME: /[^\W\d]\w*/
NUMBER: /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/
_NL: /(?:\r?\n)+/
COMMENT: /#[^\n]*/
%ignore COMMENT
%ignore /[ \t\f\r]+/
%ignore /\\\r?\n/
"""


# Groups of _Lexer's regex that are not terminals of the grammar.
_ONE, _BAD, _END = "ONE_CHARACTER", "BAD_CHARACTER", "END_OF_TEXT"


class _Lexer(Lexer):
    """The grammar's terminals in one regular expression, scanned with `finditer`.

    lark's own lexers cost about 2.5 µs a token; this one about a fifth of that. Terminals are
    tried in lark's order (priority, then longest pattern), so the tokens are the same. Each
    match is one token, with the blanks before it (the ignored terminals, none of which a
    terminal tried before it can start with): the token is the match's last group. The
    one-character terminals, tried last, share one group, told apart by their character (each
    group of the regex slows every match: one a terminal took a third longer).
    """

    def __init__(self, conf: LexerConf) -> None:
        terminals = sorted(conf.terminals, key=lambda t: (
            -t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        blanks = "|".join(t.pattern.to_regexp() for t in terminals if t.name in conf.ignore)
        named = [t for t in terminals if t.name not in conf.ignore]
        while named and isinstance(named[-1].pattern, PatternStr) and len(
                named[-1].pattern.value) == 1:
            named.pop()
        self.one_character = {t.pattern.value: t.name for t in terminals
                              if t.name not in conf.ignore and t not in named}
        # Last, any one character no terminal matches (so the matches tile the text), and the
        # end of the text (so blanks at the end are matched too).
        characters = "".join(re.escape(char) for char in self.one_character)
        tokens = [f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in named] + [
            rf"(?P<{_ONE}>[{characters}])", rf"(?P<{_BAD}>[\s\S])", rf"(?P<{_END}>\Z)"]
        self.regex = re.compile(f"(?:{blanks})*(?:{'|'.join(tokens)})")

    def lex(self, data: str) -> Iterator[Token]:  # type: ignore[override]
        for match in self.regex.finditer(data):
            kind = match.lastgroup or ""
            if kind == _BAD:
                raise UnexpectedCharacters(data, match.start(kind), 0, 0)
            if kind != _END:
                start, end = match.span(kind)
                text = match.group(kind)
                kind = self.one_character[text] if kind == _ONE else kind
                yield Token(kind, text, start, None, None, None, None, end)


# ------------------------------------------------------------------------- syntax tree


@dataclass
class Expr:
    """A node of the whitelisted syntax tree: a number, an array literal, a name or an op."""

    kind: str  # "number" | "array" | "name" | "op" ("error" only inside the parser)
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
    r"|[\"'`]|[{}<>!&|~%:]=?|==|\$|\?"  # a lone `=` (assignment) is allowed
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
    return _parse(source, limits, _replayed_statements)


def _parse(source: str, limits: Limits, statements_of: Callable[[str], list[Statement]]
           ) -> Program:
    """`parse`, reading the statements with `statements_of` (the replay, or lark's plain parse:
    both give the same statements, or raise the same lark error)."""
    if len(source) > limits.max_source_chars:
        raise ChainruleError(
            f"the source has {len(source):,} characters; the limit is {limits.max_source_chars:,}",
            (limits.max_source_chars, len(source)), "limit",
        )
    code = _COMMENT_RE.sub(lambda m: " " * len(m.group()), source)
    if _most_nodes(code) > limits.max_nodes:  # counted before parsing, which takes far longer
        _check_node_count(code, limits.max_nodes)
    _check_forbidden(code)
    code = _join_bracketed_lines(code, limits.max_nesting)
    try:
        statements = statements_of(code)
    except UnexpectedInput as err:
        raise _syntax_error(source, err) from None
    for stmt in statements:  # the first refusal, in source order, once the syntax is known good
        if stmt.expr.kind == "error":
            raise stmt.expr.value  # type: ignore[misc]
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
    match = _FORBIDDEN_RE.search(code)
    if match:
        raise ChainruleError(_describe_forbidden(match.group()), match.span(), "forbidden")


def _most_nodes(code: str) -> int:
    """A bound from above on the graph's nodes, from a few character counts (microseconds).

    Each operation comes from an operator, a call's bracket or a dot before a name (`.T`,
    `.relu()`; not the dot of a number such as 0.5); each leaf (number, array, input) is an
    argument of an operation (at most two each), or a whole line of its own.
    """
    operations = sum(code.count(char) for char in "+-*/@^(")
    operations += len(_DOT_BEFORE_NAME_RE.findall(code)) if "." in code else 0
    return 3 * operations + code.count("\n") + code.count(";") + 1


_DOT_BEFORE_NAME_RE = re.compile(r"\.\s*[^\W\d]")


_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
# The tokens that each make at least one node of the graph (numbers, operators, calls, `.T`,
# array literals), and those that tell a binary operator or a call from the rest.
_COUNT_RE = re.compile(rf"(?P<number>{_NUMBER})|(?P<name>[^\W\d]\w*)|(?P<op>\*\*|[-+*/@^])"
                       r"|(?P<transpose>\.\s*T\b)|(?P<other>[^\s\w]|\n)")


def _check_node_count(code: str, max_nodes: int) -> None:
    """Refuse, before parsing, a program whose graph would have more than `max_nodes` nodes.

    The count is a lower bound, read from the tokens in one scan: every number outside an
    array literal, every array literal, binary operator, call, `.T` and unary minus (but the
    sign of a number) makes a node of its own. So it never refuses a program the graph builder
    would admit, and refuses most of those it would not in a small fraction of parsing time.
    """
    count = square = 0
    operand = minus = False  # the last token ends an operand; a unary minus waits for its operand
    for match in _COUNT_RE.finditer(code):
        kind, text = match.lastgroup, match.group()
        if minus and kind != "number":
            count += 1  # a unary minus on anything but a number is a neg node
        minus = False
        if kind == "number":
            count += square == 0
            operand = True
        elif kind == "op":
            if operand:
                count += 1
            elif text == "-" and square == 0:
                minus = True
            operand = False
        elif kind == "transpose":
            count += 1
            operand = True
        elif kind == "name":
            operand = True
            continue
        elif text in "([":
            call = text == "(" and operand
            count += call or (text == "[" and square == 0)
            square += text == "["
            operand = False
        elif text in ")]":
            square = max(0, square - (text == "]"))
            operand = True
        else:
            operand = False
        if count > max_nodes:
            raise ChainruleError(
                f"the graph would have more than {max_nodes:,} nodes: counted from the source "
                "before parsing, the count passes the limit here; split the program or "
                "simplify it", (match.start(), len(code)), "limit")


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


# ------------------------------------------------------ lark's reductions -> Expr
#
# The parser calls these as it reduces each rule (lark's `transformer=` with LALR), so no lark
# tree is built. A refusal does not raise here: it becomes an "error" Expr that the enclosing
# nodes pass on, and parse() raises the first one once the whole source has parsed, so a syntax
# error anywhere still comes first, and otherwise the refusals come in source order.


@dataclass
class _Grouped:
    """A parenthesized expression, or a unary plus: the expression, and the span around it."""

    expr: Expr
    span: Span


# A token reaches the callbacks as a lark `Token` (lark's plain parse) or as the `re.Match` it
# was lexed from (the replay): these read either.
_AnyToken = Token | re.Match[str]
_TOKEN_TYPES = (Token, re.Match)


def _span_of(item: Expr | _Grouped | _AnyToken) -> Span:
    if isinstance(item, re.Match):  # the token is its last group (see _Lexer)
        return item.span(item.lastindex or 0)
    if isinstance(item, Token):
        return (item.start_pos or 0, item.end_pos or 0)
    return item.span


def _outer(children: list[Any]) -> Span:
    return (_span_of(children[0])[0], _span_of(children[-1])[1])


def _token_span(token: _AnyToken) -> Span:
    return _span_of(token)


def _text(token: _AnyToken) -> str:
    if isinstance(token, re.Match):
        return token.group(token.lastindex or 0)
    return str(token)


def _expr(item: Expr | _Grouped) -> Expr:
    return item.expr if isinstance(item, _Grouped) else item


def _operands(children: list[Any]) -> list[Expr]:
    return [c.expr if c.__class__ is _Grouped else c for c in children
            if not isinstance(c, _TOKEN_TYPES)]


def _refused(err: ChainruleError, span: Span) -> Expr:
    return Expr("error", span, value=err)


def _first_error(args: list[Expr], span: Span) -> Expr | None:
    for arg in args:
        if arg.kind == "error":
            return _refused(arg.value, span)  # type: ignore[arg-type]
    return None


def _arithmetic(op: str, children: list[Any]) -> Expr:
    span, args = _outer(children), _operands(children)
    return _first_error(args, span) or Expr("op", span, op=op, args=args)


class _ToExpr(Transformer[_AnyToken, Any]):
    """One method per rule of the grammar: its children (tokens included) to an Expr."""

    def start(self, children: list[Any]) -> list[Statement]:
        return [c for c in children if isinstance(c, Statement)]

    def assign(self, children: list[Any]) -> Statement:
        name, _, item = children
        return Statement(_text(name), _token_span(name), _expr(item), _outer(children))

    def augassign(self, children: list[Any]) -> Statement:
        """`c += e` is `c = c + (e)`: the name read back, then the operator, over the line."""
        name, operator, item = children
        span, read = _outer(children), Expr("name", _token_span(name), name=_text(name))
        op = Expr("op", span, op=AUGMENTED_ASSIGNMENTS[_text(operator)], args=[read, _expr(item)])
        return Statement(_text(name), _token_span(name), _first_error(op.args, span) or op, span)

    def output(self, children: list[Any]) -> Statement:
        return Statement(None, None, _expr(children[0]), _outer(children))

    def number(self, children: list[Any]) -> Expr:
        (token,) = children
        span = _token_span(token)
        try:
            return Expr("number", span, value=_number(token, span))
        except ChainruleError as err:
            return _refused(err, span)

    def name(self, children: list[Any]) -> Expr:
        (token,) = children
        return Expr("name", _token_span(token), name=_text(token))

    def add(self, children: list[Any]) -> Expr:
        return _arithmetic("add", children)

    def sub(self, children: list[Any]) -> Expr:
        return _arithmetic("sub", children)

    def mul(self, children: list[Any]) -> Expr:
        return _arithmetic("mul", children)

    def div(self, children: list[Any]) -> Expr:
        return _arithmetic("div", children)

    def matmul(self, children: list[Any]) -> Expr:
        return _arithmetic("matmul", children)

    def pow(self, children: list[Any]) -> Expr:
        return _arithmetic("pow", children)

    def neg(self, children: list[Any]) -> Expr:
        return _arithmetic("neg", children)

    def pos(self, children: list[Any]) -> Expr | _Grouped:  # unary plus: the operand itself
        return self.atom(children)

    def atom(self, children: list[Any]) -> Expr | _Grouped:  # parentheses
        span, (arg,) = _outer(children), _operands(children)
        return _first_error([arg], span) or _Grouped(arg, span)

    def array(self, children: list[Any]) -> Expr:
        span, args = _outer(children), _operands(children)
        try:
            return _first_error(args, span) or Expr("array", span,
                                                     value=_array_value(args, span))
        except ChainruleError as err:
            return _refused(err, span)

    def attribute(self, children: list[Any]) -> Expr:
        span, (arg,) = _outer(children), _operands(children)
        dot, attr = children[1], _text(children[2])
        if arg.kind == "error":
            return _refused(arg.value, span)  # type: ignore[arg-type]
        if attr != "T":
            call = f"; to apply {attr}, call it: .{attr}()" if attr in FUNCTIONS else ""
            return _refused(ChainruleError(
                f"attributes other than .T (transpose) are not allowed: found .{attr}{call}",
                (_token_span(dot)[0], _token_span(children[2])[1]), "forbidden"), span)
        return Expr("op", span, op="transpose", args=[arg])

    def method(self, children: list[Any]) -> Expr:
        """`u.relu()`, as micrograd writes it: a one-argument function of the table, on u."""
        span, (arg, *extra) = _outer(children), _operands(children)
        dot, attr = children[1], children[2]
        try:
            return _first_error([arg, *extra], span) or _method(
                arg, _text(attr), (_token_span(dot)[0], _token_span(attr)[1]), extra, span)
        except ChainruleError as err:
            return _refused(err, span)

    def index(self, children: list[Any]) -> Expr:
        span = _outer(children)
        return _first_error(_operands(children), span) or _refused(ChainruleError(
            "indexing with [...] is not supported: use whole arrays with sum, mean, @ and "
            "elementwise ops", span, "forbidden"), span)

    def call(self, children: list[Any]) -> Expr:
        span, callee, args = _outer(children), children[0], _operands(children[1:])
        try:
            return _first_error(args, span) or _call(callee, args, span)
        except ChainruleError as err:
            return _refused(err, span)


# Augmented assignment, as Python writes it: `c += e` assigns `c + (e)` to c.
AUGMENTED_ASSIGNMENTS = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div", "**=": "pow",
                         "@=": "matmul"}


def _call(callee: Expr | _Grouped, args: list[Expr], span: Span) -> Expr:
    if isinstance(callee, _Grouped) or callee.kind != "name":
        raise ChainruleError("only the functions of the op table can be called, by name",
                             callee.span, "forbidden")
    fname, fspan = callee.name, callee.span
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


def _method(arg: Expr, name: str, name_span: Span, extra: list[Expr], span: Span) -> Expr:
    op = FUNCTIONS.get(name)
    if op is None or op.arity != 1:
        unary = [f for f, o in FUNCTIONS.items() if o.arity == 1]
        if op is not None:
            hint = f"; {name} takes {op.arity} arguments: write {name}(a, b)"
        else:
            close = difflib.get_close_matches(name, unary, n=1)
            hint = f"; did you mean .{close[0]}()?" if close else f"; known: {', '.join(unary)}"
        raise ChainruleError(f"unknown method '.{name}()': only the one-argument functions of "
                             f"the op table can be called as methods{hint}", name_span,
                             "unknown_function")
    if extra:
        raise ChainruleError(f".{name}() takes no arguments: it applies {name} to the value "
                             "before the dot", (extra[0].span[0], extra[-1].span[1]), "arity")
    return Expr("op", span, op=name, args=[arg])


# keep_all_tokens: spans are computed from the tokens (brackets included), which is much faster
# than lark's propagate_positions.
_PARSER = Lark(GRAMMAR, parser="lalr", lexer=_Lexer, transformer=_ToExpr(), keep_all_tokens=True,
               maybe_placeholders=False)


def _lark_statements(code: str) -> list[Statement]:
    """lark's plain parse of the whole source: its lexer, its parser loop, the callbacks."""
    return cast("list[Statement]", _PARSER.parse(code))


# ------------------------------------------------------- the replay of lark's actions
#
# A statement is parsed alone (its tokens, then the end), as the grammar allows: the source is
# statements between separators, so it parses exactly when each statement does, and each one's
# reductions are the same alone as in the whole. The actions lark's table takes on a statement
# depend only on its token types, so they are found once per shape (`_plan`, cached) and
# replayed on the statement's own tokens (`_replay`).

# Longer statements (a 60,000-number array, a 20,000-term sum) are planned each time, uncached:
# such shapes rarely repeat, and the cache's memory stays a few megabytes.
_CACHED_SHAPE_TOKENS = 256

_Callback = Callable[[list[Any]], Any]
# An action of a plan, (shifts, size, callback): shift `shifts` tokens, then reduce the last
# `size` values with `callback`.
_Action = tuple[int, int, _Callback]
# A reduction in the table: the rule's size, its callback (None when lark's callback returns
# the rule's one child as it is: `?expr: sum`), and the state after it, by the state it uncovers.
_Reduce = tuple[int, _Callback | None, dict[int, int]]


@dataclass(frozen=True)
class _Table:
    """lark's LALR table, keyed by a letter for each terminal (a statement's shape is the string
    of its tokens' letters): in each state, a letter's action is the state to shift to, or a
    reduction."""

    actions: list[dict[str, int | _Reduce]]  # by state
    start: int
    end: int
    letters: dict[str, str]  # terminal -> letter; "\n" for the separators (newline and ";")
    one_character: dict[str, str]  # the letter of each one-character terminal, by its character
    regex: re.Pattern[str]  # _Lexer's


def _read_table(parser: Lark) -> _Table:
    lalr = parser.parser.parser  # lark's LALR_Parser, and its _Parser
    table, callbacks = lalr._parse_table, lalr.parser.callbacks
    separators = {sym.name for rule in callbacks if rule.origin.name == "_sep"
                  for sym in rule.expansion}
    names = [t.name for t in parser.terminals if t.name not in parser.lexer_conf.ignore]
    letters = {name: "\n" if name in separators else chr(ord("A") + i)
               for i, name in enumerate([*names, _BAD, "$END"])}
    reductions = {rule: _reduction(rule, callback, table.states)
                  for rule, callback in callbacks.items()}
    actions: list[dict[str, int | _Reduce]] = [{} for _ in range(max(table.states) + 1)]
    for state, row in table.states.items():
        for kind, (action, arg) in row.items():
            if kind in letters:
                actions[state][letters[kind]] = arg if action is Shift else reductions[arg]
    lexer = _Lexer(parser.lexer_conf)
    one_character = {char: letters[name] for char, name in lexer.one_character.items()}
    return _Table(actions, table.start_states["start"], table.end_states["start"], letters,
                  one_character, lexer.regex)


def _reduction(rule: Rule, callback: Callable[[list[Any]], Any],
               states: dict[int, dict[str, tuple[Any, Any]]]) -> _Reduce:
    size = len(rule.expansion)
    identity = isinstance(callback, ExpandSingleChild) and size == 1
    goto = {state: row[rule.origin.name][1] for state, row in states.items()
            if rule.origin.name in row}
    return size, None if identity else callback, goto


_TABLE = _read_table(_PARSER)
_STATEMENT_RE = re.compile(r"[^\n]+")


def _replayed_statements(code: str) -> list[Statement]:
    """The statements of the source, as `_lark_statements` reads them, by replaying each
    statement shape's actions; a statement the table rejects sends the whole source to lark."""
    letters, one_character = _TABLE.letters, _TABLE.one_character
    tokens = list(_TABLE.regex.finditer(code))
    while tokens and tokens[-1].lastgroup == _END:  # the end of the text (see _Lexer)
        tokens.pop()
    shape = "".join([letters.get(m.lastgroup) or one_character[m.group(_ONE)]  # type: ignore
                     for m in tokens])
    statements: list[Statement] = []
    for statement in _STATEMENT_RE.finditer(shape):
        kinds = statement.group()
        actions = _cached_plan(kinds) if len(kinds) <= _CACHED_SHAPE_TOKENS else _plan(kinds)
        if actions is None:
            return _lark_statements(code)  # raises lark's syntax error
        statements += _replay(actions, tokens, statement.start())
    return statements


def _plan(shape: str) -> tuple[_Action, ...] | None:
    """The actions lark's table takes on a statement of this shape, then the end (the loop of
    lark's `feed_token`), or None if the table rejects it."""
    table, end, accept = _TABLE.actions, _TABLE.letters["$END"], _TABLE.end
    stack, shifts = [_TABLE.start], 0
    plan: list[_Action] = []
    for letter in shape + end:
        while True:
            action = table[stack[-1]].get(letter)
            if action.__class__ is int and letter != end:
                stack.append(action)  # type: ignore[arg-type]
                shifts += 1
                break
            if action is None or action.__class__ is int:
                return None
            size, callback, goto = action  # type: ignore[misc]
            if size == 1:  # `?sum: product`, `atom: NUMBER`, ...: a chain of them in one step
                stack[-1], callbacks = _unit_reductions(stack[-2], stack[-1], letter)
            else:
                if size:
                    del stack[-size:]
                stack.append(goto[stack[-1]])
                callbacks = () if callback is None else (callback,)
            for callback in callbacks:
                plan.append((shifts, size, callback))
                shifts = 0
            if letter == end and stack[-1] == accept:
                return tuple(plan)
    return None


@functools.cache  # at most (states x states x terminals) entries: the table is finite
def _unit_reductions(below: int, top: int, letter: str) -> tuple[int, tuple[_Callback, ...]]:
    """The one-child reductions the table makes in a row on `letter` from `top` over `below`
    (each pops one state and goes to a state over `below`): the state they end in, and their
    callbacks (the grammar's `?expr: sum ... ?atom: NUMBER -> number` take seven for a number,
    and one callback)."""
    table, end, accept = _TABLE.actions, _TABLE.letters["$END"], _TABLE.end
    callbacks: list[_Callback] = []
    action = table[top].get(letter)
    while action.__class__ is tuple and action[0] == 1:  # type: ignore[index]
        _, callback, goto = action  # type: ignore[misc]
        if callback is not None:
            callbacks.append(callback)
        top = goto[below]
        if letter == end and top == accept:
            break
        action = table[top].get(letter)
    return top, tuple(callbacks)


# Actions shared by the plans kept: at most (shifts up to _CACHED_SHAPE_TOKENS + 1) x (rule
# sizes) x (rules) of them, so a plan kept costs a pointer an action (about 2 KB a shape).
_SHARED_ACTIONS: dict[_Action, _Action] = {}


@functools.lru_cache(maxsize=PARSE_CACHE_SHAPES)
def _cached_plan(shape: str) -> tuple[_Action, ...] | None:
    """`_plan`, kept for the most recently used shapes (of at most _CACHED_SHAPE_TOKENS)."""
    plan = _plan(shape)
    return None if plan is None else tuple(_SHARED_ACTIONS.setdefault(a, a) for a in plan)


def _replay(actions: Sequence[_Action], tokens: list[re.Match[str]], pos: int
            ) -> list[Statement]:
    """Run the actions on the tokens from `pos`: shifts push tokens, reductions call lark's
    callbacks on the values they pop; the last, the grammar's `start`, gives the statement."""
    stack: list[Any] = []
    for shifts, size, callback in actions:
        if shifts:
            stack += tokens[pos:pos + shifts]
            pos += shifts
        cut = len(stack) - size
        children = stack[cut:]
        del stack[cut:]
        stack.append(callback(children))
    return cast("list[Statement]", stack[0])


def _number(token: _AnyToken, span: Span) -> float:
    text = _text(token)
    value = float(text)
    if value == _INFINITY:
        raise ChainruleError(f"the number {text[:20]} is too large for float64", span, "limit")
    return value


_INFINITY = float("inf")


def _literal(expr: Expr) -> object:
    value = literal_value(expr)
    if value is None:
        raise ChainruleError("array literals hold numbers only; name the array and pass its "
                             "value, or build it from numbers", expr.span, "forbidden")
    return value


def _array_value(items: list[Expr], span: Span) -> list[object]:
    values = [_literal(item) for item in items]
    kinds = {isinstance(v, list) for v in values}
    if len(kinds) > 1:
        raise ChainruleError("this array mixes numbers and lists: every row must have the "
                             "same shape", span, "shape")
    return values


def literal_value(expr: Expr) -> object | None:
    """The value of a literal (a number, a negated number or an array), or None if not literal."""
    if expr.kind in ("number", "array"):
        return expr.value
    if expr.kind == "op" and expr.op == "neg" and expr.args[0].kind == "number":
        return -float(expr.args[0].value)  # type: ignore[arg-type]
    return None
