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
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.common import LexerConf
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.grammar import Rule
from lark.lexer import Lexer, PatternStr
from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift

from ..core.composites import COMPOSITES
from ..core.indexing import ARRAY, Component, key_text
from ..core.joins import JOINS
from ..core.ops import FUNCTIONS, OPS, Op, check_params
from ..errors import ChainruleError, Span
from ..settings import LIMITS, PARSE_CACHE_SHAPES, Limits

# `u.relu()` reads as one method call: at `u.relu` followed by `(`, lark's LALR table shifts (its
# rule for a shift/reduce choice), so the attribute is never reduced on its own there.
GRAMMAR = r"""
start: (_sep | stmt _sep)* stmt?
_sep: _NL | ";"
stmt: NAME "=" expr -> assign
    | NAME AUGASSIGN expr -> augassign
    | DEF NAME "(" [NAME ("," NAME)* [","]] ")" ":" [RETURN expr] -> define
    | RETURN expr -> give
    | "@" NAME "(" LAMBDA [NAME ("," NAME)* [","]] ":" rule ")" -> decorate
    | expr         -> output
?rule: expr
    | "(" expr ("," expr)+ [","] ")" -> rules

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
    | postfix "." NAME "(" [arg ("," arg)* [","]] ")" -> method
    | postfix "(" [arg ("," arg)* [","]] ")" -> call
    | postfix "[" [subscript ("," subscript)* [","]] "]" -> index
?subscript: expr
    | [expr] ":" [expr] [":" [expr]] -> slice
    | ELLIPSIS -> ellipsis
?arg: expr
    | NAME "=" expr -> keyword
?atom: NUMBER -> number
    | NAME -> name
    | "(" expr ")"
    | "[" [expr ("," expr)* [","]] "]" -> array

POW: "**" | "^"
ELLIPSIS: "..."
DEF.2: /def(?!\w)/
RETURN.2: /return(?!\w)/
LAMBDA.2: /lambda(?!\w)/
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


@dataclass(slots=True)  # tens of thousands a program: made and read faster with slots
class Expr:
    """A node of the whitelisted syntax tree: a number, an array literal, a name or an op."""

    kind: str  # "number" | "array" | "name" | "op" ("error" only inside the parser)
    span: Span
    op: str = ""
    args: list[Expr] = field(default_factory=list)
    value: object = None  # float for numbers, nested lists of floats for arrays
    name: str = ""
    params: tuple[tuple[str, object], ...] = ()  # an op's static params (`axis=0`): ops.py


def postorder(root: Expr) -> Iterator[Expr]:
    """The expressions of `root`, each after its arguments (left to right), without recursion:
    the order every reader of a tree builds in (the graph, a primitive's steps, its text)."""
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        expr, expanded = stack.pop()
        if expr.kind in ("op", "call") and not expanded:
            stack.append((expr, True))
            stack.extend((arg, False) for arg in reversed(expr.args))
            continue
        yield expr


@dataclass(slots=True)
class Statement:
    """One line: `name = expr`, or a bare expression (only as the last line, the output)."""

    target: str | None
    target_span: Span | None
    expr: Expr
    span: Span


@dataclass(eq=False)
class Function:
    """A `def` of the program: its parameters and its one `return` expression.

    A call inlines the body with the arguments bound. With an `@derivative(lambda ...: ...)`
    line above it, the function is a primitive instead: one node of the graph, its forward the
    body, its local derivative by each parameter the lambda's expression in that position
    (`rule`). Calls in the body and the rule are resolved (`Expr.value` is the Function): a
    function calls only functions defined above it, and its rule may call it itself.
    """

    name: str
    params: list[str]
    body: Expr
    span: Span  # from `def` to the end of the return expression
    name_span: Span
    rule: list[Expr] | None = None  # one derivative per parameter, for a primitive
    decorator_span: Span | None = None  # the `@derivative(...)` line
    depth: int = 1  # how deeply calls nest inside a call of it (itself included)
    size: int = 0  # the nodes one call of it makes (its arguments aside)
    # The operations one call of it applies at one point, calls of primitives run in full (a
    # primitive's body calling another twice doubles: counted here before anything runs).
    work: int = 0
    rule_work: int = 0  # for a primitive: the same for its rule, one derivative per parameter

    # Its rule may call it: compared, hashed and shown by its def alone, never recursing.
    def __repr__(self) -> str:
        return f"Function({self.name}({', '.join(self.params)}))"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Function) and (self.name, self.params, self.span) == (
            other.name, other.params, other.span)

    def __hash__(self) -> int:
        return hash((self.name, self.span))

    @property
    def primitive(self) -> bool:
        """Whether it is one node with the learner's own derivative (@derivative)."""
        return self.rule is not None


@dataclass
class Program:
    """The parsed source: its statements, the last of which is the output, and the functions
    it defines (in the order of their `def`s)."""

    source: str
    statements: list[Statement]
    functions: dict[str, Function] = field(default_factory=dict)


# The lines of a function, as the parser reads them one at a time (assembled by _assemble).
Param = tuple[str, Span]


@dataclass
class _Define:
    """`def name(params):`, with its return expression when it is on the same line."""

    name: str
    name_span: Span
    params: list[Param]
    body: Expr | None
    span: Span


@dataclass
class _Return:
    """`return expr`, the body of the def above."""

    expr: Expr
    span: Span


@dataclass
class _Decorator:
    """`@name(lambda params: rule)`, `rule` a tuple of expressions for several parameters."""

    name: str
    name_span: Span
    params: list[Param]
    params_span: Span
    rule: list[Expr]
    rule_span: Span
    span: Span


@dataclass
class _Rules:
    """A parenthesized tuple of expressions: a rule's derivatives by several parameters."""

    exprs: list[Expr]
    span: Span


_Line = Statement | _Define | _Return | _Decorator
_LINES = (Statement, _Define, _Return, _Decorator)


# Python syntax that is not arithmetic, found before parsing so the message can name it.
_FORBIDDEN_RE = re.compile(
    r"\b(lambda|for|in|if|else|elif|import|def|class|return|and|or|not|is|while|yield|await|"
    r"async|with|from|global|nonlocal|pass|del|try|except|raise|assert|True|False|None)\b"
    r"|[\"'`]|[{}<>!&|~%:]=?|==|\$|\?"  # a lone `=` (assignment) is allowed
)
_COMMENT_RE = re.compile(r"#[^\n]*")

_FORBIDDEN_WORDS = {
    "lambda": "lambda is allowed only in a derivative rule, on the line above a def: "
              "@derivative(lambda x: ...)",
    "def": "def starts a line of its own: def f(x): then an indented line return ...",
    "return": "return is the body of a function: an indented line under its def",
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


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


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
    lone = _SURROGATE_RE.search(source)
    if lone:  # JSON's "\udcff" escape decodes to one; no UTF-8 answer could echo it
        raise ChainruleError(
            f"the character U+{ord(lone.group()):04X} is half of a UTF-16 surrogate pair, not a "
            "character of its own: the source must be valid Unicode text", lone.span(),
            "syntax")
    code = _COMMENT_RE.sub(lambda m: " " * len(m.group()), source)
    if _most_nodes(code) > limits.max_nodes:  # counted before parsing, which takes far longer
        _check_node_count(code, limits.max_nodes)
    defined = frozenset(_DEF_NAME_RE.findall(code)) if "def" in code else frozenset()
    _check_forbidden(_without_function_syntax(code) if defined or "@" in code else code)
    code = _join_bracketed_lines(code, limits.max_nesting)
    reset = _USER_FUNCTIONS.set(defined)
    try:
        lines = cast("list[_Line]", statements_of(code))
    except UnexpectedInput as err:
        raise _syntax_error(source, err) from None
    finally:
        _USER_FUNCTIONS.reset(reset)
    plain = all(line.__class__ is Statement for line in lines)
    for line in lines:  # the first refusal, in source order, once the syntax is known good
        for expr in [line.expr] if line.__class__ is Statement else _line_exprs(line):
            if expr.kind == "error":
                raise expr.value  # type: ignore[misc]
    statements, functions = (cast("list[Statement]", lines), {}) if plain else _assemble(
        source, lines, limits)
    if not statements:
        raise ChainruleError("the source is empty: type an expression such as x*y + sin(x)",
                             (0, len(source)), "syntax")
    for stmt in statements[:-1]:
        if stmt.target is None:
            raise ChainruleError(
                "only the last line may be a bare expression (the output); give this line a "
                "name, as in `h = ...`", stmt.span, "syntax")
    return Program(source, statements, functions)


# A keyword argument's literal value, `(x, keepdims=True)`: True, False and None are read there
# (and only there), so the forbidden-syntax check skips them.
_KEYWORD_LITERAL_RE = re.compile(r"(?<=[(,])([ \t]*[^\W\d]\w*[ \t]*=[ \t]*)(True|False|None)\b")


def _check_forbidden(code: str) -> None:
    if "=" in code:
        code = _KEYWORD_LITERAL_RE.sub(lambda m: m.group(1) + " " * len(m.group(2)), code)
    if "[" in code:
        code = _without_index_syntax(code)
    match = _FORBIDDEN_RE.search(code)
    if match:
        raise ChainruleError(_describe_forbidden(match.group()), match.span(), "forbidden")


# The names the source defines with `def`, found before parsing: a call of one of them is kept
# as a "call" Expr for _assemble to resolve (the parser's callbacks cannot know, as they reduce
# a line, what the lines around it define). Set by _parse for the length of one parse.
_DEF_NAME_RE = re.compile(r"^[ \t]*def[ \t]+([^\W\d]\w*)", re.MULTILINE)
_USER_FUNCTIONS: ContextVar[frozenset[str]] = ContextVar("user_functions", default=frozenset())

# Where the Python words and the colon of a function are in their place: `def f(x):`, a line
# `return ...`, `@derivative(lambda x, y: ...)`. The forbidden-syntax check skips these (and
# only these) characters; the grammar then reads them.
_FUNCTION_SYNTAX_RE = re.compile(
    r"^[ \t]*(?P<def>def)[ \t]+[^\W\d]\w*[ \t]*\([^()]*\)[ \t]*(?P<colon>:)"
    r"(?:[ \t]*(?P<inline>return)(?!\w))?"
    r"|^[ \t]*(?P<ret>return)(?!\w)"
    r"|^[ \t]*@[ \t]*[^\W\d]\w*[ \t]*\([ \t]*(?P<lambda>lambda)(?!\w)[^:()]*(?P<arrow>:)",
    re.MULTILINE)


# Inside square brackets, a slice's colon and None (a new axis) are an index's own syntax.
_INDEX_SYNTAX_RE = re.compile(r"[\[\]]|:|\bNone\b")


def _without_index_syntax(code: str) -> str:
    """The code with the colons and Nones inside square brackets blanked (offsets kept), for
    the forbidden-syntax check: `x[1:3, None]` is an index, `a: 1` is not Python we read."""
    chars, depth = list(code), 0
    for match in _INDEX_SYNTAX_RE.finditer(code):
        text = match.group()
        if text in "[]":
            depth = max(0, depth + (1 if text == "[" else -1))
        elif depth:
            chars[match.start():match.end()] = " " * len(text)
    return "".join(chars)


def _without_function_syntax(code: str) -> str:
    """The code with the words and colons of `def`, `return` and `@derivative(lambda ...:`
    blanked where they stand in their place (offsets kept), for the forbidden-syntax check."""
    chars = list(code)
    for match in _FUNCTION_SYNTAX_RE.finditer(code):
        for group in ("def", "colon", "inline", "ret", "lambda", "arrow"):
            start, end = match.span(group)
            chars[start:end] = " " * (end - start)
    return "".join(chars)


def _most_nodes(code: str) -> int:
    """A bound from above on the graph's nodes, from a few character counts (microseconds).

    Each operation comes from an operator, a call's bracket or a dot before a name (`.T`,
    `.relu()`; not the dot of a number such as 0.5); each leaf (number, array, input) is an
    argument of an operation (at most two each), or a whole line of its own.
    """
    operations = sum(code.count(char) for char in "+-*/@^([")
    if "stack" in code or "concatenate" in code:  # a join's item: up to 2 nodes and a leaf
        operations += code.count(",")
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
    count = square = paren = 0
    operand = minus = False  # the last token ends an operand; a unary minus waits for its operand
    keyword = False  # after `=` inside a call's brackets: a keyword's literal makes no node
    # Each open bracket's function and its commas: `max_pool2d(x, 2)`'s 2 is a param, no node.
    calls: list[list[Any]] = []
    name = ""  # the name just before, if the last token was one
    join_list = False  # the `(` of a join just before: its list is no array literal
    for match in _COUNT_RE.finditer(code):
        kind, text = match.lastgroup, match.group()
        before, name = name, ""
        listed, join_list = join_list and text == "[", False
        if minus and kind != "number":
            count += 1  # a unary minus on anything but a number is a neg node
        minus = False
        literal, keyword = keyword, False
        if kind == "number":
            count += square == 0 and not literal
            operand = True
        elif kind == "op":
            if operand and square == 0:  # inside brackets: an index (data) or a literal
                count += 1
            elif literal and text == "-":
                keyword = True  # `axis=-1`: the literal's sign
            elif text == "-" and square == 0:
                minus = True
            operand = False
        elif kind == "transpose":
            count += 1
            operand = True
        elif kind == "name":
            operand = True
            name = text
            continue
        elif text in "([":
            call = text == "(" and operand and square == 0
            join_list = call and before in JOINS
            count += (call and not join_list) or (  # `axes=[0, 2, 1]`, a param: no node
                text == "[" and square == 0 and not listed and not literal)
            square += text == "["
            paren += text == "("
            if text == "(":
                calls.append([before if call else "", 0])
            operand = False
        elif text in ")]":
            square = max(0, square - (text == "]"))
            paren = max(0, paren - (text == ")"))
            if text == ")" and calls:
                calls.pop()
            operand = True
        else:
            keyword = text == "=" and paren > 0
            if text == "," and calls and square == 0:
                calls[-1][1] += 1
                keyword = calls[-1][1] >= _PARAMS_AFTER.get(calls[-1][0], 1 << 30)
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
    if not _joins_or_too_deep(code, max_nesting):  # the usual source: nothing to do
        return code
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


def _joins_or_too_deep(code: str, max_nesting: int) -> bool:
    """Whether `_join_bracketed_lines` has anything to do: a newline inside brackets, or
    brackets nested too deep (the same walk over the characters alone, without positions)."""
    depth = 0
    for char in _STRUCTURE_RE.findall(code):
        if char == "(" or char == "[":
            depth += 1
            if depth > max_nesting:
                return True
        elif char == "\n":
            if depth > 0:
                return True
        elif depth > 0:
            depth -= 1
    return False


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


@dataclass(slots=True)
class _Grouped:
    """A parenthesized expression, or a unary plus: the expression, and the span around it."""

    expr: Expr
    span: Span


# A token reaches the callbacks as a lark `Token` (lark's plain parse) or as the `re.Match` it
# was lexed from (the replay): these read either.
_AnyToken = Token | re.Match[str]
_TOKEN_TYPES = (Token, re.Match)


_MATCH = re.Match


def _span_of(item: Expr | _Grouped | _AnyToken) -> Span:
    kind = item.__class__
    if kind is _MATCH:  # the token is its last group (see _Lexer)
        return item.span(item.lastindex or 0)  # type: ignore[union-attr, operator]
    if kind is Expr or kind is _Grouped:
        return item.span  # type: ignore[union-attr, return-value]
    if isinstance(item, Token):
        return (item.start_pos or 0, item.end_pos or 0)
    return item.span  # type: ignore[union-attr, return-value]


def _outer(children: list[Any]) -> Span:
    return (_span_of(children[0])[0], _span_of(children[-1])[1])


def _token_span(token: _AnyToken) -> Span:
    return _span_of(token)


def _text(token: _AnyToken) -> str:
    if token.__class__ is _MATCH:
        return token.group(token.lastindex or 0)  # type: ignore[union-attr]
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

    def start(self, children: list[Any]) -> list[_Line]:
        return [c for c in children if isinstance(c, _LINES)]

    def define(self, children: list[Any]) -> _Define:
        """`def name(params):`, and `return expr` when it follows on the same line."""
        name, close = children[1], _closing(children)
        body = _operands(children[close + 1:])
        return _Define(_text(name), _token_span(name), _params(children[3:close]),
                       body[0] if body else None, _outer(children))

    def give(self, children: list[Any]) -> _Return:
        return _Return(_operands(children)[0], _outer(children))

    def decorate(self, children: list[Any]) -> _Decorator:
        """`@name(lambda params: rule)`."""
        colon = next(k for k, c in enumerate(children) if k > 3 and _is_token(c, ":"))
        rule = children[colon + 1]
        exprs = rule.exprs if isinstance(rule, _Rules) else [_expr(rule)]
        params = children[4:colon]
        return _Decorator(_text(children[1]), _token_span(children[1]), _params(params),
                          (_token_span(children[3])[0], _token_span(children[colon])[1]),
                          exprs, _span_of(rule), _outer(children))

    def rules(self, children: list[Any]) -> _Rules:
        return _Rules(_operands(children), _outer(children))

    def assign(self, children: list[Any]) -> Statement:
        name, _, item = children
        span = _span_of(name)
        return Statement(_text(name), span, item.expr if item.__class__ is _Grouped else item,
                         (span[0], _span_of(item)[1]))

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
        if token.__class__ is _MATCH:  # the replay's token: read at once (two a line)
            group = token.lastindex or 0
            return Expr("name", token.span(group), name=token.group(group))
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
        except ChainruleError as err:  # its items kept: a join's list (_join_list) reads them
            return Expr("error", span, args=args, value=err)

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
        """`x[0]`, `x[1:3, :]`, `x[:, None]`: an `index` node, its key a param; `C[X]`,
        `p[arange(n), y]`: a `gather` node, the arrays data the builder reads (Expr.value)."""
        span, (arg, *parts) = _outer(children), _operands(children)
        try:
            return _first_error([arg, *parts], span) or _subscript(arg, parts, span)
        except ChainruleError as err:
            return _refused(err, span)

    def slice(self, children: list[Any]) -> Expr:
        """`a:b`, `:`, `::2`: bounds are literal integers, fixed when the graph is built."""
        bounds: list[object] = [None]
        for child in children:
            if _is_token(child, ":"):
                bounds.append(None)
            elif child.kind == "error":
                return child  # type: ignore[no-any-return]
            else:
                try:
                    bounds[-1] = _index_int(child, "a slice's bound")
                except ChainruleError as err:
                    return _refused(err, err.span or _outer(children))
        return Expr("slice", _outer(children), value=slice(*bounds))

    def ellipsis(self, children: list[Any]) -> Expr:
        return Expr("ellipsis", _outer(children), value=Ellipsis)

    def keyword(self, children: list[Any]) -> Expr:
        """`axis=0` in a call's arguments: kept as a "keyword" Expr for _call to read."""
        span, (value,) = _outer(children), _operands(children)
        if value.kind == "error":
            return _refused(value.value, span)  # type: ignore[arg-type]
        return Expr("keyword", span, name=_text(children[0]), args=[value])

    def call(self, children: list[Any]) -> Expr:
        span, callee, args = _outer(children), children[0], _operands(children[1:])
        try:
            if _is_second_order(callee):
                return _second_order_call(callee.name, args, span)  # type: ignore[union-attr]
            args = _join_list(callee, args)
            return _first_error(args, span) or _call(callee, args, span)
        except ChainruleError as err:
            return _refused(err, span)


# Augmented assignment, as Python writes it: `c += e` assigns `c + (e)` to c.
AUGMENTED_ASSIGNMENTS = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div", "**=": "pow",
                         "@=": "matmul"}


def _is_token(item: object, text: str) -> bool:
    return isinstance(item, _TOKEN_TYPES) and _text(item) == text  # type: ignore[arg-type]


def _closing(children: list[Any]) -> int:
    return next(k for k, c in enumerate(children) if _is_token(c, ")"))


def _params(tokens: list[Any]) -> list[Param]:
    """The names of a parameter list (its commas left out), with their spans."""
    return [(_text(t), _token_span(t)) for t in tokens if not _is_token(t, ",")]


def _call(callee: Expr | _Grouped, args: list[Expr], span: Span) -> Expr:
    if isinstance(callee, _Grouped) or callee.kind != "name":
        raise ChainruleError("only the functions of the op table and the program's own "
                             "functions can be called, by name", callee.span, "forbidden")
    fname, fspan = callee.name, callee.span
    args, keywords = _positional(args), [a for a in args if a.kind == "keyword"]
    if fname in _USER_FUNCTIONS.get():  # resolved by _assemble, once every def is known
        if keywords:
            raise ChainruleError(f"{fname} is the program's own function: call it with its "
                                 "arguments in order, without names", keywords[0].span, "arity")
        return Expr("call", span, args=args, name=fname)
    if fname == "arange":
        return _arange(args, keywords, span)
    if fname in JOINS:
        return _join_call(fname, args, keywords, span)
    fname = REDUCTIONS.get(fname, fname) if len(args) == 1 else NUMPY_NAMES.get(fname, fname)
    op = FUNCTIONS.get(fname)
    if op is None and fname in COMPOSITES:
        return _composite(fname, args, keywords, span)
    if op is not None and "key" in dict(op.params):  # index, gather, index_set, scatter_set
        raise ChainruleError(f"{fname} is written with brackets, not called: x[0], x[1:3, :], "
                             "C[X], p[arange(n), y] (a write, x[i] = v, is read by trace "
                             "from numpy code)", fspan, "forbidden")
    if op is not None and op.params and len(args) > op.arity:
        args, keywords = _params_by_position(op, args, keywords)
    if op is None:
        close = difflib.get_close_matches(fname, [*FUNCTIONS, *COMPOSITES], n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(FUNCTIONS)}"
        if fname in OPS:
            hint = f"; write it with its operator: {OPS[fname].expr.plain}"
        raise ChainruleError(f"unknown function '{fname}'{hint}", fspan, "unknown_function")
    if len(args) != op.arity:
        raise ChainruleError(
            f"{fname} takes {op.arity} argument{'s' if op.arity > 1 else ''}, "
            f"got {len(args)}", span, "arity")
    return Expr("op", span, op=fname, args=args, params=_keyword_params(op, keywords))


def _arange(args: list[Expr], keywords: list[Expr], span: Span) -> Expr:
    """`arange(n)`, `arange(a, b)`, `arange(a, b, step)` of literal integers: data (indices),
    as numpy makes it; an index uses it, and elsewhere it is an array constant."""
    if keywords or not 1 <= len(args) <= 3:
        raise ChainruleError("arange takes one to three literal integers: arange(n), "
                             "arange(start, stop) or arange(start, stop, step)", span, "arity")
    bounds = [_index_int(a, "arange's argument") for a in args]
    if len(bounds) == 3 and bounds[2] == 0:
        raise ChainruleError("arange's step cannot be 0", args[2].span, "value")
    values = range(*bounds)
    if not values:
        raise ChainruleError(f"arange({', '.join(map(str, bounds))}) is empty", span, "value")
    if len(values) > LIMITS.max_array_elements:
        raise ChainruleError(f"arange would make {len(values):,} numbers; the limit is "
                             f"{LIMITS.max_array_elements:,}", span, "limit")
    return Expr("arange", span, value=[float(v) for v in values])


# The functions whose arguments after their operands are params (`conv2d(x, w, 2)` a stride,
# `sum(x, 0)` an axis, in the order of the entry's params): how many operands come first; the
# node count before parsing makes no node of them.
_PARAMS_AFTER = {name: op.arity for name, op in FUNCTIONS.items() if op.params}


# ------------------------------------------------ activations: params by position, composites


def _params_by_position(op: Op, args: list[Expr], keywords: list[Expr]
                        ) -> tuple[list[Expr], list[Expr]]:
    """`clip(x, 0, 6)`, `leaky_relu(x, 0.1)`, `sum(x, 0)`: the arguments after the op's
    operands are its params, in the entry's order, as numpy passes them (read as keywords)."""
    extra = args[op.arity:]
    names = [name for name, _ in op.params]
    if len(extra) > len(names):
        raise ChainruleError(f"{op.name} takes {op.arity} operand{'s' * (op.arity > 1)} and "
                             f"at most {len(names)} parameter{'s' * (len(names) > 1)} "
                             f"({', '.join(names)}), got {len(args)} arguments", extra[-1].span,
                             "arity")
    named = [Expr("keyword", e.span, name=name, args=[e]) for name, e in zip(names, extra)]
    return args[:op.arity], [*named, *keywords]


def _composite(name: str, args: list[Expr], keywords: list[Expr], span: Span) -> Expr:
    """A call of a composite (`gelu(x)`): an "op" Expr of its name, which program.py builds
    as a group of its parts (core/composites.py)."""
    composite = COMPOSITES[name]
    if keywords:
        raise ChainruleError(f"{name} takes no keyword arguments", keywords[0].span, "arity")
    if len(args) != composite.arity:
        raise ChainruleError(f"{name} takes {composite.arity} argument, got {len(args)}", span,
                             "arity")
    return Expr("op", span, op=name, args=args)


# ------------------------------------------------ second order: grad and hvp as lines
# `g = grad(L, x)` builds L's backward pass as nodes (readers/backward.py); `grad(L, [x, y])`
# stacks several gradients; `grad(L, x, v)` seeds an array L with v (a VJP); `hvp(L, x, v)` is
# `grad(grad(L, x), x, v)`, the Hessian of L times v, reverse over reverse.
SECOND_ORDER = {"grad": "grad(L, x), grad(L, [x, y]) or grad(L, x, seed)",
                "hvp": "hvp(L, x, v)"}


def _is_second_order(callee: Expr | _Grouped) -> bool:
    return (callee.__class__ is Expr and callee.kind == "name"  # type: ignore[union-attr]
            and callee.name in SECOND_ORDER  # type: ignore[union-attr]
            and callee.name not in _USER_FUNCTIONS.get())  # type: ignore[union-attr]


def _second_order_call(name: str, args: list[Expr], span: Span) -> Expr:
    """`grad(L, x)`, `grad(L, [x, y])`, `grad(L, x, seed)`, `hvp(L, x, v)`: an Expr of kind
    "grad" (`name` says which), its args [L, x..., seed?] and `value` how many x there are."""
    usage = SECOND_ORDER[name]
    for arg in args:
        if arg.kind == "keyword":
            raise ChainruleError(f"{name} takes no keyword arguments: {usage}", arg.span,
                                 "arity")
    if not 2 <= len(args) <= 3 or (name == "hvp" and len(args) != 3):
        raise ChainruleError(f"{name} takes {'three' if name == 'hvp' else 'two or three'} "
                             f"arguments: {usage}", span, "arity")
    wrt = args[1]
    if wrt.kind in ("error", "array") and name == "grad":  # a list: `[x, y]`
        items = wrt.args if wrt.kind == "error" else []
        if not items:
            raise ChainruleError(f"grad differentiates with respect to names: {usage}",
                                 wrt.span, "grad")
    else:
        items = [wrt]
    for item in items:
        if item.kind != "name":
            raise ChainruleError(f"{name} differentiates with respect to a name of the "
                                 f"program (an input or a line's target), not "
                                 f"{'a number' if item.kind == 'number' else 'an expression'}: "
                                 f"{usage}", item.span, "grad")
    for arg in (args[0], *args[2:]):
        if arg.kind == "error":
            raise arg.value  # type: ignore[misc]
    return Expr("grad", span, name=name, args=[args[0], *items, *args[2:]], value=len(items))


# ------------------------------------------------ joins: a list of arrays (core/joins.py)
# A join's list is one argument, its params after it: its call and list make no node counted.
_PARAMS_AFTER.update(dict.fromkeys(JOINS, 1))
_AXIS_JOINS = ("concatenate", "stack")  # the joins that take an axis


def _join_list(callee: Expr | _Grouped, args: list[Expr]) -> list[Expr]:
    """A join's first argument, a list (`concatenate([a, b])`), as an Expr of kind "list"
    holding its items; anything else as it is (elsewhere a list of expressions stays the
    refusal `array` made of it: array literals hold numbers)."""
    if not (callee.__class__ is Expr and callee.kind == "name" and  # type: ignore[union-attr]
            callee.name in JOINS and callee.name not in _USER_FUNCTIONS.get()  # type: ignore[union-attr]
            and args):
        return args
    first = args[0]
    if first.kind == "error" and first.args:
        items = first.args
    elif first.kind == "array" and isinstance(first.value, list):
        items = [Expr("array" if isinstance(v, list) else "number", first.span, value=v)
                 for v in first.value]
    else:
        return args
    return [Expr("list", first.span, args=items), *args[1:]]


def _join_call(name: str, args: list[Expr], keywords: list[Expr], span: Span) -> Expr:
    """`concatenate([a, b], axis=1)`, `stack([a, b, c])`, `hstack([a, b])`: an "op" Expr of
    the function's name, its operands the list's items and its axis a param (given by
    position or by name), which program.py builds (core/joins.py)."""
    axis = name in _AXIS_JOINS
    usage = f"{name}([a, b]{', axis=0' if axis else ''})"
    if not args or args[0].kind != "list":
        raise ChainruleError(f"{name} takes a list of arrays: {usage}",
                             args[0].span if args else span, "arity")
    extra = args[1:]
    if len(extra) > (1 if axis else 0):
        raise ChainruleError(f"{name} takes a list of arrays{' and its axis' if axis else ''}: "
                             f"{usage}", extra[-1].span, "arity")
    keywords = [Expr("keyword", e.span, name="axis", args=[e]) for e in extra] + keywords
    for kw in keywords:
        if kw.name != "axis" or not axis:
            raise ChainruleError(f"{name} takes no parameter {kw.name!r}: {usage}", kw.span,
                                 "arity")
    return Expr("op", span, op=name, args=args[0].args,
                params=_keyword_params(OPS["concatenate"], keywords))


# `max(x, axis=1)` and `x.max()`, numpy's spelling: one array, so the reduction (np.max) and
# not the elementwise max of two (np.maximum).
REDUCTIONS = {"max": "amax", "min": "amin"}
# numpy's names of the table's functions where they differ (`maximum(x, 0)`, np.maximum's).
NUMPY_NAMES = {name: op.name for op in FUNCTIONS.values() for name in op.numpy
               if name not in FUNCTIONS and name.isidentifier()}


def _subscript(arg: Expr, parts: list[Expr], span: Span) -> Expr:
    """`arg[parts]`: each part an integer, a slice, None or `...` (the key, static), or an
    array of integers (data: a name given in the values, a list, `arange(n)`), an `@` in the
    key. Where the key is not read is refused at its part's span."""
    components: list[Component] = []
    data: list[Expr] = []
    for part in parts:
        if part.kind in ("slice", "ellipsis"):
            components.append(part.value)  # type: ignore[arg-type]
        elif part.kind == "name" and part.name == "None":
            components.append(None)
        elif _is_int_literal(part):
            components.append(_index_int(part, "an index"))
        elif _is_data(part):
            components.append(ARRAY)
            data.append(part)
        else:
            raise ChainruleError("an index is data, fixed before the graph runs: an integer, a "
                                 "slice such as 1:3, None, ..., or an array of integers (a name "
                                 "given in the values, a list, arange(n)); it is never "
                                 "differentiated", part.span, "forbidden")
    if not parts:
        raise ChainruleError("an index needs something between the brackets: x[0], x[1:3]",
                             span, "syntax")
    text = key_text(tuple(components))
    if data:
        return Expr("op", span, op="gather", args=[arg], value=data, params=(("key", text),))
    return Expr("op", span, op="index", args=[arg], params=(("key", text),))


def _is_data(expr: Expr) -> bool:
    """An index array as the parser reads one: a name, a list, `arange(...)`, or one of
    these negated or indexed with a basic key (`-i`, `Y[:2]`)."""
    while expr.kind == "op" and expr.op in ("neg", "index"):
        expr = expr.args[0]
    return expr.kind in ("name", "array", "arange")


def _is_int_literal(expr: Expr) -> bool:
    number = expr.args[0] if expr.kind == "op" and expr.op == "neg" and expr.args else expr
    return number.kind == "number" and float(number.value).is_integer()  # type: ignore[arg-type]


def _index_int(expr: Expr, what: str) -> int:
    """A literal integer (`3`, `-1`) where an index or a slice's bound stands."""
    if not _is_int_literal(expr):
        raise ChainruleError(f"{what} must be a literal integer such as 2 or -1",
                             expr.span, "value")
    number = expr.args[0] if expr.kind == "op" else expr
    return int(number.value) * (-1 if number is not expr else 1)  # type: ignore[call-overload]


def _positional(args: list[Expr]) -> list[Expr]:
    """A call's arguments before its keywords (a positional one after a keyword: refused)."""
    for before, after in itertools.pairwise(args):
        if before.kind == "keyword" and after.kind != "keyword":
            raise ChainruleError("a positional argument cannot follow a keyword argument",
                                 after.span, "syntax")
    return [a for a in args if a.kind != "keyword"]


def _keyword_params(op: Op, keywords: list[Expr]) -> tuple[tuple[str, object], ...]:
    """The static params a call names (`axis=0, keepdims=True`): literal integers, True, False
    or None, each checked against the op's entry; anything else refused at its span."""
    given: dict[str, object] = {}
    for kw in keywords:
        if kw.name in given:
            raise ChainruleError(f"{kw.name} is given twice", kw.span, "syntax")
        if not op.params:
            raise ChainruleError(f"{op.name} takes no keyword arguments", kw.span, "arity")
        given[kw.name] = _literal_param(kw.args[0])
        try:
            check_params(op, {kw.name: given[kw.name]})
        except ValueError as err:  # a number where an integer goes: the number is wrong
            span = kw.args[0].span if isinstance(given[kw.name], float) else kw.span
            raise ChainruleError(str(err), span, "value") from None
    return check_params(op, given)


def _literal_param(value: Expr) -> object:
    """A keyword's value as a literal: an integer (`1`, `-1`), a number (`0.1`: the op's
    entry says where one is read), True, False or None."""
    if value.kind == "name" and value.name in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[value.name]
    negative = value.kind == "op" and value.op == "neg" and len(value.args) == 1
    number = value.args[0] if negative else value
    if number.kind == "number":
        number_value = float(number.value)  # type: ignore[arg-type]
        if number_value.is_integer():
            return int(number_value) * (-1 if negative else 1)
        return number_value * (-1 if negative else 1)
    if value.kind == "array" and isinstance(value.value, list) and all(
            isinstance(v, float) and v.is_integer() for v in value.value):
        return tuple(int(v) for v in value.value)  # `axes=[0, 2, 1]`, `axis=[0, 2]`
    raise ChainruleError("a parameter's value (`axis=0`, clip's bounds) must be a literal "
                         "number, True, False or None (it is fixed when the graph is built, not "
                         "differentiated)",
                         value.span, "value")


def _method(arg: Expr, name: str, name_span: Span, extra: list[Expr], span: Span) -> Expr:
    keywords = [e for e in extra if e.kind == "keyword"]
    extra = _positional(extra)
    if name in COMPOSITES and name not in FUNCTIONS:  # `x.gelu()`, as micrograd writes relu
        return _composite(name, [arg, *extra], keywords, span)
    name = REDUCTIONS.get(name, name) if not extra else name
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
    return Expr("op", span, op=name, args=[arg], params=_keyword_params(op, keywords))


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
    callbacks (the grammar's `?expr: sum ... ?arg: expr
    | NAME "=" expr -> keyword
?atom: NUMBER -> number` take seven for a number,
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
    push = stack.append
    for shifts, size, callback in actions:
        if shifts:
            stack += tokens[pos:pos + shifts]
            pos += shifts
        if size:
            children = stack[-size:]
            del stack[-size:]
            push(callback(children))
        else:
            push(callback([]))
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
                             "value, or build it from numbers (arrays are joined by "
                             "concatenate([a, b]) or stack([a, b]))", expr.span, "forbidden")
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


# ------------------------------------------------------------------- functions
#
# The parser reads a function as lines (`@derivative(...)`, `def ...:`, `return ...`);
# _assemble puts them together, in source order, and resolves every call of a program's own
# function: to the Function (a function calls only those defined above it), with its span and
# the number of its arguments checked.


def _line_exprs(line: _Line) -> list[Expr]:
    if isinstance(line, _Define):
        return [] if line.body is None else [line.body]
    if isinstance(line, _Decorator):
        return line.rule
    return [line.expr]


def _line_number(source: str, pos: int) -> int:
    return source.count("\n", 0, pos) + 1


def _indented(source: str, pos: int) -> bool:
    """Whether the text at `pos` starts its line after some blanks."""
    before = source[source.rfind("\n", 0, pos) + 1:pos]
    return before != "" and before.strip(" \t") == ""


def _assemble(source: str, lines: list[_Line], limits: Limits
              ) -> tuple[list[Statement], dict[str, Function]]:
    """The program's statements and its functions, from the lines the parser read. Calls can
    multiply the nodes (a function calling another twice, and so on): the nodes they would
    make are counted here, and a program over the node limit refused before it is built."""
    defs: dict[str, _Define] = {}
    for line in lines:
        if isinstance(line, _Define):
            defs.setdefault(line.name, line)
    functions: dict[str, Function] = {}
    statements: list[Statement] = []
    assigned: dict[str, Span] = {}
    decorator: _Decorator | None = None
    nodes = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if isinstance(line, _Decorator):
            if not (i < len(lines) and isinstance(lines[i], _Define)):
                raise ChainruleError("a decorator goes on the line just above the def it "
                                     "decorates: no def follows this one", line.span, "syntax")
            decorator = line
        elif isinstance(line, _Define):
            body, i = _body(source, line, lines, i)
            function = _function(source, line, body, decorator, _Scope(
                source, functions, defs, line.name), assigned, limits)
            functions[function.name] = function
            decorator = None
        elif isinstance(line, _Return):
            raise ChainruleError("return belongs in a function: an indented line under its "
                                 "def", line.span, "syntax")
        else:
            scope = _Scope(source, functions, defs)
            scope.resolve(line.expr)
            nodes += scope.size
            if nodes > limits.max_nodes:
                raise ChainruleError(
                    f"with its calls of functions, the graph would have more than "
                    f"{limits.max_nodes:,} nodes by this line; call fewer, or smaller, "
                    "functions", line.span, "limit")
            if line.target is not None and line.target in defs:
                where = _line_number(source, defs[line.target].span[0])
                raise ChainruleError(f"{line.target} is a function (line {where}): pick "
                                     "another name for this value", line.target_span,
                                     "duplicate")
            if line.target is not None and line.target_span is not None:
                assigned.setdefault(line.target, line.target_span)
            statements.append(line)
    return statements, functions


def _body(source: str, define: _Define, lines: list[_Line], i: int) -> tuple[Expr, int]:
    """The return expression of a def (on its line, or the indented line below), and where
    the lines after the function start; refuses any other shape of body."""
    name = define.name
    if _indented(source, define.span[0]):
        raise ChainruleError(f"def {name} is indented: a def starts its line (functions are "
                             "defined at the top level only)", define.span, "syntax")
    body = define.body
    if body is None:
        after = lines[i] if i < len(lines) else None
        if isinstance(after, _Return) and _indented(source, after.span[0]):
            body, i = after.expr, i + 1
        elif after is not None and _indented(source, after.span[0]):
            raise ChainruleError(f"the body of {name} is one line, `return <expression>`: "
                                 "write the whole expression in the return (a function "
                                 "names no values of its own)", after.span, "syntax")
        else:
            raise ChainruleError(f"def {name} has no body: write `    return <expression>` on "
                                 "the line below, indented", define.span, "syntax")
    if i < len(lines) and _indented(source, lines[i].span[0]):
        raise ChainruleError(f"the body of {name} is its one `return` line: this line is "
                             "indented as if it were part of it", lines[i].span, "syntax")
    return body, i


def _function(source: str, define: _Define, body: Expr, decorator: _Decorator | None,
              scope: _Scope, assigned: dict[str, Span], limits: Limits) -> Function:
    """A Function from its lines, its calls resolved and its names checked."""
    name = define.name
    if name in scope.functions:
        raise ChainruleError(f"{name} is defined twice (first on line "
                             f"{_line_number(source, scope.functions[name].span[0])})",
                             define.name_span, "duplicate")
    if name in assigned:
        raise ChainruleError(f"{name} is a value assigned on line "
                             f"{_line_number(source, assigned[name][0])}: pick another name "
                             "for the function", define.name_span, "duplicate")
    params = [p for p, _ in define.params]
    for k, (param, span) in enumerate(define.params):
        if param in params[:k]:
            raise ChainruleError(f"the parameter {param} appears twice", span, "duplicate")
        if param == name or param in scope.defs or param in FUNCTIONS:
            raise ChainruleError(f"the parameter {param} shadows the function {param}: pick "
                                 "another name", span, "shadowing")
    span = (define.span[0], body.span[1])
    function = Function(name, params, body, span, define.name_span)
    scope.params = params
    function.depth = scope.resolve(body)
    function.size, function.work = scope.size, scope.work
    if decorator is not None:
        function.rule, function.decorator_span = _rule(decorator, function), decorator.span
        scope.own = function  # the rule may call the function itself (its body)
        function.depth = max([function.depth, *map(scope.resolve, function.rule)])
        function.rule_work = scope.work - function.work
    if function.depth > limits.max_nesting:
        raise ChainruleError(f"calls of functions nest {function.depth} deep here; the limit is "
                             f"{limits.max_nesting}", define.name_span, "limit")
    _check_work(function, limits)
    return function


def _check_work(function: Function, limits: Limits) -> None:
    """Refuse a function whose one call, at one point, would apply more operations than
    limits.max_function_work: counted from the calls it makes, before any is compiled or run
    (a primitive calling the one before it twice, thirty deep, is 2^30 operations)."""
    work = function.work + function.rule_work
    if work > limits.max_function_work:
        what = "its body and rule" if function.primitive else "its body"
        raise ChainruleError(
            f"one call of {function.name} would apply {work:,} operations at each point "
            f"({what}, with every call they make run in full); the limit is "
            f"{limits.max_function_work:,}: call fewer functions inside it",
            function.name_span, "limit")


def _rule(decorator: _Decorator, function: Function) -> list[Expr]:
    """The derivatives of @derivative(lambda ...: ...), one per parameter of the function."""
    name, params = function.name, function.params
    if decorator.name != "derivative":
        raise ChainruleError(f"unknown decorator @{decorator.name}: the one decorator is "
                             "@derivative(lambda x: ...), your own derivative rule",
                             decorator.name_span, "unknown_function")
    if not 1 <= len(params) <= 2:
        raise ChainruleError(f"a function with a derivative rule is a primitive of one or two "
                             f"arguments, as the op table's own; {name} takes {len(params)}",
                             function.name_span, "arity")
    given = [p for p, _ in decorator.params]
    if given != params:
        raise ChainruleError(f"the rule's parameters must be {name}'s own, in order: "
                             f"lambda {', '.join(params)}: ...", decorator.params_span,
                             "arity")
    if len(decorator.rule) != len(params):
        what = "a tuple (d/d" + ", d/d".join(params) + ")" if len(params) > 1 else "one expression"
        count = len(decorator.rule)
        raise ChainruleError(f"the rule gives {count} derivative{'s' * (count > 1)} for "
                             f"{len(params)} parameter{'s' * (len(params) > 1)}: write {what}",
                             decorator.rule_span, "arity")
    return decorator.rule


@dataclass
class _Scope:
    """What the names and calls of one expression may refer to: in a statement, the program's
    values and the functions defined above; in a function's body or rule, its parameters."""

    source: str
    functions: dict[str, Function]  # defined above
    defs: dict[str, _Define]  # every def of the program
    within: str | None = None  # the function whose body or rule this is
    params: list[str] | None = None
    own: Function | None = None  # in a rule: the function itself, which it may call
    size: int = 0  # the nodes the expressions resolved so far make, calls inlined
    work: int = 0  # the operations they apply at one point, calls of primitives run in full

    def resolve(self, root: Expr) -> int:
        """Point each call of a program's function at it; how deeply calls nest in `root`
        (1: none). Adds the nodes it makes to `size`."""
        depth = 0
        stack = [root]
        while stack:
            expr = stack.pop()
            if expr.kind == "name":
                self._name(expr)
            elif expr.kind != "call":
                self.size += 1  # an op, a number or an array
                self.work += 1
            else:
                function = self._callee(expr)
                if function is None:  # a def that the grammar did not read as one
                    table = _call(Expr("name", expr.span, name=expr.name), expr.args, expr.span)
                    expr.kind, expr.op = table.kind, table.op
                else:
                    expr.value = function
                    depth = max(depth, 0 if function is self.own else function.depth)
                self.size += 1 if function is None or function.primitive else function.size
                self.work += 1 if function is None else function.work
            stack.extend(expr.args)
        return depth + 1

    def _name(self, expr: Expr) -> None:
        name, within = expr.name, self.within
        if self.params is not None and name in self.params:
            return
        if name in self.defs:
            raise ChainruleError(f"{name} is a function: call it, as in {name}(...)", expr.span,
                                 "unknown_name")
        if self.params is not None:
            raise ChainruleError(f"unknown name '{name}' in {within}: a function sees only its "
                                 f"parameters ({', '.join(self.params) or 'none'}); pass "
                                 f"{name} as an argument", expr.span, "unknown_name")

    def _callee(self, expr: Expr) -> Function | None:
        name = expr.name
        function = self.functions.get(name)
        if function is None and self.own is not None and name == self.own.name:
            function = self.own
        if function is None and name in self.defs:
            line = _line_number(self.source, self.defs[name].span[0])
            if name == self.within:
                raise ChainruleError(f"{name} calls itself: recursion is not allowed (a "
                                     "function calls only functions defined above it)",
                                     expr.span, "recursion")
            where = f"below {self.within}" if self.within else "below this line"
            raise ChainruleError(f"{name} is defined on line {line}, {where}: a function can "
                                 "be called only after its def", expr.span, "recursion")
        if function is not None and len(expr.args) != len(function.params):
            count = len(function.params)
            raise ChainruleError(f"{name} takes {count} argument{'s' * (count != 1)} "
                                 f"({', '.join(function.params)}), got {len(expr.args)}",
                                 expr.span, "arity")
        return function
