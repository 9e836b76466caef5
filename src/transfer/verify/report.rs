//! `--report FILE`: every key that did not match, one line each, written as it is
//! classified (the file grows during the run; nothing is held back in memory).
//! CSV (`.csv`, RFC 4180 quoting, so keys with commas, quotes or newlines survive) or
//! JSON Lines (`.jsonl`, `.ndjson`, `.json`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::class::Outcome;
use crate::transfer::listing::ObjectEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn from_path(path: &Path) -> Option<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Some(Format::Csv),
            Some("jsonl" | "ndjson" | "json") => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// One non-matching key.
pub struct Line<'a> {
    pub outcome: &'a Outcome,
    pub source_key: &'a str,
    pub destination_key: &'a str,
    pub source: Option<&'a ObjectEntry>,
    pub destination: Option<&'a ObjectEntry>,
}

#[derive(Serialize)]
struct Side<'a> {
    key: &'a str,
    size: u64,
    etag: &'a str,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    class: &'static str,
    tier: u8,
    reason: &'a str,
    source_key: &'a str,
    destination_key: &'a str,
    source: Option<Side<'a>>,
    destination: Option<Side<'a>>,
}

pub struct Writer {
    out: BufWriter<File>,
    format: Format,
}

const CSV_HEADER: &str = "class,tier,reason,source_key,destination_key,source_size,destination_size,source_etag,destination_etag\n";

fn csv_field(out: &mut impl Write, text: &str) -> io::Result<()> {
    if text.contains([',', '"', '\n', '\r']) {
        write!(out, "\"{}\"", text.replace('"', "\"\""))
    } else {
        out.write_all(text.as_bytes())
    }
}

impl Writer {
    pub fn create(path: &Path) -> Result<Writer, String> {
        let format = Format::from_path(path).ok_or_else(|| {
            format!(
                "--report {}: name the file .csv or .jsonl so the format is clear",
                path.display()
            )
        })?;
        let file = File::create(path)
            .map_err(|e| format!("--report {}: cannot create it: {e}", path.display()))?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        if format == Format::Csv {
            out.write_all(CSV_HEADER.as_bytes())
                .map_err(|e| format!("--report {}: {e}", path.display()))?;
        }
        Ok(Writer { out, format })
    }

    pub fn write(&mut self, line: &Line<'_>) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                fn side(e: Option<&ObjectEntry>) -> Option<Side<'_>> {
                    e.map(|e| Side {
                        key: &e.key,
                        size: e.size,
                        etag: &e.etag,
                    })
                }
                serde_json::to_writer(
                    &mut self.out,
                    &JsonLine {
                        class: line.outcome.class.as_str(),
                        tier: line.outcome.tier.number(),
                        reason: &line.outcome.reason,
                        source_key: line.source_key,
                        destination_key: line.destination_key,
                        source: side(line.source),
                        destination: side(line.destination),
                    },
                )?;
                self.out.write_all(b"\n")
            }
            Format::Csv => {
                let out = &mut self.out;
                write!(
                    out,
                    "{},{},",
                    line.outcome.class.as_str(),
                    line.outcome.tier.number()
                )?;
                csv_field(out, &line.outcome.reason)?;
                out.write_all(b",")?;
                csv_field(out, line.source_key)?;
                out.write_all(b",")?;
                csv_field(out, line.destination_key)?;
                let size =
                    |e: Option<&ObjectEntry>| e.map(|e| e.size.to_string()).unwrap_or_default();
                write!(out, ",{},{},", size(line.source), size(line.destination))?;
                csv_field(out, line.source.map_or("", |e| &e.etag))?;
                out.write_all(b",")?;
                csv_field(out, line.destination.map_or("", |e| &e.etag))?;
                out.write_all(b"\n")
            }
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::verify::class::{Class, Tier};

    #[test]
    fn csv_quotes_awkward_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut writer = Writer::create(&path).unwrap();
        let outcome = Outcome::new(Class::Missing, Tier::Listing, "not in the destination");
        writer
            .write(&Line {
                outcome: &outcome,
                source_key: "a,\"b\"\nc",
                destination_key: "x/a,\"b\"\nc",
                source: None,
                destination: None,
            })
            .unwrap();
        writer.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("{CSV_HEADER}missing,1,not in the destination,\"a,\"\"b\"\"\nc\",\"x/a,\"\"b\"\"\nc\",,,,\n")
        );
        assert!(Writer::create(&dir.path().join("r.txt")).is_err());
    }
}
