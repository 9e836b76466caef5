output "id" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "region" {
  description = "Region of the bucket."
  value       = aws_s3_bucket.this.region
}

output "versioning_status" {
  description = "Versioning state; replication configurations depend on it."
  value       = aws_s3_bucket_versioning.this.versioning_configuration[0].status
}
