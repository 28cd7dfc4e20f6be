//! Building SQL with bound values for either backend. sqlx's
//! `QueryBuilder<Any>` writes `?` placeholders, which PostgreSQL refuses;
//! [`Sql`] writes `$1, $2, …` instead, which SQLite also binds by number,
//! so every statement of the registry is the same text on both.

use std::fmt::{Display, Write as _};

use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::query::{Query, QueryScalar};
use sqlx::{Arguments as _, Encode, Type};

/// A statement being built: its text and the values bound so far.
pub(crate) struct Sql {
    text: String,
    arguments: Result<AnyArguments, BoxDynError>,
    count: usize,
}

impl Sql {
    pub(crate) fn new(init: impl Into<String>) -> Sql {
        Sql {
            text: init.into(),
            arguments: Ok(AnyArguments::default()),
            count: 0,
        }
    }

    /// Appends SQL text as is.
    pub(crate) fn push(&mut self, sql: impl Display) -> &mut Sql {
        // Writing to a String cannot fail.
        let _ = write!(self.text, "{sql}");
        self
    }

    /// Binds `value` and appends its placeholder (`$N`).
    pub(crate) fn push_bind<'t, T>(&mut self, value: T) -> &mut Sql
    where
        T: Encode<'t, Any> + Type<Any> + 't,
    {
        if let Ok(arguments) = &mut self.arguments
            && let Err(error) = arguments.add(value)
        {
            self.arguments = Err(error);
        }
        self.count += 1;
        let _ = write!(self.text, "${}", self.count);
        self
    }

    /// Values pushed through the result are separated by `separator`.
    pub(crate) fn separated(&mut self, separator: &'static str) -> Separated<'_> {
        Separated {
            sql: self,
            separator,
            first: true,
        }
    }

    /// ` VALUES (…), (…)`: one parenthesized row per item, filled by `row`.
    pub(crate) fn push_values<I, F>(&mut self, items: I, mut row: F) -> &mut Sql
    where
        I: IntoIterator,
        F: FnMut(Separated<'_>, I::Item),
    {
        self.push(" VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
        }
        self
    }

    /// The statement's text so far.
    #[cfg(test)]
    pub(crate) fn sql(&self) -> &str {
        &self.text
    }

    /// The statement, ready to run; the builder is left empty.
    pub(crate) fn build(&mut self) -> Query<'static, Any, AnyArguments> {
        let (text, arguments) = self.take();
        sqlx_core::query::query_with_result(sqlx::AssertSqlSafe(text), arguments)
    }

    /// The statement, returning its first column.
    pub(crate) fn build_query_scalar<O>(&mut self) -> QueryScalar<'static, Any, O, AnyArguments>
    where
        (O,): for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        let (text, arguments) = self.take();
        sqlx_core::query_scalar::query_scalar_with_result(sqlx::AssertSqlSafe(text), arguments)
    }

    fn take(&mut self) -> (String, Result<AnyArguments, BoxDynError>) {
        self.count = 0;
        (
            std::mem::take(&mut self.text),
            std::mem::replace(&mut self.arguments, Ok(AnyArguments::default())),
        )
    }
}

/// A list being written into an [`Sql`]: every push after the first is
/// preceded by the separator.
pub(crate) struct Separated<'a> {
    sql: &'a mut Sql,
    separator: &'static str,
    first: bool,
}

impl Separated<'_> {
    fn separate(&mut self) {
        if !self.first {
            self.sql.push(self.separator);
        }
        self.first = false;
    }

    /// Appends SQL text as the next item.
    pub(crate) fn push(&mut self, sql: impl Display) -> &mut Self {
        self.separate();
        self.sql.push(sql);
        self
    }

    /// Binds `value` as the next item.
    pub(crate) fn push_bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'t, Any> + Type<Any> + 't,
    {
        self.separate();
        self.sql.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered() {
        let mut sql = Sql::new("SELECT * FROM runs WHERE id = ");
        sql.push_bind("a").push(" AND tag IN (");
        let mut list = sql.separated(", ");
        list.push_bind("x").push_bind("y");
        sql.push(")");
        assert_eq!(
            sql.sql(),
            "SELECT * FROM runs WHERE id = $1 AND tag IN ($2, $3)"
        );
        let mut insert = Sql::new("INSERT INTO t (a, b)");
        insert.push_values([(1_i64, 2.0_f64), (3, 4.0)], |mut row, (a, b)| {
            row.push_bind(a).push_bind(b);
        });
        assert_eq!(
            insert.sql(),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
