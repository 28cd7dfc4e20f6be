"""Reference numbers for the classification metrics of pipeline-train.

Run with a Python that has scikit-learn (1.9) and numpy:

    python crates/pipeline-train/tests/sklearn_classification_reference.py

It prints, as Rust constants, what scikit-learn computes on the fixed
examples stored in the tests of crates/pipeline-train/src/classification.rs
(they name this script). Probabilities are written as float32 (what the
network gives) and handed to scikit-learn as float64 arrays holding exactly
those float32 values, so scikit-learn's arithmetic is float64 like ours;
only the saturated example goes in as float32, because log_loss clips to the
machine epsilon of its input's dtype and ours is float32.

Predicted classes: numpy's argmax of each row (first maximum on ties); for
probabilities of the positive class alone, (p >= 0.5).
"""

import warnings

import numpy as np
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)

# zero_division="warn" (the default) gives 0.0 and warns; the examples hit it on purpose.
warnings.simplefilter("ignore", UndefinedMetricWarning)
warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
warnings.filterwarnings("ignore", message="The y_prob values do not sum to one")


def f32(values):
    return np.asarray(values, dtype=np.float32)


EXAMPLES = [
    # Binary, positive-class probabilities, ties at 0.4 (one positive, two
    # negatives) and at the 0.5 threshold (one of each).
    (
        "BINARY",
        2,
        [0, 1, 1, 0, 1, 0, 0, 1, 1, 0],
        [0.1, 0.4, 0.4, 0.4, 0.8, 0.5, 0.65, 0.5, 0.9, 0.2],
    ),
    # The same binary data as two columns (1 - p, p) as a softmax head gives.
    (
        "BINARY_TWO_COLUMNS",
        2,
        [0, 1, 1, 0, 1, 0, 0, 1, 1, 0],
        [[1.0 - p, p] for p in f32([0.1, 0.4, 0.4, 0.4, 0.8, 0.5, 0.65, 0.5, 0.9, 0.2]).tolist()],
    ),
    # Three classes; class 2 is never predicted (its precision divides by zero).
    (
        "NEVER_PREDICTED",
        3,
        [0, 1, 2, 2, 1, 0, 2, 1],
        [
            [0.7, 0.2, 0.1],
            [0.1, 0.6, 0.3],
            [0.5, 0.2, 0.3],
            [0.2, 0.45, 0.35],
            [0.3, 0.4, 0.3],
            [0.25, 0.5, 0.25],
            [0.4, 0.3, 0.3],
            [0.6, 0.3, 0.1],
        ],
    ),
    # Four classes; class 3 never occurs in the labels but is predicted
    # (its recall divides by zero, balanced accuracy leaves it out), one row
    # ties between classes 0 and 1 (argmax takes 0).
    (
        "ABSENT_CLASS",
        4,
        [0, 1, 2, 0, 1, 2, 0],
        [
            [0.4, 0.4, 0.1, 0.1],
            [0.1, 0.7, 0.1, 0.1],
            [0.2, 0.1, 0.3, 0.4],
            [0.05, 0.15, 0.2, 0.6],
            [0.3, 0.3, 0.35, 0.05],
            [0.1, 0.1, 0.75, 0.05],
            [0.9, 0.05, 0.03, 0.02],
        ],
    ),
]

# Saturated probabilities (exactly 0 and 1): log_loss clips them to
# [eps, 1 - eps] with float32's eps = 2**-23; handed over as float32.
SATURATED = ("SATURATED", 2, [1, 0, 1, 0], [1.0, 0.0, 0.0, 1.0])


def rust_f64(value):
    return repr(float(value))


def rust_f32(value):
    # The shortest decimal that reads back as the same float32.
    return str(np.float32(value))


def rust_list(values, cast=rust_f64):
    return "[" + ", ".join(cast(v) for v in values) + "]"


def print_example(name, classes, labels, probabilities):
    labels = np.asarray(labels)
    p32 = f32(probabilities)
    p = p32.astype(np.float64)
    if p.ndim == 1:
        predicted = (p >= 0.5).astype(int)
        positive = p
        width = None
    else:
        predicted = np.argmax(p, axis=1)
        positive = p[:, 1] if classes == 2 else None
        width = p.shape[1]
    every = list(range(classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=every, average=None, zero_division="warn"
    )
    shape = f"[f32; {p.size}]"
    print(f"// {name}: predicted {predicted.tolist()}")
    print(f"const {name}_LABELS: [u32; {len(labels)}] = {labels.tolist()};")
    flat = p32.reshape(-1).tolist()
    print(f"const {name}_PROBABILITIES: {shape} = {rust_list(flat, rust_f32)};")
    if width is not None:
        print(f"// ({len(labels)}, {width}) row-major")
    print(f"const {name}_ACCURACY: f64 = {rust_f64(accuracy_score(labels, predicted))};")
    print(
        f"const {name}_BALANCED_ACCURACY: f64 = "
        f"{rust_f64(balanced_accuracy_score(labels, predicted))};"
    )
    for metric, function in (("PRECISION", precision_score), ("RECALL", recall_score), ("F1", f1_score)):
        value = function(labels, predicted, labels=every, average="macro", zero_division="warn")
        print(f"const {name}_{metric}_MACRO: f64 = {rust_f64(value)};")
    print(f"const {name}_PRECISION: [f64; {classes}] = {rust_list(precision)};")
    print(f"const {name}_RECALL: [f64; {classes}] = {rust_list(recall)};")
    print(f"const {name}_F1: [f64; {classes}] = {rust_list(f1)};")
    print(f"const {name}_SUPPORT: [u64; {classes}] = {rust_list(support, str)};")
    matrix = confusion_matrix(labels, predicted, labels=every)
    rows = ", ".join(rust_list(row, str) for row in matrix)
    print(f"const {name}_CONFUSION: [[u64; {classes}]; {classes}] = [{rows}];")
    print(f"const {name}_LOG_LOSS: f64 = {rust_f64(log_loss(labels, p, labels=every))};")
    if positive is not None:
        print(f"const {name}_ROC_AUC: f64 = {rust_f64(roc_auc_score(labels, positive))};")


def print_saturated():
    name, classes, labels, probabilities = SATURATED
    p32 = f32(probabilities)
    value = log_loss(labels, p32, labels=list(range(classes)))
    print(f"// {name}: log_loss on float32 input (eps = {np.finfo(np.float32).eps!r})")
    print(f"const {name}_LABELS: [u32; {len(labels)}] = {labels};")
    print(f"const {name}_PROBABILITIES: [f32; {len(labels)}] = {rust_list(p32.tolist(), rust_f32)};")
    print(f"const {name}_LOG_LOSS: f64 = {rust_f64(value)};")


def print_single_class():
    # scikit-learn 1.9 warns (UndefinedMetricWarning) and returns nan when
    # y_true holds one class (older versions raised); the report gives None.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = roc_auc_score([1, 1, 1], [0.2, 0.7, 0.9])
    print(f"// roc_auc_score with one class in y_true: {value!r}, warning: {caught[0].message}")


if __name__ == "__main__":
    print(f"// scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    for example in EXAMPLES:
        print_example(*example)
    print_saturated()
    print_single_class()
