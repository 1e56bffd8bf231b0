# Ten tables, `<name>-<table>`, each keyed by `pk` (string). Items carry an
# expiry in `ttl` (epoch seconds) where the functions set one. `subjects`
# holds per-person keys that seal personal fields in decisions, audit
# records and dead letters; erasure deletes them.

resource "aws_dynamodb_table" "this" {
  for_each = toset(local.table_names)

  name                        = "${var.name}-${each.key}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = local.tags
}
