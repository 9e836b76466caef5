//! Invalid specs: one test per validation rule, each asserting the line, the column and
//! the message that `s3bridge validate` reports. The base spec below is valid; every
//! case changes or adds a few lines.

mod support;

use serde_json::Value;
use support::{s3bridge, stdout};

const BASE: &str = "version: 1
name: demo
source:
  bucket: src-bucket
  account_id: \"111111111111\"
  region: eu-west-1
  kms_admins: [arn:aws:iam::111111111111:role/kms-admin]
  terraform_role: arn:aws:iam::111111111111:role/terraform
destination:
  bucket: dst-bucket
  account_id: \"222222222222\"
  region: eu-west-1
  kms_admins: [arn:aws:iam::222222222222:role/kms-admin]
  terraform_role: arn:aws:iam::222222222222:role/terraform
copy_role:
  name: copier
  account: source
  trusted_principals: [arn:aws:iam::111111111111:role/engineer]
replication:
  rules:
    - id: a
      prefix: a/
    - id: b
      prefix: b/
";

/// BASE with lines replaced (1-based line → new text, which may span lines).
fn spec_with(replacements: &[(usize, &str)]) -> String {
    BASE.lines()
        .enumerate()
        .map(|(i, line)| {
            replacements
                .iter()
                .find(|(n, _)| *n == i + 1)
                .map_or(line, |(_, new)| *new)
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Validates `text`; returns the exit code and the diagnostics.
fn validate(text: &str) -> (i32, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, text).unwrap();
    let out = s3bridge(&["validate", path.to_str().unwrap(), "--format", "json"]);
    let report: Value =
        serde_json::from_str(&stdout(&out)).expect("validate --format json prints JSON");
    (
        out.status.code().unwrap(),
        report["diagnostics"].as_array().unwrap().clone(),
    )
}

/// Asserts that validating `text` fails with an error at `line:col` whose message
/// contains `message` and whose hint (what to do) contains `hint`.
fn assert_error(text: &str, line: u64, col: u64, message: &str, hint: &str) {
    let (code, diagnostics) = validate(text);
    assert_eq!(code, 1, "invalid specs exit 1: {diagnostics:#?}");
    let found = diagnostics
        .iter()
        .find(|d| d["severity"] == "error" && d["message"].as_str().unwrap().contains(message));
    let Some(d) = found else {
        panic!("no error containing {message:?} in {diagnostics:#?}")
    };
    assert_eq!(
        (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap()),
        (line, col),
        "{d:#?}"
    );
    let given = d["hint"]
        .as_str()
        .unwrap_or_else(|| panic!("no hint: {d:#?}"));
    assert!(given.contains(hint), "hint {given:?} lacks {hint:?}");
}

#[test]
fn base_spec_is_valid() {
    let (code, diagnostics) = validate(BASE);
    assert_eq!(code, 0, "{diagnostics:#?}");
}

#[test]
fn example_spec_is_valid_unchanged() {
    let text = std::fs::read_to_string(support::fixture("specs/example.yaml")).unwrap();
    assert_eq!(validate(&text).0, 0);
    // It is the README's example, character for character.
    let readme = std::fs::read_to_string(support::repo().join("README.md")).unwrap();
    assert!(
        readme.contains(&text),
        "README must show fixtures/specs/example.yaml unchanged"
    );
}

#[test]
fn yaml_syntax_errors_have_positions() {
    assert_error(
        &spec_with(&[(
            18,
            "  trusted_principals: [arn:aws:iam::111111111111:role/engineer",
        )]),
        19,
        12,
        "invalid YAML",
        "check the indentation",
    );
}

#[test]
fn duplicate_keys_are_refused() {
    assert_error(
        &spec_with(&[(16, "  name: copier\n  name: other")]),
        17,
        3,
        "duplicate key `name`",
        "keep one `name:` line",
    );
}

#[test]
fn empty_files_are_refused() {
    assert_error(
        "",
        1,
        1,
        "the spec is empty",
        "`s3bridge schema --example > spec.yaml`",
    );
}

#[test]
fn unknown_keys_suggest_the_right_one() {
    let (_, diagnostics) = validate(&spec_with(&[(
        7,
        "  kms_admin: [arn:aws:iam::111111111111:role/kms-admin]",
    )]));
    assert_error(
        &spec_with(&[(7, "  kms_admin: [arn:aws:iam::111111111111:role/kms-admin]")]),
        7,
        3,
        "unknown key `kms_admin`",
        "did you mean `kms_admins`?",
    );
    assert!(diagnostics[0]["hint"]
        .as_str()
        .unwrap()
        .contains("did you mean `kms_admins`"));
}

#[test]
fn missing_keys_are_named() {
    assert_error(
        &spec_with(&[(10, "  # bucket removed")]),
        11,
        3,
        "missing required key `bucket`",
        "add `bucket:` here",
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    assert_error(
        &spec_with(&[(5, "  account_id: \"111111111111\"\n  existing: yes")]),
        6,
        13,
        "expected true or false",
        "YAML 1.2 booleans are only `true` and `false`",
    );
}

#[test]
fn only_version_1_exists() {
    assert_error(
        &spec_with(&[(1, "version: 2")]),
        1,
        10,
        "unsupported spec version 2",
        "reads `version: 1`",
    );
}

#[test]
fn names_are_short_and_lowercase() {
    assert_error(
        &spec_with(&[(2, "name: Demo_Replication")]),
        2,
        7,
        "is not a valid name",
        "use 1 to 40 lowercase letters, digits and hyphens",
    );
}

#[test]
fn bucket_names_follow_s3_rules() {
    assert_error(
        &spec_with(&[(4, "  bucket: Src_Bucket")]),
        4,
        11,
        "bucket name `Src_Bucket` contains `S`",
        "see S3's bucket naming rules",
    );
    assert_error(
        &spec_with(&[(4, "  bucket: 10.0.0.1")]),
        4,
        11,
        "formatted as an IP address",
        "see S3's bucket naming rules",
    );
    assert_error(
        &spec_with(&[(4, "  bucket: ab")]),
        4,
        11,
        "3 to 63",
        "see S3's bucket naming rules",
    );
}

#[test]
fn source_and_destination_differ() {
    assert_error(
        &spec_with(&[(10, "  bucket: src-bucket")]),
        10,
        11,
        "same bucket",
        "replication needs two different buckets",
    );
}

#[test]
fn account_ids_have_12_digits() {
    assert_error(
        &spec_with(&[(11, "  account_id: \"22222222222\"")]),
        11,
        15,
        "not a 12-digit AWS account id",
        "write all 12 digits, quoted",
    );
}

#[test]
fn regions_are_real() {
    let text = spec_with(&[(12, "  region: eu-west-9")]);
    assert_error(
        &text,
        12,
        11,
        "`eu-west-9` is not an AWS region",
        "did you mean `eu-west-1`?",
    );
    let (_, diagnostics) = validate(&spec_with(&[(12, "  region: eu-wset-1")]));
    assert!(diagnostics.iter().any(|d| d["hint"]
        .as_str()
        .unwrap_or_default()
        .contains("did you mean `eu-west-1`")));
}

#[test]
fn kms_keys_are_key_arns_not_aliases() {
    assert_error(
        &spec_with(&[(
            7,
            "  kms_key: arn:aws:kms:eu-west-1:111111111111:alias/data",
        )]),
        7,
        12,
        "is an alias",
        "write `create`, or the key ARN",
    );
    assert_error(
        &spec_with(&[(7, "  kms_key: my-key")]),
        7,
        12,
        "is not an ARN",
        "write `create`, or the key ARN",
    );
}

#[test]
fn kms_keys_match_their_bucket_region_and_account() {
    assert_error(
        &spec_with(&[(7, "  kms_key: arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab")]),
        7,
        12,
        "the key is in us-east-1 but the bucket is in eu-west-1",
        "a key in the bucket's region",
    );
    assert_error(
        &spec_with(&[(7, "  kms_key: arn:aws:kms:eu-west-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab")]),
        7,
        12,
        "the key belongs to account 333333333333",
        "use a key in the bucket's own account",
    );
}

#[test]
fn created_keys_need_administrators() {
    assert_error(
        &spec_with(&[(13, "  kms_admins: []"), (14, "  # no terraform role")]),
        13,
        3,
        "needs at least one administrator",
        "list the role(s) that administer the key, or set terraform_role",
    );
}

#[test]
fn aliases_are_valid_and_only_for_created_keys() {
    assert_error(
        &spec_with(&[(
            7,
            "  kms_alias: alias/aws/s3\n  kms_admins: [arn:aws:iam::111111111111:role/kms-admin]",
        )]),
        7,
        14,
        "not a valid key alias",
        "write alias/NAME",
    );
}

#[test]
fn wildcard_principals_are_refused() {
    assert_error(
        &spec_with(&[(
            18,
            "  trusted_principals: [\"arn:aws:iam::111111111111:role/*\"]",
        )]),
        18,
        24,
        "contains a wildcard",
        "name exact role or user ARNs",
    );
    assert_error(
        &spec_with(&[(18, "  trusted_principals: [\"*\"]")]),
        18,
        24,
        "contains a wildcard",
        "name exact role or user ARNs",
    );
}

#[test]
fn account_roots_are_refused() {
    assert_error(
        &spec_with(&[(13, "  kms_admins: [arn:aws:iam::222222222222:root]")]),
        13,
        16,
        "is an account root",
        "name the role(s) that need it",
    );
}

#[test]
fn principals_are_role_or_user_arns() {
    assert_error(
        &spec_with(&[(18, "  trusted_principals: [arn:aws:s3:::bucket]")]),
        18,
        24,
        "is not an IAM principal ARN",
        "name exact role or user ARNs",
    );
}

#[test]
fn terraform_roles_belong_to_their_side() {
    assert_error(
        &spec_with(&[(
            14,
            "  terraform_role: arn:aws:iam::111111111111:role/terraform",
        )]),
        14,
        19,
        "the role is in account 111111111111 but manages the destination account 222222222222",
        "the destination provider assumes this role",
    );
    assert_error(
        &spec_with(&[(
            14,
            "  terraform_role: arn:aws:iam::222222222222:user/terraform",
        )]),
        14,
        19,
        "must be a role ARN",
        "a user cannot be assumed",
    );
}

#[test]
fn role_names_follow_iam_rules() {
    assert_error(
        &spec_with(&[(16, "  name: copy role")]),
        16,
        9,
        "not a valid IAM role name",
        "use 1 to 64 letters, digits and +=,.@_-",
    );
}

#[test]
fn copy_roles_must_be_assumable() {
    assert_error(
        &spec_with(&[(18, "  trusted_principals: []")]),
        18,
        3,
        "nobody can assume the copy role",
        "list the role or user ARNs that run s3bridge copy",
    );
}

#[test]
fn trusted_principals_are_listed_once() {
    assert_error(
        &spec_with(&[(18, "  trusted_principals: [arn:aws:iam::111111111111:role/engineer, arn:aws:iam::111111111111:role/engineer]")]),
        18,
        65,
        "listed twice",
        "remove the repeated principal",
    );
}

#[test]
fn storage_classes_are_real() {
    let text = spec_with(&[(22, "      prefix: a/\n      storage_class: STANDARD_AI")]);
    assert_error(
        &text,
        23,
        22,
        "`STANDARD_AI` is not a valid value",
        "did you mean `STANDARD_IA`?",
    );
    let (_, diagnostics) = validate(&text);
    assert!(diagnostics[0]["hint"]
        .as_str()
        .unwrap()
        .contains("did you mean `STANDARD_IA`"));
}

#[test]
fn rule_ids_are_unique() {
    assert_error(
        &spec_with(&[(23, "    - id: a")]),
        23,
        11,
        "rule id `a` is already used by rule 0",
        "give every rule its own id",
    );
}

#[test]
fn rule_priorities_are_unique() {
    assert_error(
        &spec_with(&[
            (22, "      prefix: a/\n      priority: 3"),
            (24, "      prefix: b/\n      priority: 3"),
        ]),
        26,
        17,
        "priority 3 is already used by rule 0",
        "set `priority:` on each rule or on none",
    );
}

#[test]
fn rules_exist() {
    assert_error(
        &spec_with(&[(20, "  rules: []"), (21, ""), (22, ""), (23, ""), (24, "")]),
        20,
        3,
        "no replication rules",
        "add a rule (`- id: all` replicates everything)",
    );
}

#[test]
fn delete_markers_are_not_replicated_for_tag_rules() {
    assert_error(
        &spec_with(&[(
            22,
            "      prefix: a/\n      tags: {kind: scan}\n      delete_markers: true",
        )]),
        24,
        23,
        "cannot replicate delete markers for rules with a tag filter",
        "set `delete_markers: false`",
    );
}

#[test]
fn existing_objects_via_rule_needs_existing_objects() {
    assert_error(
        &spec_with(&[(19, "replication:\n  existing_objects_via_rule: true")]),
        20,
        30,
        "without existing_objects",
        "set `existing_objects: true` too",
    );
}

#[test]
fn batch_report_prefixes_are_usable() {
    assert_error(
        &spec_with(&[(19, "replication:\n  batch_report_prefix: /reports")]),
        20,
        24,
        "not a usable key prefix",
        "write a prefix like `s3bridge/batch-replication/`",
    );
}

#[test]
fn existing_config_needs_an_existing_bucket() {
    assert_error(
        &spec_with(&[(6, "  region: eu-west-1\n  existing_config: [policy]")]),
        7,
        3,
        "only meaningful for an existing bucket",
        "add `existing: true`, or remove existing_config",
    );
}

#[test]
fn only_replications_the_bundle_manages_are_imported() {
    assert_error(
        &spec_with(&[(12, "  region: eu-west-1\n  existing: true\n  existing_config: [versioning, encryption, replication]")]),
        14,
        3,
        "replication configuration is not managed by this bundle",
        "remove `replication` from existing_config",
    );
}

#[test]
fn reverse_role_names_fit_iam() {
    let long = "r".repeat(60);
    assert_error(
        &spec_with(&[(
            19,
            &format!("replication:\n  bidirectional: true\n  role_name: {long}"),
        )]),
        21,
        14,
        "would exceed IAM's 64 characters",
        "shorten role_name to 56 characters or fewer",
    );
}

#[test]
fn prefix_maps_never_send_two_keys_to_one() {
    let text = BASE.to_string() + "copy:\n  prefix_map:\n    \"a/old/\": \"b/\"\n";
    assert_error(
        &text,
        26,
        3,
        "map into overlapping destinations",
        "map the colliding prefix elsewhere",
    );
}

#[test]
fn globs_compile() {
    let text = BASE.to_string() + "copy:\n  exclude: [\"logs/[\"]\n";
    assert_error(&text, 26, 13, "is not a valid glob", "`**` across levels");
}

#[test]
fn text_output_points_at_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec_with(&[(12, "  region: eu-west-9")])).unwrap();
    let out = s3bridge(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = support::stderr(&out);
    assert!(
        text.contains(&format!(
            "{}:12:11: error: destination.region: `eu-west-9` is not an AWS region",
            path.display()
        )),
        "{text}"
    );
    assert!(text.contains("help: "), "{text}");
}

#[test]
fn restore_roles_must_be_assumable() {
    let section = |principals: &str| {
        spec_with(&[(
            19,
            &format!("restore:\n  trusted_principals: {principals}\nreplication:"),
        )])
    };
    assert_error(
        &section("[]"),
        20,
        3,
        "nobody can assume the restore role",
        "list the role or user ARNs that run s3bridge restore",
    );
    let (code, diagnostics) = validate(&section("[arn:aws:iam::111111111111:role/responder]"));
    assert_eq!(code, 0, "{diagnostics:#?}");
}

/// BASE's source made an existing bucket with `extra` lines after terraform_role.
fn adopted(extra: &str) -> String {
    spec_with(&[(
        8,
        &format!(
            "  terraform_role: arn:aws:iam::111111111111:role/terraform\n  existing: true\n{extra}"
        ),
    )])
}

#[test]
fn kept_policy_statements_must_be_statements_of_an_imported_policy() {
    let text = adopted(
        "  existing_config: [versioning, encryption]\n  keep_policy_statements:\n    - {\"Sid\": \"Partner\", \"Action\": \"s3:GetObject\"}\n",
    );
    assert_error(
        &text,
        12,
        7,
        "needs `Effect: Allow` or `Effect: Deny`",
        "copy the statement",
    );
    assert_error(
        &text,
        11,
        3,
        "`policy` is not in existing_config",
        "add `policy` to existing_config",
    );
    let fine = adopted(
        "  existing_config: [versioning, encryption, policy]\n  keep_policy_statements:\n    - {\"Sid\": \"Partner\", \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::333333333333:role/r\"}, \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::src-bucket/*\"}\n",
    );
    let (code, diagnostics) = validate(&fine);
    assert_eq!(code, 0, "{diagnostics:#?}");
}

#[test]
fn kept_lifecycle_rules_must_do_something_and_be_the_users() {
    let text = adopted(
        "  existing_config: [versioning, encryption, lifecycle]\n  keep_lifecycle_rules:\n    - {id: old, prefix: tmp/}\n    - {id: abort-incomplete-multipart-uploads, expiration_days: 3}\n    - {id: cold, transitions: [{days: 30, storage_class: COLD}]}\n",
    );
    assert_error(
        &text,
        12,
        7,
        "lifecycle rule `old` does nothing",
        "expiration",
    );
    assert_error(
        &text,
        13,
        12,
        "the rule s3bridge writes itself",
        "leave it out",
    );
    assert_error(&text, 14, 58, "`COLD` is not a storage class", "GLACIER");
}

#[test]
fn an_existing_replication_configuration_is_replaced_only_when_the_spec_says_so() {
    let text = adopted("  existing_config: [versioning, encryption, replication]\n");
    assert_error(
        &text,
        10,
        3,
        "replication configuration would be replaced",
        "replace_existing_replication: true",
    );
    let agreed = adopted(
        "  existing_config: [versioning, encryption, replication]\n  replace_existing_replication: true\n",
    );
    let (code, diagnostics) = validate(&agreed);
    assert_eq!(code, 0, "{diagnostics:#?}");
}

#[test]
fn adoption_fields_need_an_existing_bucket() {
    let text = spec_with(&[(
        8,
        "  terraform_role: arn:aws:iam::111111111111:role/terraform\n  keep_lifecycle_rules: [{id: a, expiration_days: 1}]",
    )]);
    assert_error(
        &text,
        9,
        3,
        "keep_lifecycle_rules is only meaningful for an existing bucket",
        "add `existing: true`",
    );
}
