//! A registry written by the first schema is migrated without losing a row.

use sqlx::{Connection, SqliteConnection};

use super::temp_db;
use crate::{Registry, RunId, RunStatus};

#[tokio::test(flavor = "current_thread")]
async fn first_schema_is_migrated_with_its_runs() {
    let (dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Apply only the first migration, as a build of that time did.
    let first = dir.path().join("migrations-v1");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::write(
        first.join("0001_init.sql"),
        include_str!("../../migrations/sqlite/0001_init.sql"),
    )
    .unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::migrate::Migrator::new(first.as_path())
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
         VALUES ($1, 'old', 'completed', 's', 'h', 's', 'p', 'd', 'sha', 7, 'cpu', '0.1.0', \
         '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z', 2, 2, 'val_loss', 0, 0.5)",
    )
    .bind(id)
    .execute(&mut conn)
    .await
    .unwrap();
    for (epoch, split, value) in [(1, "train", 1.0), (1, "validation", 1.5), (2, "train", 0.5)] {
        sqlx::query(
            "INSERT INTO epoch_metrics (run_id, epoch, split, metric, value) \
             VALUES ($1, $2, $3, 'loss', $4)",
        )
        .bind(id)
        .bind(epoch)
        .bind(split)
        .bind(value)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO final_metrics VALUES ($1, 'test', 'r2', 0.4)")
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO artifacts VALUES ($1, 'weights', 'artifacts/x/model.safetensors', 'ab', 3)",
    )
    .bind(id)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let reg = Registry::open(&path).await.unwrap();
    let record = reg.run(&RunId::from_db(id.to_owned())).await.unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.epochs.len(), 3);
    assert_eq!(record.final_metrics.len(), 1);
    assert_eq!(record.artifacts.len(), 1);
    // 0003 widened the artifact kinds to checkpoints, and only to them.
    sqlx::query(
        "INSERT INTO artifacts (run_id, kind, path, sha256, bytes) \
         VALUES ($1, 'checkpoint_last', 'artifacts/x/last', 'cd', 4)",
    )
    .bind(id)
    .execute(&reg.pool)
    .await
    .unwrap();
    assert!(
        sqlx::query(
            "INSERT INTO artifacts (run_id, kind, path, sha256, bytes) \
             VALUES ($1, 'tarball', 'artifacts/x/t', 'ef', 5)"
        )
        .bind(id)
        .execute(&reg.pool)
        .await
        .is_err()
    );
    assert_eq!(record.git_commit, None);
    assert_eq!(record.deterministic, None);
    // 0004 added the columns' hash, which runs recorded before lack.
    assert_eq!(record.columns_hash, None);
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&reg.pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let violations = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&reg.pool)
        .await
        .unwrap();
    assert!(violations.is_empty());
    // The children point at the rebuilt table: deleting the run cascades.
    sqlx::query("DELETE FROM runs WHERE id = $1")
        .bind(id)
        .execute(&reg.pool)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM epoch_metrics")
        .fetch_one(&reg.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // The gap view reads the rebuilt tables.
    let _: Vec<(String, i64, f64)> = sqlx::query_as("SELECT run_id, epoch, gap FROM epoch_gaps")
        .fetch_all(&reg.pool)
        .await
        .unwrap();
}
