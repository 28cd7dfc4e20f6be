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
