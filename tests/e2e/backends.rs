//! The tests' registry backends (issue 23): with
//! `PIPELINE_TEST_BACKEND=postgres` each workspace gets a database of its
//! own in the cluster `PIPELINE_TEST_PG` names, dropped with it.

use crate::common::{Backend, TestDatabase, backend, pg_query, with_database};

/// Whether the cluster holds a database named `name`.
fn exists(cluster: &str, name: &str) -> bool {
    pg_query::<i64>(
        cluster,
        &format!("SELECT COUNT(*) FROM pg_database WHERE datname = '{name}'"),
    )
    .unwrap()
        == [1]
}

#[test]
fn backend_database_is_created_and_dropped() {
    if backend() != Backend::Postgres {
        eprintln!("skipped: PIPELINE_TEST_BACKEND is not postgres");
        return;
    }
    let database = TestDatabase::create();
    let (name, cluster) = (database.name.clone(), database.cluster.clone());
    let hex = name.strip_prefix("pipeline_e2e_").unwrap();
    assert_eq!(hex.len(), 16, "{name}");
    assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    assert!(exists(&cluster, &name));
    // Its URL reaches it, and nothing is in it yet.
    let current = pg_query::<String>(&database.url, "SELECT current_database()::text").unwrap();
    assert_eq!(current, [name.as_str()]);
    assert_eq!(
        pg_query::<i64>(
            &database.url,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        .unwrap(),
        [0]
    );
    // Another is another database.
    let other = TestDatabase::create();
    assert_ne!(other.name, name);
    // Dropped even while a connection is open (a killed command's).
    let open = std::thread::spawn({
        let url = database.url.clone();
        move || pg_query::<f64>(&url, "SELECT 1::float8 FROM pg_sleep(30)")
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(database);
    assert!(!exists(&cluster, &name), "{name} is dropped");
    assert!(open.join().unwrap().is_err(), "its connection was ended");
    drop(other);
}

#[test]
fn registry_urls_name_the_workspace_database() {
    assert_eq!(
        with_database(
            "postgres://postgres@127.0.0.1:55450/postgres",
            "pipeline_e2e_0a"
        ),
        "postgres://postgres@127.0.0.1:55450/pipeline_e2e_0a"
    );
    assert_eq!(
        with_database("postgresql://u:secret@db:5432", "x"),
        "postgresql://u:secret@db:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
}
