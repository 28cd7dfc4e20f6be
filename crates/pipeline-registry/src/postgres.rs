//! Opening a registry in a PostgreSQL database (a team's registry). Unlike
//! a SQLite file, a shared database is never created or upgraded as a side
//! effect: only [`Registry::migrate_at`] (`pipeline registry migrate`)
//! applies migrations; every other opening refuses a database that is not
//! a registry, one older than this build and one newer.

use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{ConnectOptions as _, Executor as _};

use crate::error::RegistryError;
use crate::location::{Backend, Location, PgUrl};
use crate::open::{MIGRATOR_PG, Registry};

/// Connections per process: a team's server is shared by every worker
/// and reader, so each keeps few.
const MAX_CONNECTIONS: u32 = 4;

/// How long a connection may wait for the pool (or the server).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the server lets a session sit idle inside a transaction
/// before it ends the session (its locks released): far longer than any of
/// the registry's transactions, whose statements follow one another.
const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection is replaced after this long, so that a server restart or
/// a failover is picked up.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Registers sqlx's SQLite and PostgreSQL drivers for `Any` (sqlx does
/// it once, whatever the number of calls).
pub(crate) fn install_drivers() {
    sqlx::any::install_default_drivers();
}

/// What [`Registry::migrate_at`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The newest migration applied before, if the database was a registry.
    pub from: Option<i64>,
    /// The newest migration applied now.
    pub to: i64,
}

impl Registry {
    /// Creates or upgrades the registry at `location`: the only way a
    /// PostgreSQL database is migrated (sqlx takes an advisory lock, so
    /// two migrating at once take turns). A SQLite file is opened as
    /// [`Registry::open`] does, which migrates it.
    pub async fn migrate_at(location: &Location) -> Result<Migrated, RegistryError> {
        match location {
            Location::File(path) => {
                let before = crate::open::applied_version(path).await?;
                let registry = Registry::open(path).await?;
                let to = crate::open::known_version();
                registry.close().await;
                Ok(Migrated { from: before, to })
            }
            Location::Postgres(url) => {
                let registry = connect(url).await?;
                let from = inspect(&registry).await?;
                MIGRATOR_PG
                    .run(&registry.pool)
                    .await
                    .map_err(|source| RegistryError::Migrate {
                        path: registry.db_path.clone(),
                        source,
                    })?;
                registry.fill_pending_params().await?;
                registry.pool.close().await;
                Ok(Migrated {
                    from,
                    to: known_version(),
                })
            }
        }
    }
}

/// Opens the registry in the PostgreSQL database `url`: it must hold a
/// registry of exactly this build's schema. Runs whose process is gone are
/// marked crashed, by reading commands too (as on SQLite): a run left
/// `running` by a dead process must never look alive. The database is
/// written as much as a SQLite registry is: read-only access is for files.
pub(crate) async fn open(url: &PgUrl) -> Result<Registry, RegistryError> {
    let registry = connect(url).await?;
    let known = known_version();
    match inspect(&registry).await? {
        None => {
            return Err(RegistryError::NotARegistry {
                path: registry.db_path.clone(),
                reason: "the database holds no registry yet; create it with \
                         `pipeline registry migrate`"
                    .to_owned(),
            });
        }
        Some(version) if version < known => {
            return Err(RegistryError::Outdated {
                path: registry.db_path.clone(),
                version,
                known,
            });
        }
        Some(_) => {}
    }
    registry.mark_crashed_runs().await?;
    Ok(registry)
}

/// A pool of connections to `url`, not yet checked.
async fn connect(url: &PgUrl) -> Result<Registry, RegistryError> {
    install_drivers();
    let path = PathBuf::from(url.redacted());
    let open_error = |source| RegistryError::Open {
        path: path.clone(),
        source,
    };
    let options = AnyConnectOptions::from_str(url.secret())
        .map_err(open_error)?
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Trace, Duration::from_secs(1));
    let pool: AnyPool = AnyPoolOptions::new()
        // The registry's statements are short lookups: PostgreSQL's JIT
        // compiler, which starts above a cost most of them reach at
        // 10,000 runs, spent 30 ms compiling what ran in 90.
        //
        // A process stopped (SIGSTOP, a paused VM) inside a transaction would
        // hold its locks, the registry's write lock among them, and stall
        // every other process; the server ends such a session after
        // IDLE_IN_TRANSACTION_TIMEOUT, so the others go on (and the stopped
        // one, on waking, finds its connection gone and writes nothing).
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET jit = off").await?;
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "SET idle_in_transaction_session_timeout = {}",
                    IDLE_IN_TRANSACTION_TIMEOUT.as_millis()
                )))
                .await?;
                Ok(())
            })
        })
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .max_lifetime(MAX_LIFETIME)
        .test_before_acquire(true)
        .connect_with(options)
        .await
        .map_err(open_error)?;
    Ok(Registry {
        pool,
        backend: Backend::Postgres,
        db_path: path,
        root: PathBuf::new(),
        owner: crate::open::process_owner(),
        artifact_store: None,
    })
}

/// The newest migration applied to the database, `None` when it holds no
/// registry at all. Refuses someone else's database and a newer schema.
async fn inspect(registry: &Registry) -> Result<Option<i64>, RegistryError> {
    let path = &registry.db_path;
    let query_error = |source| RegistryError::Query {
        path: path.clone(),
        context: "inspecting the schema".to_owned(),
        source,
    };
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY table_name",
    )
    .fetch_all(&registry.pool)
    .await
    .map_err(query_error)?;
    if tables.is_empty() {
        return Ok(None);
    }
    if !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Err(RegistryError::NotARegistry {
            path: path.clone(),
            reason: format!(
                "it holds tables ({}) but no _sqlx_migrations table; refusing to alter it",
                tables.join(", ")
            ),
        });
    }
    let applied: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
        "SELECT version, description, checksum FROM _sqlx_migrations \
         WHERE success ORDER BY version",
    )
    .fetch_all(&registry.pool)
    .await
    .map_err(query_error)?;
    crate::open::judge_applied(path, &MIGRATOR_PG, &applied)
}

/// The newest PostgreSQL migration compiled into this build.
fn known_version() -> i64 {
    crate::open::newest_of(&MIGRATOR_PG)
}
