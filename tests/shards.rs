//! `s3bridge shards plan` on a real listing (moto): a bucket whose prefixes are of very
//! uneven size is planned once, and the ranges `shards show` gives four (and three)
//! workers, listed the way a worker lists them (ListObjectsV2 `StartAfter`, stopping
//! past the end), hold every object exactly once and stay within 2x of each other.
//! Then four `copy --shard I/4` processes run side by side and copy every object exactly
//! once, and four `verify --shard I/4` together match every object.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use s3bridge::transfer::shard::KeyRange;
use serde_json::Value;
use support::moto::Moto;
use support::{fixture, s3bridge, stderr, stdout, REGION};

/// Keys a worker of `range` lists.
async fn list_range(s3: &aws_sdk_s3::Client, bucket: &str, range: &KeyRange) -> Vec<String> {
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .set_start_after(range.start_after_within("").map(str::to_string))
        .max_keys(100)
        .into_paginator()
        .send();
    'pages: while let Some(page) = pages.next().await {
        for object in page.unwrap().contents() {
            let key = object.key().unwrap();
            if range.is_past_end(key) {
                break 'pages;
            }
            keys.push(key.to_string());
        }
    }
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn planned_shards_cover_every_object_once_and_stay_balanced() {
    let moto = Moto::start();
    let spec = s3bridge::spec::load(&fixture("specs/example.yaml"))
        .unwrap()
        .spec;
    let bucket = spec.source.bucket.clone();
    // The bucket belongs to the account the binary's plain test credentials act in.
    let s3 = moto.plain_session().await.s3();
    support::create_bucket(&s3, &bucket, REGION).await;
    // Very uneven prefixes: one holds 80% of the objects, one holds 5.
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for i in 0..640 {
        keys.insert(format!("scans/2024/{:03}/{i}.dcm", i % 97));
    }
    for i in 0..120 {
        keys.insert(format!("images/{i:04}.png"));
    }
    for i in 0..35 {
        keys.insert(format!("logs/{i}.log"));
    }
    for i in 0..5 {
        keys.insert(format!("a{i}"));
    }
    keys.insert("étude/é.txt".into());
    keys.insert("scans".into());
    let total = keys.len();
    let mut uploads = tokio::task::JoinSet::new();
    for chunk in keys.iter().cloned().collect::<Vec<_>>().chunks(50) {
        let (s3, bucket, chunk) = (s3.clone(), bucket.clone(), chunk.to_vec());
        uploads.spawn(async move {
            for key in chunk {
                s3.put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .body(key.clone().into_bytes().into())
                    .send()
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = uploads.join_next().await {
        done.unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    // A small resolution so the sample thins out (stride > 1) on 800 keys. The plan of
    // the bucket's URL, with the plain test credentials that own it (a spec's plan
    // lists the same way, after its account check: tests/accounts.rs).
    let source_url = format!("s3://{bucket}");
    let output = s3bridge(&[
        "shards",
        "plan",
        &source_url,
        "--out",
        plan.to_str().unwrap(),
        "--resolution",
        "128",
        "--endpoint-url",
        &moto.endpoint,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(written["total_keys"], total);
    assert!(written["stride"].as_u64().unwrap() > 1, "{written}");

    for count in [4, 3] {
        let shown = s3bridge(&[
            "shards",
            "show",
            plan.to_str().unwrap(),
            "--shards",
            &count.to_string(),
            "--format",
            "json",
        ]);
        assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
        let shown: Value = serde_json::from_str(&stdout(&shown)).unwrap();
        let ranges: Vec<KeyRange> = serde_json::from_value(shown["ranges"].clone()).unwrap();
        assert_eq!(ranges.len(), count);

        let mut seen = BTreeSet::new();
        let mut sizes = Vec::new();
        for range in &ranges {
            let listed = list_range(&s3, &bucket, range).await;
            for key in &listed {
                assert!(seen.insert(key.clone()), "{key} listed by two shards");
            }
            sizes.push(listed.len());
        }
        assert_eq!(seen, keys, "{count} shards together list every object");
        assert_eq!(sizes.iter().sum::<usize>(), total);
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        eprintln!("{count} shards of {total} objects: {sizes:?}");
        assert!(max <= &(2 * min), "{count} shards: {sizes:?}");
    }

    copy_and_verify_in_four_shards(&moto, &s3, &bucket, &plan, &keys);
}

/// Four shard processes at once, as an Indexed Job runs them.
fn in_four_shards(args: impl Fn(&str) -> Vec<String> + Sync) -> Vec<std::process::Output> {
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4)
            .map(|i| {
                let args = args(&format!("{i}/4"));
                scope.spawn(move || s3bridge(&args.iter().map(String::as_str).collect::<Vec<_>>()))
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

fn copy_and_verify_in_four_shards(
    moto: &Moto,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    plan: &std::path::Path,
    keys: &BTreeSet<String>,
) {
    let runtime = tokio::runtime::Handle::current();
    let destination = "shard-copy-destination";
    tokio::task::block_in_place(|| {
        runtime.block_on(support::create_bucket(s3, destination, REGION))
    });
    let dir = tempfile::tempdir().unwrap();
    let report = |shard: &str| {
        dir.path()
            .join(format!("copy-{}.jsonl", shard.replace('/', "-")))
    };
    let plan = plan.to_str().unwrap().to_string();
    let common = |command: &str, shard: &str| -> Vec<String> {
        [
            command,
            &format!("s3://{bucket}"),
            &format!("s3://{destination}"),
            "--endpoint-url",
            &moto.endpoint,
            "--source-region",
            REGION,
            "--shard",
            shard,
            "--shard-plan",
            &plan,
            "--format",
            "json",
        ]
        .map(str::to_string)
        .to_vec()
    };
    let copy = |shard: &str| {
        let mut args = common("copy", shard);
        args.extend(["--quiet".into(), "--report".into()]);
        args.push(report(shard).to_str().unwrap().into());
        args
    };

    let runs = in_four_shards(copy);
    let mut copied_by: BTreeMap<String, String> = BTreeMap::new();
    let mut sizes = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.status.code(), Some(0), "shard {i}/4: {}", stderr(run));
        assert!(
            stderr(run).contains(&format!("shard {i}/4 of plan ")),
            "{}",
            stderr(run)
        );
        let summary: Value = serde_json::from_str(&stdout(run)).unwrap();
        let shard = format!("{i}/4");
        let lines = std::fs::read_to_string(report(&shard)).unwrap();
        let mut copied = 0;
        for line in lines.lines() {
            let outcome: Value = serde_json::from_str(line).unwrap();
            assert_eq!(outcome["result"], "ok", "{outcome}");
            assert_eq!(outcome["action"], "copy", "{outcome}");
            let key = outcome["source_key"].as_str().unwrap().to_string();
            if let Some(other) = copied_by.insert(key.clone(), shard.clone()) {
                panic!("{key} copied by shards {other} and {shard}");
            }
            copied += 1;
        }
        assert_eq!(summary["copied"], copied, "{summary}");
        sizes.push(copied);
    }
    assert_eq!(
        copied_by.keys().cloned().collect::<BTreeSet<_>>(),
        *keys,
        "four copy shards together copy every object"
    );
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    eprintln!("copy shards: {sizes:?}");
    assert!(*max <= 2 * *min, "copy shards: {sizes:?}");

    let runs = in_four_shards(|shard| common("verify", shard));
    let mut matched = 0;
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.status.code(), Some(0), "verify {i}/4: {}", stderr(run));
        let summary: Value = serde_json::from_str(&stdout(run)).unwrap();
        assert_eq!(summary["verdict"], "verified", "{summary}");
        matched += summary["classes"]["match"].as_u64().unwrap();
    }
    assert_eq!(
        matched as usize,
        keys.len(),
        "four verify shards match every object"
    );

    // A plan made for another bucket is refused, before anything is listed.
    let mut wrong = common("verify", "0/4");
    wrong.swap(1, 2);
    let refused = s3bridge(&wrong.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("was made for bucket"),
        "{}",
        stderr(&refused)
    );
}
