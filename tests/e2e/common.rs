//! Helpers: a temp workspace with its own registry, running the binary,
//! reading the registry database directly.
//!
//! The registry is a SQLite file in the workspace by default, or, with
//! `PIPELINE_TEST_BACKEND=postgres` (issue 23), a fresh database of its own
//! in the cluster `PIPELINE_TEST_PG` names (`.ci/postgres start` prints
//! both), dropped with the workspace. Tests of what only a SQLite registry
//! has (its files on disk, their permissions, a corrupt database file) start
//! with `sqlite_only!("why")`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use sqlx::Connection as _;
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

/// Where the tests' registries live: `PIPELINE_TEST_BACKEND`, unset or
/// `sqlite` (a file in each workspace) or `postgres` (a database of each
/// workspace's own in the cluster `PIPELINE_TEST_PG` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("PIPELINE_TEST_BACKEND") {
        Err(std::env::VarError::NotPresent) => Backend::Sqlite,
        Ok(name) if name.is_empty() || name == "sqlite" => Backend::Sqlite,
        Ok(name) if name == "postgres" || name == "postgresql" => Backend::Postgres,
        other => panic!("PIPELINE_TEST_BACKEND={other:?}: expected `sqlite` or `postgres`"),
    }
}

/// Ends the test early on PostgreSQL, saying so on stderr: for tests of what
/// only a SQLite registry has (its files on disk, their permissions, a
/// corrupt or locked database file, `--registry PATH`).
/// `sqlite_only!("artifact files on disk");` as a test's first line.
macro_rules! sqlite_only {
    () => {
        if $crate::common::skipped_on_postgres("") {
            return;
        }
    };
    ($why:literal) => {
        if $crate::common::skipped_on_postgres($why) {
            return;
        }
    };
}
pub(crate) use sqlite_only;

/// True (after a line on stderr) when the registry backend is PostgreSQL.
pub fn skipped_on_postgres(why: &str) -> bool {
    if backend() != Backend::Postgres {
        return false;
    }
    if why.is_empty() {
        eprintln!("skipped on postgres");
    } else {
        eprintln!("skipped on postgres: {why}");
    }
    true
}

/// A temporary folder, the working directory of every command, and its
/// registry: `registry/registry.db` in it, or a [`TestDatabase`].
pub struct Workspace {
    pub dir: TempDir,
    database: Option<TestDatabase>,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let database = match backend() {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create()),
        };
        let workspace = Workspace { dir, database };
        if workspace.database.is_some() {
            workspace.migrate();
        }
        workspace
    }

    /// A PostgreSQL registry is created by `pipeline registry migrate` and
    /// by no other command (a SQLite one by the first command that writes).
    fn migrate(&self) {
        let out = self.run(&["registry", "migrate"]);
        assert!(
            out.status.success(),
            "`pipeline registry migrate` failed on {} with {:?}\nstdout:\n{}\nstderr:\n{}",
            self.registry_url(),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn backend(&self) -> Backend {
        match self.database {
            Some(_) => Backend::Postgres,
            None => Backend::Sqlite,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite registry's database file (it need not exist yet). Panics
    /// on PostgreSQL, where no file is the registry: use
    /// [`Workspace::registry_url`] or [`Workspace::nothing_recorded`], or
    /// mark the test `sqlite_only!()`.
    pub fn registry(&self) -> PathBuf {
        assert!(
            self.database.is_none(),
            "Workspace::registry() is a SQLite file; this workspace's registry is {}",
            self.registry_url()
        );
        self.sqlite_file()
    }

    fn sqlite_file(&self) -> PathBuf {
        self.path().join("registry/registry.db")
    }

    /// What `--registry` / `PIPELINE_REGISTRY` take for this registry: the
    /// SQLite file's path, or the PostgreSQL database's URL.
    pub fn registry_url(&self) -> String {
        match &self.database {
            Some(database) => database.url.clone(),
            None => self.sqlite_file().display().to_string(),
        }
    }

    /// Whether the registry exists: on SQLite once a command wrote it, on
    /// PostgreSQL always (the workspace migrates its database).
    pub fn has_registry(&self) -> bool {
        self.backend() == Backend::Postgres || self.sqlite_file().exists()
    }

    /// Nothing was written: on SQLite no registry file, on PostgreSQL no
    /// run and no sweep.
    pub fn nothing_recorded(&self) -> bool {
        match self.database {
            Some(_) => {
                self.query::<i64>(
                    "SELECT (SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM sweeps)",
                ) == [0]
            }
            None => !self.sqlite_file().exists(),
        }
    }

    /// Asserts the database is intact: SQLite's `PRAGMA integrity_check`;
    /// on PostgreSQL (no such check; its write-ahead log keeps it whole)
    /// that the runs table reads.
    pub fn assert_integrity(&self) {
        match self.database {
            Some(_) => {
                self.query::<i64>("SELECT COUNT(*) FROM runs");
            }
            None => assert_eq!(self.query::<String>("PRAGMA integrity_check"), ["ok"]),
        }
    }

    /// The bytes of run `id`'s artifact `name` (`model.safetensors`, ...):
    /// the file under `registry/artifacts/ID/`, or on PostgreSQL its chunks.
    pub fn artifact(&self, id: &str, name: &str) -> Vec<u8> {
        let path = format!("artifacts/{id}/{name}");
        match self.database {
            Some(_) => {
                let chunks: Vec<Vec<u8>> = self.query(&format!(
                    "SELECT data FROM artifact_chunks WHERE path = '{path}' ORDER BY seq"
                ));
                assert!(!chunks.is_empty(), "no artifact {path} in the database");
                chunks.concat()
            }
            None => std::fs::read(self.path().join("registry").join(&path))
                .unwrap_or_else(|e| panic!("{path}: {e}")),
        }
    }

    /// The names of run `id`'s stored artifacts, sorted: the files in its
    /// folder, or on PostgreSQL its blobs.
    pub fn artifact_names(&self, id: &str) -> Vec<String> {
        let prefix = format!("artifacts/{id}/");
        let mut names: Vec<String> = match self.database {
            Some(_) => self
                .query::<String>(&format!(
                    "SELECT path FROM artifact_blobs WHERE run_id = '{id}'"
                ))
                .into_iter()
                .map(|path| path.strip_prefix(&prefix).unwrap_or(&path).to_owned())
                .collect(),
            None => match std::fs::read_dir(self.path().join("registry").join(&prefix)) {
                Ok(entries) => entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(_) => Vec::new(),
            },
        };
        names.sort();
        names
    }

    /// Whether run `id` has artifacts stored: its folder exists, or on
    /// PostgreSQL it has a blob.
    pub fn has_artifacts(&self, id: &str) -> bool {
        match self.database {
            Some(_) => {
                self.query::<i64>(&format!(
                    "SELECT COUNT(*) FROM artifact_blobs WHERE run_id = '{id}'"
                )) != [0]
            }
            None => self.path().join("registry/artifacts").join(id).is_dir(),
        }
    }

    /// Flips every bit of the last byte of the artifact at `path` (as the
    /// `artifacts` table records it: `artifacts/RUN/FILE`), in its file or
    /// its last chunk; a second call restores it.
    pub fn corrupt_artifact(&self, path: &str) {
        match self.database {
            Some(_) => {
                let changed = self.execute(&format!(
                    "UPDATE artifact_chunks \
                     SET data = set_byte(data, length(data) - 1, get_byte(data, length(data) - 1) # 255) \
                     WHERE path = '{path}' \
                     AND seq = (SELECT MAX(seq) FROM artifact_chunks WHERE path = '{path}')"
                ));
                assert_eq!(changed, 1, "no artifact {path} in the database");
            }
            None => {
                let file = self.path().join("registry").join(path);
                let mut bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
                let last = bytes.len() - 1;
                bytes[last] ^= 0xff;
                std::fs::write(&file, bytes).unwrap();
            }
        }
    }

    /// `pipeline ARGS` with this workspace's registry, from the workspace folder.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipeline"));
        cmd.current_dir(self.path())
            .env("PIPELINE_REGISTRY", self.registry_url())
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
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + Send
            + Unpin,
    {
        self.try_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// [`Workspace::query`], its error returned: for polling a registry
    /// another process is still creating.
    pub fn try_query<T>(&self, sql: &str) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + Send
            + Unpin,
    {
        match &self.database {
            Some(database) => pg_query(&database.url, sql),
            None => block_on(async {
                let url = format!("sqlite://{}?mode=ro", self.sqlite_file().display());
                let mut connection = sqlx::SqliteConnection::connect(&url).await?;
                let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                    .fetch_all(&mut connection)
                    .await;
                connection.close().await?;
                rows
            }),
        }
    }

    /// Runs one SQL statement that changes the registry (to stage what an
    /// older build wrote, or damage); returns the rows it changed.
    pub fn execute(&self, sql: &str) -> u64 {
        let changed = match &self.database {
            Some(database) => pg_execute(&database.url, sql),
            None => block_on(async {
                let url = format!("sqlite://{}", self.sqlite_file().display());
                let mut connection = sqlx::SqliteConnection::connect(&url).await?;
                let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&mut connection)
                    .await;
                connection.close().await?;
                done.map(|done| done.rows_affected())
            }),
        };
        changed.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// A database of its own, `pipeline_e2e_<16 hex digits>`, in the cluster
/// `PIPELINE_TEST_PG` names; dropped (best effort) when this is.
pub struct TestDatabase {
    pub name: String,
    /// The cluster's URL with the database replaced by this one.
    pub url: String,
    /// The URL it was created through (`PIPELINE_TEST_PG`).
    pub cluster: String,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        let cluster = std::env::var("PIPELINE_TEST_PG").unwrap_or_else(|_| {
            panic!(
                "PIPELINE_TEST_BACKEND=postgres needs PIPELINE_TEST_PG=postgres://USER@HOST:PORT/DB, \
                 a cluster the tests may create databases in (`eval \"$(.ci/postgres start)\"` \
                 starts a private one)"
            )
        });
        let name = format!("pipeline_e2e_{:016x}", random_u64());
        let url = with_database(&cluster, &name);
        pg_execute(&cluster, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} in {cluster}: {e}"));
        TestDatabase { name, url, cluster }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort, and never a panic: it may run while a failed test
        // unwinds. WITH (FORCE) ends what a killed command left connected.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = pg_execute(&self.cluster, &sql) {
            eprintln!("warning: {sql}: {e}");
        }
    }
}

/// `url` (`postgres://USER@HOST:PORT/DB?PARAMS`) with `database` for `DB`.
pub fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("{url}: expected postgres://USER@HOST:PORT/DB"));
    let (location, params) = match rest.split_once('?') {
        Some((location, params)) => (location, Some(params)),
        None => (rest, None),
    };
    let authority = location.split_once('/').map_or(location, |(a, _)| a);
    match params {
        Some(params) => format!("{scheme}://{authority}/{database}?{params}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

/// Runs one query returning rows of one column in the PostgreSQL database at `url`.
pub fn pg_query<T>(url: &str, sql: &str) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    block_on(async {
        let mut connection = sqlx::PgConnection::connect(url).await?;
        let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&mut connection)
            .await;
        connection.close().await?;
        rows
    })
}

/// Runs one statement in the PostgreSQL database at `url`; returns the rows it changed.
pub fn pg_execute(url: &str, sql: &str) -> Result<u64, sqlx::Error> {
    block_on(async {
        let mut connection = sqlx::PgConnection::connect(url).await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut connection)
            .await;
        connection.close().await?;
        done.map(|done| done.rows_affected())
    })
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// 64 random bits without a dependency: std's per-process random hash keys
/// over the process id, the time and a counter.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// stderr of an output, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Replaces the registry (its path or URL) and temporary paths so that
/// snapshots are stable, and the same on both backends.
pub fn scrub(text: &str, workspace: &Workspace) -> String {
    text.replace(&workspace.registry_url(), "[REGISTRY]")
        .replace(&workspace.path().display().to_string(), "[TMP]")
        .replace(&repo_root().display().to_string(), "[REPO]")
}

/// The first row of the diabetes data as `infer --row` takes it.
pub const FIRST_ROW: &str =
    "age=59,sex=2,bmi=32.1,bp=101,s1=157,s2=93.2,s3=38,s4=4,s5=4.8598,s6=87";
