variable "bucket" {
  description = "Name of the bucket whose objects are replicated. Versioning must be enabled on it and on every destination bucket first."
  type        = string
}

variable "role_arn" {
  description = "ARN of the role S3 assumes to replicate (trusted by s3.amazonaws.com)."
  type        = string
}

variable "rules" {
  description = <<-EOT
    Replication rules (V2 schema). For each rule:
    - id, priority: unique in the configuration; higher priority wins where rules overlap.
    - prefix, tags: the filter. No tags: prefix only. One tag without prefix: that tag.
      Otherwise prefix and tags together (S3's And filter).
    - delete_markers: replicate delete markers (not allowed with tag filters).
    - destination_bucket_arn, destination_account: the destination; with an account,
      replicas are owned by the destination account (owner override).
    - storage_class: class of the replicas, or null for the source object's class.
    - replica_kms_key_arn: key ARN (not alias) that encrypts the replicas.
    - replication_time_control: S3 RTC (15 minutes) with replication metrics.
    - metrics: replication metrics without RTC (for monitoring).
    - replica_modifications: sync metadata changes made on replicas (two-way replication).
    - existing_object_replication: only for accounts where AWS has enabled it.
  EOT
  type = list(object({
    id                          = string
    priority                    = number
    prefix                      = optional(string, "")
    tags                        = optional(map(string), {})
    delete_markers              = optional(bool, false)
    destination_bucket_arn      = string
    destination_account         = optional(string)
    storage_class               = optional(string)
    replica_kms_key_arn         = string
    replication_time_control    = optional(bool, false)
    metrics                     = optional(bool, false)
    replica_modifications       = optional(bool, false)
    existing_object_replication = optional(bool, false)
  }))

  validation {
    condition     = length(var.rules) > 0
    error_message = "At least one replication rule is needed."
  }

  validation {
    condition     = length(distinct([for rule in var.rules : rule.priority])) == length(var.rules)
    error_message = "Rule priorities must be unique."
  }

  validation {
    condition     = alltrue([for rule in var.rules : !(rule.delete_markers && length(rule.tags) > 0)])
    error_message = "S3 cannot replicate delete markers for rules with a tag filter."
  }
}
