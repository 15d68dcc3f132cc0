//! The lake: what sagetrail knows about each CloudTrail event (every attribution key, `actor`,
//! `actorBasis`) written as Parquet that Spark, Athena, Trino and DuckDB query; a second sink beside the
//! index (source → decode → normalise → lake), without tantivy.
//!
//! Layout under the root: `events/account=<recipientAccountId>/region=<awsRegion>/date=YYYY-MM-DD/` and
//! `issued_keys/`. The unit of work is one folder of input objects (a trail's account/region/day prefix);
//! its objects, sorted by name, are cut into chunks of `--chunk-mb`, and each chunk's files are named by
//! the unit and a digest of the chunk's objects (names and versions): the same inputs always give the same
//! names and bytes, so a rerun or a retried task replaces instead of adding. When a unit is written whole,
//! its files that the new ones supersede are removed; a unit with a failed object removes nothing, so a
//! failure never loses what an earlier run wrote. Files are put whole (see `store`).

pub(crate) mod ddl;
pub mod schema;
pub(crate) mod sql;
pub(crate) mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, StringBuilder, TimestampMillisecondBuilder};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use serde::Serialize;

use crate::ingest::cloudtrail_events;
use crate::messages::Messages;
use crate::model::{Event, ObjectRef};
use crate::source::aws::AwsOptions;
use crate::source::local;
use crate::source::s3::{self, TrailFilter};
use crate::Error;
use store::Store;

/// Input bytes per chunk by default: 40k–140k events (real trails are 120–400 B/event gzipped), files of
/// 10–50 MB after zstd, and a peak of about 1.4 GB while the most compressible corpus's chunk is decoded,
/// sorted and encoded (benches/LAKE.md); `--chunk-mb` trades file size against memory.
pub(crate) const DEFAULT_CHUNK_MB: u64 = 16;
/// Rows per row group: large enough for column statistics to prune, small enough to read a slice.
pub(crate) const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Rows per file at most (a partition's rows of one chunk beyond it go to a second file).
pub(crate) const DEFAULT_ROWS_PER_FILE: usize = 1_000_000;
/// zstd level of every column: level 3 is zstd's own default, a good ratio at a fast write.
const ZSTD_LEVEL: i32 = 3;
/// Objects fetched from S3 at once while a chunk is read.
const FETCH_CONCURRENCY: usize = 16;

/// Where `lake write` reads from.
pub(crate) use crate::source::Location as Input;

/// What `lake write` is asked to do.
#[derive(Debug, Clone)]
pub(crate) struct WriteConfig {
    pub inputs: Vec<Input>,
    pub filter: TrailFilter,
    pub dest: String,
    pub aws: AwsOptions,
    pub chunk_bytes: u64,
    pub rows_per_file: usize,
    pub max_inflated: u64,
    pub max_object_bytes: u64,
}

/// What a `lake write` did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WriteSummary {
    pub dest: String,
    pub units: u64,
    pub objects_listed: u64,
    pub objects_read: u64,
    pub objects_skipped: u64,
    pub objects_failed: u64,
    pub records_failed: u64,
    pub events_written: u64,
    pub issued_keys_written: u64,
    pub files_written: u64,
    pub files_removed: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    pub events_per_second: f64,
}

/// A file ready to put: its path under the root, its bytes and how many rows it holds.
type Encoded = (String, Vec<u8>, usize);

/// One object to read.
#[derive(Debug, Clone)]
struct Obj {
    obj: ObjectRef,
    at: Loc,
}

#[derive(Debug, Clone)]
enum Loc {
    Local(std::path::PathBuf),
    S3 { bucket: String, key: String },
}

fn hex64(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// A partition value as a Hive path segment: letters, digits, `-` and `_` as they are, anything else
/// `%XX` (what engines decode), so a hostile awsRegion cannot climb out of its folder.
pub(crate) fn escape_partition(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        "unknown".into()
    } else {
        out
    }
}

/// The partition folder of an event.
fn partition(e: &Event) -> String {
    let date = jiff::Timestamp::from_millisecond(e.time_ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "events/account={}/region={}/date={}",
        escape_partition(
            e.keyword(crate::catalog::names::RECIPIENT_ACCOUNT)
                .unwrap_or("unknown")
        ),
        escape_partition(
            e.keyword(crate::catalog::names::AWS_REGION)
                .unwrap_or("unknown")
        ),
        date
    )
}

/// The unit an object belongs to: the folder it is in.
fn unit_of(name: &str) -> &str {
    match name.rfind('/') {
        Some(i) => &name[..=i],
        None => "",
    }
}

fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).unwrap_or_default(),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("sagetrail {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "sagetrail.lake.schema".to_string(),
            schema::LAKE_SCHEMA_VERSION.to_string(),
        )]))
        .build()
}

/// A batch as Parquet bytes.
fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props()))
        .map_err(|e| format!("parquet: {e}"))?;
    w.write(batch).map_err(|e| format!("parquet: {e}"))?;
    w.close().map_err(|e| format!("parquet: {e}"))?;
    Ok(buf)
}

/// The issued keys of a chunk's events, as a batch.
fn issued_batch(events: &[&Event]) -> Result<RecordBatch, String> {
    let mut key = StringBuilder::new();
    let mut actor = StringBuilder::new();
    let mut basis = StringBuilder::new();
    let mut caller = StringBuilder::new();
    let mut id = StringBuilder::new();
    let mut time = TimestampMillisecondBuilder::new().with_timezone("UTC");
    for e in events {
        let Some(k) = e.stitch.issued_key.as_deref() else {
            continue;
        };
        key.append_value(k);
        actor.append_option(e.keyword(crate::catalog::names::ACTOR));
        basis.append_option(e.stitch.basis.map(|b| b.as_str()));
        caller.append_option(e.stitch.access_key.as_deref());
        id.append_value(&e.event_id);
        time.append_value(e.time_ms);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(key.finish()),
        Arc::new(actor.finish()),
        Arc::new(basis.finish()),
        Arc::new(caller.finish()),
        Arc::new(id.finish()),
        Arc::new(time.finish()),
    ];
    RecordBatch::try_new(schema::issued_keys_schema(), cols).map_err(|e| format!("arrow: {e}"))
}

/// List every input object (sorted by name), with the listing's skips and failures said.
fn list_inputs(
    cfg: &WriteConfig,
    rt: &tokio::runtime::Runtime,
    client: &Option<s3::Client>,
    msgs: &Messages,
    summary: &mut WriteSummary,
) -> Vec<Obj> {
    let mut out = Vec::new();
    let locals: Vec<std::path::PathBuf> = cfg
        .inputs
        .iter()
        .filter_map(|i| match i {
            Input::Local(p) => Some(p.clone()),
            Input::S3(_) => None,
        })
        .collect();
    if !locals.is_empty() {
        let l = local::cloudtrail_listing(&locals);
        for (p, e) in &l.errors {
            summary.objects_failed += 1;
            msgs.error(p, e);
        }
        summary.objects_skipped += l.skipped.values().sum::<u64>();
        for o in l.objects {
            if cfg.filter.allows_path(&o.obj.name) {
                out.push(Obj {
                    at: Loc::Local(o.path),
                    obj: o.obj,
                });
            } else {
                summary.objects_skipped += 1;
            }
        }
    }
    for i in &cfg.inputs {
        let (Input::S3(url), Some(c)) = (i, client) else {
            continue;
        };
        let l = rt.block_on(s3::list_trail(c, url, &cfg.filter));
        for (p, e) in &l.errors {
            summary.objects_failed += 1;
            msgs.error(p, &format!("cannot list: {e}"));
        }
        summary.objects_skipped += l.skipped.values().sum::<u64>();
        out.extend(l.objects.into_iter().map(|o| Obj {
            at: Loc::S3 {
                bucket: o.bucket,
                key: o.key,
            },
            obj: o.obj,
        }));
    }
    out.sort_by(|a, b| a.obj.name.cmp(&b.obj.name));
    out.dedup_by(|a, b| a.obj.name == b.obj.name);
    out
}

/// Read a chunk's objects' bytes (S3 concurrently), each with its failure if it could not be read.
fn fetch_chunk(
    chunk: &[Obj],
    rt: &tokio::runtime::Runtime,
    client: &Option<s3::Client>,
    max_bytes: u64,
) -> Vec<Result<Vec<u8>, String>> {
    use futures::StreamExt;
    let too_big = |o: &Obj| {
        (o.obj.size > max_bytes).then(|| {
            format!(
                "{} MiB, more than the limit (--max-object-mb {})",
                o.obj.size / (1024 * 1024),
                max_bytes / (1024 * 1024)
            )
        })
    };
    rt.block_on(async {
        futures::stream::iter(chunk.iter().map(|o| async move {
            if let Some(why) = too_big(o) {
                return Err(why);
            }
            match &o.at {
                Loc::Local(p) => std::fs::read(p).map_err(|e| format!("cannot read: {e}")),
                Loc::S3 { bucket, key } => match client {
                    Some(c) => s3::fetch(c, bucket, key).await,
                    None => Err("no S3 client".into()),
                },
            }
        }))
        .buffered(FETCH_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
    })
}

/// One unit of work as `lake write --plan` prints it: what a Spark task (or any worker) is given.
#[derive(Debug, Serialize)]
pub(crate) struct PlannedUnit {
    pub unit: String,
    pub objects: u64,
    pub bytes: u64,
}

/// A runtime for the AWS calls, and an S3 client when an input is on S3.
fn input_client(cfg: &WriteConfig) -> Result<(tokio::runtime::Runtime, Option<s3::Client>), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Source(format!("cannot start the AWS runtime: {e}")))?;
    let client = cfg
        .inputs
        .iter()
        .any(|i| matches!(i, Input::S3(_)))
        .then(|| s3::client(&rt.block_on(crate::source::aws::load(&cfg.aws))));
    Ok((rt, client))
}

/// The units `write` would write, without reading or writing anything.
pub(crate) fn plan(cfg: &WriteConfig, msgs: &Messages) -> Result<Vec<PlannedUnit>, Error> {
    let (rt, client) = input_client(cfg)?;
    let mut summary = WriteSummary::default();
    let objects = list_inputs(cfg, &rt, &client, msgs, &mut summary);
    let mut units: BTreeMap<&str, PlannedUnit> = BTreeMap::new();
    for o in &objects {
        let u = unit_of(&o.obj.name);
        let e = units.entry(u).or_insert_with(|| PlannedUnit {
            unit: u.to_string(),
            objects: 0,
            bytes: 0,
        });
        e.objects += 1;
        e.bytes += o.obj.size;
    }
    Ok(units.into_values().collect())
}

/// `lake write`: every input object into the lake at `cfg.dest`.
pub(crate) fn write(cfg: &WriteConfig, msgs: &Messages) -> Result<WriteSummary, Error> {
    let started = Instant::now();
    let (rt, client) = input_client(cfg)?;
    let store = Store::open(&cfg.dest, &cfg.aws).map_err(Error::Source)?;
    let mut summary = WriteSummary {
        dest: store.root(),
        ..Default::default()
    };
    let objects = list_inputs(cfg, &rt, &client, msgs, &mut summary);
    summary.objects_listed = objects.len() as u64;
    let mut existing: Vec<String> = store.list("events").map_err(Error::Source)?;
    existing.extend(store.list("issued_keys").map_err(Error::Source)?);

    let mut units: BTreeMap<&str, Vec<&Obj>> = BTreeMap::new();
    for o in &objects {
        units.entry(unit_of(&o.obj.name)).or_default().push(o);
    }
    summary.units = units.len() as u64;
    for (unit, objs) in units {
        let uh = hex64(unit.as_bytes());
        let mut chunks: Vec<Vec<Obj>> = vec![Vec::new()];
        let mut size = 0u64;
        for o in objs {
            if size >= cfg.chunk_bytes && !chunks.last().is_some_and(Vec::is_empty) {
                chunks.push(Vec::new());
                size = 0;
            }
            size += o.obj.size;
            if let Some(c) = chunks.last_mut() {
                c.push(o.clone());
            }
        }
        let mut produced: BTreeSet<String> = BTreeSet::new();
        let mut unit_failed = false;
        for (ci, chunk) in chunks.iter().enumerate() {
            let mut id = String::new();
            for o in chunk {
                id.push_str(&o.obj.name);
                id.push('\u{1f}');
                id.push_str(&o.obj.version);
                id.push('\n');
            }
            let stem = format!("u{uh}-c{ci:04}-{}", hex64(id.as_bytes()));
            let bytes = fetch_chunk(chunk, &rt, &client, cfg.max_object_bytes);
            let decoded: Vec<_> = chunk
                .par_iter()
                .zip(bytes.into_par_iter())
                .map(|(o, b)| match b {
                    Ok(b) => {
                        let n = b.len() as u64;
                        let (out, mut events) =
                            cloudtrail_events(o.obj.clone(), &b, cfg.max_inflated);
                        // The index's open paths and full-text words are not columns: dropped at once,
                        // they would be most of a chunk's memory.
                        for e in &mut events {
                            e.paths = Vec::new();
                            e.texts = Vec::new();
                        }
                        (n, Ok(out), events)
                    }
                    Err(e) => (0, Err(e), Vec::new()),
                })
                .collect();
            let mut events: Vec<Event> = Vec::new();
            for ((n, out, evs), o) in decoded.into_iter().zip(chunk) {
                summary.bytes_read += n;
                match out {
                    Err(e) => {
                        summary.objects_failed += 1;
                        unit_failed = true;
                        msgs.error(&o.obj.name, &e);
                    }
                    Ok(out) => {
                        if out.skipped_as.is_some() {
                            summary.objects_skipped += 1;
                            continue;
                        }
                        summary.objects_read += 1;
                        summary.records_failed += out.records_failed;
                        if let Some(first) = out.errors.first() {
                            summary.objects_failed += 1;
                            unit_failed = true;
                            msgs.error(&o.obj.name, &first.to_string());
                        }
                        for w in out.warnings.iter().take(1) {
                            msgs.warn(&o.obj.name, w);
                        }
                        events.extend(evs);
                    }
                }
            }
            // One file per partition (or more past --rows-per-file), rows by eventTime then eventID.
            let mut parts: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
            for e in &events {
                parts.entry(partition(e)).or_default().push(e);
            }
            let files: Vec<(String, Vec<&Event>)> = parts
                .into_iter()
                .flat_map(|(dir, mut evs)| {
                    evs.sort_by(|a, b| {
                        a.time_ms
                            .cmp(&b.time_ms)
                            .then_with(|| a.event_id.cmp(&b.event_id))
                    });
                    let n = evs.len().div_ceil(cfg.rows_per_file.max(1));
                    let stem = stem.clone();
                    evs.chunks(cfg.rows_per_file.max(1))
                        .enumerate()
                        .map(|(k, c)| {
                            let name = if n > 1 {
                                format!("{dir}/{stem}-{k}.parquet")
                            } else {
                                format!("{dir}/{stem}.parquet")
                            };
                            (name, c.to_vec())
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            let encoded: Vec<Result<Encoded, String>> = files
                .into_par_iter()
                .map(|(name, evs)| {
                    let b = schema::batch(&evs).map_err(|e| format!("arrow: {e}"))?;
                    Ok((name, parquet_bytes(&b)?, evs.len()))
                })
                .collect();
            for r in encoded {
                let (name, bytes, rows) = r.map_err(|e| Error::Source(format!("lake: {e}")))?;
                summary.bytes_written += bytes.len() as u64;
                store
                    .put(&name, bytes)
                    .map_err(|e| Error::Source(format!("lake: {e}")))?;
                summary.files_written += 1;
                summary.events_written += rows as u64;
                produced.insert(name);
            }
            let issuing: Vec<&Event> = events
                .iter()
                .filter(|e| e.stitch.issued_key.is_some() && e.stitch.teaches_key)
                .collect();
            // Written even when empty: every chunk has one, so engines always find the table's files.
            {
                let b = issued_batch(&issuing).map_err(Error::Source)?;
                let bytes = parquet_bytes(&b).map_err(Error::Source)?;
                let name = format!("issued_keys/{stem}.parquet");
                summary.bytes_written += bytes.len() as u64;
                store
                    .put(&name, bytes)
                    .map_err(|e| Error::Source(format!("lake: {e}")))?;
                summary.files_written += 1;
                summary.issued_keys_written += issuing.len() as u64;
                produced.insert(name);
            }
        }
        // Superseded files of this unit go only when the unit was read whole; leftovers of a killed
        // run (temporary dot-names) always go.
        let mine = format!("u{uh}-");
        let tmp = format!(".tmp-u{uh}-");
        for f in &existing {
            let base = f.rsplit('/').next().unwrap_or(f);
            let stale = (base.starts_with(&mine) && !unit_failed && !produced.contains(f))
                || base.starts_with(&tmp);
            if stale {
                store
                    .delete(f)
                    .map_err(|e| Error::Source(format!("lake: {e}")))?;
                summary.files_removed += 1;
            }
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.events_per_second = if summary.seconds > 0.0 {
        summary.events_written as f64 / summary.seconds
    } else {
        0.0
    };
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_cannot_climb_out() {
        assert_eq!(escape_partition("us-east-1"), "us-east-1");
        assert_eq!(escape_partition("../../etc"), "%2E%2E%2F%2E%2E%2Fetc");
        assert_eq!(escape_partition(""), "unknown");
        assert_eq!(escape_partition("a b=c"), "a%20b%3Dc");
    }

    #[test]
    fn units_are_folders() {
        assert_eq!(
            unit_of("s3://b/AWSLogs/1/CloudTrail/us-east-1/2024/05/14/x.json.gz"),
            "s3://b/AWSLogs/1/CloudTrail/us-east-1/2024/05/14/"
        );
        assert_eq!(unit_of("/t/a.json"), "/t/");
    }
}

/// What a `lake compact` did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompactSummary {
    pub dest: String,
    pub partitions: u64,
    pub partitions_compacted: u64,
    pub files_read: u64,
    pub files_written: u64,
    pub rows_read: u64,
    pub rows_written: u64,
    pub duplicates_removed: u64,
}

fn read_parquet(bytes: Vec<u8>) -> Result<Vec<RecordBatch>, String> {
    let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(bytes),
    )
    .map_err(|e| format!("parquet: {e}"))?
    .build()
    .map_err(|e| format!("parquet: {e}"))?;
    b.collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("parquet: {e}"))
}

/// `lake compact`: each partition of `events/` with more than one file, or with an eventID twice, is
/// rewritten as one file (or more past `rows_per_file`) holding each eventID once: the first by
/// (eventtime, record), as the `events` view keeps it. The new file is put whole before the old ones go,
/// so a kill at any moment leaves at worst both, which the view and the next compaction fold.
pub(crate) fn compact(
    dest: &str,
    aws: &AwsOptions,
    rows_per_file: usize,
    only: &[String],
) -> Result<CompactSummary, Error> {
    use arrow::array::{StringArray, TimestampMillisecondArray};
    let store = Store::open(dest, aws).map_err(Error::Source)?;
    let lake = |e: String| Error::Source(format!("lake: {e}"));
    let mut summary = CompactSummary {
        dest: store.root(),
        ..Default::default()
    };
    let mut parts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in store.list("events").map_err(lake)? {
        let base = f.rsplit('/').next().unwrap_or(&f);
        if !base.ends_with(".parquet") || base.starts_with('.') {
            continue;
        }
        let dir = f[..f.len() - base.len()].trim_end_matches('/').to_string();
        parts.entry(dir).or_default().push(f);
    }
    summary.partitions = parts.len() as u64;
    for (dir, files) in parts {
        if !only.is_empty() && !only.iter().any(|o| o.trim_end_matches('/') == dir) {
            continue;
        }
        let mut batches = Vec::new();
        for f in &files {
            batches.extend(
                read_parquet(store.get(f).map_err(lake)?).map_err(|e| lake(format!("{f}: {e}")))?,
            );
        }
        let schema = schema::arrow_schema();
        if batches
            .iter()
            .any(|b| b.schema().fields() != schema.fields())
        {
            return Err(lake(format!(
                "{dir}: files of another schema version; not compacted (rewrite them with lake write)"
            )));
        }
        let all =
            arrow::compute::concat_batches(&schema, &batches).map_err(|e| lake(e.to_string()))?;
        let n = all.num_rows();
        let col = |name: &str| all.column_by_name(name).cloned();
        let (Some(ids), Some(times), Some(recs)) =
            (col("eventid"), col("eventtime"), col("record"))
        else {
            return Err(lake(format!("{dir}: missing eventid, eventtime or record")));
        };
        let ids = ids.as_any().downcast_ref::<StringArray>().cloned();
        let times = times
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .cloned();
        let recs = recs.as_any().downcast_ref::<StringArray>().cloned();
        let (Some(ids), Some(times), Some(recs)) = (ids, times, recs) else {
            return Err(lake(format!("{dir}: unexpected column types")));
        };
        // The view's choice first: by eventID, then eventtime, then record; keep the first of each id.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            ids.value(a)
                .cmp(ids.value(b))
                .then(times.value(a).cmp(&times.value(b)))
                .then_with(|| recs.value(a).cmp(recs.value(b)))
        });
        order.dedup_by(|a, b| ids.value(*a) == ids.value(*b));
        order.sort_by(|&a, &b| {
            times
                .value(a)
                .cmp(&times.value(b))
                .then_with(|| ids.value(a).cmp(ids.value(b)))
        });
        summary.files_read += files.len() as u64;
        summary.rows_read += n as u64;
        if files.len() == 1 && order.len() == n {
            continue;
        }
        let mut id = String::new();
        for f in &files {
            id.push_str(f);
            id.push('\n');
        }
        let stem = format!("compact-{}", hex64(id.as_bytes()));
        let chunks: Vec<&[usize]> = order.chunks(rows_per_file.max(1)).collect();
        let mut written = Vec::new();
        for (k, c) in chunks.iter().enumerate() {
            let idx =
                arrow::array::UInt32Array::from(c.iter().map(|i| *i as u32).collect::<Vec<_>>());
            let cols = all
                .columns()
                .iter()
                .map(|a| arrow::compute::take(a.as_ref(), &idx, None))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| lake(e.to_string()))?;
            let b = RecordBatch::try_new(schema.clone(), cols).map_err(|e| lake(e.to_string()))?;
            let name = if chunks.len() > 1 {
                format!("{dir}/{stem}-{k}.parquet")
            } else {
                format!("{dir}/{stem}.parquet")
            };
            store
                .put(&name, parquet_bytes(&b).map_err(lake)?)
                .map_err(lake)?;
            written.push(name);
            summary.files_written += 1;
        }
        for f in &files {
            if !written.contains(f) {
                store.delete(f).map_err(lake)?;
            }
        }
        summary.partitions_compacted += 1;
        summary.rows_written += order.len() as u64;
        summary.duplicates_removed += (n - order.len()) as u64;
    }
    Ok(summary)
}
