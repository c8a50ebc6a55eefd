"""NNabla's C++ MNIST programs (mnist_collection: lenet_training.hpp,
siamese_training.hpp, dcgan_training.hpp, vat_training.hpp,
resnet_training.hpp) as layer tables: the one description of each model
that the three sides of bench_mnist.py build from (nnvae and NNabla 1.39
through their NNabla-style Python API, mnist_graph_worker.py; PyTorch,
mnist_twin.py). Plain Python and numpy only, so that NNabla's own
interpreter (a venv of Python 3.10) imports it too.

A table is a tuple of layers (kind, options):

    ("conv", {"name", "maps", "kernel", "pad", "bias"[, "stride"]})  convolution (stride 1 unless given)
    ("deconv", {"name", "maps", "kernel", "pad", "stride", "bias"})  deconvolution (transposed convolution)
    ("bn", {})            batch normalization over channels, the scope's "bn"
    ("relu", {}), ("elu", {}), ("sigmoid", {})
    ("max_pool", {"size"}), ("avg_pool", {"size"})        window = stride = size,
                                                          the border's rest dropped
    ("affine", {"name", "units"})                          over all non-batch axes
    ("scope", {"name", "body"})                            body under parameter scope name
    ("residual", {"name", "body"})                         elu(body(x) + x), body under name

Initial values are the C++ pf:: defaults: (de)convolution W ~
U(±sqrt(6 / (K·C_in + C_out))), K the kernel area, affine W ~
U(±sqrt(6 / (n_in + n_out))), biases 0; batch normalization beta 0, gamma
1, running mean 0 and variance 1 (initial_values draws them once, so that
every side starts from the same numbers). Each program feeds images as
pixels / 255 (mnist_models.batch) and trains with Adam.

LeNet and ResNet ("loss": "softmax_cross_entropy"): the batch mean of the
softmax cross entropy of the class scores. Left out, on every side: the
ResNet program builds `x * (1/255)` and an image_augmentation node but
feeds its first convolution with x itself, so that neither is part of the
loss's graph and a (static-graph) training step never computes them.

Siamese ("loss": "contrastive"): the table runs on two images x0, x1 with
the same parameters, sd = Σ (h0 − h1)² over the embedding, and the loss is
the batch mean of l·sd + (1 − l)·max(0, margin − sqrt(sd + eps))², l = 1
where the two digits are the same (x1 is the image `partner(count)` names).
The program writes Σ (h0 − h1)² as NNabla's squared_error and sum, which
nnvae lacks: every side computes a difference, its square and the sum; the
program's weight_decay(0) changes nothing and is left out.

DCGAN ("loss": "gan", batch 64): two tables, the generator "gen" (z (B,
100, 1, 1) -> images) and the discriminator "dis", and two Adam solvers
with weight decay; a step is the generator's update (the sigmoid cross
entropy of dis(gen(z)) against 1) then the discriminator's (against 0 for
dis(gen(z)), 1 for dis(x)). As in the program, the discriminator's loss
recomputes gen(z) and back-propagates into the generator too (its
`fake_dis` copy is built but unused); z is a fresh normal draw per step in
the program, drawn once per example here (mnist_models.latent).

VAT ("loss": "vat"): a 784-1200-1200-10 perceptron with batch
normalization (its second one under the scope "fc3", as in the program),
trained on a fixed labeled batch of `batch` images, then on 2.5 times as
many unlabeled ones by virtual adversarial training: one power iteration
finds the direction r (unit norm per image) from a normal draw, and the
loss is the mean KL divergence between softmax(y(xu)) and softmax(y(xu +
eps·r)); two updates per step. Its KL divergence, NNabla's kl_multinomial,
which nnvae lacks, is Σ p·(log p − log q) on every side; the program's
learning-rate decay every 240 steps ("lr_decay") is left out of
bench_mnist's steps (it does not change their cost) and applied by
mnist_program_quality.py; weight_decay(0) is left out everywhere.

The programs' training runs, for mnist_program_quality.py: "iterations"
(max_iter), a monitor line every "monitor_every" iterations, of the
Siamese program's mean loss over "valid_batches" test batches, of VAT's
error on "valid_images" images.
"""
from __future__ import annotations

import functools

import numpy as np

# NNabla's batch normalization defaults, as pf::batch_normalization uses
# them: the running statistics move by (1 - decay_rate) per step (PyTorch's
# momentum), eps is added to the variance.
BN_DECAY = 0.9
BN_EPS = 1e-5


def _conv_bn_elu(name, maps, kernel, pad, stride=1):
    conv = {"name": None, "maps": maps, "kernel": kernel, "pad": pad, "stride": stride, "bias": False}
    return ("scope", {"name": name, "body": (("conv", conv), ("bn", {}), ("elu", {}))})


def _deconv_bn_elu(name, maps, pad, stride):
    deconv = {"name": None, "maps": maps, "kernel": 4, "pad": pad, "stride": stride, "bias": False}
    return ("scope", {"name": name, "body": (("deconv", deconv), ("bn", {}), ("elu", {}))})


def _res_unit(name, c):
    """The C++ ResNet's unit: 1x1 to c/2, 3x3 c/2, 1x1 back to c, each
    followed by batch normalization and ELU; then elu(h + x)."""
    body = (_conv_bn_elu("conv1", c // 2, 1, 0), _conv_bn_elu("conv2", c // 2, 3, 1), _conv_bn_elu("conv3", c, 1, 0))
    return ("residual", {"name": name, "body": body})


MODELS = {
    "lenet": {
        "program": "lenet_training.hpp",
        "batch": 128,
        "adam": (1e-3, 0.9, 0.999, 1e-8),  # alpha, beta1, beta2, eps
        "layers": (
            ("conv", {"name": "conv1", "maps": 16, "kernel": 5, "pad": 0, "bias": True}),  # (B, 16, 24, 24)
            ("max_pool", {"size": 2}), ("relu", {}),                                       # (B, 16, 12, 12)
            ("conv", {"name": "conv2", "maps": 16, "kernel": 5, "pad": 0, "bias": True}),  # (B, 16, 8, 8)
            ("max_pool", {"size": 2}), ("relu", {}),                                       # (B, 16, 4, 4)
            ("affine", {"name": "affine3", "units": 50}), ("relu", {}),
            ("affine", {"name": "affine4", "units": 10}),
        ),
    },
    "siamese": {
        "program": "siamese_training.hpp",
        "batch": 128,
        "adam": (1e-3, 0.9, 0.999, 1e-8),
        "loss": "contrastive",
        "iterations": 5000,
        "monitor_every": 10,
        "valid_batches": 10,
        "margin": 1.0,
        "eps": 1e-4,
        "layers": (
            ("conv", {"name": "conv1", "maps": 20, "kernel": 5, "pad": 0, "bias": True}),  # (B, 20, 24, 24)
            ("elu", {}), ("avg_pool", {"size": 2}),                                        # (B, 20, 12, 12)
            ("conv", {"name": "conv2", "maps": 50, "kernel": 5, "pad": 0, "bias": True}),  # (B, 50, 8, 8)
            ("elu", {}), ("avg_pool", {"size": 2}),                                        # (B, 50, 4, 4)
            ("affine", {"name": "fc3", "units": 500}), ("elu", {}),
            ("affine", {"name": "fc4", "units": 10}), ("elu", {}),
            ("affine", {"name": "fc_embed", "units": 2}),
        ),
    },
    "dcgan": {
        "program": "dcgan_training.hpp",
        "batch": 64,
        "adam": (2e-4, 0.5, 0.999, 1e-8),
        "weight_decay": 1e-4,
        "loss": "gan",
        "input": (100, 1, 1),  # z; the table runs gen then dis, as dis(gen(z))
        "layers": (
            ("scope", {"name": "gen", "body": (
                _deconv_bn_elu("deconv1", 256, 0, 1),   # (B, 256, 4, 4)
                _deconv_bn_elu("deconv2", 128, 1, 2),   # (B, 128, 8, 8)
                _deconv_bn_elu("deconv3", 64, 1, 2),    # (B, 64, 16, 16)
                _deconv_bn_elu("deconv4", 64, 3, 2),    # (B, 64, 28, 28)
                ("conv", {"name": "conv5", "maps": 1, "kernel": 3, "pad": 1, "bias": True}),
                ("sigmoid", {}))}),                      # (B, 1, 28, 28)
            ("scope", {"name": "dis", "body": (
                _conv_bn_elu("conv1", 32, 3, 3, 2),      # (B, 32, 16, 16)
                _conv_bn_elu("conv2", 64, 3, 1, 2),      # (B, 64, 8, 8)
                _conv_bn_elu("conv3", 128, 3, 1, 2),     # (B, 128, 4, 4)
                ("scope", {"name": "conv4", "body": (
                    ("conv", {"name": None, "maps": 256, "kernel": 3, "pad": 1, "bias": False}), ("bn", {}))}),
                ("affine", {"name": "fc1", "units": 1}))}),
        ),
    },
    "vat": {
        "program": "vat_training.hpp",
        "batch": 100,           # labeled images per step
        "unlabeled_per_labeled": 2.5,  # 250 unlabeled images per step
        "adam": (2e-3, 0.9, 0.999, 1e-8),
        "loss": "vat",
        "iterations": 24000,
        "monitor_every": 240,
        "valid_images": 10000,
        "lr_decay": (0.9, 240),  # the rate times 0.9 after the updates of iterations 0, 240, 480, ...
        "xi": 10.0,
        "eps": 1.5,
        "layers": (
            ("affine", {"name": "fc1", "units": 1200}), ("scope", {"name": "fc1", "body": (("bn", {}),)}), ("relu", {}),
            ("affine", {"name": "fc2", "units": 1200}), ("scope", {"name": "fc3", "body": (("bn", {}),)}), ("relu", {}),
            ("affine", {"name": "fc3", "units": 10}),
        ),
    },
    "resnet": {
        "program": "resnet_training.hpp",
        "batch": 128,
        "adam": (1e-3, 0.9, 0.999, 1e-8),
        "layers": (
            _conv_bn_elu("conv1", 64, 3, 3),                     # (B, 64, 32, 32)
            _res_unit("conv2", 64), ("max_pool", {"size": 2}),    # (B, 64, 16, 16)
            _res_unit("conv3", 64), ("max_pool", {"size": 2}),    # (B, 64, 8, 8)
            _res_unit("conv4", 64),
            _res_unit("conv5", 64), ("max_pool", {"size": 2}),    # (B, 64, 4, 4)
            _res_unit("conv6", 64),
            ("avg_pool", {"size": 4}),                            # (B, 64, 1, 1)
            ("affine", {"name": "classifier", "units": 10}),
        ),
    },
}

IMAGE_SHAPE = (1, 28, 28)
CLASSES = 10


def model(name):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def walk(layers, shape=IMAGE_SHAPE, scope=()):
    """Each layer's parameters in creation order, as (name, NNabla shape,
    kind), and the output shape (C, H, W) or (units,) of an image of `shape`.
    The parameter names are those of the C++ program (conv1/conv/W,
    conv2/conv1/bn/gamma, classifier/affine/W, ...); kinds: "conv_W",
    "affine_W", "zero" (biases, beta, running mean), "one" (gamma, running
    variance)."""
    params = []
    for kind, o in layers:
        where = "/".join(scope + ((o["name"],) if o.get("name") else ()))
        if kind in ("conv", "deconv"):
            c, h, w = shape
            k, p, st, scope_name = o["kernel"], o["pad"], o.get("stride", 1), kind
            w_shape = (o["maps"], c, k, k) if kind == "conv" else (c, o["maps"], k, k)
            params.append((f"{where}/{scope_name}/W", w_shape, f"{kind}_W"))
            if o["bias"]:
                params.append((f"{where}/{scope_name}/b", (o["maps"],), "zero"))
            if kind == "conv":
                size = lambda n: (n + 2 * p - k) // st + 1  # noqa: E731
            else:
                size = lambda n: (n - 1) * st - 2 * p + k  # noqa: E731
            shape = (o["maps"], size(h), size(w))
        elif kind == "bn":
            stat = (1, shape[0]) + (1,) * (len(shape) - 1)
            where = "/".join(scope)
            for p, init in (("beta", "zero"), ("gamma", "one"), ("mean", "zero"), ("variance", "one")):
                params.append((f"{where}/bn/{p}", stat, init))
        elif kind in ("max_pool", "avg_pool"):
            c, h, w = shape
            shape = (c, h // o["size"], w // o["size"])
        elif kind == "affine":
            n_in = int(np.prod(shape))
            params.append((f"{where}/affine/W", (n_in, o["units"]), "affine_W"))
            params.append((f"{where}/affine/b", (o["units"],), "zero"))
            shape = (o["units"],)
        elif kind in ("scope", "residual"):
            inner, out = walk(o["body"], shape, scope + (o["name"],))
            if kind == "residual" and out != shape:
                raise ValueError(f"{where}: a residual body must keep the shape {shape}, gives {out}")
            params += inner
            shape = out
        elif kind not in ("relu", "elu", "sigmoid"):
            raise ValueError(f"{where or 'layer'}: unknown layer kind {kind!r}")
    return params, shape


def is_running_stat(name):
    """Batch normalization's running statistics take no gradient."""
    return name.endswith("/bn/mean") or name.endswith("/bn/variance")


def initial_values(name, seed=313):
    """{parameter name: float32 array in NNabla's layout} of model `name`,
    drawn as the C++ pf:: functions draw them (the module docstring)."""
    rng = np.random.RandomState(seed)
    out = {}
    for pname, shape, kind in walk(model(name)["layers"], input_shape(name))[0]:
        if kind in ("conv_W", "deconv_W"):  # both from (C_in, C_out): (C_out, C_in, k, k) and (C_in, C_out, k, k)
            c_in, c_out = (shape[1], shape[0]) if kind == "conv_W" else (shape[0], shape[1])
            lim = np.sqrt(6.0 / (shape[2] * shape[3] * c_in + c_out))
            value = rng.uniform(-lim, lim, shape)
        elif kind == "affine_W":
            lim = np.sqrt(6.0 / (shape[0] + shape[1]))
            value = rng.uniform(-lim, lim, shape)
        else:
            value = np.full(shape, 1.0 if kind == "one" else 0.0)
        out[pname] = value.astype(np.float32)
    return out


def _macs(layers, shape):
    """Multiply-adds of each convolution and affine layer's forward pass for
    one image, in order, and the output shape."""
    out = []
    for kind, o in layers:
        after = walk(((kind, o),), shape)[1]
        if kind == "conv":
            out.append(after[0] * after[1] * after[2] * shape[0] * o["kernel"] ** 2)
        elif kind == "deconv":
            out.append(shape[0] * shape[1] * shape[2] * o["maps"] * o["kernel"] ** 2)
        elif kind == "affine":
            out.append(int(np.prod(shape)) * o["units"])
        elif kind in ("scope", "residual"):
            out += _macs(o["body"], shape)[0]
        shape = after
    return out, shape


def training_flops(name):
    """FLOPs (2 per multiply-add) of one example's training step in the
    convolutions and affine layers: forward, input gradient and weight
    gradient of each, less the input gradient of the first (the images');
    twice that for a pair of images (the Siamese program)."""
    m = model(name)
    if m.get("loss") == "gan":
        # Per real image: the generator's update (gen and dis forward, all
        # gradients but z's), then the discriminator's (gen and dis on the
        # fakes again, all gradients but z's; dis on the images, all
        # gradients but the images').
        gen = _macs(m["layers"][:1], input_shape(name))[0]
        dis = _macs(m["layers"][1:], IMAGE_SHAPE)[0]
        return 2 * (2 * (3 * sum(gen) - gen[0]) + 3 * sum(dis) + 3 * sum(dis) + 3 * sum(dis) - dis[0])
    if m.get("loss") == "vat":
        # Per labeled image: its update (all gradients but the images'), and
        # for 2.5 unlabeled ones y(xu) forward, then the power iteration and
        # the unlabeled update, each forward and all gradients down to r.
        macs = _macs(m["layers"], IMAGE_SHAPE)[0]
        return 2 * (3 * sum(macs) - macs[0] + m["unlabeled_per_labeled"] * (sum(macs) + 2 * 3 * sum(macs)))
    macs = _macs(m["layers"], IMAGE_SHAPE)[0]
    return 2 * (3 * sum(macs) - macs[0]) * (2 if m.get("loss") == "contrastive" else 1)


def examples(name):
    """What a training step of model `name` takes `batch` of."""
    kinds = {"contrastive": "pairs", "gan": "real images", "vat": "labeled images"}
    return kinds.get(model(name).get("loss"), "images")


def unlabeled(name, size):
    """The VAT program's unlabeled images per step at a labeled batch of `size`."""
    return int(size * model(name)["unlabeled_per_labeled"])


def input_shape(name):
    """The shape of one example of model `name`'s first input."""
    return model(name).get("input", IMAGE_SHAPE)


def digits(count, seed=1):
    """`count` MNIST-shaped images (count, 1, 28, 28) uint8 and labels
    (count,) uint8: a few bright strokes on black (the values do not change
    the cost of a step; every side gets the same ones)."""
    rng = np.random.RandomState(seed)
    images = (rng.rand(count, 1, 28, 28) < 0.19) * rng.randint(128, 256, (count, 1, 28, 28))
    return images.astype(np.uint8), (np.arange(count) % CLASSES).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def partner(count, seed=2):
    """The Siamese program's second image of each pair: for image i, image
    partner(count)[i] (a fixed permutation; the program draws pairs from two
    shuffled copies of the set)."""
    return np.random.RandomState(seed).permutation(count)


def batch(name, images, labels, start, size):
    """The arrays a step of model `name` feeds, as float32: (x (size, 1, 28,
    28) = pixels / 255, t (size, 1)), or for the Siamese program (x0, x1, l
    (size, 1): 1 where the pair's digits are the same), from examples
    start, start + 1, ... of the set; for the DCGAN program (z (size, 100,
    1, 1) from mnist_models.latent, x); for VAT (xl, tl: the first `size`
    examples, xu: unlabeled(size) examples from start·2.5, and the normal
    draw for each)."""
    idx = np.arange(start, start + size)
    x = (images[idx] / 255.0).astype(np.float32)  # as the program's data iterator scales them
    if model(name).get("loss") == "gan":
        return latent(len(images), input_shape(name))[idx], x
    if model(name).get("loss") == "vat":  # the same labeled batch every step
        u = (int(start * model(name)["unlabeled_per_labeled"]) + np.arange(unlabeled(name, size))) % len(images)
        return ((images[:size] / 255.0).astype(np.float32), labels[:size].reshape(-1, 1).astype(np.float32),
                (images[u] / 255.0).astype(np.float32), latent(len(images), IMAGE_SHAPE)[u])
    if model(name).get("loss") != "contrastive":
        return x, labels[idx].reshape(-1, 1).astype(np.float32)
    other = partner(len(images))[idx]
    same = (labels[idx] == labels[other]).reshape(-1, 1).astype(np.float32)
    return x, (images[other] / 255.0).astype(np.float32), same


@functools.lru_cache(maxsize=4)
def latent(count, shape, seed=3):
    """The DCGAN program's z of each example, (count, *shape) standard
    normal float32 (the program draws a new z each step)."""
    return np.random.RandomState(seed).standard_normal((count,) + tuple(shape)).astype(np.float32)
