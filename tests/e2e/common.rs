//! Helpers: a temp workspace with its own registry, running the binary,
//! reading the registry database directly.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn mlp_spec() -> PathBuf {
    repo_root().join("experiments/mlp.toml")
}

pub fn diabetes_csv() -> PathBuf {
    repo_root().join("experiments/data/diabetes.csv")
}

/// A temporary folder holding a registry (`registry/registry.db`).
pub struct Workspace {
    pub dir: TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn registry(&self) -> PathBuf {
        self.path().join("registry/registry.db")
    }

    /// `pipeline ARGS` with this workspace's registry, from the workspace folder.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipeline"));
        cmd.current_dir(self.path())
            .env("PIPELINE_REGISTRY", self.registry())
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env_remove("RUST_LOG");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "pipeline {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Trains the first experiment with overrides; returns the run's JSON summary.
    pub fn train(&self, overrides: &[&str]) -> serde_json::Value {
        let spec = mlp_spec();
        let mut args = vec!["run", spec.to_str().unwrap(), "--json"];
        for o in overrides {
            args.push("--set");
            args.push(o);
        }
        serde_json::from_str(&self.ok(&args)).unwrap()
    }

    /// The short id tables print for run `id` (issue 21).
    pub fn short_id(&self, id: &str) -> String {
        let shown: serde_json::Value =
            serde_json::from_str(&self.ok(&["show", id, "--json"])).unwrap();
        shown["short_id"].as_str().unwrap().to_owned()
    }

    /// Writes a file in the workspace; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs one SQL query returning rows of one column.
    pub fn query<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + Unpin,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let url = format!("sqlite://{}?mode=ro", self.registry().display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let rows: Vec<T> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&pool)
                .await
                .unwrap();
            pool.close().await;
            rows
        })
    }
}

impl Workspace {
    /// Runs one SQL statement that changes the registry (to stage what an
    /// older build wrote).
    pub fn execute(&self, sql: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let url = format!("sqlite://{}", self.registry().display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
    }
}

/// stderr of an output, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Replaces temporary paths so that snapshots are stable.
pub fn scrub(text: &str, workspace: &Workspace) -> String {
    text.replace(&workspace.path().display().to_string(), "[TMP]")
        .replace(&repo_root().display().to_string(), "[REPO]")
}

/// The first row of the diabetes data as `infer --row` takes it.
pub const FIRST_ROW: &str =
    "age=59,sex=2,bmi=32.1,bp=101,s1=157,s2=93.2,s3=38,s4=4,s5=4.8598,s6=87";
