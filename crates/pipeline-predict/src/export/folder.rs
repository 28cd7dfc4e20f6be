//! Writing an export's folder so that a failure leaves no folder: built
//! beside DIR, every file synced, then renamed into place. DIR must be new,
//! empty, or (with `force`) an earlier export; [`RegistryFiles`] refuses
//! the paths no export may replace (the registry's own folder). Folders are
//! synced with the registry's atomic-write module ([`sync_dir`]).

use std::fs;
use std::path::{Path, PathBuf};

use pipeline_registry::{RegistryFiles, stage_folder, sync_dir};
use serde_json::Value;

use super::FILES;
use crate::error::PredictError;

/// The folder written, and what could not be cleaned up after.
#[derive(Debug)]
pub struct Written {
    /// The folder's absolute path.
    pub path: PathBuf,
    /// Set when a replaced export could not be removed.
    pub warning: Option<String>,
}

/// Refuses a DIR that is or holds a registry's files, that is a file, or
/// a folder with files in it unless `force` and it is an earlier export,
/// before any work is done.
pub fn check_destination(
    out: &Path,
    force: bool,
    registry: &RegistryFiles,
) -> Result<(), PredictError> {
    registry.check_folder(out)?;
    check_folder(out, force)
}

/// [`check_destination`] after the guard.
fn check_folder(out: &Path, force: bool) -> Result<(), PredictError> {
    let read = || PredictError::io(format!("cannot read {}", out.display()));
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(read()(e)),
        Ok(meta) if !meta.is_dir() => Err(PredictError::usage(
            format!("cannot export to {}: it is not a folder", out.display()),
            Some("name a new folder, e.g. --out export/"),
        )),
        Ok(_) if is_empty_dir(out)? => Ok(()),
        Ok(_) if !force => Err(PredictError::usage(
            format!(
                "cannot export to {}: the folder is not empty",
                out.display()
            ),
            Some("pass --force to replace an earlier export, or name a new folder"),
        )),
        Ok(_) => match foreign_entry(out)? {
            None => Ok(()),
            Some(reason) => Err(PredictError::usage(
                format!(
                    "cannot export to {}: it is not an earlier export ({reason}); --force only replaces one",
                    out.display()
                ),
                Some("name a new folder, or move this one away yourself if it may go"),
            )),
        },
    }
}

/// Why the folder `out` is not one an earlier export wrote, or `None` when
/// it is: only the files of an export, with a receipt naming pipeline.
fn foreign_entry(out: &Path) -> Result<Option<String>, PredictError> {
    let read = || PredictError::io(format!("cannot read {}", out.display()));
    for entry in fs::read_dir(out).map_err(read())? {
        let entry = entry.map_err(read())?;
        let name = entry.file_name();
        let is_file = entry.file_type().map_err(read())?.is_file();
        if !is_file || !FILES.iter().any(|known| name == *known) {
            return Ok(Some(format!(
                "it holds {}, which an export does not write",
                name.to_string_lossy()
            )));
        }
    }
    let receipt = out.join("receipt.json");
    let exported_by = fs::read(&receipt)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|value| value.get("exported_by")?.as_str().map(str::to_owned));
    Ok(match exported_by {
        Some(by) if by.starts_with("pipeline ") => None,
        _ => Some("it has no receipt.json written by pipeline".to_owned()),
    })
}

fn is_empty_dir(path: &Path) -> Result<bool, PredictError> {
    let mut entries =
        fs::read_dir(path).map_err(PredictError::io(format!("cannot read {}", path.display())))?;
    Ok(entries.next().is_none())
}

/// Builds the folder in a temporary folder beside `out`, syncs every file,
/// then renames it to `out` (moving a previous `out` away first when
/// `force`), checking the destination again just before.
pub fn write_folder(
    out: &Path,
    force: bool,
    registry: &RegistryFiles,
    files: &[(&str, Vec<u8>)],
) -> Result<Written, PredictError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let staging = stage(&parent, files)?;
    // Checked again: DIR may have appeared while the artifacts were read.
    check_destination(out, force, registry)?;
    replace(out, &parent, staging)
}

/// The files written and synced in a new temporary folder in `parent`
/// (the registry's atomic-write module stages it).
fn stage(parent: &Path, files: &[(&str, Vec<u8>)]) -> Result<tempfile::TempDir, PredictError> {
    fs::create_dir_all(parent).map_err(PredictError::io(format!(
        "cannot create the folder {}",
        parent.display()
    )))?;
    stage_folder(parent, ".export-", files).map_err(|e| {
        let what = e.to_string();
        PredictError::io(what)(e.source)
    })
}

/// Renames `staging` to `out`, moving a previous `out` aside first and
/// removing it once the new one is in place.
fn replace(out: &Path, parent: &Path, staging: tempfile::TempDir) -> Result<Written, PredictError> {
    let mut previous = None;
    if out.is_dir() {
        if is_empty_dir(out)? {
            fs::remove_dir(out).map_err(PredictError::io(format!(
                "cannot replace {}",
                out.display()
            )))?;
        } else {
            let graveyard = tempfile::Builder::new()
                .prefix(".export-old-")
                .tempdir_in(parent)
                .map_err(PredictError::io(format!(
                    "cannot create a temporary folder in {}",
                    parent.display()
                )))?;
            let moved = graveyard.path().join("previous");
            fs::rename(out, &moved).map_err(PredictError::io(format!(
                "cannot move {} aside",
                out.display()
            )))?;
            previous = Some((graveyard, moved));
        }
    }
    if let Err(error) = fs::rename(staging.path(), out) {
        if let Some((_, moved)) = &previous {
            // Put the old folder back; the temporary ones are removed on drop.
            let _ = fs::rename(moved, out);
        }
        return Err(PredictError::io(format!("cannot write {}", out.display()))(
            error,
        ));
    }
    // Renamed away: nothing left for the guard to remove.
    let _ = staging.keep();
    let _ = sync_dir(parent);
    let mut warning = None;
    if let Some((graveyard, _)) = previous {
        let path = graveyard.path().to_path_buf();
        if let Err(error) = graveyard.close() {
            warning = Some(format!(
                "cannot remove the replaced export at {}: {error}",
                path.display()
            ));
        }
    }
    Ok(Written {
        path: fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf()),
        warning,
    })
}
