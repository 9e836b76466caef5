# Replication health for one replication configuration: a CloudWatch alarm per rule and
# metric, S3 replication event notifications, and the SNS topic both notify — created
# here (encrypted with its own customer-managed key) or an existing one.

locals {
  topic_arn = var.create_topic ? aws_sns_topic.this[0].arn : var.topic_arn
  alarms    = { for alarm in var.alarms : alarm.name => alarm }
}

resource "aws_kms_key" "this" {
  count = var.create_topic ? 1 : 0

  description             = "Encryption of SNS topic ${var.topic_name} (replication health)"
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = var.kms_key_policy
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.create_topic ? 1 : 0

  name          = var.kms_key_alias
  target_key_id = aws_kms_key.this[0].key_id
}

resource "aws_sns_topic" "this" {
  count = var.create_topic ? 1 : 0

  name              = var.topic_name
  kms_master_key_id = aws_kms_key.this[0].arn
  tags              = var.tags
}

resource "aws_sns_topic_policy" "this" {
  count = var.create_topic ? 1 : 0

  arn    = aws_sns_topic.this[0].arn
  policy = var.topic_policy
}

resource "aws_sns_topic_subscription" "email" {
  for_each = var.create_topic ? toset(var.email_subscriptions) : toset([])

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sns_topic_subscription" "https" {
  for_each = var.create_topic ? toset(var.https_subscriptions) : toset([])

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = "https"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.key
  alarm_description   = each.value.description
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  # No data means nothing to replicate, not a failure.
  treat_missing_data = "notBreaching"
  alarm_actions      = [local.topic_arn]
  ok_actions         = [local.topic_arn]
  tags               = var.tags

  # A plain metric alarm, or metric math over the metric (`expression` over `m1`).
  namespace   = each.value.expression == null ? "AWS/S3" : null
  metric_name = each.value.expression == null ? each.value.metric : null
  statistic   = each.value.expression == null ? each.value.statistic : null
  period      = each.value.expression == null ? var.period_seconds : null
  dimensions = each.value.expression == null ? {
    SourceBucket      = var.bucket
    DestinationBucket = var.destination_bucket
    RuleId            = each.value.rule_id
  } : null

  dynamic "metric_query" {
    for_each = each.value.expression == null ? [] : [each.value]

    content {
      id          = "e1"
      expression  = metric_query.value.expression
      label       = "${metric_query.value.metric} change"
      return_data = true
    }
  }

  dynamic "metric_query" {
    for_each = each.value.expression == null ? [] : [each.value]

    content {
      id = "m1"

      metric {
        namespace   = "AWS/S3"
        metric_name = metric_query.value.metric
        period      = var.period_seconds
        stat        = metric_query.value.statistic
        dimensions = {
          SourceBucket      = var.bucket
          DestinationBucket = var.destination_bucket
          RuleId            = metric_query.value.rule_id
        }
      }
    }
  }

  depends_on = [aws_sns_topic_policy.this]
}

# S3 keeps one notification configuration per bucket: this resource owns it.
resource "aws_s3_bucket_notification" "this" {
  bucket = var.bucket

  topic {
    id        = "s3bridge-replication-events"
    topic_arn = local.topic_arn
    events    = var.events
  }

  # S3 checks that it may publish when the configuration is written.
  depends_on = [aws_sns_topic_policy.this]
}
