//! Bucket settings: versioning, default encryption, Block Public Access, Object
//! Ownership and the bucket policy, on each side's bucket.

use super::{diff, excess, field, lost, Ctx, Drift, Subject, APPLY};
use crate::audit::{Property, Severity};
use crate::policy::canonical::Canonical;
use crate::policy::semantic::compare;
use crate::policy::{Effect, Term};
use crate::spec::Side;

pub(super) fn check(ctx: &mut Ctx<'_>, side: Side) {
    let bucket = ctx.desired.bucket(side);
    let live = &ctx.live.side(side).bucket;
    let (arn, name) = (bucket.arn.clone(), bucket.name.clone());
    let exists = ctx.check(Property::Bucket, &arn, &name, &field(side, "bucket"));
    if !live.exists {
        // One cause, one finding: the bucket's settings are not checked (they do not exist).
        let created = !bucket.existing;
        ctx.add(
            &exists,
            Drift {
                code: "missing".into(),
                expected: format!("bucket {name} in account {}", bucket.account),
                actual: "no such bucket".into(),
                message: format!(
                    "bucket {name} does not exist (or is not in account {}): nothing is replicated {} it",
                    bucket.account,
                    if side == Side::Source { "from" } else { "into" }
                ),
                remediation: if created {
                    format!("{APPLY}: it creates the bucket")
                } else {
                    format!(
                        "the spec says the bucket already exists (`{side}.existing: true`), so the bundle imports it and cannot create it: restore it (or set `existing: false`, then `s3bridge generate SPEC --out DIR`), then {APPLY}"
                    )
                },
                ..Drift::default()
            },
        );
        return;
    }
    let subjects: Vec<Subject> = [
        (Property::Versioning, "bucket"),
        (Property::Encryption, "kms_key"),
        (Property::PublicAccessBlock, "bucket"),
        (Property::Ownership, "bucket"),
        (Property::BucketPolicy, "bucket"),
    ]
    .into_iter()
    .map(|(property, spec)| ctx.check(property, &arn, &name, &field(side, spec)))
    .collect();
    let [versioning, encryption, public_access, ownership, policy] =
        <[Subject; 5]>::try_from(subjects).expect("five subjects");
    check_versioning(ctx, side, &versioning);
    check_encryption(ctx, side, &encryption);
    check_public_access(ctx, side, &public_access);
    check_ownership(ctx, side, &ownership);
    check_policy(ctx, side, &policy);
}

fn check_versioning(ctx: &mut Ctx<'_>, side: Side, subject: &Subject) {
    let bucket = ctx.desired.bucket(side);
    let expected = bucket.settings.versioning;
    let actual = ctx.live.side(side).bucket.versioning.clone();
    if actual.as_deref() == Some(expected) {
        return;
    }
    let shown = actual.unwrap_or_else(|| "never enabled".into());
    ctx.add(
        subject,
        Drift {
            code: "not-enabled".into(),
            severity: Severity::High,
            expected: expected.into(),
            actual: shown.clone(),
            message: format!(
                "versioning of s3://{} is {shown}: replication stops and overwritten or deleted objects cannot be recovered",
                bucket.name
            ),
            remediation: format!(
                "{APPLY}, or `aws s3api put-bucket-versioning --bucket {} --versioning-configuration Status=Enabled`",
                bucket.name
            ),
            ..Drift::default()
        },
    );
}

fn check_encryption(ctx: &mut Ctx<'_>, side: Side, subject: &Subject) {
    let bucket = ctx.desired.bucket(side);
    let key = ctx.resolve(&bucket.key);
    let expected = format!(
        "{} with {key}, bucket key {}",
        bucket.settings.sse_algorithm,
        if bucket.settings.bucket_key_enabled {
            "on"
        } else {
            "off"
        }
    );
    let rules = ctx.live.side(side).bucket.encryption.clone();
    let Some(rule) = rules.as_ref().and_then(|r| r.first()) else {
        ctx.add(
            subject,
            Drift {
                code: "none".into(),
                expected,
                actual: "no default encryption configuration".into(),
                message: format!(
                    "s3://{} has no default encryption: new objects are not encrypted with the spec's key",
                    bucket.name
                ),
                ..Drift::default()
            },
        );
        return;
    };
    let actual = format!(
        "{} with {}, bucket key {}",
        rule.algorithm,
        rule.key.as_deref().unwrap_or("the AWS managed key aws/s3"),
        if rule.bucket_key == Some(true) {
            "on"
        } else {
            "off"
        }
    );
    let mut add = |code: &str, severity: Severity, message: String| {
        ctx.add(
            subject,
            Drift {
                code: code.into(),
                severity,
                expected: expected.clone(),
                actual: actual.clone(),
                message,
                ..Drift::default()
            },
        )
    };
    // The spec's key is one s3bridge creates and no key is behind its alias: `kms_key/
    // missing` reports that cause; which key the bucket names cannot be judged here.
    let key_unknown = matches!(&bucket.key, Term::Ref(r) if !r.known && key == r.text);
    if rule.algorithm != bucket.settings.sse_algorithm {
        add(
            "not-kms",
            Severity::High,
            format!(
                "s3://{} encrypts with {} instead of SSE-KMS: anyone with s3:GetObject can read new objects, no key policy stands in the way",
                bucket.name, rule.algorithm
            ),
        );
    } else {
        match rule.key.as_deref() {
            Some(k) if k == key => {}
            Some(_) if key_unknown => {}
            None => add(
                "aws-managed-key",
                Severity::High,
                format!(
                    "s3://{} uses SSE-KMS with the AWS managed key, which cannot be shared with the other account: replication of new objects fails",
                    bucket.name
                ),
            ),
            Some(k) if k.starts_with("alias/") || k.contains(":alias/") => add(
                "alias",
                Severity::Medium,
                format!(
                    "s3://{} names its key by alias ({k}); an alias resolves in the caller's account, so cross-account writers can end up with another key",
                    bucket.name
                ),
            ),
            Some(k) if key.ends_with(&format!("/{k}")) => add(
                "key-id",
                Severity::Low,
                format!(
                    "s3://{} names the right key by its bare id ({k}); use the key ARN so it cannot resolve in another account",
                    bucket.name
                ),
            ),
            Some(k) => add(
                "other-key",
                Severity::High,
                format!(
                    "s3://{} encrypts new objects with {k}, not the spec's key {key}: the key policy the spec reviewed no longer protects them",
                    bucket.name
                ),
            ),
        }
    }
    if bucket.settings.bucket_key_enabled && rule.bucket_key != Some(true) {
        add(
            "bucket-key-off",
            Severity::Low,
            format!(
                "S3 Bucket Keys are off on s3://{}: every object costs KMS requests (and KMS rate limits apply)",
                bucket.name
            ),
        );
    }
}

fn check_public_access(ctx: &mut Ctx<'_>, side: Side, subject: &Subject) {
    let bucket = ctx.desired.bucket(side);
    if !bucket.settings.block_public_access {
        return;
    }
    let expected =
        "BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets all on";
    let off: Vec<&str> = match ctx.live.side(side).bucket.public_access_block {
        None => vec!["all four (no configuration)"],
        Some(pab) => pab
            .flags()
            .iter()
            .filter(|(_, on)| !on)
            .map(|(name, _)| *name)
            .collect(),
    };
    if off.is_empty() {
        return;
    }
    ctx.add(
        subject,
        Drift {
            code: "off".into(),
            expected: expected.into(),
            actual: format!("off: {}", off.join(", ")),
            message: format!(
                "Block Public Access is partly off on s3://{} ({}): one policy or ACL change can make the data public",
                bucket.name,
                off.join(", ")
            ),
            remediation: format!(
                "{APPLY}, or `aws s3api put-public-access-block --bucket {} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`",
                bucket.name
            ),
            ..Drift::default()
        },
    );
}

fn check_ownership(ctx: &mut Ctx<'_>, side: Side, subject: &Subject) {
    let bucket = ctx.desired.bucket(side);
    let expected = bucket.settings.object_ownership;
    let actual = match &ctx.live.side(side).bucket.ownership {
        None => "no ownership controls (ACLs enabled, ObjectWriter)".to_string(),
        Some(rules) if rules.iter().all(|r| r == expected) && !rules.is_empty() => return,
        Some(rules) => rules.join(", "),
    };
    ctx.add(
        subject,
        Drift {
            code: "acls-enabled".into(),
            severity: Severity::Medium,
            expected: expected.into(),
            actual: actual.clone(),
            message: format!(
                "Object Ownership of s3://{} is {actual}: ACLs are in force, objects can belong to whoever wrote them",
                bucket.name
            ),
            remediation: format!(
                "{APPLY}, or `aws s3api put-bucket-ownership-controls --bucket {} --ownership-controls Rules=[{{ObjectOwnership=BucketOwnerEnforced}}]`",
                bucket.name
            ),
            ..Drift::default()
        },
    );
}

/// Whether a statement is the transport deny (its loss is the most serious).
fn is_transport_deny(statement: &crate::policy::canonical::Stmt) -> bool {
    statement
        .conditions
        .iter()
        .any(|c| c.key.eq_ignore_ascii_case("aws:SecureTransport"))
}

fn check_policy(ctx: &mut Ctx<'_>, side: Side, subject: &Subject) {
    let bucket = ctx.desired.bucket(side);
    // The user's statements kept from the live policy are part of what the spec expects
    // (validate refused kept statements that are not statements).
    let expected = Canonical::from_json(&bucket.policy_json(&|t| ctx.resolve(t)))
        .unwrap_or_else(|_| ctx.canonical(&bucket.policy));
    let name = format!("{}/bucket-policy", bucket.name);
    let text = ctx.live.side(side).bucket.policy.as_deref();
    let what = format!("bucket policy of s3://{}", bucket.name);
    let Some(actual) = ctx.live_policy(subject, text, &what) else {
        return;
    };
    let diff = diff(&expected, &actual, &name);
    // Each of the spec's denies on its own, so a finding can say which one is gone.
    for statement in expected
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Deny)
    {
        let one = Canonical {
            version: expected.version.clone(),
            statements: vec![statement.clone()],
        };
        if compare(&one, &actual).missing_denies.is_empty() {
            continue;
        }
        let sid = statement.sid.clone().unwrap_or_else(|| "deny".into());
        let transport = is_transport_deny(statement);
        ctx.add(
            subject,
            Drift {
                code: format!("missing-{}", kebab(&sid)),
                severity: if transport { Severity::High } else { Severity::Medium },
                expected: format!("statement {sid} enforced"),
                actual: "missing or narrowed".into(),
                message: if transport {
                    format!("the bucket policy of s3://{} no longer denies plain-HTTP requests ({sid})", bucket.name)
                } else {
                    format!("the bucket policy of s3://{} no longer enforces {sid}: objects can be written with another key or encryption", bucket.name)
                },
                diff: diff.clone(),
                ..Drift::default()
            },
        );
    }
    let comparison = compare(&expected, &actual);
    let drifts = [
        excess(
            &comparison.excess,
            &format!("the bucket policy of s3://{} grants more than the spec", bucket.name),
            diff.clone(),
        ),
        lost(
            &comparison.lost,
            &format!(
                "the bucket policy of s3://{} no longer grants what the other account's roles need (replication or the copy will fail)",
                bucket.name
            ),
            diff,
        ),
    ];
    for drift in drifts.into_iter().flatten() {
        ctx.add(subject, drift);
    }
}

/// `DenyInsecureTransport` → `deny-insecure-transport`.
pub(super) fn kebab(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::kebab;

    #[test]
    fn kebab_case() {
        assert_eq!(kebab("DenyInsecureTransport"), "deny-insecure-transport");
        assert_eq!(kebab("rule 1_a"), "rule-1-a");
    }
}
