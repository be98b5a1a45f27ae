from __future__ import annotations

import json
import threading

from fastapi import APIRouter, Response

from ..examples import EXAMPLES
from ..ops import OPS
from ..optimize import optimize
from ..run import backprop_data, paths_data
from ..schemas import (
    BackpropRequest,
    BackpropResponse,
    ErrorResponse,
    Example,
    OpOut,
    OptimizeRequest,
    OptimizeResponse,
    PathsRequest,
    PathsResponse,
)
from ..settings import COMPUTATIONS_PER_WORKER

router = APIRouter(prefix="/api/v1", tags=["backprop"])
# Computations at once in this worker; the other requests wait their turn (blocked, not competing
# for the GIL), which bounds the worker's memory and keeps /healthz answering.
_COMPUTING = threading.BoundedSemaphore(COMPUTATIONS_PER_WORKER)

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorResponse, "description": "The body cannot be read as JSON text (not "
          "UTF-8, or nested too deep)."},
    422: {"model": ErrorResponse, "description": "The source or the values are invalid; "
          "`error.span` points at the characters."},
    413: {"model": ErrorResponse, "description": "The request is too large."},
    503: {"model": ErrorResponse, "description": "The computation ran out of its time budget."},
}


@router.post("/backprop", response_model=BackpropResponse, responses=ERRORS)
def post_backprop(request: BackpropRequest) -> Response:
    """Parse, build the graph, run the forward and backward sweeps, and check by finite differences."""
    with _COMPUTING:
        data = backprop_data(request.source, request.values, check=request.check,
                             mode=request.mode, wrt=request.wrt, seed=request.seed,
                             jacobian=request.jacobian)
        # The plain data is encoded as it is: validating a 10,000-node answer with pydantic
        # took a tenth of the request. tests/test_api.py checks that the two agree.
        body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body, media_type="application/json")


@router.post("/paths", response_model=PathsResponse, responses=ERRORS)
def post_paths(request: PathsRequest) -> Response:
    """The derivative as a sum over paths: their exact count and the largest ones."""
    with _COMPUTING:
        data = paths_data(request.source, request.values, wrt=request.wrt, limit=request.limit)
        body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body, media_type="application/json")


@router.post("/optimize", response_model=OptimizeResponse, responses=ERRORS)
def post_optimize(request: OptimizeRequest) -> Response:
    """Gradient descent, a separate loop: one backprop per iteration, then a step."""
    with _COMPUTING:
        result = optimize(request.source, request.values, inputs=request.inputs,
                          method=request.method, learning_rate=request.learning_rate,
                          steps=request.steps, beta=request.beta, beta2=request.beta2,
                          contour=request.contour)
        body = result.model_dump_json(by_alias=True)
    return Response(body, media_type="application/json")


@router.get("/ops", response_model=list[OpOut])
def get_ops() -> list[OpOut]:
    """The primitive operations, each with its local derivative formulas."""
    return [OpOut(name=op.name, arity=op.arity, symbol=op.symbol, syntax=op.syntax,  # type: ignore[arg-type]
                  expr={"plain": op.expr.plain, "latex": op.expr.latex},  # type: ignore[arg-type]
                  derivatives=[{"plain": d.plain, "latex": d.latex} for d in op.derivs],  # type: ignore[misc]
                  elementwise=op.elementwise, description=op.description)
            for op in OPS.values()]


@router.get("/examples", response_model=list[Example])
def get_examples() -> list[Example]:
    """A gallery of expressions to start from."""
    return [Example.model_validate(example) for example in EXAMPLES]
