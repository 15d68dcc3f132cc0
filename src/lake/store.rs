//! Where a lake lives: a local folder or `s3://bucket/prefix`. Files are put whole: locally under a
//! temporary dot-name (which no engine reads) renamed into place; on S3 by one PutObject, which readers
//! see whole or not at all. Paths are relative to the lake's root, with `/`.

use std::path::PathBuf;

use crate::source::aws::{self, AwsOptions};
use crate::source::s3::{self, S3Url};

/// A lake's root.
pub(crate) enum Store {
    Local(PathBuf),
    S3 {
        client: s3::Client,
        rt: tokio::runtime::Runtime,
        bucket: String,
        prefix: String,
    },
}

impl Store {
    /// Open `dest`: `s3://bucket/prefix` through the AWS credential chain, else a local folder (made).
    pub(crate) fn open(dest: &str, opts: &AwsOptions) -> Result<Store, String> {
        if dest.starts_with("s3://") {
            let url =
                S3Url::parse(dest).ok_or_else(|| format!("{dest:?} is not s3://bucket/prefix"))?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the AWS runtime: {e}"))?;
            let conf = rt.block_on(aws::load(opts));
            let client = s3::client(&conf);
            let prefix = url.prefix.trim_end_matches('/').to_string();
            Ok(Store::S3 {
                client,
                rt,
                bucket: url.bucket,
                prefix,
            })
        } else {
            let p = PathBuf::from(dest);
            std::fs::create_dir_all(&p).map_err(|e| format!("lake {dest}: cannot create: {e}"))?;
            Ok(Store::Local(p))
        }
    }

    /// The root as engines address it (`s3://…` or an absolute path).
    pub(crate) fn root(&self) -> String {
        match self {
            Store::Local(p) => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            Store::S3 { bucket, prefix, .. } if prefix.is_empty() => format!("s3://{bucket}"),
            Store::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }

    fn key(prefix: &str, rel: &str) -> String {
        if prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{prefix}/{rel}")
        }
    }

    /// Put `bytes` at `rel`, whole.
    pub(crate) fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), String> {
        match self {
            Store::Local(root) => {
                use std::io::Write;
                let path = root.join(rel);
                let dir = path.parent().unwrap_or(root);
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
                let tmp = dir.join(format!(".tmp-{name}.{}", std::process::id()));
                let mut f =
                    std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
                f.write_all(&bytes)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| format!("{}: {e}", tmp.display()))?;
                std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
            }
            Store::S3 {
                client,
                rt,
                bucket,
                prefix,
            } => rt.block_on(s3::put(client, bucket, &Self::key(prefix, rel), bytes)),
        }
    }

    /// Every file under `rel` (relative paths), in name order; a missing folder is empty.
    pub(crate) fn list(&self, rel: &str) -> Result<Vec<String>, String> {
        let mut out = match self {
            Store::Local(root) => {
                let base = root.join(rel);
                if !base.exists() {
                    return Ok(Vec::new());
                }
                let mut v = Vec::new();
                for e in walkdir::WalkDir::new(&base) {
                    let e = e.map_err(|e| format!("{}: {e}", base.display()))?;
                    if e.file_type().is_file() {
                        if let Ok(r) = e.path().strip_prefix(root) {
                            v.push(r.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                v
            }
            Store::S3 {
                client,
                rt,
                bucket,
                prefix,
            } => {
                let p = Self::key(prefix, rel);
                let strip = if prefix.is_empty() {
                    0
                } else {
                    prefix.len() + 1
                };
                let (objs, _) = rt.block_on(s3::list_under(client, bucket, &p, |_| true))?;
                objs.into_iter()
                    .map(|o| o.key[strip..].to_string())
                    .collect()
            }
        };
        out.sort();
        Ok(out)
    }

    /// Read the file at `rel`.
    pub(crate) fn get(&self, rel: &str) -> Result<Vec<u8>, String> {
        match self {
            Store::Local(root) => std::fs::read(root.join(rel))
                .map_err(|e| format!("{}: {e}", root.join(rel).display())),
            Store::S3 {
                client,
                rt,
                bucket,
                prefix,
            } => rt.block_on(s3::fetch(client, bucket, &Self::key(prefix, rel))),
        }
    }

    /// Remove the file at `rel` (gone already is fine).
    pub(crate) fn delete(&self, rel: &str) -> Result<(), String> {
        match self {
            Store::Local(root) => match std::fs::remove_file(root.join(rel)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!("{}: {e}", root.join(rel).display())),
            },
            Store::S3 {
                client,
                rt,
                bucket,
                prefix,
            } => rt.block_on(s3::delete(client, bucket, &Self::key(prefix, rel))),
        }
    }
}
