# A symmetric customer-managed KMS key with automatic rotation, a caller-supplied key
# policy, and an alias. Only customer-managed keys can be shared across accounts, which
# cross-account replication needs.

# Orders the key after the principals its policy names (see var.principal_arns).
resource "terraform_data" "principals" {
  input = var.principal_arns
}

resource "aws_kms_key" "this" {
  description             = var.description
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = var.enable_key_rotation
  rotation_period_in_days = var.rotation_period_in_days
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = var.policy
  tags                    = var.tags

  depends_on = [terraform_data.principals]
}

resource "aws_kms_alias" "this" {
  name          = var.alias
  target_key_id = aws_kms_key.this.key_id
}
