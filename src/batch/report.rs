//! S3 Batch Operations completion reports: the top-level `manifest.json` and the CSV
//! result files it lists, parsed, and failed tasks summarised by reason.
//!
//! Format (AWS's "Examples: S3 Batch Operations completion reports"): `manifest.json`
//! names one CSV per task outcome (`TaskExecutionStatus` succeeded / failed); each CSV
//! row is `Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage`,
//! RFC 4180 quoting, keys URL-encoded. AWS's own example rows put the HTTP status before
//! the error code (`failed,200,PermanentFailure,...`) while `ReportSchema` names them the
//! other way round, so the numeric one of the two is taken as the HTTP status.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::control::JobState;

/// S3 Replication failure reasons (S3 user guide, "Amazon S3 replication failure
/// reasons"); a Batch Replication report names them in the error code or the message.
pub const REPLICATION_FAILURE_REASONS: &[&str] = &[
    "AssumeRoleNotPermitted",
    "DstBucketInvalidRegion",
    "DstBucketNotFound",
    "DstBucketObjectLockConfigMissing",
    "DstBucketUnversioned",
    "DstDelObjNotPermitted",
    "DstKmsKeyInvalidState",
    "DstKmsKeyNotFound",
    "DstMultipartCompleteNotPermitted",
    "DstMultipartInitNotPermitted",
    "DstMultipartPartUploadNotPermitted",
    "DstObjectHardDeleted",
    "DstPutAclNotPermitted",
    "DstPutLegalHoldNotPermitted",
    "DstPutObjectNotPermitted",
    "DstPutTaggingNotPermitted",
    "DstVersionNotFound",
    "InitiateReplicationNotPermitted",
    "SrcBucketInvalidRegion",
    "SrcBucketNotFound",
    "SrcBucketReplicationConfigMissing",
    "SrcGetAclNotPermitted",
    "SrcGetObjectNotPermitted",
    "SrcGetTaggingNotPermitted",
    "SrcHeadObjectNotPermitted",
    "SrcKmsKeyInvalidState",
    "SrcObjectNotEligible",
    "SrcVersionNotFound",
];

/// How many keys a summary keeps as examples of each reason.
pub const EXAMPLES_PER_REASON: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the report manifest is not valid JSON: {0}")]
    Manifest(#[from] serde_json::Error),
    #[error("{file}:{line}: {message}")]
    Csv {
        file: String,
        line: usize,
        message: String,
    },
}

/// The top-level `manifest.json` of a completion report.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportManifest {
    pub format: String,
    #[serde(default)]
    pub report_creation_date: Option<String>,
    #[serde(default)]
    pub results: Vec<ResultFile>,
    #[serde(default)]
    pub report_schema: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultFile {
    pub task_execution_status: String,
    pub bucket: String,
    #[serde(rename = "MD5Checksum", default)]
    pub md5_checksum: Option<String>,
    pub key: String,
}

pub fn parse_manifest(text: &str) -> Result<ReportManifest, ReportError> {
    Ok(serde_json::from_str(text)?)
}

/// One row of a result file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskResult {
    pub bucket: String,
    /// The object key, URL-decoded.
    pub key: String,
    pub version_id: Option<String>,
    /// `succeeded` or `failed`.
    pub task_status: String,
    pub error_code: Option<String>,
    pub http_status: Option<u16>,
    pub result_message: String,
}

impl TaskResult {
    pub fn failed(&self) -> bool {
        !self.task_status.eq_ignore_ascii_case("succeeded")
    }

    /// What to group a failure by: a named replication failure reason when the row
    /// carries one, else the error code, else the HTTP status.
    pub fn reason(&self) -> String {
        for text in [
            self.error_code.as_deref().unwrap_or(""),
            &self.result_message,
        ] {
            if let Some(known) = REPLICATION_FAILURE_REASONS
                .iter()
                .find(|reason| text.contains(*reason))
            {
                return (*known).to_string();
            }
        }
        match (&self.error_code, self.http_status) {
            (Some(code), _) => code.clone(),
            (None, Some(status)) => format!("HTTP {status}"),
            (None, None) => "no reason given".into(),
        }
    }
}

/// Decodes a report key: `%XX` escapes, and `+` for a space (a literal `+` is `%2B`).
pub fn decode_key(encoded: &str) -> String {
    let spaced = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits RFC 4180 CSV text into records (quoted fields may hold commas, doubled quotes
/// and line breaks). Returns each record with the line it starts on.
pub fn csv_records(text: &str, file: &str) -> Result<Vec<(usize, Vec<String>)>, ReportError> {
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push((start_line, std::mem::take(&mut record)));
                }
                record.clear();
                line += 1;
                start_line = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err(ReportError::Csv {
            file: file.into(),
            line: start_line,
            message: "a quoted field is not closed".into(),
        });
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((start_line, record));
    }
    Ok(records)
}

/// Parses one result CSV of a completion report.
pub fn parse_results(text: &str, file: &str) -> Result<Vec<TaskResult>, ReportError> {
    csv_records(text, file)?
        .into_iter()
        .map(|(line, fields)| {
            if fields.len() < 7 {
                return Err(ReportError::Csv {
                    file: file.into(),
                    line,
                    message: format!(
                        "{} fields where a completion report has 7 (Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage)",
                        fields.len()
                    ),
                });
            }
            let (bucket, key, version, status, fifth, sixth) = (
                &fields[0], &fields[1], &fields[2], &fields[3], &fields[4], &fields[5],
            );
            // The message is the rest: an unquoted message may itself hold commas.
            let message = fields[6..].join(",");
            let (error_code, http_status) = match (fifth.parse::<u16>(), sixth.parse::<u16>()) {
                (Ok(status), _) => (sixth.clone(), Some(status)),
                (Err(_), Ok(status)) => (fifth.clone(), Some(status)),
                (Err(_), Err(_)) => (format!("{fifth}{sixth}"), None),
            };
            Ok(TaskResult {
                bucket: bucket.clone(),
                key: decode_key(key),
                version_id: Some(version.clone()).filter(|v| !v.is_empty()),
                task_status: status.clone(),
                error_code: Some(error_code).filter(|c| !c.is_empty()),
                http_status,
                result_message: message,
            })
        })
        .collect()
}

/// Failed tasks grouped by reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FailureSummary {
    pub failed: u64,
    pub reasons: Vec<ReasonCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: u64,
    /// A few keys that failed for this reason.
    pub examples: Vec<String>,
    /// One message S3 gave for it.
    pub message: String,
}

impl FailureSummary {
    pub fn add(&mut self, results: &[TaskResult]) {
        let mut by_reason: BTreeMap<String, ReasonCount> = self
            .reasons
            .drain(..)
            .map(|r| (r.reason.clone(), r))
            .collect();
        for result in results.iter().filter(|r| r.failed()) {
            self.failed += 1;
            let reason = result.reason();
            let entry = by_reason
                .entry(reason.clone())
                .or_insert_with(|| ReasonCount {
                    reason,
                    count: 0,
                    examples: Vec::new(),
                    message: result.result_message.clone(),
                });
            entry.count += 1;
            if entry.examples.len() < EXAMPLES_PER_REASON {
                entry.examples.push(result.key.clone());
            }
        }
        self.reasons = by_reason.into_values().collect();
        self.reasons
            .sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    }

    /// Text for a terminal, one reason a line with its examples.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} failed task(s)\n", self.failed);
        for r in &self.reasons {
            out.push_str(&format!("  {:>8}  {}", r.count, r.reason));
            if !r.message.is_empty() && r.message != r.reason {
                out.push_str(&format!(": {}", r.message));
            }
            out.push('\n');
            for key in &r.examples {
                out.push_str(&format!("            e.g. {key}\n"));
            }
        }
        out
    }
}

/// A job's completion report as read from S3.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionReport {
    pub bucket: String,
    pub manifest_key: String,
    pub manifest: ReportManifest,
    pub failures: FailureSummary,
}

async fn get_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<String> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            crate::aws::error::AwsError::new("GetObject", format!("s3://{bucket}/{key}"), &e)
        })?;
    let bytes = object
        .body
        .collect()
        .await
        .with_context(|| format!("reading s3://{bucket}/{key}"))?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).with_context(|| format!("s3://{bucket}/{key} is not UTF-8"))
}

/// Reads the completion report of a finished job (the location DescribeJob gave) and
/// summarises its failed tasks. Only the result files of failed tasks are read.
pub async fn read(s3: &aws_sdk_s3::Client, job: &JobState) -> Result<Option<CompletionReport>> {
    let Some(location) = &job.report else {
        return Ok(None);
    };
    let manifest_key = location.manifest_key(&job.id);
    let manifest = parse_manifest(&get_text(s3, &location.bucket, &manifest_key).await?)
        .with_context(|| format!("s3://{}/{manifest_key}", location.bucket))?;
    let mut failures = FailureSummary::default();
    for file in manifest
        .results
        .iter()
        .filter(|f| f.task_execution_status.eq_ignore_ascii_case("failed"))
    {
        let text = get_text(s3, &file.bucket, &file.key).await?;
        let name = format!("s3://{}/{}", file.bucket, file.key);
        failures.add(&parse_results(&text, &name)?);
    }
    Ok(Some(CompletionReport {
        bucket: location.bucket.clone(),
        manifest_key,
        manifest,
        failures,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_hold_commas_quotes_and_newlines() {
        let text = "b,k,,failed,200,PermanentFailure,\"a, \"\"b\"\"\nc\"\r\nb,k2,v,succeeded,200,,Successful\n";
        let records = csv_records(text, "t").unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].1[6], "a, \"b\"\nc");
        assert_eq!(records[1].0, 3);
        assert_eq!(records[1].1[2], "v");
    }

    #[test]
    fn an_unclosed_quote_is_an_error_with_its_line() {
        let error = csv_records("a,b\nc,\"d\n", "r.csv").unwrap_err();
        assert_eq!(error.to_string(), "r.csv:2: a quoted field is not closed");
    }

    #[test]
    fn status_and_error_code_are_told_apart_in_either_order() {
        for row in [
            "b,k,,failed,403,AccessDenied,Access Denied",
            "b,k,,failed,AccessDenied,403,Access Denied",
        ] {
            let r = &parse_results(row, "t").unwrap()[0];
            assert_eq!(r.http_status, Some(403));
            assert_eq!(r.error_code.as_deref(), Some("AccessDenied"));
            assert!(r.failed());
        }
    }

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(decode_key("a%20b+c%2Bd/%C3%A9"), "a b c+d/é");
    }

    #[test]
    fn short_rows_are_refused() {
        let error = parse_results("b,k,failed\n", "f.csv").unwrap_err();
        assert!(
            error.to_string().starts_with("f.csv:1: 3 fields"),
            "{error}"
        );
    }

    #[test]
    fn the_fixture_report_parses() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "fixtures/batch/completion-report/s3bridge/batch-replication/reports/job-f3c1e7a2-5b4d-4c8e-9a6f-0d2b7e1c9a34",
        );
        let manifest =
            parse_manifest(&std::fs::read_to_string(root.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest.format, "Report_CSV_20180820");
        assert_eq!(manifest.results.len(), 2);
        let mut summary = FailureSummary::default();
        let mut rows = 0;
        for file in &manifest.results {
            let name = file.key.rsplit('/').next().unwrap();
            let text = std::fs::read_to_string(root.join("results").join(name)).unwrap();
            let results = parse_results(&text, name).unwrap();
            assert!(results
                .iter()
                .all(|r| r.failed() == (file.task_execution_status == "failed")));
            rows += results.len();
            summary.add(&results);
        }
        assert_eq!(rows, 7);
        assert_eq!(summary.failed, 5);
        assert_eq!(summary.reasons[0].reason, "DstPutObjectNotPermitted");
        assert_eq!(summary.reasons[0].examples[2], "scans/2020/étude/a+b.dcm");
        assert_eq!(summary.reasons[1].reason, "AccessDenied");
        assert!(summary.reasons[1]
            .message
            .contains("Status Code: 403; Error Code"));
        assert!(summary
            .to_text()
            .contains("       3  DstPutObjectNotPermitted"));
    }

    #[test]
    fn replication_reasons_win_over_generic_codes() {
        let rows = parse_results(
            "b,a,,failed,400,InvalidRequest,Replication failed: DstPutObjectNotPermitted\n\
             b,b,,failed,400,InvalidRequest,Replication failed: DstPutObjectNotPermitted\n\
             b,c,,failed,500,InternalError,We encountered an internal error\n\
             b,d,,succeeded,200,,Successful\n",
            "t",
        )
        .unwrap();
        let mut summary = FailureSummary::default();
        summary.add(&rows);
        assert_eq!(summary.failed, 3);
        assert_eq!(summary.reasons[0].reason, "DstPutObjectNotPermitted");
        assert_eq!(summary.reasons[0].count, 2);
        assert_eq!(summary.reasons[0].examples, vec!["a", "b"]);
        assert_eq!(summary.reasons[1].reason, "InternalError");
    }
}
