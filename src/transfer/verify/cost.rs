//! What verification costs: the estimate printed before each live tier starts, and the
//! formatting of counts, bytes and dollars. Requests are counted and priced by
//! `crate::aws::requests`.
//!
//! Prices (S3 Standard, per 1,000 requests): LIST $0.005; GET, HEAD and other reads
//! $0.0004. Data transfer is free inside a region; reading out of AWS is billed per GB
//! on top, and Standard-IA / Glacier Instant Retrieval objects add a per-GB retrieval
//! fee: the estimate names the bytes so those can be worked out.

use serde::Serialize;

use crate::aws::requests::{READ_PER_1000, WRITE_OR_LIST_PER_1000};

/// What the live tiers after the listing will do, at most.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Estimate {
    /// Pairs the listings could not settle.
    pub pending: u64,
    /// Their bytes (one side).
    pub pending_bytes: u64,
    /// HEAD requests of tier 2 (two per pending pair; part layouts add one per part
    /// where a comparison needs them).
    pub tier2_heads: u64,
    /// Tier 3: objects that may be streamed, GETs and bytes at most.
    pub tier3_objects: u64,
    pub tier3_gets: u64,
    pub tier3_bytes: u64,
}

impl Estimate {
    pub fn tier2_cost(&self) -> f64 {
        self.tier2_heads as f64 * READ_PER_1000 / 1000.0
    }

    pub fn tier3_cost(&self) -> f64 {
        self.tier3_gets as f64 * READ_PER_1000 / 1000.0
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1536` → `1.5 KiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub fn dollars(usd: f64) -> String {
    if usd == 0.0 {
        "$0".into()
    } else if usd < 0.01 {
        format!("${usd:.6}")
    } else {
        format!("${usd:.2}")
    }
}

/// The line printed before a live listing starts (its size is not known yet).
pub fn listing_line() -> String {
    format!(
        "tier 1 (listings): 1 ListObjectsV2 request per 1,000 keys on each side ({} per 1,000 requests, about $0.01 per million objects verified)",
        dollars(WRITE_OR_LIST_PER_1000)
    )
}

/// The lines printed after the listing, before tiers 2 and 3 start.
pub fn estimate_lines(estimate: &Estimate, deep: bool, sample: Option<u64>) -> Vec<String> {
    let mut lines = vec![format!(
        "tier 2 (checksums): {} objects the listings could not settle → {} HeadObject requests ({}), more for part layouts where needed",
        thousands(estimate.pending),
        thousands(estimate.tier2_heads),
        dollars(estimate.tier2_cost())
    )];
    if deep || sample.is_some() {
        lines.push(format!(
            "tier 3 ({}): at most {} objects, {} GetObject requests ({}) reading {} (plus data transfer out of the region, and retrieval fees for infrequent-access storage classes)",
            if deep { "--deep" } else { "--sample" },
            thousands(estimate.tier3_objects),
            thousands(estimate.tier3_gets),
            dollars(estimate.tier3_cost()),
            bytes(estimate.tier3_bytes)
        ));
    } else if estimate.pending > 0 {
        lines.push(
            "tier 3 is off: what tier 2 cannot settle stays unverified (--deep or --sample N reads the bytes)".into(),
        );
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(dollars(0.0004), "$0.000400");
        assert_eq!(dollars(12.5), "$12.50");
    }
}
