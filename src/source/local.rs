//! Local folders: walk paths recursively, judge each file by name, describe it by size and mtime.

use std::path::{Path, PathBuf};

use super::{classify_cloudtrail, Verdict};
use crate::model::ObjectRef;

/// A file to read.
#[derive(Debug, Clone)]
pub(crate) struct LocalObject {
    pub path: PathBuf,
    pub obj: ObjectRef,
}

/// What a walk found.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub objects: Vec<LocalObject>,
    /// Files skipped by name, per reason ([`Verdict::reason`]).
    pub skipped: std::collections::BTreeMap<&'static str, u64>,
    /// Paths that could not be walked or stat'ed, with the reason.
    pub errors: Vec<(String, String)>,
}

/// Walk `paths` (files or folders) in a deterministic order.
pub(crate) fn list(paths: &[PathBuf], classify: fn(&str) -> Verdict) -> Listing {
    let mut out = Listing::default();
    for root in paths {
        if !root.exists() {
            out.errors
                .push((root.display().to_string(), "no such file or folder".into()));
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let p = e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| root.display().to_string());
                    out.errors.push((p, e.to_string()));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            let name = path.to_string_lossy();
            let verdict = classify(&name);
            match verdict.reason() {
                Some(why) => *out.skipped.entry(why).or_default() += 1,
                None => match describe(path) {
                    Ok(obj) => out.objects.push(LocalObject {
                        path: path.to_path_buf(),
                        obj,
                    }),
                    Err(e) => out.errors.push((name.into_owned(), e.to_string())),
                },
            }
        }
    }
    out
}

/// Name (absolute path) and version (size and mtime in nanoseconds) of a file.
pub(crate) fn describe(path: &Path) -> std::io::Result<ObjectRef> {
    let meta = std::fs::metadata(path)?;
    let abs = std::fs::canonicalize(path)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(ObjectRef {
        name: abs.to_string_lossy().into_owned(),
        version: format!("{}:{}", meta.len(), mtime),
        size: meta.len(),
    })
}

/// The default classifier for CloudTrail folders.
pub(crate) fn cloudtrail_listing(paths: &[PathBuf]) -> Listing {
    list(paths, classify_cloudtrail)
}
