variable "bucket" {
  description = "Name of the source bucket: its replication metrics are watched and its replication events notified."
  type        = string
}

variable "destination_bucket" {
  description = "Name of the destination bucket (the DestinationBucket dimension of the metrics)."
  type        = string
}

variable "create_topic" {
  description = "Create the SNS topic (and its key); false sends to topic_arn."
  type        = bool
}

variable "topic_name" {
  description = "Name of the topic to create (or of the existing one, for descriptions)."
  type        = string
}

variable "topic_arn" {
  description = "ARN of an existing topic in this account and Region (create_topic = false). Its policy must let cloudwatch.amazonaws.com and s3.amazonaws.com publish."
  type        = string
  default     = null

  validation {
    condition     = var.topic_arn == null ? true : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.topic_arn))
    error_message = "topic_arn must be an SNS topic ARN."
  }
}

variable "topic_policy" {
  description = "Policy of the created topic (JSON): who may publish."
  type        = string
  default     = null
}

variable "kms_key_alias" {
  description = "Alias of the key that encrypts the created topic."
  type        = string
  default     = null
}

variable "kms_key_policy" {
  description = "Policy of the key that encrypts the created topic (JSON). The publishing services need kms:GenerateDataKey* and kms:Decrypt."
  type        = string
  default     = null
}

variable "email_subscriptions" {
  description = "Email addresses subscribed to the created topic."
  type        = list(string)
  default     = []
}

variable "https_subscriptions" {
  description = "HTTPS endpoints subscribed to the created topic."
  type        = list(string)
  default     = []
}

variable "alarms" {
  description = <<-EOT
    CloudWatch alarms, each on one rule's replication metric (namespace AWS/S3,
    dimensions SourceBucket, DestinationBucket, RuleId), alarming above threshold for
    `periods` consecutive periods. With `expression` (metric math over m1, the metric),
    the expression is compared instead.
  EOT
  type = list(object({
    name        = string
    rule_id     = string
    metric      = string
    statistic   = string
    threshold   = number
    periods     = number
    expression  = optional(string)
    description = string
  }))
}

variable "period_seconds" {
  description = "Length of an alarm period in seconds."
  type        = number
  default     = 300
}

variable "events" {
  description = "S3 event types sent to the topic."
  type        = list(string)
}

variable "tags" {
  description = "Tags for the key, topic and alarms."
  type        = map(string)
  default     = {}
}
