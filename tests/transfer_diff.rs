//! The streaming diff on moto: every source and destination key is paired exactly once,
//! prefixes are remapped, nested segments and filters are honoured, nothing outside the
//! segments is listed as extra, and shards of the key space are disjoint and together
//! pair exactly what the whole run pairs.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use s3bridge::transfer::diff::{self, Bucket, DiffOptions};
use s3bridge::transfer::keys::{KeyFilter, KeyPlan};
use support::{moto::Moto, REGION, SOURCE_ACCOUNT};

async fn bucket_with(s3: &aws_sdk_s3::Client, name: &str, keys: &[&str]) {
    support::create_bucket(s3, name, REGION).await;
    for key in keys {
        s3.put_object()
            .bucket(name)
            .key(*key)
            .body(key.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
}

/// Runs the diff and returns destination key → (in source, in destination).
async fn pairs(
    s3: &aws_sdk_s3::Client,
    plan: KeyPlan,
    options: DiffOptions,
) -> BTreeMap<String, (bool, bool)> {
    let plan = Arc::new(plan);
    let mut rx = diff::start(
        Bucket {
            s3: s3.clone(),
            name: "src".into(),
        },
        Bucket {
            s3: s3.clone(),
            name: "dst".into(),
        },
        plan.clone(),
        options,
    );
    let mut seen = BTreeMap::new();
    while let Some(batch) = rx.recv().await {
        for pair in batch.unwrap() {
            let key = pair.destination_key(&plan);
            let previous = seen.insert(
                key.clone(),
                (pair.source.is_some(), pair.destination.is_some()),
            );
            assert!(previous.is_none(), "{key} paired twice");
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn pairs_every_key_once_across_ranges_and_segments() {
    let moto = Moto::start();
    let s3 = moto.session(SOURCE_ACCOUNT).await.s3();
    let mut source_keys: Vec<String> = (0..30)
        .map(|i| format!("images/{:02}/pic-{i}.png", i % 7))
        .collect();
    source_keys
        .extend((0..20).map(|i| format!("scans/{}/s{i}.dcm", ["a", "b", "c", "ü b"][i % 4])));
    source_keys.extend([
        "scans/skip.tmp".to_string(),
        "other/not-in-plan.txt".to_string(),
    ]);
    let source_refs: Vec<&str> = source_keys.iter().map(String::as_str).collect();
    bucket_with(&s3, "src", &source_refs).await;
    // The destination already has some of them, one extra, one outside the plan.
    bucket_with(
        &s3,
        "dst",
        &[
            "avatar/00/pic-0.png",
            "avatar/extra.png",
            "scans/a/s0.dcm",
            "elsewhere/keep.txt",
        ],
    )
    .await;

    let yaml = std::fs::read_to_string(support::fixture("specs/example.yaml")).unwrap();
    let spec = s3bridge::spec::parse_str("example.yaml", &yaml).unwrap().0;
    let plan = KeyPlan::from_spec(&spec).unwrap();

    for ranges in [1, 3, 8] {
        let options = DiffOptions {
            ranges_per_segment: ranges,
            page_size: 7,
            ..DiffOptions::default()
        };
        let seen = pairs(&s3, plan.clone(), options).await;
        // 30 images + 20 scans (the .tmp is excluded) + 1 extra; nothing under other/ or elsewhere/.
        assert_eq!(seen.len(), 51, "with {ranges} ranges: {seen:?}");
        assert_eq!(seen["avatar/00/pic-0.png"], (true, true));
        assert_eq!(seen["avatar/03/pic-3.png"], (true, false));
        assert_eq!(seen["avatar/extra.png"], (false, true));
        assert_eq!(seen["scans/a/s0.dcm"], (true, true));
        assert_eq!(seen["scans/ü b/s3.dcm"], (true, false));
        assert!(!seen.contains_key("scans/skip.tmp"));
        assert!(!seen.keys().any(|k| k.starts_with("other/")
            || k.starts_with("elsewhere/")
            || k.starts_with("images/")));
    }

    // Shards of the source key space: together they pair every key of the whole run,
    // each key in exactly one shard (extras in the destination too, by their source key).
    let whole = pairs(&s3, plan.clone(), DiffOptions::default()).await;
    let boundaries: Vec<String> = [
        "images/02/\u{10FFFF}",
        "images/05/pic-19.png",
        "scans/a/\u{10FFFF}",
        "scans/c/s2.dcm",
    ]
    .map(str::to_string)
    .to_vec();
    let mut seen_in: BTreeMap<String, usize> = BTreeMap::new();
    let mut union = BTreeMap::new();
    for (index, range) in s3bridge::transfer::shard::ranges(&boundaries)
        .into_iter()
        .enumerate()
    {
        let options = DiffOptions {
            shard: Some(range.clone()),
            page_size: 5,
            ..DiffOptions::default()
        };
        let part = pairs(&s3, plan.clone(), options).await;
        assert!(!part.is_empty(), "shard {index} ({range:?}) paired nothing");
        for (key, sides) in part {
            if let Some(other) = seen_in.insert(key.clone(), index) {
                panic!("{key} is in shards {other} and {index}");
            }
            union.insert(key, sides);
        }
    }
    assert_eq!(union, whole, "the shards together are not the whole run");

    // Ad hoc: one segment, with a shard that keeps only part of it.
    let plan = KeyPlan::ad_hoc("images/", "avatar/", KeyFilter::default());
    let shard = s3bridge::transfer::listing::KeyRange {
        after: Some("images/02/\u{10FFFF}".into()),
        until: Some("images/04/\u{10FFFF}".into()),
    };
    let seen = pairs(
        &s3,
        plan,
        DiffOptions {
            shard: Some(shard),
            ..DiffOptions::default()
        },
    )
    .await;
    assert!(!seen.is_empty());
    assert!(
        seen.keys()
            .all(|k| k.starts_with("avatar/03/") || k.starts_with("avatar/04/")),
        "{seen:?}"
    );
}
