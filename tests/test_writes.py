"""Writes into arrays through `trace`: `x[key] = v` read as a functional index update (JAX's
x.at[key].set(v)), into traced arrays and into arrays the function makes with np.zeros and the
like; in-place operators, views and `out=`; np.pad.

The oracle for every function is the function itself, run by numpy: its value at the inputs,
and central differences of it for each input's gradient (tests/oracles.py). Where numpy
aliases (a view sees its base's writes, a copy does not), the traced function must agree.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from chainrule import ChainruleError, backprop, trace

from .oracles import assert_close, central_difference
from .test_trace_corpus import (
    conv_forward_naive,
    max_pool_forward_naive,
    rnn_forward,
    softmax_loss,
    svm_loss,
)

rng = np.random.default_rng(27)


def _u(*shape: int) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, size=shape)


def _weights(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape)).normal(size=shape)


def _reads_as_numpy(f: Callable[..., Any], **inputs: np.ndarray) -> Any:
    """Trace f, and check its value and every input's gradient against numpy's own f."""
    result = trace(f, inputs, check=False)
    assert_close(result.output.value, f(**{k: v.copy() for k, v in inputs.items()}))
    for name, value in inputs.items():
        def along(v: np.ndarray, name: str = name) -> float:
            return float(f(**{**{k: w.copy() for k, w in inputs.items()}, name: v}))
        assert_close(result.gradients[name], central_difference(along, value), rtol=1e-6,
                     atol=1e-8)
    return result


# ==================================================================== into traced arrays

def basic_keys(x, y):
    out = x * 1.0
    out[0] = y
    out[:, 1:] *= 2.0
    out[-1, ::2] = y[0] ** 2
    out[1, None] = np.sin(y)  # a new axis in the key
    return np.sum(out * _weights(3, 3))


def index_arrays(x, y):
    d = np.exp(x)
    d[np.arange(3), np.array([2, 0, 1])] -= y
    d[[0, 2], 1:] = y[:2]
    return np.sum(d * _weights(3, 3))


def masks(z):
    _z = z.copy()
    _z[z < 0] = _z[z < 0] * 0.3
    _z[_z > 0.5] += 1.0
    return np.sum(_z * _weights(1, 8))


def test_basic_keys_read_with_the_gradients_of_differences() -> None:
    result = _reads_as_numpy(basic_keys, x=_u(3, 3), y=_u(3))
    assert "out" in {node.name for node in result.nodes if node.op == "index_set"}


def test_index_arrays_read_and_the_overwritten_places_get_no_gradient() -> None:
    result = _reads_as_numpy(index_arrays, x=_u(3, 3), y=_u(3))
    assert "scatter_set" in {node.op for node in result.nodes}


def test_masks_read_as_the_places_they_hold() -> None:
    _reads_as_numpy(masks, z=_u(1, 8))


def test_a_place_written_twice_keeps_the_last_write_as_numpy_does() -> None:
    def duplicates(x, v, w):
        a = x * 1.0
        a[np.array([1, 1, 2, 1])] = v  # place 1 keeps v[3]
        a[[0, 0, 2], [1, 1, 0]] = w  # place (0, 1) keeps w[1]
        a[[3, 3]] = w[2] * 5  # a value broadcast to both writes of row 3
        return np.sum(a * _weights(4, 3))

    x, v, w = _u(4, 3), _u(4, 3), _u(3)
    result = _reads_as_numpy(duplicates, x=x, v=v, w=w)
    assert_close(result.gradients["v"][:2], np.zeros((2, 3)))  # overwritten by v[3]


def test_x_key_plus_equals_v_is_get_add_set_with_duplicates_written_once() -> None:
    def accumulates(x, v):
        a = x * 1.0
        a[[0, 0, 1]] += v  # numpy: place 0 gets x[0] + v[1] (its last write), not + v[0] + v[1]
        a[2] += v[2] * 3
        return np.sum(a ** 2)

    _reads_as_numpy(accumulates, x=_u(3), v=_u(3))


def test_svm_and_softmax_losses_of_cs231n_read() -> None:
    labels = np.array([2, 0, 1, 1])
    _reads_as_numpy(lambda x: svm_loss(x, labels)[0], x=_u(4, 3))
    _reads_as_numpy(lambda x: softmax_loss(x, labels)[0], x=_u(4, 3))


# ==================================================================== aliases: views and copies

def test_a_write_through_a_view_reaches_its_base_and_the_base_s_write_reaches_the_view(
        ) -> None:
    def views(x, y):
        out = x * 1.0
        row = out[0]  # a view of out
        row[1:] = y[:2]  # written into out too
        col = out.T[1]  # a view of a view
        out[1, 1] = y[2] * 4  # col sees it
        flat = out.reshape(-1)  # a view: out is contiguous
        flat[-1] = col[1] * 2
        return np.sum(out * _weights(3, 3)) + np.sum(col * _weights(3))

    _reads_as_numpy(views, x=_u(3, 3), y=_u(3))


def test_a_copy_is_not_written_by_its_source_nor_its_source_by_it() -> None:
    def copies(x, y):
        a = x * 1.0
        b = a.copy()
        c = a.T.reshape(-1)  # numpy copies here: a transposed array is not contiguous
        d = a[[0, 1]]  # index arrays copy
        a[0] = y
        b[1] = y * 2
        c[0] = 7.0
        d[0, 0] = -1.0
        return np.sum(a * _weights(2, 3)) + np.sum(b * b) + np.sum(c) + np.sum(d * 3)

    _reads_as_numpy(copies, x=_u(2, 3), y=_u(3))


def test_a_number_plus_equals_is_a_new_number_as_numpy_s_scalars_are() -> None:
    def numbers(x):
        s = np.sum(x)
        t = s
        s += 1.0
        s *= 3.0
        return t * s

    _reads_as_numpy(numbers, x=_u(3))


def test_an_array_plus_equals_is_seen_by_every_name_for_it() -> None:
    def aliases(x, y):
        a = x * 2.0
        b = a
        b += y
        b /= 3.0
        return np.sum(a * _weights(3))

    _reads_as_numpy(aliases, x=_u(3), y=_u(3))


def test_out_writes_into_a_traced_array() -> None:
    def clipped(x):
        y = x * 3.0
        np.clip(y, -1.0, 1.0, out=y)
        np.multiply(y, x, out=y)
        return np.sum(y * _weights(5))

    _reads_as_numpy(clipped, x=np.array([-0.9, -0.2, 0.1, 0.25, 0.8]))


# ==================================================================== into arrays made inside

def test_cs231n_naive_convolution_reads_with_pad_and_a_write_per_output_element() -> None:
    def conv(x, w, b):
        out, _ = conv_forward_naive(x, w, b, {'stride': 2, 'pad': 1})
        return np.sum(out * _weights(2, 2, 2, 2))

    result = _reads_as_numpy(conv, x=_u(2, 2, 4, 4), w=_u(2, 2, 3, 3), b=_u(2))
    ops = [node.op for node in result.nodes]
    assert ops.count("pad") == 1 and ops.count("index_set") == 16


def test_cs231n_naive_max_pool_reads() -> None:
    def pool(x):
        out, _ = max_pool_forward_naive(x, {'pool_height': 2, 'pool_width': 2, 'stride': 1})
        return np.sum(out * _weights(1, 2, 2, 3))

    _reads_as_numpy(pool, x=_u(1, 2, 3, 4))


def test_cs231n_rnn_forward_writes_each_hidden_state_into_h_at_its_step() -> None:
    def rnn(x, h0, Wx, Wh, b):
        h, _ = rnn_forward(x, h0, Wx, Wh, b)
        return np.sum(h * _weights(2, 4, 3))

    result = _reads_as_numpy(rnn, x=_u(2, 4, 5), h0=_u(2, 3), Wx=_u(5, 3), Wh=_u(3, 3),
                             b=_u(3))
    written = [node.params for node in result.nodes if node.op == "index_set"]
    assert written == [{"key": f":, {t}, :"} for t in range(4)]


def test_every_numpy_creation_takes_traced_values() -> None:
    def made(x):
        a, b, c = np.zeros(3), np.ones((2, 3)), np.empty(3)
        d, e = np.full((3,), 2.0), np.zeros_like(x)
        f, g, k = np.ones_like(x), np.empty_like(x), np.full_like(x, 0.5)
        a[1], b[0], c[:] = x[0], x, x * 2
        d[0], e[2], f[:2] = x[1], x[2], x[:2]
        g[...], k[0] = x ** 2, np.sum(x)
        return sum(np.sum(v * _weights(*v.shape)) for v in (a, b, c, d, e, f, g, k))

    _reads_as_numpy(made, x=_u(3))


def test_an_array_made_inside_and_filled_with_data_is_data() -> None:
    def one_hot(x):
        hot = np.zeros((4, 1))
        hot[2] = 1  # data into data: numbers, no node
        assert hot.sum() == 1.0 and float(hot[2, 0]) == 1.0  # its numbers, as numpy's
        counts = np.zeros(3, dtype=int)  # not float64: numpy's own array
        counts[0] += 1
        return np.sum(x @ hot) * counts[0]

    result = _reads_as_numpy(one_hot, x=_u(2, 4))
    assert "index_set" not in {node.op for node in result.nodes}


def test_numpy_is_itself_again_after_a_trace_even_one_that_fails() -> None:
    zeros = np.zeros
    trace(lambda x: np.sum(np.zeros(2) + x), x=_u(2))
    with pytest.raises(ChainruleError):
        trace(lambda x: np.sum(np.zeros(2)[x]), x=_u(2))
    assert np.zeros is zeros and isinstance(np.ones(2), np.ndarray)


def test_numpy_s_random_functions_keep_their_own_arrays() -> None:
    def drawn(x):
        np.random.seed(0)
        noise = np.random.randn(3) + np.random.rand(3)  # numpy's, made with np.empty inside
        return np.sum(x * noise)

    _reads_as_numpy(drawn, x=_u(3))


# ==================================================================== np.pad

@pytest.mark.parametrize("width", [1, (1, 2), ((0, 1), (2, 0)), ((1, 1),)])
def test_np_pad_with_zeros_reads_in_numpy_s_spellings_of_the_widths(width: object) -> None:
    def padded(x):
        return np.sum(np.pad(x, width) * _weights(*np.pad(np.zeros((2, 3)), width).shape))

    _reads_as_numpy(padded, x=_u(2, 3))


# ==================================================================== what is refused

def _refusals() -> list[tuple[Callable[..., Any], str, str]]:
    def into_numpy_s_array(x):
        out = np.arange(3.0)
        out[0] = np.sum(x)
        return np.sum(out)

    def numpy_plus_equals(x):
        acc = np.linspace(0.0, 1.0, 3)
        acc += x
        return np.sum(acc)

    def wrong_shape(x):
        out = np.zeros((2, 2))
        out[0] = x
        return np.sum(out)

    def into_a_number(x):
        s = np.sum(x)
        s[()] = 1.0
        return s

    def reflect(x):
        return np.sum(np.pad(x, 1, mode="reflect"))

    def ones_around(x):
        return np.sum(np.pad(x, 1, constant_values=1.0))

    def grows_in_place(x):
        a = x * 1.0
        a += np.ones((2, 3))
        return np.sum(a)

    return [(into_numpy_s_array, "writing a traced value into a numpy array", "out[0]"),
            (numpy_plus_equals, "writing a traced value into a numpy array", "acc += x"),
            (wrong_shape, "cannot be written into", "out[0]"),
            (into_a_number, "writing into a number", "s[()]"),
            (reflect, "np.pad with mode='reflect'", "np.pad(x, 1, mode=\"reflect\")"),
            (ones_around, "np.pad with constant_values", "np.pad(x, 1, constant_values=1.0)"),
            (grows_in_place, "cannot be written into an array of shape [3]", "a += ")]


@pytest.mark.parametrize(("f", "named", "at"), _refusals(), ids=lambda v: getattr(
    v, "__name__", None) if callable(v) else None)
def test_a_write_trace_cannot_follow_is_a_chainrule_error_at_its_line(
        f: Callable[..., Any], named: str, at: str) -> None:
    with pytest.raises(ChainruleError) as info:
        trace(f, x=np.array([1.0, 2.0, 3.0]))
    err = info.value
    assert named in err.message and err.span is not None, err.message
    assert inspect.getsource(f)[slice(*err.span)].startswith(at), (
        inspect.getsource(f)[slice(*err.span)])


@pytest.mark.parametrize("source", ["sum(scatter_set(x, i, v))", "sum(index_set(x, v))",
                                    "sum(gather(x, i))"])
def test_the_language_writes_indexing_with_brackets_and_calls_no_index_op_by_name(
        source: str) -> None:
    with pytest.raises(ChainruleError) as info:
        backprop(source, {"x": [1.0, 2.0, 3.0], "i": [7.0, 0.0], "v": [5.0, 6.0]})
    assert "is written with brackets" in info.value.message


def test_an_assert_on_the_values_that_holds_leaves_the_graph_as_it_is() -> None:
    def checked(x):
        assert np.all(x > -5) and np.allclose(np.sum(x * 0), 0.0)
        return np.sum(x ** 2)

    x = np.array([1.0, -2.0, 3.0])
    result = trace(checked, x=x)
    np.testing.assert_allclose(result.gradients["x"], 2 * x)
    with pytest.raises(AssertionError):
        trace(checked, x=np.array([1.0, -9.0]))
