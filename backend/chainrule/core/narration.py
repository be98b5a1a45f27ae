"""The sentences of the steps, as templates: one string each, filled with a step's numbers.

Nothing stores a step's text: the answer carries numbers (columns) and these templates once, and
each language's renderer fills them (records.py for the CLI and the Python API,
frontend/src/records.js for the page). `{name}` is a slot; any other brace is the formula's own
(LaTeX), left as it is. The op-specific parts (a node's formula, a local derivative's rule, a
kink's convention) are the op table's templates, sent with the answer's `ops`.
"""

from __future__ import annotations

import functools
import re

TEMPLATES: dict[str, str] = {
    "forward_input": "Input {name} = {value}{override}.",
    "override": ", overriding the literal {literal} of line {line}",
    "forward_const": "Constant {name}.",
    "forward_op": "{op}: {name} = {value}.",
    "seed": "Seed: dL/dL = 1 at the output {name}. Backprop starts here and applies the chain "
            "rule once per edge, from the output back to the inputs.",
    "seed_array": "Seed: the cotangent {g} at the output {name}, an array: backprop "
                  "differentiates L = sum(seed * {name}), so each input's gradient is seed^T "
                  "times the Jacobian, one row of it for a one-hot seed.",
    "step_input": "{name} is an input: all its contributions are in, so dL/d{name} = {g}.",
    "step": "At {name}, the upstream gradient dL/d{name} = {g}.",
    "term_local": "dL/d{input} += {g} × {local} = {contribution}",
    "term_broadcast": "dL/d{input} += {g} × {rule}, summed over the axes broadcasting added = "
                      "{contribution}",
    "term_vjp": "dL/d{input} += {how} = {contribution}",
    "vjp_generic": "the vector-Jacobian product of {op}",
    "along_axis": "along axis {axis}",
    "along_axes": "along axes {axes}",
    "along_all": "over every axis",
    "term_kink": "; on a kink: {sentence}",
    "term_rereads": "{rereads}",
    "rereads": "; {places} of {input} {more}were read more than once: their gradients add up",
    "reread_place": "{unit} {place} ({count} reads)",
    "reread_more": "and {more} more ",
    "term_fan_out": "; fan-out, so it adds up: {before} + {contribution} = {after}",
    "kink_unary": "{op}'({point}) {sides}",
    "kink_binary": "d{node}/d{input} {where} ({point}) {sides}",
    "kink_sides": "is taken as {taken}; from the left {left}, from the right {right}",
    "broadcast_note": "summed over the broadcast axes, from shape {from} back to {to}",
    "partial": "d{node}/d{input}",
    "partial_latex": r"\frac{\partial {node}}{\partial {input}}",
    "equation": "{partial} = {rule}",
    "array": "an array of shape {shape}",
    "rule_wrong": "your d {primitive}/d{argument} at {at} gives {rule}, finite differences "
                  "give {numeric}",
    "rule_wrong_count": " ({wrong} of {elements} elements disagree)",
    "term_rule_wrong": " — your rule gives {rule} here{where}; finite differences give {numeric}",
    "rule_where": " (element {index})",
    "rule_right": "your d {primitive}/d{argument} at {at} gives {rule}, and so do finite "
                  "differences",
    "rule_right_count": " (all {elements} elements agree)",
}

_SLOT = re.compile(r"\{(\w+)\}")


def say(key: str, **fields: object) -> str:
    """The template `key` with its slots filled (a slot not given stays as it is)."""
    form, slots = _form(TEMPLATES[key])
    if slots <= fields.keys():
        return form.format_map(fields)  # format(value, "") is str(value)
    return form.format_map({slot: fields.get(slot, f"{{{slot}}}") for slot in slots})


@functools.lru_cache(maxsize=256)
def _form(template: str) -> tuple[str, frozenset[str]]:
    """A template as a `str.format` string (its own braces, LaTeX's, doubled) and its slots,
    made once: a v1 answer fills tens of thousands of them."""
    parts, slots, start = [], set(), 0
    for m in _SLOT.finditer(template):
        parts += [_braces(template[start:m.start()]), "{", m[1], "}"]
        slots.add(m[1])
        start = m.end()
    parts.append(_braces(template[start:]))
    return "".join(parts), frozenset(slots)


def _braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")
