//! The transfer engine: which keys (keys), listing them in ranges (listing), pairing
//! the two sides in one streaming pass (diff); copy and verify consume the pairs.
//!
//! ```text
//! KeyPlan ─▶ segments × key ranges ─▶ [source lister ⋈ destination lister] ─▶ pairs ─┬▶ copy
//!                                                                                    └▶ verify
//! ```
//! Each stage is joined to the next by a bounded channel, so memory stays flat however
//! many objects the buckets hold.

pub mod copy;
pub mod diff;
pub mod keys;
pub mod listing;
