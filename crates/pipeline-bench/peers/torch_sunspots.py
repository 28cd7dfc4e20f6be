"""PyTorch peers of the shipped sunspots specs: same data, windows, split size, model, batch,
epochs, Adam (experiments/sunspots_gru.toml, experiments/sunspots_transformer.toml).

Prints one JSON line per workload: train samples/s over the batch loop only (as pipeline's
train_seconds), whole-process seconds.
Usage: python torch_sunspots.py DATA_DIR [gru|transformer]... [--epochs N]
(--epochs: every workload trains N epochs instead of its spec's 150.)

Data as the pipeline prepares it: windows of the 12 previous years (inputs [12, 1]) and the next
year as target, in time order; the first 65% of the windows train (validation 15% and test 20%,
each rounded, the rest trains); inputs and target z-scored with the training windows' statistics.
"""
import csv, json, math, sys, time
T0 = time.perf_counter()
import numpy as np
import torch
from torch import nn

torch.manual_seed(42)
args = sys.argv[1:]
epochs_override = None
if "--epochs" in args:
    i = args.index("--epochs")
    epochs_override = int(args[i + 1])
    del args[i:i + 2]
data_dir = args[0]
which = args[1:] or ["gru", "transformer"]
STEPS = 12


def loop(model, x, y, loss_fn, epochs, batch, lr, name):
    epochs = epochs_override or epochs
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(x)
    spent = 0.0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n)
        t = time.perf_counter()
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        spent += time.perf_counter() - t
    full, batched = inference(model, x, batch)
    print(json.dumps({"workload": name, "train_samples_per_s": round(n * epochs / spent),
                      "train_seconds": round(spent, 3), "threads": torch.get_num_threads(),
                      "infer_full_rows_per_s": round(n / full),
                      "infer_batched_rows_per_s": round(n / batched),
                      "process_seconds": round(time.perf_counter() - T0, 2)}), flush=True)


def inference(model, x, batch):
    """Seconds to predict the training rows in one call, and in calls of
    `batch` rows (eval mode, no gradients): the median of 5 after a warm-up,
    as bench-train times the pipeline's `predict_rows`."""
    model.eval()

    def median(f):
        f()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return sorted(times)[2]

    with torch.no_grad():
        full = median(lambda: model(x))
        batched = median(lambda: [model(x[i:i + batch]) for i in range(0, len(x), batch)])
    return full, batched


def windows():
    rows = sorted(csv.DictReader(open(f"{data_dir}/sunspots_yearly.csv")), key=lambda r: r["year"])
    s = np.array([float(r["target"]) for r in rows], dtype=np.float32)
    X = np.stack([s[i:i + STEPS] for i in range(len(s) - STEPS)])[:, :, None]
    Y = s[STEPS:][:, None]
    n = len(X)
    # Rounded half away from zero, as the pipeline's split sizes.
    n_val, n_test = math.floor(0.15 * n + 0.5), math.floor(0.20 * n + 0.5)
    n_train = n - n_val - n_test
    X, Y = X[:n_train], Y[:n_train]
    X = (X - X.mean()) / X.std()
    Y = (Y - Y.mean()) / Y.std()
    return torch.tensor(X), torch.tensor(Y)


class Gru(nn.Module):
    """[gru(16), linear(1)]: the last hidden state into the output layer."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(1, 16, batch_first=True)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.out(h[:, -1])


def positional_encoding(steps, d_model):
    """pe[t, 2i] = sin(t / 10000^(2i/D)), pe[t, 2i+1] = cos(t / 10000^(2i/D))."""
    t = torch.arange(steps, dtype=torch.float64)[:, None]
    j = torch.arange(d_model)
    angle = t / 10000.0 ** ((j - j % 2).double() / d_model)
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle)).float()


class Transformer(nn.Module):
    """[linear(16), positional_encoding, transformer(heads 2, feedforward 32, dropout 0.1),
    last_step, linear(1)]."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(1, 16)
        self.register_buffer("pe", positional_encoding(STEPS, 16))
        self.block = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.1,
                                                activation="relu", batch_first=True,
                                                norm_first=False)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        h = self.block(self.embed(x) + self.pe)
        return self.out(h[:, -1])


x, y = windows()
if "gru" in which:
    loop(Gru(), x, y, nn.MSELoss(), 150, 16, 1e-2, "sunspots_gru")
if "transformer" in which:
    loop(Transformer(), x, y, nn.MSELoss(), 150, 16, 3e-3, "sunspots_transformer")
