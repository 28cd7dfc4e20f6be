//! The registry on a real PostgreSQL server: the cluster named by
//! `PIPELINE_TEST_PG` (`.ci/run` and `just test` start a private one); each
//! test makes its own database in it. Without the variable these tests
//! print why and pass: `cargo test` alone needs no server, CI always has one.

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

use super::{completed_run_with, open_temp};
use crate::{ArtifactKind, Epochs, Location, PgUrl, Registry, RegistryError, RunStatus};

/// A fresh database in the test cluster, dropped when this is dropped.
struct TestDatabase {
    admin: String,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn new() -> Option<TestDatabase> {
        let Ok(admin) = std::env::var("PIPELINE_TEST_PG") else {
            eprintln!("PIPELINE_TEST_PG is not set: skipped (CI sets it)");
            return None;
        };
        let name = format!("pipeline_unit_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("PIPELINE_TEST_PG has no database part: {admin}"),
        };
        Some(TestDatabase { admin, name, url })
    }

    fn location(&self) -> Location {
        Location::Postgres(PgUrl::new(self.url.clone()))
    }

    async fn migrated(&self) -> Registry {
        let location = self.location();
        let migrated = Registry::migrate_at(&location).await.unwrap();
        assert_eq!(migrated.from, None);
        Registry::open_at(&location).await.unwrap()
    }

    async fn execute(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // A runtime of its own: Drop may run inside or outside one.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_round_trips_with_artifacts_in_chunks() {
    let Some(db) = TestDatabase::new().await else {
        return;
    };
    let reg = db.migrated().await;
    // 2.5 chunks, with a pattern so that a chunk out of order shows.
    let weights: Vec<u8> = (0..(crate::blobs::CHUNK_BYTES * 5 / 2))
        .map(|i| (i % 251) as u8)
        .collect();
    let id = completed_run_with(&reg, &weights).await;
    let record = reg.run_with(&id, Epochs::All).await.unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    let artifact = record.artifact(ArtifactKind::Weights).unwrap();
    assert_eq!(reg.read_verified(artifact).await.unwrap(), weights);
    let chunks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM artifact_chunks WHERE path = $1")
        .bind(&artifact.path)
        .fetch_one(&reg.pool)
        .await
        .unwrap();
    assert_eq!(chunks, 3);

    // A changed byte in the middle chunk is caught by the checksum.
    db.execute(
        "UPDATE artifact_chunks SET data = set_byte(data, 10, 0) \
         WHERE seq = 1 AND path LIKE '%model.safetensors'",
    )
    .await;
    let error = reg.read_verified(artifact).await.unwrap_err();
    assert!(
        matches!(error, RegistryError::ArtifactCorrupt { .. }),
        "{error}"
    );
    // A missing chunk is a size mismatch.
    db.execute("DELETE FROM artifact_chunks WHERE seq = 2")
        .await;
    let error = reg.verify_artifact(artifact).await.unwrap_err();
    assert!(error.to_string().contains("bytes"), "{error}");
    // Deleting the run deletes its stored artifacts.
    reg.remove_runs(std::slice::from_ref(&id), false)
        .await
        .unwrap();
    let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM artifact_blobs")
        .fetch_one(&reg.pool)
        .await
        .unwrap();
    assert_eq!(blobs, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn only_migrate_creates_or_upgrades_a_shared_database() {
    let Some(db) = TestDatabase::new().await else {
        return;
    };
    let location = db.location();
    // An empty database is not a registry yet, and opening does not make it one.
    let error = Registry::open_at(&location).await.unwrap_err();
    assert!(
        error.to_string().contains("pipeline registry migrate"),
        "{error}"
    );
    let reg = db.migrated().await;
    drop(reg);
    // Twice is fine.
    let again = Registry::migrate_at(&location).await.unwrap();
    assert_eq!(again.from, Some(again.to));
    // A newer schema is refused, untouched.
    db.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', true, '\\x00', 0)",
    )
    .await;
    let error = Registry::open_at(&location).await.unwrap_err();
    assert!(
        matches!(error, RegistryError::NewerSchema { .. }),
        "{error}"
    );
    db.execute("DELETE FROM _sqlx_migrations WHERE version = 9999")
        .await;
    // An older one is refused with the command that upgrades it.
    db.execute(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .await;
    let error = Registry::open_at(&location).await.unwrap_err();
    assert!(matches!(error, RegistryError::Outdated { .. }), "{error}");
    assert!(
        error.to_string().contains("pipeline registry migrate"),
        "{error}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn someone_elses_database_is_refused() {
    let Some(db) = TestDatabase::new().await else {
        return;
    };
    db.execute("CREATE TABLE invoices (id BIGINT)").await;
    let error = Registry::migrate_at(&db.location()).await.unwrap_err();
    assert!(
        matches!(error, RegistryError::NotARegistry { .. }),
        "{error}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn push_copies_runs_once_with_verified_artifacts() {
    let Some(db) = TestDatabase::new().await else {
        return;
    };
    let (_dir, local) = open_temp().await;
    let first = completed_run_with(&local, b"first-weights").await;
    local
        .add_tags(&first, &["baseline".to_owned()])
        .await
        .unwrap();
    let team = db.migrated().await;

    let pushed = local.push_to(&team).await.unwrap();
    assert_eq!(pushed.copied, vec![first.clone()]);
    assert_eq!(pushed.artifacts, 2);
    let copy = team.run_with(&first, Epochs::All).await.unwrap();
    let original = local.run_with(&first, Epochs::All).await.unwrap();
    assert_eq!(copy.status, RunStatus::Completed);
    assert_eq!(copy.epochs, original.epochs);
    assert_eq!(copy.final_metrics, original.final_metrics);
    assert_eq!(copy.tags, original.tags);
    assert_eq!(copy.artifacts, original.artifacts);
    let weights = copy.artifact(ArtifactKind::Weights).unwrap();
    assert_eq!(team.read_verified(weights).await.unwrap(), b"first-weights");

    // Twice copies nothing twice; a new run is copied alone.
    let second = completed_run_with(&local, b"second").await;
    let pushed = local.push_to(&team).await.unwrap();
    assert_eq!(pushed.copied, vec![second]);
    assert_eq!(pushed.already_there, 1);
}

#[test]
fn a_url_never_shows_its_password() {
    let location = Location::parse(std::ffi::OsStr::new(
        "postgres://alice:hunter2@db.example:5432/reg",
    ));
    assert!(!location.to_string().contains("hunter2"));
    assert!(!format!("{location:?}").contains("hunter2"));
}

#[tokio::test(flavor = "current_thread")]
async fn eight_workers_claim_every_item_once() {
    let Some(db) = TestDatabase::new().await else {
        return;
    };
    let reg = db.migrated().await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(
            reg.submit_run(&super::new_run("exp", false), 3)
                .await
                .unwrap(),
        );
    }
    let mut workers = Vec::new();
    for n in 0..8 {
        let reg = reg.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let lease = std::time::Duration::from_secs(600);
            while let Some(claimed) = reg.claim_work(&format!("w{n}"), lease, None).await.unwrap() {
                mine.push(claimed.kind);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    assert_eq!(claimed.len(), 40);
    let unique: std::collections::HashSet<_> =
        claimed.iter().map(|kind| format!("{kind:?}")).collect();
    assert_eq!(unique.len(), 40, "every item claimed once");
    assert_eq!(reg.queue_counts(None).await.unwrap().leased, 40);
}
