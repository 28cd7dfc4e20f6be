"""The scikit-learn peer of `bench-prepare`: what a scikit-learn user writes
to prepare a table for training. Reads the CSV or Parquet file with pandas
(default CSV engine; Parquet through pyarrow), splits the rows into
train/validation/test with two train_test_split calls (shuffled, seeded),
fits a StandardScaler on the training rows only, transforms all three
splits, and converts features and target to float32.

usage: sklearn_prepare.py FILE TARGET TRAIN VALIDATION TEST SEED

Prints one JSON line: the seconds of the work (after the imports), of each
step, of the imports, the rows of each split and the process's peak RSS.
"""

import time

_start = time.perf_counter()

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

_imported = time.perf_counter()


def read(path, target):
    """Features (float64, rows x columns) and target of the file."""
    if path.endswith(".parquet"):
        frame = pd.read_parquet(path)
        reader = "pandas.read_parquet"
    else:
        frame = pd.read_csv(path)
        reader = "pandas.read_csv"
    features = frame.drop(columns=[target]).to_numpy(dtype=np.float64)
    return features, frame[target].to_numpy(dtype=np.float64), reader


def main():
    path, target = sys.argv[1], sys.argv[2]
    train, validation, test = (float(v) for v in sys.argv[3:6])
    seed = int(sys.argv[6])

    t0 = time.perf_counter()
    x, y, reader = read(path, target)
    t1 = time.perf_counter()
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test, shuffle=True, random_state=seed
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest,
        y_rest,
        test_size=validation / (train + validation),
        shuffle=True,
        random_state=seed,
    )
    t2 = time.perf_counter()
    scaler = StandardScaler().fit(x_train)
    splits = [
        (scaler.transform(xs).astype(np.float32), ys.astype(np.float32))
        for xs, ys in ((x_train, y_train), (x_val, y_val), (x_test, y_test))
    ]
    t3 = time.perf_counter()

    print(
        json.dumps(
            {
                "reader": reader,
                "seconds": t3 - t0,
                "read_seconds": t1 - t0,
                "split_seconds": t2 - t1,
                "scale_seconds": t3 - t2,
                "import_seconds": _imported - _start,
                "rows": [len(s[1]) for s in splits],
                "features": int(splits[0][0].shape[1]),
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


if __name__ == "__main__":
    main()
