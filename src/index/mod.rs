//! The index: the only module that knows tantivy.
//!
//! Owns the on-disk layout (a tantivy directory), turning events into documents, the ingest ledger
//! committed atomically with the data, and executing queries (`search`, `stats`, `info`).

mod collect;
mod compile;
pub(crate) mod histogram;
pub(crate) mod merge;
pub(crate) mod phrase;
pub(crate) mod read;
pub mod schema;
pub(crate) mod write;

use std::path::{Path, PathBuf};

use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{Index, IndexSettings};
use thiserror::Error;

pub(crate) use read::Reader;
pub use schema::Fields;
pub use write::{Finished, PreparedDoc, Writer, WriterConfig};

/// Doc store block size. CloudTrail records repeat long ARNs and user agents across hundreds of records,
/// so a bigger window compresses markedly better: measured on 100k generated events (zstd level 1),
/// 128 KiB blocks stored 124 bytes a record, 512 KiB 100, 1 MiB 96. A single-hit fetch inflates one block
/// (~0.3 ms at 512 KiB), which keeps a page of 100 scattered hits within the 50 ms budget.
const DOCSTORE_BLOCK: usize = 512 * 1024;
/// zstd level of the doc store, the largest part of the index. Measured on the 300k-event bench corpus
/// with 512 KiB blocks (benches/RESULTS.md, "Index size"): levels 1–3 land within 1 % of each other,
/// level 7 stores 4.5 % less of the whole index and level 9 5.8 % less; level 9 took the store's share
/// of ingest CPU from 2.5 to 15.4 µs an event (bench ablation), +8 % to +27 % of a whole ingest at 5M and
/// 1.2M events; reading is as fast at any level. Level 9 is what brings the index under 1.5× the gzip input (issue
/// 17's product decision; merges stack compressed blocks, they do not recompress).
const DOCSTORE_ZSTD_LEVEL: i32 = 9;

/// What can go wrong with the index.
#[derive(Debug, Error)]
pub enum IndexError {
    #[error("index {dir}: another ingest is writing to it (only one writer at a time)")]
    Busy { dir: PathBuf },
    #[error("index {dir}: no index here yet (run `sagetrail ingest` first)")]
    Missing { dir: PathBuf },
    #[error("index {dir}: made by a sagetrail with another index schema; rebuild it from its sources with `sagetrail ingest … --reindex`")]
    SchemaMismatch { dir: PathBuf },
    #[error("index {dir} is damaged ({detail}); `sagetrail verify` names the damaged files, and `sagetrail ingest … --reindex` rebuilds the index from its sources")]
    Damaged { dir: PathBuf, detail: String },
    #[error("index {dir}: no space left on its device ({free} bytes free); free some and run the ingest again: what was committed is intact ({detail})")]
    NoSpace {
        dir: PathBuf,
        free: u64,
        detail: String,
    },
    #[error("index {dir}: {what}")]
    Limit { dir: PathBuf, what: String },
    #[error("index {dir}: {what}: {source}")]
    Private {
        dir: PathBuf,
        what: String,
        source: std::io::Error,
    },
    #[error("index {dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("index {dir}: {source}")]
    Tantivy {
        dir: PathBuf,
        source: tantivy::TantivyError,
    },
    #[error("{0}")]
    Query(String),
}

/// Below this many free bytes, a failed write is taken for a full disk: a commit writes segment files of
/// several MiB, so a device this close to full cannot have taken it.
const LOW_SPACE: u64 = 64 * 1024 * 1024;

/// Free bytes on the device holding `dir`, for an unprivileged writer.
fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `c` is a valid NUL-terminated path and `st` a buffer of the right type for statvfs.
        let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: statvfs returned 0, so it filled `st`.
        let st = unsafe { st.assume_init() };
        // The field types differ between platforms (u32 on some 32-bit ones).
        #[allow(clippy::unnecessary_cast)]
        Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Whether a writer error is (most likely) a full disk.
fn disk_full(dir: &Path, message: &str) -> bool {
    message.contains("No space left")
        || message.contains("StorageFull")
        || ((message.contains("killed") || message.contains("worker thread"))
            && free_bytes(dir).is_some_and(|f| f < LOW_SPACE))
}

pub(crate) fn tv(dir: &Path) -> impl Fn(tantivy::TantivyError) -> IndexError + '_ {
    use tantivy::TantivyError as T;
    move |source| match &source {
        // A file that is missing, truncated or garbled: say so, and what to do.
        T::OpenReadError(_) | T::DataCorruption(_) | T::OpenDirectoryError(_) => {
            IndexError::Damaged {
                dir: dir.to_path_buf(),
                detail: source.to_string(),
            }
        }
        T::IoError(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            IndexError::Damaged {
                dir: dir.to_path_buf(),
                detail: source.to_string(),
            }
        }
        // tantivy reports a full disk as a killed writer or a worker thread's error: name the cause.
        _ if disk_full(dir, &source.to_string()) => IndexError::NoSpace {
            dir: dir.to_path_buf(),
            free: free_bytes(dir).unwrap_or(0),
            detail: source.to_string(),
        },
        _ => IndexError::Tantivy {
            dir: dir.to_path_buf(),
            source,
        },
    }
}

fn settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::Zstd(ZstdCompressor {
            compression_level: Some(DOCSTORE_ZSTD_LEVEL),
        }),
        docstore_blocksize: DOCSTORE_BLOCK,
        ..Default::default()
    }
}

/// Make an existing index private to the user: the directory 0700, its files 0600 (an index made
/// before, or a directory made by hand, may let others read every raw record).
fn make_private(dir: &Path) -> Result<(), IndexError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let err = |what: String| {
            let d = dir.to_path_buf();
            move |source| IndexError::Private {
                dir: d,
                what,
                source,
            }
        };
        let set = |p: &Path, mode: u32| -> Result<(), IndexError> {
            let meta = std::fs::symlink_metadata(p).map_err(err(format!(
                "cannot read the permissions of {}",
                p.display()
            )))?;
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(err(
                    format!("cannot make {} private (mode {mode:o})", p.display()),
                ))?;
            }
            Ok(())
        };
        set(dir, 0o700)?;
        for e in std::fs::read_dir(dir).map_err(err("cannot list the directory".into()))? {
            let e = e.map_err(err("cannot list the directory".into()))?;
            if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                set(&e.path(), 0o600)?;
            }
        }
    }
    Ok(())
}

/// Create the directory private to the user (0700) when it does not exist.
fn ensure_dir(dir: &Path) -> Result<(), IndexError> {
    let io = |source| IndexError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir).map_err(io)?;
    }
    Ok(())
}

/// Open for a writer that replaces everything (`ingest --reindex`). An index made with another schema
/// cannot be opened with this one, so its files are removed — under its own writer lock, so an ingest
/// running on it is never pulled from under — and a new index is created. Unlike a same-schema reindex
/// (the old documents are dropped in the commit that adds the new ones), a kill before the first commit
/// then leaves an empty index, which the next run fills.
///
/// A damaged index (an empty, truncated or garbage `meta.json` or `.managed.json`, a segment file
/// missing, truncated or zeroed) is rebuilt the same way: the writer lock is taken on the directory
/// itself, which needs nothing of the index to be readable.
pub(crate) fn open_replacing(dir: &Path) -> Result<(Index, Fields), IndexError> {
    let opened = guard(dir, || open(dir, true)).and_then(|r| r);
    match opened {
        // A readable index of this schema: a reindex drops its documents in the commit of the new data.
        Ok((index, fields)) => {
            if let Ok(Ok(())) = guard(dir, || verify_files(dir, &index)) {
                return Ok((index, fields));
            }
        }
        Err(IndexError::SchemaMismatch { .. } | IndexError::Damaged { .. }) => {}
        Err(e) => return Err(e),
    }
    use tantivy::directory::{Directory, MmapDirectory, INDEX_WRITER_LOCK};
    let directory = MmapDirectory::open(dir).map_err(|e| IndexError::Damaged {
        dir: dir.to_path_buf(),
        detail: e.to_string(),
    })?;
    let lock = directory
        .acquire_lock(&INDEX_WRITER_LOCK)
        .map_err(|_| IndexError::Busy {
            dir: dir.to_path_buf(),
        })?;
    remove_index_files(dir)?;
    drop(lock);
    drop(directory);
    open(dir, true)
}

/// Every file of the index's segments is present and its checksum matches: `sagetrail verify`, and
/// `ingest --reindex` before it keeps an index it could otherwise read.
pub(crate) fn verify_files(dir: &Path, index: &Index) -> Result<(), IndexError> {
    let bad = index.validate_checksum().map_err(|e| IndexError::Damaged {
        dir: dir.to_path_buf(),
        detail: e.to_string(),
    })?;
    if bad.is_empty() {
        return Ok(());
    }
    let mut names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
    names.sort();
    Err(IndexError::Damaged {
        dir: dir.to_path_buf(),
        detail: format!("checksum mismatch in {}", names.join(", ")),
    })
}

/// What `sagetrail verify` found: the segments checked, or why the index is damaged.
pub(crate) fn verify(dir: &Path) -> Result<usize, IndexError> {
    let (index, _) = guard(dir, || open(dir, false))??;
    guard(dir, || verify_files(dir, &index))??;
    let metas = index.searchable_segment_metas().map_err(tv(dir))?;
    // Reading every column and posting list proves more than the checksums (a file can be rewritten
    // whole, footer and all); open each segment and its fast fields.
    guard(dir, || -> Result<(), IndexError> {
        let reader = index.reader().map_err(tv(dir))?;
        let searcher = reader.searcher();
        for seg in searcher.segment_readers() {
            let ff = seg.fast_fields();
            let col = ff
                .date(crate::catalog::names::EVENT_TIME)
                .map_err(tv(dir))?;
            for d in 0..seg.max_doc() {
                if let Some(t) = col.first(d) {
                    let ms = t.into_timestamp_millis();
                    if !(crate::normalise::time::MIN_MS..=crate::normalise::time::MAX_MS)
                        .contains(&ms)
                    {
                        return Err(IndexError::Damaged {
                            dir: dir.to_path_buf(),
                            detail: format!(
                                "segment {} holds an impossible eventTime",
                                seg.segment_id().uuid_string()
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    })??;
    Ok(metas.len())
}

/// Run `f`, turning a panic inside tantivy (a garbled file it trusted) into [`IndexError::Damaged`].
pub(crate) fn guard<T>(dir: &Path, f: impl FnOnce() -> T) -> Result<T, IndexError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| IndexError::Damaged {
        dir: dir.to_path_buf(),
        detail: panic_text(&p),
    })
}

/// The message of a caught panic.
pub(crate) fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a reader failed".into())
}

/// The error of taking an index's writer: another writer holds it, or something else went wrong.
pub(crate) fn writer_error(dir: &Path) -> impl Fn(tantivy::TantivyError) -> IndexError + '_ {
    move |e| match e {
        tantivy::TantivyError::LockFailure(..) => IndexError::Busy {
            dir: dir.to_path_buf(),
        },
        other => tv(dir)(other),
    }
}

/// Remove the files of a tantivy index (its metadata and segment files, named by a 32-hex-digit segment
/// id) and nothing else: the directory may hold other files of the user's, and the lock files belong to
/// the writer holding them.
fn remove_index_files(dir: &Path) -> Result<(), IndexError> {
    let io = |source| IndexError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stem = name.split('.').next().unwrap_or("");
        let segment_file = stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit());
        if (name == "meta.json" || name == ".managed.json" || segment_file)
            && entry.path().is_file()
        {
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
    }
    Ok(())
}

/// Open the index in `dir`, creating it when `create` is set.
pub(crate) fn open(dir: &Path, create: bool) -> Result<(Index, Fields), IndexError> {
    let exists = dir.join("meta.json").exists();
    if !exists && !create {
        return Err(IndexError::Missing {
            dir: dir.to_path_buf(),
        });
    }
    let index = if exists {
        if create {
            make_private(dir)?;
        }
        Index::open_in_dir(dir).map_err(|e| IndexError::Damaged {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        })?
    } else {
        ensure_dir(dir)?;
        make_private(dir)?;
        Index::builder()
            .schema(schema::build_schema())
            .settings(settings())
            .create_in_dir(dir)
            .map_err(tv(dir))?
    };
    if index.schema() != schema::build_schema() {
        return Err(IndexError::SchemaMismatch {
            dir: dir.to_path_buf(),
        });
    }
    schema::register_tokenizers(&index);
    let fields = Fields::new(index.schema()).map_err(tv(dir))?;
    Ok((index, fields))
}

/// Indexes for tests: records through the real normalise and writer into a temporary directory.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Reader, Writer, WriterConfig};

    /// A writer of the index in `dir`, with a small heap and one indexing thread.
    pub(crate) fn writer_at(dir: &std::path::Path) -> Writer {
        Writer::open(&WriterConfig {
            dir: dir.to_path_buf(),
            heap_bytes: 32 << 20,
            threads: 1,
            reindex: false,
            commit_every: 10_000,
            dry_run: false,
            omit: Default::default(),
            merge: Default::default(),
            max_inflated: crate::decode::DEFAULT_MAX_INFLATED,
        })
        .unwrap()
    }

    /// An index of `records` (CloudTrail records, each as JSON) in a new temporary directory.
    pub(crate) fn index_of(records: &[serde_json::Value]) -> (tempfile::TempDir, Reader) {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer_at(dir.path());
        let docs = records
            .iter()
            .map(|r| {
                let n = crate::normalise::cloudtrail(&r.to_string()).unwrap();
                super::write::prepare(w.fields(), n.event)
            })
            .collect();
        w.add_object(None, docs, false).unwrap();
        w.finish().unwrap();
        let r = Reader::open(dir.path()).unwrap();
        (dir, r)
    }
}
