"""Reference numbers for the classification losses of pipeline-model.

Run with a Python that has PyTorch (2.x):

    python crates/pipeline-model/tests/classification_reference.py

It prints, as Rust constants, the losses and their gradients with respect to
the logits that the tests of crates/pipeline-model/src/classification_loss.rs
store (they name this script). Tensors are float32, as candle's; the loss is
torch.nn.BCEWithLogitsLoss / torch.nn.CrossEntropyLoss with the default
reduction="mean", the gradient is d(loss)/d(logits) from loss.backward().
"""

import torch


def rust_f64(value):
    return repr(float(value))


def rust_matrix(rows):
    return "[" + ", ".join("[" + ", ".join(rust_f64(v) for v in row) + "]" for row in rows) + "]"


def rust_list(values):
    return "[" + ", ".join(rust_f64(v) for v in values) + "]"


def case(name, loss, logits):
    logits = logits.clone().requires_grad_(True)
    value = loss(logits)
    value.backward()
    rows, cols = logits.shape
    print(f"const {name}_LOSS: f64 = {rust_f64(value.item())};")
    print(f"const {name}_GRAD: [[f64; {cols}]; {rows}] = {rust_matrix(logits.grad.tolist())};")


# ---------------------------------------------------------------- binary
BINARY_LOGITS = [[0.0], [1.5], [-2.0], [3.0], [-0.5], [0.25]]
BINARY_TARGETS = [[1.0], [0.0], [0.0], [1.0], [1.0], [0.0]]
# Saturated logits: exp(50) overflows nothing in the stable form; x = 0 checks
# the gradient where |x| and max(-x, 0) have a kink.
EXTREME_BINARY_LOGITS = [[50.0], [-50.0], [50.0], [-50.0], [0.0]]
EXTREME_BINARY_TARGETS = [[1.0], [0.0], [0.0], [1.0], [1.0]]


def binary():
    print("// ---- binary_cross_entropy_with_logits (torch.nn.BCEWithLogitsLoss)")
    print(f"const BINARY_LOGITS: [[f32; 1]; {len(BINARY_LOGITS)}] = {rust_matrix(BINARY_LOGITS)};")
    print(f"const BINARY_TARGETS: [[f32; 1]; {len(BINARY_TARGETS)}] = {rust_matrix(BINARY_TARGETS)};")
    print(
        f"const EXTREME_BINARY_LOGITS: [[f32; 1]; {len(EXTREME_BINARY_LOGITS)}] = "
        f"{rust_matrix(EXTREME_BINARY_LOGITS)};"
    )
    print(
        f"const EXTREME_BINARY_TARGETS: [[f32; 1]; {len(EXTREME_BINARY_TARGETS)}] = "
        f"{rust_matrix(EXTREME_BINARY_TARGETS)};"
    )
    for name, logits, targets in (
        ("BCE", BINARY_LOGITS, BINARY_TARGETS),
        ("BCE_EXTREME", EXTREME_BINARY_LOGITS, EXTREME_BINARY_TARGETS),
    ):
        x = torch.tensor(logits, dtype=torch.float32)
        y = torch.tensor(targets, dtype=torch.float32)
        case(name, lambda l: torch.nn.BCEWithLogitsLoss()(l, y), x)
        pos_weight = torch.tensor([3.0], dtype=torch.float32)
        case(f"{name}_POS_WEIGHT_3", lambda l: torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)(l, y), x)


# ---------------------------------------------------------------- multiclass
LOGITS = [
    [1.0, -0.5, 0.25],
    [0.2, 0.4, 2.0],
    [-1.0, 1.5, 0.0],
    [0.3, 0.3, 0.3],
    [2.5, -1.25, 0.75],
]
CLASSES = [0, 2, 1, 2, 1]
EXTREME_LOGITS = [
    [50.0, -50.0, 0.0],
    [-50.0, 50.0, 0.0],
    [0.0, -50.0, 50.0],
    [50.0, 50.0, -50.0],
]
EXTREME_CLASSES = [1, 1, 2, 0]
WEIGHTS = [0.2, 1.0, 2.5]
SMOOTHING = 0.1


def multiclass():
    print("// ---- cross_entropy (torch.nn.CrossEntropyLoss)")
    print(f"const LOGITS: [[f32; 3]; {len(LOGITS)}] = {rust_matrix(LOGITS)};")
    print(f"const CLASSES: [u32; {len(CLASSES)}] = {CLASSES};")
    print(f"const EXTREME_LOGITS: [[f32; 3]; {len(EXTREME_LOGITS)}] = {rust_matrix(EXTREME_LOGITS)};")
    print(f"const EXTREME_CLASSES: [u32; {len(EXTREME_CLASSES)}] = {EXTREME_CLASSES};")
    print(f"const WEIGHTS: [f32; 3] = {rust_list(WEIGHTS)};")
    print(f"const SMOOTHING: f64 = {SMOOTHING!r};")
    weight = torch.tensor(WEIGHTS, dtype=torch.float32)
    for name, logits, classes in (
        ("CE", LOGITS, CLASSES),
        ("CE_EXTREME", EXTREME_LOGITS, EXTREME_CLASSES),
    ):
        x = torch.tensor(logits, dtype=torch.float32)
        t = torch.tensor(classes, dtype=torch.long)
        case(name, lambda l: torch.nn.CrossEntropyLoss()(l, t), x)
        case(f"{name}_WEIGHTS", lambda l: torch.nn.CrossEntropyLoss(weight=weight)(l, t), x)
        case(
            f"{name}_SMOOTHING",
            lambda l: torch.nn.CrossEntropyLoss(label_smoothing=SMOOTHING)(l, t),
            x,
        )
        case(
            f"{name}_WEIGHTS_SMOOTHING",
            lambda l: torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=SMOOTHING)(l, t),
            x,
        )


def check_formula():
    """The formula classification_loss.rs implements, in float64, against PyTorch."""
    x = torch.tensor(LOGITS, dtype=torch.float64)
    t = torch.tensor(CLASSES, dtype=torch.long)
    w = torch.tensor(WEIGHTS, dtype=torch.float64)
    log_p = torch.log_softmax(x, dim=1)
    w_y = w[t]
    nll = -(w_y * log_p[torch.arange(len(CLASSES)), t]).sum() / w_y.sum()
    smooth = -(log_p * w).sum() / w_y.sum()
    ours = (1 - SMOOTHING) * nll + SMOOTHING / 3 * smooth
    theirs = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=SMOOTHING)(x, t)
    assert abs(ours.item() - theirs.item()) < 1e-12, (ours.item(), theirs.item())


if __name__ == "__main__":
    print(f"// torch {torch.__version__}")
    check_formula()
    binary()
    multiclass()
