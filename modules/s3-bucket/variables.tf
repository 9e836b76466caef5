variable "bucket" {
  description = "Name of the bucket. An existing bucket is imported (see the root module's imports.tf), never recreated."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "Bucket names have 3-63 lowercase letters, digits, dots and hyphens, and begin and end with a letter or digit."
  }
}

variable "expected_bucket_owner" {
  description = "Account ID that must own the bucket. Requests fail with 403 if another account owns it, so a typo never writes to someone else's bucket."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.expected_bucket_owner))
    error_message = "expected_bucket_owner must be a 12-digit account ID."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key used for default encryption (a key ARN, not an alias)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "bucket_key_enabled" {
  description = "Use S3 Bucket Keys, which cut KMS requests (and cost) by orders of magnitude."
  type        = bool
  default     = true
}

variable "versioning_status" {
  description = "Versioning state. Replication needs Enabled on both buckets."
  type        = string
  default     = "Enabled"

  validation {
    condition     = contains(["Enabled", "Suspended"], var.versioning_status)
    error_message = "versioning_status must be Enabled or Suspended."
  }
}

variable "object_ownership" {
  description = "Object ownership. BucketOwnerEnforced disables ACLs: the bucket owner owns every object."
  type        = string
  default     = "BucketOwnerEnforced"

  validation {
    condition     = contains(["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"], var.object_ownership)
    error_message = "object_ownership must be BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter."
  }
}

variable "block_public_access" {
  description = "Turn on all four S3 Block Public Access settings."
  type        = bool
  default     = true
}

variable "policy" {
  description = "Bucket policy document (JSON). It replaces any policy the bucket had, so it must carry the statements an existing bucket keeps."
  type        = string
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which incomplete multipart uploads are aborted, so failed uploads do not keep costing storage."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1
    error_message = "abort_incomplete_multipart_upload_days must be at least 1."
  }
}

variable "kept_lifecycle_rules" {
  description = "Lifecycle rules an existing bucket already had, kept next to the abort rule (the lifecycle configuration is replaced as a whole). Filter: prefix and/or tags."
  type = list(object({
    id                              = string
    enabled                         = optional(bool, true)
    prefix                          = optional(string, "")
    tags                            = optional(map(string), {})
    expiration_days                 = optional(number)
    transitions                     = optional(list(object({ days = number, storage_class = string })), [])
    noncurrent_expiration_days      = optional(number)
    noncurrent_transitions          = optional(list(object({ days = number, storage_class = string })), [])
    abort_incomplete_multipart_days = optional(number)
  }))
  default = []
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a bucket that still holds objects. Leave false for data buckets."
  type        = bool
  default     = false
}

variable "principal_arns" {
  description = "ARNs of the roles the bucket policy names, passed as references to the resources that create them. The policy itself names them literally (so a plan shows it in full); this input makes Terraform create those roles first, because AWS refuses a policy naming a principal that does not exist yet."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
