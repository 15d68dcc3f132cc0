//! The index: the only module that knows tantivy.
//!
//! Owns the on-disk layout (a tantivy directory), turning events into documents, the ingest ledger
//! committed atomically with the data, and executing queries (`search`, `stats`, `info`).

pub mod merge;
pub mod phrase;
pub mod read;
pub mod schema;
pub mod write;

use std::path::{Path, PathBuf};

use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{Index, IndexSettings};
use thiserror::Error;

pub use read::Reader;
pub use schema::Fields;
pub use write::{Finished, PreparedDoc, Writer, WriterConfig};

/// Doc store block size. CloudTrail records repeat long ARNs and user agents across hundreds of records,
/// so a bigger window compresses markedly better: measured on 100k generated events (zstd level 1),
/// 128 KiB blocks stored 124 bytes a record, 512 KiB 100, 1 MiB 96. A single-hit fetch inflates one block
/// (~0.3 ms at 512 KiB), which keeps a page of 100 scattered hits within the 50 ms budget.
const DOCSTORE_BLOCK: usize = 512 * 1024;
/// zstd level of the doc store: with 512 KiB blocks, levels 1–4 land within 2 % of each other in size
/// while level 6 costs 25 % more ingest CPU for 8 % less; level 1 is the cheapest (measured, see
/// benches/RESULTS.md).
const DOCSTORE_ZSTD_LEVEL: i32 = 1;

/// What can go wrong with the index.
#[derive(Debug, Error)]
pub enum IndexError {
    #[error("index {dir}: another ingest is writing to it (only one writer at a time)")]
    Busy { dir: PathBuf },
    #[error("index {dir}: no index here yet (run `sagetrail ingest` first)")]
    Missing { dir: PathBuf },
    #[error("index {dir}: made by a sagetrail with another index schema; rebuild it from its sources with `sagetrail ingest … --reindex`")]
    SchemaMismatch { dir: PathBuf },
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

pub(crate) fn tv(dir: &Path) -> impl Fn(tantivy::TantivyError) -> IndexError + '_ {
    move |source| IndexError::Tantivy {
        dir: dir.to_path_buf(),
        source,
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
pub fn open_replacing(dir: &Path) -> Result<(Index, Fields), IndexError> {
    match open(dir, true) {
        Err(IndexError::SchemaMismatch { .. }) => {}
        other => return other,
    }
    let old = Index::open_in_dir(dir).map_err(tv(dir))?;
    // tantivy's minimum heap for one indexing thread; nothing is indexed with it.
    const LOCK_HEAP: usize = 15_000_000;
    let lock = old
        .writer_with_num_threads::<tantivy::TantivyDocument>(1, LOCK_HEAP)
        .map_err(writer_error(dir))?;
    remove_index_files(dir)?;
    drop(lock);
    drop(old);
    open(dir, true)
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
pub fn open(dir: &Path, create: bool) -> Result<(Index, Fields), IndexError> {
    let exists = dir.join("meta.json").exists();
    if !exists && !create {
        return Err(IndexError::Missing {
            dir: dir.to_path_buf(),
        });
    }
    let index = if exists {
        Index::open_in_dir(dir).map_err(tv(dir))?
    } else {
        ensure_dir(dir)?;
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
