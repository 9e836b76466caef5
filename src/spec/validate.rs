//! Semantic checks on a typed spec. Typing (`de`) already refused wrong shapes and
//! unknown keys; this refuses what AWS would refuse later (names, ARNs, regions), what
//! would break least privilege (wildcard principals), and combinations that replication
//! does not support — each with the position of the offending field.

use std::collections::{BTreeMap, HashMap};

use super::names::{bucket_name_problem, REGIONS};
use super::yaml::PosIndex;
use super::{BucketSetting, BucketSpec, Diagnostic, KmsKeySpec, Side, Spec};
use crate::arn::{self, is_account_id, is_iam_name, Arn, PrincipalKind};

struct Checker<'a> {
    file: &'a str,
    positions: &'a PosIndex,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let pos = self.positions.find(path);
        self.found.push(Diagnostic::error(
            self.file,
            pos,
            path,
            message.into(),
            hint.into(),
        ));
    }

    fn warning(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let pos = self.positions.find(path);
        self.found.push(Diagnostic::warning(
            self.file,
            pos,
            path,
            message.into(),
            hint.into(),
        ));
    }
}

/// Longest `name` allowed: generated names such as `<name>-batch-replication` must stay
/// within IAM's 64 characters.
pub const MAX_NAME_LEN: usize = 40;

pub fn check(spec: &Spec, file: &str, positions: &PosIndex) -> Vec<Diagnostic> {
    let mut c = Checker {
        file,
        positions,
        found: Vec::new(),
    };
    if spec.version != 1 {
        c.error(
            "version",
            format!("unsupported spec version {}", spec.version),
            Some("this s3bridge reads `version: 1`".to_string()),
        );
    }
    check_name(&mut c, &spec.name);
    check_tags(&mut c, "tags", &spec.tags, false);
    for side in [Side::Source, Side::Destination] {
        check_bucket_side(&mut c, side, spec.side(side));
    }
    if spec.source.bucket == spec.destination.bucket {
        c.error(
            "destination.bucket",
            "source and destination are the same bucket",
            Some("replication needs two different buckets".to_string()),
        );
    }
    if spec.source.account_id != spec.destination.account_id {
        for side in [Side::Source, Side::Destination] {
            if spec.side(side).terraform_role.is_none() {
                c.warning(
                    &format!("{side}.terraform_role"),
                    format!("the {side} provider will use the default credentials, which can only be in one of the two accounts"),
                    Some("set terraform_role on both sides so each provider acts in its own account".to_string()),
                );
            }
        }
    }
    let partition = arn::partition_for_region(&spec.source.region);
    for (i, auditor) in spec.auditors.iter().enumerate() {
        check_principal(&mut c, &format!("auditors[{i}]"), auditor, partition);
    }
    check_copy_role(&mut c, spec);
    check_restore(&mut c, spec);
    check_replication(&mut c, spec);
    check_copy(&mut c, spec);
    check_monitoring(&mut c, spec);
    c.found
}

fn check_name(c: &mut Checker, name: &str) {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || !valid_chars
        || name.starts_with('-')
        || name.ends_with('-')
    {
        c.error(
            "name",
            format!("`{name}` is not a valid name"),
            Some(format!(
                "use 1 to {MAX_NAME_LEN} lowercase letters, digits and hyphens (it prefixes role names and key aliases)"
            )),
        );
    }
}

fn check_tags(c: &mut Checker, path: &str, tags: &BTreeMap<String, String>, for_filter: bool) {
    for (key, value) in tags {
        let field = format!("{path}.{key}");
        if key.is_empty() || key.chars().count() > 128 {
            c.error(
                &field,
                "tag keys have 1 to 128 characters",
                Some("shorten the tag key".to_string()),
            );
        }
        if value.chars().count() > 256 {
            c.error(
                &field,
                "tag values have at most 256 characters",
                Some("shorten the tag value".to_string()),
            );
        }
        if !for_filter && key.to_ascii_lowercase().starts_with("aws:") {
            c.error(
                &field,
                "tag keys starting with `aws:` are reserved for AWS",
                Some("rename the tag key".to_string()),
            );
        }
    }
}

/// Storage classes a lifecycle transition may name (PutBucketLifecycleConfiguration,
/// Transition.StorageClass).
const TRANSITION_CLASSES: [&str; 6] = [
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];

/// What an existing bucket keeps when adopted: the user's policy statements, lifecycle
/// rules and tags, and the explicit consent to replace a replication configuration.
fn check_adoption(c: &mut Checker, p: &str, b: &BucketSpec) {
    let imports = |setting| {
        b.existing_config
            .as_ref()
            .map_or(BucketSetting::ALWAYS_PRESENT.contains(&setting), |s| {
                s.contains(&setting)
            })
    };
    let only_existing = |c: &mut Checker, field: &str| {
        c.error(
            &format!("{p}.{field}"),
            format!("{field} is only meaningful for an existing bucket"),
            Some(format!("add `existing: true`, or remove {field}")),
        )
    };
    if !b.existing {
        if !b.keep_policy_statements.is_empty() {
            only_existing(c, "keep_policy_statements");
        }
        if !b.keep_lifecycle_rules.is_empty() {
            only_existing(c, "keep_lifecycle_rules");
        }
        if b.replace_existing_replication {
            only_existing(c, "replace_existing_replication");
        }
    }
    check_tags(c, &format!("{p}.bucket_tags"), &b.bucket_tags, false);

    let mut sids = Vec::new();
    for (i, statement) in b.keep_policy_statements.iter().enumerate() {
        let field = format!("{p}.keep_policy_statements[{i}]");
        let Some(fields) = statement.as_object() else {
            c.error(
                &field,
                "a kept statement must be a policy statement (a mapping)",
                Some("write it as a JSON object: {\"Sid\": ..., \"Effect\": ..., ...}".to_string()),
            );
            continue;
        };
        if !matches!(
            fields.get("Effect").and_then(|e| e.as_str()),
            Some("Allow" | "Deny")
        ) {
            c.error(
                &field,
                "a kept statement needs `Effect: Allow` or `Effect: Deny`",
                Some("copy the statement from the live policy as it is".to_string()),
            );
        }
        if !fields.contains_key("Action") && !fields.contains_key("NotAction") {
            c.error(
                &field,
                "a kept statement needs `Action` or `NotAction`",
                Some("copy the statement from the live policy as it is".to_string()),
            );
        }
        if let Some(sid) = fields.get("Sid").and_then(|s| s.as_str()) {
            if sids.contains(&sid) {
                c.error(
                    &field,
                    format!("Sid `{sid}` is used by two kept statements"),
                    Some("bucket policy Sids must be unique; rename one".to_string()),
                );
            }
            sids.push(sid);
        }
    }
    if b.existing && !b.keep_policy_statements.is_empty() && !imports(BucketSetting::Policy) {
        c.error(
            &format!("{p}.keep_policy_statements"),
            "statements are kept from a policy the bucket does not have (`policy` is not in existing_config)",
            Some("add `policy` to existing_config, or remove keep_policy_statements".to_string()),
        );
    }

    let mut ids = Vec::new();
    for (i, rule) in b.keep_lifecycle_rules.iter().enumerate() {
        let field = format!("{p}.keep_lifecycle_rules[{i}]");
        if rule.id.is_empty() || rule.id.len() > 255 {
            c.error(
                &format!("{field}.id"),
                "lifecycle rule IDs have 1 to 255 characters",
                None,
            );
        }
        if rule.id == crate::model::ABORT_RULE_ID {
            c.error(
                &format!("{field}.id"),
                format!("`{}` is the rule s3bridge writes itself", rule.id),
                Some("leave it out; the bundle keeps that rule".to_string()),
            );
        }
        if ids.contains(&rule.id.as_str()) {
            c.error(
                &format!("{field}.id"),
                format!("rule ID `{}` is used twice", rule.id),
                Some("lifecycle rule IDs must be unique in a bucket".to_string()),
            );
        }
        ids.push(&rule.id);
        check_tags(c, &format!("{field}.tags"), &rule.tags, true);
        let has_action = rule.expiration_days.is_some()
            || !rule.transitions.is_empty()
            || rule.noncurrent_expiration_days.is_some()
            || !rule.noncurrent_transitions.is_empty()
            || rule.abort_incomplete_multipart_days.is_some();
        if !has_action {
            c.error(
                &field,
                format!("lifecycle rule `{}` does nothing", rule.id),
                Some(
                    "give it an expiration, a transition or an abort of incomplete uploads"
                        .to_string(),
                ),
            );
        }
        for (list, transitions) in [
            ("transitions", &rule.transitions),
            ("noncurrent_transitions", &rule.noncurrent_transitions),
        ] {
            for (j, t) in transitions.iter().enumerate() {
                if !TRANSITION_CLASSES.contains(&t.storage_class.as_str()) {
                    c.error(
                        &format!("{field}.{list}[{j}].storage_class"),
                        format!(
                            "`{}` is not a storage class a lifecycle rule moves objects to",
                            t.storage_class
                        ),
                        Some(format!("use one of {}", TRANSITION_CLASSES.join(", "))),
                    );
                }
            }
        }
    }
    if b.existing && !b.keep_lifecycle_rules.is_empty() && !imports(BucketSetting::Lifecycle) {
        c.error(
            &format!("{p}.keep_lifecycle_rules"),
            "rules are kept from a lifecycle configuration the bucket does not have (`lifecycle` is not in existing_config)",
            Some("add `lifecycle` to existing_config, or remove keep_lifecycle_rules".to_string()),
        );
    }

    if b.existing && imports(BucketSetting::Replication) && !b.replace_existing_replication {
        c.error(
            &format!("{p}.existing_config"),
            "the bucket's replication configuration would be replaced by the bundle's rules (PutBucketReplication replaces every rule)",
            Some("check the live rules (`s3bridge discover` prints them), then set `replace_existing_replication: true`".to_string()),
        );
    }
}

fn check_bucket_side(c: &mut Checker, side: Side, b: &BucketSpec) {
    let p = side.as_str();
    if let Some(problem) = bucket_name_problem(&b.bucket) {
        c.error(
            &format!("{p}.bucket"),
            format!("bucket name `{}` {problem}", b.bucket),
            Some("see S3's bucket naming rules".to_string()),
        );
    }
    if !is_account_id(&b.account_id) {
        c.error(
            &format!("{p}.account_id"),
            format!("`{}` is not a 12-digit AWS account id", b.account_id),
            Some("write all 12 digits, quoted: account_id: \"111111111111\"".to_string()),
        );
    }
    let region_ok = REGIONS.contains(&b.region.as_str());
    if !region_ok {
        let hint = match super::de::closest(&b.region, REGIONS) {
            Some(best) => format!("did you mean `{best}`?"),
            None => "use an AWS region code such as us-east-1 or ap-southeast-2".to_string(),
        };
        c.error(
            &format!("{p}.region"),
            format!("`{}` is not an AWS region", b.region),
            Some(hint),
        );
    }
    let partition = arn::partition_for_region(&b.region);

    match (&b.existing_config, b.existing) {
        (Some(_), false) => c.error(
            &format!("{p}.existing_config"),
            "existing_config is only meaningful for an existing bucket",
            Some("add `existing: true`, or remove existing_config".to_string()),
        ),
        (Some(settings), true) => {
            let mut seen = Vec::new();
            for (i, s) in settings.iter().enumerate() {
                if seen.contains(s) {
                    c.error(
                        &format!("{p}.existing_config[{i}]"),
                        format!("`{}` is listed twice", s.as_str()),
                        Some("remove the repeated item".to_string()),
                    );
                }
                seen.push(*s);
            }
            for always in BucketSetting::ALWAYS_PRESENT {
                if !settings.contains(&always) {
                    c.warning(
                        &format!("{p}.existing_config"),
                        format!(
                            "`{}` is not listed, but every bucket has it",
                            always.as_str()
                        ),
                        Some(format!(
                            "add `{}` so the plan imports it rather than overwriting it",
                            always.as_str()
                        )),
                    );
                }
            }
        }
        _ => {}
    }

    check_adoption(c, p, b);

    match &b.kms_key {
        KmsKeySpec::Create => {
            if let Some(alias) = &b.kms_alias {
                let name = alias.strip_prefix("alias/").unwrap_or("");
                let ok = !name.is_empty()
                    && name.len() <= 250
                    && !name.starts_with("aws/")
                    && name
                        .bytes()
                        .all(|ch| ch.is_ascii_alphanumeric() || b"/_-".contains(&ch));
                if !ok {
                    c.error(
                        &format!("{p}.kms_alias"),
                        format!("`{alias}` is not a valid key alias"),
                        Some("write alias/NAME with letters, digits, `/`, `_` and `-` (not alias/aws/…)".to_string()),
                    );
                }
            }
            if b.terraform_role.is_none() {
                c.warning(
                    &format!("{p}.terraform_role"),
                    "no terraform_role: whoever runs terraform apply must be one of kms_admins",
                    Some("KMS refuses a key policy that would lock out the principal setting it (policy lockout safety check)".to_string()),
                );
            }
        }
        KmsKeySpec::Existing(text) => {
            let path = format!("{p}.kms_key");
            match arn::kms_key(text) {
                Err(e) => c.error(
                    &path,
                    e.to_string(),
                    Some(
                        "write `create`, or the key ARN arn:aws:kms:REGION:ACCOUNT:key/ID"
                            .to_string(),
                    ),
                ),
                Ok(key) => {
                    if region_ok && key.region != b.region {
                        c.error(
                            &path,
                            format!(
                                "the key is in {} but the bucket is in {}",
                                key.region, b.region
                            ),
                            Some(
                                "S3 default encryption needs a key in the bucket's region"
                                    .to_string(),
                            ),
                        );
                    }
                    if key.account != b.account_id {
                        c.error(
                            &path,
                            format!(
                                "the key belongs to account {} but the bucket to {}",
                                key.account, b.account_id
                            ),
                            Some("use a key in the bucket's own account".to_string()),
                        );
                    }
                    if key.partition != partition {
                        c.error(
                            &path,
                            format!(
                                "the key's partition {} does not match the region's {partition}",
                                key.partition
                            ),
                            Some(
                                "use a key from the bucket's own partition and region".to_string(),
                            ),
                        );
                    }
                }
            }
            if b.kms_alias.is_some() {
                c.error(
                    &format!("{p}.kms_alias"),
                    "kms_alias only names a key s3bridge creates",
                    Some("remove it, or set `kms_key: create`".to_string()),
                );
            }
            if !b.kms_admins.is_empty() {
                c.warning(
                    &format!("{p}.kms_admins"),
                    "kms_admins only applies to a key s3bridge creates; the existing key's policy is left as it is",
                    None,
                );
            }
        }
    }
    if matches!(b.kms_key, KmsKeySpec::Create)
        && b.kms_admins.is_empty()
        && b.terraform_role.is_none()
    {
        c.error(
            &format!("{p}.kms_admins"),
            "a created key needs at least one administrator",
            Some("list the role(s) that administer the key, or set terraform_role".to_string()),
        );
    }
    if matches!(b.kms_key, KmsKeySpec::Create)
        && b.kms_key_recovery == crate::spec::KeyRecovery::Admins
    {
        let distinct: std::collections::BTreeSet<&String> = b.kms_admins.iter().collect();
        if distinct.len() < 2 {
            c.error(
                &format!("{p}.kms_key_recovery"),
                "`kms_key_recovery: admins` needs at least two kms_admins: with one, deleting that role leaves a key nobody can manage (only AWS Support can recover it)",
                Some("list a second administrator under kms_admins, or use `kms_key_recovery: account` (the default)".to_string()),
            );
        }
    }
    for (i, admin) in b.kms_admins.iter().enumerate() {
        let path = format!("{p}.kms_admins[{i}]");
        if let Some(principal) = check_principal(c, &path, admin, partition) {
            if principal.arn.account != b.account_id && is_account_id(&b.account_id) {
                c.warning(
                    &path,
                    format!(
                        "administrator from account {} for a key in account {}",
                        principal.arn.account, b.account_id
                    ),
                    Some("key administrators usually belong to the key's own account".to_string()),
                );
            }
        }
    }
    for (i, user) in b.kms_users.iter().enumerate() {
        check_principal(c, &format!("{p}.kms_users[{i}]"), user, partition);
    }
    if b.existing && b.kms_users.is_empty() && matches!(b.kms_key, KmsKeySpec::Create) {
        c.warning(
            &format!("{p}.kms_users"),
            "the existing bucket moves to a new key, and nobody but the copy and replication roles may use it",
            Some("list the roles of the applications that read or write this bucket in kms_users".to_string()),
        );
    }
    if let Some(role) = &b.terraform_role {
        let path = format!("{p}.terraform_role");
        match arn::iam_principal(role) {
            Ok(principal) if principal.kind == PrincipalKind::Role => {
                if principal.arn.account != b.account_id && is_account_id(&b.account_id) {
                    c.error(
                        &path,
                        format!(
                            "the role is in account {} but manages the {p} account {}",
                            principal.arn.account, b.account_id
                        ),
                        Some(format!(
                            "the {p} provider assumes this role to create resources in {}",
                            b.account_id
                        )),
                    );
                }
            }
            Ok(_) => c.error(
                &path,
                "terraform_role must be a role ARN",
                Some("write arn:aws:iam::ACCOUNT:role/NAME (a user cannot be assumed)".to_string()),
            ),
            Err(e) => c.error(
                &path,
                e.to_string(),
                Some("write arn:aws:iam::ACCOUNT:role/NAME".to_string()),
            ),
        }
    }
}

/// Checks one principal ARN and refuses wildcards and account roots.
fn check_principal(
    c: &mut Checker,
    path: &str,
    text: &str,
    partition: &str,
) -> Option<arn::IamPrincipal> {
    match arn::iam_principal(text) {
        Err(e) => {
            c.error(
                path,
                e.to_string(),
                Some("least privilege: name exact role or user ARNs".to_string()),
            );
            None
        }
        Ok(p) if p.kind == PrincipalKind::Root => {
            c.error(
                path,
                format!("`{text}` is an account root: it hands the grant to every IAM admin of account {}", p.arn.account),
                Some("name the role(s) that need it (arn:aws:iam::ACCOUNT:role/NAME)".to_string()),
            );
            None
        }
        Ok(p) => {
            if p.arn.partition != partition {
                c.error(
                    path,
                    format!(
                        "partition {} does not match the region's {partition}",
                        p.arn.partition
                    ),
                    Some(format!(
                        "write the ARN as arn:{partition}:iam::ACCOUNT:role/NAME"
                    )),
                );
            }
            Some(p)
        }
    }
}

fn check_copy_role(c: &mut Checker, spec: &Spec) {
    let role = &spec.copy_role;
    if !is_iam_name(&role.name) {
        c.error(
            "copy_role.name",
            format!("`{}` is not a valid IAM role name", role.name),
            Some("use 1 to 64 letters, digits and +=,.@_-".to_string()),
        );
    }
    if role.trusted_principals.is_empty() {
        c.error(
            "copy_role.trusted_principals",
            "nobody can assume the copy role",
            Some("list the role or user ARNs that run s3bridge copy".to_string()),
        );
    }
    let partition = arn::partition_for_region(&spec.side(role.account).region);
    let mut seen = HashMap::new();
    for (i, principal) in role.trusted_principals.iter().enumerate() {
        let path = format!("copy_role.trusted_principals[{i}]");
        if let Some(previous) = seen.insert(principal.as_str(), i) {
            c.error(
                &path,
                format!("listed twice (also item {previous})"),
                Some("remove the repeated principal".to_string()),
            );
        }
        check_principal(c, &path, principal, partition);
    }
    let generated = [
        spec.replication.role_name.clone(),
        spec.replication.batch_role_name.clone(),
    ];
    if generated.iter().flatten().any(|n| *n == role.name) {
        c.error(
            "copy_role.name",
            "the copy role and a replication role share a name",
            Some("give copy_role.name a name of its own".to_string()),
        );
    }
}

fn check_restore(c: &mut Checker, spec: &Spec) {
    let Some(restore) = &spec.restore else {
        return;
    };
    if let Some(name) = &restore.role_name {
        if !is_iam_name(name) {
            c.error(
                "restore.role_name",
                format!("`{name}` is not a valid IAM role name"),
                Some("use 1 to 64 letters, digits and +=,.@_-".to_string()),
            );
        }
        if *name == spec.copy_role.name {
            c.error(
                "restore.role_name",
                "the restore role and the copy role share a name",
                Some("give restore.role_name a name of its own".to_string()),
            );
        }
    }
    if restore.trusted_principals.is_empty() {
        c.error(
            "restore.trusted_principals",
            "nobody can assume the restore role",
            Some("list the role or user ARNs that run s3bridge restore".to_string()),
        );
    }
    let partition = arn::partition_for_region(&spec.source.region);
    let mut seen = HashMap::new();
    for (i, principal) in restore.trusted_principals.iter().enumerate() {
        let path = format!("restore.trusted_principals[{i}]");
        if let Some(previous) = seen.insert(principal.as_str(), i) {
            c.error(
                &path,
                format!("listed twice (also item {previous})"),
                Some("remove the repeated principal".to_string()),
            );
        }
        check_principal(c, &path, principal, partition);
    }
}

fn check_replication(c: &mut Checker, spec: &Spec) {
    let r = &spec.replication;
    if r.bidirectional {
        if let Some(name) = r
            .role_name
            .as_deref()
            .filter(|n| n.len() + "-reverse".len() > 64)
        {
            c.error(
                "replication.role_name",
                format!("`{name}-reverse` (the reverse replication role) would exceed IAM's 64 characters"),
                Some("shorten role_name to 56 characters or fewer".to_string()),
            );
        }
    }
    for side in [Side::Source, Side::Destination] {
        let replicates_from_here = side == Side::Source || r.bidirectional;
        let lists_replication = spec
            .side(side)
            .existing_config
            .as_ref()
            .is_some_and(|settings| settings.contains(&BucketSetting::Replication));
        if lists_replication && !replicates_from_here {
            c.error(
                &format!("{side}.existing_config"),
                format!("the {side} bucket's replication configuration is not managed by this bundle (bidirectional is false)"),
                Some("remove `replication` from existing_config, or set `replication.bidirectional: true`".to_string()),
            );
        }
    }
    for (field, name) in [
        ("role_name", &r.role_name),
        ("batch_role_name", &r.batch_role_name),
    ] {
        if let Some(name) = name {
            if !is_iam_name(name) {
                c.error(
                    &format!("replication.{field}"),
                    format!("`{name}` is not a valid IAM role name"),
                    Some("use 1 to 64 letters, digits and +=,.@_-".to_string()),
                );
            }
        }
    }
    if r.role_name.is_some() && r.role_name == r.batch_role_name {
        c.error(
            "replication.batch_role_name",
            "the batch role needs its own name",
            Some("give replication.batch_role_name another name than role_name".to_string()),
        );
    }
    if let Some(prefix) = &r.batch_report_prefix {
        if prefix.is_empty()
            || prefix.starts_with('/')
            || !prefix.ends_with('/')
            || prefix.contains('*')
        {
            c.error(
                "replication.batch_report_prefix",
                format!("`{prefix}` is not a usable key prefix"),
                Some("write a prefix like `s3bridge/batch-replication/` (no leading slash, trailing slash, no wildcard)".to_string()),
            );
        }
    }
    if r.existing_objects_via_rule && !r.existing_objects {
        c.error(
            "replication.existing_objects_via_rule",
            "existing_objects_via_rule without existing_objects",
            Some("set `existing_objects: true` too, or remove this flag".to_string()),
        );
    }
    if r.rules.is_empty() {
        c.error(
            "replication.rules",
            "no replication rules",
            Some("add a rule (`- id: all` replicates everything) or remove `rules:` for that default".to_string()),
        );
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut priorities: HashMap<u32, usize> = HashMap::new();
    let count = r.rules.len() as u32;
    for (i, rule) in r.rules.iter().enumerate() {
        let p = format!("replication.rules[{i}]");
        if rule.id.is_empty() || rule.id.chars().count() > 255 {
            c.error(
                &format!("{p}.id"),
                "rule ids have 1 to 255 characters",
                Some("give the rule a short id, e.g. `scans`".to_string()),
            );
        }
        if let Some(first) = ids.insert(rule.id.as_str(), i) {
            c.error(
                &format!("{p}.id"),
                format!("rule id `{}` is already used by rule {first}", rule.id),
                Some("give every rule its own id".to_string()),
            );
        }
        let priority = rule.priority.unwrap_or(count - i as u32);
        if let Some(first) = priorities.insert(priority, i) {
            let field = if rule.priority.is_some() {
                format!("{p}.priority")
            } else {
                p.clone()
            };
            c.error(
                &field,
                format!("priority {priority} is already used by rule {first}"),
                Some(
                    "priorities must be unique; set `priority:` on each rule or on none"
                        .to_string(),
                ),
            );
        }
        if rule.prefix.len() > 1024 {
            c.error(
                &format!("{p}.prefix"),
                "prefixes have at most 1024 bytes",
                Some("shorten the prefix".to_string()),
            );
        }
        check_tags(c, &format!("{p}.tags"), &rule.tags, true);
        if rule.delete_markers && !rule.tags.is_empty() {
            c.error(
                &format!("{p}.delete_markers"),
                "S3 cannot replicate delete markers for rules with a tag filter",
                Some(
                    "set `delete_markers: false`, or split the rule so the tag filter is separate"
                        .to_string(),
                ),
            );
        }
    }
}

/// A `prefix_map` entry that renames keys a replication rule also covers is refused.
///
/// Replication writes a replica under the source object's own key ("Replicas have the
/// same key names and the same metadata", S3 User Guide, "Replicating objects within
/// and across Regions"), so
/// the objects of a rule's prefix would have two homes in the destination: replicas of
/// new objects under `files/old reports/x`, copies of existing ones under
/// `archive/reports/x`. Copy and verify pair the destination by the copy mapping only,
/// so `copy --delete` would delete the replicas (their copy-mapped source,
/// `files/old reports/x` seen from `archive/...`, is not where they came from) and
/// `verify` would call them extra. Accounting for both mappings instead would make one
/// destination key stand for two sources and leave the renamed copies of replicated
/// objects stale for ever; refusing keeps one home per object. The overlap is refused
/// both ways: a mapped prefix inside a rule's prefix, and a rule's prefix inside a mapped
/// one (its replicas land outside the mapping's destination).
fn check_renames_outside_replication(c: &mut Checker, spec: &Spec) {
    for (from, to) in &spec.copy.prefix_map {
        if from == to {
            continue; // keys kept as they are: what replication does too
        }
        let overlapping = spec.replication.rules.iter().find(|rule| {
            from.starts_with(rule.prefix.as_str()) || rule.prefix.starts_with(from.as_str())
        });
        if let Some(rule) = overlapping {
            let rule_prefix = if rule.prefix.is_empty() {
                "every key".to_string()
            } else {
                format!("prefix `{}`", rule.prefix)
            };
            c.error(
                &format!("copy.prefix_map.{from}"),
                format!(
                    "`{from}` → `{to}` renames keys that replication rule `{}` ({rule_prefix}) \
                     replicates under their own names: `copy --delete` would delete the replicas \
                     and `verify` would report them as extra",
                    rule.id
                ),
                Some(
                    "copy a replicated prefix to the same keys (remove this mapping), or narrow \
                     the rule's prefix so it does not cover the renamed keys"
                        .to_string(),
                ),
            );
        }
    }
}

fn check_copy(c: &mut Checker, spec: &Spec) {
    for (kind, globs) in [
        ("exclude", &spec.copy.exclude),
        ("include", &spec.copy.include),
    ] {
        for (i, glob) in globs.iter().enumerate() {
            if let Err(e) = globset::Glob::new(glob) {
                c.error(
                    &format!("copy.{kind}[{i}]"),
                    format!("`{glob}` is not a valid glob: {}", e.kind()),
                    Some("`*` matches within one `/` level, `**` across levels, `?` one character, `[ab]` a set; close every bracket and brace".to_string()),
                );
            }
        }
    }
    if let Err(overlap @ crate::transfer::keys::KeyPlanError::Overlap { .. }) =
        crate::transfer::keys::KeyPlan::from_spec(spec)
    {
        c.error(
            "copy.prefix_map",
            overlap.to_string(),
            Some(
                "map the colliding prefix elsewhere, or narrow the replication rules' prefixes"
                    .to_string(),
            ),
        );
    }
    check_renames_outside_replication(c, spec);
    for (from, to) in &spec.copy.prefix_map {
        let path = format!("copy.prefix_map.{from}");
        if from.starts_with('/') || to.starts_with('/') {
            c.error(
                &path,
                "S3 keys do not start with `/`",
                Some("write `images/` rather than `/images/`".to_string()),
            );
        }
        if from.ends_with('/') != to.ends_with('/') {
            c.warning(
                &path,
                format!("`{from}` → `{to}`: one side ends with `/` and the other does not"),
                Some(
                    "keys would be joined oddly (`images/x` → `avatarx`); end both with `/`"
                        .to_string(),
                ),
            );
        }
    }
}

/// SNS topic names: 1 to 256 letters, digits, hyphens and underscores.
fn is_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_monitoring(c: &mut Checker, spec: &Spec) {
    let Some(m) = &spec.monitoring else {
        return;
    };
    match (&m.notify.topic_arn, &m.notify.create) {
        (Some(_), Some(_)) | (None, None) => c.error(
            "monitoring.notify",
            "give exactly one of `topic_arn` and `create`",
            Some(
                "`topic_arn: arn:aws:sns:REGION:ACCOUNT:NAME` for an existing topic, or `create: {email: [...]}`"
                    .to_string(),
            ),
        ),
        (Some(topic), None) => match Arn::parse(topic) {
            Err(e) => c.error(
                "monitoring.notify.topic_arn",
                e.to_string(),
                Some("give the topic's ARN, as `aws sns list-topics` prints it".to_string()),
            ),
            Ok(arn) if arn.service != "sns" || !is_topic_name(&arn.resource) => c.error(
                "monitoring.notify.topic_arn",
                format!("`{topic}` is not an SNS topic ARN"),
                Some("expected arn:aws:sns:REGION:ACCOUNT:TOPIC-NAME".to_string()),
            ),
            // S3 sends event notifications only to a topic in the bucket's Region, and
            // CloudWatch alarms in the source account publish to it (S3 user guide,
            // notification-how-to-event-types-and-destinations: "must be in the same
            // AWS Region as your Amazon S3 bucket").
            Ok(arn) if arn.region != spec.source.region || arn.account != spec.source.account_id => c.error(
                "monitoring.notify.topic_arn",
                format!(
                    "the topic is in {} account {}, not with the source bucket ({} account {})",
                    arn.region, arn.account, spec.source.region, spec.source.account_id
                ),
                Some("S3 notifies only a topic in the bucket's Region; use a topic of the source account and Region, or `create`".to_string()),
            ),
            Ok(_) => {}
        },
        (None, Some(create)) => {
            if create.email.is_empty() && create.https.is_empty() {
                c.warning(
                    "monitoring.notify.create",
                    "the topic will have no subscribers: nobody is told when replication breaks",
                    Some("list at least one address under `email:` or `https:`".to_string()),
                );
            }
            for (i, email) in create.email.iter().enumerate() {
                let valid = email
                    .split_once('@')
                    .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace));
                if !valid {
                    c.error(
                        &format!("monitoring.notify.create.email[{i}]"),
                        format!("`{email}` is not an email address"),
                        Some("write it as name@example.com".to_string()),
                    );
                }
            }
            for (i, url) in create.https.iter().enumerate() {
                if !url.starts_with("https://") || url.len() <= "https://".len() {
                    c.error(
                        &format!("monitoring.notify.create.https[{i}]"),
                        format!("`{url}` is not an https:// URL"),
                        Some("SNS HTTPS subscriptions need an https:// endpoint".to_string()),
                    );
                }
            }
        }
    }
    if m.latency_seconds < 60 {
        c.error(
            "monitoring.latency_seconds",
            format!(
                "{} seconds is below CloudWatch's one-minute period",
                m.latency_seconds
            ),
            Some("use at least 60 (the default is 900, RTC's 15 minutes)".to_string()),
        );
    }
    if m.pending_growth_minutes < 10 || m.pending_growth_minutes % 5 != 0 {
        c.error(
            "monitoring.pending_growth_minutes",
            format!(
                "{} is not a multiple of 5 of at least 10",
                m.pending_growth_minutes
            ),
            Some(
                "the alarm compares 5-minute periods; use 10, 15, 30 (the default), ..."
                    .to_string(),
            ),
        );
    }
    if spec.replication.bidirectional {
        c.warning(
            "monitoring",
            "only the source → destination direction is monitored",
            Some(
                "the reverse direction's metrics live in the destination account; watch them there"
                    .to_string(),
            ),
        );
    }
}
