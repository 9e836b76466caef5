//! Roles: who may assume each role (trust), and what each role may do — its inline and
//! attached policies read together and compared by meaning with the spec's.

use super::{diff, excess, lost, Ctx, Drift, APPLY};
use crate::audit::{Property, Severity};
use crate::model::RolePurpose;
use crate::policy::canonical::Canonical;
use crate::policy::semantic::compare;

fn spec_field(purpose: RolePurpose) -> &'static str {
    match purpose {
        RolePurpose::Copy => "copy_role",
        RolePurpose::Replication(_) => "replication.role_name",
        RolePurpose::BatchReplication => "replication.batch_role_name",
        RolePurpose::BatchCopy => "copy.engine",
        RolePurpose::Restore => "restore",
    }
}

pub(super) fn check(ctx: &mut Ctx<'_>) {
    let desired = ctx.desired;
    for role in &desired.roles {
        let live = ctx
            .live
            .side(role.side)
            .roles
            .iter()
            .find(|r| r.purpose == role.purpose);
        let field = spec_field(role.purpose);
        let trust = ctx.check(Property::RoleTrust, &role.arn, &role.name, field);
        let Some(found) = live.and_then(|l| l.found.as_ref()) else {
            // One cause, one finding: its permissions are not checked (there are none).
            ctx.add(
                &trust,
                Drift {
                    code: "missing".into(),
                    severity: Severity::High,
                    expected: format!("role {} ({})", role.name, role.summary),
                    actual: "no such role".into(),
                    message: format!(
                        "role {} does not exist in account {}: {} cannot work",
                        role.name, role.account, role.summary
                    ),
                    remediation: format!("{APPLY}: it creates the role with its policies"),
                    ..Drift::default()
                },
            );
            continue;
        };
        let permissions = ctx.check(Property::RolePolicy, &role.arn, &role.name, field);

        // Trust: who may assume the role, under which conditions.
        let expected = ctx.canonical(&role.trust);
        let label = format!("{}/trust", role.name);
        let what = format!("trust policy of {}", role.name);
        if let Some(actual) = ctx.live_policy(&trust, Some(&found.trust), &what) {
            let comparison = compare(&expected, &actual);
            let diff = diff(&expected, &actual, &label);
            let drifts = [
                excess(
                    &comparison.excess,
                    &format!(
                        "role {} can be assumed by more than the spec allows (they get all its permissions)",
                        role.name
                    ),
                    diff.clone(),
                )
                .map(|d| Drift {
                    remediation: format!(
                        "{APPLY}; review who assumed the role meanwhile (CloudTrail AssumeRole events)"
                    ),
                    ..d
                }),
                lost(
                    &comparison.lost,
                    &format!(
                        "role {} is no longer trusted by what the spec needs ({} will fail)",
                        role.name, role.summary
                    ),
                    diff,
                ),
            ];
            for drift in drifts.into_iter().flatten() {
                ctx.add(&trust, drift);
            }
        }

        // Permissions: every inline and attached policy, read as one.
        let expected = Canonical::merged(role.policies.iter().map(|(_, d)| ctx.canonical(d)));
        let mut documents = Vec::new();
        let mut unreadable = Vec::new();
        for (name, text) in &found.inline {
            match Canonical::from_text(text) {
                Ok(c) => documents.push(c),
                Err(e) => unreadable.push(format!("inline policy {name}: {e}")),
            }
        }
        for (arn, text) in &found.attached {
            match text.as_deref().map(Canonical::from_text) {
                Some(Ok(c)) => documents.push(c),
                Some(Err(e)) => unreadable.push(format!("attached policy {arn}: {e}")),
                None => unreadable.push(format!("attached policy {arn}: no default version")),
            }
        }
        if !unreadable.is_empty() {
            ctx.add(
                &permissions,
                Drift {
                    code: "unreadable".into(),
                    expected: "readable policies".into(),
                    actual: unreadable.join("; "),
                    message: format!(
                        "some policies of {} cannot be read, so its permissions are unknown: {}",
                        role.name,
                        unreadable.join("; ")
                    ),
                    ..Drift::default()
                },
            );
        }
        let actual = Canonical::merged(documents);
        let comparison = compare(&expected, &actual);
        let diff = diff(&expected, &actual, &format!("{}/permissions", role.name));
        let attached: Vec<&str> = found.attached.iter().map(|(a, _)| a.as_str()).collect();
        let extra_inline: Vec<&str> = found
            .inline
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !role.policies.iter().any(|(p, _)| p == n))
            .collect();
        let whence = [
            (!extra_inline.is_empty()).then(|| {
                format!(
                    "inline policies not in the spec: {}",
                    extra_inline.join(", ")
                )
            }),
            (!attached.is_empty()).then(|| format!("attached policies: {}", attached.join(", "))),
        ];
        let whence: Vec<String> = whence.into_iter().flatten().collect();
        let drifts = [
            excess(
                &comparison.excess,
                &format!(
                    "role {} has permissions beyond the spec (privilege creep{})",
                    role.name,
                    if whence.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", whence.join("; "))
                    }
                ),
                diff.clone(),
            )
            .map(|d| Drift {
                remediation: format!(
                    "{APPLY} (the bundle removes inline policies and attachments it does not declare)"
                ),
                ..d
            }),
            lost(
                &comparison.lost,
                &format!(
                    "role {} lost permissions the spec gives it ({} will fail)",
                    role.name, role.summary
                ),
                diff,
            ),
        ];
        for drift in drifts.into_iter().flatten() {
            ctx.add(&permissions, drift);
        }
    }
}
