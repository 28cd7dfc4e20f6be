"""Reference numbers for the loss, optimizer and schedule tests of pipeline-model.

Run with a Python that has PyTorch (2.x):

    python crates/pipeline-model/tests/pytorch_reference.py

It prints, as Rust constants, the numbers stored in
crates/pipeline-model/src/loss.rs, optim.rs and schedule.rs (their tests name
this script). Everything is in float32 for tensors (as candle) and float64
for learning rates (as PyTorch's param_groups).
"""

import torch

torch.set_printoptions(precision=10)


def rust_list(values):
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


# ---------------------------------------------------------------- losses
PREDICTION = [[0.5, -1.25, 3.0], [2.0, 0.1, -0.7]]
TARGET = [[1.0, 0.75, -0.5], [2.0, 0.6, 1.9]]


def losses():
    p = torch.tensor(PREDICTION, dtype=torch.float32)
    t = torch.tensor(TARGET, dtype=torch.float32)
    print("// losses on PREDICTION / TARGET")
    print(f"mse = {torch.nn.MSELoss()(p, t).item()!r}")
    print(f"mae = {torch.nn.L1Loss()(p, t).item()!r}")
    for delta in (1.0, 0.5, 2.0):
        print(f"huber(delta={delta}) = {torch.nn.HuberLoss(delta=delta)(p, t).item()!r}")


# ---------------------------------------------------------------- optimizers
# A fixed Linear(3, 2) and four rows; the loss is MSE (mean).
WEIGHT = [[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]]
BIAS = [0.05, -0.1]
INPUT = [[1.0, 2.0, -1.0], [0.5, -1.5, 2.0], [-2.0, 0.0, 1.0], [1.5, 1.0, 0.5]]
OUTPUT = [[1.0, -1.0], [0.0, 2.0], [-1.0, 0.5], [2.0, 1.0]]

OPTIMIZERS = [
    # name, constructor, clip_grad_value, clip_grad_norm
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.1), None, None),
    (
        "sgd_momentum_weight_decay",
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        None,
        None,
    ),
    (
        "sgd_dampening",
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3),
        None,
        None,
    ),
    (
        "sgd_nesterov_weight_decay",
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        None,
        None,
    ),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.1), None, None),
    ("adam_weight_decay", lambda p: torch.optim.Adam(p, lr=0.1, weight_decay=0.1), None, None),
    ("adamw_weight_decay", lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.1), None, None),
    ("rmsprop", lambda p: torch.optim.RMSprop(p, lr=0.01), None, None),
    (
        "rmsprop_centered_momentum_weight_decay",
        lambda p: torch.optim.RMSprop(
            p, lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.1
        ),
        None,
        None,
    ),
    ("sgd_clip_grad_norm", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), None, 1.0),
    ("adam_clip_grad_value", lambda p: torch.optim.Adam(p, lr=0.1), 0.5, None),
    ("rmsprop_clip_value_and_norm", lambda p: torch.optim.RMSprop(p, lr=0.01), 0.5, 0.8),
]


def optimizers():
    x = torch.tensor(INPUT, dtype=torch.float32)
    y = torch.tensor(OUTPUT, dtype=torch.float32)
    print("// parameters after three steps: weight (row-major) then bias")
    for name, make, clip_value, clip_norm in OPTIMIZERS:
        layer = torch.nn.Linear(3, 2)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(WEIGHT))
            layer.bias.copy_(torch.tensor(BIAS))
        opt = make(layer.parameters())
        norms = []
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.mse_loss(layer(x), y).backward()
            # Our order: value clipping first, then the norm.
            if clip_value is not None:
                torch.nn.utils.clip_grad_value_(layer.parameters(), clip_value)
            if clip_norm is not None:
                norms.append(torch.nn.utils.clip_grad_norm_(layer.parameters(), clip_norm).item())
            opt.step()
        values = layer.weight.detach().flatten().tolist() + layer.bias.detach().tolist()
        suffix = f"  // norms before clipping {norms}" if norms else ""
        print(f"{name} = {rust_list(values)}{suffix}")


# ---------------------------------------------------------------- schedules
BASE_LR = 0.1
EPOCHS = 12


def lrs(make, epochs=EPOCHS, metrics=None):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=BASE_LR)
    scheduler = make(opt)
    out = []
    for epoch in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
    return out


PLATEAU_METRICS = [5.0, 4.0, 4.0, 3.9999, 4.1, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.5]


def schedules():
    S = torch.optim.lr_scheduler
    print(f"// learning rate of each of {EPOCHS} epochs, base {BASE_LR}")
    print(f"step = {rust_list(lrs(lambda o: S.StepLR(o, step_size=3, gamma=0.5)))}")
    print(f"exponential = {rust_list(lrs(lambda o: S.ExponentialLR(o, gamma=0.8)))}")
    print(
        "cosine = "
        + rust_list(lrs(lambda o: S.CosineAnnealingLR(o, T_max=EPOCHS, eta_min=0.001)))
    )

    def warmup_cosine(o):
        warmup = S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=3)
        cosine = S.CosineAnnealingLR(o, T_max=EPOCHS - 3, eta_min=0.001)
        return S.SequentialLR(o, [warmup, cosine], milestones=[3])

    print(f"cosine_warmup = {rust_list(lrs(warmup_cosine))}")

    # Beyond t_max: PyTorch's cosine rises again.
    print(f"cosine_past_t_max = {rust_list(lrs(lambda o: S.CosineAnnealingLR(o, T_max=5)))}")

    # One cycle: per batch, 3 epochs x 4 batches, without momentum cycling.
    def one_cycle(**kw):
        def make(o):
            return S.OneCycleLR(
                o, epochs=3, steps_per_epoch=4, cycle_momentum=False, **kw
            )

        return make

    print(f"one_cycle = {rust_list(lrs(one_cycle(max_lr=0.1)))}")
    print(
        "one_cycle_custom = "
        + rust_list(
            lrs(one_cycle(max_lr=0.5, pct_start=0.25, div_factor=10.0, final_div_factor=100.0))
        )
    )

    print(f"// plateau metrics {PLATEAU_METRICS}")
    print(
        "plateau = "
        + rust_list(
            lrs(
                lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1, min_lr=0.02),
                metrics=PLATEAU_METRICS,
            )
        )
    )
    print(
        "plateau_cooldown = "
        + rust_list(
            lrs(
                lambda o: S.ReduceLROnPlateau(
                    o, mode="min", factor=0.1, patience=0, cooldown=2, threshold=0.01
                ),
                metrics=PLATEAU_METRICS,
            )
        )
    )
    print(
        "plateau_max = "
        + rust_list(
            lrs(
                lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=2),
                metrics=PLATEAU_METRICS,
            )
        )
    )


if __name__ == "__main__":
    print(f"// torch {torch.__version__}")
    losses()
    optimizers()
    schedules()
