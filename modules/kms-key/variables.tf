variable "alias" {
  description = "Alias of the key, e.g. alias/datalake-source."
  type        = string

  validation {
    condition     = can(regex("^alias/[a-zA-Z0-9/_-]+$", var.alias)) && !startswith(var.alias, "alias/aws/")
    error_message = "alias must look like alias/NAME (letters, digits, /, _ and -) and not start with alias/aws/."
  }
}

variable "description" {
  description = "Description of the key."
  type        = string
}

variable "policy" {
  description = "Key policy document (JSON). Keep the principal that applies this module among the administrators, or KMS refuses the policy (lockout safety check)."
  type        = string
}

variable "enable_key_rotation" {
  description = "Rotate the key material automatically."
  type        = bool
  default     = true
}

variable "rotation_period_in_days" {
  description = "Days between automatic rotations (90-2560). null keeps AWS's default, 365."
  type        = number
  default     = null

  validation {
    condition     = var.rotation_period_in_days == null ? true : var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560
    error_message = "rotation_period_in_days must be between 90 and 2560."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period (7-30 days) between scheduling the key's deletion and the deletion; data encrypted with a deleted key is lost."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "principal_arns" {
  description = "ARNs of the roles the key policy names, passed as references to the resources that create them. The policy itself names them literally (so a plan shows it in full); this input makes Terraform create those roles first, because AWS refuses a policy naming a principal that does not exist yet."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for the key."
  type        = map(string)
  default     = {}
}
