output "id" {
  description = "Name of the replicated bucket."
  value       = aws_s3_bucket_replication_configuration.this.id
}

output "rule_ids" {
  description = "IDs of the replication rules."
  value       = [for rule in var.rules : rule.id]
}
