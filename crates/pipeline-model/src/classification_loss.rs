//! Classification losses on logits, as candle ops that autograd can
//! differentiate: binary cross-entropy for one output and cross-entropy for
//! `K` outputs, with PyTorch's formulas, weights and `reduction="mean"`.

use candle_core::{D, DType, Result, Tensor, bail};

/// Binary cross-entropy of `logits` against 0/1 `targets`, averaged over all
/// elements: PyTorch's `torch.nn.BCEWithLogitsLoss(pos_weight=…)` with
/// `reduction="mean"`.
///
/// `logits` and `targets` are f32 tensors of the same shape, `(N, 1)` for a
/// binary classifier. Each element's loss is
/// `(1 − y)·x + (1 + (pw − 1)·y)·softplus(−x)`, where `pw` is `pos_weight`
/// (1 when `None`): a weight > 1 makes missing a positive cost more, as for a
/// rare positive class (`pw` = negatives / positives balances them).
///
/// `softplus(−x) = log(1 + exp(−x))` is computed as `m + log(exp(−m) + exp(−x − m))`
/// with `m = max(−x, 0)`, so neither exponential overflows for any logit, and
/// the gradient is the exact `(1 + (pw − 1)·y)·(sigmoid(x) − 1) + (1 − y)`
/// per element (over N) even at `x = 0`, because the shift `m` cancels.
pub fn binary_cross_entropy_with_logits(
    logits: &Tensor,
    targets: &Tensor,
    pos_weight: Option<f64>,
) -> Result<Tensor> {
    if logits.shape() != targets.shape() {
        bail!(
            "binary cross-entropy: logits {:?} and targets {:?} differ in shape",
            logits.shape(),
            targets.shape()
        );
    }
    let negative_logits = logits.neg()?;
    let shift = negative_logits.relu()?;
    let softplus = ((shift.neg()?.exp()? + (&negative_logits - &shift)?.exp()?)?.log()? + &shift)?;
    // (1 − y)·x
    let negative_part = (targets.affine(-1.0, 1.0)? * logits)?;
    let positive_part = match pos_weight {
        None => softplus,
        // (1 + (pw − 1)·y)·softplus(−x)
        Some(weight) => (targets.affine(weight - 1.0, 1.0)? * softplus)?,
    };
    (negative_part + positive_part)?.mean_all()
}

/// Cross-entropy of `logits` against class indices, exactly as PyTorch's
/// `torch.nn.CrossEntropyLoss(weight=…, label_smoothing=…)` with
/// `reduction="mean"`.
///
/// `logits` is `(N, K)` f32, `classes` is `(N,)` u32 holding indices in
/// `0..K` (an index ≥ K is an error on the CPU, as candle's `gather`).
/// With `log_p = log_softmax(logits)`, `w` the class weights (all 1 when
/// `None`), `y_i` row i's class and `ε = label_smoothing`:
///
/// ```text
/// nll    = Σ_i w[y_i]·(−log_p[i, y_i]) / Σ_i w[y_i]
/// smooth = Σ_i Σ_c w[c]·(−log_p[i, c]) / Σ_i w[y_i]
/// loss   = (1 − ε)·nll + (ε / K)·smooth
/// ```
///
/// That is PyTorch's `cross_entropy_loss_label_smoothing`: the smoothed part
/// weights every class by its own weight but is normalised, like the NLL part,
/// by the summed weights of the rows' true classes (without weights both
/// denominators are N). `ε` must lie in `[0, 1]` and `weights` hold K values.
pub fn cross_entropy(
    logits: &Tensor,
    classes: &Tensor,
    weights: Option<&[f32]>,
    label_smoothing: f64,
) -> Result<Tensor> {
    let (rows, class_count) = logits.dims2()?;
    if classes.dims() != [rows] {
        bail!(
            "cross-entropy: classes {:?} must be ({rows},) for logits {:?}",
            classes.shape(),
            logits.shape()
        );
    }
    if !(0.0..=1.0).contains(&label_smoothing) {
        bail!("cross-entropy: label_smoothing {label_smoothing} must lie in [0, 1]");
    }
    let classes = classes.to_dtype(DType::U32)?;
    let log_p = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    // log_p[i, y_i], shape (N,)
    let true_log_p = log_p.gather(&classes.unsqueeze(1)?, 1)?.squeeze(1)?;
    let (nll, smooth) = match weights {
        None => {
            let nll = true_log_p.mean_all()?.neg()?;
            let smooth = (log_p.sum_all()?.neg()? / rows as f64)?;
            (nll, smooth)
        }
        Some(weights) => {
            if weights.len() != class_count {
                bail!(
                    "cross-entropy: {} class weights for {class_count} classes",
                    weights.len()
                );
            }
            let weights = Tensor::new(weights, logits.device())?.to_dtype(logits.dtype())?;
            let row_weights = weights.index_select(&classes, 0)?;
            let total = row_weights.sum_all()?;
            let nll = (row_weights * true_log_p)?.sum_all()?.neg()?.div(&total)?;
            let smooth = log_p
                .broadcast_mul(&weights.unsqueeze(0)?)?
                .sum_all()?
                .neg()?
                .div(&total)?;
            (nll, smooth)
        }
    };
    if label_smoothing == 0.0 {
        return Ok(nll);
    }
    (nll * (1.0 - label_smoothing))? + (smooth * (label_smoothing / class_count as f64))?
}

#[cfg(test)]
mod tests {
    //! Every expected number is printed by
    //! `crates/pipeline-model/tests/classification_reference.py`
    //! (PyTorch 2.15.0, float32): losses and gradients with respect to the
    //! logits, compared to 1e-5 (relative above 1).
    #![allow(clippy::unwrap_used)]
    use super::*;
    use candle_core::{Device, Var};

    // ---- binary_cross_entropy_with_logits (torch.nn.BCEWithLogitsLoss)
    const BINARY_LOGITS: [[f32; 1]; 6] = [[0.0], [1.5], [-2.0], [3.0], [-0.5], [0.25]];
    const BINARY_TARGETS: [[f32; 1]; 6] = [[1.0], [0.0], [0.0], [1.0], [1.0], [0.0]];
    const EXTREME_BINARY_LOGITS: [[f32; 1]; 5] = [[50.0], [-50.0], [50.0], [-50.0], [0.0]];
    const EXTREME_BINARY_TARGETS: [[f32; 1]; 5] = [[1.0], [0.0], [0.0], [1.0], [1.0]];
    const BCE_LOSS: f64 = 0.7283486723899841;
    const BCE_GRAD: [[f64; 1]; 6] = [
        [-0.0833333358168602],
        [0.13626240193843842],
        [0.019867153838276863],
        [-0.007904310710728168],
        [-0.10374321788549423],
        [0.09369608759880066],
    ];
    const BCE_POS_WEIGHT_3_LOSS: f64 = 1.3002859354019165;
    const BCE_POS_WEIGHT_3_GRAD: [[f64; 1]; 6] = [
        [-0.25],
        [0.13626240193843842],
        [0.019867153838276863],
        [-0.02371295355260372],
        [-0.3112296760082245],
        [0.09369608759880066],
    ];
    const BCE_EXTREME_LOSS: f64 = 20.138629913330078;
    const BCE_EXTREME_GRAD: [[f64; 1]; 5] = [
        [0.0],
        [3.8574998498163493e-23],
        [0.20000000298023224],
        [-0.20000000298023224],
        [-0.10000000149011612],
    ];
    const BCE_EXTREME_POS_WEIGHT_3_LOSS: f64 = 40.41588592529297;
    const BCE_EXTREME_POS_WEIGHT_3_GRAD: [[f64; 1]; 5] = [
        [0.0],
        [3.8574998498163493e-23],
        [0.20000000298023224],
        [-0.6000000238418579],
        [-0.30000001192092896],
    ];

    // ---- cross_entropy (torch.nn.CrossEntropyLoss)
    const LOGITS: [[f32; 3]; 5] = [
        [1.0, -0.5, 0.25],
        [0.2, 0.4, 2.0],
        [-1.0, 1.5, 0.0],
        [0.3, 0.3, 0.3],
        [2.5, -1.25, 0.75],
    ];
    const CLASSES: [u32; 5] = [0, 2, 1, 2, 1];
    const EXTREME_LOGITS: [[f32; 3]; 4] = [
        [50.0, -50.0, 0.0],
        [-50.0, 50.0, 0.0],
        [0.0, -50.0, 50.0],
        [50.0, 50.0, -50.0],
    ];
    const EXTREME_CLASSES: [u32; 4] = [1, 1, 2, 0];
    const WEIGHTS: [f32; 3] = [0.2, 1.0, 2.5];
    const SMOOTHING: f64 = 0.1;
    const CE_LOSS: f64 = 1.2271559238433838;
    const CE_GRAD: [[f64; 3]; 5] = [
        [
            -0.08204048126935959,
            0.026320328935980797,
            0.05572013184428215,
        ],
        [
            0.02418072521686554,
            0.02953440509736538,
            -0.05371513590216637,
        ],
        [
            0.012578003108501434,
            -0.04676855728030205,
            0.03419055789709091,
        ],
        [
            0.06666666269302368,
            0.06666666269302368,
            -0.13333334028720856,
        ],
        [
            0.16704368591308594,
            -0.19607150554656982,
            0.02902783825993538,
        ],
    ];
    const CE_WEIGHTS_LOSS: f64 = 1.0875637531280518;
    const CE_WEIGHTS_GRAD: [[f64; 3]; 5] = [
        [
            -0.01139451190829277,
            0.0036556015256792307,
            0.0077389078214764595,
        ],
        [
            0.041980426758527756,
            0.05127501115202904,
            -0.09325544536113739,
        ],
        [
            0.00873472448438406,
            -0.03247816860675812,
            0.023743443191051483,
        ],
        [
            0.11574073880910873,
            0.11574073880910873,
            -0.23148149251937866,
        ],
        [
            0.11600256711244583,
            -0.13616077601909637,
            0.020158221945166588,
        ],
    ];
    const CE_SMOOTHING_LOSS: f64 = 1.2531559467315674;
    const CE_SMOOTHING_GRAD: [[f64; 3]; 5] = [
        [
            -0.06870714575052261,
            0.01965365931391716,
            0.049053456634283066,
        ],
        [
            0.017514057457447052,
            0.022867737337946892,
            -0.04038179665803909,
        ],
        [
            0.005911334417760372,
            -0.03343523293733597,
            0.027523884549736977,
        ],
        [
            0.059999991208314896,
            0.059999991208314896,
            -0.11999999731779099,
        ],
        [
            0.16037699580192566,
            -0.18273815512657166,
            0.022361166775226593,
        ],
    ];
    const CE_WEIGHTS_SMOOTHING_LOSS: f64 = 1.1016656160354614;
    const CE_WEIGHTS_SMOOTHING_GRAD: [[f64; 3]; 5] = [
        [
            -0.0010779702570289373,
            0.0009146988159045577,
            0.00016326787590514868,
        ],
        [
            0.03892749547958374,
            0.04404744878411293,
            -0.08297493308782578,
        ],
        [
            0.008012608624994755,
            -0.020735986530780792,
            0.012723379768431187,
        ],
        [
            0.10895062237977982,
            0.10524691641330719,
            -0.2141975462436676,
        ],
        [
            0.11778336018323898,
            -0.1268378496170044,
            0.00905450340360403,
        ],
    ];
    const CE_EXTREME_LOSS: f64 = 25.17328643798828;
    const CE_EXTREME_GRAD: [[f64; 3]; 4] = [
        [0.25, -0.25, 4.821874733384346e-23],
        [9.80908925027372e-45, 0.0, 4.821874733384346e-23],
        [4.821874733384346e-23, 9.80908925027372e-45, 0.0],
        [-0.125, 0.125, 4.203895392974451e-45],
    ];
    const CE_EXTREME_WEIGHTS_LOSS: f64 = 21.30609130859375;
    const CE_EXTREME_WEIGHTS_GRAD: [[f64; 3]; 4] = [
        [
            0.21276596188545227,
            -0.21276596188545227,
            4.1037232176306387e-23,
        ],
        [8.407790785948902e-45, 0.0, 4.1037232176306387e-23],
        [1.0259307728532235e-22, 1.961817850054744e-44, 0.0],
        [
            -0.021276596933603287,
            0.021276596933603287,
            1.401298464324817e-45,
        ],
    ];
    const CE_EXTREME_SMOOTHING_LOSS: f64 = 27.25661849975586;
    const CE_EXTREME_SMOOTHING_GRAD: [[f64; 3]; 4] = [
        [
            0.24166665971279144,
            -0.23333333432674408,
            -0.008333333767950535,
        ],
        [
            -0.008333333767950535,
            0.01666666567325592,
            -0.008333333767950535,
        ],
        [
            -0.008333333767950535,
            -0.008333333767950535,
            0.01666666567325592,
        ],
        [
            -0.10833333432674408,
            0.11666666716337204,
            -0.008333333767950535,
        ],
    ];
    const CE_EXTREME_WEIGHTS_SMOOTHING_LOSS: f64 = 24.370975494384766;
    const CE_EXTREME_WEIGHTS_SMOOTHING_GRAD: [[f64; 3]; 4] = [
        [
            0.21631206572055817,
            -0.19858156144618988,
            -0.01773049868643284,
        ],
        [
            -0.0014184399042278528,
            0.019148945808410645,
            -0.01773049868643284,
        ],
        [
            -0.0014184399042278528,
            -0.0070921992883086205,
            0.008510619401931763,
        ],
        [
            -0.007446806877851486,
            0.025177307426929474,
            -0.01773049868643284,
        ],
    ];

    fn close(name: &str, got: f64, expected: f64) {
        assert!(
            (got - expected).abs() <= 1e-5 * expected.abs().max(1.0),
            "{name}: got {got}, PyTorch {expected}"
        );
    }

    /// A `(rows, K)` tensor of `rows`.
    fn matrix<const K: usize>(rows: &[[f32; K]]) -> Tensor {
        Tensor::from_slice(rows.as_flattened(), (rows.len(), K), &Device::Cpu).unwrap()
    }

    /// The loss and d(loss)/d(logits) of `loss` at `logits`.
    fn value_and_gradient<const K: usize>(
        logits: &[[f32; K]],
        loss: impl Fn(&Tensor) -> Result<Tensor>,
    ) -> (f64, Vec<Vec<f32>>) {
        let logits = Var::from_tensor(&matrix(logits)).unwrap();
        let value = loss(logits.as_tensor()).unwrap();
        let gradients = value.backward().unwrap();
        let gradient = gradients.get(logits.as_tensor()).unwrap();
        (
            f64::from(value.to_scalar::<f32>().unwrap()),
            gradient.to_vec2::<f32>().unwrap(),
        )
    }

    fn check<const K: usize>(
        name: &str,
        (loss, gradient): (f64, Vec<Vec<f32>>),
        expected_loss: f64,
        expected_gradient: &[[f64; K]],
    ) {
        close(name, loss, expected_loss);
        assert_eq!(gradient.len(), expected_gradient.len(), "{name}: rows");
        for (row, (got, expected)) in gradient.iter().zip(expected_gradient).enumerate() {
            for (column, (got, expected)) in got.iter().zip(expected).enumerate() {
                close(
                    &format!("{name} gradient [{row}, {column}]"),
                    f64::from(*got),
                    *expected,
                );
            }
        }
    }

    fn binary(
        logits: &[[f32; 1]],
        targets: &[[f32; 1]],
        pos_weight: Option<f64>,
    ) -> (f64, Vec<Vec<f32>>) {
        let targets = matrix(targets);
        value_and_gradient(logits, |l| {
            binary_cross_entropy_with_logits(l, &targets, pos_weight)
        })
    }

    #[test]
    fn binary_cross_entropy_matches_pytorch() {
        type Case<'a> = (
            &'a str,
            &'a [[f32; 1]],
            &'a [[f32; 1]],
            Option<f64>,
            f64,
            &'a [[f64; 1]],
        );
        let cases: [Case; 4] = [
            (
                "bce",
                &BINARY_LOGITS,
                &BINARY_TARGETS,
                None,
                BCE_LOSS,
                &BCE_GRAD,
            ),
            (
                "bce pos_weight 3",
                &BINARY_LOGITS,
                &BINARY_TARGETS,
                Some(3.0),
                BCE_POS_WEIGHT_3_LOSS,
                &BCE_POS_WEIGHT_3_GRAD,
            ),
            (
                "bce ±50",
                &EXTREME_BINARY_LOGITS,
                &EXTREME_BINARY_TARGETS,
                None,
                BCE_EXTREME_LOSS,
                &BCE_EXTREME_GRAD,
            ),
            (
                "bce ±50 pos_weight 3",
                &EXTREME_BINARY_LOGITS,
                &EXTREME_BINARY_TARGETS,
                Some(3.0),
                BCE_EXTREME_POS_WEIGHT_3_LOSS,
                &BCE_EXTREME_POS_WEIGHT_3_GRAD,
            ),
        ];
        for (name, logits, targets, pos_weight, loss, gradient) in cases {
            check(name, binary(logits, targets, pos_weight), loss, gradient);
        }
    }

    fn multiclass(
        logits: &[[f32; 3]],
        classes: &[u32],
        weights: Option<&[f32]>,
        smoothing: f64,
    ) -> (f64, Vec<Vec<f32>>) {
        let classes = Tensor::new(classes, &Device::Cpu).unwrap();
        value_and_gradient(logits, |l| cross_entropy(l, &classes, weights, smoothing))
    }

    #[test]
    fn cross_entropy_matches_pytorch() {
        type Case<'a> = (
            &'a str,
            &'a [[f32; 3]],
            &'a [u32],
            Option<&'a [f32]>,
            f64,
            f64,
            &'a [[f64; 3]],
        );
        let cases: [Case; 8] = [
            ("ce", &LOGITS, &CLASSES, None, 0.0, CE_LOSS, &CE_GRAD),
            (
                "ce weights",
                &LOGITS,
                &CLASSES,
                Some(&WEIGHTS),
                0.0,
                CE_WEIGHTS_LOSS,
                &CE_WEIGHTS_GRAD,
            ),
            (
                "ce smoothing",
                &LOGITS,
                &CLASSES,
                None,
                SMOOTHING,
                CE_SMOOTHING_LOSS,
                &CE_SMOOTHING_GRAD,
            ),
            (
                "ce weights smoothing",
                &LOGITS,
                &CLASSES,
                Some(&WEIGHTS),
                SMOOTHING,
                CE_WEIGHTS_SMOOTHING_LOSS,
                &CE_WEIGHTS_SMOOTHING_GRAD,
            ),
            (
                "ce ±50",
                &EXTREME_LOGITS,
                &EXTREME_CLASSES,
                None,
                0.0,
                CE_EXTREME_LOSS,
                &CE_EXTREME_GRAD,
            ),
            (
                "ce ±50 weights",
                &EXTREME_LOGITS,
                &EXTREME_CLASSES,
                Some(&WEIGHTS),
                0.0,
                CE_EXTREME_WEIGHTS_LOSS,
                &CE_EXTREME_WEIGHTS_GRAD,
            ),
            (
                "ce ±50 smoothing",
                &EXTREME_LOGITS,
                &EXTREME_CLASSES,
                None,
                SMOOTHING,
                CE_EXTREME_SMOOTHING_LOSS,
                &CE_EXTREME_SMOOTHING_GRAD,
            ),
            (
                "ce ±50 weights smoothing",
                &EXTREME_LOGITS,
                &EXTREME_CLASSES,
                Some(&WEIGHTS),
                SMOOTHING,
                CE_EXTREME_WEIGHTS_SMOOTHING_LOSS,
                &CE_EXTREME_WEIGHTS_SMOOTHING_GRAD,
            ),
        ];
        for (name, logits, classes, weights, smoothing, loss, gradient) in cases {
            check(
                name,
                multiclass(logits, classes, weights, smoothing),
                loss,
                gradient,
            );
        }
    }

    #[test]
    fn rejects_mismatched_inputs() {
        let device = Device::Cpu;
        let logits = Tensor::new(&LOGITS, &device).unwrap();
        let classes = Tensor::new(&CLASSES, &device).unwrap();
        assert!(cross_entropy(&logits, &classes, Some(&[1.0, 2.0]), 0.0).is_err());
        assert!(cross_entropy(&logits, &classes, None, 1.5).is_err());
        let short = Tensor::new(&CLASSES[..3], &device).unwrap();
        assert!(cross_entropy(&logits, &short, None, 0.0).is_err());
        let out_of_range = Tensor::new(&[0u32, 1, 3, 2, 0], &device).unwrap();
        assert!(cross_entropy(&logits, &out_of_range, None, 0.0).is_err());
        let binary_logits = Tensor::new(&BINARY_LOGITS, &device).unwrap();
        let targets = Tensor::new(&EXTREME_BINARY_TARGETS, &device).unwrap();
        assert!(binary_cross_entropy_with_logits(&binary_logits, &targets, None).is_err());
    }
}
