#!/usr/bin/env python3
"""Checks that a `pipeline export` folder is usable outside pipeline.

Usage: check_export.py EXPORT_DIR INPUT_CSV PREDICTIONS_CSV

EXPORT_DIR is written by `pipeline export RUN --out EXPORT_DIR`, INPUT_CSV
holds the rows to predict (the run's feature columns, by name) and
PREDICTIONS_CSV is what `pipeline infer --run RUN --input INPUT_CSV` wrote
(the input columns plus `prediction`, `prediction_TARGET` per target, or
`prediction` (the label) and `probability_CLASS` per class).

The script turns the rows into model inputs with preprocessing.json (empty
cells get the stored fill; categories become one-hot or ordinal inputs;
numbers `(x - shift) / scale` in float64, then float32, as pipeline-data's
preprocessing.rs), rebuilds the Sequential network from schema.json and checks
that its predictions equal pipeline's within 1e-5 relative
(`|a - b| <= 1e-5 * max(1, |b|)`): regression values after the stored
de-normalization of the target(s), classification as class probabilities
(sigmoid of the binary logit, softmax of the multiclass logits).

Two paths:
- pure Python, always: safetensors parsed by hand (8-byte little-endian
  header length, JSON header, raw little-endian data) and the network run
  with floats; needs only the standard library. It runs multilayer
  perceptrons (linear layers, activations, dropout); a network with other
  layers prints "pure-python: skipped: …" and only PyTorch checks it.
- PyTorch, when `torch` and `safetensors` import: `torch.nn.Sequential` of
  every layer pipeline has (`nn.Linear`, `nn.Conv1d`/`Conv2d`, max and
  average pooling, `nn.Flatten`, `nn.BatchNorm1d`/`2d`, `nn.LayerNorm`,
  `nn.Dropout`, `nn.Embedding`, `nn.RNN`/`LSTM`/`GRU` (batch first, the
  output sequence or its last step), `nn.TransformerEncoderLayer` (post-norm,
  ReLU, batch first), the sinusoidal positional encoding, last step and mean
  over steps), rows reshaped to `model.input_shape`,
  `safetensors.torch.load_file`, `load_state_dict(strict=True)`; otherwise it
  prints "skipped: torch/safetensors not installed".

Windowed runs (schema.json has `window`): INPUT_CSV is the series itself, as
`pipeline infer --run RUN --input SERIES.csv` reads it, and the script
rebuilds the windows from preprocessing.json's `window` plan as
pipeline-data's windows.rs does (rows ordered by `order_by`, numbers when
every cell is one, else text; gaps interpolated linearly when the run did;
under `difference` the target's channel is the change from the row before
and each forecast adds back the window's last level; each channel scaled).
Each row where a full window ends must have a `prediction`, the rows before
the first full window an empty cell. A network of linear layers after a
`flatten` runs in pure Python; recurrent and transformer layers need torch.

Exit status: 0 when every path that ran agrees, 1 on a mismatch or a bad
folder, 2 on wrong usage.
"""

import csv
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

TOLERANCE = 1e-5
FILES = (
    "model.safetensors",
    "spec.toml",
    "preprocessing.json",
    "schema.json",
    "metrics.json",
    "receipt.json",
)
DTYPES = {"F32": ("f", 4), "F64": ("d", 8), "I64": ("q", 8)}


class ExportError(Exception):
    """The folder, the inputs or the predictions are not what they should be."""


def to_f32(value):
    """Rounds a Python float to the nearest float32, as `as f32` in Rust."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def load_export(folder):
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise ExportError(f"{folder} lacks {', '.join(missing)}")
    schema = json.loads((folder / "schema.json").read_text())
    preprocessing = json.loads((folder / "preprocessing.json").read_text())
    receipt = json.loads((folder / "receipt.json").read_text())
    json.loads((folder / "metrics.json").read_text())
    weights = (folder / "model.safetensors").read_bytes()
    expected = receipt["artifacts"]["model.safetensors"]["sha256"]
    actual = hashlib.sha256(weights).hexdigest()
    if actual != expected:
        raise ExportError(f"model.safetensors has sha256 {actual}, the receipt says {expected}")
    check_spec_layers(folder / "spec.toml", schema["model"]["layers"])
    features = [column["name"] for column in schema["inputs"]]
    # One transform per model input (`color=red` for a one-hot input); runs
    # recorded before categorical columns have one per feature, same names.
    inputs = [transform["column"] for transform in preprocessing["transforms"]]
    if features != inputs:
        raise ExportError(f"schema.json inputs {features} differ from preprocessing.json {inputs}")
    return schema, preprocessing, weights


def check_spec_layers(spec_path, layers):
    """The resolved spec and the schema describe the same layers."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11: the schema alone is used.
        return
    spec = tomllib.loads(spec_path.read_text())
    spec_types = [layer["type"] for layer in spec["model"]["layers"]]
    schema_types = [layer["type"] for layer in layers]
    if spec_types != schema_types:
        raise ExportError(f"spec.toml layers {spec_types} differ from schema.json {schema_types}")


def read_safetensors(data):
    """Tensors of a safetensors file as {name: (shape, flat list of floats)}."""
    if len(data) < 8:
        raise ExportError("model.safetensors is shorter than its header")
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_length])
    body = data[8 + header_length :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in DTYPES:
            raise ExportError(f"tensor {name} has dtype {info['dtype']}; F32, F64 or I64 expected")
        code, size = DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        count = math.prod(info["shape"])
        if end - start != count * size or end > len(body):
            raise ExportError(f"tensor {name}: offsets {start}..{end} do not fit shape {info['shape']}")
        tensors[name] = (info["shape"], list(struct.unpack(f"<{count}{code}", body[start:end])))
    return tensors


def columns_of(preprocessing):
    """One plan per feature; runs recorded before `columns` existed have
    float columns without fills."""
    if "columns" in preprocessing:
        return preprocessing["columns"]
    return [
        {"column": name, "type": "float", "normalize": preprocessing["normalize"]}
        for name in preprocessing["features"]
    ]


def category_of(text):
    """A cell as a category: whole numbers without a fraction, as
    pipeline-data's `category_of` writes a numeric column's values."""
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return text


def encode_row(row, number, columns, transforms):
    """One row's model inputs, float32 as pipeline feeds them
    (pipeline-data's preprocessing.rs `encode`)."""
    values = []
    position = 0
    for plan in columns:
        name = plan["column"]
        if name not in row:
            raise ExportError(f"no column {name!r}")
        cell = (row[name] or "").strip()
        if cell == "":
            if plan.get("fill") is None:
                raise ExportError(f"row {number}: {name!r} is empty and the run has no fill")
            cell = plan["fill"]
        if plan["type"] == "float":
            t = transforms[position]
            values.append(to_f32((float(cell) - t["shift"]) / t["scale"]))
            position += 1
            continue
        categories = plan["categories"]
        if not isinstance(cell, str) or cell not in categories:
            cell = category_of(str(cell))
        code = categories.index(cell) if cell in categories else None
        if code is None and plan["unknown"] == "error":
            raise ExportError(f"row {number}: {name!r} has the unknown category {cell!r}")
        if plan["encode"] == "onehot":
            values.extend(1.0 if i == code else 0.0 for i in range(len(categories)))
            position += len(categories)
        else:
            t = transforms[position]
            code = len(categories) if code is None else code
            values.append(to_f32((code - t["shift"]) / t["scale"]))
            position += 1
    return values


def read_inputs(path, preprocessing):
    """The model inputs of every row, float32 as pipeline feeds them."""
    columns = columns_of(preprocessing)
    rows = []
    with open(path, newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=1):
            try:
                rows.append(encode_row(row, number, columns, preprocessing["transforms"]))
            except ExportError as error:
                raise ExportError(f"{path}: {error}") from None
    return rows


def parse_number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def interpolate(values):
    """Linear interpolation over NaN runs; the nearest value at either end
    (windows.rs `interpolate_linear`)."""
    known = [i for i, v in enumerate(values) if not math.isnan(v)]
    if not known:
        return
    for i in range(known[0]):
        values[i] = values[known[0]]
    for i in range(known[-1] + 1, len(values)):
        values[i] = values[known[-1]]
    for a, b in zip(known, known[1:]):
        for i in range(a + 1, b):
            values[i] = values[a] + (values[b] - values[a]) * (i - a) / (b - a)


def read_windows(path, preprocessing, target_name):
    """A windowed run's inputs from the series in `path`: for each window
    (its flat `[steps, channels]` inputs, the file row (0-based) of its last
    row, the level its forecast is added to)."""
    plan = preprocessing["window"]
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    order = list(range(len(rows)))
    order_by = plan.get("order_by")
    if order_by is not None:
        cells = [(row.get(order_by) or "").strip() for row in rows]
        numbers = [parse_number(c) for c in cells if c]
        if all(n is not None for n in numbers):
            keys = [parse_number(c) if c else math.inf for c in cells]
            order.sort(key=lambda r: keys[r])
        else:
            order.sort(key=lambda r: (cells[r] == "", cells[r]))

    def series(name):
        if rows and name not in rows[0]:
            raise ExportError(f"{path}: no column {name!r}")
        values = [parse_number((rows[r][name] or "").strip() or "nan") for r in order]
        if any(v is None for v in values):
            raise ExportError(f"{path}: column {name!r} holds text")
        if any(math.isnan(v) for v in values):
            if not plan["interpolate"]:
                raise ExportError(f"{path}: column {name!r} has empty cells the run does not fill")
            interpolate(values)
        return values

    channels = plan["channels"]
    features = channels[:-1] if plan["target_input"] else channels
    values = [series(name) for name in features]
    target = None
    if plan["target_input"] or plan.get("difference"):
        target = series(target_name)
    if plan["target_input"]:
        if plan.get("difference"):
            values.append([math.nan] + [b - a for a, b in zip(target, target[1:])])
        else:
            values.append(target)
    transforms = preprocessing["transforms"]
    if len(transforms) != len(values):
        raise ExportError(f"{len(transforms)} scaler(s) for {len(values)} channel(s)")
    scaled = [
        [to_f32((v - t["shift"]) / t["scale"]) for v in channel]
        for channel, t in zip(values, transforms)
    ]
    steps = plan["steps"]
    offset = 1 if plan.get("difference") else 0
    windows = []
    for w in range(len(rows) + 1 - offset - steps):
        first = w + offset
        inputs = [scaled[c][r] for r in range(first, first + steps) for c in range(len(scaled))]
        last = first + steps - 1
        base = target[last] if plan.get("difference") else 0.0
        windows.append((inputs, order[last], base))
    if not windows:
        raise ExportError(f"{path}: {len(rows)} rows, fewer than one window needs ({offset + steps})")
    return windows, len(rows)


def read_windowed_predictions(path, rows):
    """infer's `prediction` per file row: a number, or None (empty: no full
    window ends there)."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if "prediction" not in (reader.fieldnames or []):
            raise ExportError(f"{path} has no 'prediction' column")
        cells = [(row["prediction"] or "").strip() for row in reader]
    if len(cells) != rows:
        raise ExportError(f"{path}: {len(cells)} rows, the series has {rows}")
    return [float(c) if c else None for c in cells]


def check_windowed(folder, schema, preprocessing, weights, inputs_path, predictions_path):
    """Compares the forecasts rebuilt from the export with infer's, row by
    row of the series file."""
    output = schema["output"]
    target_name = (output.get("targets") or [output.get("target", "target")])[0]
    windows, rows = read_windows(inputs_path, preprocessing, target_name)
    expected = read_windowed_predictions(predictions_path, rows)
    ending = {row for _, row, _ in windows}
    for row, value in enumerate(expected):
        if (value is None) == (row in ending):
            state = (
                "a forecast where no full window ends"
                if value is not None
                else "no forecast where a full window ends"
            )
            raise ExportError(f"{predictions_path}: row {row + 1} has {state}")
    theirs = [expected[row] for _, row, _ in windows]

    def forecasts(values):
        return [v + base for v, (_, _, base) in zip(to_predictions(output, values), windows)]

    inputs = [w for w, _, _ in windows]
    reason = pure_python_skip(schema["model"])
    if reason:
        print(f"pure-python: skipped: {reason} (PyTorch only)")
    else:
        ours = predict_pure_python(schema["model"]["layers"], read_safetensors(weights), inputs)
        compare("pure-python (windows)", forecasts(ours), theirs, 1)
    try:
        import safetensors.torch  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        print("torch: skipped: torch/safetensors not installed")
    else:
        compare(f"torch {torch.__version__} (windows)", forecasts(predict_torch(folder, schema, inputs)), theirs, 1)


def prediction_columns(output):
    """The columns `pipeline infer` writes for this schema's output, in the
    order the network's values map onto them."""
    task = output.get("task", "regression")
    if task == "regression":
        targets = output.get("targets") or [output.get("target", "target")]
        return ["prediction"] if len(targets) == 1 else [f"prediction_{t}" for t in targets]
    return [f"probability_{c}" for c in output["classes"]]


def read_predictions(path, columns):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ExportError(f"{path} has no {missing} column(s)")
        return [float(row[c]) for row in reader for c in columns]


def to_predictions(output, values):
    """The network's values per row (lists) as infer's numbers, flattened:
    de-normalized regression values, or class probabilities (the sigmoid of
    a binary logit as [1 - p, p], a softmax over multiclass logits)."""
    task = output.get("task", "regression")
    flat = []
    for row in values:
        if task == "regression":
            for i, v in enumerate(row):
                for d in output.get("denormalization", [])[i : i + 1]:
                    v = v * d["scale"] + d["shift"]
                flat.append(v)
        elif task == "binary":
            p = sigmoid(row[0])
            flat.extend([1.0 - p, p])
        else:
            top = max(row)
            exp = [math.exp(v - top) for v in row]
            total = math.fsum(exp)
            flat.extend(e / total for e in exp)
    return flat


def gelu(x):
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


ACTIVATIONS = {
    "relu": lambda x: x if x > 0.0 else 0.0,
    "sigmoid": sigmoid,
    "tanh": math.tanh,
    "gelu": gelu,
    "silu": lambda x: x * sigmoid(x),
}

# The layers the pure-Python path runs; the others need PyTorch.
PURE_PYTHON_LAYERS = {"linear", "dropout", "leaky_relu", "softmax", *ACTIVATIONS}


def softmax(values):
    top = max(values)
    exp = [math.exp(v - top) for v in values]
    total = math.fsum(exp)
    return [e / total for e in exp]


def pure_python_skip(model):
    """Why the pure-Python path cannot run this network, or None: it runs
    flat rows through linear layers and elementwise activations; a declared
    input shape is fine when elementwise layers lead to a `flatten`."""
    layers = model["layers"]
    others = sorted({layer["type"] for layer in layers} - PURE_PYTHON_LAYERS - {"flatten"})
    if others:
        return ", ".join(others)
    if "input_shape" not in model or len(model["input_shape"]) == 1:
        return None
    for layer in layers:
        if layer["type"] == "flatten":
            return None
        if layer["type"] not in ACTIVATIONS and layer["type"] not in ("dropout", "leaky_relu"):
            return f"a {layer['type']} layer on the declared input shape {model['input_shape']}"
    return f"the declared input shape {model['input_shape']}"


def predict_pure_python(layers, tensors, rows):
    predictions = []
    for row in rows:
        h = row
        for layer in layers:
            kind = layer["type"]
            if kind == "linear":
                shape, weight = tensors[layer["weight"]]
                if shape != [layer["out"], layer["in"]] or len(h) != layer["in"]:
                    raise ExportError(f"{layer['weight']} has shape {shape}, layer {layer}")
                bias = tensors[layer["bias"]][1] if layer.get("bias") else [0.0] * layer["out"]
                width = layer["in"]
                h = [
                    math.fsum(w * x for w, x in zip(weight[o * width : (o + 1) * width], h)) + bias[o]
                    for o in range(layer["out"])
                ]
            elif kind in ("dropout", "flatten"):
                pass  # identity at inference; rows are already flat, row-major
            elif kind == "leaky_relu":
                slope = layer["negative_slope"]
                h = [x if x >= 0.0 else slope * x for x in h]
            elif kind == "softmax":
                h = softmax(h)
            elif kind in ACTIVATIONS:
                h = [ACTIVATIONS[kind](x) for x in h]
            else:
                raise ExportError(f"unknown layer type {kind!r}")
        predictions.append(h)
    return predictions


def torch_modules():
    """Modules whose state_dict names are pipeline's (`{index}.weight_ih_l0`,
    `{index}.self_attn.in_proj_weight`, …): subclasses, not wrappers."""
    import torch
    from torch import nn

    class Embedding(nn.Embedding):
        """Codes arrive as float32 model inputs."""

        def forward(self, x):
            return super().forward(x.long())

    def recurrent(base):
        class Recurrent(base):
            """Batch first; the output sequence, or its last step."""

            def __init__(self, inputs, units, return_sequences):
                super().__init__(inputs, units, batch_first=True)
                self.return_sequences = return_sequences

            def forward(self, x):
                output, _ = super().forward(x)
                return output if self.return_sequences else output[:, -1]

        return Recurrent

    class PositionalEncoding(nn.Module):
        """pe[t, 2i] = sin(t / 10000^(2i/D)), pe[t, 2i+1] = cos(…), in
        float64 then float32, added to every sequence (no weights)."""

        def __init__(self, steps, d_model):
            super().__init__()
            position = torch.arange(steps, dtype=torch.float64).unsqueeze(1)
            exponent = (torch.arange(d_model) // 2 * 2).to(torch.float64) / d_model
            angle = position / torch.pow(torch.tensor(10000.0, dtype=torch.float64), exponent)
            table = torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angle), torch.cos(angle))
            self.register_buffer("table", table.float(), persistent=False)

        def forward(self, x):
            return x + self.table[: x.shape[1]]

    class LastStep(nn.Module):
        def forward(self, x):
            return x[:, -1]

    class MeanPool(nn.Module):
        def forward(self, x):
            return x.mean(dim=1)

    return {
        "embedding": Embedding,
        "rnn": recurrent(nn.RNN),
        "lstm": recurrent(nn.LSTM),
        "gru": recurrent(nn.GRU),
        "positional_encoding": PositionalEncoding,
        "last_step": LastStep,
        "mean_pool": MeanPool,
    }


def torch_layer(layer, shape, custom):
    """The module for one schema layer that gets rows of `shape` (batch
    left out)."""
    from torch import nn

    kind = layer["type"]
    simple = {
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "silu": nn.SiLU,
        "flatten": nn.Flatten,
        "last_step": custom["last_step"],
        "mean_pool": custom["mean_pool"],
    }
    if kind in simple:
        return simple[kind]()
    if kind == "linear":
        return nn.Linear(layer["in"], layer["out"], bias=bool(layer.get("bias")))
    if kind == "gelu":
        return nn.GELU(approximate=layer.get("approximate", "none"))
    if kind == "leaky_relu":
        return nn.LeakyReLU(layer["negative_slope"])
    if kind == "softmax":
        return nn.Softmax(dim=-1)
    if kind == "dropout":
        return nn.Dropout(layer["rate"])
    if kind == "batch_norm":
        # (C,) and (C, L) are BatchNorm1d's inputs, (C, H, W) BatchNorm2d's.
        return (nn.BatchNorm1d if len(shape) <= 2 else nn.BatchNorm2d)(shape[0])
    if kind == "layer_norm":
        return nn.LayerNorm(shape[-1])
    if kind in ("conv1d", "conv2d"):
        conv = nn.Conv1d if kind == "conv1d" else nn.Conv2d
        return conv(
            shape[0],
            layer["filters"],
            layer["kernel"],
            stride=layer["stride"],
            padding=layer["padding"],
            bias=layer["bias"],
        )
    pools = {
        "max_pool1d": nn.MaxPool1d,
        "max_pool2d": nn.MaxPool2d,
        "avg_pool1d": nn.AvgPool1d,
        "avg_pool2d": nn.AvgPool2d,
    }
    if kind in pools:
        return pools[kind](layer["kernel"], stride=layer["stride"])
    if kind == "embedding":
        return custom["embedding"](layer["vocabulary"], layer["dimensions"])
    if kind in ("rnn", "lstm", "gru"):
        return custom[kind](shape[-1], layer["units"], layer["return_sequences"])
    if kind == "transformer":
        d_model = shape[-1]
        return nn.TransformerEncoderLayer(
            d_model,
            layer["heads"],
            dim_feedforward=layer.get("feedforward") or 4 * d_model,
            dropout=layer["dropout"],
            activation="relu",
            batch_first=True,
            norm_first=False,
        )
    if kind == "positional_encoding":
        return custom["positional_encoding"](shape[0], shape[-1])
    raise ExportError(f"unknown layer type {kind!r}")


def predict_torch(folder, schema, rows):
    import torch
    from safetensors.torch import load_file

    custom = torch_modules()
    input_shape = schema["model"].get("input_shape") or [len(rows[0]) if rows else 0]
    shape = list(input_shape)
    modules = []
    for layer in schema["model"]["layers"]:
        modules.append(torch_layer(layer, shape, custom))
        if layer["type"] == "linear":
            shape = shape[:-1] + [layer["out"]]
        elif "output_shape" in layer:
            shape = list(layer["output_shape"])
    model = torch.nn.Sequential(*modules)
    model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    model.eval()
    with torch.no_grad():
        x = torch.tensor(rows, dtype=torch.float32).reshape(len(rows), *input_shape)
        output = model(x)
    return output.reshape(len(rows), -1).tolist()


def compare(label, ours, theirs, per_row):
    if len(ours) != len(theirs):
        raise ExportError(f"{label}: {len(ours)} values, pipeline infer wrote {len(theirs)}")
    worst = 0.0
    worst_relative = 0.0
    for index, (a, b) in enumerate(zip(ours, theirs)):
        difference = abs(a - b)
        worst = max(worst, difference)
        worst_relative = max(worst_relative, difference / max(1.0, abs(b)))
        if not difference <= TOLERANCE * max(1.0, abs(b)):
            row, column = divmod(index, per_row)
            raise ExportError(
                f"{label}: row {row + 1}, value {column + 1}: {a!r} against pipeline's {b!r}"
            )
    print(
        f"{label}: {len(ours) // per_row} rows match pipeline infer "
        f"(max abs diff {worst:.3g}, max relative {worst_relative:.3g}, tolerance {TOLERANCE:g})"
    )


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    folder = Path(argv[1])
    try:
        schema, preprocessing, weights = load_export(folder)
        if "window" in schema or "window" in preprocessing:
            check_windowed(folder, schema, preprocessing, weights, argv[2], argv[3])
            return 0
        layers = schema["model"]["layers"]
        rows = read_inputs(argv[2], preprocessing)
        output = schema["output"]
        columns = prediction_columns(output)
        expected = read_predictions(argv[3], columns)
        reason = pure_python_skip(schema["model"])
        if reason:
            print(f"pure-python: skipped: {reason} (PyTorch only)")
        else:
            ours = predict_pure_python(layers, read_safetensors(weights), rows)
            compare("pure-python", to_predictions(output, ours), expected, len(columns))
        try:
            import safetensors.torch  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            print("torch: skipped: torch/safetensors not installed")
        else:
            theirs = to_predictions(output, predict_torch(folder, schema, rows))
            compare(f"torch {torch.__version__}", theirs, expected, len(columns))
    except (ExportError, KeyError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
