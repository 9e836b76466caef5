variable "name" {
  description = "Name of the role."
  type        = string

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.name))
    error_message = "Role names have 1-64 letters, digits and +=,.@_- characters."
  }
}

variable "description" {
  description = "Description of the role."
  type        = string
  default     = null
}

variable "path" {
  description = "IAM path of the role."
  type        = string
  default     = "/"
}

variable "assume_role_policy" {
  description = "Trust policy document (JSON): who may assume the role."
  type        = string
}

variable "inline_policies" {
  description = "Inline policy documents (JSON) by policy name. They are the role's only permissions: other inline policies and every managed-policy attachment are removed, so permissions cannot creep in outside Terraform."
  type        = map(string)
  default     = {}
}

variable "max_session_duration" {
  description = "Longest session, in seconds (3600-43200). Long copies benefit from longer sessions."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "permissions_boundary" {
  description = "ARN of a permissions boundary policy, if your organisation requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
