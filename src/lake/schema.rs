//! The lake's table: one column per catalogue field a CloudTrail event has, with its natural type, plus the
//! top-level CloudTrail fields engines filter on and the original record. Names are the catalogue's,
//! lowercased with `.` and `-` as `_` (`userIdentity.arn` → `useridentity_arn`), which every engine takes
//! unquoted. `schema/lake.md` documents it; [`LAKE_SCHEMA_VERSION`] is written into every file.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, StringBuilder, TimestampMillisecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::catalog::{self, names, FieldKind};
use crate::model::Event;

/// The version of the columns below; bumped when a column changes meaning or type (adding one is
/// compatible). Written into each file's key-value metadata as `sagetrail.lake.schema`.
pub(crate) const LAKE_SCHEMA_VERSION: &str = "1";

/// Catalogue fields that are not columns: the time and id have their own, `kind` is always cloudtrail,
/// the open paths are in the JSON columns, the audit's facts (`studioSession`, `callerIsProfile`,
/// `tagKey`) are the index's narrowing aids that SQL says from `useridentity_arn` and `requestparameters`,
/// and the rest belong to Studio logs.
const NOT_COLUMNS: [&str; 13] = [
    names::EVENT_TIME,
    names::EVENT_ID,
    names::KIND,
    "path",
    names::MESSAGE,
    names::APP_TYPE,
    names::APP_NAME,
    names::LIFECYCLE_CONFIG,
    names::LOG_GROUP,
    names::LOG_STREAM,
    names::STUDIO_SESSION,
    names::CALLER_IS_PROFILE,
    names::TAG_KEY,
];

/// How a column's value is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Time,
    EventId,
    /// A catalogue field, from the normalised event.
    Field(&'static str),
    /// `true` when the catalogue field has the value `true`.
    FieldBool(&'static str),
    /// The basis of the actor normalise chose (the view applies rule 3 through `issued_keys`).
    ActorBasis,
    /// A top-level string, boolean or JSON value of the record.
    Top(&'static str, TopKind),
    Record,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TopKind {
    Str,
    Bool,
    Json,
}

/// One column: its SQL name, Arrow type and source.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    pub data_type: DataType,
    pub source: Source,
    /// The catalogue name it stands for (for the query compiler).
    pub field: Option<&'static str>,
}

/// The SQL name of a catalogue field or path: lowercase, `.` and `-` as `_`.
pub(crate) fn sql_name(field: &str) -> String {
    field
        .chars()
        .map(|c| match c {
            '.' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// Every column, in file order.
pub(crate) fn columns() -> &'static [Column] {
    static COLS: std::sync::OnceLock<Vec<Column>> = std::sync::OnceLock::new();
    COLS.get_or_init(|| {
        let mut v = vec![
            Column {
                name: "eventtime".into(),
                data_type: ts(),
                source: Source::Time,
                field: Some(names::EVENT_TIME),
            },
            Column {
                name: "eventid".into(),
                data_type: DataType::Utf8,
                source: Source::EventId,
                field: Some(names::EVENT_ID),
            },
        ];
        for def in catalog::fields() {
            let name: &'static str = def.name.as_str();
            if NOT_COLUMNS.contains(&name)
                || def.kind == FieldKind::Path
                || def.kind == FieldKind::Text
            {
                continue;
            }
            let (data_type, source) = if name == names::EVENT_ID_DERIVED {
                (DataType::Boolean, Source::FieldBool(name))
            } else if name == names::ACTOR_BASIS {
                (DataType::Utf8, Source::ActorBasis)
            } else {
                (DataType::Utf8, Source::Field(name))
            };
            v.push(Column {
                name: sql_name(name),
                data_type,
                source,
                field: Some(name),
            });
        }
        for (key, kind) in [
            ("userAgent", TopKind::Str),
            ("errorMessage", TopKind::Str),
            ("eventCategory", TopKind::Str),
            ("readOnly", TopKind::Bool),
            ("managementEvent", TopKind::Bool),
            ("requestParameters", TopKind::Json),
            ("responseElements", TopKind::Json),
            ("additionalEventData", TopKind::Json),
            ("serviceEventDetails", TopKind::Json),
            ("tlsDetails", TopKind::Json),
        ] {
            v.push(Column {
                name: sql_name(key),
                data_type: if kind == TopKind::Bool {
                    DataType::Boolean
                } else {
                    DataType::Utf8
                },
                source: Source::Top(key, kind),
                field: None,
            });
        }
        v.push(Column {
            name: "record".into(),
            data_type: DataType::Utf8,
            source: Source::Record,
            field: None,
        });
        v
    })
}

/// The column standing for a catalogue field, if any.
pub(crate) fn column_of(field: &str) -> Option<&'static Column> {
    columns().iter().find(|c| c.field == Some(field))
}

pub(crate) fn arrow_schema() -> Arc<Schema> {
    Arc::new(Schema::new(
        columns()
            .iter()
            .map(|c| {
                Field::new(
                    &c.name,
                    c.data_type.clone(),
                    !matches!(c.source, Source::Time | Source::EventId | Source::Record),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

/// The `issued_keys` table: keys issued by STS calls whose caller is not an AWS service (schema/actor-rules.md
/// rule 3), with the issuer's actor, its basis and the key the issuing call was itself made with (for the
/// next hop).
pub(crate) fn issued_keys_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("accesskey", DataType::Utf8, false),
        Field::new("actor", DataType::Utf8, true),
        Field::new("actorbasis", DataType::Utf8, true),
        Field::new("callerkey", DataType::Utf8, true),
        Field::new("eventid", DataType::Utf8, false),
        Field::new("eventtime", ts(), false),
    ]))
}

/// The top-level values the columns read, borrowed from the record.
#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default, rename = "userAgent")]
    user_agent: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, rename = "errorMessage")]
    error_message: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, rename = "eventCategory")]
    event_category: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, rename = "readOnly")]
    read_only: Option<Json>,
    #[serde(default, rename = "managementEvent")]
    management_event: Option<Json>,
    #[serde(borrow, default, rename = "requestParameters")]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "responseElements")]
    response_elements: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "additionalEventData")]
    additional_event_data: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "serviceEventDetails")]
    service_event_details: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "tlsDetails")]
    tls_details: Option<&'a RawValue>,
}

type Json = serde_json::Value;

/// A boolean as CloudTrail writes it: a JSON boolean, or "true"/"false" as text.
fn boolish(v: &Option<Json>) -> Option<bool> {
    match v {
        Some(Json::Bool(b)) => Some(*b),
        Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A JSON value as a column: its text, `null` as no value.
fn json_text(v: Option<&RawValue>) -> Option<&str> {
    v.map(RawValue::get).filter(|s| *s != "null")
}

/// Arrow columns for `events`, in [`columns`] order.
pub(crate) fn batch(events: &[&Event]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let tops: Vec<Option<Top>> = events
        .iter()
        .map(|e| serde_json::from_str::<Top>(&e.raw).ok())
        .collect();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns().len());
    for c in columns() {
        let a: ArrayRef = match &c.source {
            Source::Time => {
                let mut b =
                    TimestampMillisecondBuilder::with_capacity(events.len()).with_timezone("UTC");
                events.iter().for_each(|e| b.append_value(e.time_ms));
                Arc::new(b.finish())
            }
            Source::FieldBool(f) => {
                let mut b = BooleanBuilder::with_capacity(events.len());
                events
                    .iter()
                    .for_each(|e| b.append_option(e.keyword(f).map(|v| v == "true")));
                Arc::new(b.finish())
            }
            Source::Top(_, TopKind::Bool) => {
                let mut b = BooleanBuilder::with_capacity(events.len());
                for t in &tops {
                    b.append_option(t.as_ref().and_then(|t| match &c.name[..] {
                        "readonly" => boolish(&t.read_only),
                        _ => boolish(&t.management_event),
                    }));
                }
                Arc::new(b.finish())
            }
            source => {
                let mut b = StringBuilder::with_capacity(events.len(), events.len() * 16);
                for (e, t) in events.iter().zip(&tops) {
                    let v: Option<&str> = match source {
                        Source::EventId => Some(&e.event_id),
                        Source::Field(f) => e.keyword(f),
                        Source::ActorBasis => e.stitch.basis.map(|b| b.as_str()),
                        Source::Record => Some(&e.raw),
                        Source::Top(key, _) => t.as_ref().and_then(|t| match *key {
                            "userAgent" => t.user_agent.as_deref(),
                            "errorMessage" => t.error_message.as_deref(),
                            "eventCategory" => t.event_category.as_deref(),
                            "requestParameters" => json_text(t.request_parameters),
                            "responseElements" => json_text(t.response_elements),
                            "additionalEventData" => json_text(t.additional_event_data),
                            "serviceEventDetails" => json_text(t.service_event_details),
                            _ => json_text(t.tls_details),
                        }),
                        _ => None,
                    };
                    b.append_option(v);
                }
                Arc::new(b.finish())
            }
        };
        arrays.push(a);
    }
    RecordBatch::try_new(arrow_schema(), arrays)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_sql() {
        for c in columns() {
            assert!(
                c.name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                "{}",
                c.name
            );
        }
        assert_eq!(sql_name("userIdentity.arn"), "useridentity_arn");
        assert_eq!(
            sql_name("additionalEventData.x-amz-id-2"),
            "additionaleventdata_x_amz_id_2"
        );
        let mut names: Vec<&str> = columns().iter().map(|c| c.name.as_str()).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "unique");
        for f in [
            names::ACTOR,
            names::SOURCE_IDENTITY,
            names::ROLE_ARN,
            names::SPACE_ARN,
            names::USER_PROFILE,
            names::DOMAIN_ID,
            names::ACTOR_BASIS,
        ] {
            assert!(column_of(f).is_some(), "{f}");
        }
    }

    #[test]
    fn a_record_becomes_a_row() {
        let raw = r#"{"eventVersion":"1.09","eventTime":"2024-05-14T09:00:00Z","eventID":"e1","eventName":"CreateApp","eventSource":"sagemaker.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"1","readOnly":false,"userAgent":"ua","requestParameters":{"a":1},"responseElements":null,"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/SageMaker","sessionContext":{"sourceIdentity":"alice"}}}"#;
        let e = crate::normalise::cloudtrail(raw).unwrap().event;
        let b = batch(&[&e]).unwrap();
        assert_eq!(b.num_rows(), 1);
        let col = |n: &str| b.column_by_name(n).unwrap().clone();
        let s = |n: &str| {
            col(n)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .map(|a| (!arrow::array::Array::is_null(a, 0)).then(|| a.value(0).to_string()))
                .unwrap()
        };
        assert_eq!(s("eventid").as_deref(), Some("e1"));
        assert_eq!(s("actor").as_deref(), Some("alice"));
        assert_eq!(s("actorbasis").as_deref(), Some("sourceIdentity"));
        assert_eq!(s("requestparameters").as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(s("responseelements"), None, "null is no value");
        assert_eq!(s("record").as_deref(), Some(e.raw.as_str()));
        let ro = col("readonly");
        let ro = ro
            .as_any()
            .downcast_ref::<arrow::array::BooleanArray>()
            .unwrap();
        assert!(!ro.value(0));
    }
}
