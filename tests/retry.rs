//! Retries on throttling and 5xx, tested where the SDK meets HTTP (moto cannot throttle): a fake HTTP
//! client answers SlowDown / ThrottlingException a few times, then succeeds or never does. The clients are
//! sagetrail's own (`source::aws::load`, `source::s3::client`, `source::cwlogs::client`), so the retry
//! policy tested is the one the binary runs with.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_http_client::test_util::infallible_client_fn;
use sagetrail::source::aws::AwsOptions;

fn opts(max_attempts: u32) -> AwsOptions {
    AwsOptions {
        max_attempts: Some(max_attempts),
        initial_backoff: Some(Duration::from_millis(1)),
        ..Default::default()
    }
}

fn flaky(
    fail_first: usize,
    status: u16,
    fail_body: &'static str,
    ok_body: &'static str,
) -> (
    aws_smithy_runtime_api::client::http::SharedHttpClient,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let client = infallible_client_fn(move |_req| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        if n < fail_first {
            http::Response::builder()
                .status(status)
                .header(
                    "x-amzn-errortype",
                    if status == 400 {
                        "ThrottlingException"
                    } else {
                        ""
                    },
                )
                .body(fail_body)
                .unwrap()
        } else {
            http::Response::builder().status(200).body(ok_body).unwrap()
        }
    });
    (client, calls)
}

/// The configuration sagetrail builds (`source::aws::load`: retry policy, region, endpoint), with only the
/// HTTP client and the credentials replaced, so the retry policy under test is the one the binary uses.
async fn real_config(
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    o: &AwsOptions,
) -> aws_config::SdkConfig {
    let mut o = o.clone();
    o.region = Some("us-east-1".into());
    sagetrail::source::aws::load(&o)
        .await
        .into_builder()
        .http_client(http)
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("a", "b", None, None, "test"),
        ))
        .build()
}

/// sagetrail's own S3 client constructor over that configuration.
async fn s3_client(
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    o: &AwsOptions,
) -> aws_sdk_s3::Client {
    sagetrail::source::s3::client(&real_config(http, o).await)
}

const SLOW_DOWN: &str =
    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";

#[tokio::test]
async fn s3_throttling_is_retried_with_backoff_until_it_passes() {
    let (http, calls) = flaky(2, 503, SLOW_DOWN, "{\"Records\":[]}");
    let c = s3_client(http, &opts(4)).await;
    let body = sagetrail::source::s3::fetch(&c, "bucket", "key.json.gz")
        .await
        .unwrap();
    assert_eq!(body, b"{\"Records\":[]}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn s3_throttling_that_never_ends_is_an_error_naming_the_cause() {
    let (http, calls) = flaky(usize::MAX, 503, SLOW_DOWN, "");
    let c = s3_client(http, &opts(3)).await;
    let err = sagetrail::source::s3::fetch(&c, "bucket", "key.json.gz")
        .await
        .unwrap_err();
    assert!(err.contains("SlowDown"), "{err}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "gives up after max attempts"
    );
}

#[tokio::test]
async fn s3_server_errors_are_retried_too() {
    let (http, calls) = flaky(
        1,
        500,
        "<Error><Code>InternalError</Code><Message>x</Message></Error>",
        "ok",
    );
    let c = s3_client(http, &opts(3)).await;
    assert_eq!(
        sagetrail::source::s3::fetch(&c, "b", "k").await.unwrap(),
        b"ok"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn s3_client_errors_are_not_retried() {
    let (http, calls) = flaky(
        usize::MAX,
        403,
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        "",
    );
    let c = s3_client(http, &opts(5)).await;
    let err = sagetrail::source::s3::fetch(&c, "b", "k")
        .await
        .unwrap_err();
    assert!(err.contains("AccessDenied"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cloudwatch_logs_throttling_is_retried() {
    let (http, calls) = flaky(
        2,
        400,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        r#"{"logStreams":[{"logStreamName":"d-1/alice/JupyterServer/default","lastEventTimestamp":1715680800000}]}"#,
    );
    let c = sagetrail::source::cwlogs::client(&real_config(http, &opts(4)).await);
    let streams = sagetrail::source::cwlogs::streams(&c, "/aws/sagemaker/studio", None)
        .await
        .unwrap();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].last_event_ms, Some(1715680800000));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}
