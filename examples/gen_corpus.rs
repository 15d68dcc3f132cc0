//! Deterministic corpus generator for benchmarks: N realistic CloudTrail events (SageMaker Studio traffic,
//! S3 data events, STS, errors; 1–2 KB each) written in the S3 trail layout as `.json.gz` objects of
//! realistic sizes, plus Studio log streams in the export layout.
//!
//! `cargo run --release --example gen_corpus -- --events N --seed S --out DIR`

use std::io::Write;
use std::path::PathBuf;

/// A small, fast, deterministic generator (SplitMix64): the corpus must be the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const INSTANCE_TYPES: [&str; 6] = [
    "system",
    "ml.t3.medium",
    "ml.m5.xlarge",
    "ml.g5.2xlarge",
    "ml.g5.12xlarge",
    "ml.p3.2xlarge",
];
const APP_TYPES: [&str; 4] = ["JupyterServer", "KernelGateway", "JupyterLab", "CodeEditor"];
const IPS: [&str; 6] = [
    "198.51.100.23",
    "198.51.100.87",
    "203.0.113.77",
    "192.0.2.14",
    "studio.sagemaker.amazonaws.com",
    "AWS Internal",
];

/// A deterministic session key for (account, user, hour, kind of session).
fn session_key(acct: &str, user: u64, hour: i64, kind: u64) -> String {
    let a: u64 = acct.parse().unwrap_or(0);
    let mut r =
        Rng(a ^ user.wrapping_mul(0x1000_0001) ^ (hour as u64).rotate_left(20) ^ kind << 60);
    format!("ASIA{:016X}", r.next() & 0xFFFF_FFFF_FFFF)
}

/// What the corpus is made of.
struct Args {
    events: u64,
    seed: u64,
    out: PathBuf,
    /// Of every 1,000 training jobs, how many break the whitepaper's job guardrails (no VPC, no volume
    /// key, no network isolation, no inter-container encryption, no `studiouserid` tag). 1,000 (the
    /// default, and the corpus benches/compare measures) makes every job a finding of five rules; 20
    /// gives the "under 1 % of events are findings" corpus of the audit target.
    breaking_jobs_per_mille: u64,
}

fn args() -> Args {
    let mut events = 100_000u64;
    let mut seed = 42u64;
    let mut out = PathBuf::from("benches/corpus");
    let mut breaking_jobs_per_mille = 1000u64;
    let a: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < a.len() {
        match a[i].as_str() {
            "--events" => events = a[i + 1].parse().expect("--events N"),
            "--seed" => seed = a[i + 1].parse().expect("--seed S"),
            "--out" => out = PathBuf::from(&a[i + 1]),
            "--breaking-jobs-per-mille" => {
                breaking_jobs_per_mille = a[i + 1].parse().expect("--breaking-jobs-per-mille N")
            }
            other => panic!("unknown argument {other}; use --events N --seed S --out DIR [--breaking-jobs-per-mille N]"),
        }
        i += 2;
    }
    Args {
        events,
        seed,
        out,
        breaking_jobs_per_mille,
    }
}

fn record(r: &mut Rng, n: u64, t: i64, acct: &str, region: &str, breaking: u64) -> String {
    let user = r.below(200);
    let domain = format!("d-{:011x}", (user % 5) * 7919 + 1);
    let profile = format!("user{user:03}");
    let space = format!("space-{:02}", r.below(30));
    let role = format!("AmazonSageMaker-ExecutionRole-{:02}", user % 20);
    let role_arn = format!("arn:aws:iam::{acct}:role/service-role/{role}");
    let ts = jiff::Timestamp::from_second(t).unwrap();
    let ip = *r.pick(&IPS);
    let err = r.below(100) < 3;
    // Session credentials, as in real trails: one key per identity, account and hour (STS sessions of
    // Studio and of the portal role last about that long), so a key recurs across a session's calls.
    let hour = t.div_euclid(3600);
    let studio_key = session_key(acct, user, hour, 1);
    let portal_key = session_key(acct, user, hour, 2);
    let studio = format!(
        r#"{{"type":"AssumedRole","principalId":"AROA{user:016}:SageMaker","arn":"arn:aws:sts::{acct}:assumed-role/{role}/SageMaker","accountId":"{acct}","accessKeyId":"{studio_key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{user:016}","arn":"{role_arn}","accountId":"{acct}","userName":"{role}"}},"attributes":{{"creationDate":"{ts}","mfaAuthenticated":"false"}},"sourceIdentity":"{profile}"}}}}"#
    );
    let portal = format!(
        r#"{{"type":"AssumedRole","principalId":"AROAPORTAL{user:010}:{profile}@example.com","arn":"arn:aws:sts::{acct}:assumed-role/StudioPortalAccess/{profile}@example.com","accountId":"{acct}","accessKeyId":"{portal_key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAPORTAL{user:010}","arn":"arn:aws:iam::{acct}:role/StudioPortalAccess","accountId":"{acct}","userName":"StudioPortalAccess"}},"attributes":{{"creationDate":"{ts}","mfaAuthenticated":"true"}}}}}}"#
    );
    let (source, name, ui, rp, re, ro) = match r.below(20) {
        0..=5 => {
            let bucket = format!("ml-data-{}", user % 12);
            let obj = format!("datasets/fraud/part-{:05}.parquet", r.below(50_000));
            (
                "s3.amazonaws.com",
                if r.below(4) == 0 {
                    "PutObject"
                } else {
                    "GetObject"
                },
                studio.clone(),
                format!(
                    r#"{{"bucketName":"{bucket}","Host":"{bucket}.s3.{region}.amazonaws.com","key":"{obj}"}}"#
                ),
                "null".to_string(),
                true,
            )
        }
        6..=8 => (
            "sagemaker.amazonaws.com",
            "CreatePresignedDomainUrl",
            portal.clone(),
            format!(
                r#"{{"domainId":"{domain}","userProfileName":"{profile}","sessionExpirationDurationInSeconds":{}}}"#,
                [1800, 3600, 43200][r.below(3) as usize]
            ),
            "null".to_string(),
            false,
        ),
        9..=10 => {
            let app = *r.pick(&APP_TYPES);
            let owner = if app == "JupyterServer" || app == "KernelGateway" {
                format!(r#""userProfileName":"{profile}""#)
            } else {
                format!(r#""spaceName":"{space}""#)
            };
            (
                "sagemaker.amazonaws.com",
                "CreateApp",
                studio.clone(),
                format!(
                    r#"{{"domainId":"{domain}",{owner},"appType":"{app}","appName":"default","resourceSpec":{{"instanceType":"{}","sageMakerImageArn":"arn:aws:sagemaker:{region}:081325390199:image/sagemaker-distribution-cpu"}}}}"#,
                    r.pick(&INSTANCE_TYPES)
                ),
                format!(
                    r#"{{"appArn":"arn:aws:sagemaker:{region}:{acct}:app/{domain}/{profile}/{}/default"}}"#,
                    app.to_lowercase()
                ),
                false,
            )
        }
        11..=12 => {
            let job = format!("fraud-detector-v{}-{:06}", r.below(9), n);
            // A compliant job: in a VPC, isolated, encrypted at rest and between containers, tagged.
            // Drawn only when some jobs comply, so the default corpus stays byte for byte what it was.
            let complies = breaking < 1000 && r.below(1000) >= breaking;
            let (vpc, key, tag) = if complies {
                (
                    r#","vpcConfig":{"subnets":["subnet-0a1b2c3d"],"securityGroupIds":["sg-0a1b2c3d"]},"enableNetworkIsolation":true,"enableInterContainerTrafficEncryption":true"#.to_string(),
                    format!(r#","volumeKmsKeyId":"arn:aws:kms:{region}:{acct}:key/0a1b2c3d""#),
                    format!(r#",{{"key":"studiouserid","value":"{profile}"}}"#),
                )
            } else {
                (String::new(), String::new(), String::new())
            };
            (
                "sagemaker.amazonaws.com",
                "CreateTrainingJob",
                studio.clone(),
                format!(
                    r#"{{"trainingJobName":"{job}","roleArn":"{role_arn}","algorithmSpecification":{{"trainingImage":"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:2.2-gpu-py310","trainingInputMode":"File"}},"resourceConfig":{{"instanceType":"{}","instanceCount":1,"volumeSizeInGB":50{key}}},"stoppingCondition":{{"maxRuntimeInSeconds":86400}}{vpc},"tags":[{{"key":"sagemaker:domain-arn","value":"arn:aws:sagemaker:{region}:{acct}:domain/{domain}"}},{{"key":"sagemaker:user-profile-arn","value":"arn:aws:sagemaker:{region}:{acct}:user-profile/{domain}/{profile}"}},{{"key":"sagemaker:space-arn","value":"arn:aws:sagemaker:{region}:{acct}:space/{domain}/{space}"}}{tag}]}}"#,
                    r.pick(&INSTANCE_TYPES)
                ),
                format!(
                    r#"{{"trainingJobArn":"arn:aws:sagemaker:{region}:{acct}:training-job/{job}"}}"#
                ),
                false,
            )
        }
        13..=15 => (
            "sagemaker.amazonaws.com",
            *r.pick(&[
                "DescribeApp",
                "ListApps",
                "DescribeSpace",
                "DescribeUserProfile",
                "ListSpaces",
            ]),
            studio.clone(),
            format!(
                r#"{{"domainId":"{domain}","spaceName":"{space}","appType":"JupyterLab","appName":"default"}}"#
            ),
            "null".to_string(),
            true,
        ),
        16..=17 => {
            let new_key = format!("ASIA{:016X}", r.next() & 0xFFFF_FFFF_FFFF);
            (
                "sts.amazonaws.com",
                "AssumeRole",
                portal.clone(),
                format!(
                    r#"{{"roleArn":"{role_arn}","roleSessionName":"{profile}-session","durationSeconds":3600}}"#
                ),
                format!(
                    r#"{{"credentials":{{"accessKeyId":"{new_key}","sessionToken":"IQoJb3JpZ2luX2VjEXAMPLE{n}","expiration":"May 14, 2024, 9:00:00 AM"}},"assumedRoleUser":{{"assumedRoleId":"AROA{user:016}:{profile}-session","arn":"arn:aws:sts::{acct}:assumed-role/{role}/{profile}-session"}}}}"#
                ),
                false,
            )
        }
        _ => (
            "sagemaker.amazonaws.com",
            "UpdateSpace",
            studio.clone(),
            format!(
                r#"{{"domainId":"{domain}","spaceName":"{space}","spaceSettings":{{"appType":"JupyterLab","jupyterLabAppSettings":{{"defaultResourceSpec":{{"instanceType":"{}"}}}}}}}}"#,
                r.pick(&INSTANCE_TYPES)
            ),
            format!(r#"{{"spaceArn":"arn:aws:sagemaker:{region}:{acct}:space/{domain}/{space}"}}"#),
            false,
        ),
    };
    let error = if err {
        r#""errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this action","#
    } else {
        ""
    };
    let re = if err { "null".to_string() } else { re };
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{ui},"eventTime":"{ts}","eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"{ip}","userAgent":"AWS-SageMaker-Studio/1.0 Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.10.14",{error}"requestParameters":{rp},"responseElements":{re},"requestID":"{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}","eventID":"{:08x}-{:04x}-4{:03x}-9{:03x}-{:012x}","readOnly":{ro},"eventType":"AwsApiCall","managementEvent":{},"recipientAccountId":"{acct}","eventCategory":"{}","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"api.sagemaker.{region}.amazonaws.com"}}}}"#,
        r.next() as u32,
        r.below(65536),
        r.below(4096),
        r.below(4096),
        r.next() & 0xFFFF_FFFF_FFFF,
        n as u32,
        (n >> 32) as u16,
        r.below(4096),
        r.below(4096),
        r.next() & 0xFFFF_FFFF_FFFF,
        source != "s3.amazonaws.com",
        if source == "s3.amazonaws.com" {
            "Data"
        } else {
            "Management"
        },
    )
}

fn main() {
    let Args {
        events,
        seed,
        out,
        breaking_jobs_per_mille,
    } = args();
    let mut r = Rng(seed);
    // 2024-05-01T00:00:00Z onwards, ~ one object per account, region and 5 minutes.
    let start = 1_714_521_600i64;
    let mut n = 0u64;
    let mut slot = 0i64;
    let mut objects = 0u64;
    let mut bytes = 0u64;
    while n < events {
        for acct in ACCOUNTS {
            for region in REGIONS {
                if n >= events {
                    break;
                }
                // A few to a few thousand records an object: busy accounts write big objects.
                let size = match r.below(10) {
                    0..=3 => 2 + r.below(50),
                    4..=7 => 50 + r.below(500),
                    _ => 500 + r.below(2500),
                }
                .min(events - n);
                let t0 = start + slot * 300;
                let mut recs = Vec::with_capacity(size as usize);
                for _ in 0..size {
                    let t = t0 + r.below(300) as i64;
                    recs.push(record(&mut r, n, t, acct, region, breaking_jobs_per_mille));
                    n += 1;
                }
                let ts = jiff::Timestamp::from_second(t0 + 300).unwrap();
                let dir = out.join(format!(
                    "AWSLogs/{acct}/CloudTrail/{region}/{}",
                    ts.strftime("%Y/%m/%d")
                ));
                std::fs::create_dir_all(&dir).unwrap();
                let name = format!(
                    "{acct}_CloudTrail_{region}_{}_{:016x}.json.gz",
                    ts.strftime("%Y%m%dT%H%MZ"),
                    r.next()
                );
                let mut g =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                g.write_all(b"{\"Records\":[").unwrap();
                g.write_all(recs.join(",").as_bytes()).unwrap();
                g.write_all(b"]}").unwrap();
                let gz = g.finish().unwrap();
                bytes += gz.len() as u64;
                std::fs::write(dir.join(name), gz).unwrap();
                objects += 1;
            }
        }
        slot += 1;
    }
    eprintln!(
        "wrote {n} events in {objects} objects, {bytes} bytes gz, under {}",
        out.display()
    );
}
