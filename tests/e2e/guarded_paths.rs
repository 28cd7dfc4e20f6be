//! Issue 18, "Never lose a user's data": no command writes over the
//! registry (its database, its journal, its artifacts) through a path the
//! user named, `export --force` replaces only an earlier export, and
//! reading commands neither create a registry nor need to write one.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{Backend, FIRST_ROW, Workspace, sqlite_only, stderr};

fn trained(ws: &Workspace) -> String {
    ws.train(&["train.epochs=2"])["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Asserts a refusal: exit 2 with `expected` in the message and a hint.
fn refused(out: &Output, expected: &str) {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    assert!(text.contains("\nhint: "), "{text}");
}

/// Every file under `folder` with its bytes, sorted.
fn contents(folder: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn export_force_refuses_the_registry_and_folders_that_are_not_an_export() {
    let ws = Workspace::new();
    let id = trained(&ws);
    let export = |out: &Path| ws.run(&["export", &id, "--out", out.to_str().unwrap(), "--force"]);
    // A PostgreSQL registry has no folder to guard: its part is SQLite's.
    if ws.backend() == Backend::Sqlite {
        registry_folder_is_refused(&ws, &export);
    }

    // Any other folder with files in it is not an earlier export.
    let mine = ws.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("thesis.tex"), "years of work").unwrap();
    refused(
        &export(&mine),
        "it is not an earlier export (it holds thesis.tex",
    );
    assert!(mine.join("thesis.tex").is_file());
    // Even holding only an export's file names, without pipeline's receipt.
    std::fs::remove_file(mine.join("thesis.tex")).unwrap();
    std::fs::write(mine.join("receipt.json"), "{}").unwrap();
    refused(&export(&mine), "no receipt.json written by pipeline");
    assert!(mine.join("receipt.json").is_file());

    // An earlier export is replaced.
    let out = ws.path().join("export");
    ws.ok(&["export", &id, "--out", out.to_str().unwrap()]);
    ws.ok(&["export", &id, "--out", out.to_str().unwrap(), "--force"]);
    assert!(out.join("model.safetensors").is_file());
    ws.ok(&["runs"]);
}

/// `export --force` into the registry folder, its artifacts, beside them
/// or above them is refused, and the registry is untouched.
fn registry_folder_is_refused(ws: &Workspace, export: &dyn Fn(&Path) -> Output) {
    let folder = ws.path().join("registry");
    let before = contents(&folder);
    refused(&export(&folder), "it is the registry folder");
    refused(
        &export(&folder.join("artifacts")),
        "in the registry's artifacts folder",
    );
    refused(
        &export(&folder.join("artifacts/../artifacts/")),
        "in the registry's artifacts folder",
    );
    refused(
        &export(&folder.join("exports/new")),
        "inside the registry folder",
    );
    refused(&export(ws.path()), "it holds the registry folder");
    std::os::unix::fs::symlink(&folder, ws.path().join("linked")).unwrap();
    refused(
        &export(&ws.path().join("linked")),
        "it is the registry folder",
    );
    assert_eq!(contents(&folder), before, "the registry is untouched");
}

#[test]
fn output_files_refuse_the_registry_database_and_the_artifacts() {
    sqlite_only!("registry files on disk");
    let ws = Workspace::new();
    let id = trained(&ws);
    let folder = ws.path().join("registry");
    let weights = std::fs::read_dir(folder.join("artifacts").join(&id))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .unwrap();
    std::os::unix::fs::symlink(ws.registry(), ws.path().join("link.csv")).unwrap();
    // Reading commands may checkpoint the database; the artifacts never change.
    let before = contents(&folder.join("artifacts"));

    let infer = |output: &str| {
        ws.run(&[
            "infer", "--run", &id, "--row", FIRST_ROW, "--output", output, "--format", "csv",
        ])
    };
    for output in [
        "registry/registry.db",
        "registry/artifacts/../registry.db",
        "link.csv",
    ] {
        refused(&infer(output), "it is the registry database ");
    }
    refused(
        &infer("registry/registry.db-wal"),
        "it is the registry database's write-ahead log",
    );
    refused(
        &infer("registry/registry.db-shm"),
        "it is the registry database's shared memory",
    );
    for output in [
        weights.to_str().unwrap(),
        &format!("registry/artifacts/{id}/new.csv"),
        "registry/artifacts/new.csv",
    ] {
        refused(&infer(output), "in the registry's artifacts folder");
    }
    refused(
        &ws.run(&["compare", &id, &id, "--report", "registry/registry.db"]),
        "it is the registry database",
    );
    refused(
        &ws.run(&[
            "compare",
            &id,
            &id,
            "--plot",
            "registry/artifacts/curves.svg",
        ]),
        "in the registry's artifacts folder",
    );
    assert_eq!(
        contents(&folder.join("artifacts")),
        before,
        "the artifacts are untouched"
    );
    assert_eq!(ws.query::<String>("SELECT id FROM runs"), vec![id.clone()]);

    // A file beside the database is the user's to write.
    ws.ok(&[
        "infer",
        "--run",
        &id,
        "--row",
        FIRST_ROW,
        "--output",
        "registry/predictions.csv",
    ]);
}

/// `pipeline ARGS` as the unprivileged user `nobody` (65534), for whom file
/// permissions hold (tests run as root, whom they do not stop); `None`
/// when `setpriv` is missing or cannot change the user.
fn as_nobody(ws: &Workspace, binary: &Path, args: &[&str]) -> Option<Output> {
    let setpriv = |program: &Path, args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(program)
            .args(args)
            .current_dir(ws.path())
            .env("PIPELINE_REGISTRY", ws.registry_url())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .output()
            .ok()
    };
    setpriv(Path::new("true"), &[]).filter(|o| o.status.success())?;
    setpriv(binary, args)
}

#[test]
fn reading_commands_read_a_registry_they_cannot_write() {
    use std::os::unix::fs::PermissionsExt as _;
    sqlite_only!("registry file permissions");
    let ws = Workspace::new();
    let id = trained(&ws);
    // Where `nobody` can run it: the build folder may be private.
    let binary = ws.path().join("pipeline");
    std::fs::copy(env!("CARGO_BIN_EXE_pipeline"), &binary).unwrap();
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(ws.path(), 0o755);
    mode(&binary, 0o755);
    let mut pending = vec![ws.path().join("registry")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                mode(&path, 0o444);
            }
        }
        mode(&dir, 0o555);
    }
    let before = contents(&ws.path().join("registry"));

    let Some(probe) = as_nobody(&ws, &binary, &["runs"]) else {
        eprintln!("skipped: setpriv cannot run commands as nobody here");
        return;
    };
    for (args, out) in [
        (vec!["runs"], probe),
        (
            vec!["show", &id],
            as_nobody(&ws, &binary, &["show", &id]).unwrap(),
        ),
        (
            vec!["infer", "--run", &id, "--row", FIRST_ROW],
            as_nobody(&ws, &binary, &["infer", "--run", &id, "--row", FIRST_ROW]).unwrap(),
        ),
    ] {
        assert!(
            out.status.success(),
            "pipeline {args:?} failed with {:?}\n{}",
            out.status.code(),
            stderr(&out)
        );
        assert!(!out.stdout.is_empty(), "pipeline {args:?} printed nothing");
    }
    assert_eq!(contents(&ws.path().join("registry")), before);
}

#[test]
fn reading_commands_never_make_a_registry_of_an_empty_file() {
    sqlite_only!("empty database file");
    let ws = Workspace::new();
    std::fs::create_dir(ws.path().join("folder")).unwrap();
    let empty = ws.write("folder/empty.db", "");
    for args in [
        vec!["runs"],
        vec!["show", "latest"],
        vec!["export", "latest", "--out", "x"],
    ] {
        let out = ws
            .cmd()
            .arg("--registry")
            .arg(&empty)
            .args(&args)
            .output()
            .unwrap();
        refused(
            &out,
            "empty.db is not a pipeline registry: the file is empty",
        );
    }
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    let names: Vec<_> = std::fs::read_dir(ws.path().join("folder"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["empty.db"], "no lock, journal or artifacts folder");
    assert!(!ws.path().join("x").exists());
}

#[test]
fn a_registry_that_is_a_link_loop_is_named_as_one() {
    sqlite_only!("registry path symlinks");
    let ws = Workspace::new();
    std::os::unix::fs::symlink("loop", ws.path().join("loop")).unwrap();
    let out = ws.run(&["--registry", "loop", "runs"]);
    refused(&out, "loop: it is a loop of symbolic links");
}

#[test]
fn another_applications_sqlx_database_is_not_a_registry() {
    sqlite_only!("foreign SQLite file");
    let ws = Workspace::new();
    let path = ws.path().join("other.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for sql in [
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (1, 'create users', 1, x'0102', 5)",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
    let before = std::fs::read(&path).unwrap();
    for args in [vec!["runs"], vec!["tag", "latest", "x"]] {
        let out = ws
            .cmd()
            .arg("--registry")
            .arg(&path)
            .args(&args)
            .output()
            .unwrap();
        refused(&out, "other.db is not a pipeline registry");
        assert!(
            stderr(&out).contains("another application"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
