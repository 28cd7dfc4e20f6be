//! Where a registry lives: a SQLite file (one machine) or a PostgreSQL
//! database (a team), as `--registry` / `PIPELINE_REGISTRY` names it. A
//! PostgreSQL URL is shown everywhere without its password.

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;

/// The database engine behind an open registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A registry's location.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file; artifacts in `artifacts/` beside it.
    File(PathBuf),
    /// A PostgreSQL database (`postgres://` or `postgresql://` URL);
    /// artifacts in the database.
    Postgres(PgUrl),
}

impl Location {
    /// `postgres://…` / `postgresql://…` is a PostgreSQL database, anything
    /// else a SQLite file path.
    pub fn parse(text: &OsStr) -> Location {
        match text.to_str() {
            Some(url) if is_postgres_url(url) => Location::Postgres(PgUrl(url.to_owned())),
            _ => Location::File(PathBuf::from(text)),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Location::File(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => write!(f, "{}", url.redacted()),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// Whether `text` is a PostgreSQL connection URL.
pub fn is_postgres_url(text: &str) -> bool {
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// A PostgreSQL connection URL. Its `Debug` and `Display` leave out the
/// password; only [`PgUrl::secret`] gives the whole URL, to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl(String);

impl PgUrl {
    pub fn new(url: impl Into<String>) -> PgUrl {
        PgUrl(url.into())
    }

    /// The URL with its password, if any, replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    /// The whole URL, password included: for connecting, never printing.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({})", self.redacted())
    }
}

/// `url` without the password of its user-info part
/// (`postgres://user:secret@host/db` → `postgres://user:***@host/db`) and
/// without a `password=` query parameter's value.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..scheme_end + 3]);
    match authority.rfind('@') {
        Some(at) => {
            let user_info = &authority[..at];
            match user_info.find(':') {
                Some(colon) => {
                    out.push_str(&user_info[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(user_info),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    match tail.find('?') {
        Some(q) => {
            out.push_str(&tail[..=q]);
            let query: Vec<String> = tail[q + 1..]
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&query.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://alice:s3cr%40t@db.example:5432/reg?sslmode=require"),
            "postgres://alice:***@db.example:5432/reg?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://bob@127.0.0.1/reg?password=hunter2&sslmode=verify-full"),
            "postgresql://bob@127.0.0.1/reg?password=***&sslmode=verify-full"
        );
        assert_eq!(redact("postgres://host/db"), "postgres://host/db");
    }

    #[test]
    fn locations_parse_by_scheme() {
        assert_eq!(
            Location::parse(OsStr::new("registry/registry.db")).backend(),
            Backend::Sqlite
        );
        let pg = Location::parse(OsStr::new("POSTGRES://u:p@h/d"));
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(pg.to_string(), "POSTGRES://u:***@h/d");
        assert!(!format!("{pg:?}").contains(":p@"));
    }
}
