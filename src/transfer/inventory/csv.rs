//! Rows of a CSV inventory data file, parsed in place: fields are byte slices of the
//! decompressed buffer, the URL-encoded key is decoded into a reused buffer, and the
//! row goes straight into a spill record. Nothing is allocated per row.
//!
//! The columns are those of the manifest's `fileSchema`. S3 quotes every field; keys are
//! URL-encoded with `+` for a space (form encoding), so a decoded `+` is `%2B`.
//! With `IncludedObjectVersions: All`, only the current version of each key takes part
//! (`IsLatest`), and delete markers do not (`IsDeleteMarker`).

use crate::transfer::spill::RawEntry;

/// Positions of the columns s3bridge reads, from the manifest's `fileSchema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub key: usize,
    pub size: usize,
    pub etag: Option<usize>,
    pub last_modified: Option<usize>,
    pub storage_class: Option<usize>,
    pub checksum_algorithm: Option<usize>,
    pub is_latest: Option<usize>,
    pub is_delete_marker: Option<usize>,
    /// Columns up to and including the last one read.
    pub needed: usize,
}

impl Schema {
    /// Why a schema cannot serve verification, as a sentence.
    pub fn parse(file_schema: &str) -> Result<Schema, String> {
        let names: Vec<&str> = file_schema.split(',').map(str::trim).collect();
        let find = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
        let key = find("Key").ok_or("the inventory's fileSchema has no Key column")?;
        let size = find("Size").ok_or(
            "the inventory has no Size column: add Size and ETag to the inventory's optional fields",
        )?;
        let schema = Schema {
            key,
            size,
            etag: find("ETag"),
            last_modified: find("LastModifiedDate"),
            storage_class: find("StorageClass"),
            checksum_algorithm: find("ChecksumAlgorithm"),
            is_latest: find("IsLatest"),
            is_delete_marker: find("IsDeleteMarker"),
            needed: 0,
        };
        let needed = [
            Some(schema.key),
            Some(schema.size),
            schema.etag,
            schema.last_modified,
            schema.storage_class,
            schema.checksum_algorithm,
            schema.is_latest,
            schema.is_delete_marker,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
            + 1;
        Ok(Schema { needed, ..schema })
    }

    /// Only what a comparison needs (key, size, ETag, version state): the other
    /// columns are not parsed, and entries carry no timestamp, storage class or
    /// checksum algorithm.
    pub fn minimal(self) -> Schema {
        let needed = [
            Some(self.key),
            Some(self.size),
            self.etag,
            self.is_latest,
            self.is_delete_marker,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
            + 1;
        Schema {
            last_modified: None,
            storage_class: None,
            checksum_algorithm: None,
            needed,
            ..self
        }
    }
}

/// Most columns a row may have that s3bridge looks at (S3 defines about 20).
const MAX_COLUMNS: usize = 64;

/// What one line turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// An object to verify, written into the parser's record fields.
    Object,
    /// A noncurrent version or a delete marker: not part of the comparison.
    Skipped,
}

/// Parses lines of one data file; holds the buffers it reuses.
pub struct RowParser {
    schema: Schema,
    fields: Vec<(usize, usize)>,
    /// A field with `""` escapes, unescaped (never seen in S3's output, but valid CSV).
    unescaped: Vec<Vec<u8>>,
    key: Vec<u8>,
}

impl RowParser {
    pub fn new(schema: Schema) -> RowParser {
        let columns = schema.needed.min(MAX_COLUMNS);
        RowParser {
            schema,
            fields: Vec::with_capacity(columns),
            unescaped: vec![Vec::new(); columns],
            key: Vec::with_capacity(1024),
        }
    }

    /// Parses one line (without its newline) and hands the entry to `emit`.
    pub fn parse(
        &mut self,
        line: &[u8],
        emit: impl FnOnce(&RawEntry<'_>),
    ) -> Result<Parsed, String> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.split(line)?;
        let mut key = std::mem::take(&mut self.key);
        let outcome = self.emit_row(line, &mut key, emit);
        self.key = key;
        outcome
    }

    fn emit_row(
        &self,
        line: &[u8],
        key: &mut Vec<u8>,
        emit: impl FnOnce(&RawEntry<'_>),
    ) -> Result<Parsed, String> {
        let field = |i: usize| -> &[u8] {
            let (start, end) = self.fields[i];
            if start == usize::MAX {
                &self.unescaped[i]
            } else {
                &line[start..end]
            }
        };
        let schema = &self.schema;
        if schema
            .is_latest
            .is_some_and(|i| field(i).eq_ignore_ascii_case(b"false"))
            || schema
                .is_delete_marker
                .is_some_and(|i| field(i).eq_ignore_ascii_case(b"true"))
        {
            return Ok(Parsed::Skipped);
        }
        let size = parse_u64(field(schema.size))
            .ok_or_else(|| format!("Size {:?} is not a number", lossy(field(schema.size))))?;
        let last_modified_ms = match schema.last_modified {
            Some(i) if !field(i).is_empty() => parse_timestamp_ms(field(i)).ok_or_else(|| {
                format!("LastModifiedDate {:?} is not a timestamp", lossy(field(i)))
            })?,
            _ => 0,
        };
        let non_empty = |i: Option<usize>| i.map(field).filter(|v| !v.is_empty());
        let etag = schema
            .etag
            .map(field)
            .map(|e| e.strip_prefix(b"\"").unwrap_or(e))
            .map(|e| e.strip_suffix(b"\"").unwrap_or(e))
            .unwrap_or(b"");
        key.clear();
        url_decode(field(schema.key), key)?;
        emit(&RawEntry {
            key,
            size,
            last_modified_ms,
            etag,
            storage_class: non_empty(schema.storage_class),
            checksum_algorithm: non_empty(schema.checksum_algorithm),
            checksum_type: None,
        });
        Ok(Parsed::Object)
    }

    /// Finds the columns of `line` up to the last one needed.
    fn split(&mut self, line: &[u8]) -> Result<(), String> {
        self.fields.clear();
        let needed = self.schema.needed;
        let mut at = 0;
        while self.fields.len() < needed {
            let column = self.fields.len();
            if at > line.len() {
                return Err(format!(
                    "row has {column} columns, the manifest's fileSchema names at least {needed}"
                ));
            }
            if line.get(at) == Some(&b'"') {
                let start = at + 1;
                let mut end = start;
                let mut escaped = false;
                loop {
                    match memchr::memchr(b'"', &line[end..]) {
                        None => return Err("unterminated quoted field".into()),
                        Some(offset) => {
                            end += offset;
                            if line.get(end + 1) == Some(&b'"') {
                                escaped = true;
                                end += 2;
                            } else {
                                break;
                            }
                        }
                    }
                }
                if escaped {
                    let target = &mut self.unescaped[column];
                    target.clear();
                    let mut i = start;
                    while i < end {
                        target.push(line[i]);
                        i += if line[i] == b'"' { 2 } else { 1 };
                    }
                    self.fields.push((usize::MAX, usize::MAX));
                } else {
                    self.fields.push((start, end));
                }
                at = end + 1;
                match line.get(at) {
                    None | Some(b',') => at += 1,
                    Some(_) => return Err("text after a closing quote".into()),
                }
            } else {
                let end = memchr::memchr(b',', &line[at..]).map_or(line.len(), |o| at + o);
                self.fields.push((at, end));
                at = end + 1;
            }
        }
        Ok(())
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn parse_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    Some(value)
}

/// Decodes a form-URL-encoded key (`%XX` and `+` for space) into `out`.
pub fn url_decode(encoded: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut rest = encoded;
    while let Some(i) = memchr::memchr2(b'%', b'+', rest) {
        out.extend_from_slice(&rest[..i]);
        if rest[i] == b'+' {
            out.push(b' ');
            rest = &rest[i + 1..];
            continue;
        }
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            rest.get(i + 1).and_then(|&b| hex(b)),
            rest.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (Some(high), Some(low)) => out.push((high * 16 + low) as u8),
            _ => {
                return Err(format!(
                    "key {:?} has a malformed %-escape",
                    String::from_utf8_lossy(encoded)
                ))
            }
        }
        rest = &rest[i + 3..];
    }
    out.extend_from_slice(rest);
    Ok(())
}

/// `2024-01-02T03:04:05.678Z` (or without fraction, or with an offset of Z only) →
/// milliseconds since the Unix epoch.
pub fn parse_timestamp_ms(text: &[u8]) -> Option<i64> {
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let slice = text.get(range)?;
        slice.iter().try_fold(0i64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as i64)
        })
    };
    if text.len() < 19 || text[4] != b'-' || text[7] != b'-' || text[10] != b'T' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let mut millis = 0;
    if text.get(19) == Some(&b'.') {
        let end = text[20..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(text.len(), |p| 20 + p);
        let fraction = digits(20..end.min(23))?;
        millis = fraction * 10i64.pow(3 - (end.min(23) - 20) as u32);
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ChecksumAlgorithm";

    fn parse_line(
        parser: &mut RowParser,
        line: &str,
    ) -> Result<Option<crate::transfer::listing::ObjectEntry>, String> {
        let mut out = None;
        let parsed = parser.parse(line.as_bytes(), |raw| out = Some(raw.to_entry().unwrap()))?;
        Ok(match parsed {
            Parsed::Object => out,
            Parsed::Skipped => None,
        })
    }

    #[test]
    fn aws_rows() {
        let mut parser = RowParser::new(Schema::parse(SCHEMA).unwrap());
        let entry = parse_line(
            &mut parser,
            r#""src","scans/%C3%BC+b/x%2By.dcm","v1","true","false","1234","2024-01-02T03:04:05.678Z","d41d8cd98f00b204e9800998ecf8427e-2","STANDARD_IA","true","COMPLETED","SSE-KMS","CRC64NVME""#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(entry.key, "scans/ü b/x+y.dcm");
        assert_eq!(entry.size, 1234);
        assert_eq!(entry.etag, "d41d8cd98f00b204e9800998ecf8427e-2");
        assert_eq!(entry.last_modified_ms, 1_704_164_645_678);
        assert_eq!(entry.storage_class.as_deref(), Some("STANDARD_IA"));
        assert_eq!(entry.checksum_algorithm.as_deref(), Some("CRC64NVME"));
        // Old versions and delete markers are not objects.
        assert_eq!(
            parse_line(&mut parser, r#""src","k","v0","false","false","1","2024-01-02T03:04:05.000Z","e","STANDARD","false","","NOT-SSE","""#).unwrap(),
            None
        );
        assert_eq!(
            parse_line(&mut parser, r#""src","k","v2","true","true","","2024-01-02T03:04:05.000Z","","","false","","","""#).unwrap(),
            None
        );
        // Missing optional values and a CRLF ending.
        let entry = parse_line(&mut parser, "\"src\",\"a\",\"\",\"true\",\"false\",\"0\",\"2024-01-02T03:04:05Z\",\"\",\"\",\"false\",\"\",\"\",\"\"\r").unwrap().unwrap();
        assert_eq!(
            (entry.size, entry.etag.as_str(), entry.storage_class),
            (0, "", None)
        );
        assert_eq!(entry.last_modified_ms, 1_704_164_645_000);
    }

    #[test]
    fn malformed_rows_are_errors() {
        let mut parser = RowParser::new(Schema::parse("Bucket, Key, Size").unwrap());
        assert!(parse_line(&mut parser, r#""b","k""#)
            .unwrap_err()
            .contains("columns"));
        assert!(parse_line(&mut parser, r#""b","k","x""#)
            .unwrap_err()
            .contains("Size"));
        assert!(parse_line(&mut parser, r#""b","k%G1","1""#)
            .unwrap_err()
            .contains("%-escape"));
        assert!(parse_line(&mut parser, r#""b","k,"1"#).is_err());
        // Escaped quotes and unquoted fields are still CSV.
        let entry = parse_line(&mut parser, r#"b,"a""b",7"#).unwrap().unwrap();
        assert_eq!((entry.key.as_str(), entry.size), ("a\"b", 7));
        assert!(Schema::parse("Bucket, Key").unwrap_err().contains("Size"));
    }

    #[test]
    fn minimal_schema_reads_less() {
        let full = Schema::parse(SCHEMA).unwrap();
        let minimal = full.clone().minimal();
        assert_eq!(minimal.needed, 8);
        assert!(minimal.checksum_algorithm.is_none() && minimal.last_modified.is_none());
        let mut parser = RowParser::new(minimal);
        // Columns after the ETag are not even looked at.
        let entry = parse_line(
            &mut parser,
            r#""b","k","v","true","false","5","2024-01-02T03:04:05.000Z","e","x"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (entry.size, entry.etag.as_str(), entry.last_modified_ms),
            (5, "e", 0)
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp_ms(b"1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_timestamp_ms(b"2000-03-01T00:00:00.5Z"),
            Some(951_868_800_500)
        );
        assert_eq!(parse_timestamp_ms(b"yesterday"), None);
    }
}
