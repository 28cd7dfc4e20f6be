"""Batch inference the way a PyTorch user writes it: read a CSV with pandas,
z-score the features with the saved training statistics, predict with the
saved SimpleNN (from ../shared/peers/torch_mlp.py diabetes), and write the
rows plus a `prediction` column as CSV. The counterpart of
`pipeline infer --input IN.csv --output OUT.csv`.

  python torch_infer_csv.py MODEL.pt IN.csv OUT.csv [--chunk ROWS]

Prints one JSON line: seconds spent after the imports (read, predict,
write), and in predicting alone. `--chunk` predicts in slices of that many
rows (0: all rows in one call).
"""
import argparse
import json
import time

T0 = time.perf_counter()
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

IMPORTS_S = time.perf_counter() - T0

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("input")
ap.add_argument("output")
ap.add_argument("--chunk", type=int, default=0)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()

torch.set_num_threads(a.threads)
t = time.perf_counter()
sd = torch.load(a.model, weights_only=True)
mean, std = sd.pop("mean"), sd.pop("std")
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1))
model.load_state_dict(sd)
model.eval()

frame = pd.read_csv(a.input)
x = torch.from_numpy(frame.to_numpy(dtype="float32"))
tp = time.perf_counter()
with torch.inference_mode():
    x = (x - mean) / std
    if a.chunk > 0:
        y = torch.cat([model(x[s:s + a.chunk]) for s in range(0, x.shape[0], a.chunk)])
    else:
        y = model(x)
predict_s = time.perf_counter() - tp
frame["prediction"] = y.numpy().reshape(-1)
frame.to_csv(a.output, index=False)
work_s = time.perf_counter() - t
print(json.dumps(dict(
    rows=len(frame), imports_s=round(IMPORTS_S, 4), work_s=round(work_s, 4),
    predict_s=round(predict_s, 4), torch=torch.__version__, pandas=pd.__version__,
)), flush=True)
