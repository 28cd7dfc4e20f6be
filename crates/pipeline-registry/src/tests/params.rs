//! Spec keys (`run_params`, issue 21): written with each run, filled once
//! for runs recorded before, filtered and sorted as numbers or text, and a
//! mistyped key refused with the closest recorded one.

use sqlx::{Connection, SqliteConnection};

use super::{new_run, open_temp, temp_db};
use crate::{Registry, RegistryError, RunFilter, RunId};

/// A spec; the `sgd` ones have a third layer, a dropout.
fn spec(learning_rate: f64, units: i64, algorithm: &str) -> String {
    let dropout = if algorithm == "sgd" {
        ", { type = \"dropout\", rate = 0.5 }"
    } else {
        ""
    };
    format!(
        "seed = 1\n[model]\nlayers = [{{ type = \"linear\", units = {units} }}, \
         {{ type = \"relu\" }}{dropout}]\n[optimizer]\ntype = \"{algorithm}\"\n\
         learning_rate = {learning_rate:?}\n"
    )
}

async fn run_with(reg: &Registry, learning_rate: f64, units: i64, algorithm: &str) -> RunId {
    let mut new = new_run("keys", false);
    new.spec_toml = spec(learning_rate, units, algorithm);
    reg.create_run(&new).await.unwrap()
}

async fn listed(reg: &Registry, condition: Option<&str>, sort: Option<&str>) -> Vec<RunId> {
    reg.list_runs(&RunFilter {
        condition: condition.map(|c| c.parse().unwrap()),
        sort: sort.map(|s| s.parse().unwrap()),
        ..RunFilter::default()
    })
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

async fn refusal(reg: &Registry, condition: &str) -> RegistryError {
    reg.list_runs(&RunFilter {
        condition: Some(condition.parse().unwrap()),
        ..RunFilter::default()
    })
    .await
    .unwrap_err()
}

#[tokio::test(flavor = "current_thread")]
async fn spec_keys_filter_as_numbers_and_text_and_sort() {
    let (_dir, reg) = open_temp().await;
    let slow = run_with(&reg, 0.001, 9, "sgd").await;
    let mid = run_with(&reg, 0.01, 10, "adam").await;
    let fast = run_with(&reg, 0.1, 64, "adam").await;

    assert_eq!(
        listed(&reg, Some("optimizer.learning_rate > 0.005"), None).await,
        [fast.clone(), mid.clone()]
    );
    // Numbers compare as numbers: 9 < 10 (as text "10" < "9").
    assert_eq!(
        listed(&reg, Some("model.layers[0].units >= 10"), None).await,
        [fast.clone(), mid.clone()]
    );
    assert_eq!(
        listed(
            &reg,
            Some("optimizer.type = adam and model.layers.0.units < 20"),
            None
        )
        .await,
        std::slice::from_ref(&mid)
    );
    assert_eq!(
        listed(&reg, Some("not optimizer.type = 'adam'"), None).await,
        std::slice::from_ref(&slow)
    );
    assert_eq!(
        listed(&reg, Some("model.layers.2.rate = none"), None).await,
        [fast.clone(), mid.clone()]
    );
    assert_eq!(
        listed(&reg, Some("model.layers.2.rate != none"), None).await,
        std::slice::from_ref(&slow)
    );
    assert_eq!(
        listed(&reg, None, Some("model.layers.0.units")).await,
        [slow.clone(), mid.clone(), fast.clone()]
    );
    assert_eq!(
        listed(&reg, None, Some("optimizer.learning_rate:desc")).await,
        [fast.clone(), mid.clone(), slow.clone()]
    );
    assert_eq!(
        listed(&reg, None, Some("optimizer.type")).await[2],
        slow,
        "text sorts as text: adam, adam, sgd"
    );

    let listing = reg.list_runs(&RunFilter::default()).await.unwrap();
    let params = &listing.iter().find(|r| r.id == mid).unwrap().params;
    assert_eq!(
        params["model.layers.0.units"],
        pipeline_spec::FlatValue::Integer(10)
    );
    assert_eq!(
        params["optimizer.learning_rate"],
        pipeline_spec::FlatValue::Float(0.01)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn unknown_or_mistyped_keys_are_refused_with_a_hint() {
    let (_dir, reg) = open_temp().await;
    // With no run, no key is known and nothing matches: no error.
    assert!(
        listed(&reg, Some("optimizer.learning_rat > 1"), None)
            .await
            .is_empty()
    );
    run_with(&reg, 0.01, 8, "adam").await;
    let RegistryError::SpecKey { key, hint, .. } =
        refusal(&reg, "optimizer.learning_rat > 0.005").await
    else {
        panic!("not a spec key error")
    };
    assert_eq!(key, "optimizer.learning_rat");
    assert_eq!(
        hint.as_deref(),
        Some("did you mean `optimizer.learning_rate`?")
    );
    let error = refusal(&reg, "optimizer.type > 3").await;
    assert!(error.to_string().contains("holds text"), "{error}");
    let error = refusal(&reg, "optimizer.learning_rate = fast").await;
    assert!(error.to_string().contains("holds numbers"), "{error}");
    assert!(error.is_user_error());
    let sorted = reg
        .list_runs(&RunFilter {
            sort: Some("model.layer.0.units".parse().unwrap()),
            ..RunFilter::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&sorted, RegistryError::SpecKey { hint: Some(h), .. } if h.contains("model.layers.0.units")),
        "{sorted:?}"
    );
}

/// A run recorded before migration 0008 gets its keys once, at the next
/// open that can write.
#[tokio::test(flavor = "current_thread")]
async fn runs_recorded_before_the_table_are_filled_once() {
    let (dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let earlier = dir.path().join("migrations-before-0008");
    std::fs::create_dir_all(&earlier).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&all).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.as_str() < "0008" {
            std::fs::copy(entry.path(), earlier.join(&name)).unwrap();
        }
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::migrate::Migrator::new(earlier.as_path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    let id = "0190aaaa-0000-7000-8000-000000000001";
    sqlx::query(
        "INSERT INTO runs (id, experiment, status, spec_toml, spec_hash, source_spec, spec_path, \
         data_path, data_sha256, seed, device, program_version, started_at, ended_at, best_epoch, \
         epochs_run, selection_metric, selection_higher_is_better, selection_value) \
         VALUES ($1, 'old', 'completed', $2, 'h', 's', 'p', 'd', 'sha', 7, 'cpu', '0.1.0', \
         '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z', 2, 2, 'val_loss', 0, 0.5)",
    )
    .bind(id)
    .bind(spec(0.02, 16, "adam"))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let reg = Registry::open(&path).await.unwrap();
    let old = RunId::from_db(id.to_owned());
    assert_eq!(
        listed(&reg, Some("optimizer.learning_rate > 0.01"), None).await,
        std::slice::from_ref(&old)
    );
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM run_params_pending")
        .fetch_one(&reg.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0, "filled once, never again");
    let new = run_with(&reg, 0.05, 16, "adam").await;
    reg.close().await;
    // Opening again leaves the rows as they are (no duplicate, no loss).
    let reg = Registry::open(&path).await.unwrap();
    assert_eq!(
        listed(
            &reg,
            Some("model.layers.0.units = 16"),
            Some("optimizer.learning_rate")
        )
        .await,
        [old, new]
    );
}
