# ruff: noqa: UP004, UP031, RUF059 (the corpus is kept as its authors wrote it)
"""Real numpy learning code through `trace`, as its authors wrote it.

The corpus: CS231n assignments 1-3 (linear_svm.py, softmax.py, neural_net.py, layers.py,
layer_utils.py, rnn_layers.py, as the assignments' well-known solutions write them), Karpathy's
min-char-rnn, Nielsen's network.py and network2.py, d2l's from-scratch chapters (its numpy
edition) and numpy-ml's activations and losses. Each function is kept as written; only the
wrapper around it is ours: it gives the learner's float inputs as traced values, keeps labels,
masks and seeds as data, and makes the scalar `trace` differentiates (a weighted sum of the
outputs where the function returns arrays; the function's own loss where it returns one).

For every function the outcome is one of two, and CORPUS says which:
- it reads, and every input's gradient equals central differences of the same numpy function
  (tests/oracles.py), or
- it ends in a ChainruleError whose message names what it could not read (and points at the
  line), never another exception.
Writes into arrays read (a functional index update): into a traced array (`dx[np.arange(N),
y] -= 1`, `_z[z < 0] = ...`) and into one the function made with np.zeros and the like
(`out[n, f, i, j] = ...`, `h[:, t, :] = next_h`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from chainrule import ChainruleError, trace

from .oracles import assert_close, central_difference

rng = np.random.default_rng(231)
N, D, C, H = 4, 5, 3, 3  # samples, features, classes, hidden units
X_DATA = rng.normal(size=(N, D))
Y_LABELS = rng.integers(0, C, size=N)


# ==================================================================== CS231n assignment 1

def svm_loss_vectorized(W, X, y, reg):
    """
    Structured SVM loss function, vectorized implementation.
    """
    loss = 0.0
    dW = np.zeros(W.shape)  # initialize the gradient as zero
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_class_scores = scores[np.arange(num_train), y].reshape(num_train, 1)
    margins = np.maximum(0, scores - correct_class_scores + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train
    loss += reg * np.sum(W * W)

    binary = margins
    binary[margins > 0] = 1
    row_sum = np.sum(binary, axis=1)
    binary[np.arange(num_train), y] = -row_sum.T
    dW = np.dot(X.T, binary)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss function, vectorized version.
    """
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    loss += reg * np.sum(W * W)
    dscores = probs.copy()
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train + 2 * reg * W
    return loss, dW


class TwoLayerNet(object):
    """A two-layer fully-connected network (assignment 1's neural_net.py)."""

    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {}
        self.params['W1'] = std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    def loss(self, X, y=None, reg=0.0):
        W1, b1 = self.params['W1'], self.params['b1']
        W2, b2 = self.params['W2'], self.params['b2']
        N, D = X.shape

        scores = None
        h1 = np.maximum(0, X.dot(W1) + b1)
        scores = h1.dot(W2) + b2
        if y is None:
            return scores

        loss = None
        scores -= np.max(scores, axis=1, keepdims=True)
        exp_scores = np.exp(scores)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        loss = -np.sum(np.log(probs[np.arange(N), y])) / N
        loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        return loss


# ==================================================================== CS231n assignment 2

def affine_forward(x, w, b):
    out = None
    N = x.shape[0]
    x_row = x.reshape(N, -1)
    out = x_row.dot(w) + b
    cache = (x, w, b)
    return out, cache


def relu_forward(x):
    out = None
    out = np.maximum(0, x)
    cache = x
    return out, cache


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == 'train':
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
        out = gamma * x_hat + beta
        cache = (x, x_hat, sample_mean, sample_var, gamma, beta, eps)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    elif mode == 'test':
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def layernorm_forward(x, gamma, beta, ln_param):
    out, cache = None, None
    eps = ln_param.get('eps', 1e-5)
    x = x.T
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    xhat = xhat.T
    out = gamma * xhat + beta
    cache = (x, xhat, mu, var, gamma, eps)
    return out, cache


def dropout_forward(x, dropout_param):
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])

    mask = None
    out = None

    if mode == 'train':
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode == 'test':
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


def svm_loss(x, y):
    N = x.shape[0]
    correct_class_scores = x[np.arange(N), y]
    margins = np.maximum(0, x - correct_class_scores[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(N), y] -= num_pos
    dx /= N
    return loss, dx


def softmax_loss(x, y):
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def conv_forward_naive(x, w, b, conv_param):
    out = None
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, H_out, W_out))
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant')
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def max_pool_forward_naive(x, pool_param):
    out = None
    N, C, H, W = x.shape
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    H_out = 1 + (H - pool_height) // stride
    W_out = 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + pool_height,
                               j * stride:j * stride + pool_width]
                    out[n, c, i, j] = np.max(window)
    cache = (x, pool_param)
    return out, cache


# ==================================================================== CS231n assignment 3

def sigmoid(x):
    """
    A numerically stable version of the logistic sigmoid function.
    """
    pos_mask = (x >= 0)
    neg_mask = (x < 0)
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h, cache = None, None
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_forward(x, h0, Wx, Wh, b):
    h, cache = None, None
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h = h0
    cache = []
    for t in range(T):
        next_h, cache_t = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        prev_h = next_h
        cache.append(cache_t)
    return h, cache


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    next_h, next_c, cache = None, None, None
    N, H = prev_h.shape
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    ai = a[:, :H]
    af = a[:, H:2 * H]
    ao = a[:, 2 * H:3 * H]
    ag = a[:, 3 * H:]
    i = sigmoid(ai)
    f = sigmoid(af)
    o = sigmoid(ao)
    g = np.tanh(ag)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, a, i, f, o, g, next_c)
    return next_h, next_c, cache


def word_embedding_forward(x, W):
    out, cache = None, None
    out = W[x, :]
    cache = x, W
    return out, cache


def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    M = b.shape[0]
    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b
    cache = x, w, b, out
    return out, cache


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape

    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)

    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    dx_flat *= mask_flat[:, None]

    if verbose:
        print('dx_flat: ', dx_flat.shape)

    dx = dx_flat.reshape(N, T, V)

    return loss, dx


# ==================================================================== Karpathy's min-char-rnn

vocab_size, hidden_size = 4, 3
Wxh = Whh = Why = bh = by = None  # the model's parameters, module globals as in min-char-rnn


def lossFun(inputs, targets, hprev):
    """
    inputs,targets are both list of integers.
    hprev is Hx1 array of initial hidden state
    returns the loss, gradients on model parameters, and last hidden state
    """
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    # forward pass
    for t in range(len(inputs)):
        xs[t] = np.zeros((vocab_size, 1))  # encode in 1-of-k representation
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)  # hidden state
        ys[t] = np.dot(Why, hs[t]) + by  # unnormalized log probabilities for next chars
        ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))  # probabilities for next chars
        loss += -np.log(ps[t][targets[t], 0])  # softmax (cross-entropy loss)
    # backward pass: compute gradients going backwards
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1  # backprop into y
        dWhy += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(Why.T, dy) + dhnext  # backprop into h
        dhraw = (1 - hs[t] * hs[t]) * dh  # backprop through tanh nonlinearity
        dbh += dhraw
        dWxh += np.dot(dhraw, xs[t].T)
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)
    for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
        np.clip(dparam, -5, 5, out=dparam)  # clip to mitigate exploding gradients
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]


# ==================================================================== Nielsen's network.py and network2.py

def nielsen_sigmoid(z):
    """The sigmoid function."""
    return 1.0 / (1.0 + np.exp(-z))


class QuadraticCost(object):

    @staticmethod
    def fn(a, y):
        """Return the cost associated with an output ``a`` and desired output
        ``y``.

        """
        return 0.5 * np.linalg.norm(a - y) ** 2


class CrossEntropyCost(object):

    @staticmethod
    def fn(a, y):
        """Return the cost associated with an output ``a`` and desired output
        ``y``.  Note that np.nan_to_num is used to ensure numerical
        stability.  In particular, if both ``a`` and ``y`` have a 1.0
        in the same slot, then the expression (1-y)*np.log(1-a)
        returns nan.  The np.nan_to_num ensures that that is converted
        to the correct value (0.0).

        """
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))


class Network(object):
    """network2.py's Network, its weights set by the wrapper instead of drawn at random."""

    def __init__(self, sizes, cost=CrossEntropyCost):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.cost = cost

    def feedforward(self, a):
        """Return the output of the network if ``a`` is input."""
        for b, w in zip(self.biases, self.weights):
            a = nielsen_sigmoid(np.dot(w, a) + b)
        return a

    def total_cost(self, data, lmbda, convert=False):
        """Return the total cost for the data set ``data``."""
        cost = 0.0
        for x, y in data:
            a = self.feedforward(x)
            cost += self.cost.fn(a, y) / len(data)
        cost += 0.5 * (lmbda / len(data)) * sum(
            np.linalg.norm(w) ** 2 for w in self.weights)
        return cost


# ==================================================================== d2l from scratch (numpy edition)

def d2l_softmax(X):
    X_exp = np.exp(X)
    partition = X_exp.sum(1, keepdims=True)
    return X_exp / partition  # The broadcasting mechanism is applied here


def d2l_cross_entropy(y_hat, y):
    return - np.log(y_hat[range(len(y_hat)), y])


def d2l_relu(X):
    return np.maximum(X, 0)


def linreg(X, w, b):
    """The linear regression model."""
    return np.dot(X, w) + b


def squared_loss(y_hat, y):
    """Squared loss."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


num_inputs, num_hiddens = D, H
W1 = b1 = W2 = b2 = W = b = None  # d2l's parameters are notebook globals too


def d2l_mlp_net(X):
    X = X.reshape((-1, num_inputs))
    H = d2l_relu(np.dot(X, W1) + b1)
    return np.dot(H, W2) + b2


def d2l_softmax_regression_net(X):
    return d2l_softmax(np.dot(X.reshape((-1, W.shape[0])), W) + b)


# ==================================================================== numpy-ml activations and losses

class ActivationBase:
    def __call__(self, z):
        """Apply the activation function to an input"""
        if z.ndim == 1:
            z = z.reshape(1, -1)
        return self.fn(z)


class Sigmoid(ActivationBase):
    def fn(self, z):
        return 1 / (1 + np.exp(-z))


class ReLU(ActivationBase):
    def fn(self, z):
        return np.clip(z, 0, np.inf)


class LeakyReLU(ActivationBase):
    def __init__(self, alpha=0.3):
        self.alpha = alpha

    def fn(self, z):
        _z = z.copy()
        _z[z < 0] = _z[z < 0] * self.alpha
        return _z


class ELU(ActivationBase):
    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fn(self, z):
        # z if z > 0  else alpha * (e^z - 1)
        return np.where(z > 0, z, self.alpha * (np.exp(z) - 1))


class SoftPlus(ActivationBase):
    def fn(self, z):
        return np.log(np.exp(z) + 1)


class GELU(ActivationBase):
    def __init__(self, approximate=True):
        self.approximate = approximate

    def fn(self, z):
        pi, sqrt, tanh = np.pi, np.sqrt, np.tanh
        if self.approximate:
            return 0.5 * z * (1 + tanh(sqrt(2 / pi) * (z + 0.044715 * z ** 3)))
        raise NotImplementedError  # the exact form calls scipy's erf


class HardSigmoid(ActivationBase):
    def fn(self, z):
        return np.clip((0.2 * z) + 0.5, 0.0, 1.0)


def is_binary(x):
    """Return True if array `x` consists only of binary values"""
    msg = "Matrix must be binary"
    assert np.array_equal(x, x.astype(bool)), msg
    return True


def is_stochastic(X):
    """True if `X` contains probabilities that sum to 1 along the columns"""
    msg = "Array should be stochastic along the columns"
    assert len(X[X < 0]) == len(X[X > 1]) == 0, msg
    assert np.allclose(np.sum(X, axis=1), np.ones(X.shape[0])), msg
    return True


class SquaredError:
    @staticmethod
    def loss(y, y_pred):
        return 0.5 * np.linalg.norm(y_pred - y) ** 2


class CrossEntropy:
    @staticmethod
    def loss(y, y_pred):
        is_binary(y)
        is_stochastic(y_pred)

        # prevent taking the log of 0
        eps = np.finfo(float).eps

        # each example is associated with a single class; sum the negative log
        # probability of the correct label over all samples in the batch.
        # observe that we are taking advantage of the fact that y is one-hot
        # encoded
        cross_entropy = -np.sum(y * np.log(y_pred + eps))
        return cross_entropy


# ==================================================================== the wrappers: a scalar of the float inputs

def _weights(*shape: int) -> np.ndarray:
    """Fixed weights for a weighted sum of an array output (an upstream gradient, as data)."""
    return np.random.default_rng(sum(shape)).normal(size=shape)


def _set_globals(**values: Any) -> None:
    globals().update(values)


def c_svm(W):
    return svm_loss_vectorized(W, X_DATA, Y_LABELS, 0.1)[0]


def c_softmax(W):
    return softmax_loss_vectorized(W, X_DATA, Y_LABELS, 0.1)[0]


def c_two_layer_net(W1, b1, W2, b2):
    net = TwoLayerNet(D, H, C)
    net.params.update(W1=W1, b1=b1, W2=W2, b2=b2)
    return net.loss(X_DATA, Y_LABELS, reg=0.05)


def c_affine(x, w, b):
    out, _ = affine_forward(x, w, b)
    return np.sum(out * _weights(2, 4))


def c_relu(x):
    out, _ = relu_forward(x)
    return np.sum(out * _weights(3, 4))


def c_affine_relu(x, w, b):
    out, _ = affine_relu_forward(x, w, b)
    return np.sum(out * _weights(2, 4))


def c_batchnorm(x, gamma, beta):
    out, _ = batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    return np.sum(out * _weights(4, 3))


def c_layernorm(x, gamma, beta):
    out, _ = layernorm_forward(x, gamma, beta, {})
    return np.sum(out * _weights(4, 3))


def c_dropout(x):
    out, _ = dropout_forward(x, {'p': 0.6, 'mode': 'train', 'seed': 123})
    return np.sum(out * _weights(4, 5))


def c_layers_svm(x):
    return svm_loss(x, Y_LABELS)[0]


def c_layers_softmax(x):
    return softmax_loss(x, Y_LABELS)[0]


def c_conv(x, w, b):
    out, _ = conv_forward_naive(x, w, b, {'stride': 1, 'pad': 1})
    return np.sum(out * _weights(1, 2, 3, 3))


def c_max_pool(x):
    out, _ = max_pool_forward_naive(x, {'pool_height': 2, 'pool_width': 2, 'stride': 2})
    return np.sum(out * _weights(1, 2, 2, 2))


def c_rnn_step(x, prev_h, Wx, Wh, b):
    next_h, _ = rnn_step_forward(x, prev_h, Wx, Wh, b)
    return np.sum(next_h * _weights(2, 3))


def c_rnn(x, h0, Wx, Wh, b):
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    return np.sum(h * _weights(2, 3, 3))


def c_lstm_step(x, prev_h, prev_c, Wx, Wh, b):
    next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    return np.sum(next_h * _weights(2, 3)) + np.sum(next_c * _weights(3, 2).T)


def c_word_embedding(W):
    out, _ = word_embedding_forward(np.array([[0, 3, 1], [2, 3, 0]]), W)
    return np.sum(out * _weights(2, 3, 2))


def c_temporal_affine(x, w, b):
    out, _ = temporal_affine_forward(x, w, b)
    return np.sum(out * _weights(2, 3, 4))


def c_temporal_softmax(x):
    y = np.array([[0, 2, 1], [3, 3, 0]])
    mask = np.array([[True, True, False], [True, False, False]])
    return temporal_softmax_loss(x, y, mask)[0]


def c_min_char_rnn(Wxh, Whh, Why, bh, by, hprev):
    _set_globals(Wxh=Wxh, Whh=Whh, Why=Why, bh=bh, by=by)
    return lossFun([0, 2, 1, 3], [2, 1, 3, 0], hprev)[0]


NIELSEN_DATA = [(rng.uniform(size=(3, 1)), np.array([[0.0], [1.0]])),
                (rng.uniform(size=(3, 1)), np.array([[1.0], [0.0]]))]


def c_quadratic_cost(a):
    return QuadraticCost.fn(a, np.array([[0.0], [1.0], [0.0]]))


def c_cross_entropy_cost(a):
    return CrossEntropyCost.fn(a, np.array([[0.0], [1.0], [0.0]]))


def c_nielsen_total_cost(w0, b0, w1, b1):
    net = Network([3, 4, 2])
    net.weights, net.biases = [w0, w1], [b0, b1]
    return net.total_cost(NIELSEN_DATA, lmbda=0.5)


def c_nielsen_quadratic_network(w0, b0, w1, b1):
    net = Network([3, 4, 2], cost=QuadraticCost)
    net.weights, net.biases = [w0, w1], [b0, b1]
    return net.total_cost(NIELSEN_DATA, lmbda=0.5)


def c_d2l_softmax(X):
    return np.sum(d2l_softmax(X) * _weights(4, 3))


def c_d2l_relu(X):
    return np.sum(d2l_relu(X) * _weights(4, 3))


def c_d2l_linreg(w, b):
    X = X_DATA
    y = X @ np.arange(1.0, D + 1) + 0.5
    return squared_loss(linreg(X, w, b), y).sum()


def c_d2l_mlp(W1, b1, W2, b2):
    _set_globals(W1=W1, b1=b1, W2=W2, b2=b2)
    return np.sum(d2l_mlp_net(X_DATA) * _weights(4, 3))


def c_d2l_softmax_regression(W, b):
    _set_globals(W=W, b=b)
    return d2l_cross_entropy(d2l_softmax_regression_net(X_DATA), Y_LABELS).mean()


def _activation(kind: type[ActivationBase]) -> Callable[..., Any]:
    def activation(z):
        return np.sum(kind()(z) * _weights(1, 6))
    activation.__qualname__ = f"numpy_ml_{kind.__name__}"
    return activation


def c_numpy_ml_squared_error(y_pred):
    return SquaredError.loss(np.array([[1.0, 0.0], [0.5, -1.0]]), y_pred)


def c_numpy_ml_cross_entropy(y_pred):
    return CrossEntropy.loss(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), y_pred)


# ==================================================================== the corpus

# X.dot(W) with X a numpy array: ndarray.dot takes W's numbers through __array__, and no numpy
# protocol lets a traced value be returned instead (np.dot(X, W) and X @ W read).
NEEDS_DOT = "a data array's .dot of a traced value"


@dataclass(frozen=True)
class Case:
    """One function of the corpus: its wrapper, its inputs, and what `trace` does with it:
    READS, or the refusal (the numpy call or construct its message names, and why)."""

    f: Callable[..., Any]
    inputs: dict[str, Any]
    outcome: str  # READS, or a text the refusal's message contains
    why: str = ""

    @property
    def reads(self) -> bool:
        return self.outcome == READS


READS = "reads"


def _x(*shape: int, low: float = -1.0, high: float = 1.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).uniform(low, high, size=shape)


def _probabilities(rows: int, cols: int) -> np.ndarray:
    p = _x(rows, cols, low=0.1, high=1.0)
    return p / p.sum(axis=1, keepdims=True)


CORPUS: dict[str, Case] = {
    # CS231n assignment 1
    "svm_loss_vectorized": Case(c_svm, {"W": _x(D, C)}, "ndarray.dot", NEEDS_DOT),
    "softmax_loss_vectorized": Case(c_softmax, {"W": _x(D, C)}, "ndarray.dot", NEEDS_DOT),
    "TwoLayerNet.loss": Case(c_two_layer_net, {"W1": _x(D, H), "b1": _x(H), "W2": _x(H, C),
                                                "b2": _x(C)}, "ndarray.dot", NEEDS_DOT),
    # CS231n assignment 2
    "affine_forward": Case(c_affine, {"x": _x(2, 2, 3), "w": _x(6, 4), "b": _x(4)}, READS),
    "relu_forward": Case(c_relu, {"x": _x(3, 4)}, READS),
    "affine_relu_forward": Case(c_affine_relu, {"x": _x(2, 6), "w": _x(6, 4), "b": _x(4)},
                                READS),
    "batchnorm_forward": Case(c_batchnorm, {"x": _x(4, 3), "gamma": _x(3), "beta": _x(3)},
                              READS),
    "layernorm_forward": Case(c_layernorm, {"x": _x(4, 3), "gamma": _x(3), "beta": _x(3)},
                              READS),
    "dropout_forward": Case(c_dropout, {"x": _x(4, 5)}, READS),
    "svm_loss": Case(c_layers_svm, {"x": _x(N, C)}, READS),
    "softmax_loss": Case(c_layers_softmax, {"x": _x(N, C)}, READS),
    "conv_forward_naive": Case(c_conv, {"x": _x(1, 2, 3, 3), "w": _x(2, 2, 3, 3),
                                        "b": _x(2)}, READS),
    "max_pool_forward_naive": Case(c_max_pool, {"x": _x(1, 2, 4, 4)}, READS),
    # CS231n assignment 3
    "rnn_step_forward": Case(c_rnn_step, {"x": _x(2, 4), "prev_h": _x(2, 3), "Wx": _x(4, 3),
                                          "Wh": _x(3, 3), "b": _x(3)}, READS),
    "rnn_forward": Case(c_rnn, {"x": _x(2, 3, 4), "h0": _x(2, 3), "Wx": _x(4, 3),
                                "Wh": _x(3, 3), "b": _x(3)}, READS),
    "lstm_step_forward": Case(c_lstm_step, {"x": _x(2, 4), "prev_h": _x(2, 3),
                                            "prev_c": _x(2, 3), "Wx": _x(4, 12),
                                            "Wh": _x(3, 12), "b": _x(12)}, READS),
    "word_embedding_forward": Case(c_word_embedding, {"W": _x(4, 2)}, READS),
    "temporal_affine_forward": Case(c_temporal_affine, {"x": _x(2, 3, 5), "w": _x(5, 4),
                                                        "b": _x(4)}, READS),
    "temporal_softmax_loss": Case(c_temporal_softmax, {"x": _x(2, 3, 4)}, READS),
    # Karpathy
    "min-char-rnn lossFun": Case(c_min_char_rnn, {"Wxh": _x(3, 4), "Whh": _x(3, 3),
                                                  "Why": _x(4, 3), "bh": _x(3, 1),
                                                  "by": _x(4, 1), "hprev": _x(3, 1)},
                                 READS),
    # Nielsen
    "QuadraticCost.fn": Case(c_quadratic_cost, {"a": _x(3, 1, low=0.1, high=0.9)}, READS),
    "CrossEntropyCost.fn": Case(c_cross_entropy_cost, {"a": _x(3, 1, low=0.1, high=0.9)},
                                READS),
    "Network.total_cost (cross entropy)": Case(
        c_nielsen_total_cost, {"w0": _x(4, 3), "b0": _x(4, 1), "w1": _x(2, 4),
                               "b1": _x(2, 1)}, READS),
    "Network.total_cost (quadratic)": Case(
        c_nielsen_quadratic_network, {"w0": _x(4, 3), "b0": _x(4, 1), "w1": _x(2, 4),
                                      "b1": _x(2, 1)}, READS),
    # d2l
    "d2l softmax": Case(c_d2l_softmax, {"X": _x(4, 3)}, READS),
    "d2l relu": Case(c_d2l_relu, {"X": _x(4, 3)}, READS),
    "d2l linreg + squared_loss": Case(c_d2l_linreg, {"w": _x(D), "b": np.array(0.3)}, READS),
    "d2l MLP net": Case(c_d2l_mlp, {"W1": _x(D, H), "b1": _x(H), "W2": _x(H, C),
                                    "b2": _x(C)}, READS),
    "d2l softmax regression + cross_entropy": Case(
        c_d2l_softmax_regression, {"W": _x(D, C), "b": _x(C)}, READS),
    # numpy-ml
    "numpy-ml Sigmoid": Case(_activation(Sigmoid), {"z": _x(6)}, READS),
    "numpy-ml ReLU": Case(_activation(ReLU), {"z": _x(6)}, READS),
    "numpy-ml LeakyReLU": Case(_activation(LeakyReLU), {"z": _x(6)}, READS),
    "numpy-ml ELU": Case(_activation(ELU), {"z": _x(6)}, READS),
    "numpy-ml SoftPlus": Case(_activation(SoftPlus), {"z": _x(6)}, READS),
    "numpy-ml GELU": Case(_activation(GELU), {"z": _x(6)}, READS),
    "numpy-ml HardSigmoid": Case(_activation(HardSigmoid), {"z": _x(6)}, READS),
    "numpy-ml SquaredError": Case(c_numpy_ml_squared_error, {"y_pred": _x(2, 2)}, READS),
    # is_stochastic asserts on its input's values: an assert that holds leaves the graph as is.
    "numpy-ml CrossEntropy": Case(c_numpy_ml_cross_entropy, {"y_pred": _probabilities(2, 3)},
                                  READS),
}


def _gradient_by_differences(case: Case, name: str) -> np.ndarray:
    def along(value: np.ndarray) -> float:
        return float(case.f(**{**case.inputs, name: value}))
    return central_difference(along, case.inputs[name])


@pytest.mark.parametrize("name", list(CORPUS))
def test_corpus_reads_with_the_gradients_of_differences_or_names_what_it_cannot_read(
        name: str) -> None:
    case = CORPUS[name]
    if not case.reads:
        with pytest.raises(ChainruleError) as info:
            trace(case.f, case.inputs, check=False)
        assert case.outcome in info.value.message, info.value.message
        assert info.value.span is not None, "a refusal points at the line it stopped at"
        return
    result = trace(case.f, case.inputs, check=False)
    assert_close(result.output.value, case.f(**case.inputs))
    for arg in case.inputs:
        assert_close(result.gradients[arg], _gradient_by_differences(case, arg),
                     rtol=1e-5, atol=1e-7)


def test_the_corpus_is_the_size_the_table_says() -> None:
    reading = [name for name, case in CORPUS.items() if case.reads]
    assert len(CORPUS) == 38 and len(reading) == 35


# ==================================================================== the pieces, one at a time

def around_the_ops(x, w):
    n, d = x.shape
    flat = x.reshape(n, -1).astype(float).copy()
    same = np.reshape(np.copy(flat), (d, n)).ravel().reshape((n, d)).astype(x.dtype)
    z = np.zeros((x.ndim, x.size // 2), dtype=x.dtype) + np.zeros_like(x).sum() + np.ones_like(w)
    relu = x * (x > 0) + np.full_like(x, 2.0) * (x <= w)
    masked = np.sum(same.T.transpose(1, 0) * (w > x))
    norms = np.linalg.norm(x) + np.sum(np.linalg.norm(x, axis=1)) + np.linalg.norm(w, 'fro')
    return np.sum(relu * np.nan_to_num(w)) + np.sum(z) + masked + norms


def test_shapes_copies_casts_masks_and_norms_read_with_the_gradients_of_differences() -> None:
    x, w = _x(2, 3), _x(2, 3, seed=1)
    result = trace(around_the_ops, x=x, w=w, check=False)
    assert_close(result.output.value, around_the_ops(x, w))
    for name, value in {"x": x, "w": w}.items():
        def along(v: np.ndarray, name: str = name) -> float:
            return float(around_the_ops(**{"x": x, "w": w, name: v}))
        assert_close(result.gradients[name], central_difference(along, value), rtol=1e-6,
                     atol=1e-8)
    ops = {node.op for node in result.nodes}
    assert "reshape" in ops and "transpose" in ops and "sqrt" in ops


def test_a_norm_is_a_group_named_np_linalg_norm_holding_its_parts() -> None:
    result = trace(lambda a: np.linalg.norm(a - 1.0), a=np.array([3.0, 4.0, 1.0]))
    assert_close(result.output.value, np.sqrt(4 + 9))
    groups = result.groups
    assert groups is not None and groups.name == ["np.linalg.norm#1"]
    inside = [result.nodes[k].op for k, g in enumerate(groups.node_group) if g == 0]
    assert inside == ["const", "pow", "sum", "sqrt"]


def _refusals() -> list[tuple[Callable[..., Any], str, str]]:
    """Traced functions that stop, each with what its refusal names and the text it points at."""
    def attribute(x):
        return x.cumprod()

    def store_scalar(x):
        out = np.arange(3.0)  # a numpy array (np.zeros and the like make traced ones)
        out[0] = np.sum(x)
        return np.sum(out)

    def store_row(x):
        out = np.linspace(0, 1, 6).reshape(2, 3)
        out[1] = x
        return np.sum(out)

    def data_dot(x):
        return np.sum(np.eye(3).dot(x))

    def iterates(x):
        return sum(v for v in np.sum(x))

    def branches_on_a_mask(x):
        if (x > 0).any():
            return np.sum(x)
        return -np.sum(x)

    def branches_on_a_mask_with_and(x):
        ok = np.all(x > -5) and np.all(x < 5)
        return np.sum(x) if ok else -np.sum(x)

    def lists(x):
        return np.sum(np.array([x, x]))

    def casts(x):
        return np.sum(x.astype(int))

    def l1(x):
        return np.linalg.norm(x, ord=1)

    def ffts(x):
        return np.sum(np.fft.fft(x))

    def reshapes(x):
        return np.sum(x.reshape(4, 2))

    def writes_at_a_traced_place(x):
        x[x] = 1.0
        return np.sum(x)

    def not_finite(x):
        return np.sum(np.nan_to_num(np.log(x - 10)))

    return [(attribute, ".cumprod", "x.cumprod"),
            (store_scalar, "writing a traced value into a numpy array", "out[0]"),
            (store_row, "writing a traced value into a numpy array", "out[1]"),
            (data_dot, "ndarray.dot", "np.eye(3).dot(x)"),
            (iterates, "iterating", "(v for v in np.sum(x))"),
            (branches_on_a_mask, "if / while", "if (x > 0).any():"),
            (branches_on_a_mask_with_and, "and / or", "np.all(x > -5) and np.all(x < 5)"),
            (lists, "np.array", "np.array([x, x])"),
            (casts, ".astype(int)", "x.astype(int)"),
            (l1, "np.linalg.norm with ord=1", "np.linalg.norm(x, ord=1)"),
            (ffts, "np.fft.fft", "np.fft.fft(x)"),
            (reshapes, "cannot reshape", "x.reshape(4, 2)"),
            (writes_at_a_traced_place, "indexing with a traced value", "x[x]"),
            (not_finite, "np.nan_to_num", "np.nan_to_num(np.log(x - 10))")]


@pytest.mark.parametrize(("f", "named", "at"), _refusals(), ids=lambda v: getattr(
    v, "__name__", None) if callable(v) else None)
def test_what_trace_cannot_read_is_a_chainrule_error_naming_it_at_its_expression(
        f: Callable[..., Any], named: str, at: str) -> None:
    with pytest.raises(ChainruleError) as info:
        trace(f, x=np.array([1.0, 2.0, 3.0]))
    err = info.value
    assert named in err.message and err.span is not None, err.message
    assert inspect.getsource(f)[slice(*err.span)].startswith(at)


def test_a_refusal_inside_a_helper_outside_the_traced_lines_names_its_line() -> None:
    with pytest.raises(ChainruleError) as info:
        trace(lambda W: svm_loss_vectorized(W, X_DATA, Y_LABELS, 0.1)[0], W=_x(D, C))
    lines, first = inspect.getsourcelines(svm_loss_vectorized)
    line = first + next(k for k, text in enumerate(lines) if "X.dot(W)" in text)
    assert f"line {line} of svm_loss_vectorized, test_trace_corpus.py: X.dot(W)" in (
        info.value.message)
