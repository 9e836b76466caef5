//! The transfer engine: which keys (keys), listing them in ranges (listing) or reading
//! an S3 Inventory instead (inventory), pairing the two sides in one streaming pass
//! (diff); copy and verify consume the pairs. `shard` cuts the key space into the
//! deterministic ranges that `--shard I/N` runs on, so many machines can share one copy
//! without coordinating.
//!
//! ```text
//! KeyPlan ─▶ segments × key ranges ─▶ [source lister ⋈ destination lister] ─▶ pairs ─┬▶ copy
//!                                                                                    └▶ verify
//! ```
//! Each stage is joined to the next by a bounded channel, so memory stays flat however
//! many objects the buckets hold. `shutdown` stops copy and verify cleanly on Ctrl-C
//! and SIGTERM.

pub mod copy;
pub mod diff;
pub mod inventory;
pub mod keys;
pub mod listing;
pub mod restore;
pub mod shard;
pub mod shutdown;
pub mod spill;
pub mod verify;
