output "arn" {
  description = "ARN of the role."
  value       = aws_iam_role.this.arn
}

output "name" {
  description = "Name of the role."
  value       = aws_iam_role.this.name
}

output "unique_id" {
  description = "Stable unique ID of the role (changes if the role is recreated)."
  value       = aws_iam_role.this.unique_id
}
