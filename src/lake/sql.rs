//! sagetrail's query language compiled to an engine's SQL over the lake's `events` view, so an
//! investigator's query runs unchanged on DuckDB, Athena, Trino or Spark.
//!
//! Named fields are columns (case-insensitive ones compared lowercased); any other dotted path is read
//! from the record's JSON with the engine's JSON function (`json_extract_string`, `json_extract_scalar`,
//! `get_json_object`); a bare word or phrase is a case-insensitive substring of the record; `*` means the
//! field has a value; prefixes are `LIKE`; ranges compare. Every leaf is two-valued (`COALESCE(…, FALSE)`)
//! so `NOT` keeps events without the field, as the index does. The time window is both a timestamp
//! condition and a partition filter on `date`, which engines prune by.

use std::ops::Bound;

use thiserror::Error;

use super::schema;
use crate::catalog::{self, names, FieldKind};
use crate::query::{Node, Value};

/// The engines whose SQL sagetrail writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    DuckDb,
    Athena,
    Trino,
    Spark,
}

impl Engine {
    /// A partition or reserved column name as the engine's queries quote it.
    pub(crate) fn quote(self, name: &str) -> String {
        match self {
            Engine::Spark => format!("`{name}`"),
            _ => format!("\"{name}\""),
        }
    }

    /// A string literal: `'` doubled everywhere; Spark also reads backslash escapes, so those double too.
    pub(crate) fn lit(self, s: &str) -> String {
        let s = s.replace('\'', "''");
        let s = if self == Engine::Spark {
            s.replace('\\', "\\\\")
        } else {
            s
        };
        format!("'{s}'")
    }

    /// A UTC instant as a timestamp literal.
    pub(crate) fn timestamp(self, ms: i64) -> String {
        let t = jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string())
            .unwrap_or_default();
        match self {
            Engine::DuckDb => format!("TIMESTAMPTZ '{t}+00'"),
            Engine::Athena | Engine::Trino => format!("TIMESTAMP '{t} UTC'"),
            Engine::Spark => format!("TIMESTAMP '{t}Z'"),
        }
    }

    fn json(self, col: &str, path: &str) -> String {
        match self {
            Engine::DuckDb => format!("json_extract_string({col}, '{path}')"),
            Engine::Athena | Engine::Trino => format!("json_extract_scalar({col}, '{path}')"),
            Engine::Spark => format!("get_json_object({col}, '{path}')"),
        }
    }
}

/// A query an engine cannot be given.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("lake sql: {0}")]
pub(crate) struct SqlError(pub String);

/// The JSON columns a path may start in (smaller to parse than the record).
const JSON_COLUMNS: [&str; 5] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "tlsDetails",
];

/// The LIKE pattern matching values that start with `p` (escape character `!`).
fn like_prefix(p: &str) -> String {
    let mut out = String::new();
    for c in p.chars() {
        if matches!(c, '!' | '%' | '_') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn like_contains(p: &str) -> String {
    format!("%{}", like_prefix(p))
}

struct Target {
    expr: String,
    ci: bool,
    time: bool,
}

fn target(field: &str, e: Engine) -> Result<Target, SqlError> {
    if let Some(col) = schema::column_of(field) {
        let ci = catalog::lookup(field).is_some_and(|d| d.kind == FieldKind::KeywordCi);
        return Ok(Target {
            expr: col.name.clone(),
            ci,
            time: field == names::EVENT_TIME,
        });
    }
    if catalog::lookup(field).is_some() {
        return Err(SqlError(format!(
            "{field} is a field of Studio logs, which are not in the lake"
        )));
    }
    let parts: Vec<&str> = field.split('.').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(SqlError(format!(
            "the path {field:?} has a segment JSON paths cannot name portably (letters, digits and _ only)"
        )));
    }
    let (col, rest) = if JSON_COLUMNS.contains(&parts[0]) && parts.len() > 1 {
        (schema::sql_name(parts[0]), &parts[1..])
    } else {
        ("record".to_string(), &parts[..])
    };
    Ok(Target {
        expr: e.json(&col, &format!("$.{}", rest.join("."))),
        ci: false,
        time: false,
    })
}

fn cmp_value(t: &Target, v: &str, e: Engine, now: i64) -> Result<String, SqlError> {
    if t.time {
        let ms = crate::time::parse_time(v, now)
            .map_err(|_| SqlError(format!("{v:?} is not a time")))?;
        return Ok(e.timestamp(ms));
    }
    Ok(if t.ci {
        e.lit(&v.to_lowercase())
    } else {
        e.lit(v)
    })
}

fn leaf(field: &str, value: &Value, e: Engine, now: i64) -> Result<String, SqlError> {
    if field == names::KIND {
        // Everything in the lake is CloudTrail.
        return Ok(match value {
            Value::Word(v) | Value::Quoted(v) => (v == "cloudtrail").to_string().to_uppercase(),
            Value::Prefix(p) => "cloudtrail"
                .starts_with(p.as_str())
                .to_string()
                .to_uppercase(),
            _ => "TRUE".into(),
        });
    }
    let t = target(field, e)?;
    let lhs = if t.ci {
        format!("lower({})", t.expr)
    } else {
        t.expr.clone()
    };
    let sql = match value {
        Value::Word(v) | Value::Quoted(v) => format!("{lhs} = {}", cmp_value(&t, v, e, now)?),
        Value::Prefix(p) => {
            if t.time {
                return Err(SqlError(format!(
                    "{field}: a prefix of a time is not a query; use a range"
                )));
            }
            let p = if t.ci { p.to_lowercase() } else { p.clone() };
            format!("{lhs} LIKE {} ESCAPE '!'", e.lit(&like_prefix(&p)))
        }
        Value::Any => format!("{} IS NOT NULL", t.expr),
        Value::Range { lo, hi } => {
            let mut parts = Vec::new();
            match lo {
                Bound::Included(v) => parts.push(format!("{lhs} >= {}", cmp_value(&t, v, e, now)?)),
                Bound::Excluded(v) => parts.push(format!("{lhs} > {}", cmp_value(&t, v, e, now)?)),
                Bound::Unbounded => {}
            }
            match hi {
                Bound::Included(v) => parts.push(format!("{lhs} <= {}", cmp_value(&t, v, e, now)?)),
                Bound::Excluded(v) => parts.push(format!("{lhs} < {}", cmp_value(&t, v, e, now)?)),
                Bound::Unbounded => {}
            }
            if parts.is_empty() {
                format!("{} IS NOT NULL", t.expr)
            } else {
                parts.join(" AND ")
            }
        }
    };
    Ok(format!("COALESCE({sql}, FALSE)"))
}

fn text(value: &Value, e: Engine) -> Result<String, SqlError> {
    let s = match value {
        Value::Word(v) | Value::Quoted(v) => v.to_lowercase(),
        Value::Prefix(p) => p.to_lowercase(),
        _ => return Err(SqlError("a bare `*` or range is not full text".into())),
    };
    Ok(format!(
        "COALESCE(lower(record) LIKE {} ESCAPE '!', FALSE)",
        e.lit(&like_contains(&s))
    ))
}

/// The condition of `node` for `engine`; `now` resolves relative times (`7d`).
pub(crate) fn condition(node: &Node, e: Engine, now: i64) -> Result<String, SqlError> {
    Ok(match node {
        Node::All => "TRUE".into(),
        Node::Field { field, value } => leaf(field, value, e, now)?,
        Node::Text(v) => text(v, e)?,
        Node::And(v) => format!(
            "({})",
            v.iter()
                .map(|n| condition(n, e, now))
                .collect::<Result<Vec<_>, _>>()?
                .join(" AND ")
        ),
        Node::Or(v) => format!(
            "({})",
            v.iter()
                .map(|n| condition(n, e, now))
                .collect::<Result<Vec<_>, _>>()?
                .join(" OR ")
        ),
        Node::Not(n) => format!("(NOT {})", condition(n, e, now)?),
    })
}

/// The whole statement: the events of `node` in the window, oldest first.
pub(crate) fn statement(
    node: &Node,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    e: Engine,
    now: i64,
) -> Result<String, SqlError> {
    let mut conds = vec![condition(node, e, now)?];
    let day = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let date = e.quote("date");
    if let Some(s) = since_ms {
        conds.push(format!("{date} >= '{}'", day(s)));
        conds.push(format!("eventtime >= {}", e.timestamp(s)));
    }
    if let Some(u) = until_ms {
        conds.push(format!("{date} <= '{}'", day(u)));
        conds.push(format!("eventtime < {}", e.timestamp(u)));
    }
    Ok(format!(
        "SELECT * FROM events WHERE {} ORDER BY eventtime, eventid",
        conds.join(" AND ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(q: &str, e: Engine) -> Result<String, SqlError> {
        condition(&crate::query::parse(q).unwrap(), e, 0)
    }

    #[test]
    fn fields_paths_text_and_logic() {
        let d = Engine::DuckDb;
        assert_eq!(
            sql("eventName:CreateApp", d).unwrap(),
            "COALESCE(eventname = 'CreateApp', FALSE)"
        );
        assert_eq!(
            sql("userProfile:Alice", d).unwrap(),
            "COALESCE(lower(userprofile) = 'alice', FALSE)"
        );
        assert_eq!(
            sql("requestParameters.resourceSpec.instanceType:ml.g5.12xlarge", d).unwrap(),
            "COALESCE(json_extract_string(requestparameters, '$.resourceSpec.instanceType') = 'ml.g5.12xlarge', FALSE)"
        );
        assert_eq!(
            sql("userIdentity.sessionContext.sourceIdentity:bob", Engine::Spark).unwrap(),
            "COALESCE(get_json_object(record, '$.userIdentity.sessionContext.sourceIdentity') = 'bob', FALSE)"
        );
        assert_eq!(
            sql("eventName:Create*", d).unwrap(),
            "COALESCE(eventname LIKE 'Create%' ESCAPE '!', FALSE)"
        );
        assert_eq!(
            sql("errorCode:*", d).unwrap(),
            "COALESCE(errorcode IS NOT NULL, FALSE)"
        );
        assert_eq!(
            sql("\"it's 100%\"", d).unwrap(),
            "COALESCE(lower(record) LIKE '%it''s 100!%%' ESCAPE '!', FALSE)"
        );
        assert_eq!(
            sql("a:x AND NOT b:y", d).unwrap(),
            "(COALESCE(json_extract_string(record, '$.a') = 'x', FALSE) AND (NOT COALESCE(json_extract_string(record, '$.b') = 'y', FALSE)))"
        );
        assert_eq!(sql("kind:cloudtrail", d).unwrap(), "TRUE");
        assert_eq!(sql("kind:studio-log", d).unwrap(), "FALSE");
        assert_eq!(sql("*", d).unwrap(), "TRUE");
        assert_eq!(Engine::Spark.lit("a\\b'c"), "'a\\\\b''c'");
    }

    #[test]
    fn times_are_timestamps_per_engine() {
        let q = "eventTime:[2024-05-14 TO 2024-05-15}";
        assert_eq!(
            sql(q, Engine::DuckDb).unwrap(),
            "COALESCE(eventtime >= TIMESTAMPTZ '2024-05-14 00:00:00.000+00' AND eventtime < TIMESTAMPTZ '2024-05-15 00:00:00.000+00', FALSE)"
        );
        assert!(sql(q, Engine::Trino)
            .unwrap()
            .contains("TIMESTAMP '2024-05-14 00:00:00.000 UTC'"));
        let s = statement(
            &Node::All,
            Some(1_715_644_800_000),
            Some(1_715_731_200_000),
            Engine::Athena,
            0,
        )
        .unwrap();
        assert!(
            s.contains(
                "\"date\" >= '2024-05-14' AND eventtime >= TIMESTAMP '2024-05-14 00:00:00.000 UTC'"
            ),
            "{s}"
        );
        assert!(s.ends_with("ORDER BY eventtime, eventid"));
    }

    #[test]
    fn what_cannot_be_said_is_an_error() {
        assert!(sql("message:hello", Engine::DuckDb)
            .unwrap_err()
            .0
            .contains("Studio logs"));
        assert!(
            sql("additionalEventData.x-amz-id-2:abc", Engine::DuckDb).is_ok(),
            "a column"
        );
        assert!(sql("requestParameters.we-ird:1", Engine::DuckDb)
            .unwrap_err()
            .0
            .contains("segment"));
        assert!(sql("eventTime:2024*", Engine::DuckDb)
            .unwrap_err()
            .0
            .contains("prefix"));
    }
}
