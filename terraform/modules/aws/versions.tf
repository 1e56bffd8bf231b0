terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.0 brings `data.aws_region.current.region`, which replaces the
      # deprecated `name` and `id` attributes.
      version = ">= 6.0, < 7.0"
    }
  }
}
