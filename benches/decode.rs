//! Criterion micro-benchmarks: decode (gunzip + cut records) and normalise, per record, on a realistic
//! trail object built in memory (Studio jobs with tags and a shared execution role).

use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn object(n: usize) -> Vec<u8> {
    let mut recs = Vec::with_capacity(n);
    for i in 0..n {
        recs.push(format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLE:SageMaker","arn":"arn:aws:sts::111122223333:assumed-role/AmazonSageMaker-ExecutionRole/SageMaker","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE{i:08}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole","accountId":"111122223333","userName":"AmazonSageMaker-ExecutionRole"}},"attributes":{{"creationDate":"2024-05-14T08:55:01Z","mfaAuthenticated":"false"}},"sourceIdentity":"user{u}"}}}},"eventTime":"2024-05-14T10:{m:02}:{s:02}Z","eventSource":"sagemaker.amazonaws.com","eventName":"CreateTrainingJob","awsRegion":"us-east-1","sourceIPAddress":"studio.sagemaker.amazonaws.com","userAgent":"AWS-SageMaker-Studio/1.0 Boto3/1.34.84","requestParameters":{{"trainingJobName":"job-{i}","roleArn":"arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole","resourceConfig":{{"instanceType":"ml.p3.2xlarge","instanceCount":1,"volumeSizeInGB":50}},"tags":[{{"key":"sagemaker:domain-arn","value":"arn:aws:sagemaker:us-east-1:111122223333:domain/d-abc"}},{{"key":"sagemaker:user-profile-arn","value":"arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-abc/user{u}"}}]}},"responseElements":{{"trainingJobArn":"arn:aws:sagemaker:us-east-1:111122223333:training-job/job-{i}"}},"requestID":"req-{i}","eventID":"evt-{i:012}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}"#,
            u = i % 50,
            m = i % 60,
            s = i % 60
        ));
    }
    let body = format!(r#"{{"Records":[{}]}}"#, recs.join(","));
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    g.write_all(body.as_bytes()).unwrap();
    g.finish().unwrap()
}

fn bench(c: &mut Criterion) {
    // Records per object: a busy account's five-minute object.
    const N: usize = 1000;
    let gz = object(N);
    let mut g = c.benchmark_group("per-object-1000-records");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("gunzip+decode", |b| {
        b.iter(|| {
            let (text, _) = sagetrail::decode::gunzip(&gz);
            sagetrail::decode::cloudtrail::decode(&text).records.len()
        })
    });
    let (text, _) = sagetrail::decode::gunzip(&gz);
    let d = sagetrail::decode::cloudtrail::decode(&text);
    g.bench_function("normalise", |b| {
        b.iter(|| {
            d.records
                .iter()
                .map(|r| {
                    sagetrail::normalise::cloudtrail(r)
                        .unwrap()
                        .event
                        .paths
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
