//! An S3 Inventory report's manifest.json: which bucket it lists, in which format and
//! schema, and which data files hold the rows; and where those data files are.
//!
//! A manifest is read from S3 (`s3://inventory-bucket/.../manifest.json`, data files in
//! the manifest's destination bucket) or from a local mirror of the inventory bucket
//! (`/mirror/.../manifest.json`, each data file at `<mirror root>/<its key>`; the root is
//! the nearest parent directory of the manifest under which the data files exist).
//! When `manifest.checksum` sits next to the manifest, the manifest's MD5 is checked.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::Deserialize;

use super::InventoryError;

/// Where a manifest.json is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, key: String },
}

impl Location {
    pub fn parse(text: &str) -> Result<Location, InventoryError> {
        match text.strip_prefix("s3://") {
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(Location::S3 {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                }),
                _ => Err(InventoryError::new(
                    text,
                    "an inventory on S3 is given as s3://BUCKET/path/to/manifest.json",
                )),
            },
            None => Ok(Location::Local(PathBuf::from(text))),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// manifest.json as S3 writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    #[serde(rename = "sourceBucket")]
    pub source_bucket: String,
    /// The inventory bucket, as an ARN (`arn:aws:s3:::name`).
    #[serde(rename = "destinationBucket", default)]
    pub destination_bucket: String,
    #[serde(rename = "fileFormat")]
    pub file_format: String,
    /// Comma-separated field names, e.g. `Bucket, Key, Size, LastModifiedDate, ETag`.
    #[serde(rename = "fileSchema")]
    pub file_schema: String,
    pub files: Vec<DataFile>,
    #[serde(rename = "creationTimestamp", default)]
    pub creation_timestamp: Option<String>,
}

/// One data file of the report.
#[derive(Debug, Clone, Deserialize)]
pub struct DataFile {
    pub key: String,
    /// Size of the (compressed) file in bytes.
    pub size: u64,
    /// MD5 of the (compressed) file, hex.
    #[serde(rename = "MD5checksum", default)]
    pub md5: Option<String>,
}

impl Manifest {
    pub fn parse(what: &str, text: &[u8]) -> Result<Manifest, InventoryError> {
        let manifest: Manifest = serde_json::from_slice(text).map_err(|e| {
            InventoryError::new(what, format!("not an S3 Inventory manifest.json: {e}"))
        })?;
        if !manifest.file_format.eq_ignore_ascii_case("CSV") {
            return Err(InventoryError::new(
                what,
                format!(
                    "the inventory is {}; s3bridge reads CSV inventories: configure the inventory with format CSV",
                    manifest.file_format
                ),
            ));
        }
        Ok(manifest)
    }

    /// The inventory bucket's name, from its ARN.
    pub fn destination_bucket_name(&self) -> Option<&str> {
        let name = self
            .destination_bucket
            .strip_prefix("arn:aws:s3:::")
            .or_else(|| self.destination_bucket.rsplit(":::").next())
            .unwrap_or(&self.destination_bucket);
        (!name.is_empty()).then_some(name)
    }
}

/// Checks `manifest.checksum` (the MD5 of manifest.json, hex) when one was found.
pub fn check_manifest_md5(
    what: &str,
    manifest: &[u8],
    checksum: Option<&[u8]>,
) -> Result<(), InventoryError> {
    let Some(checksum) = checksum else {
        return Ok(());
    };
    let expected = String::from_utf8_lossy(checksum)
        .trim()
        .to_ascii_lowercase();
    let actual = hex(&Md5::digest(manifest));
    if expected != actual {
        return Err(InventoryError::new(
            what,
            format!("manifest.json has MD5 {actual} but manifest.checksum says {expected}: the manifest is damaged or was replaced while being copied"),
        ));
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The directory of a local mirror that data file keys are relative to: the nearest
/// parent of the manifest under which the first data file exists.
pub fn local_root(manifest_path: &Path, manifest: &Manifest) -> Result<PathBuf, InventoryError> {
    let what = manifest_path.display().to_string();
    let Some(first) = manifest.files.first() else {
        return Ok(manifest_path
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf());
    };
    let mut dir = manifest_path.parent();
    while let Some(candidate) = dir {
        let base = if candidate.as_os_str().is_empty() {
            Path::new(".")
        } else {
            candidate
        };
        if base.join(&first.key).is_file() {
            return Ok(base.to_path_buf());
        }
        dir = candidate.parent();
    }
    Err(InventoryError::new(
        what,
        format!(
            "data file {} is not under any parent directory of the manifest; mirror the inventory bucket keeping its keys (aws s3 sync s3://INVENTORY-BUCKET DIR)",
            first.key
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"{
        "sourceBucket": "example-source-bucket",
        "destinationBucket": "arn:aws:s3:::example-inventory-destination-bucket",
        "version": "2016-11-30",
        "creationTimestamp" : "1514944800000",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ChecksumAlgorithm",
        "files": [
            {
                "key": "Inventory/example-source-bucket/2016-11-06T21-32Z/files/939c6d46-85a9-4ba8-87bd-9db705a579ce.csv.gz",
                "size": 2147483647,
                "MD5checksum": "f11166069f1990abeb9c97ace9cdfabc"
            }
        ]
    }"#;

    #[test]
    fn parses_aws_example() {
        let m = Manifest::parse("m", MANIFEST.as_bytes()).unwrap();
        assert_eq!(m.source_bucket, "example-source-bucket");
        assert_eq!(
            m.destination_bucket_name(),
            Some("example-inventory-destination-bucket")
        );
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].size, 2147483647);
        let orc = MANIFEST.replace("\"CSV\"", "\"ORC\"");
        let error = Manifest::parse("m", orc.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("format CSV"), "{error}");
    }

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("s3://inv/a/b/manifest.json").unwrap(),
            Location::S3 {
                bucket: "inv".into(),
                key: "a/b/manifest.json".into()
            }
        );
        assert!(Location::parse("s3://inv").is_err());
        assert_eq!(
            Location::parse("./m.json").unwrap(),
            Location::Local("./m.json".into())
        );
    }

    #[test]
    fn manifest_checksum() {
        let md5 = hex(&Md5::digest(b"{}"));
        assert!(check_manifest_md5("m", b"{}", Some(md5.as_bytes())).is_ok());
        assert!(check_manifest_md5("m", b"{} ", Some(md5.as_bytes())).is_err());
        assert!(check_manifest_md5("m", b"{}", None).is_ok());
    }
}
