//! Writing the generated folder all at once: into a temporary folder beside the target, then
//! renamed into place, so a reader never sees half of a new set.

use std::fs;
use std::path::{Path, PathBuf};

use super::{GeneratedFile, OpsError};

/// The file that marks a folder as the generator's own: only such a folder is replaced.
pub const MARKER: &str = ".generated-by-obs";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OpsError + '_ {
    move |source| OpsError::Io { path: path.to_owned(), source }
}

/// A file of `dir` that neither the generator nor its marker accounts for.
fn foreign_file(dir: &Path, files: &[GeneratedFile]) -> Result<Option<PathBuf>, OpsError> {
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).map_err(io(&current))? {
            let path = entry.map_err(io(&current))?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            if relative != MARKER && !files.iter().any(|f| f.path == relative) {
                return Ok(Some(path));
            }
        }
    }
    Ok(None)
}

pub(super) fn replace_dir(dir: &Path, files: &[GeneratedFile]) -> Result<Vec<PathBuf>, OpsError> {
    if dir.exists() && !dir.is_dir() {
        return Err(OpsError::NotADirectory(dir.to_owned()));
    }
    if dir.is_dir() && !dir.join(MARKER).exists() {
        if let Some(found) = foreign_file(dir, files)? {
            return Err(OpsError::NotGenerated { dir: dir.to_owned(), found });
        }
    }
    let name = dir.file_name().map_or_else(|| "ops".into(), |n| n.to_string_lossy().into_owned());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = parent.join(format!(".{name}.obs-new-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let written = stage(&staging, files).inspect_err(|_| {
        let _ = fs::remove_dir_all(&staging);
    })?;
    let old = parent.join(format!(".{name}.obs-old-{}", std::process::id()));
    if dir.exists() {
        fs::rename(dir, &old).map_err(io(dir))?;
    }
    if let Err(source) = fs::rename(&staging, dir) {
        // Put the previous set back: the target is as it was.
        let _ = fs::rename(&old, dir);
        let _ = fs::remove_dir_all(&staging);
        return Err(OpsError::Io { path: dir.to_owned(), source });
    }
    let _ = fs::remove_dir_all(&old);
    Ok(written.into_iter().map(|relative| dir.join(relative)).collect())
}

fn stage(staging: &Path, files: &[GeneratedFile]) -> Result<Vec<PathBuf>, OpsError> {
    let mut written = Vec::new();
    for file in files {
        let path = staging.join(file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        fs::write(&path, &file.contents).map_err(io(&path))?;
        written.push(PathBuf::from(file.path));
    }
    let marker: String = files.iter().map(|f| format!("{}\n", f.path)).collect();
    fs::write(staging.join(MARKER), marker).map_err(io(staging))?;
    Ok(written)
}
