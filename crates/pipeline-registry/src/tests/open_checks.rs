//! Opening: creation, idempotence, refusing foreign or newer databases, and
//! marking runs of vanished processes as crashed.

use sqlx::{Connection, SqliteConnection};

use super::{new_run, temp_db};
use crate::{Access, Registry, RegistryError, RunStatus};

async fn raw_connection(path: &std::path::Path) -> SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    SqliteConnection::connect_with(&options).await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn open_creates_database_in_wal_mode() {
    let (_dir, path) = temp_db();
    let reg = Registry::open(&path).await.unwrap();
    assert!(path.is_file());
    assert_eq!(reg.db_path(), path.as_path());
    assert_eq!(reg.root(), path.parent().unwrap());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&reg.pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&reg.pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&reg.pool)
        .await
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[tokio::test(flavor = "current_thread")]
async fn reopen_is_idempotent() {
    let (_dir, path) = temp_db();
    let reg = Registry::open(&path).await.unwrap();
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.close().await;
    let reg = Registry::open(&path).await.unwrap();
    let again = Registry::open(&path).await.unwrap();
    assert_eq!(reg.run(&id).await.unwrap().status, RunStatus::Running);
    let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&again.pool)
        .await
        .unwrap();
    // Every migration applied once, whatever their numbers.
    assert_eq!(versions, crate::open::MIGRATOR.iter().count() as i64);
}

#[tokio::test(flavor = "current_thread")]
async fn text_file_is_not_a_registry_and_is_left_alone() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = b"this is my shopping list, not a database\n".repeat(40);
    std::fs::write(&path, &text).unwrap();
    let err = Registry::open(&path).await.unwrap_err();
    assert!(matches!(err, RegistryError::NotARegistry { .. }), "{err:?}");
    assert!(err.is_user_error());
    assert!(err.to_string().contains("registry.db"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), text);
}

#[tokio::test(flavor = "current_thread")]
async fn short_garbage_file_is_not_a_registry() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"hi").unwrap();
    let err = Registry::open(&path).await.unwrap_err();
    assert!(matches!(err, RegistryError::NotARegistry { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"hi");
}

#[tokio::test(flavor = "current_thread")]
async fn foreign_database_is_refused_untouched() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut conn = raw_connection(&path).await;
    sqlx::query("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let before = std::fs::read(&path).unwrap();

    let err = Registry::open(&path).await.unwrap_err();
    match &err {
        RegistryError::NotARegistry { reason, .. } => assert!(reason.contains("customers")),
        other => panic!("expected NotARegistry, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test(flavor = "current_thread")]
async fn another_applications_sqlx_database_is_refused_untouched() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut conn = raw_connection(&path).await;
    for sql in [
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
         checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (1, 'create users', 1, x'0102', 5)",
        "CREATE TABLE users (id INTEGER PRIMARY KEY)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let before = std::fs::read(&path).unwrap();

    for err in [
        Registry::open(&path).await.unwrap_err(),
        Registry::open_existing(&path, Access::Read)
            .await
            .unwrap_err(),
    ] {
        match &err {
            RegistryError::NotARegistry { reason, .. } => {
                assert!(reason.contains("another application's"), "{reason}");
                assert!(reason.contains("create users"), "{reason}");
            }
            other => panic!("expected NotARegistry, got {other:?}"),
        }
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test(flavor = "current_thread")]
async fn open_existing_refuses_an_empty_file_and_creates_nothing() {
    let (_dir, path) = temp_db();
    let folder = path.parent().unwrap();
    std::fs::create_dir_all(folder).unwrap();
    std::fs::write(&path, b"").unwrap();
    for access in [Access::Read, Access::Write] {
        let err = Registry::open_existing(&path, access).await.unwrap_err();
        assert!(err.is_user_error(), "{err}");
        assert!(err.to_string().contains("the file is empty"), "{err}");
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    assert_eq!(
        std::fs::read_dir(folder).unwrap().count(),
        1,
        "no lock file, no journal"
    );
    // An existing registry opens for reading and writing alike.
    Registry::open(&path.with_file_name("other.db"))
        .await
        .unwrap()
        .close()
        .await;
    for access in [Access::Read, Access::Write] {
        Registry::open_existing(&path.with_file_name("other.db"), access)
            .await
            .unwrap()
            .close()
            .await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn newer_schema_is_refused_untouched() {
    let (_dir, path) = temp_db();
    Registry::open(&path).await.unwrap().close().await;
    let mut conn = raw_connection(&path).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let before = std::fs::read(&path).unwrap();

    let err = Registry::open(&path).await.unwrap_err();
    match &err {
        RegistryError::NewerSchema { version, .. } => assert_eq!(*version, 99990101000000),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert!(err.is_user_error());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test(flavor = "current_thread")]
async fn dead_process_runs_are_marked_crashed_at_open() {
    let (_dir, path) = temp_db();
    let reg = Registry::open(&path).await.unwrap();
    let dead = reg.create_run(&new_run("exp", false)).await.unwrap();
    let alive = reg.create_run(&new_run("exp", false)).await.unwrap();
    let elsewhere = reg.create_run(&new_run("exp", false)).await.unwrap();
    let reused = reg.create_run(&new_run("exp", false)).await.unwrap();
    // Our own, live pid, but recorded with another start time: the run's
    // process died and the pid now belongs to someone else.
    sqlx::query("UPDATE runs SET pid_started = pid_started + 1 WHERE id = $1")
        .bind(reused.as_str())
        .execute(&reg.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE runs SET pid = 999999999 WHERE id = $1")
        .bind(dead.as_str())
        .execute(&reg.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE runs SET pid = 999999999, host = 'some-other-host' WHERE id = $1")
        .bind(elsewhere.as_str())
        .execute(&reg.pool)
        .await
        .unwrap();
    reg.close().await;

    let reg = Registry::open(&path).await.unwrap();
    let crashed = reg.run(&dead).await.unwrap();
    assert_eq!(crashed.status, RunStatus::Crashed);
    let message = crashed.error.unwrap();
    assert!(message.contains("process 999999999"), "{message}");
    assert!(crashed.ended_at.is_some());
    assert_eq!(reg.run(&alive).await.unwrap().status, RunStatus::Running);
    assert_eq!(reg.run(&reused).await.unwrap().status, RunStatus::Crashed);
    // Another host with a fresh heartbeat: alive as far as we can tell.
    assert_eq!(
        reg.run(&elsewhere).await.unwrap().status,
        RunStatus::Running
    );
}

#[tokio::test(flavor = "current_thread")]
async fn other_hosts_runs_with_a_stale_heartbeat_are_marked_crashed() {
    let (_dir, path) = temp_db();
    let reg = Registry::open(&path).await.unwrap();
    let silent = reg.create_run(&new_run("exp", false)).await.unwrap();
    let queued = reg.queue_run(&new_run("exp", false)).await.unwrap();
    let fresh = reg.create_run(&new_run("exp", false)).await.unwrap();
    for (id, heartbeat) in [
        (&silent, "2020-01-01T00:00:00.000Z"),
        (&queued, "2020-01-01T00:00:00.000Z"),
        (&fresh, crate::util::now().as_str()),
    ] {
        sqlx::query("UPDATE runs SET host = 'some-other-host', heartbeat_at = $1 WHERE id = $2")
            .bind(heartbeat)
            .bind(id.as_str())
            .execute(&reg.pool)
            .await
            .unwrap();
    }
    reg.close().await;

    let reg = Registry::open(&path).await.unwrap();
    let crashed = reg.run(&silent).await.unwrap();
    assert_eq!(crashed.status, RunStatus::Crashed);
    let message = crashed.error.unwrap();
    assert!(
        message.contains("no heartbeat from some-other-host since 2020-01-01"),
        "{message}"
    );
    assert_eq!(
        crashed.ended_at.as_deref(),
        Some("2020-01-01T00:00:00.000Z")
    );
    assert_eq!(reg.run(&queued).await.unwrap().status, RunStatus::Crashed);
    assert_eq!(reg.run(&fresh).await.unwrap().status, RunStatus::Running);
}

#[tokio::test(flavor = "current_thread")]
async fn queued_runs_of_a_dead_process_are_marked_crashed() {
    let (_dir, path) = temp_db();
    let reg = Registry::open(&path).await.unwrap();
    let queued = reg.queue_run(&new_run("exp", false)).await.unwrap();
    sqlx::query("UPDATE runs SET pid = 999999999 WHERE id = $1")
        .bind(queued.as_str())
        .execute(&reg.pool)
        .await
        .unwrap();
    reg.close().await;
    let reg = Registry::open(&path).await.unwrap();
    assert_eq!(reg.run(&queued).await.unwrap().status, RunStatus::Crashed);
}
