//! `s3bridge status SPEC`: the S3 Batch Operations jobs s3bridge created for this spec
//! (found by their description, see `batch::job::description_prefix`) and how far each
//! has got. Read-only: ListJobs in the source account.

use anyhow::Result;

use super::{block_on, load_spec, source_session, Status};
use crate::batch::{control, job};
use crate::cli::{StatusArgs, TextOrJson};
use crate::outln;

pub fn run(args: &StatusArgs) -> Result<Status> {
    let loaded = load_spec(&args.spec)?;
    let spec = &loaded.spec;
    let jobs = block_on(async {
        let session = source_session(spec, &args.aws).await?;
        control::list(
            &session.s3control(),
            &spec.source.account_id,
            &job::description_prefix(&spec.name),
        )
        .await
    })??;
    match args.format {
        TextOrJson::Json => outln!("{}", serde_json::to_string_pretty(&jobs)?)?,
        TextOrJson::Text if jobs.is_empty() => outln!(
            "no S3 Batch Operations jobs of {} in account {} (ListJobs keeps the last 90 days)",
            spec.name,
            spec.source.account_id
        )?,
        TextOrJson::Text => {
            outln!(
                "{:<36}  {:<18}  {:<10}  {:>12}  {:>10}  {:>10}  CREATED",
                "JOB",
                "OPERATION",
                "STATUS",
                "TOTAL",
                "SUCCEEDED",
                "FAILED"
            )?;
            for j in &jobs {
                outln!(
                    "{:<36}  {:<18}  {:<10}  {:>12}  {:>10}  {:>10}  {}",
                    j.id,
                    j.operation.as_deref().unwrap_or("-"),
                    j.status,
                    j.total.map_or("-".to_string(), |t| t.to_string()),
                    j.succeeded,
                    j.failed,
                    j.created.as_deref().unwrap_or("-")
                )?;
            }
        }
    }
    Ok(Status::Success)
}
