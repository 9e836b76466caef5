//! Moving objects between the buckets: listings (by key range), differences, copy and
//! verification. `shard` cuts the key space into the deterministic ranges that
//! `--shard I/N` runs on, so many machines can share one copy without coordinating.

pub mod shard;
