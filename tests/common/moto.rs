//! moto, the S3 and CloudWatch Logs server the AWS tests run against: its URL (a plain `cargo test`
//! without it skips, saying so; scripts/test and CI require it), SDK clients for it, buckets.

pub fn moto() -> Option<String> {
    match std::env::var("SAGETRAIL_TEST_MOTO") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").is_err() && std::env::var("SAGETRAIL_REQUIRE_MOTO").is_err(),
                "scripts/test and CI must run these against moto (scripts/test starts it)"
            );
            eprintln!("note: SAGETRAIL_TEST_MOTO is not set; run scripts/test");
            None
        }
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub async fn conf(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await
}

pub fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    let c = rt().block_on(conf(endpoint));
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&c)
            .force_path_style(true)
            .build(),
    )
}

pub fn logs(endpoint: &str) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&rt().block_on(conf(endpoint)))
}

pub fn bucket(client: &aws_sdk_s3::Client, name: &str) {
    rt().block_on(client.create_bucket().bucket(name).send())
        .unwrap();
}
