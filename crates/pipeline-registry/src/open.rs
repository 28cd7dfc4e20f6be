//! Opening the registry: create the folder and database on first use, refuse
//! files that are not ours (or are from a newer build) before touching them,
//! apply the embedded migrations, then mark runs whose process vanished as
//! crashed. Everything that must happen once per `Registry::open` lives here,
//! and `Registry::open_existing` for the commands that only read: it never
//! creates a registry, and opens one it cannot write read-only.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Executor as _, Row};

use crate::error::RegistryError;
use crate::location::{Backend, Location};
use crate::types::RunId;
use crate::util::now;
use chrono::{DateTime, Utc};

/// The SQLite migrations compiled into this build.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The PostgreSQL migrations: the same versions, in PostgreSQL's dialect.
pub(crate) static MIGRATOR_PG: Migrator = sqlx::migrate!("./migrations/postgres");

/// How often a training process refreshes its run's heartbeat.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// A run of another host whose heartbeat is older than this is presumed
/// dead and marked `crashed` (its process cannot be probed from here).
pub const HEARTBEAT_STALE_AFTER: Duration = Duration::from_secs(120);

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// SQLite's result code for "file is not a database".
const SQLITE_NOTADB: &str = "26";

/// What a command does with an existing registry
/// ([`Registry::open_existing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only: a registry that cannot be written is opened read-only.
    Read,
    /// Reads and writes.
    Write,
}

/// An open registry: a SQLite database plus the artifacts folder beside
/// it, or a PostgreSQL database holding the artifacts too.
#[derive(Debug, Clone)]
pub struct Registry {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// How messages name the registry: the SQLite file, or the PostgreSQL
    /// URL without its password.
    pub(crate) db_path: PathBuf,
    /// The folder of the SQLite file (artifacts under `root/artifacts`);
    /// empty for PostgreSQL.
    pub(crate) root: PathBuf,
    /// Who this handle writes live runs as ([`Registry::owner`]).
    pub(crate) owner: Arc<str>,
    /// Where new artifacts go, when not the registry's own store
    /// ([`Registry::with_artifact_store`]).
    pub(crate) artifact_store: Option<crate::bucket::ArtifactStore>,
}

impl Registry {
    /// Opens the registry database at `db_path`, creating its folder and the
    /// database on first use.
    ///
    /// An existing file is inspected before anything is written to it: a file
    /// that is not SQLite, a SQLite database holding tables but no
    /// `_sqlx_migrations` table (someone else's database) and a registry
    /// migrated by a newer build are all refused untouched. Then the embedded
    /// migrations run, with WAL journaling, `synchronous=FULL`, foreign keys on
    /// and a 10 s busy timeout, and runs left `running` by a process of this
    /// host that no longer exists are marked `crashed`.
    pub async fn open(db_path: &Path) -> Result<Registry, RegistryError> {
        let db_path = db_path.to_path_buf();
        let root = root_of(&db_path);
        fs::create_dir_all(&root).map_err(|source| RegistryError::Io {
            path: root.clone(),
            source,
        })?;
        Registry::open_writable(db_path, root, true).await
    }

    /// Opens the registry database at `db_path`, which must already be one:
    /// a missing or empty file is refused, never made a registry. With
    /// [`Access::Read`], a registry that cannot be written (a read-only
    /// mount, files without write permission) is opened read-only: nothing
    /// is migrated and no run is marked crashed.
    pub async fn open_existing(db_path: &Path, access: Access) -> Result<Registry, RegistryError> {
        let db_path = db_path.to_path_buf();
        let root = root_of(&db_path);
        let meta = fs::metadata(&db_path).map_err(|source| RegistryError::Io {
            path: db_path.clone(),
            source,
        })?;
        if meta.is_file() && meta.len() == 0 {
            return Err(RegistryError::NotARegistry {
                path: db_path,
                reason: "the file is empty".to_owned(),
            });
        }
        if access == Access::Write {
            return Registry::open_writable(db_path, root, false).await;
        }
        let writable = can_write(&db_path, &lock_path(&db_path, &root));
        let options = if writable {
            base_options(&db_path).create_if_missing(false)
        } else {
            read_only_options(&db_path)
        };
        let known = known_version();
        match inspect_existing(&db_path, &options).await? {
            None => {
                return Err(RegistryError::NotARegistry {
                    path: db_path,
                    reason: "the database holds no registry".to_owned(),
                });
            }
            Some(_) if writable => return Registry::open_writable(db_path, root, false).await,
            Some(version) if version < known => {
                return Err(RegistryError::ReadOnlyOutdated {
                    path: db_path,
                    version,
                    known,
                });
            }
            Some(_) => {}
        }
        let pool = sqlite_pool(&options, false)
            .await
            .map_err(|source| open_error(&db_path, source))?;
        Ok(Registry {
            pool,
            backend: Backend::Sqlite,
            db_path,
            root,
            owner: process_owner(),
            artifact_store: None,
        })
    }

    /// Opens `db_path` for reading and writing: inspects it, migrates it
    /// under the lock (creating it when `create`), marks crashed runs.
    async fn open_writable(
        db_path: PathBuf,
        root: PathBuf,
        create: bool,
    ) -> Result<Registry, RegistryError> {
        inspect_existing(&db_path, &base_options(&db_path).create_if_missing(false)).await?;
        // Processes that open a new registry at the same moment take turns to
        // create and migrate it (SQLite migrations take no lock of their own).
        let lock_path = lock_path(&db_path, &root);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|file| file.lock().map(|()| file))
            .map_err(|source| RegistryError::Io {
                path: lock_path.clone(),
                source,
            })?;

        let options = base_options(&db_path).create_if_missing(create);
        let pool = sqlite_pool(&options, true)
            .await
            .map_err(|source| open_error(&db_path, source))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| RegistryError::Migrate {
                path: db_path.clone(),
                source,
            })?;
        let registry = Registry {
            pool,
            backend: Backend::Sqlite,
            db_path,
            root,
            owner: process_owner(),
            artifact_store: None,
        };
        // Under the lock: runs recorded before migration 0008 get their spec
        // keys once (one indexed read when there are none).
        registry.fill_pending_params().await?;
        drop(lock);

        registry.mark_crashed_runs().await?;
        Ok(registry)
    }

    /// Opens the registry at `location` for reading and writing: a SQLite
    /// file as [`Registry::open`] does (created on first use), a
    /// PostgreSQL database that `pipeline registry migrate` made a registry.
    pub async fn open_at(location: &Location) -> Result<Registry, RegistryError> {
        match location {
            Location::File(path) => Registry::open(path).await,
            Location::Postgres(url) => crate::postgres::open(url).await,
        }
    }

    /// Opens the existing registry at `location` ([`Registry::open_existing`]).
    pub async fn open_existing_at(
        location: &Location,
        access: Access,
    ) -> Result<Registry, RegistryError> {
        match location {
            Location::File(path) => Registry::open_existing(path, access).await,
            Location::Postgres(url) => crate::postgres::open(url).await,
        }
    }

    /// Who this handle writes live runs as: this process, unless made
    /// with [`Registry::owned_by`]. A run is written only by its owner (the
    /// process that created, started or resumed it), so a process that lost
    /// its run to another (a worker whose lease was reaped) writes nothing.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The same registry (the same connections), writing as `owner`: a
    /// worker's handle for one lease.
    pub fn owned_by(&self, owner: &str) -> Registry {
        Registry {
            owner: owner.into(),
            ..self.clone()
        }
    }

    /// The same registry, writing new artifacts to `store` (`--artifacts`):
    /// each artifact's row records the store, so readers find it whatever
    /// their own setting.
    pub fn with_artifact_store(self, store: crate::bucket::ArtifactStore) -> Registry {
        Registry {
            artifact_store: Some(store),
            ..self
        }
    }

    /// The database engine behind this registry.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database file, as passed to [`Registry::open`]; for PostgreSQL,
    /// the URL without its password.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The folder holding the database; artifacts live in `root/artifacts`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Closes every connection, checkpointing the write-ahead log.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Marks queued or running runs whose process is gone as `crashed` (a
    /// run submitted for a worker, queued with no host, waits unmarked): on
    /// this host, a pid that no longer exists (or now belongs to a process
    /// started at another time); on other hosts, whose processes cannot be
    /// probed, a heartbeat older than [`HEARTBEAT_STALE_AFTER`].
    pub(crate) async fn mark_crashed_runs(&self) -> Result<(), RegistryError> {
        let host = hostname();
        let candidates: Vec<LiveRun> = self
            .within(|| "looking for stale runs", async {
                Ok(sqlx::query_as(
                    "SELECT id, pid, pid_started, host, heartbeat_at FROM runs \
                     WHERE status IN ('queued', 'running') AND NOT (status = 'queued' AND host IS NULL)",
                )
                .fetch_all(&self.pool)
                .await?)
            })
            .await?;
        let now_utc = Utc::now();
        for (id, pid, started, run_host, heartbeat) in candidates {
            let here = run_host.as_deref() == Some(host.as_str()) && cfg!(target_os = "linux");
            let message = if here {
                let Some(pid) = pid.and_then(|p| u32::try_from(p).ok()).filter(|p| *p > 0) else {
                    continue;
                };
                if process_alive(pid, started) {
                    continue;
                }
                format!("process {pid} on {host} is gone (the run was interrupted without cleanup)")
            } else {
                let last = heartbeat
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                let silent = last.map(|t| now_utc.signed_duration_since(t));
                let stale = chrono::Duration::from_std(HEARTBEAT_STALE_AFTER)
                    .unwrap_or(chrono::Duration::MAX);
                if silent.is_some_and(|d| d <= stale) {
                    continue;
                }
                format!(
                    "no heartbeat from {} since {} (more than {} s): its process is presumed dead",
                    run_host.as_deref().unwrap_or("an unknown host"),
                    heartbeat.as_deref().unwrap_or("it started"),
                    HEARTBEAT_STALE_AFTER.as_secs()
                )
            };
            // The last heartbeat is the last sign of life: use it as the end.
            self.within(|| format!("marking run {id} as crashed"), async {
                sqlx::query(
                    "UPDATE runs SET status = 'crashed', error = $1, \
                     ended_at = COALESCE(heartbeat_at, $2) \
                     WHERE id = $3 AND status IN ('queued', 'running')",
                )
                .bind(&message)
                .bind(now())
                .bind(&id)
                .execute(&self.pool)
                .await?;
                Ok(())
            })
            .await?;
            // A checkpoint it wrote but did not live to record is taken back;
            // other files it left are deleted. Only where its process is
            // known to be gone: one presumed dead on another host may still
            // be writing.
            let run = RunId::from_db(id);
            if here && let Err(error) = self.adopt_checkpoints(&run).await {
                log::warn!("cannot tidy the folder of crashed run {run}: {error}");
            }
        }
        Ok(())
    }
}

/// A queued or running run as the crash check reads it: id, pid, process
/// start time, host and last heartbeat.
type LiveRun = (
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// Whether `pid` is still the process that started at `started` (clock
/// ticks since boot); without a start time, whether the pid exists.
fn process_alive(pid: u32, started: Option<i64>) -> bool {
    match (process_started(pid), started) {
        (None, _) => false,
        // The pid exists: it is our run unless the process started at another time
        // (the pid was reused after the run's process died).
        (Some(now_started), Some(then)) => i64::try_from(now_started).ok() == Some(then),
        (Some(_), None) => true,
    }
}

/// When process `pid` started (clock ticks since boot, field 22 of
/// `/proc/<pid>/stat`), or `None` when there is no such process.
pub(crate) fn process_started(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// This machine's name, as recorded in `runs.host`.
/// This process's name as the owner of the runs it starts: host, pid and a
/// random part (a pid is reused; the random part is not).
pub(crate) fn process_owner() -> Arc<str> {
    static OWNER: OnceLock<Arc<str>> = OnceLock::new();
    Arc::clone(OWNER.get_or_init(|| {
        let random = uuid::Uuid::now_v7().simple().to_string();
        format!("{}:{}:{}", hostname(), std::process::id(), &random[20..]).into()
    }))
}

pub(crate) fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The folder of the database, where `artifacts/` lives.
fn root_of(db_path: &Path) -> PathBuf {
    match db_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file that processes opening the registry lock in turn.
fn lock_path(db_path: &Path, root: &Path) -> PathBuf {
    root.join(format!(
        ".{}.lock",
        db_path
            .file_name()
            .map_or_else(|| "registry".into(), |n| n.to_string_lossy())
    ))
}

/// `db_path` with `suffix` appended (`-wal`, `-shm`).
fn sibling(db_path: &Path, suffix: &str) -> PathBuf {
    let mut path = db_path.as_os_str().to_owned();
    path.push(suffix);
    PathBuf::from(path)
}

/// Whether this process may write the database and take the lock beside
/// it. Opening for writing changes nothing; the lock file is the one every
/// opening creates.
fn can_write(db_path: &Path, lock_path: &Path) -> bool {
    fs::OpenOptions::new().write(true).open(db_path).is_ok()
        && fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path)
            .is_ok()
}

/// Options for a registry this process cannot write. SQLite reads a WAL
/// database through its `-shm` file, which it cannot create where the
/// folder is read-only; while no `-shm` exists and the write-ahead log
/// holds nothing, no connection has the database open and the file alone
/// is the whole registry, so it is read as immutable.
fn read_only_options(db_path: &Path) -> SqliteConnectOptions {
    let shared_memory = sibling(db_path, "-shm").exists();
    let log_pending = fs::metadata(sibling(db_path, "-wal")).is_ok_and(|m| m.len() > 0);
    base_options(db_path)
        .read_only(true)
        .immutable(!shared_memory && !log_pending)
}

/// The newest SQLite migration compiled into this build.
pub(crate) fn known_version() -> i64 {
    newest_of(&MIGRATOR)
}

/// A pool of connections to the SQLite database `options` names, through
/// sqlx's `Any` driver (the registry's statements are the same for both
/// backends). Each connection gets foreign keys, the busy timeout and
/// `synchronous=FULL`; a `writable` pool also switches the database to
/// write-ahead logging (which persists in the file).
async fn sqlite_pool(
    options: &SqliteConnectOptions,
    writable: bool,
) -> Result<AnyPool, sqlx::Error> {
    crate::postgres::install_drivers();
    let any = AnyConnectOptions::from_url(&options.to_url_lossy())?
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Trace, Duration::from_secs(1));
    let pragmas = format!(
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; PRAGMA synchronous = FULL;{}",
        BUSY_TIMEOUT.as_millis(),
        if writable {
            " PRAGMA journal_mode = WAL;"
        } else {
            ""
        }
    );
    AnyPoolOptions::new()
        .max_connections(4)
        .after_connect(move |conn, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                Ok(())
            })
        })
        .connect_with(any)
        .await
}

/// Connection options shared by the inspection connection and the pool.
/// sqlx logs every statement at `debug` and a slow one (over 1 s) at
/// `warn`, which put its SQL among the tool's own messages: a long run's
/// history legitimately takes seconds to read. Both go to `trace` (`-vv`).
fn base_options(db_path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(db_path)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Trace, std::time::Duration::from_secs(1))
}

fn is_not_a_database(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == SQLITE_NOTADB)
}

fn not_sqlite(db_path: &Path) -> RegistryError {
    RegistryError::NotARegistry {
        path: db_path.to_path_buf(),
        reason: "the file is not a SQLite database".to_owned(),
    }
}

fn open_error(db_path: &Path, source: sqlx::Error) -> RegistryError {
    if is_not_a_database(&source) {
        not_sqlite(db_path)
    } else {
        RegistryError::Open {
            path: db_path.to_path_buf(),
            source,
        }
    }
}

/// The newest migration applied to the SQLite registry `db_path`, `None`
/// when there is no registry there yet (see [`inspect_existing`]).
pub(crate) async fn applied_version(db_path: &Path) -> Result<Option<i64>, RegistryError> {
    inspect_existing(db_path, &base_options(db_path).create_if_missing(false)).await
}

/// Refuses an existing file that is not a registry this build may migrate,
/// connecting with `options`. Writes nothing: no journal mode, no
/// migrations table. Returns the newest migration applied, if any.
async fn inspect_existing(
    db_path: &Path,
    options: &SqliteConnectOptions,
) -> Result<Option<i64>, RegistryError> {
    let io_error = |source| RegistryError::Io {
        path: db_path.to_path_buf(),
        source,
    };
    let meta = match fs::metadata(db_path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e)),
    };
    if !meta.is_file() {
        return Err(RegistryError::NotARegistry {
            path: db_path.to_path_buf(),
            reason: "it is not a regular file".to_owned(),
        });
    }
    if meta.len() == 0 {
        // SQLite treats an empty file as a new, empty database.
        return Ok(None);
    }
    let mut header = [0u8; 16];
    let mut file = fs::File::open(db_path).map_err(io_error)?;
    let read = read_up_to(&mut file, &mut header).map_err(io_error)?;
    if read < header.len() || &header != SQLITE_MAGIC {
        return Err(not_sqlite(db_path));
    }
    drop(file);

    let mut conn = SqliteConnection::connect_with(options)
        .await
        .map_err(|source| open_error(db_path, source))?;
    let result = check_schema(&mut conn, db_path).await;
    // Closing only fails if the connection is already broken; the check's
    // result is what matters.
    let _ = conn.close().await;
    result
}

async fn check_schema(
    conn: &mut SqliteConnection,
    db_path: &Path,
) -> Result<Option<i64>, RegistryError> {
    let query_error = |source: sqlx::Error| {
        if is_not_a_database(&source) {
            not_sqlite(db_path)
        } else {
            RegistryError::Query {
                path: db_path.to_path_buf(),
                context: "inspecting the schema".to_owned(),
                source,
            }
        }
    };
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(query_error)?
    .iter()
    .map(|row| row.try_get::<String, _>(0))
    .collect::<Result<_, _>>()
    .map_err(query_error)?;

    if tables.is_empty() {
        return Ok(None);
    }
    if !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Err(RegistryError::NotARegistry {
            path: db_path.to_path_buf(),
            reason: format!(
                "it holds tables ({}) but no _sqlx_migrations table; refusing to alter it",
                tables.join(", ")
            ),
        });
    }
    let applied: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
        "SELECT version, description, checksum FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(query_error)?;
    judge_applied(db_path, &MIGRATOR, &applied)
}

/// Whether the migrations `applied` to the database at `path` (version,
/// description, checksum) make it a registry `migrator` may open: another
/// application's sqlx database has the same table, so a registry holds at
/// least one of this build's migrations, byte for byte; and none newer
/// than this build knows. Returns the newest applied, if any.
pub(crate) fn judge_applied(
    path: &Path,
    migrator: &Migrator,
    applied: &[(i64, String, Vec<u8>)],
) -> Result<Option<i64>, RegistryError> {
    let ours = applied.iter().any(|(version, _, checksum)| {
        migrator
            .iter()
            .any(|m| m.version == *version && *m.checksum == checksum[..])
    });
    if let (false, Some((version, description, _))) = (ours, applied.first()) {
        return Err(RegistryError::NotARegistry {
            path: path.to_path_buf(),
            reason: format!(
                "its _sqlx_migrations table records another application's migrations \
                 (version {version}, \"{description}\"); refusing to alter it"
            ),
        });
    }
    let newest = applied.iter().map(|(version, _, _)| *version).max();
    let known = newest_of(migrator);
    match newest {
        Some(version) if version > known => Err(RegistryError::NewerSchema {
            path: path.to_path_buf(),
            version,
            known,
        }),
        _ => Ok(newest),
    }
}

/// The newest migration of `migrator`.
pub(crate) fn newest_of(migrator: &Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_up_to(file: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
