//! S3 Batch Operations: the jobs s3bridge asks AWS to run when one machine is not the
//! right tool. `job` builds the CreateJob request (printed by `--dry-run`, sent otherwise),
//! `control` makes the S3 Control calls (create, describe, list, wait), and `report`
//! reads a finished job's completion report.
//!
//! `s3bridge replicate-existing` (S3ReplicateObject) and `s3bridge status` use them today;
//! the batch copy engine (S3PutObjectCopy over a manifest s3bridge writes) reuses all three.

pub mod control;
pub mod job;
pub mod report;
