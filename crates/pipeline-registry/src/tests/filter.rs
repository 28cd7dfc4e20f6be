//! `runs --where` and `--sort` against a real database.

use crate::tests::{metric, new_run, open_temp};
use crate::{Completion, Registry, RunFilter, RunId};

async fn completed(
    reg: &Registry,
    experiment: &str,
    val_loss: f64,
    test_r2: f64,
    epochs: u32,
) -> RunId {
    let id = reg.create_run(&new_run(experiment, false)).await.unwrap();
    reg.complete_run(
        &id,
        &Completion {
            best_epoch: 1,
            epochs_run: epochs,
            selection_value: val_loss,
            final_metrics: vec![
                metric("validation", "loss", val_loss),
                metric("test", "r2", test_r2),
            ],
            artifacts: vec![],
            overfitting: Default::default(),
            weights_digest: None,
        },
    )
    .await
    .unwrap();
    id
}

async fn ids(reg: &Registry, condition: &str, sort: Option<&str>) -> Vec<RunId> {
    let filter = RunFilter {
        condition: Some(condition.parse().unwrap()),
        sort: sort.map(|s| s.parse().unwrap()),
        ..RunFilter::default()
    };
    reg.list_runs(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn where_and_sort_select_and_order_runs() {
    let (_dir, reg) = open_temp().await;
    let a = completed(&reg, "mlp", 3500.0, 0.40, 100).await;
    let b = completed(&reg, "mlp", 2900.0, 0.52, 300).await;
    let c = completed(&reg, "wide", 3100.0, 0.47, 50).await;
    let running = reg.create_run(&new_run("mlp", false)).await.unwrap();

    assert_eq!(
        ids(&reg, "val_loss < 3200", Some("val_loss")).await,
        [b.clone(), c.clone()]
    );
    assert_eq!(
        ids(&reg, "val_loss < 3200", Some("val_loss:desc")).await,
        [c.clone(), b.clone()]
    );
    assert_eq!(
        ids(
            &reg,
            "(test_r2 >= 0.5 or epochs < 60) and status = completed",
            Some("test_r2")
        )
        .await,
        [c.clone(), b.clone()]
    );
    assert_eq!(
        ids(&reg, "experiment = mlp and not status = completed", None).await,
        std::slice::from_ref(&running)
    );
    assert_eq!(
        ids(&reg, "status != running", Some("epochs:desc")).await,
        [b, a, c]
    );
    // A run without the metric does not match a comparison on it.
    assert!(!ids(&reg, "val_loss > 0", None).await.contains(&running));
    // Runs without the sort key come last.
    assert_eq!(
        ids(&reg, "experiment = mlp", Some("val_loss")).await.last(),
        Some(&running)
    );
}
