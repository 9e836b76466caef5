//! Amazon Resource Names: parsing what users write in specs and building the ARNs of
//! the resources s3bridge manages, with the partition that goes with the region.

use std::fmt;

/// The parts of `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("`{0}` is not an ARN (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")]
    Shape(String),
    #[error("unknown partition `{0}` (expected aws, aws-cn or aws-us-gov)")]
    Partition(String),
    #[error("account `{0}` in the ARN is not 12 digits")]
    Account(String),
    #[error("{0}")]
    Kind(String),
}

pub const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

impl Arn {
    pub fn parse(text: &str) -> Result<Arn, ArnError> {
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2].is_empty() || parts[5].is_empty() {
            return Err(ArnError::Shape(text.to_string()));
        }
        if !PARTITIONS.contains(&parts[1]) {
            return Err(ArnError::Partition(parts[1].to_string()));
        }
        if !parts[4].is_empty() && !is_account_id(parts[4]) {
            return Err(ArnError::Account(parts[4].to_string()));
        }
        Ok(Arn {
            partition: parts[1].into(),
            service: parts[2].into(),
            region: parts[3].into(),
            account: parts[4].into(),
            resource: parts[5].into(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM role or user that can be named as a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamPrincipal {
    pub arn: Arn,
    pub kind: PrincipalKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Role,
    User,
    Root,
}

/// Parses a role, user or account-root ARN. Wildcards are refused here: a principal that
/// matches more than one identity is never least privilege.
pub fn iam_principal(text: &str) -> Result<IamPrincipal, ArnError> {
    if text.contains('*') || text.contains('?') {
        return Err(ArnError::Kind(format!(
            "`{text}` contains a wildcard; name each principal by its exact ARN (least privilege)"
        )));
    }
    let arn = Arn::parse(text)?;
    if arn.service == "sts" && arn.resource.starts_with("assumed-role/") {
        return Err(ArnError::Kind(format!(
            "`{text}` is an assumed-role session; use the role's ARN (arn:{}:iam::{}:role/NAME)",
            arn.partition, arn.account
        )));
    }
    if arn.service != "iam" || !arn.region.is_empty() || arn.account.is_empty() {
        return Err(ArnError::Kind(format!(
            "`{text}` is not an IAM principal ARN (expected arn:aws:iam::ACCOUNT:role/NAME)"
        )));
    }
    let kind = if arn.resource == "root" {
        PrincipalKind::Root
    } else if let Some(name) = arn.resource.strip_prefix("role/") {
        check_path_name(text, name)?;
        PrincipalKind::Role
    } else if let Some(name) = arn.resource.strip_prefix("user/") {
        check_path_name(text, name)?;
        PrincipalKind::User
    } else {
        return Err(ArnError::Kind(format!(
            "`{text}` is not a role or user ARN (expected …:role/NAME or …:user/NAME)"
        )));
    };
    Ok(IamPrincipal { arn, kind })
}

fn check_path_name(text: &str, path_and_name: &str) -> Result<(), ArnError> {
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    if is_iam_name(name) {
        Ok(())
    } else {
        Err(ArnError::Kind(format!(
            "`{text}` has an invalid IAM name `{name}`"
        )))
    }
}

/// IAM role and user names: 1-64 of letters, digits and `+=,.@_-`.
pub fn is_iam_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// A KMS key ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`); aliases are refused because an
/// alias resolves in the caller's account, which breaks cross-account replication.
pub fn kms_key(text: &str) -> Result<Arn, ArnError> {
    let arn = Arn::parse(text)?;
    if arn.service != "kms" || arn.region.is_empty() || arn.account.is_empty() {
        return Err(ArnError::Kind(format!(
            "`{text}` is not a KMS key ARN (expected arn:aws:kms:REGION:ACCOUNT:key/ID)"
        )));
    }
    if arn.resource.starts_with("alias/") {
        return Err(ArnError::Kind(format!(
            "`{text}` is an alias; give the key ARN (arn:…:key/ID): replication resolves aliases in the wrong account"
        )));
    }
    match arn.resource.strip_prefix("key/") {
        Some(id) if !id.is_empty() && !id.contains('*') => Ok(arn),
        _ => Err(ArnError::Kind(format!(
            "`{text}` is not a KMS key ARN (expected …:key/ID)"
        ))),
    }
}

/// The partition a region belongs to.
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub fn bucket_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

pub fn role_arn(partition: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_roles_and_refuses_wildcards() {
        let p = iam_principal("arn:aws:iam::111111111111:role/team/platform-engineer").unwrap();
        assert_eq!(p.kind, PrincipalKind::Role);
        assert_eq!(p.arn.account, "111111111111");
        assert!(iam_principal("arn:aws:iam::111111111111:role/*").is_err());
        assert!(iam_principal("*").is_err());
        assert!(iam_principal("arn:aws:iam::11111111111:role/x").is_err());
        assert!(iam_principal("arn:aws:s3:::bucket").is_err());
        assert_eq!(
            iam_principal("arn:aws:iam::111111111111:root")
                .unwrap()
                .kind,
            PrincipalKind::Root
        );
    }

    #[test]
    fn kms_keys_must_be_key_arns() {
        assert!(kms_key(
            "arn:aws:kms:ap-southeast-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        )
        .is_ok());
        let err = kms_key("arn:aws:kms:ap-southeast-2:111111111111:alias/data").unwrap_err();
        assert!(err.to_string().contains("alias"));
        assert!(kms_key("arn:aws:kms:ap-southeast-2:111111111111:key/").is_err());
    }

    #[test]
    fn partitions_follow_regions() {
        assert_eq!(partition_for_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_for_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_for_region("eu-west-1"), "aws");
    }
}
