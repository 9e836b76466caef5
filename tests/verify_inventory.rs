//! S3 Inventory as a listing source, on generated manifests (no S3 needed): sorted and
//! unsorted rows over several data files, URL-encoded keys, versioned inventories,
//! external sorting under a tiny memory budget, damaged data files refused, and the
//! pages paired by `merge_pages` through a prefix-remapping key plan.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use md5::Digest;
use s3bridge::transfer::diff::{self, Pair};
use s3bridge::transfer::inventory::{self, Inventory, Location, ReadOptions};
use s3bridge::transfer::keys::{KeyFilter, KeyPlan};
use s3bridge::transfer::listing::ObjectEntry;

const SCHEMA: &str = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ChecksumAlgorithm";

/// S3's form URL-encoding: `+` for space, `%XX` for anything not plain.
fn encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn row(bucket: &str, key: &str, size: u64, etag: &str) -> String {
    format!(
        "\"{bucket}\",\"{}\",\"v1\",\"true\",\"false\",\"{size}\",\"2024-05-01T10:00:00.000Z\",\"{etag}\",\"STANDARD\",\"false\",\"\",\"SSE-S3\",\"CRC64NVME\"",
        encode(key)
    )
}

/// Writes an inventory of `bucket` with the given data files (each a list of rows)
/// into `mirror`; returns the manifest path.
fn write_inventory(mirror: &Path, bucket: &str, files: &[Vec<String>]) -> PathBuf {
    let mut entries = Vec::new();
    for (i, rows) in files.iter().enumerate() {
        let key = format!("inv/{bucket}/daily/data/{i:04}.csv.gz");
        let path = mirror.join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for (j, row) in rows.iter().enumerate() {
            // Every other file ends without a newline after its last row: both must read.
            if i % 2 == 1 && j + 1 == rows.len() {
                write!(gz, "{row}").unwrap();
            } else {
                writeln!(gz, "{row}").unwrap();
            }
        }
        let bytes = gz.finish().unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let md5: String = md5::Md5::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        entries.push(serde_json::json!({"key": key, "size": bytes.len(), "MD5checksum": md5}));
    }
    let manifest = serde_json::json!({
        "sourceBucket": bucket,
        "destinationBucket": "arn:aws:s3:::inventories",
        "version": "2016-11-30",
        "fileFormat": "CSV",
        "fileSchema": SCHEMA,
        "files": entries,
    });
    let path = mirror.join(format!(
        "inv/{bucket}/daily/2024-05-01T10-00Z/manifest.json"
    ));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = serde_json::to_vec(&manifest).unwrap();
    std::fs::write(&path, &text).unwrap();
    let md5: String = md5::Md5::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(path.with_file_name("manifest.checksum"), md5).unwrap();
    path
}

fn keys(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 4 {
            0 => format!("data/{:03}/plain-{i}.bin", i % 97),
            1 => format!("data/{:03}/with space+plus {i}.bin", i % 97),
            2 => format!("data/{:03}/ünïcödé-€-{i}", i % 97),
            _ => format!("data/{:03}/odd,chars\"%{i}", i % 97),
        })
        .collect()
}

async fn read_inventories(
    manifests: &[&Path],
    options: ReadOptions,
) -> Result<Vec<Arc<inventory::Sorted>>, String> {
    let mut opened = Vec::new();
    for manifest in manifests {
        let location = Location::parse(manifest.to_str().unwrap()).unwrap();
        opened.push(
            Inventory::open(&location, None)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    inventory::read_all(opened, options)
        .await
        .map_err(|e| e.to_string())
}

async fn entries(
    sorted: &Arc<inventory::Sorted>,
    prefix: &str,
) -> Result<Vec<ObjectEntry>, String> {
    let mut pages = sorted.pages(prefix, &[], 7);
    let mut out = Vec::new();
    while let Some(page) = pages.recv().await {
        out.extend(page.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn tiny_budget() -> ReadOptions {
    ReadOptions {
        memory_budget: 64 * 1024,
        workers: 2,
        temp_dir: None,
        detail: true,
        check_md5: true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sorted_and_unsorted_inventories_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let all = keys(3000);
    let mut expected = all.clone();
    expected.sort();
    let rows = |keys: &[String]| -> Vec<String> {
        keys.iter()
            .map(|k| row("src", k, k.len() as u64, "0123456789abcdef0123456789abcdef"))
            .collect()
    };
    // Sorted: three files, each a consecutive key range.
    let sorted_files: Vec<Vec<String>> = expected.chunks(1000).map(rows).collect();
    let sorted_manifest = write_inventory(&dir.path().join("a"), "src", &sorted_files);
    // Unsorted: the same rows dealt out of order into five files.
    let mut shuffled = all.clone();
    shuffled.reverse();
    shuffled.rotate_left(1234);
    let unsorted_files: Vec<Vec<String>> = (0..5)
        .map(|f| {
            rows(
                &shuffled
                    .iter()
                    .skip(f)
                    .step_by(5)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let unsorted_manifest = write_inventory(&dir.path().join("b"), "src", &unsorted_files);

    for options in [ReadOptions::default(), tiny_budget()] {
        let read = read_inventories(&[&sorted_manifest, &unsorted_manifest], options.clone())
            .await
            .unwrap();
        for sorted in &read {
            let got: Vec<String> = entries(sorted, "")
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.key)
                .collect();
            assert_eq!(got, expected, "{}", sorted.location);
            assert_eq!(sorted.stats.objects, 3000);
        }
        if options.memory_budget < 1 << 20 {
            // The tiny budget spilled runs to disk.
            assert!(read[1].stats.spilled_runs > 1, "{:?}", read[1].stats);
        }
        // A prefix reads only its keys, in order, decoded.
        let under: Vec<ObjectEntry> = entries(&read[1], "data/001/").await.unwrap();
        let expected_under: Vec<&String> = expected
            .iter()
            .filter(|k| k.starts_with("data/001/"))
            .collect();
        assert_eq!(
            under.iter().map(|e| &e.key).collect::<Vec<_>>(),
            expected_under
        );
        let entry = &under[0];
        assert_eq!(entry.size, entry.key.len() as u64);
        assert_eq!(entry.etag, "0123456789abcdef0123456789abcdef");
        assert_eq!(entry.checksum_algorithm.as_deref(), Some("CRC64NVME"));
        assert_eq!(entry.last_modified_ms, 1_714_557_600_000);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_delete_markers_and_damage() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = vec![row("src", "a", 1, "e1"), row("src", "b", 2, "e2")];
    // A noncurrent version and a delete marker (the key's current state is deleted).
    rows.push(
        row("src", "a", 9, "old").replace("\"true\",\"false\",\"9\"", "\"false\",\"false\",\"9\""),
    );
    rows.push(
        "\"src\",\"c\",\"v3\",\"true\",\"true\",\"\",\"2024-05-01T10:00:00.000Z\",\"\",\"\",\"false\",\"\",\"\",\"\""
            .to_string(),
    );
    let manifest = write_inventory(&dir.path().join("v"), "src", &[rows]);
    let read = read_inventories(&[&manifest], ReadOptions::default())
        .await
        .unwrap();
    let got: Vec<(String, u64)> = entries(&read[0], "")
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.key, e.size))
        .collect();
    assert_eq!(got, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
    assert_eq!((read[0].stats.rows, read[0].stats.objects), (4, 2));

    // A duplicate key (an all-versions inventory without IsLatest) is an error.
    let dup = write_inventory(
        &dir.path().join("d"),
        "src",
        &[vec![row("src", "k", 1, "e")], vec![row("src", "k", 1, "e")]],
    );
    let read_dup = read_inventories(&[&dup], ReadOptions::default())
        .await
        .unwrap();
    assert!(entries(&read_dup[0], "")
        .await
        .unwrap_err()
        .contains("twice"));

    // A data file that no longer matches the manifest is refused, not read short.
    let data = dir.path().join("v/inv/src/daily/data/0000.csv.gz");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&data, &bytes).unwrap();
    let error = read_inventories(&[&manifest], ReadOptions::default())
        .await
        .unwrap_err();
    assert!(error.contains("0000.csv.gz"), "{error}");
    // A manifest edited after S3 wrote it fails its manifest.checksum.
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("CSV", "csv");
    std::fs::write(&manifest, text).unwrap();
    let error = read_inventories(&[&manifest], ReadOptions::default())
        .await
        .unwrap_err();
    assert!(error.contains("manifest.checksum"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inventories_pair_through_a_remapping_plan() {
    let dir = tempfile::tempdir().unwrap();
    let etag = "0123456789abcdef0123456789abcdef";
    let source_rows: Vec<String> = [
        "images/ü 1.png",
        "images/b.png",
        "images/only-source.png",
        "other/x",
    ]
    .iter()
    .map(|k| row("src", k, 3, etag))
    .collect();
    let destination_rows: Vec<String> = [
        "avatar/b.png",
        "avatar/ü 1.png",
        "avatar/only-destination.png",
        "images/x",
    ]
    .iter()
    .map(|k| row("dst", k, 3, etag))
    .collect();
    let source = write_inventory(&dir.path().join("m"), "src", &[source_rows]);
    let destination = write_inventory(&dir.path().join("m"), "dst", &[destination_rows]);
    let read = read_inventories(&[&source, &destination], tiny_budget())
        .await
        .unwrap();
    let plan = Arc::new(KeyPlan::ad_hoc("images/", "avatar/", KeyFilter::default()));
    let segment = &plan.segments[0];
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let pages = (
        read[0].pages(&segment.source_prefix, &segment.source_skip, 2),
        read[1].pages(&segment.destination_prefix, &segment.destination_skip, 2),
    );
    tokio::spawn({
        let plan = plan.clone();
        async move { diff::merge_pages(&plan, 0, pages.0, pages.1, tx).await }
    });
    let mut pairs: Vec<Pair> = Vec::new();
    while let Some(batch) = rx.recv().await {
        pairs.extend(batch.unwrap());
    }
    let summary: Vec<(String, bool, bool)> = pairs
        .iter()
        .map(|p| {
            (
                p.destination_key(&plan),
                p.source.is_some(),
                p.destination.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("avatar/b.png".to_string(), true, true),
            ("avatar/only-destination.png".to_string(), false, true),
            ("avatar/only-source.png".to_string(), true, false),
            ("avatar/ü 1.png".to_string(), true, true),
        ]
    );
}

/// The inventory join (which counts listing matches without building entries) pairs
/// exactly like `merge_pages` over the same inventories: same non-matching pairs, the
/// rest matches, through the example spec's segments and exclude filter.
#[tokio::test(flavor = "multi_thread")]
async fn join_agrees_with_merge_pages() {
    use s3bridge::transfer::verify::{evidence, join};
    let dir = tempfile::tempdir().unwrap();
    let etag = |i: usize| format!("{:032x}", i * 2654435761 % 1_000_003);
    let mut source_rows = Vec::new();
    let mut destination_rows = Vec::new();
    for i in 0..2000 {
        let (src, dst) = match i % 5 {
            0 => (
                format!("images/{i:05}/ü p.png"),
                format!("avatar/{i:05}/ü p.png"),
            ),
            1 => (format!("scans/{i:05}.dcm"), format!("scans/{i:05}.dcm")),
            2 => (format!("scans/{i:05}.tmp"), format!("scans/{i:05}.tmp")),
            3 => (format!("other/{i:05}"), format!("images/{i:05}")),
            _ => (format!("images/{i:05}+x"), format!("avatar/{i:05}+x")),
        };
        if i % 13 != 0 {
            source_rows.push(row("annalise-ai-datalake", &src, 10, &etag(i)));
        }
        if i % 17 != 0 {
            let size = if i % 19 == 0 { 11 } else { 10 };
            let tag = if i % 23 == 0 { etag(i + 1) } else { etag(i) };
            destination_rows.push(row("harrison-ai-landing", &dst, size, &tag));
        }
    }
    destination_rows.reverse();
    let source = write_inventory(dir.path(), "annalise-ai-datalake", &[source_rows]);
    let destination = write_inventory(dir.path(), "harrison-ai-landing", &[destination_rows]);
    let read = read_inventories(&[&source, &destination], tiny_budget())
        .await
        .unwrap();
    let yaml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs/example.yaml"),
    )
    .unwrap();
    let spec = s3bridge::spec::parse_str("example.yaml", &yaml).unwrap().0;
    let plan = Arc::new(KeyPlan::from_spec(&spec).unwrap());

    let describe = |p: &Pair| {
        (
            p.destination_key(&plan),
            p.source.as_ref().map(|e| (e.size, e.etag.clone())),
            p.destination.as_ref().map(|e| (e.size, e.etag.clone())),
        )
    };
    let matched = Arc::new(std::sync::Mutex::new(join::Matched::default()));
    let mut rx = join::spawn(
        plan.clone(),
        read[0].clone(),
        read[1].clone(),
        matched.clone(),
    );
    let mut joined = Vec::new();
    while let Some(batch) = rx.recv().await {
        joined.extend(batch.unwrap().iter().map(describe));
    }
    let joined_matches = matched.lock().unwrap().objects;

    let mut merged = Vec::new();
    let mut merged_matches = 0;
    for (index, segment) in plan.segments.iter().enumerate() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let pages = (
            read[0].pages(&segment.source_prefix, &segment.source_skip, 100),
            read[1].pages(&segment.destination_prefix, &segment.destination_skip, 100),
        );
        let plan = plan.clone();
        tokio::spawn(async move { diff::merge_pages(&plan, index, pages.0, pages.1, tx).await });
        while let Some(batch) = rx.recv().await {
            for pair in batch.unwrap() {
                match (&pair.source, &pair.destination) {
                    (Some(s), Some(d))
                        if evidence::listing_match(
                            s.size,
                            s.etag.as_bytes(),
                            d.size,
                            d.etag.as_bytes(),
                        )
                        .is_some() =>
                    {
                        merged_matches += 1
                    }
                    _ => merged.push(describe(&pair)),
                }
            }
        }
    }
    joined.sort();
    merged.sort();
    assert!(
        merged_matches > 500 && merged.len() > 100,
        "{merged_matches} {}",
        merged.len()
    );
    assert_eq!(joined_matches, merged_matches);
    assert_eq!(joined, merged);
}
