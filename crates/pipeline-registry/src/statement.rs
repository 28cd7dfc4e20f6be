//! The error of a failed SQL statement, mapped in one place: an operation's
//! body uses `?` on sqlx errors and registry errors alike (both become a
//! [`Fault`]), and [`Registry::within`] names what the operation was doing
//! once, turning a failed statement into [`RegistryError::Query`].

use std::future::Future;

use crate::error::RegistryError;
use crate::open::Registry;

/// What an operation's body fails with: a statement that failed (its
/// context is added by [`Registry::within`]) or a registry error that
/// already says what went wrong.
#[derive(Debug)]
pub(crate) enum Fault {
    Sql(sqlx::Error),
    Registry(RegistryError),
}

impl From<sqlx::Error> for Fault {
    fn from(error: sqlx::Error) -> Self {
        Fault::Sql(error)
    }
}

impl From<RegistryError> for Fault {
    fn from(error: RegistryError) -> Self {
        Fault::Registry(error)
    }
}

impl Registry {
    /// Runs `work`; a statement that fails in it becomes
    /// [`RegistryError::Query`] with `context` (built only then), a
    /// registry error passes unchanged.
    pub(crate) async fn within<T, C: Into<String>>(
        &self,
        context: impl FnOnce() -> C,
        work: impl Future<Output = Result<T, Fault>>,
    ) -> Result<T, RegistryError> {
        work.await.map_err(|fault| match fault {
            Fault::Sql(source) => self.query_error(context(), source),
            Fault::Registry(error) => error,
        })
    }

    /// The error of a failed statement: [`RegistryError::Query`] naming the
    /// database and what was being done.
    pub(crate) fn query_error(
        &self,
        context: impl Into<String>,
        source: sqlx::Error,
    ) -> RegistryError {
        RegistryError::Query {
            path: self.db_path.clone(),
            context: context.into(),
            source,
        }
    }
}

/// The key of the advisory lock that a PostgreSQL registry's write
/// transactions take (an arbitrary constant: "pipe" in ASCII).
const WRITE_LOCK_KEY: i64 = 0x7069_7065;

impl Registry {
    /// A transaction that changes the registry. On SQLite the database
    /// lets one writer in at a time; on PostgreSQL the transaction takes a
    /// transaction-scoped advisory lock first, so that the registry's
    /// read-then-write steps (numbering trials, checking a name is free)
    /// behave the same on both. Released at commit or rollback.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.backend == crate::location::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }
}
