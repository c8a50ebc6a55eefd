"""The function cases run through NNabla and through nnvae by the same code
(this file imports neither library; the caller passes its modules in).

A case is a function name, its inputs (kind, shape) and keyword arguments.
Inputs are made once, on the nnvae side, from a fixed numpy RandomState and
handed to NNabla in an .npz file. Each run records the outputs, the type
name of each output's function (y.parent.name), the dtype of each output's
.d and, for the inputs that take a gradient, d/dx of sum_k sum(y_k * u_k) with u_k fixed random arrays
of the outputs' shapes (RandomState(1000 + case index)).

Input kinds: "n" normal; "p" positive U[0.5, 2); "u" U[0.05, 0.95);
"b" 0/1 values; "1" ones; "iK" integers in [0, K) (no gradient).

EXPRESSIONS are cases of a few functions or operators combined, as NNabla's
MNIST programs (DCGAN, Siamese, VAT) write them; each names its callable
(F, *inputs) -> outputs and runs as the function cases do.
"""
import numpy as np

_N1 = [{"inputs": [("n", (3, 4))]}, {"inputs": [("n", (2, 3, 5))]}]


def _unary(kind="n", **kw):
    return [{"inputs": [(kind, (3, 4))], "kwargs": kw}, {"inputs": [(kind, (2, 3, 5))], "kwargs": kw}]


def _binary(kind1="n"):
    return [{"inputs": [("n", (3, 4)), (kind1, (3, 4))]},
            {"inputs": [("n", (2, 3, 4)), (kind1, (2, 1, 4))]},
            {"inputs": [("n", (2, 1, 4)), (kind1, (2, 3, 1))]}]


def _reduce(kind="n"):
    return [{"inputs": [(kind, (3, 4))]},
            {"inputs": [(kind, (2, 3, 4))], "kwargs": {"axis": 1}},
            {"inputs": [(kind, (2, 3, 4))], "kwargs": {"axis": [0, 2], "keepdims": True}},
            {"inputs": [(kind, (2, 3, 4))], "kwargs": {"axis": -1}}]


CASES = {
    "affine": [{"inputs": [("n", (4, 6)), ("n", (6, 5)), ("n", (5,))]},
               {"inputs": [("n", (2, 3, 4)), ("n", (12, 7)), ("n", (7,))]},
               {"inputs": [("n", (2, 3, 4)), ("n", (4, 3)), ("n", (3,))], "kwargs": {"base_axis": 2}},
               {"inputs": [("n", (2, 3, 4)), ("n", (4, 3)), ("n", (3,))], "kwargs": {"base_axis": -1}},
               {"inputs": [("n", (4, 6)), ("n", (6, 5))]}],
    "elu": _unary() + _unary(alpha=0.5),
    "relu": _N1,
    "leaky_relu": _unary() + _unary(alpha=0.2),
    "sigmoid": _N1,
    "tanh": _N1,
    "softplus": _unary() + _unary(beta=2.0),
    "exp": _N1,
    "log": _unary("p"),
    "sqrt": _unary("p"),  # nnvae's own: checked for gradients only
    "abs": _N1,
    "identity": _N1,
    "add2": _binary(),
    "sub2": _binary(),
    "mul2": _binary(),
    "div2": _binary("p") + [{"inputs": [("n", (2, 3, 4, 4)), ("p", (2, 1, 1, 1))]}],
    "pow2": [{"inputs": [("p", (3, 4)), ("n", (3, 4))]}, {"inputs": [("p", (2, 3, 4)), ("n", (2, 1, 4))]}],
    "maximum2": _binary(),
    "minimum2": _binary(),
    "add_scalar": _unary(val=1.5),
    "mul_scalar": _unary(val=-2.0),
    # (0.5 and 2.0: the Siamese program's; a negative base to 0.5 gives NaN in both, values only)
    "pow_scalar": _unary("p", val=2.5) + _unary("n", val=2) + _unary("p", val=0.5) + _unary("n", val=2.0) + [
        {"inputs": [("n", (3, 4))], "kwargs": {"val": 0.5}, "grad": [False]}],
    "r_sub_scalar": _unary(val=3.0),
    "r_div_scalar": _unary("p", val=2.0),
    "maximum_scalar": _unary(val=0.3) + _unary(val=0.0),
    "minimum_scalar": _unary(val=0.3),
    "clip_by_value": _unary(min=-0.5, max=0.5),
    "sum": _reduce() + [{"inputs": [("n", (4, 3))], "kwargs": {"axis": 1, "keepdims": True}}],
    "mean": _reduce(),
    "max": _reduce() + [{"inputs": [("n", (2, 3, 4))], "kwargs": {"axis": 1, "with_index": True}, "grad": [False]},
                        {"inputs": [("n", (3, 4))], "kwargs": {"axis": 0, "only_index": True}, "grad": [False]}],
    "min": _reduce() + [{"inputs": [("n", (2, 3, 4))], "kwargs": {"axis": 2, "with_index": True}, "grad": [False]}],
    "prod": _reduce("p"),
    "sigmoid_cross_entropy": [{"inputs": [("n", (3, 4)), ("b", (3, 4))], "grad": [True, False]},
                              {"inputs": [("n", (4, 1)), ("1", (4, 1))], "grad": [True, False]},
                              {"inputs": [("n", (2, 3, 4)), ("b", (2, 3, 4))], "grad": [True, False]}],
    "binary_cross_entropy": [{"inputs": [("u", (3, 4)), ("b", (3, 4))], "grad": [True, False]},
                             {"inputs": [("u", (2, 5)), ("u", (2, 5))], "grad": [True, False]}],
    "softmax_cross_entropy": [
        {"inputs": [("n", (4, 5)), ("i5", (4, 1))], "grad": [True, False]},
        {"inputs": [("n", (2, 5, 3)), ("i5", (2, 1, 3))], "kwargs": {"axis": 1}, "grad": [True, False]}],
    "categorical_cross_entropy": [{"inputs": [("u", (4, 5)), ("i5", (4, 1))], "grad": [True, False]}],
    "squared_error": [{"inputs": [("n", (3, 4)), ("n", (3, 4))]},
                      {"inputs": [("n", (2, 3, 4)), ("n", (2, 1, 4))]},
                      {"inputs": [("n", (2, 1, 4)), ("n", (2, 3, 1))]}],
    # base_axis 0 is left out: NNabla 1.39 reads outside its input there.
    "kl_multinomial": [{"inputs": [("u", (4, 5)), ("u", (4, 5))]},
                       {"inputs": [("u", (2, 3, 4)), ("u", (2, 3, 4))], "kwargs": {"base_axis": 2}},
                       {"inputs": [("u", (2, 3, 4)), ("u", (2, 3, 4))], "kwargs": {"base_axis": -1}},
                       {"inputs": [("u", (2, 3, 4)), ("u", (2, 3, 4))], "kwargs": {"base_axis": -2}}],
    "softmax": [{"inputs": [("n", (4, 5))]}, {"inputs": [("n", (2, 3, 4))], "kwargs": {"axis": 1}},
                {"inputs": [("n", (2, 3, 4))], "kwargs": {"axis": 0}}],
    "log_softmax": [{"inputs": [("n", (4, 5))]}, {"inputs": [("n", (2, 3, 4))], "kwargs": {"axis": 1}}],
    "greater_equal_scalar": [{"inputs": [("n", (3, 4))], "kwargs": {"val": 0.2}, "grad": [False]},
                             {"inputs": [("n", (2, 3, 4))], "kwargs": {"val": -0.1}, "grad": [False]}],
    "reshape": [{"inputs": [("n", (2, 3, 4))], "kwargs": {"shape": (6, 4)}},
                {"inputs": [("n", (2, 3, 4))], "kwargs": {"shape": (4, -1)}}],
    "concatenate": [{"inputs": [("n", (2, 3)), ("n", (2, 4))], "kwargs": {"axis": 1}},
                    {"inputs": [("n", (2, 3)), ("n", (1, 3)), ("n", (3, 3))], "kwargs": {"axis": 0}},
                    {"inputs": [("n", (2, 3, 2)), ("n", (2, 3, 4))]}],
    "stack": [{"inputs": [("n", (2, 3))] * 3},
              {"inputs": [("n", (2, 3))] * 3, "kwargs": {"axis": 1}},
              {"inputs": [("n", (2, 3))] * 2, "kwargs": {"axis": 2}}],
    "split": [{"inputs": [("n", (3, 4))]}, {"inputs": [("n", (3, 4))], "kwargs": {"axis": 1}}],
    "slice": [{"inputs": [("n", (4, 5))], "kwargs": {"start": (1, 0), "stop": (3, 5), "step": (1, 2)}},
              {"inputs": [("n", (2, 3, 4))], "kwargs": {"start": (0, 1, 1), "stop": (2, 3, 4), "step": (1, 1, 2)}},
              {"inputs": [("n", (4, 5))], "kwargs": {"stop": (3, 4)}}],
    "transpose": [{"inputs": [("n", (2, 3, 4))], "kwargs": {"axes": (2, 0, 1)}},
                  {"inputs": [("n", (3, 4))], "kwargs": {"axes": (1, 0)}}],
    "broadcast": [{"inputs": [("n", (1, 3))], "kwargs": {"shape": (4, 3)}},
                  {"inputs": [("n", (2, 1, 4))], "kwargs": {"shape": (2, 3, 4)}}],
    "tile": [{"inputs": [("n", (2, 3))], "kwargs": {"reps": (2, 1)}}],
    "flip": [{"inputs": [("n", (2, 3, 4))], "kwargs": {"axes": [1]}}],
    "batch_matmul": [{"inputs": [("n", (2, 3, 4)), ("n", (2, 4, 5))]},
                     {"inputs": [("n", (2, 4, 3)), ("n", (2, 5, 4))],
                      "kwargs": {"transpose_a": True, "transpose_b": True}}],
    "one_hot": [{"inputs": [("i5", (4, 1))], "kwargs": {"shape": (5,)}, "grad": [False]},
                {"inputs": [("i3", (3, 2))], "kwargs": {"shape": (3, 4)}, "grad": [False]}],
    "where": [{"inputs": [("b", (3, 4)), ("n", (3, 4)), ("n", (3, 4))], "grad": [False, True, True]}],
    # Convolutional networks: every argument combination NNabla's MNIST programs use, plus stride, pad,
    # dilation and group variations, odd sizes and batch 1. Weights: (out, in / group, kh, kw) for
    # convolution, (in, out / group, kh, kw) for deconvolution.
    "convolution": [
        {"inputs": [("n", (2, 1, 9, 8)), ("n", (4, 1, 5, 5)), ("n", (4,))]},  # LeNet's conv1
        {"inputs": [("n", (2, 3, 7, 7)), ("n", (6, 3, 3, 3)), ("n", (6,))], "kwargs": {"pad": (1, 1)}},
        {"inputs": [("n", (1, 4, 8, 7)), ("n", (4, 4, 1, 1))]},  # 1x1 without bias, batch 1
        {"inputs": [("n", (2, 2, 9, 9)), ("n", (3, 2, 3, 3)), ("n", (3,))],
         "kwargs": {"pad": (3, 3), "stride": (2, 2)}},
        {"inputs": [("n", (2, 4, 9, 8)), ("n", (6, 2, 3, 2)), ("n", (6,))],
         "kwargs": {"pad": (1, 0), "stride": (1, 2), "dilation": (2, 1), "group": 2}},
        {"inputs": [("n", (2, 3, 6, 5)), ("n", (2, 3, 3, 3))], "kwargs": {"dilation": (2, 2), "pad": (2, 1)}},
    ],
    "deconvolution": [
        {"inputs": [("n", (2, 3, 1, 1)), ("n", (3, 4, 4, 4))]},  # the DCGAN's first layer
        {"inputs": [("n", (2, 4, 4, 4)), ("n", (4, 2, 4, 4))], "kwargs": {"pad": (1, 1), "stride": (2, 2)}},
        {"inputs": [("n", (1, 2, 8, 8)), ("n", (2, 3, 4, 4))], "kwargs": {"pad": (3, 3), "stride": (2, 2)}},
        {"inputs": [("n", (2, 4, 5, 4)), ("n", (4, 3, 3, 3)), ("n", (6,))],
         "kwargs": {"pad": (1, 1), "stride": (2, 1), "dilation": (1, 2), "group": 2}},
        {"inputs": [("n", (2, 2, 3, 3)), ("n", (2, 3, 3, 3)), ("n", (3,))],
         "kwargs": {"stride": (2, 2), "output_padding": (1, 1)}},
    ],
    "max_pooling": [
        {"inputs": [("n", (2, 3, 8, 8))], "kwargs": {"kernel": (2, 2), "stride": (2, 2)}},  # LeNet, ResNet
        {"inputs": [("n", (2, 3, 7, 6))], "kwargs": {"kernel": (2, 2)}},
        {"inputs": [("n", (1, 2, 7, 6))], "kwargs": {"kernel": (3, 2), "stride": (2, 2), "ignore_border": False}},
        {"inputs": [("n", (2, 2, 6, 7))], "kwargs": {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)}},
    ],
    "average_pooling": [
        {"inputs": [("n", (2, 3, 8, 8))], "kwargs": {"kernel": (2, 2), "stride": (2, 2)}},  # Siamese
        {"inputs": [("n", (2, 2, 4, 4))], "kwargs": {"kernel": (4, 4), "stride": (4, 4)}},  # ResNet's last
        {"inputs": [("n", (1, 2, 7, 6))], "kwargs": {"kernel": (3, 2), "stride": (2, 2), "ignore_border": False}},
        {"inputs": [("n", (2, 2, 6, 7))], "kwargs": {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)}},
        {"inputs": [("n", (2, 2, 6, 7))],
         "kwargs": {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "including_pad": False}},
    ],
    "batch_normalization": [
        {"inputs": [("n", (4, 3, 5, 5)), ("n", (1, 3, 1, 1)), ("n", (1, 3, 1, 1)), ("n", (1, 3, 1, 1)),
                    ("p", (1, 3, 1, 1))], "grad": [True, True, True, False, False]},
        {"inputs": [("n", (4, 3, 5, 5)), ("n", (1, 3, 1, 1)), ("n", (1, 3, 1, 1)), ("n", (1, 3, 1, 1)),
                    ("p", (1, 3, 1, 1))], "kwargs": {"batch_stat": False}, "grad": [True, True, True, False, False]},
        {"inputs": [("n", (6, 5)), ("n", (1, 5)), ("n", (1, 5)), ("n", (1, 5)), ("p", (1, 5))],
         "grad": [True, True, True, False, False]},  # VAT's, on 2-D input
        {"inputs": [("n", (2, 3, 3, 5)), ("n", (1, 1, 3, 1)), ("n", (1, 1, 3, 1)), ("n", (1, 1, 3, 1)),
                    ("p", (1, 1, 3, 1))], "kwargs": {"axes": [2], "decay_rate": 0.5, "eps": 1e-3},
         "grad": [True, True, True, False, False]},
    ],
    "top_n_error": [{"inputs": [("n", (6, 5)), ("i5", (6, 1))], "kwargs": {"axis": 1, "n": 1}, "grad": [False, False]},
                    {"inputs": [("n", (6, 5)), ("i5", (6, 1))], "kwargs": {"n": 2}, "grad": [False, False]}],
    # Dropout's mask comes from each library's own generator: compared at p = 0 only.
    "dropout": [{"inputs": [("n", (3, 4))], "kwargs": {"p": 0.0}}],
    "constant": [{"inputs": [], "kwargs": {"val": 2.5, "shape": (2, 3)}},
                 {"inputs": [], "kwargs": {"val": -1.0, "shape": (4,)}}],
}

# The programs' combinations: name -> (callable (F, *inputs), its cases).
EXPRESSIONS = {
    # VAT: kl_multinomial(softmax(y0, 1), softmax(y1, 1), 1), the divergence of two predictions
    "vat_distance": (lambda F, a, b: F.kl_multinomial(F.softmax(a, 1), F.softmax(b, 1), 1),
                     [{"inputs": [("n", (4, 10)), ("n", (4, 10))]}]),
    # VAT: x + xi·r, r = noise / sqrt(Σ noise²) per sample (a (B, 1, 1, 1) divisor)
    "vat_perturbed_input": (
        lambda F, x, noise: x + 10.0 * (noise / F.pow_scalar(
            F.sum(F.pow_scalar(noise, 2), axis=(1, 2, 3), keepdims=True), 0.5)),
        [{"inputs": [("n", (2, 1, 4, 4)), ("n", (2, 1, 4, 4))]}]),
    # Siamese: sum(squared_error(h0, h1), axis=1, keepdims=True), the squared distance of two embeddings
    "siamese_distance": (lambda F, a, b: F.sum(F.squared_error(a, b), axis=1, keepdims=True),
                         [{"inputs": [("n", (6, 2)), ("n", (6, 2))]}]),
    # Siamese: l·sd + (1 − l)·max(margin − sqrt(sd + eps), 0)², labels l in {0, 1}, floats on the left
    "siamese_contrastive_loss": (
        lambda F, sd, l: l * sd + (1 - l) * F.pow_scalar(
            F.maximum_scalar(1.0 - F.pow_scalar(sd + 1e-4, 0.5), 0), 2.0),
        [{"inputs": [("u", (8, 1)), ("b", (8, 1))], "grad": [True, False]}]),
    # DCGAN: sigmoid_cross_entropy(x, constant(1, (B, 1))), the generator's loss
    "dcgan_loss_against_ones": (lambda F, x: F.sigmoid_cross_entropy(x, F.constant(1, (x.shape[0], 1))),
                                [{"inputs": [("n", (5, 1))]}]),
}

# Functions whose output nodes NNabla names otherwise than nnvae
# (Function.name), and why; every other case's names must be equal.
TYPE_NAME_DIFFERS = {
    "stack": "nnvae builds it from reshape and concatenate (its node: Concatenate; NNabla's: Stack)",
    "split": "nnvae builds it from slice and reshape (its nodes: Reshape; NNabla's: Split)",
    "clip_by_value": "NNabla builds it from maximum_scalar and minimum_scalar (MinimumScalar); nnvae has one "
                     "ClipByValue node",
}

# Functions both libraries have whose values are not compared, and why.
NOT_COMPARED = {
    "randn": "random: each library has its own generator (nnvae's distribution is tested on its own)",
    "rand": "random: each library has its own generator",
    "randint": "random: each library has its own generator",
    "image_augmentation": "random: each library draws its own transforms (nnvae's are tested on their own)",
}


def default_cases(kinds):
    """The cases of a function that no CASES entry lists: one or two
    variables of shapes (3, 4) and (2, 3, 5) (two broadcast as _binary), its
    options at their defaults; None for any other argument list."""
    if kinds == ["VAR"]:
        return _N1
    if kinds == ["VAR", "VAR"]:
        return _binary()
    return None


def with_defaults(kinds_by_name):
    """CASES, plus default_cases for each function of {name: its argument
    kinds} that CASES lacks and that has defaults."""
    table = dict(CASES)
    for name, kinds in kinds_by_name.items():
        if name not in table and default_cases(kinds) is not None:
            table[name] = default_cases(kinds)
    return table


def make_inputs(case, rng):
    """The case's input arrays (float32, or int32 for "iK")."""
    out = []
    for kind, shape in case["inputs"]:
        if kind == "n":
            a = rng.standard_normal(shape)
        elif kind == "p":
            a = rng.uniform(0.5, 2.0, shape)
        elif kind == "u":
            a = rng.uniform(0.05, 0.95, shape)
        elif kind == "b":
            a = (rng.uniform(size=shape) < 0.5).astype(np.float32)
        elif kind == "1":
            a = np.ones(shape)
        elif kind.startswith("i"):
            out.append(rng.randint(0, int(kind[1:]), size=shape).astype(np.int32))
            continue
        else:
            raise ValueError(f"unknown input kind {kind!r}")
        out.append(np.asarray(a, dtype=np.float32))
    return out


def takes_grad(case):
    return case.get("grad") or [not kind.startswith("i") for kind, _ in case["inputs"]]


def run(nn, F, name, case, arrays, index):
    """Runs one case with library (nn, F): {"out0": ..., "grad0": ...}."""
    grads = takes_grad(case)
    xs = [nn.Variable.from_numpy_array(a, need_grad=bool(g)) for a, g in zip(arrays, grads)]
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in case.get("kwargs", {}).items()}
    fn = EXPRESSIONS[name][0] if name in EXPRESSIONS else getattr(F, name)
    ys = fn(F, *xs, **kwargs) if name in EXPRESSIONS else fn(*xs, **kwargs)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    result = {}
    urng = np.random.RandomState(1000 + index)
    loss = None
    for k, y in enumerate(ys):
        y.forward()
        result[f"out{k}"] = np.array(y.d, dtype=np.float32)
        result[f"type{k}"] = np.array(y.parent.name)
        result[f"dtype{k}"] = np.array(np.asarray(y.d).dtype.name)
        if not any(grads):
            continue
        u = nn.Variable.from_numpy_array(urng.standard_normal(y.shape).astype(np.float32))
        term = F.sum(F.mul2(y, u))
        loss = term if loss is None else F.add2(loss, term)
    if any(grads) and loss is not None:
        loss.forward()
        for x in xs:
            x.grad.zero()
        loss.backward(1)
        for j, (x, g) in enumerate(zip(xs, grads)):
            if g:
                result[f"grad{j}"] = np.array(x.g, dtype=np.float32)
    return result


def run_all(nn, F, selected, inputs, table):
    """Runs every (name, case index) in `selected`, each case table[name][i];
    returns arrays keyed "name:i:out0" ... and errors keyed "name:i"."""
    arrays, errors = {}, {}
    for name, i in selected:
        case = table[name][i]
        ins = [inputs[f"{name}:{i}:in{j}"] for j in range(len(case["inputs"]))]
        try:
            for key, value in run(nn, F, name, case, ins, i).items():
                arrays[f"{name}:{i}:{key}"] = value
        except Exception as e:  # reported per case by the comparison
            errors[f"{name}:{i}"] = f"{type(e).__name__}: {e}"
    return arrays, errors
