//! KMS keys: each bucket's key exists, is enabled and customer-managed (`kms_key`), and
//! rotates when s3bridge created it (`kms_rotation`); a created key's policy names only
//! the principals the spec implies, keeps administrators from using the key, grants no
//! `kms:*` and no unconditioned wildcard principal.

use std::collections::BTreeSet;

use super::{diff, excess, field, lost, Ctx, Drift, APPLY};
use crate::audit::{Property, Severity};
use crate::policy::actions::KEY_USAGE;
use crate::policy::canonical::PrincipalId;
use crate::policy::semantic::{compare, describe, grants};
use crate::policy::Effect;
use crate::spec::Side;

pub(super) fn check(ctx: &mut Ctx<'_>, side: Side) {
    let live = &ctx.live.side(side).key;
    let target = &ctx.live.side(side).targets.key;
    let arn = live
        .metadata
        .as_ref()
        .map(|m| m.arn.clone())
        .unwrap_or_else(|| target.id.clone());
    let name = ctx
        .desired
        .key(side)
        .map(|k| k.alias.trim_start_matches("alias/").to_string())
        .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or(&arn).to_string());
    let spec_field = field(side, "kms_key");
    let key = ctx.check(Property::KmsKey, &arn, &name, &spec_field);
    let Some(metadata) = &live.metadata else {
        let what = if target.created {
            format!("no key behind the alias {}", target.id)
        } else {
            format!("no key {}", target.id)
        };
        // One cause, one finding: the key's rotation and policy are not checked.
        ctx.add(
            &key,
            Drift {
                code: "missing".into(),
                expected: format!("an enabled customer-managed key ({})", target.id),
                actual: what.clone(),
                message: format!(
                    "the {side} bucket's key cannot be found: {what} in account {}; objects encrypted with it cannot be read",
                    ctx.live.side(side).targets.account
                ),
                remediation: if target.created {
                    format!("{APPLY}: it creates the key and its alias (objects encrypted with a deleted key stay unreadable)")
                } else {
                    format!(
                        "the spec names an existing key: point `{side}.kms_key` at a key that exists, then `s3bridge generate SPEC --out DIR` and {APPLY}"
                    )
                },
                ..Drift::default()
            },
        );
        return;
    };
    if !metadata.enabled || metadata.state != "Enabled" {
        let pending = metadata.state == "PendingDeletion";
        ctx.add(
            &key,
            Drift {
                code: "not-enabled".into(),
                expected: "Enabled".into(),
                actual: metadata.state.clone(),
                message: format!(
                    "the {side} key {} is {}: nothing encrypted with it can be read or written",
                    metadata.arn, metadata.state
                ),
                remediation: if pending {
                    format!(
                        "`aws kms cancel-key-deletion --key-id {arn}`, then `aws kms enable-key --key-id {arn}`",
                        arn = metadata.arn
                    )
                } else {
                    format!("`aws kms enable-key --key-id {}`", metadata.arn)
                },
                ..Drift::default()
            },
        );
    }
    if metadata.manager != "CUSTOMER" {
        ctx.add(
            &key,
            Drift {
                code: "not-customer-managed".into(),
                expected: "CUSTOMER".into(),
                actual: metadata.manager.clone(),
                message: format!(
                    "the {side} key {} is managed by AWS: its policy cannot be changed, it cannot be shared with the other account",
                    metadata.arn
                ),
                remediation: format!(
                    "use a customer-managed key: set `{side}.kms_key: create` (or the ARN of a customer-managed key) in the spec, then `s3bridge generate SPEC --out DIR` and {APPLY}"
                ),
                ..Drift::default()
            },
        );
    }
    if target.created {
        let rotation = ctx.check(Property::KmsRotation, &arn, &name, &spec_field);
        if live.rotation != Some(true) {
            ctx.add(
                &rotation,
                Drift {
                    code: "rotation-off".into(),
                    severity: Severity::Medium,
                    expected: "automatic rotation on".into(),
                    actual: match live.rotation {
                        Some(false) => "off".into(),
                        _ => "unknown".into(),
                    },
                    message: format!(
                        "automatic rotation of the {side} key {} is off",
                        metadata.arn
                    ),
                    remediation: format!(
                        "{APPLY}, or `aws kms enable-key-rotation --key-id {}`",
                        metadata.arn
                    ),
                    ..Drift::default()
                },
            );
        }
        check_policy(ctx, side, &arn, &name, &spec_field);
    }
}

fn check_policy(ctx: &mut Ctx<'_>, side: Side, arn: &str, name: &str, spec_field: &str) {
    let Some(key) = ctx.desired.key(side) else {
        return;
    };
    let subject = ctx.check(Property::KeyPolicy, arn, name, spec_field);
    let expected = ctx.canonical(&key.policy);
    let label = format!("{}/key-policy", key.alias);
    let text = ctx.live.side(side).key.policy.as_deref();
    let Some(actual) = ctx.live_policy(&subject, text, &format!("{side} key's policy")) else {
        return;
    };
    let diff = diff(&expected, &actual, &label);
    let mut add =
        |code: &str, severity: Severity, expected: String, actual: String, message: String| {
            ctx.add(
                &subject,
                Drift {
                    code: code.into(),
                    severity,
                    expected,
                    actual,
                    message,
                    diff: diff.clone(),
                    ..Drift::default()
                },
            )
        };

    for s in actual
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
    {
        let who = s
            .principals
            .as_ref()
            .map(|p| {
                p.ids
                    .iter()
                    .map(PrincipalId::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "the key's account".into());
        let sid = s.sid.clone().unwrap_or_else(|| "a statement".into());
        if s.actions.values.iter().any(|a| a == "kms:*" || a == "*") || s.actions.negated {
            add(
                "kms-star",
                Severity::High,
                "explicit actions per principal".into(),
                format!("{sid} grants all KMS actions to {who}"),
                format!(
                    "the {side} key's policy grants kms:* to {who} ({sid}): any IAM principal they allow can decrypt the data"
                ),
            );
        }
        let everyone = s
            .principals
            .as_ref()
            .is_some_and(|p| p.ids.contains(&PrincipalId::Everyone) || p.negated);
        if everyone && s.conditions.is_empty() {
            add(
                "wildcard-principal",
                Severity::High,
                "named principals only".into(),
                format!("{sid} allows Principal * without conditions"),
                format!("the {side} key's policy lets anyone use it ({sid}: Principal * without conditions)"),
            );
        }
    }

    let comparison = compare(&expected, &actual);
    let expected_grants = grants(&expected);
    let known: BTreeSet<_> = expected_grants
        .iter()
        .map(|g| g.principal.clone())
        .collect();
    // Administrators: principals whose spec grants hold no usage action.
    let admins: BTreeSet<_> = known
        .iter()
        .filter(|p| {
            !expected_grants
                .iter()
                .any(|g| &g.principal == *p && KEY_USAGE.contains(&g.action.as_str()))
        })
        .cloned()
        .collect();
    let (strangers, members): (Vec<_>, Vec<_>) = comparison
        .excess
        .iter()
        .cloned()
        .partition(|g| !known.contains(&g.principal));
    if !strangers.is_empty() {
        let who: BTreeSet<String> = strangers
            .iter()
            .map(|g| {
                g.principal
                    .as_ref()
                    .map(PrincipalId::describe)
                    .unwrap_or_default()
            })
            .collect();
        add(
            "extra-principal",
            Severity::High,
            "only the principals the spec implies (administrators, kms_users, s3bridge's roles)"
                .into(),
            describe(&strangers).join("; "),
            format!(
                "the {side} key's policy names principals the spec does not: {}",
                who.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let (admin_use, other): (Vec<_>, Vec<_>) = members
        .into_iter()
        .partition(|g| admins.contains(&g.principal) && KEY_USAGE.contains(&g.action.as_str()));
    if !admin_use.is_empty() {
        add(
            "admin-can-use",
            Severity::High,
            "administrators manage the key but cannot use it".into(),
            describe(&admin_use).join("; "),
            format!(
                "a {side} key administrator can use the key to decrypt or encrypt: {}",
                describe(&admin_use).join("; ")
            ),
        );
    }
    let drifts = [
        excess(
            &other,
            &format!("the {side} key's policy grants more than the spec"),
            diff.clone(),
        ),
        lost(
            &comparison.lost,
            &format!(
                "the {side} key's policy no longer grants what the spec's roles need (replication or the copy will fail)"
            ),
            diff.clone(),
        ),
    ];
    for drift in drifts.into_iter().flatten() {
        ctx.add(&subject, drift);
    }
}
