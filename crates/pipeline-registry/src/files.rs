//! The registry's own files, which no output may replace: its database
//! with the `-wal`, `-shm` and `-journal` files beside it, its folder and
//! the `artifacts/` folder in it. A command that writes a file or a folder
//! the user named (`infer --output`, `compare --report/--plot`, `export
//! --out`) checks the path against them first, so a slip of the keyboard
//! cannot overwrite the database, its journal or a run's weights. Paths are
//! compared once resolved: links followed, `..` applied, a path not there
//! yet resolved through its nearest existing folder.

use std::path::{Component, Path, PathBuf};

use crate::artifacts::ARTIFACTS_DIR;
use crate::error::RegistryError;

/// How many links [`resolve`] follows before giving up (a loop).
const MAX_LINKS: usize = 40;

/// The files of the registry named by `--registry`, resolved.
#[derive(Debug, Clone)]
pub struct RegistryFiles {
    /// The database, its write-ahead log, shared memory and journal (with
    /// what each is), as the registry path names them and as a link in it
    /// resolves.
    database: Vec<(PathBuf, &'static str)>,
    /// Every run's artifacts, and the folder holding the database and
    /// `artifacts/`; `None` for a registry without files (PostgreSQL).
    folders: Option<(PathBuf, PathBuf)>,
}

impl RegistryFiles {
    /// A registry with no files on this machine (PostgreSQL): nothing is
    /// refused.
    pub fn none() -> RegistryFiles {
        RegistryFiles {
            database: Vec::new(),
            folders: None,
        }
    }

    /// The files of the registry whose database is `database` (there or not).
    pub fn of(database: &Path) -> RegistryFiles {
        let folder = resolve(match database.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        });
        let name = database.file_name().map(|n| n.to_os_string());
        let mut bases = vec![resolve(database)];
        if let Some(name) = &name {
            bases.push(folder.join(name));
        }
        let database = bases
            .iter()
            .flat_map(|base| {
                [
                    ("", "the registry database"),
                    ("-wal", "the registry database's write-ahead log"),
                    ("-shm", "the registry database's shared memory"),
                    ("-journal", "the registry database's journal"),
                ]
                .map(|(suffix, what)| {
                    let mut path = base.clone().into_os_string();
                    path.push(suffix);
                    (PathBuf::from(path), what)
                })
            })
            .collect();
        RegistryFiles {
            database,
            folders: Some((resolve(&folder.join(ARTIFACTS_DIR)), folder)),
        }
    }

    /// Refuses to write the file `path` when it is the registry's
    /// database (or its journal) or lies in its artifacts folder.
    pub fn check_file(&self, path: &Path) -> Result<(), RegistryError> {
        let target = resolve(path);
        let reason = if let Some((_, what)) = self.database.iter().find(|(p, _)| *p == target) {
            format!("it is {what} {}", target.display())
        } else if let Some((artifacts, _)) = &self.folders
            && target.starts_with(artifacts)
        {
            in_artifacts(artifacts)
        } else {
            return Ok(());
        };
        Err(RegistryError::RefusedFile {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Refuses to replace the folder `path` when it is the registry's
    /// folder, lies in it, or holds it.
    pub fn check_folder(&self, path: &Path) -> Result<(), RegistryError> {
        let Some((artifacts, folder)) = &self.folders else {
            return Ok(());
        };
        let target = resolve(path);
        let reason = if target == *folder {
            format!("it is the registry folder {}", folder.display())
        } else if target.starts_with(artifacts) {
            in_artifacts(artifacts)
        } else if target.starts_with(folder) {
            format!("it is inside the registry folder {}", folder.display())
        } else if folder.starts_with(&target) {
            format!("it holds the registry folder {}", folder.display())
        } else {
            return Ok(());
        };
        Err(RegistryError::RefusedFolder {
            path: path.to_path_buf(),
            reason,
        })
    }
}

/// `path` made absolute with its links followed and `..` applied. The part
/// that does not exist yet is resolved through its nearest existing folder,
/// and a link to a missing file through the file it names, so the result is
/// the file a write to `path` would create.
fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    resolve_absolute(&absolute, 0)
}

fn resolve_absolute(path: &Path, links: usize) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    if links < MAX_LINKS
        && let Ok(to) = std::fs::read_link(path)
    {
        // A relative link is relative to its folder; joining an absolute one replaces.
        let next = path
            .parent()
            .map_or_else(|| to.clone(), |dir| dir.join(&to));
        return resolve_absolute(&next, links + 1);
    }
    let Some(parent) = path.parent() else {
        return path.to_path_buf();
    };
    let parent = resolve_absolute(parent, links);
    match path.components().next_back() {
        Some(Component::Normal(name)) => parent.join(name),
        Some(Component::ParentDir) => parent
            .parent()
            .map_or_else(|| parent.clone(), Path::to_path_buf),
        _ => parent,
    }
}

/// Why a path in the artifacts folder is refused.
fn in_artifacts(artifacts: &Path) -> String {
    format!(
        "it is in the registry's artifacts folder {}, which holds the runs' weights",
        artifacts.display()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn registry() -> (tempfile::TempDir, RegistryFiles) {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("registry");
        std::fs::create_dir_all(folder.join("artifacts/run-1")).unwrap();
        std::fs::write(folder.join("registry.db"), b"db").unwrap();
        let files = RegistryFiles::of(&folder.join("registry.db"));
        (dir, files)
    }

    #[test]
    fn the_database_its_journal_and_the_artifacts_are_refused() {
        let (dir, files) = registry();
        let folder = dir.path().join("registry");
        for refused in [
            "registry.db",
            "registry.db-wal",
            "registry.db-shm",
            "artifacts/run-1/model.safetensors",
            "artifacts/run-2/new.csv",
            "artifacts/../registry.db",
            "elsewhere/../registry.db",
        ] {
            let error = files.check_file(&folder.join(refused)).unwrap_err();
            assert!(error.to_string().contains("refusing"), "{refused}: {error}");
        }
        for allowed in ["predictions.csv", "registry.db.csv", "artifacts.csv"] {
            files.check_file(&folder.join(allowed)).unwrap();
        }
        files.check_file(&dir.path().join("out.csv")).unwrap();
    }

    #[test]
    fn links_are_followed_before_comparing() {
        let (dir, files) = registry();
        let folder = dir.path().join("registry");
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(folder.join("registry.db"), &link).unwrap();
        assert!(files.check_file(&link).is_err());
        // A link to a file not there yet, inside the artifacts.
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink(folder.join("artifacts/run-9/x"), &dangling).unwrap();
        assert!(files.check_file(&dangling).is_err());
        // A linked folder.
        let linked = dir.path().join("linked");
        std::os::unix::fs::symlink(&folder, &linked).unwrap();
        assert!(files.check_file(&linked.join("artifacts/new.png")).is_err());
        assert!(files.check_folder(&linked).is_err());
    }

    #[test]
    fn the_registry_folder_what_it_holds_and_what_holds_it_are_refused() {
        let (dir, files) = registry();
        let folder = dir.path().join("registry");
        assert!(files.check_folder(&folder).is_err());
        assert!(files.check_folder(&folder.join("artifacts")).is_err());
        assert!(files.check_folder(&folder.join("exports/new")).is_err());
        assert!(files.check_folder(dir.path()).is_err());
        files.check_folder(&dir.path().join("export")).unwrap();
        files
            .check_folder(&dir.path().join("registry-export"))
            .unwrap();
    }
}
