# A V2 replication configuration: filtered, prioritised rules that replicate SSE-KMS
# objects into a destination encrypted with its own key, optionally across accounts
# (owner override), with Replication Time Control and two-way metadata sync.

locals {
  # The filter shape S3 accepts depends on what the rule filters on.
  filter_kind = {
    for rule in var.rules : rule.id => (
      length(rule.tags) == 0 ? "prefix" :
      length(rule.tags) == 1 && rule.prefix == "" ? "tag" : "and"
    )
  }
}

resource "aws_s3_bucket_replication_configuration" "this" {
  bucket = var.bucket
  role   = var.role_arn

  dynamic "rule" {
    for_each = var.rules

    content {
      id       = rule.value.id
      priority = rule.value.priority
      status   = "Enabled"

      filter {
        prefix = local.filter_kind[rule.value.id] == "prefix" ? rule.value.prefix : null

        dynamic "tag" {
          for_each = local.filter_kind[rule.value.id] == "tag" ? rule.value.tags : {}

          content {
            key   = tag.key
            value = tag.value
          }
        }

        dynamic "and" {
          for_each = local.filter_kind[rule.value.id] == "and" ? [rule.value] : []

          content {
            prefix = and.value.prefix == "" ? null : and.value.prefix
            tags   = and.value.tags
          }
        }
      }

      delete_marker_replication {
        status = rule.value.delete_markers ? "Enabled" : "Disabled"
      }

      source_selection_criteria {
        sse_kms_encrypted_objects {
          status = "Enabled"
        }

        dynamic "replica_modifications" {
          for_each = rule.value.replica_modifications ? [1] : []

          content {
            status = "Enabled"
          }
        }
      }

      dynamic "existing_object_replication" {
        for_each = rule.value.existing_object_replication ? [1] : []

        content {
          status = "Enabled"
        }
      }

      destination {
        bucket        = rule.value.destination_bucket_arn
        account       = rule.value.destination_account
        storage_class = rule.value.storage_class

        dynamic "access_control_translation" {
          for_each = rule.value.destination_account == null ? [] : [1]

          content {
            owner = "Destination"
          }
        }

        encryption_configuration {
          replica_kms_key_id = rule.value.replica_kms_key_arn
        }

        dynamic "replication_time" {
          for_each = rule.value.replication_time_control ? [1] : []

          content {
            status = "Enabled"

            time {
              minutes = 15
            }
          }
        }

        # Replication metrics (per-rule CloudWatch metrics); RTC needs them with its
        # 15-minute event threshold.
        dynamic "metrics" {
          for_each = rule.value.replication_time_control || rule.value.metrics ? [1] : []

          content {
            status = "Enabled"

            dynamic "event_threshold" {
              for_each = rule.value.replication_time_control ? [1] : []

              content {
                minutes = 15
              }
            }
          }
        }
      }
    }
  }
}
