from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..analyses.methods import methods_data
from ..analyses.second_order import hessian_data
from ..answer.models import Answer, GradeResponse
from ..answer.schemas import (
    BackpropRequest,
    BackpropResponse,
    CompactRequest,
    ErrorResponse,
    Example,
    GradeRequest,
    HessianRequest,
    HessianResponse,
    MemoryRequest,
    MemoryResponse,
    MethodsRequest,
    MethodsResponse,
    NaiveRequest,
    NaiveResponse,
    NinjaRequest,
    OpOut,
    OptimizeRequest,
    OptimizeResponse,
    PathsRequest,
    PathsResponse,
)
from ..core.ops import OPS
from ..differentiate import backprop_data, compact_data, memory_data, naive_data, paths_data
from ..examples import EXAMPLES
from ..grading import grade_data
from ..ninja import ninja_data
from ..optimize import optimize_data
from .answers import computed

router = APIRouter(prefix="/api/v1", tags=["backprop"])
router_v2 = APIRouter(prefix="/api/v2", tags=["backprop"])

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorResponse, "description": "The body cannot be read as JSON text (not "
          "UTF-8, or nested too deep)."},
    422: {"model": ErrorResponse, "description": "The source or the values are invalid "
          "(`error.span` points at the characters), or the request is over a limit (`kind` "
          "`limit`: the answer's size, or the work it would take)."},
    413: {"model": ErrorResponse, "description": "The request is too large."},
    429: {"model": ErrorResponse, "description": "Every worker is busy and the queue is full: "
          "try again after `Retry-After` seconds."},
    503: {"model": ErrorResponse, "description": "The computation ran out of its time budget "
          "(it was stopped, its worker process ended and replaced)."},
}


@router.post("/backprop", response_model=BackpropResponse, responses=ERRORS)
async def post_backprop(body: BackpropRequest, request: Request) -> Response:
    """Parse, build the graph, run the forward and backward sweeps, and check by finite differences."""
    # The plain data is encoded as it is: validating a 10,000-node answer with pydantic took a
    # tenth of the request. tests/test_api.py checks that the two agree.
    return await computed(
        request, backprop_data, source=body.source, values=body.values, check=body.check,
        mode=body.mode, wrt=body.wrt, seed=body.seed, jacobian=body.jacobian,
        overrides=body.overrides, output=body.output, lazy=True)


@router_v2.post("/backprop", response_model=Answer, responses=ERRORS)
async def post_compact(body: CompactRequest, request: Request) -> Response:
    """The same sweeps as v1, answered as columns: every record can be rendered from them."""
    return await computed(
        request, compact_data, source=body.source, values=body.values, check=body.check,
        mode=body.mode, wrt=body.wrt, seed=body.seed, jacobian=body.jacobian,
        overrides=body.overrides, records=body.records, output=body.output)


@router.post("/paths", response_model=PathsResponse, responses=ERRORS)
async def post_paths(body: PathsRequest, request: Request) -> Response:
    """The derivative as a sum over paths: their exact count and the largest ones."""
    return await computed(request, paths_data, source=body.source, values=body.values,
                          wrt=body.wrt, limit=body.limit)


@router.post("/methods", response_model=MethodsResponse, responses=ERRORS)
async def post_methods(body: MethodsRequest, request: Request) -> Response:
    """Three ways to differentiate: symbolic (with its swell), finite differences over h, backprop."""
    return await computed(request, methods_data, source=body.source, values=body.values)


@router.post("/naive", response_model=NaiveResponse, responses=ERRORS)
async def post_naive(body: NaiveRequest, request: Request) -> Response:
    """The backward pass played right, by the naive recursion, and twice without zeroing."""
    return await computed(request, naive_data, source=body.source, values=body.values,
                          children=body.children)


@router.post("/optimize", response_model=OptimizeResponse, responses=ERRORS)
async def post_optimize(body: OptimizeRequest, request: Request) -> Response:
    """Gradient descent, a separate loop: one backprop per iteration, then a step."""
    return await computed(
        request, optimize_data, source=body.source, values=body.values, inputs=body.inputs,
        method=body.method, learning_rate=body.learning_rate, steps=body.steps,
        beta=body.beta, beta2=body.beta2, contour=body.contour, overrides=body.overrides)


@router.post("/hessian", response_model=HessianResponse, responses=ERRORS)
async def post_hessian(body: HessianRequest, request: Request) -> Response:
    """Second order: the Hessian by N Hessian-vector products, forward over reverse and
    reverse over reverse through the backward graph, column by column, with their cost."""
    return await computed(request, hessian_data, source=body.source, values=body.values,
                          wrt=body.wrt, v=body.v, output=body.output)


@router.get("/ops", response_model=list[OpOut])
def get_ops() -> list[OpOut]:
    """The primitive operations, each with its local derivative formulas."""
    return [OpOut(name=op.name, arity=op.arity, symbol=op.symbol, syntax=op.syntax,  # type: ignore[arg-type]
                  expr={"plain": op.expr.plain, "latex": op.expr.latex},  # type: ignore[arg-type]
                  derivatives=[{"plain": d.plain, "latex": d.latex} for d in op.derivs],  # type: ignore[misc]
                  elementwise=op.elementwise, description=op.description,
                  params=dict(op.params), kink=None if op.kink is None else {  # type: ignore[arg-type]
                      "point": op.kink.point, "taken": op.kink.taken, "left": op.kink.left,
                      "right": op.kink.right,
                      "rules": [{"plain": r.plain, "latex": r.latex} for r in op.kink.rules]})
            for op in OPS.values()]


@router.get("/examples", response_model=list[Example])
def get_examples() -> list[Example]:
    """A gallery of expressions to start from."""
    return [Example.model_validate(example) for example in EXAMPLES]


@router.post("/grade", response_model=GradeResponse, responses=ERRORS)
async def post_grade(body: GradeRequest, request: Request) -> Response:
    """The learner's gradients of a program's tensors, graded one by one and given their upstream."""
    return await computed(request, grade_data, source=body.source, values=body.values,
                          grads=body.grads, check=body.check)


@router.post("/ninja", response_model=GradeResponse, responses=ERRORS)
async def post_ninja(body: NinjaRequest, request: Request) -> Response:
    """The learner's gradients written as expressions of the language, evaluated and graded."""
    return await computed(request, ninja_data, source=body.source, values=body.values,
                          answers=body.answers, check=body.check)


@router.post("/memory", response_model=MemoryResponse, responses=ERRORS)
async def post_memory(body: MemoryRequest, request: Request) -> Response:
    """The backward pass replayed under a checkpointing strategy: memory against recomputation."""
    return await computed(request, memory_data, source=body.source, values=body.values,
                          strategy=body.strategy, k=body.k, slots=body.slots)
