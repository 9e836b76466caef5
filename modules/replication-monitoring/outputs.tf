output "topic_arn" {
  description = "ARN of the topic alarms and replication events go to."
  value       = local.topic_arn
}

output "kms_key_arn" {
  description = "ARN of the key encrypting the created topic (null for an existing topic)."
  value       = var.create_topic ? aws_kms_key.this[0].arn : null
}

output "alarm_arns" {
  description = "ARNs of the alarms by name."
  value       = { for name, alarm in aws_cloudwatch_metric_alarm.this : name => alarm.arn }
}
