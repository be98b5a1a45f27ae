"""The gallery: good first expressions, from one line to a network's loss, and rules of the
learner's own (one of them wrong on purpose: its check fails, as `check_passes` says)."""

from __future__ import annotations

# micrograd's moons demo as a typed program: 8 points of the two moons (labels 1 and -1), a
# 2-4-4-1 relu network, and the demo's max-margin loss with L2 regularization.
MOONS = """X = [[0.96, 0.3], [0.36, 0.93], [-0.42, 0.91], [-0.94, 0.33],
     [0.04, 0.2], [0.64, -0.43], [1.42, -0.41], [1.94, 0.17]]
y = [1, 1, 1, 1, -1, -1, -1, -1]
W1 = [[0.5, -0.3, 0.8, 0.1], [-0.6, 0.9, 0.2, -0.4]]
b1 = [0.15, -0.2, 0.05, 0.3]
W2 = [[0.7, -0.5, 0.3, 0.2], [0.4, 0.6, -0.8, 0.1],
      [-0.3, 0.2, 0.5, -0.6], [0.9, -0.1, 0.4, 0.3]]
b2 = [0.05, 0.1, -0.1, 0.2]
w3 = [0.6, -0.7, 0.5, 0.8]
b3 = -0.1

def layer(W, x, b):
    return relu(x @ W + b)

def margin(scores, labels):
    return mean(relu(1 - labels * scores))

h1 = layer(W1, X, b1)
h2 = layer(W2, h1, b2)
scores = h2 @ w3 + b3
loss = margin(scores, y) + 0.0001 * (sum(W1 * W1) + sum(W2 * W2) + sum(w3 * w3))"""

EXAMPLES: list[dict[str, object]] = [
    {"title": "Product and sine", "source": "x*y + sin(x)", "values": {"x": 1.5, "y": 2.0},
     "description": "x is used twice: its gradient is the sum of two contributions (fan-out)."},
    {"title": "Chain of functions", "source": "exp(sin(x)**2)", "values": {"x": 0.7},
     "description": "Three local derivatives multiplied along one path: the chain rule itself."},
    {"title": "micrograd's neuron", "source":
        "x1 = 2.0\nx2 = 0.0\nw1 = -3.0\nw2 = 1.0\nb = 6.8813735870195432\n"
        "n = x1*w1 + x2*w2 + b\no = tanh(n)", "values": {},
     "description": "The neuron of Karpathy's micrograd lecture: o = tanh(x1 w1 + x2 w2 + b)."},
    {"title": "micrograd's test, pasted as typed", "source":
        "a = -4.0\nb = 2.0\nc = a + b\nd = a * b + b**3\nc += c + 1\nc += 1 + c + (-a)\n"
        "d += d * 2 + (b + a).relu()\nd += 3 * d + (b - a).relu()\ne = c - d\nf = e**2\n"
        "g = f / 2.0\ng += 10.0 / f", "values": {},
     "description": "micrograd's own test_more_ops without its Value(...) wrappers: += and "
                    ".relu() as micrograd writes them; a and b fan out everywhere."},
    {"title": "Sigmoid by hand", "source": "1 / (1 + exp(-(w*x + b)))",
     "values": {"w": 2.0, "x": -1.0, "b": -3.0},
     "description": "The CS231n staged computation: each node's derivative is simple."},
    {"title": "Quotient rule, as a graph", "source": "f = (x + y) / (x * y)\nf",
     "values": {"x": 3.0, "y": -4.0}, "description": "No quotient rule needed: div's two VJPs."},
    {"title": "Softplus vs relu", "source": "softplus(x) - relu(x)", "values": {"x": 0.3},
     "description": "A smooth and a kinked activation side by side."},
    {"title": "Broadcasting", "source": "sum((x - mu)**2) / 3", "values":
        {"x": [1.0, 2.0, 4.0], "mu": 2.0},
     "description": "mu is a scalar stretched over the vector: its gradient sums over the axis."},
    {"title": "Linear regression loss", "source":
        "X = [[1, 2], [3, 4], [5, 6]]\ny = [1, 0, 2]\nw = [0.1, -0.2]\nb = 0.5\n"
        "err = X @ w + b - y\nloss = mean(err**2)", "values": {},
     "description": "Mean squared error of a linear model: gradients for w and b at once."},
    {"title": "Softmax cross-entropy", "source":
        "z = [2.0, 1.0, 0.1]\nt = [0, 1, 0]\nloss = logsumexp(z) - sum(t * z)", "values": {},
     "description": "The classifier's loss: its gradient is softmax(z) - t."},
    {"title": "Two-layer network", "source":
        "x = [0.5, -1.2, 0.3]\nW1 = [[0.2, -0.4, 0.1], [0.7, 0.3, -0.5], [-0.3, 0.8, 0.2], "
        "[0.1, 0.1, 0.9]]\nb1 = [0.1, 0.0, -0.1, 0.2]\nW2 = [[0.3, -0.6, 0.2, 0.5], "
        "[-0.4, 0.1, 0.7, -0.2]]\nb2 = [0.05, -0.05]\nt = [1, 0]\n"
        "h = tanh(W1 @ x + b1)\nz = W2 @ h + b2\nloss = logsumexp(z) - sum(t * z)",
     "values": {},
     "description": "A hidden layer of 4 tanh units and a softmax output: backprop through "
                    "matrices, the same chain rule."},
    {"title": "Paths that double: a ladder", "source":
        "a0 = 1.0\nx = 0.5\n" + "".join(f"a{i} = a{i - 1} * x + a{i - 1}\n" for i in range(1, 9))
        + "a8", "values": {},
     "description": "Each rung doubles the paths from a0 to the output: 2^8 = 256 paths, whose "
                    "products add up to the gradient (see Sum over paths); backprop sums them "
                    "in one pass over its 32 edges."},
    {"title": "A layer's Jacobian", "source":
        "W = [[1, -2], [3, 4], [-5, 6]]\nx = [0.1, 0.2]\ny = tanh(W @ x)", "values": {},
     "description": "An array output has a Jacobian, 3 × 8 here: a reverse pass per output "
                    "element gives a row (see the Jacobian panel); the backward steps start "
                    "from the seed ones."},
    {"title": "The moons network, with functions", "source": MOONS, "values": {},
     "description": "micrograd's moons demo, small: 8 points, a 2-4-4-1 network and its "
                    "max-margin loss. Each call of layer is a group of its own (layer#1, "
                    "layer#2); the backward pass goes through layer 2, then layer 1."},
    {"title": "Your own rule: softplus", "source":
        "@derivative(lambda x: sigmoid(x))\ndef softplus(x):\n    return log(1 + exp(x))\n\n"
        "y = softplus(w * x + b)", "values": {"w": 0.8, "x": 1.5, "b": -0.9},
     "description": "softplus as one node with your derivative rule, written as sigmoid: the "
                    "backward pass uses it, and the check compares it with finite differences "
                    "of the body."},
    {"title": "Your own rule, wrong: sigmoid", "source":
        "@derivative(lambda x: sigmoid(x))\ndef sigmoid(x):\n    return 1 / (1 + exp(-x))\n\n"
        "y = sigmoid(w * x + b)", "values": {"w": 0.8, "x": 1.5, "b": -0.9},
     "check_passes": False,
     "description": "The classic mistake: sigmoid's derivative written as sigmoid(x), not "
                    "sigmoid(x) * (1 - sigmoid(x)). The check fails on exactly this rule, with "
                    "both numbers, and the source marks its line and its node."},
]
