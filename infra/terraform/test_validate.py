"""Tests of validate.py: the real modules pass, and broken copies of
terraform/modules/aws (made on the fly in a temporary directory) fail with
the expected message at the expected line.

    .tailor/tools/terraform-validate-venv/bin/python -m unittest discover -s infra/terraform -p 'test_*.py'

check.sh runs them.
"""

import os
import shutil
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import validate  # noqa: E402

SCHEMAS = validate.Schemas(os.path.join(HERE, "schema"))


def findings(base, *roots):
    """The validator's findings for the modules under roots, as strings with
    paths relative to base."""
    v = validate.Validator(SCHEMAS, base)
    for root in roots:
        for directory in validate.module_dirs(root):
            v.check_module(v.load(directory))
    return sorted({str(x) for x in v.findings})


class Copy:
    """terraform/ copied to a temporary directory, to break."""

    def __init__(self, test):
        self.dir = tempfile.mkdtemp(prefix="tailor-tf-")
        test.addCleanup(shutil.rmtree, self.dir)
        shutil.copytree(os.path.join(REPO, "terraform"), os.path.join(self.dir, "terraform"))

    def path(self, rel):
        return os.path.join(self.dir, "terraform", rel)

    def edit(self, rel, old, new):
        """Replace the one occurrence of old; the line it starts on."""
        with open(self.path(rel), encoding="utf-8") as f:
            text = f.read()
        if text.count(old) != 1:
            raise AssertionError(f"{rel}: expected exactly one {old!r}, found {text.count(old)}")
        line = text[: text.index(old)].count("\n") + 1
        with open(self.path(rel), "w", encoding="utf-8") as f:
            f.write(text.replace(old, new))
        return line

    def replace_all(self, old, new, under="modules/aws"):
        for name in sorted(os.listdir(self.path(under))):
            if name.endswith(".tf"):
                p = os.path.join(self.path(under), name)
                with open(p, encoding="utf-8") as f:
                    text = f.read()
                with open(p, "w", encoding="utf-8") as f:
                    f.write(text.replace(old, new))

    def line_of(self, rel, text):
        with open(self.path(rel), encoding="utf-8") as f:
            content = f.read()
        if content.count(text) != 1:
            raise AssertionError(f"{rel}: expected exactly one {text!r}")
        return content[: content.index(text)].count("\n") + 1

    def write(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        with open(self.path(rel), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))

    def findings(self):
        return findings(self.dir, os.path.join(self.dir, "terraform"))


M = "terraform/modules/aws"


class RealModules(unittest.TestCase):
    def test_terraform_passes(self):
        self.assertEqual(findings(REPO, os.path.join(REPO, "terraform")), [])

    def test_every_directory_with_tf_files_is_checked(self):
        dirs = [os.path.relpath(d, REPO) for d in validate.module_dirs(os.path.join(REPO, "terraform"))]
        self.assertIn("terraform/modules/aws", dirs)
        self.assertIn("terraform/examples/aws", dirs)

    def test_schemas_are_the_pinned_provider_versions(self):
        versions = {name: (s["provider"], s["provider_version"]) for name, s in SCHEMAS.by_provider.items()}
        self.assertEqual(
            versions,
            {
                "aws": ("hashicorp/aws", "6.25.0"),
                "google": ("hashicorp/google", "6.50.0"),
                "kubernetes": ("hashicorp/kubernetes", "2.38.0"),
                "helm": ("hashicorp/helm", "3.1.1"),
                "http": ("hashicorp/http", "3.5.0"),
            },
        )


class BrokenAwsModule(unittest.TestCase):
    def setUp(self):
        self.tf = Copy(self)

    def assertFindings(self, *expected):
        self.assertEqual(self.tf.findings(), sorted(expected))

    def test_wrong_argument_name(self):
        line = self.tf.edit("modules/aws/lambda.tf", 'handler       = "bootstrap"', 'handlr        = "bootstrap"')
        self.assertFindings(
            f"{M}/lambda.tf:{line}: unknown argument `handlr` in aws_lambda_function.this (did you mean `handler`?)"
        )

    def test_missing_required_argument(self):
        block = self.tf.line_of("modules/aws/lambda.tf", 'resource "aws_lambda_event_source_mapping" "this"')
        self.tf.edit("modules/aws/lambda.tf", "  function_name     = aws_lambda_function.this[each.key].arn\n", "")
        self.assertFindings(
            f"{M}/lambda.tf:{block}: missing required argument `function_name` in aws_lambda_event_source_mapping.this"
        )

    def test_missing_required_argument_in_a_nested_block(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf", "      destination_arn = aws_sqs_queue.dead_letter[each.key].arn\n", ""
        )
        self.assertFindings(
            f"{M}/lambda.tf:{line - 1}: missing required argument `destination_arn` in "
            "aws_lambda_event_source_mapping.this.destination_config.on_failure"
        )

    def test_unknown_block(self):
        line = self.tf.edit("modules/aws/lambda.tf", "  tracing_config {", "  tracing {")
        self.assertFindings(
            f"{M}/lambda.tf:{line}: unknown block `tracing` in aws_lambda_function.this (did you mean `tracing_config`?)"
        )

    def test_unknown_block_in_a_nested_block(self):
        line = self.tf.edit("modules/aws/lambda.tf", "    on_failure {", "    on_error {")
        self.assertFindings(
            f"{M}/lambda.tf:{line}: unknown block `on_error` in aws_lambda_event_source_mapping.this.destination_config"
        )

    def test_unknown_resource_type(self):
        line = self.tf.line_of("modules/aws/sqs.tf", 'resource "aws_sqs_queue" "dead_letter"')
        self.tf.replace_all("aws_sqs_queue.", "aws_sqs_queues.")
        self.tf.replace_all('resource "aws_sqs_queue"', 'resource "aws_sqs_queues"')
        self.assertFindings(f"{M}/sqs.tf:{line}: unknown resource type aws_sqs_queues (not in hashicorp/aws 6.25.0)")

    def test_unknown_data_source(self):
        line = self.tf.edit("modules/aws/main.tf", 'data "aws_region" "current" {}', 'data "aws_regionz" "current" {}')
        self.tf.replace_all("data.aws_region.current", "data.aws_regionz.current")
        self.assertFindings(f"{M}/main.tf:{line}: unknown data source aws_regionz (not in hashicorp/aws 6.25.0)")

    def test_bad_reference_attribute(self):
        line = self.tf.edit(
            "modules/aws/outputs.tf",
            "aws_lambda_function_url.score.function_url",
            "aws_lambda_function_url.score.url",
        )
        self.assertFindings(
            f"{M}/outputs.tf:{line}: aws_lambda_function_url.score: aws_lambda_function_url has no attribute `url` "
            "(did you mean `function_url`?)"
        )

    def test_bad_reference_attribute_behind_an_index(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf",
            'function_name      = aws_lambda_function.this["score"].function_name',
            'function_name      = aws_lambda_function.this["score"].invoke_arnn',
        )
        self.assertFindings(
            f"{M}/lambda.tf:{line}: aws_lambda_function.this: aws_lambda_function has no attribute "
            "`invoke_arnn` (did you mean `invoke_arn`?)"
        )

    def test_bad_reference_attribute_in_a_nested_block_and_splat(self):
        line = self.tf.edit(
            "modules/aws/outputs.tf",
            "value       = aws_kms_key.this.arn",
            "value       = [aws_lambda_function.this[*].logging_config[0].log_groups]",
        )
        self.assertFindings(
            f"{M}/outputs.tf:{line}: aws_lambda_function.this.logging_config: "
            "aws_lambda_function.logging_config has no attribute `log_groups` (did you mean `log_group`?)"
        )

    def test_list_block_referenced_without_an_index(self):
        line = self.tf.edit(
            "modules/aws/outputs.tf",
            "value       = aws_kms_key.this.arn",
            'value       = aws_lambda_function.this["score"].logging_config.log_group',
        )
        self.assertFindings(
            f"{M}/outputs.tf:{line}: aws_lambda_function.this.logging_config is a list of objects: write "
            "aws_lambda_function.this.logging_config[0].log_group, not aws_lambda_function.this.logging_config.log_group"
        )

    def test_set_block_referenced_with_an_index(self):
        line = self.tf.edit(
            "modules/aws/outputs.tf",
            "value       = aws_kms_key.this.arn",
            'value       = aws_lambda_event_source_mapping.this["ingest"].source_access_configuration[0].uri',
        )
        self.assertFindings(
            f"{M}/outputs.tf:{line}: aws_lambda_event_source_mapping.this.source_access_configuration is a set: "
            "its elements have no index; use aws_lambda_event_source_mapping.this.source_access_configuration[*], "
            "one(...) or a for expression"
        )

    def test_computed_attributes_may_be_referenced(self):
        self.tf.edit(
            "modules/aws/outputs.tf",
            "value       = aws_kms_key.this.arn",
            'value       = [aws_lambda_function.this["score"].invoke_arn, aws_kms_key.this.key_id]',
        )
        self.assertFindings()

    def test_undeclared_variable(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf",
            "retention_in_days = var.log_retention_days",
            "retention_in_days = var.log_retention",
        )
        self.assertFindings(f"{M}/lambda.tf:{line}: reference to undeclared variable var.log_retention")

    def test_undeclared_local(self):
        line = self.tf.edit("modules/aws/lambda.tf", "for_each = local.triggers", "for_each = local.trigger")
        self.assertFindings(f"{M}/lambda.tf:{line}: reference to undeclared local value local.trigger")

    def test_undeclared_resource(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf", "kms_key_arn = aws_kms_key.this.arn", "kms_key_arn = aws_kms_key.main.arn"
        )
        self.assertFindings(f"{M}/lambda.tf:{line}: reference to undeclared resource aws_kms_key.main")

    def test_reference_in_a_template(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf",
            'name              = "/aws/lambda/${var.name}-${each.key}"',
            'name              = "/aws/lambda/${var.nme}-${each.key}"',
        )
        self.assertFindings(f"{M}/lambda.tf:{line}: reference to undeclared variable var.nme")

    def test_instance_key(self):
        line = self.tf.edit(
            "modules/aws/outputs.tf",
            'aws_kinesis_stream.this["events"].arn',
            "aws_kinesis_stream.this.arn",
        )
        self.assertFindings(
            f"{M}/outputs.tf:{line}: aws_kinesis_stream.this has `for_each`: index it "
            "(aws_kinesis_stream.this[...]) before `.arn`"
        )

    def test_read_only_attribute(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf",
            '  handler       = "bootstrap"\n',
            '  handler       = "bootstrap"\n  invoke_arn    = "x"\n',
        )
        self.assertFindings(
            f"{M}/lambda.tf:{line + 1}: `invoke_arn` in aws_lambda_function.this is read-only (computed); it cannot be set"
        )

    def test_argument_written_as_a_block(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf", "  tags = local.tags\n\n  # The role's", "  tags {\n  }\n\n  # The role's"
        )
        self.assertFindings(
            f"{M}/lambda.tf:{line}: `tags` in aws_lambda_function.this is an argument, not a block: write `tags = ...`"
        )

    def test_dynamic_block_content(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf",
            "  environment {\n    variables = merge(local.common_environment, local.function_environment[each.key])\n  }",
            '  dynamic "environment" {\n    for_each = [1]\n    content {\n'
            "      variable = merge(local.common_environment, local.function_environment[each.key])\n"
            "      other    = environment.value\n    }\n  }",
        )
        self.assertFindings(
            f"{M}/lambda.tf:{line + 3}: unknown argument `variable` in aws_lambda_function.this.environment "
            "(did you mean `variables`?)",
            f"{M}/lambda.tf:{line + 4}: unknown argument `other` in aws_lambda_function.this.environment",
        )

    def test_dynamic_block_iterator(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf",
            "  environment {\n    variables = merge(local.common_environment, local.function_environment[each.key])\n  }",
            '  dynamic "environment" {\n    for_each = [local.common_environment]\n    iterator = env\n    content {\n'
            "      variables = env.values\n    }\n  }",
        )
        self.assertFindings(
            f"{M}/lambda.tf:{line + 4}: env.values does not exist (the iterator has env.key and env.value)"
        )

    def test_dynamic_block_of_an_unknown_type(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf",
            '  tracing_config {\n    mode = "Active"\n  }',
            '  dynamic "tracing" {\n    for_each = [1]\n    content {\n      mode = "Active"\n    }\n  }',
        )
        self.assertFindings(
            f"{M}/lambda.tf:{line}: unknown block `tracing` in aws_lambda_function.this (dynamic) "
            "(did you mean `tracing_config`?)"
        )

    def test_each_without_for_each(self):
        line = self.tf.edit(
            "modules/aws/lambda.tf",
            'layer_name               = "${var.name}-onnxruntime"',
            'layer_name               = "${var.name}-${each.key}"',
        )
        self.assertFindings(f"{M}/lambda.tf:{line}: `each` is used where `for_each` is not set")

    def test_module_output_not_declared(self):
        line = self.tf.edit("examples/aws/outputs.tf", "module.eu.score_url", "module.eu.score_urls")
        self.assertFindings(
            f"terraform/examples/aws/outputs.tf:{line}: module eu (terraform/modules/aws) has no output `score_urls`"
        )

    def test_module_inputs(self):
        block = self.tf.line_of("examples/aws/main.tf", 'module "us"')
        line = self.tf.edit(
            "examples/aws/main.tf",
            '  destinations        = ["us-east"]\n  token_key           = var.token_key\n',
            '  destinations        = ["us-east"]\n  token_keys          = var.token_key\n',
        )
        self.assertFindings(
            f"terraform/examples/aws/main.tf:{block}: module us (terraform/modules/aws) requires variable "
            "`token_key`, which is not set",
            f"terraform/examples/aws/main.tf:{line + 1}: module us (terraform/modules/aws) has no variable `token_keys`",
        )

    def test_module_requires_destinations(self):
        block = self.tf.line_of("examples/aws/main.tf", 'module "eu"')
        self.tf.edit("examples/aws/main.tf", '  destinations        = ["eu-central"]\n', "")
        self.assertFindings(
            f"terraform/examples/aws/main.tf:{block}: module eu (terraform/modules/aws) requires variable "
            "`destinations`, which is not set"
        )

    def test_provider_block(self):
        line = self.tf.edit(
            "examples/aws/main.tf",
            '  alias  = "us"\n  region = var.us_region\n\n  default_tags {',
            '  alias  = "us"\n  region = var.us_region\n\n  default_tag {',
        )
        self.assertFindings(
            f"terraform/examples/aws/main.tf:{line + 3}: unknown block `default_tag` in provider aws "
            "(did you mean `default_tags`?)"
        )

    def test_module_providers_name_a_configured_alias(self):
        line = self.tf.edit("examples/aws/main.tf", "    aws = aws.us\n", "    aws = aws.ue\n")
        self.assertFindings(
            f"terraform/examples/aws/main.tf:{line}: module us: providers.aws names aws.ue, but no provider "
            '"aws" block of this module has alias = "ue" (it configures aws.eu, aws.us)'
        )

    def test_module_providers_pass_what_the_module_takes(self):
        line = self.tf.edit("examples/aws/main.tf", "    aws = aws.eu\n", "    aws.west = aws.eu\n")
        self.assertFindings(
            f"terraform/examples/aws/main.tf:{line}: module eu: providers passes aws.west, but terraform/modules/aws "
            "does not take it (no `configuration_aliases = [aws.west]` in its required_providers)"
        )
        self.tf.edit(
            "modules/aws/versions.tf",
            'version = ">= 6.0, < 7.0"',
            'version = ">= 6.0, < 7.0"\n      configuration_aliases = [aws.west]',
        )
        self.assertFindings()

    def test_module_providers_of_another_provider(self):
        self.tf.edit(
            "examples/aws/main.tf",
            "    aws = aws.eu\n",
            "    aws    = aws.eu\n    google = google\n",
        )
        line = self.tf.line_of("examples/aws/main.tf", "    google = google\n")
        self.assertFindings(
            f"terraform/examples/aws/main.tf:{line}: module eu: providers passes google, but terraform/modules/aws "
            "does not use that provider",
            f"terraform/examples/aws/main.tf:{line}: module eu: providers.google names provider google, which this "
            "module neither configures nor requires",
        )

    def test_resource_provider_names_a_configured_alias(self):
        line = self.tf.edit(
            "modules/aws/kms.tf", 'resource "aws_kms_key" "this" {\n', 'resource "aws_kms_key" "this" {\n  provider = aws.eu\n'
        )
        self.assertFindings(
            f"{M}/kms.tf:{line + 1}: aws_kms_key.this: provider names aws.eu, but no provider "
            '"aws" block of this module has alias = "eu"'
        )

    def test_constraint_must_admit_the_schema_version(self):
        line = self.tf.edit("modules/aws/versions.tf", "aws = {", "aws = {")
        self.tf.edit("modules/aws/versions.tf", 'version = ">= 6.0, < 7.0"', 'version = "~> 5.0"')
        self.assertFindings(
            f"{M}/versions.tf:{line}: provider `aws` constraint `~> 5.0` does not admit 6.25.0, "
            "the version its schema is checked against"
        )

    def test_provider_must_be_required(self):
        os.remove(self.tf.path("modules/aws/versions.tf"))
        line = self.tf.line_of("modules/aws/alarms.tf", 'resource "aws_cloudwatch_metric_alarm" "iterator_age"')
        self.assertFindings(
            f"{M}/alarms.tf:{line}: the module uses provider `aws` but its required_providers does not declare it; "
            "declare hashicorp/aws with a version constraint that admits 6.25.0"
        )

    def test_missing_required_block(self):
        self.tf.write(
            "modules/aws/extra.tf",
            """\
            resource "aws_lb_listener" "x" {
              load_balancer_arn = "arn"
            }
            """,
        )
        self.assertFindings(f"{M}/extra.tf:1: missing required block `default_action` in aws_lb_listener.x")


class OtherProviders(unittest.TestCase):
    """Modules on other providers are checked like the AWS one."""

    def setUp(self):
        self.tf = Copy(self)

    def test_google_kubernetes_and_helm(self):
        self.tf.write(
            "modules/probe/main.tf",
            """\
            terraform {
              required_providers {
                google     = { source = "hashicorp/google", version = ">= 6.0" }
                kubernetes = { source = "hashicorp/kubernetes", version = ">= 2.30" }
                helm       = { source = "hashicorp/helm", version = "~> 3.1" }
              }
            }

            resource "google_pubsub_topic" "events" {
              name   = "events"
              labelz = {}
            }

            resource "kubernetes_namespace_v1" "this" {
              metadata {
                name = "tailor"
              }
            }

            resource "kubernetes_deployment_v1" "this" {
              metadata {
                namespace = kubernetes_namespace_v1.this.metadata[0].name
              }
              spec {
                template {
                  metadata {}
                  spec {
                    container {
                      name  = "tailor"
                      imag  = "x"
                    }
                  }
                }
              }
            }

            resource "helm_release" "this" {
              name  = "tailor"
              chart = "tailor"
              set = [
                { name = "a", valu = "b" },
              ]
            }

            output "topic" {
              value = google_pubsub_topic.events.ids
            }

            output "revision" {
              value = [helm_release.this.metadata.revision, helm_release.this.metadata[0].revision]
            }
            """,
        )
        m = "terraform/modules/probe/main.tf"
        self.assertEqual(
            self.tf.findings(),
            sorted(
                [
                    f"{m}:30: unknown argument `imag` in kubernetes_deployment_v1.this.spec.template.spec.container "
                    "(did you mean `image`?)",
                    f"{m}:11: unknown argument `labelz` in google_pubsub_topic.events (did you mean `labels`?)",
                    f"{m}:41: unknown argument `valu` in helm_release.this.set (did you mean `value`?)",
                    f"{m}:46: google_pubsub_topic.events: google_pubsub_topic has no attribute `ids` "
                    "(did you mean `id`?)",
                    f"{m}:50: helm_release.this.metadata is a single object: write helm_release.this.metadata.ATTRIBUTE, "
                    "not helm_release.this.metadata[0]",
                ]
            ),
        )

    def test_missing_required_block_in_kubernetes(self):
        self.tf.write(
            "modules/probe/main.tf",
            """\
            terraform {
              required_providers {
                kubernetes = { source = "hashicorp/kubernetes", version = ">= 2.30" }
              }
            }

            resource "kubernetes_deployment_v1" "this" {
              metadata {}
              spec {}
            }
            """,
        )
        self.assertEqual(
            self.tf.findings(),
            [
                "terraform/modules/probe/main.tf:9: missing required block `template` in kubernetes_deployment_v1.this.spec",
            ],
        )


if __name__ == "__main__":
    unittest.main()
