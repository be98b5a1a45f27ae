"""The user's own Python source, for importers that run the user's code (`trace`, `from_torch`).

`Source.of(f)` reads a function's lines (`inspect.getsourcelines`, a function or a code object)
and maps a running frame's position into them, so that a node made while that frame runs gets
a span there; `frame_position(frame)` is the position of the expression a frame is executing.
"""

from __future__ import annotations

import ast
import functools
import inspect
from dataclasses import dataclass
from types import CodeType, FrameType

from ..errors import Span, warning

Position = tuple[int, int, int, int]  # line, column, end line, end column (1-based lines)


@dataclass
class Source:
    """A function's source text, and what maps a running frame into it."""

    text: str
    filename: str
    first_line: int
    line_starts: list[int]
    names: dict[Position, str]  # an assignment's value position -> its target
    parameters: dict[str, Span]
    warnings: list[dict[str, object]]

    @classmethod
    def of(cls, f: object) -> Source:
        """Read the source of `f` (a function or a code object); without one (defined in a
        REPL?), the text is empty and a warning says so."""
        code = f if isinstance(f, CodeType) else getattr(inspect.unwrap(f), "__code__", None)  # type: ignore[arg-type]
        try:
            lines, first = inspect.getsourcelines(f)  # type: ignore[arg-type]
        except (OSError, TypeError):
            name = getattr(f, "__qualname__", None) or getattr(f, "co_qualname", None) or \
                type(f).__name__
            missing = warning("no_source", f"the source of {name} is not available (typed "
                              "into an interactive prompt?), so no node points into it")
            return cls("", "", 0, [0], {}, {}, [missing])
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line))
        filename = code.co_filename if isinstance(code, CodeType) else ""
        source = cls("".join(lines), filename, max(first, 1), starts, {}, {}, [])
        source.read_assignments()
        return source

    def read_assignments(self) -> None:
        """Names of assignments (`h = ...`, `c += ...`) and spans of the parameters, by ast.

        Only parsed, never run; an indented method or a lambda inside a longer line may not
        parse alone, and then nodes keep their spans but not their names.
        """
        text, shift = self.text, 0
        if text[:1].isspace():
            text, shift = "if 1:\n" + text, 1
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name):
                self.names[self.position(node.value, shift)] = node.targets[0].id
                if isinstance(node.value, ast.Attribute) and node.value.attr == "values":
                    # torch's max(dim) answers (values, indices): `m = x.max(1).values`
                    inner = self.position(node.value.value, shift)
                    self.names.setdefault(inner, node.targets[0].id)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                self.names[self.position(node, shift)] = node.target.id
            elif isinstance(node, ast.arg) and node.arg not in self.parameters:
                line, col, _, _ = self.position(node, shift)
                start = self.offset(line, col)
                self.parameters[node.arg] = (start, start + len(node.arg))

    def position(self, node: ast.expr | ast.stmt | ast.arg, shift: int) -> Position:
        """An ast node's position in the file: (line, column, end line, end column)."""
        line = self.first_line + node.lineno - 1 - shift
        end_line = self.first_line + (node.end_lineno or node.lineno) - 1 - shift
        return (line, node.col_offset, end_line, node.end_col_offset or node.col_offset)

    def span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        """A source position (1-based lines of the file, UTF-8 byte columns) as a span."""
        return (self.offset(line, col), self.offset(end_line, end_col))

    def offset(self, line: int, col: int) -> int:
        index = min(max(line - self.first_line, 0), len(self.line_starts) - 2)
        if index < 0:
            return 0
        start, end = self.line_starts[index], self.line_starts[index + 1]
        chars = len(self.text[start:end].encode()[:col].decode(errors="ignore"))
        return start + chars

    def contains(self, code: CodeType) -> bool:
        """Whether a frame running `code` runs lines of this function (or of its closures)."""
        last = self.first_line + len(self.line_starts) - 2
        return code.co_filename == self.filename and self.first_line <= code.co_firstlineno <= last


@functools.lru_cache(maxsize=1024)
def _positions(code: CodeType) -> list[tuple[int | None, int | None, int | None, int | None]]:
    return list(code.co_positions())


def instruction_position(code: CodeType, instruction: int) -> Position | None:
    """The position of the expression the instruction at byte offset `instruction` of `code`
    computes (None where the compiler left none)."""
    positions = _positions(code)
    index = instruction // 2
    if not 0 <= index < len(positions):
        return None
    line, end_line, col, end_col = positions[index]
    if line is None or col is None:
        return None
    return (line, col, end_line or line, end_col if end_col is not None else col)


def frame_position(frame: FrameType) -> Position | None:
    """The position of the expression a frame is executing (a call, while its callee runs)."""
    positions = _positions(frame.f_code)
    index = frame.f_lasti // 2
    if not 0 <= index < len(positions):
        return None
    line, end_line, col, end_col = positions[index]
    if line is None or col is None:
        return (frame.f_lineno, 0, frame.f_lineno + 1, 0)
    return (line, col, end_line or line, end_col if end_col is not None else col)
