"""Reference numbers for the layer tests of pipeline-model (tests/pytorch_layers.rs).

Run with a Python that has PyTorch (2.x):

    python crates/pipeline-model/tests/pytorch_layers.py

Each case is an nn.Sequential whose parameters, in `parameters()` order, are
filled with 0.5 * sin(0.37 * k + p + 1) (p: the parameter's position, k: the
element's, row-major), fed rows x[k] = 2 * sin(0.61 * k + 0.3) (float64
rounded to float32, as the Rust test computes them). It prints, as Rust
constants: the tensor names of the state dict, the output, and the gradient of
the first parameter for the loss sum(output * cos(0.29 * k)); batch-norm
cases run one forward pass in training mode and also print the running
statistics after it and the output in evaluation mode afterwards.
"""

import math

import torch
from torch import nn

torch.set_printoptions(precision=10)


def values(count, p):
    return [0.5 * math.sin(0.37 * k + p + 1) for k in range(count)]


def fill(model):
    with torch.no_grad():
        for p, param in enumerate(model.parameters()):
            param.copy_(torch.tensor(values(param.numel(), p), dtype=torch.float32).reshape(param.shape))


def rows(count, width):
    data = [2 * math.sin(0.61 * k + 0.3) for k in range(count * width)]
    return torch.tensor(data, dtype=torch.float32).reshape(count, width)


def rust(name, tensor):
    flat = [float(v) for v in tensor.detach().flatten()]
    print("#[rustfmt::skip]")
    print(f"const {name}: [f64; {len(flat)}] = [{', '.join(repr(v) for v in flat)}];")


def names(name, model):
    keys = list(model.state_dict().keys())
    print(f"const {name}: [&str; {len(keys)}] = [{', '.join(repr(k).replace(chr(39), chr(34)) for k in keys)}];")


def run(name, model, x, shape=None, train=False):
    fill(model)
    model.train(train)
    inputs = x.reshape((x.shape[0], *shape)) if shape else x
    out = model(inputs)
    weights = torch.tensor([math.cos(0.29 * k) for k in range(out.numel())]).reshape(out.shape)
    (out * weights).sum().backward()
    print(f"// {name}: {model}".replace("\n", "\n// "))
    names(f"{name}_NAMES", model)
    rust(f"{name}_OUTPUT", out)
    rust(f"{name}_GRADIENT", next(model.parameters()).grad)
    if train:
        for key, tensor in model.state_dict().items():
            if key.endswith("running_mean"):
                rust(f"{name}_RUNNING_MEAN", tensor)
            if key.endswith("running_var"):
                rust(f"{name}_RUNNING_VAR", tensor)
            if key.endswith("num_batches_tracked"):
                assert tensor.item() == 1 and tensor.dtype == torch.int64
        model.eval()
        with torch.no_grad():
            rust(f"{name}_EVAL_OUTPUT", model(inputs))
    print()


def main():
    print(f"// torch {torch.__version__}")
    run(
        "ACTIVATIONS",
        nn.Sequential(
            nn.Linear(5, 4), nn.LeakyReLU(0.2), nn.Linear(4, 4), nn.SiLU(), nn.LeakyReLU(),
            nn.Linear(4, 3), nn.Softmax(dim=-1),
        ),
        rows(3, 5),
    )
    run(
        "CONV2D_MAX_POOL",
        nn.Sequential(
            nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=1),
            nn.Flatten(), nn.Linear(12, 2),
        ),
        rows(2, 98),
        shape=(2, 7, 7),
    )
    run(
        "CONV2D_AVG_POOL",
        nn.Sequential(
            nn.Conv2d(1, 2, 2, bias=False), nn.AvgPool2d(4, stride=2), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2, 1),
        ),
        rows(2, 49),
        shape=(1, 7, 7),
    )
    run(
        "CONV1D",
        nn.Sequential(
            nn.Conv1d(2, 3, 3, stride=2, padding=1), nn.Tanh(), nn.Conv1d(3, 3, 2),
            nn.MaxPool1d(2), nn.AvgPool1d(2, stride=1), nn.Flatten(), nn.Linear(3, 2),
        ),
        rows(3, 18),
        shape=(2, 9),
    )
    run(
        "CONV2D_RECTANGULAR",
        nn.Sequential(
            nn.Conv2d(1, 2, 2, stride=2), nn.ReLU(), nn.Conv2d(2, 2, 2, padding=1),
            nn.Flatten(), nn.Linear(24, 1),
        ),
        rows(3, 30),
        shape=(1, 5, 6),
    )
    run(
        "BATCH_NORM1D",
        nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)),
        rows(5, 4),
        train=True,
    )
    run(
        "BATCH_NORM2D",
        nn.Sequential(nn.Conv2d(2, 2, 2), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 1)),
        rows(3, 18),
        shape=(2, 3, 3),
        train=True,
    )
    run(
        "LAYER_NORM",
        nn.Sequential(nn.LayerNorm(4), nn.Flatten(), nn.Linear(12, 2)),
        rows(2, 12),
        shape=(3, 4),
    )
    codes = torch.tensor([[0, 1, 2, 5], [5, 4, 3, 0], [2, 2, 1, 1]])
    run("EMBEDDING", nn.Sequential(nn.Embedding(6, 3), nn.Flatten(), nn.Linear(12, 1)), codes)


if __name__ == "__main__":
    main()
