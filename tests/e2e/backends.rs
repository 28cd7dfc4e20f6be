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

/// `pipeline` with `args`, in `dir`, on the registry `registry`.
fn pipeline_in(dir: &std::path::Path, registry: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(dir)
        .env("PIPELINE_REGISTRY", registry)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Local runs pushed into the team registry once, whatever the number of
/// pushes; then a machine with nothing but the URL (an empty folder)
/// predicts with the team's best run exactly as the local registry does.
#[test]
fn pushed_runs_predict_from_a_folder_holding_nothing() {
    if backend() != Backend::Postgres {
        eprintln!("skipped: PIPELINE_TEST_BACKEND is not postgres");
        return;
    }
    let team = crate::common::Workspace::new();
    let url = team.registry_url();
    let local_dir = tempfile::tempdir().unwrap();
    let local = local_dir.path().join("registry/registry.db");
    let local = local.to_str().unwrap();
    let spec = crate::common::mlp_spec();
    let trained: serde_json::Value = serde_json::from_str(&ok(pipeline_in(
        local_dir.path(),
        local,
        &[
            "run",
            spec.to_str().unwrap(),
            "--set",
            "train.epochs=3",
            "--json",
        ],
    )))
    .unwrap();
    let id = trained["id"].as_str().unwrap();

    let push = |expected_copied: usize, expected_there: usize| {
        let out = pipeline_in(
            local_dir.path(),
            local,
            &["registry", "push", "--to", &url, "--json"],
        );
        let pushed: serde_json::Value = serde_json::from_str(&ok(out)).unwrap();
        assert_eq!(
            pushed["copied"].as_array().unwrap().len(),
            expected_copied,
            "{pushed}"
        );
        assert_eq!(pushed["already_there"], expected_there, "{pushed}");
        assert_eq!(
            pushed["artifacts"].as_u64().unwrap() > 0,
            expected_copied > 0
        );
    };
    push(1, 0);
    push(0, 1);

    let csv = crate::common::diabetes_csv();
    let infer = ["infer", "--run", "best", "--input", csv.to_str().unwrap()];
    let here = ok(pipeline_in(local_dir.path(), local, &infer));
    let nowhere = tempfile::tempdir().unwrap();
    let there = ok(pipeline_in(nowhere.path(), &url, &infer));
    assert_eq!(here, there);
    assert_eq!(std::fs::read_dir(nowhere.path()).unwrap().count(), 0);
    // The copy is the same run, with the same test metrics.
    let show = |dir: &std::path::Path, registry: &str| -> serde_json::Value {
        serde_json::from_str(&ok(pipeline_in(dir, registry, &["show", id, "--json"]))).unwrap()
    };
    let (a, b) = (show(local_dir.path(), local), show(nowhere.path(), &url));
    assert_eq!(a["final_metrics"], b["final_metrics"]);
    assert_eq!(a["artifacts"], b["artifacts"]);
}

/// The password of a registry URL never reaches the output, even in an
/// error about that registry.
#[test]
fn a_registry_password_is_never_printed() {
    let out = pipeline_in(
        std::path::Path::new("."),
        "postgres://alice:hunter2-secret@127.0.0.1:1/nothing",
        &["runs"],
    );
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hunter2-secret"), "{all}");
    assert!(
        all.contains("postgres://alice:***@127.0.0.1:1/nothing"),
        "{all}"
    );
}

/// `sslmode=require` and `sslmode=verify-full` (issue 23) against the test
/// cluster, which `.ci/postgres` starts with TLS and a CA of its own
/// (`PIPELINE_TEST_PG_CA`): the right CA is accepted, another refused.
#[test]
fn tls_is_required_and_the_servers_certificate_verified() {
    let Ok(ca) = std::env::var("PIPELINE_TEST_PG_CA") else {
        eprintln!(
            "skipped: PIPELINE_TEST_PG_CA is not set (.ci/postgres sets it where openssl is)"
        );
        return;
    };
    if backend() != Backend::Postgres {
        eprintln!("skipped: PIPELINE_TEST_BACKEND is not postgres");
        return;
    }
    let ws = crate::common::Workspace::new();
    let url = ws.registry_url();
    let nowhere = tempfile::tempdir().unwrap();
    let required = format!("{url}?sslmode=require");
    ok(pipeline_in(nowhere.path(), &required, &["runs"]));
    // verify-full checks the name too: the certificate is for localhost.
    let named = url.replacen("127.0.0.1", "localhost", 1);
    let verified = format!("{named}?sslmode=verify-full&sslrootcert={ca}");
    let spec = crate::common::mlp_spec();
    ok(pipeline_in(
        nowhere.path(),
        &verified,
        &["run", spec.to_str().unwrap(), "--set", "train.epochs=1"],
    ));
    let others = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(others).exists() {
        let wrong = format!("{named}?sslmode=verify-full&sslrootcert={others}");
        let out = pipeline_in(nowhere.path(), &wrong, &["runs"]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("certificate"), "{stderr}");
    }
}
