//! Ready-to-run DDL for each engine: the raw tables over the lake's files, and two views: `issued_keys`
//! (one row per key: its first issuing call) and `events` (one row per eventID, the actor resolved through
//! issued keys for up to three hops of role chaining, as schema/actor-rules.md rule 3 does in the index).

use arrow::datatypes::DataType;

use super::schema;
use super::sql::Engine;

/// Bases whose actor an issuer replaces (rules 1 and 2 are final; rule 3 comes before 4 and 5).
const UNSETTLED: &str = "('principal', 'identityCenter')";
/// Hops of role chaining the view follows (a chain deeper than this keeps the third issuer's actor).
const HOPS: usize = 3;

fn sql_type(t: &DataType, e: Engine) -> &'static str {
    match (t, e) {
        (DataType::Boolean, _) => "boolean",
        (DataType::Timestamp(..), Engine::Trino) => "timestamp(3) with time zone",
        (DataType::Timestamp(..), _) => "timestamp",
        (_, Engine::Trino) => "varchar",
        (_, Engine::Spark) => "string",
        _ => "string",
    }
}

/// The `issued_keys` and `events` views over `sagetrail_raw_events` and `sagetrail_raw_issued_keys`.
fn views(e: Engine) -> String {
    let temp = if e == Engine::Spark { "TEMPORARY " } else { "" };
    let date = e.quote("date");
    let kept: Vec<String> = schema::columns()
        .iter()
        .filter(|c| {
            !matches!(
                c.name.as_str(),
                "actor" | "actorbasis" | "actorissuereventid"
            )
        })
        .map(|c| format!("d.{}", c.name))
        .collect();
    let mut joins = String::new();
    for h in 1..=HOPS {
        let on = if h == 1 {
            format!("d.actorbasis IN {UNSETTLED} AND d.useridentity_accesskeyid = k1.accesskey")
        } else {
            format!(
                "k{p}.actorbasis IN {UNSETTLED} AND k{p}.callerkey = k{h}.accesskey",
                p = h - 1
            )
        };
        joins.push_str(&format!("\nLEFT JOIN sagetrail_issued_keys k{h} ON {on}"));
    }
    let deepest: Vec<String> = (1..=HOPS).rev().map(|h| format!("k{h}.actor")).collect();
    format!(
        "CREATE OR REPLACE {temp}VIEW sagetrail_issued_keys AS
SELECT accesskey, actor, actorbasis, callerkey, eventid, eventtime FROM (
  SELECT accesskey, actor, actorbasis, callerkey, eventid, eventtime,
         row_number() OVER (PARTITION BY accesskey ORDER BY eventtime, eventid) AS sagetrail_rn
  FROM sagetrail_raw_issued_keys) k
WHERE sagetrail_rn = 1;

CREATE OR REPLACE {temp}VIEW events AS
SELECT {kept},
  CASE WHEN k1.accesskey IS NOT NULL THEN COALESCE({deepest}) ELSE d.actor END AS actor,
  CASE WHEN k1.accesskey IS NOT NULL THEN 'issuer' ELSE d.actorbasis END AS actorbasis,
  k1.eventid AS actorissuereventid,
  d.account, d.region, d.{date}
FROM (
  SELECT r.*, row_number() OVER (PARTITION BY eventid ORDER BY eventtime, record) AS sagetrail_rn
  FROM sagetrail_raw_events r) d{joins}
WHERE d.sagetrail_rn = 1;
",
        kept = kept.join(", "),
        deepest = deepest.join(", "),
    )
}

fn columns_ddl(e: Engine, quote: impl Fn(&str) -> String) -> String {
    schema::columns()
        .iter()
        .map(|c| format!("  {} {}", quote(&c.name), sql_type(&c.data_type, e)))
        .collect::<Vec<_>>()
        .join(",\n")
}

fn issued_ddl(e: Engine, quote: impl Fn(&str) -> String) -> String {
    schema::issued_keys_schema()
        .fields()
        .iter()
        .map(|f| format!("  {} {}", quote(f.name()), sql_type(f.data_type(), e)))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// The DDL for `engine` over the lake at `root` (`s3://…` or a local path); `accounts` and `regions` are
/// the partition values present (Athena's partition projection enumerates them).
pub(crate) fn ddl(engine: Engine, root: &str, accounts: &[String], regions: &[String]) -> String {
    let root = root.trim_end_matches('/');
    let lit = |s: &str| engine.lit(s);
    let mut out = format!(
        "-- sagetrail lake, schema version {} ({} engine). Run as is; rerun after new accounts or regions.\n",
        schema::LAKE_SCHEMA_VERSION,
        match engine {
            Engine::DuckDb => "duckdb",
            Engine::Athena => "athena",
            Engine::Trino => "trino",
            Engine::Spark => "spark",
        }
    );
    match engine {
        Engine::DuckDb => {
            out.push_str(&format!(
                "CREATE OR REPLACE VIEW sagetrail_raw_events AS SELECT * FROM read_parquet({}, hive_partitioning = true, hive_types = {{'account': VARCHAR, 'region': VARCHAR, 'date': VARCHAR}}, union_by_name = true);
CREATE OR REPLACE VIEW sagetrail_raw_issued_keys AS SELECT * FROM read_parquet({}, union_by_name = true);
",
                lit(&format!("{root}/events/**/*.parquet")),
                lit(&format!("{root}/issued_keys/*.parquet"))
            ));
        }
        Engine::Spark => {
            out.push_str(&format!(
                "SET spark.sql.sources.partitionColumnTypeInference.enabled=false;
CREATE OR REPLACE TEMPORARY VIEW sagetrail_raw_events USING parquet OPTIONS (path {}, basePath {});
CREATE OR REPLACE TEMPORARY VIEW sagetrail_raw_issued_keys USING parquet OPTIONS (path {});
",
                lit(&format!("{root}/events")),
                lit(&format!("{root}/events")),
                lit(&format!("{root}/issued_keys"))
            ));
        }
        Engine::Athena => {
            let bq = |n: &str| format!("`{n}`");
            let enum_of = |v: &[String]| {
                if v.is_empty() {
                    "unknown".to_string()
                } else {
                    v.join(",")
                }
            };
            out.push_str(&format!(
                "CREATE EXTERNAL TABLE IF NOT EXISTS sagetrail_raw_events (
{}
)
PARTITIONED BY (`account` string, `region` string, `date` string)
STORED AS PARQUET
LOCATION '{root}/events/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.account.type' = 'enum', 'projection.account.values' = '{}',
  'projection.region.type' = 'enum', 'projection.region.values' = '{}',
  'projection.date.type' = 'date', 'projection.date.format' = 'yyyy-MM-dd',
  'projection.date.range' = '2013-11-01,NOW', 'projection.date.interval' = '1', 'projection.date.interval.unit' = 'DAYS',
  'storage.location.template' = '{root}/events/account=${{account}}/region=${{region}}/date=${{date}}/'
);
CREATE EXTERNAL TABLE IF NOT EXISTS sagetrail_raw_issued_keys (
{}
)
STORED AS PARQUET
LOCATION '{root}/issued_keys/';
",
                columns_ddl(engine, bq),
                enum_of(accounts),
                enum_of(regions),
                issued_ddl(engine, bq)
            ));
        }
        Engine::Trino => {
            let dq = |n: &str| format!("\"{n}\"");
            out.push_str(&format!(
                "-- In the Hive connector's catalog and schema you use (here hive.default).
CREATE TABLE IF NOT EXISTS sagetrail_raw_events (
{},
  \"account\" varchar, \"region\" varchar, \"date\" varchar
)
WITH (format = 'PARQUET', external_location = '{root}/events', partitioned_by = ARRAY['account', 'region', 'date']);
CALL system.sync_partition_metadata(CURRENT_SCHEMA, 'sagetrail_raw_events', 'FULL');
CREATE TABLE IF NOT EXISTS sagetrail_raw_issued_keys (
{}
)
WITH (format = 'PARQUET', external_location = '{root}/issued_keys');
",
                columns_ddl(engine, dq),
                issued_ddl(engine, dq)
            ));
        }
    }
    out.push('\n');
    out.push_str(&views(engine));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_gets_both_views() {
        for e in [Engine::DuckDb, Engine::Athena, Engine::Trino, Engine::Spark] {
            let d = ddl(
                e,
                "s3://lake/x/",
                &["111122223333".into()],
                &["us-east-1".into()],
            );
            assert!(d.contains("VIEW sagetrail_issued_keys AS"), "{e:?}");
            assert!(d.contains("VIEW events AS"), "{e:?}");
            assert!(
                d.contains("LEFT JOIN sagetrail_issued_keys k3 ON k2.actorbasis"),
                "{e:?}"
            );
            assert!(!d.contains("s3://lake/x//"), "{e:?}");
        }
        let a = ddl(
            Engine::Athena,
            "s3://lake/x",
            &["1".into(), "2".into()],
            &[],
        );
        assert!(a.contains("'projection.account.values' = '1,2'"));
        assert!(a.contains("'storage.location.template' = 's3://lake/x/events/account=${account}/region=${region}/date=${date}/'"));
    }
}
