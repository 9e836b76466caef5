# A general-purpose S3 bucket held to s3bridge's baseline: versioned, encrypted by
# default with a customer-managed KMS key (with bucket keys), ACLs disabled, public
# access blocked, a caller-supplied bucket policy, and incomplete multipart uploads
# cleaned up. Each setting is its own resource so that Terraform detects drift in it.

resource "aws_s3_bucket" "this" {
  bucket        = var.bucket
  force_destroy = var.force_destroy
  tags          = var.tags

  lifecycle {
    # Buckets hold data; an accidental replacement would delete it.
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket                = aws_s3_bucket.this.id
  expected_bucket_owner = var.expected_bucket_owner

  versioning_configuration {
    status = var.versioning_status
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket                = aws_s3_bucket.this.id
  expected_bucket_owner = var.expected_bucket_owner

  rule {
    bucket_key_enabled = var.bucket_key_enabled

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = var.block_public_access
  block_public_policy     = var.block_public_access
  ignore_public_acls      = var.block_public_access
  restrict_public_buckets = var.block_public_access
}

# Orders the policy after the principals it names (see var.principal_arns).
resource "terraform_data" "principals" {
  input = var.principal_arns
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = var.policy

  # S3 answers 409 OperationAborted when these bucket settings change concurrently.
  depends_on = [aws_s3_bucket_public_access_block.this, terraform_data.principals]
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = var.object_ownership
  }

  depends_on = [aws_s3_bucket_policy.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket                = aws_s3_bucket.this.id
  expected_bucket_owner = var.expected_bucket_owner

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    # Every object.
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  # The existing bucket's own rules: this resource replaces the whole configuration, so
  # every rule the bucket keeps is written here too.
  dynamic "rule" {
    for_each = var.kept_lifecycle_rules
    content {
      id     = rule.value.id
      status = rule.value.enabled ? "Enabled" : "Disabled"

      # One predicate on its own; several under `and` (S3's LifecycleRuleFilter).
      filter {
        prefix = length(rule.value.tags) == 0 ? rule.value.prefix : null

        dynamic "tag" {
          for_each = rule.value.prefix == "" && length(rule.value.tags) == 1 ? rule.value.tags : {}
          content {
            key   = tag.key
            value = tag.value
          }
        }

        dynamic "and" {
          for_each = length(rule.value.tags) > 1 || (length(rule.value.tags) == 1 && rule.value.prefix != "") ? [1] : []
          content {
            prefix = rule.value.prefix == "" ? null : rule.value.prefix
            tags   = rule.value.tags
          }
        }
      }

      dynamic "expiration" {
        for_each = rule.value.expiration_days == null ? [] : [rule.value.expiration_days]
        content {
          days = expiration.value
        }
      }

      dynamic "transition" {
        for_each = rule.value.transitions
        content {
          days          = transition.value.days
          storage_class = transition.value.storage_class
        }
      }

      dynamic "noncurrent_version_expiration" {
        for_each = rule.value.noncurrent_expiration_days == null ? [] : [rule.value.noncurrent_expiration_days]
        content {
          noncurrent_days = noncurrent_version_expiration.value
        }
      }

      dynamic "noncurrent_version_transition" {
        for_each = rule.value.noncurrent_transitions
        content {
          noncurrent_days = noncurrent_version_transition.value.days
          storage_class   = noncurrent_version_transition.value.storage_class
        }
      }

      dynamic "abort_incomplete_multipart_upload" {
        for_each = rule.value.abort_incomplete_multipart_days == null ? [] : [rule.value.abort_incomplete_multipart_days]
        content {
          days_after_initiation = abort_incomplete_multipart_upload.value
        }
      }
    }
  }

  # Lifecycle rules on a bucket that is being versioned must follow versioning.
  depends_on = [aws_s3_bucket_versioning.this]
}
