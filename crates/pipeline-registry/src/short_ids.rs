//! Short ids: the shortest prefix (at least [`SHORT_ID_MIN`] hex digits,
//! as git abbreviates commits) of a run id's random part that no other run
//! shares. A UUID v7 starts with its creation time, so runs made within a
//! minute share their first 8+ characters; the random part (the hex digits
//! after the version digit, hyphens removed) tells them apart in 7.
//!
//! A short id is also never a prefix of another run's id, so whatever a
//! table prints selects exactly that run ([`Registry::resolve`] matches what
//! is typed against ids and short ids together).

use std::collections::HashMap;

use crate::error::RegistryError;
use crate::open::Registry;
use crate::types::RunId;

/// Fewest hex digits a short id has.
pub const SHORT_ID_MIN: usize = 7;

/// Fewest characters of a short id that select a run when typed.
pub const SHORT_ID_TYPED_MIN: usize = 4;

/// The random part of a run id: its hex digits after the version digit,
/// hyphens removed (19 for a UUID); the whole id, hyphens removed, for an
/// id of another shape.
pub fn random_part(id: &str) -> String {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    match hex.get(13..) {
        Some(rest) if hex.len() == 32 => rest.to_owned(),
        _ => hex,
    }
}

/// Whether `typed` (lowercase) may be the start of a short id, and is one
/// of `id`'s.
pub(crate) fn starts_short_id(id: &str, typed: &str) -> bool {
    typed.len() >= SHORT_ID_TYPED_MIN
        && typed.chars().all(|c| c.is_ascii_hexdigit())
        && random_part(id).starts_with(typed)
}

/// The short id of every run of a registry, by run id.
#[derive(Debug, Clone, Default)]
pub struct ShortIds {
    by_id: HashMap<String, String>,
}

impl ShortIds {
    /// The short ids of `ids` (every run of a registry): each random part
    /// sorted beside its neighbours, cut one digit past the longest prefix it
    /// shares with them, then lengthened while it could read as the start of
    /// another id.
    pub fn of(ids: &[String]) -> ShortIds {
        let mut parts: Vec<(String, &str)> = ids
            .iter()
            .map(|id| (random_part(id), id.as_str()))
            .collect();
        parts.sort_unstable();
        // What an id prefix of up to 8 characters (before the first
        // hyphen) could match.
        let mut heads: Vec<&str> = ids.iter().map(|id| id.get(..8).unwrap_or(id)).collect();
        heads.sort_unstable();
        let shared =
            |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let mut by_id = HashMap::with_capacity(parts.len());
        for (index, (part, id)) in parts.iter().enumerate() {
            let before = index
                .checked_sub(1)
                .and_then(|i| parts.get(i))
                .map_or(0, |(other, _)| shared(part, other));
            let after = parts
                .get(index + 1)
                .map_or(0, |(other, _)| shared(part, other));
            let mut length = (before.max(after) + 1).max(SHORT_ID_MIN).min(part.len());
            while length < part.len() && starts_a_head(&heads, &part[..length]) {
                length += 1;
            }
            by_id.insert((*id).to_owned(), part[..length].to_owned());
        }
        ShortIds { by_id }
    }

    /// The short id of `id`; the first [`SHORT_ID_MIN`] digits of its random
    /// part for a run these were not computed with.
    pub fn get(&self, id: &RunId) -> String {
        self.by_id.get(id.as_str()).cloned().unwrap_or_else(|| {
            let part = random_part(id.as_str());
            part.get(..SHORT_ID_MIN).unwrap_or(&part).to_owned()
        })
    }
}

/// Whether some id head (sorted) starts with `prefix`.
fn starts_a_head(heads: &[&str], prefix: &str) -> bool {
    let at = heads.partition_point(|head| *head < prefix);
    heads.get(at).is_some_and(|head| head.starts_with(prefix))
}

impl Registry {
    /// The short id of every run (one `SELECT id`; 10,000 runs take a few
    /// milliseconds).
    pub async fn short_ids(&self) -> Result<ShortIds, RegistryError> {
        Ok(ShortIds::of(&self.all_ids().await?))
    }

    /// Every run id in the registry.
    pub(crate) async fn all_ids(&self) -> Result<Vec<String>, RegistryError> {
        self.within(|| "reading run ids", async {
            let mut conn = self.pool.acquire().await?;
            Ok(ids_of(&mut conn, self.backend, "runs").await?)
        })
        .await
    }
}

/// Every id of `table` (`runs`, `sweeps`), read as one row: sqlx hands
/// rows over one at a time (on SQLite from its worker thread, then
/// converted for `Any`), which cost 27 ms for 10,000 ids where the
/// aggregate costs 3.
pub(crate) async fn ids_of(
    conn: &mut sqlx::AnyConnection,
    backend: crate::location::Backend,
    table: &'static str,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = match backend {
        crate::location::Backend::Sqlite => format!("SELECT group_concat(id, ' ') FROM {table}"),
        crate::location::Backend::Postgres => format!("SELECT string_agg(id, ' ') FROM {table}"),
    };
    let ids: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await?;
    Ok(ids
        .unwrap_or_default()
        .split(' ')
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_random_part_follows_the_version_digit() {
        assert_eq!(
            random_part("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"),
            "e5f8a6b7c8d9e0f1a2b"
        );
        assert_eq!(random_part("not-a-uuid"), "notauuid");
    }

    #[test]
    fn short_ids_grow_past_shared_prefixes_and_id_heads() {
        let ids = [
            "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",
            // Same random start for 7 digits: both need 8.
            "0193a1b2-c3d4-7e5f-8a6b-000000000000",
            "0193a1b2-c3d4-7abc-dabc-dabcdabcdabc",
            // Its random part starts like the ids' shared head "0193a1b2".
            "0193a1b2-c3d4-7019-3a1b-2ffffffffff1",
        ]
        .map(str::to_owned);
        let short = ShortIds::of(&ids);
        let get = |i: usize| short.get(&RunId::from_db(ids[i].clone()));
        assert_eq!(get(0), "e5f8a6b7");
        assert_eq!(get(1), "e5f8a6b0");
        assert_eq!(get(2), "abcdabc");
        assert_eq!(get(3), "0193a1b2f", "a short id never starts an id");
        let unknown = RunId::from_db("0193a1b2-c3d4-7123-4567-89abcdef0123".to_owned());
        assert_eq!(short.get(&unknown), "1234567");
    }
}
