//! The standard AWS configuration: default credential chain, `--profile`, `--region`, `--endpoint-url`
//! (also `AWS_ENDPOINT_URL`), and retries with backoff on throttling and 5xx.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;

/// Attempts per request (the first try included): enough to ride out a burst of throttling.
pub(crate) const MAX_ATTEMPTS: u32 = 6;
/// First backoff; the SDK doubles it with jitter up to its maximum.
pub(crate) const INITIAL_BACKOFF: Duration = Duration::from_millis(200);

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub max_attempts: Option<u32>,
    pub initial_backoff: Option<Duration>,
}

impl AwsOptions {
    pub(crate) fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.unwrap_or(MAX_ATTEMPTS))
            .with_initial_backoff(self.initial_backoff.unwrap_or(INITIAL_BACKOFF))
    }
}

/// Load the shared configuration the way the AWS CLI does.
pub async fn load(opts: &AwsOptions) -> aws_config::SdkConfig {
    let mut l = aws_config::defaults(BehaviorVersion::latest()).retry_config(opts.retry_config());
    if let Some(p) = &opts.profile {
        l = l.profile_name(p);
    }
    if let Some(r) = &opts.region {
        l = l.region(aws_config::Region::new(r.clone()));
    }
    let endpoint = opts.endpoint_url.clone().or_else(|| {
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|s| !s.is_empty())
    });
    if let Some(e) = endpoint {
        l = l.endpoint_url(e);
    }
    let conf = l.load().await;
    if conf.region().is_none() {
        // Without a region the SDK cannot sign; S3 trail buckets are global names, so us-east-1 is a
        // workable default (the SDK follows the bucket's region on redirect).
        return conf
            .into_builder()
            .region(aws_config::Region::new("us-east-1"))
            .build();
    }
    conf
}

/// A one-line reason from an SDK error of any service (the service's code and message, not the debug
/// dump). Every SDK re-exports the same smithy `SdkError`.
pub(crate) fn describe<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => format!("service error: {err}"),
            }
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(d) => format!("cannot connect: {:?}", d.as_connector_error()),
        other => format!("{other}"),
    }
}
