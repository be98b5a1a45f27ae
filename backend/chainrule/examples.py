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


# makemore part 4 ("Becoming a backprop ninja"): the forward pass cut into its named tensors, as
# Karpathy writes it, small: a vocabulary of 6, a context of 3 characters, 2-dimensional
# embeddings, 4 hidden units with a batchnorm, a batch of 4. `embcat @ W1` is written block by
# block (emb[:, k] is the k-th character's embedding).
MAKEMORE = """Xb = [[5, 5, 0], [1, 4, 0], [5, 1, 5], [1, 2, 3]]
Yb = [0, 3, 3, 4]
C = [[0.3, -1.04], [0.75, 0.94], [-1.95, -1.3], [0.13, -0.32], [-0.02, -0.85], [0.88, 0.78]]
W1 = [[0.03, 0.56, 0.23, -0.43], [0.18, -0.48, 0.44, -0.02], [-0.09, -0.34, 0.61, -0.08],
      [-0.21, -0.18, 0.27, 0.18], [0.21, 0.22, 1.07, -0.2], [-0.26, -0.41, 0.31, 0.56]]
b1 = [-0.01, -0.08, -0.08, 0.07]
bngain = [[1.1, 0.9, 1.0, 1.2]]
bnbias = [[0.1, -0.1, 0.0, 0.05]]
W2 = [[0.37, 0.27, -0.33, 0.12, 0.06, 0.11], [0.44, 0.11, 0.34, 0.03, 0.14, 0.32],
      [-0.73, -0.16, -0.24, -0.32, -0.14, 0.75], [-0.43, 0.48, -0.84, -0.17, 0.08, 0.29]]
b2 = [0.07, 0.08, -0.03, -0.05, 0.09, -0.02]

emb = C[Xb]
hprebn = emb[:, 0] @ W1[0:2] + emb[:, 1] @ W1[2:4] + emb[:, 2] @ W1[4:6] + b1
bnmeani = mean(hprebn, axis=0, keepdims=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff ** 2
bnvar = sum(bndiff2, axis=0, keepdims=True) / 3
bnvar_inv = (bnvar + 0.00001) ** -0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = max(logits, axis=1, keepdims=True)
norm_logits = logits - logit_maxes
counts = exp(norm_logits)
counts_sum = sum(counts, axis=1, keepdims=True)
counts_sum_inv = counts_sum ** -1
probs = counts * counts_sum_inv
logprobs = log(probs)
loss = -mean(logprobs[arange(4), Yb])"""


# A LeNet in miniature, as the PyTorch tutorial's (conv, relu, max pool, twice; then a linear
# layer and cross entropy), on one 8×8 image: each conv_layer call is a box that opens to its
# convolution, bias, relu and pooling.
LENET = """image = [[[[0.63, 0.9, 0.78, 0.23, 0.3, 0.87, 0.01, 0.82],
        [0.8, 0.47, 0.3, 0.28, 0.25, 0.45, 0.5, 0.55],
        [1.0, 0.79, 0.62, 0.99, 0.22, 0.16, 0.61, 0.04],
        [0.04, 0.51, 0.47, 0.92, 0.63, 0.51, 0.5, 0.25],
        [0.01, 0.19, 0.69, 0.2, 0.37, 0.0, 0.83, 0.15],
        [0.27, 0.88, 0.51, 0.85, 0.64, 0.74, 0.09, 0.54],
        [0.51, 0.87, 0.36, 0.6, 0.06, 0.39, 0.32, 0.15],
        [0.82, 0.38, 0.98, 0.59, 0.61, 0.64, 0.68, 0.15]]]]
w1 = [[[[-0.59, -0.29, -0.1], [0.45, 0.57, -0.66], [-0.4, 0.32, -1.0]]],
     [[[-0.23, 0.05, 0.63], [0.34, -0.16, -0.18], [-0.13, 0.76, -0.21]]]]
b1 = [[[0.03]], [[0.04]]]
w2 = [[[[0.06, -0.1], [-0.56, 0.01]], [[-0.22, 0.58], [0.33, 0.01]]], [[[0.33, -0.17],
     [0.53, 0.0]], [[0.29, -0.65], [0.17, -0.84]]], [[[-1.02, -0.15], [-0.45, 0.08]],
     [[1.12, -0.42], [-0.31, 0.1]]]]
b2 = [[[0.05]], [[0.02]], [[0.02]]]
W3 = [[0.35, 0.26], [-0.52, 0.04], [0.02, -0.53]]
b3 = [0.03, 0.09]
t = [0, 1]

def conv_layer(x, w, b):
    return max_pool2d(relu(conv2d(x, w) + b), 2)

h1 = conv_layer(image, w1, b1)
h2 = conv_layer(h1, w2, b2)
logits = h2[:, :, 0, 0] @ W3 + b3
loss = logsumexp(logits) - sum(t * logits)"""


# Backprop ninja (makemore part 4) as an exercise: the notebook's forward pass cut into its named
# tensors, small (a batch of 8, a vocabulary of 5, a context of 3, 2-dimensional embeddings, 6
# hidden units), for the learner to write every tensor's gradient in the language (ninja mode,
# `POST /api/v1/ninja`). emb.view(n, -1) is the concatenation of its three characters' rows.
NINJA = """emb = C[Xb]
embcat = concatenate([emb[:, 0], emb[:, 1], emb[:, 2]], axis=1)
hprebn = embcat @ W1 + b1
bnmeani = 1/8*sum(hprebn, axis=0, keepdims=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1/7*sum(bndiff2, axis=0, keepdims=True)
bnvar_inv = (bnvar + 1e-5)**-0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = amax(logits, axis=1, keepdims=True)
norm_logits = logits - logit_maxes
counts = exp(norm_logits)
counts_sum = sum(counts, axis=1, keepdims=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = log(probs)
loss = -mean(logprobs[arange(8), Yb])"""
NINJA_VALUES: dict[str, object] = {
    "Xb": [[2, 2, 3], [4, 0, 0], [4, 4, 1], [1, 4, 2], [1, 4, 1], [2, 3, 2], [0, 0, 4], [3, 4, 2]],
    "Yb": [4, 1, 2, 3, 0, 1, 0, 2],
    "C": [[0.04, -0.29], [-0.78, -0.26], [0.01, -0.28], [1.29, 1.01], [-2.71, -1.89]],
    "W1": [[-0.09, -0.21, 0.11, 0.11, 1.06, -0.56], [-0.19, 1.02, 0.32, 0.33, -0.26, -0.82],
           [0.08, 0.05, -0.61, -0.34, -0.04, -0.47], [-0.05, 0.05, 0.02, -0.25, 0.3, 0.45],
           [0.16, -0.41, 0.37, -0.25, 0.44, -0.54], [0.46, -0.01, -0.62, -0.16, 0.03, 0.14]],
    "b1": [-0.1, -0.11, 0.02, -0.05, 0.02, 0.08],
    "W2": [[-0.49, 0.08, 0.37, -0.09, -0.24], [0.23, 0.08, 0.27, -0.1, -0.44],
           [-0.03, -0.13, 0.23, 0.06, -0.49], [-0.36, 0.27, 0.2, -0.19, 0.0],
           [0.13, 0.14, 0.26, 0.08, -0.03], [-0.08, 0.32, -0.68, -0.04, 0.01]],
    "b2": [-0.14, 0.03, -0.07, 0.09, -0.01],
    "bngain": [[1.07, 1.12, 1.04, 0.91, 0.85, 1.18]],
    "bnbias": [[-0.01, -0.07, 0.01, -0.02, 0.09, 0.0]],
}

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
    {"title": "makemore's forward pass, tensor by tensor", "source": MAKEMORE, "values": {},
     "description": "Karpathy's backprop-ninja exercise: C[Xb] picks the embeddings (its "
                    "backward adds up the rows read twice), a batchnorm in its parts, and the "
                    "long cross entropy, whose logprobs[arange(4), Yb] picks one per row. Xb "
                    "and Yb are indices: data, never differentiated."},
    {"title": "Backprop ninja: makemore part 4", "source": NINJA, "values": NINJA_VALUES,
     "ninja": True,
     "description": "Karpathy's exercise, small: write each tensor's gradient as an "
                    "expression, from the forward names and the d<name> of the tensors after "
                    "it (dprobs = dlogprobs / probs); each is evaluated and graded where it "
                    "happens, and a mistake is marked at its own step. onehot(Yb, 5), "
                    "ones_like(x), argmax(x, 1) and sum(x, axis=0, keepdims=True) help."},
    {"title": "A small LeNet, folded by layer", "source": LENET, "values": {},
     "description": "Two conv layers (convolution, bias, relu, 2×2 max pooling) and a linear "
                    "layer on one 8×8 image: each conv_layer call is a box. Backward, the "
                    "convolution sends the upstream through the flipped kernel to its input, "
                    "and pooling routes each window's gradient to its maximum."},
    {"title": "Why a topological order? (micrograd #64)", "source": "a = x\nb = a + a\nc = b + b",
     "values": {"x": 3.0},
     "description": "micrograd's most asked question. Switch on \"Replay the naive way\" (under "
                    "Gradients): the recursive pass reaches b twice and passes its gradient on "
                    "twice, so x gets 8, not 4. \"...twice without zeroing\" adds the second "
                    "backward() onto the first."},
    {"title": "The memory of reverse mode",
     "source": "\n".join(f"x{i} = sin(x{i - 1})" for i in range(1, 13)), "values": {"x0": 0.5},
     "description": "A chain of 12 sines: plain reverse mode keeps every x until its backward "
                    "step (the Tape line under the player, and 'kept' on the cards). Under \"The "
                    "memory of reverse mode\" switch on the checkpointing replay and choose √N "
                    "segments: x9..x12 are kept, x5..x8 and x1..x4 are recomputed just before "
                    "their backward steps. Compare every k-th, none and revolve with c slots in "
                    "the table and the plot: less memory, more forward steps."},
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
    # ---- second order (issue 30): the backward pass built as a graph, differentiated again
    {"title": "Second derivative", "source":
        "L = sin(x * y) + x**2\ng = grad(L, x)\nh = grad(g, x)", "values": {"x": 0.7, "y": 1.3},
     "description": "g = grad(L, x) builds L's backward pass as nodes of the graph (the seed, "
                    "each upstream × local product, the local derivatives reading the forward "
                    "values); h = grad(g, x) differentiates that graph again: d²L/dx² = 2 - y² "
                    "sin(xy). The output is h, so its own backward pass gives third "
                    "derivatives."},
    {"title": "Hessian-vector product, two ways", "source":
        "L = x**2 * y + sin(x * y)\nhv = hvp(L, x, 1.0)", "values": {"x": 0.7, "y": 1.3},
     "hessian": {"wrt": ["x", "y"], "v": [1.0, 2.0], "output": "L"},
     "description": "H v without the Hessian: forward over reverse pushes the tangent v "
                    "through the backward graph (one pass, memory as the sweep goes); reverse "
                    "over reverse (the hvp line: grad of grad · v) runs a second backward pass "
                    "and keeps every value. The Hessian is N of them, a column each."},
    {"title": "Newton vs gradient descent", "source":
        "L = (x - 1)**2 + 10*(y + 2)**2 + x*y", "values": {"x": 3.0, "y": 1.0},
     "optimize": {"method": "newton", "learning_rate": 0.04, "steps": 30, "inputs": ["x", "y"],
                  "compare": {"method": "sgd", "learning_rate": 0.04}},
     "description": "A quadratic bowl, long and tilted: gradient descent zigzags across the "
                    "valley, its rate held down by the steepest direction. Newton's method "
                    "reads the curvature too, the Hessian [[2, 1], [1, 20]] (N Hessian-vector "
                    "products through the backward graph), and steps by -H⁻¹g: on a quadratic "
                    "the gradient is H (x - x*), so one step lands on the minimum. Try "
                    "Rosenbrock's (1 - x)**2 + 100*(y - x**2)**2 from (-1.2, 1): about 6 "
                    "steps."},
]
