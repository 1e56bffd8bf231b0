#!/usr/bin/env python3
"""Check Terraform modules against the providers' schemas, offline.

    validate.py [--schema-dir DIR] ROOT...

Every directory under each ROOT that holds `.tf` files is a module. Each is
parsed with python-hcl2 and checked against the schemas in
`infra/terraform/schema/` (extracted from the pinned CDKTF provider packages
by `extract_schema.py`; see `schema.sh`). It reports, as `file:line: message`:

- resource, data source and provider types the schema does not have
  (the provider is the type's prefix: `aws_`, `google_`, `kubernetes_`,
  `helm_`);
- unknown arguments and blocks at every nesting level, `dynamic` blocks'
  `content` included; arguments written as blocks; read-only (computed)
  attributes that are set; more than one block of a kind that takes one;
- missing required arguments and blocks;
- references: to undeclared variables, locals, modules, resources and data
  sources; to attributes a resource or data source type does not have, at
  every nesting level, through `[...]`, `["key"]` and splats; to outputs a
  local module does not declare; `each` and `count` where they are not set;
  a `count`/`for_each` resource used without an instance key and a single
  one with one; a nested list or set of blocks used without an index or
  splat (`environment.variables` for `environment[0].variables`), a set
  with an index, a single object with a number index;
- module calls: inputs the module does not declare, required inputs left
  out;
- provider configurations: a module call's `providers` values and a
  resource's `provider` must name one this module has (`aws`, or `aws.eu`
  with a `provider "aws"` block of `alias = "eu"` or `configuration_aliases`
  naming it), and each `providers` key one the called module takes;
- providers used but not in `required_providers`, and `required_providers`
  constraints that do not admit the provider version the schema was
  extracted from.

What it cannot see: values (types, allowed values, formats), which the
providers check in their own validation functions at `terraform validate`
and `plan` time, and whatever the cloud APIs reject at `apply`.
"""

import argparse
import gzip
import json
import os
import re
import sys

from lark import Token, Tree
from lark.exceptions import LarkError

from hcl2.parser import parser as hcl2_parser

HERE = os.path.dirname(os.path.abspath(__file__))

# --- fixed schemas for Terraform's own blocks, in the extracted format -------
# "*" in a block: any content (not checked).

ANY = {"*": True}
CONDITION = {"a": {"condition": "r", "error_message": "r"}, "n": "list", "m": "o"}
CONNECTION = dict(ANY, n="object", m="o", labels=0)
PROVISIONER = {"*": True, "n": "list", "m": "o", "labels": 1}

RESOURCE_META_ATTRS = {"count", "for_each", "depends_on", "provider"}
RESOURCE_META_BLOCKS = {
    "lifecycle": {
        "a": {
            "create_before_destroy": "o",
            "prevent_destroy": "o",
            "ignore_changes": "o",
            "replace_triggered_by": "o",
        },
        "b": {"precondition": CONDITION, "postcondition": CONDITION},
        "n": "object",
        "m": "o",
    },
    "provisioner": PROVISIONER,
    "connection": CONNECTION,
}
DATA_META_BLOCKS = {
    "lifecycle": {"b": {"precondition": CONDITION, "postcondition": CONDITION}, "n": "object", "m": "o"},
}

VARIABLE = {
    "a": {"type": "o", "default": "o", "description": "o", "sensitive": "o", "nullable": "o", "ephemeral": "o"},
    "b": {"validation": CONDITION},
}
OUTPUT = {
    "a": {"value": "r", "description": "o", "sensitive": "o", "depends_on": "o", "ephemeral": "o"},
    "b": {"precondition": CONDITION},
}
TERRAFORM = {
    "a": {"required_version": "o", "experiments": "o"},
    "b": {
        "required_providers": dict(ANY, n="object", m="o"),
        "backend": dict(ANY, n="object", m="o", labels=1),
        "cloud": dict(ANY, n="object", m="o"),
        "provider_meta": dict(ANY, n="list", m="o", labels=1),
    },
}
MOVED = {"a": {"from": "r", "to": "r"}}
IMPORT = {"a": {"to": "r", "id": "o", "identity": "o", "for_each": "o", "provider": "o"}}
REMOVED = {
    "a": {"from": "r"},
    "b": {
        "lifecycle": {"a": {"destroy": "r"}, "n": "object", "m": "o"},
        "provisioner": PROVISIONER,
        "connection": CONNECTION,
    },
}
CHECK_ASSERT = {"a": {"condition": "r", "error_message": "r"}, "n": "list", "m": "r"}
MODULE_META = {"source", "version", "count", "for_each", "providers", "depends_on"}
DYNAMIC_ATTRS = {"for_each": "r", "iterator": "o", "labels": "o"}

# Terraform's built-in provider (terraform.io/builtin/terraform).
BUILTIN_RESOURCES = {
    "terraform_data": {"a": {"id": "c", "input": "o", "output": "c", "triggers_replace": "o"}},
}
BUILTIN_DATA_SOURCES = {
    "terraform_remote_state": {
        "a": {"backend": "r", "config": "o", "defaults": "o", "outputs": "c", "workspace": "o"},
    },
}

TOP_LEVEL_LABELS = {
    "resource": 2,
    "data": 2,
    "module": 1,
    "provider": 1,
    "variable": 1,
    "output": 1,
    "locals": 0,
    "terraform": 0,
    "moved": 0,
    "import": 0,
    "check": 1,
    "removed": 0,
}

LITERALS = {"true", "false", "null"}
AT_MOST_ONE = {"object", "single", "list1", "set1"}
TRAVERSALS = {"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"}


class Finding:
    def __init__(self, path, line, message):
        self.path, self.line, self.message = path, line, message

    def __str__(self):
        return f"{self.path}:{self.line}: {self.message}"


# --- the parse tree ----------------------------------------------------------


def line_of(node, default=0):
    if isinstance(node, Token):
        return node.line or default
    meta = getattr(node, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return meta.line
    for child in node.children:
        found = line_of(child, 0)
        if found:
            return found
    return default


def ident(node):
    """The name of an `identifier` tree."""
    return str(node.children[0])


def string_value(node):
    """The text of a string literal without interpolation, else None."""
    if not isinstance(node, Tree) or node.data != "string":
        return None
    parts = []
    for part in node.children:
        for child in part.children:
            if isinstance(child, Tree):
                return None
            parts.append(str(child))
    return "".join(parts)


def unwrap(expr):
    """An expression's inner tree: expr_term wrappers removed."""
    while isinstance(expr, Tree) and expr.data == "expr_term" and len(expr.children) == 1:
        if isinstance(expr.children[0], Token):
            return expr
        expr = expr.children[0]
    return expr


def literal_string(expr):
    return string_value(unwrap(expr))


class Attr:
    def __init__(self, tree):
        self.tree = tree
        self.name = ident(tree.children[0])
        self.expr = tree.children[-1]
        self.line = line_of(tree)


class Block:
    def __init__(self, tree):
        self.tree = tree
        self.type = ident(tree.children[0])
        self.labels = []
        self.body = None
        for child in tree.children[1:]:
            if not isinstance(child, Tree):
                continue
            if child.data == "identifier":
                self.labels.append(ident(child))
            elif child.data == "string":
                self.labels.append(string_value(child) or "")
            elif child.data == "body":
                self.body = child
        self.line = line_of(tree)
        self.attrs = []
        self.blocks = []
        for item in self.body.children if self.body is not None else []:
            if isinstance(item, Tree) and item.data == "attribute":
                self.attrs.append(Attr(item))
            elif isinstance(item, Tree) and item.data == "block":
                self.blocks.append(Block(item))

    def attr(self, name):
        for a in self.attrs:
            if a.name == name:
                return a
        return None


class File:
    def __init__(self, path, display):
        self.path = display
        with open(path, encoding="utf-8") as f:
            text = f.read()
        tree = hcl2_parser().parse(text + "\n")
        self.blocks = []
        self.attrs = []
        for item in tree.children[0].children:
            if isinstance(item, Tree) and item.data == "block":
                self.blocks.append(Block(item))
            elif isinstance(item, Tree) and item.data == "attribute":
                self.attrs.append(Attr(item))


# --- schemas -------------------------------------------------------------------


class Schemas:
    def __init__(self, directory):
        self.by_provider = {}
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json.gz"))
        if not names:
            raise SystemExit(f"validate.py: no schemas (*.json.gz) in {directory}")
        for name in names:
            with gzip.open(os.path.join(directory, name), "rt", encoding="utf-8") as f:
                schema = json.load(f)
            self.by_provider[schema["provider_name"]] = schema

    def provider_of(self, type_name):
        return type_name.split("_", 1)[0]

    def lookup(self, kind, type_name):
        """(schema block, provider schema or None, error or None)."""
        builtin = BUILTIN_RESOURCES if kind == "resource" else BUILTIN_DATA_SOURCES
        if type_name in builtin:
            return builtin[type_name], None, None
        provider = self.provider_of(type_name)
        schema = self.by_provider.get(provider)
        if schema is None:
            known = ", ".join(sorted(self.by_provider))
            return (
                None,
                None,
                (
                    f"no schema for provider `{provider}` of {type_name} (schemas: {known}); "
                    "add its CDKTF provider package to infra/terraform/schema.sh"
                ),
            )
        table = schema["resources"] if kind == "resource" else schema["data_sources"]
        block = table.get(type_name)
        if block is None:
            what = "resource type" if kind == "resource" else "data source"
            return None, schema, f"unknown {what} {type_name} (not in {describe(schema)})"
        return block, schema, None


def describe(schema):
    return f"{schema['provider']} {schema['provider_version']}"


# --- version constraints -----------------------------------------------------


def parse_version(text):
    parts = text.strip().lstrip("v").split("-")[0].split(".")
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        return None


def pad(v, n=3):
    return v + (0,) * (n - len(v))


def admits(constraint, version):
    """Whether a Terraform version constraint admits a version; None if the
    constraint cannot be read."""
    target = pad(parse_version(version))
    for part in constraint.split(","):
        part = part.strip()
        m = re.fullmatch(r"(~>|>=|<=|!=|=|>|<)?\s*(\S+)", part)
        if m is None:
            return None
        op, raw = m.group(1) or "=", m.group(2)
        v = parse_version(raw)
        if v is None:
            return None
        pv = pad(v)
        if op == "=" and target != pv:
            return False
        if op == "!=" and target == pv:
            return False
        if op == ">" and not target > pv:
            return False
        if op == ">=" and not target >= pv:
            return False
        if op == "<" and not target < pv:
            return False
        if op == "<=" and not target <= pv:
            return False
        if op == "~>":
            if target < pv:
                return False
            head = list(v[:-1]) if len(v) > 1 else list(v)
            head[-1] += 1
            if target >= pad(tuple(head)):
                return False
    return True


# --- modules -------------------------------------------------------------------


class Module:
    def __init__(self, directory, display):
        self.directory = directory
        self.display = display
        self.files = []
        self.findings = []
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".tf"):
                continue
            path = os.path.join(directory, name)
            shown = os.path.join(display, name)
            try:
                self.files.append(File(path, shown))
            except LarkError as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                line = getattr(e, "line", 0) or 0
                self.findings.append(Finding(shown, line, f"does not parse as HCL: {first}"))
        self.variables, self.locals, self.outputs = {}, {}, {}
        self.resources, self.data, self.modules, self.providers = {}, {}, {}, {}
        for f in self.files:
            for b in f.blocks:
                key = tuple(b.labels)
                if b.type == "variable" and b.labels:
                    self.variables[b.labels[0]] = b
                elif b.type == "output" and b.labels:
                    self.outputs[b.labels[0]] = b
                elif b.type == "locals":
                    for a in b.attrs:
                        self.locals[a.name] = a
                elif b.type == "resource" and len(key) == 2:
                    self.resources[key] = b
                elif b.type == "data" and len(key) == 2:
                    self.data[key] = b
                elif b.type == "module" and b.labels:
                    self.modules[b.labels[0]] = b
                elif b.type == "provider" and b.labels:
                    self.providers.setdefault(b.labels[0], []).append(b)
                elif b.type == "check":
                    # Scoped data sources: referenced only inside their check.
                    for child in b.blocks:
                        if child.type == "data" and len(child.labels) == 2:
                            self.data[tuple(child.labels)] = child
        # Provider configurations: (name, alias or None) of each provider
        # block, and each required provider with the aliases its
        # `configuration_aliases` names (configurations a caller passes in).
        self.configured = set()
        for name, blocks in self.providers.items():
            for b in blocks:
                alias = b.attr("alias")
                self.configured.add((name, literal_string(alias.expr) if alias is not None else None))
        self.required = {}
        for f in self.files:
            for b in f.blocks:
                if b.type != "terraform":
                    continue
                for rp in b.blocks:
                    if rp.type != "required_providers":
                        continue
                    for a in rp.attrs:
                        aliases = self.required.setdefault(a.name, set())
                        obj = unwrap(a.expr)
                        if not (isinstance(obj, Tree) and obj.data == "object"):
                            continue
                        for elem in obj.children:
                            if not (isinstance(elem, Tree) and elem.data == "object_elem"):
                                continue
                            if object_key(elem) != "configuration_aliases":
                                continue
                            items = unwrap(elem.children[-1])
                            for item in items.children if isinstance(items, Tree) else []:
                                ref = provider_ref(item) if isinstance(item, Tree) else None
                                if ref is not None and ref[0] == a.name and ref[1] is not None:
                                    aliases.add(ref[1])

    def has_configuration(self, name, alias):
        """Whether `name` or `name.alias` is a provider configuration here:
        a provider block, an alias a caller passes in, or (without alias)
        the default configuration of a provider the module uses."""
        if (name, alias) in self.configured:
            return True
        if alias is None:
            return (
                name in self.required
                or any(n == name for n, _ in self.configured)
                or any(t.split("_", 1)[0] == name for t, _ in list(self.resources) + list(self.data))
            )
        return alias in self.required.get(name, set())


class Scope:
    """Names an expression may use beyond the module's own."""

    def __init__(self, names=(), each=False, count=False, self_ok=False, iterators=()):
        self.names = set(names)
        self.each, self.count, self.self_ok = each, count, self_ok
        self.iterators = set(iterators)

    def bind(self, *names):
        """For-expression names: they hide iterators of the same name."""
        return Scope(self.names | set(names), self.each, self.count, self.self_ok, self.iterators - set(names))

    def bind_iterator(self, name):
        """A dynamic block's iterator: `name.key` and `name.value`."""
        return Scope(self.names - {name}, self.each, self.count, self.self_ok, self.iterators | {name})


class Validator:
    def __init__(self, schemas, root_display_base):
        self.schemas = schemas
        self.base = root_display_base
        self.loaded = {}
        self.findings = []
        self.summary = []
        self.references = 0

    def load(self, directory):
        directory = os.path.normpath(directory)
        if directory not in self.loaded:
            display = os.path.relpath(directory, self.base)
            self.loaded[directory] = Module(directory, display)
        return self.loaded[directory]

    def report(self, file, line, message):
        self.findings.append(Finding(file.path, line, message))

    # -- a module -----------------------------------------------------------

    def check_module(self, module):
        self.findings.extend(module.findings)
        references = self.references
        for f in module.files:
            for a in f.attrs:
                self.report(f, a.line, f"argument `{a.name}` outside any block")
            for b in f.blocks:
                self.check_top(module, f, b)
        self.check_duplicates(module)
        self.check_providers_declared(module)
        used = sorted({self.schemas.provider_of(t) for (t, _) in list(module.resources) + list(module.data)})
        against = [describe(self.schemas.by_provider[p]) for p in used if p in self.schemas.by_provider]
        self.summary.append(
            f"{module.display}: {len(module.resources)} resources, {len(module.data)} data sources, "
            f"{len(module.modules)} module calls, {self.references - references} references"
            + (f"; checked against {', '.join(against)}" if against else "")
        )

    def check_providers_declared(self, module):
        """Every provider with a schema that the module uses must be in its
        required_providers, so that its version constraint is checked."""
        declared = set()
        for f in module.files:
            for b in f.blocks:
                if b.type == "terraform":
                    for rp in b.blocks:
                        if rp.type == "required_providers":
                            declared.update(a.name for a in rp.attrs)
        first_use = {}
        for f in module.files:
            for b in f.blocks:
                if b.type in ("resource", "data") and len(b.labels) == 2:
                    builtin = BUILTIN_RESOURCES if b.type == "resource" else BUILTIN_DATA_SOURCES
                    if b.labels[0] in builtin:
                        continue
                    name = self.schemas.provider_of(b.labels[0])
                elif b.type == "provider" and b.labels:
                    name = b.labels[0]
                else:
                    continue
                if name in self.schemas.by_provider and name not in first_use:
                    first_use[name] = (f, b.line)
        for name, (f, line) in sorted(first_use.items()):
            if name not in declared:
                schema = self.schemas.by_provider[name]
                self.report(
                    f,
                    line,
                    f"the module uses provider `{name}` but its required_providers does not declare it; "
                    f"declare {schema['provider']} with a version constraint that admits {schema['provider_version']}",
                )

    def check_duplicates(self, module):
        seen = {}
        for f in module.files:
            for b in f.blocks:
                if b.type in ("variable", "output", "module", "resource", "data"):
                    key = (b.type, tuple(b.labels))
                    if key in seen:
                        self.report(f, b.line, f"{b.type} {'.'.join(b.labels)} is declared twice (also {seen[key]})")
                    else:
                        seen[key] = f"{f.path}:{b.line}"
                elif b.type == "locals":
                    for a in b.attrs:
                        key = ("local", a.name)
                        if key in seen:
                            self.report(f, a.line, f"local.{a.name} is declared twice (also {seen[key]})")
                        else:
                            seen[key] = f"{f.path}:{a.line}"

    def check_top(self, module, f, b):
        want = TOP_LEVEL_LABELS.get(b.type)
        if want is None:
            self.report(f, b.line, f"unknown top-level block `{b.type}`")
            return
        if len(b.labels) != want:
            self.report(f, b.line, f"a `{b.type}` block takes {want} label(s), not {len(b.labels)}")
            return
        if b.type in ("resource", "data"):
            self.check_resource(module, f, b)
        elif b.type == "variable":
            self.check_body(module, f, b, VARIABLE, f"variable {b.labels[0]}", Scope(), skip_refs={"type", "default"})
        elif b.type == "output":
            self.check_body(module, f, b, OUTPUT, f"output {b.labels[0]}", Scope())
        elif b.type == "locals":
            for a in b.attrs:
                self.walk(module, f, a.expr, Scope())
        elif b.type == "terraform":
            self.check_body(
                module, f, b, TERRAFORM, "terraform", Scope(), skip_refs={"required_version", "experiments"}
            )
            self.check_required_providers(module, f, b)
        elif b.type == "provider":
            self.check_provider(module, f, b)
        elif b.type == "module":
            self.check_module_call(module, f, b)
        elif b.type == "moved":
            self.check_body(module, f, b, MOVED, "moved", Scope(), skip_refs={"from", "to"})
            self.check_address(module, f, b.attr("to"))
        elif b.type == "import":
            self.check_body(module, f, b, IMPORT, "import", Scope(), skip_refs={"to", "provider"})
            self.check_address(module, f, b.attr("to"))
        elif b.type == "removed":
            self.check_body(module, f, b, REMOVED, "removed", Scope(self_ok=True), skip_refs={"from"})
        elif b.type == "check":
            self.check_check(module, f, b)

    def check_address(self, module, f, attr):
        """`to` of moved/import: a resource of this module."""
        if attr is None:
            return
        root, steps, _ = chain(attr.expr)
        if root is None or not steps or steps[0][0] != "attr":
            return
        if root in ("module", "data"):
            return
        if (root, steps[0][1]) not in module.resources:
            self.report(f, attr.line, f"`to` names {root}.{steps[0][1]}, which this module does not declare")

    def check_check(self, module, f, b):
        for a in b.attrs:
            self.report(f, a.line, f"unknown argument `{a.name}` in check {b.labels[0]}")
        asserts = 0
        for child in b.blocks:
            if child.type == "assert":
                asserts += 1
                self.check_body(module, f, child, CHECK_ASSERT, f"check {b.labels[0]} assert", Scope())
            elif child.type == "data" and len(child.labels) == 2:
                self.check_resource(module, f, child, scoped=True)
            else:
                self.report(f, child.line, f"unknown block `{child.type}` in check {b.labels[0]}")
        if asserts == 0:
            self.report(f, b.line, f"check {b.labels[0]} has no `assert` block")

    def check_required_providers(self, module, f, b):
        for rp in b.blocks:
            if rp.type != "required_providers":
                continue
            for a in rp.attrs:
                schema = self.schemas.by_provider.get(a.name)
                obj = unwrap(a.expr)
                if not (isinstance(obj, Tree) and obj.data == "object"):
                    continue
                fields = {}
                for elem in obj.children:
                    if isinstance(elem, Tree) and elem.data == "object_elem":
                        key = object_key(elem)
                        fields[key] = literal_string(elem.children[-1])
                source, version = fields.get("source"), fields.get("version")
                if schema is None:
                    continue
                if source is not None and source.lower() not in (
                    schema["provider"],
                    "registry.terraform.io/" + schema["provider"],
                ):
                    self.report(
                        f, a.line, f"provider `{a.name}` comes from {source}; its schema here is {schema['provider']}"
                    )
                    continue
                if version is None:
                    self.report(
                        f,
                        a.line,
                        f"provider `{a.name}` has no version constraint; add one that admits "
                        f"{schema['provider_version']}, the version its schema is checked against",
                    )
                    continue
                ok = admits(version, schema["provider_version"])
                if ok is None:
                    self.report(f, a.line, f"cannot read the version constraint `{version}` of provider `{a.name}`")
                elif not ok:
                    self.report(
                        f,
                        a.line,
                        f"provider `{a.name}` constraint `{version}` does not admit {schema['provider_version']}, "
                        f"the version its schema is checked against",
                    )

    def check_provider(self, module, f, b):
        name = b.labels[0]
        schema = self.schemas.by_provider.get(name)
        if schema is None:
            known = ", ".join(sorted(self.schemas.by_provider))
            self.report(
                f,
                b.line,
                f"no schema for provider `{name}` (schemas: {known}); "
                "add its CDKTF provider package to infra/terraform/schema.sh",
            )
            return
        block = dict(schema["provider_config"])
        block["a"] = dict(block.get("a", {}))
        block["a"].setdefault("alias", "o")
        block["a"].setdefault("version", "o")
        self.check_body(module, f, b, block, f"provider {name}", Scope())

    def check_module_call(self, module, f, b):
        name = b.labels[0]
        source_attr = b.attr("source")
        if source_attr is None:
            self.report(f, b.line, f"module {name} has no `source`")
        scope = self.meta_scope(module, f, b, f"module {name}")
        for a in b.attrs:
            if a.name in ("source", "version", "providers"):
                continue
            self.walk(module, f, a.expr, scope)
        for child in b.blocks:
            self.report(f, child.line, f"unknown block `{child.type}` in module {name}")
        callee = self.callee(module, b)
        providers = b.attr("providers")
        if providers is not None:
            self.check_module_providers(module, f, b, providers, callee)
        if callee is None:
            return
        inputs = {a.name for a in b.attrs if a.name not in MODULE_META}
        for a in b.attrs:
            if a.name not in MODULE_META and a.name not in callee.variables:
                self.report(f, a.line, f"module {name} ({callee.display}) has no variable `{a.name}`")
        for var, vb in sorted(callee.variables.items()):
            if var not in inputs and vb.attr("default") is None:
                self.report(f, b.line, f"module {name} ({callee.display}) requires variable `{var}`, which is not set")

    def check_module_providers(self, module, f, b, providers, callee):
        """`providers = { NAME[.ALIAS] = NAME[.ALIAS], ... }`: each value a
        configuration of this module, each key one the callee takes."""
        name = b.labels[0]
        obj = unwrap(providers.expr)
        if not (isinstance(obj, Tree) and obj.data == "object"):
            self.report(f, providers.line, f"module {name}: `providers` must be a map of provider configurations")
            return
        for elem in obj.children:
            if not (isinstance(elem, Tree) and elem.data == "object_elem"):
                continue
            line = line_of(elem, providers.line)
            key = provider_key(elem)
            if key is None:
                self.report(f, line, f"module {name}: a `providers` key must be NAME or NAME.ALIAS")
                continue
            shown = ".".join(k for k in key if k)
            if callee is not None and not callee.has_configuration(*key):
                if key[1] is None:
                    why = "does not use that provider"
                else:
                    why = f"does not take it (no `configuration_aliases = [{shown}]` in its required_providers)"
                self.report(f, line, f"module {name}: providers passes {shown}, but {callee.display} {why}")
            self.check_provider_config(module, f, line, elem.children[-1], f"module {name}: providers.{shown}")

    def check_provider_config(self, module, f, line, expr, what):
        """A reference to a provider configuration (`aws` or `aws.eu`) of
        this module: module `providers` values, a resource's `provider`."""
        ref = provider_ref(expr)
        if ref is None:
            self.report(f, line, f"{what} must name a provider configuration, NAME or NAME.ALIAS")
            return
        self.references += 1
        if not module.has_configuration(*ref):
            shown = ".".join(k for k in ref if k)
            known = sorted(".".join(k for k in c if k) for c in module.configured if c[0] == ref[0])
            have = f" (it configures {', '.join(known)})" if known else ""
            if ref[1] is None:
                self.report(f, line, f"{what} names provider {shown}, which this module neither configures nor requires")
            else:
                self.report(
                    f,
                    line,
                    f'{what} names {shown}, but no provider "{ref[0]}" block of this module has '
                    f'alias = "{ref[1]}"{have}',
                )

    def callee(self, module, b):
        source_attr = b.attr("source")
        source = literal_string(source_attr.expr) if source_attr is not None else None
        if source is None or not (source.startswith("./") or source.startswith("../")):
            return None
        directory = os.path.join(module.directory, source)
        if not os.path.isdir(directory):
            return None
        return self.load(directory)

    def meta_scope(self, module, f, b, what):
        has_count, has_each = b.attr("count") is not None, b.attr("for_each") is not None
        if has_count and has_each:
            self.report(f, b.line, f"{what} sets both `count` and `for_each`")
        return Scope(each=has_each, count=has_count)

    def check_resource(self, module, f, b, scoped=False):
        kind = "resource" if b.type == "resource" else "data"
        type_name, name = b.labels
        what = f"{type_name}.{name}" if kind == "resource" else f"data.{type_name}.{name}"
        block, _, error = self.schemas.lookup(kind, type_name)
        scope = self.meta_scope(module, f, b, what)
        scope.self_ok = True  # in provisioners, connections and postconditions
        if error is not None:
            self.report(f, b.line, error)
            # Still check the references in it.
            for node in b.body.children if b.body is not None else []:
                if isinstance(node, Tree):
                    self.walk(module, f, node, scope)
            return
        meta_blocks = RESOURCE_META_BLOCKS if kind == "resource" else DATA_META_BLOCKS
        self.check_body(
            module,
            f,
            b,
            block,
            what,
            scope,
            meta_attrs=RESOURCE_META_ATTRS if not scoped else {"provider", "depends_on"},
            meta_blocks=meta_blocks,
            skip_refs={"provider"},
        )
        provider = b.attr("provider")
        if provider is not None:
            self.check_provider_config(module, f, provider.line, provider.expr, f"{what}: provider")
        lifecycle = [c for c in b.blocks if c.type == "lifecycle"]
        for lc in lifecycle:
            ignore = lc.attr("ignore_changes")
            if ignore is None:
                continue
            items = unwrap(ignore.expr)
            if isinstance(items, Tree) and items.data == "tuple":
                for item in items.children:
                    if not isinstance(item, Tree):
                        continue
                    root, _, _ = chain(item)
                    if root is not None and root not in block.get("a", {}) and root not in block.get("b", {}):
                        self.report(f, ignore.line, f"ignore_changes names `{root}`, which {type_name} does not have")

    # -- bodies -------------------------------------------------------------

    def check_body(self, module, f, b, schema, what, scope, meta_attrs=(), meta_blocks=None, skip_refs=()):
        meta_blocks = meta_blocks or {}
        if schema.get("*"):
            return
        attrs = schema.get("a", {})
        blocks = schema.get("b", {})
        present = set()
        seen_attrs = {}
        block_counts = {}
        for a in b.attrs:
            if a.name in seen_attrs:
                self.report(f, a.line, f"argument `{a.name}` is set twice in {what}")
            seen_attrs[a.name] = a
            present.add(a.name)
            if a.name in attrs:
                if attrs[a.name] == "c":
                    self.report(f, a.line, f"`{a.name}` in {what} is read-only (computed); it cannot be set")
            elif a.name in blocks:
                if blocks[a.name]["m"] == "c":
                    self.report(f, a.line, f"`{a.name}` in {what} is read-only (computed); it cannot be set")
                else:
                    self.check_object_literal(f, a, blocks[a.name], f"{what}.{a.name}")
            elif a.name in meta_attrs:
                pass
            else:
                self.report(f, a.line, f"unknown argument `{a.name}` in {what}{self.hint(a.name, attrs, blocks)}")
            if a.name not in skip_refs:
                if a.name == "depends_on":
                    self.walk(module, f, a.expr, scope, depends_on=True)
                else:
                    self.walk(module, f, a.expr, scope)
        for child in b.blocks:
            if child.type == "dynamic":
                self.check_dynamic(module, f, child, blocks, attrs, what, scope)
                present.add(child.labels[0] if child.labels else "")
                continue
            present.add(child.type)
            if child.type in blocks:
                sub = blocks[child.type]
                if sub.get("m") == "c":
                    self.report(f, child.line, f"`{child.type}` in {what} is read-only (computed); it cannot be set")
                    continue
                block_counts[child.type] = block_counts.get(child.type, 0) + 1
                if sub.get("n") in AT_MOST_ONE and block_counts[child.type] == 2:
                    self.report(f, child.line, f"{what} takes at most one `{child.type}` block")
                self.check_labels(f, child, sub.get("labels", 0), f"{what}.{child.type}")
                self.check_body(module, f, child, sub, f"{what}.{child.type}", scope)
            elif child.type in meta_blocks:
                sub = meta_blocks[child.type]
                self.check_labels(f, child, sub.get("labels", 0), f"{what}.{child.type}")
                self.check_body(
                    module,
                    f,
                    child,
                    sub,
                    f"{what}.{child.type}",
                    scope,
                    skip_refs={"ignore_changes"},
                )
                if sub.get("*"):
                    self.walk_body(module, f, child, Scope(scope.names, scope.each, scope.count, True, scope.iterators))
            elif child.type in attrs:
                self.report(
                    f,
                    child.line,
                    f"`{child.type}` in {what} is an argument, not a block: write `{child.type} = ...`",
                )
            else:
                self.report(
                    f, child.line, f"unknown block `{child.type}` in {what}{self.hint(child.type, attrs, blocks)}"
                )
        for name, flag in sorted(attrs.items()):
            if flag == "r" and name not in present:
                self.report(f, b.line, f"missing required argument `{name}` in {what}")
        for name, sub in sorted(blocks.items()):
            if sub.get("m") == "r" and name not in present:
                self.report(f, b.line, f"missing required block `{name}` in {what}")

    def hint(self, name, attrs, blocks):
        scored = sorted((similar(name, k), k) for k in set(attrs) | set(blocks) if similar(name, k) is not None)
        return f" (did you mean `{scored[0][1]}`?)" if scored else ""

    def check_labels(self, f, child, want, what):
        if len(child.labels) != want:
            self.report(f, child.line, f"a `{child.type}` block in {what.rsplit('.', 1)[0]} takes {want} label(s)")

    def check_dynamic(self, module, f, child, blocks, attrs, what, scope):
        if len(child.labels) != 1:
            self.report(f, child.line, f"a `dynamic` block in {what} takes one label, the block type")
            return
        name = child.labels[0]
        sub = blocks.get(name)
        if sub is None:
            if name in attrs:
                self.report(f, child.line, f'`dynamic "{name}"` in {what}: `{name}` is an argument, not a block')
            else:
                self.report(
                    f, child.line, f"unknown block `{name}` in {what} (dynamic){self.hint(name, attrs, blocks)}"
                )
            return
        if sub.get("m") == "c":
            self.report(f, child.line, f"`{name}` in {what} is read-only (computed); it cannot be set")
            return
        iterator = name
        it = child.attr("iterator")
        if it is not None:
            root, steps, _ = chain(it.expr)
            if root is not None and not steps:
                iterator = root
        for a in child.attrs:
            if a.name not in DYNAMIC_ATTRS:
                self.report(f, a.line, f'unknown argument `{a.name}` in dynamic "{name}" of {what}')
            elif a.name == "labels":
                self.walk(module, f, a.expr, scope.bind_iterator(iterator))
            elif a.name == "for_each":
                self.walk(module, f, a.expr, scope)
        if child.attr("for_each") is None:
            self.report(f, child.line, f'dynamic "{name}" in {what} has no `for_each`')
        contents = [c for c in child.blocks if c.type == "content"]
        for c in child.blocks:
            if c.type != "content":
                self.report(f, c.line, f'unknown block `{c.type}` in dynamic "{name}" of {what}')
        if len(contents) != 1:
            self.report(f, child.line, f'dynamic "{name}" in {what} needs exactly one `content` block')
        for content in contents:
            self.check_body(module, f, content, sub, f"{what}.{name}", scope.bind_iterator(iterator))

    def check_object_literal(self, f, a, sub, what):
        """`x = { ... }` or `x = [{ ... }]` for a nested object: the keys."""
        if sub.get("*") or sub.get("n") == "map":
            return
        value = unwrap(a.expr)
        objects = []
        if isinstance(value, Tree) and value.data == "object":
            objects = [value]
        elif isinstance(value, Tree) and value.data == "tuple":
            objects = [unwrap(c) for c in value.children if isinstance(c, Tree)]
            objects = [o for o in objects if isinstance(o, Tree) and o.data == "object"]
        attrs, blocks = sub.get("a", {}), sub.get("b", {})
        for obj in objects:
            keys = set()
            for elem in obj.children:
                if not (isinstance(elem, Tree) and elem.data == "object_elem"):
                    continue
                key = object_key(elem)
                if key is None:
                    continue
                keys.add(key)
                if key not in attrs and key not in blocks:
                    self.report(
                        f, line_of(elem, a.line), f"unknown argument `{key}` in {what}{self.hint(key, attrs, blocks)}"
                    )
            for name, flag in sorted(attrs.items()):
                if flag == "r" and name not in keys:
                    self.report(f, line_of(obj, a.line), f"missing required argument `{name}` in {what}")

    def walk_body(self, module, f, b, scope):
        for a in b.attrs:
            self.walk(module, f, a.expr, scope)
        for child in b.blocks:
            self.walk_body(module, f, child, scope)

    # -- expressions ----------------------------------------------------------

    def walk(self, module, f, node, scope, depends_on=False):
        if isinstance(node, Token):
            return
        data = node.data
        if data in TRAVERSALS or (
            data == "expr_term"
            and len(node.children) == 1
            and isinstance(node.children[0], Tree)
            and node.children[0].data == "identifier"
        ):
            root, steps, base = chain(node)
            if root is not None:
                self.check_reference(module, f, line_of(node), root, steps, scope, depends_on)
            elif base is not None and base is not node:
                self.walk(module, f, base, scope)
            for step in steps:
                if step[0] == "index" and step[2] is not None:
                    self.walk(module, f, step[2], scope)
            return
        if data == "identifier":
            return
        if data == "function_call":
            for child in node.children[1:]:
                self.walk(module, f, child, scope)
            return
        if data == "provider_function_call":
            for child in node.children:
                if isinstance(child, Tree) and child.data == "arguments":
                    self.walk(module, f, child, scope)
            return
        if data == "object_elem":
            key = node.children[0]
            if isinstance(key, Tree) and key.children and isinstance(key.children[0], Tree):
                if key.children[0].data == "object_elem_key_expression":
                    self.walk(module, f, key.children[0], scope)
                elif key.children[0].data == "string":
                    self.walk(module, f, key.children[0], scope)
            self.walk(module, f, node.children[-1], scope)
            return
        if data in ("for_tuple_expr", "for_object_expr"):
            inner = scope
            for child in node.children:
                if isinstance(child, Tree) and child.data == "for_intro":
                    names, collection = for_intro(child)
                    if collection is not None:
                        self.walk(module, f, collection, scope)
                    inner = scope.bind(*names)
            for child in node.children:
                if isinstance(child, Tree) and child.data != "for_intro":
                    self.walk(module, f, child, inner)
            return
        if data in ("heredoc_template", "heredoc_template_trim"):
            self.walk_heredoc(module, f, node, scope)
            return
        for child in node.children:
            self.walk(module, f, child, scope)

    def walk_heredoc(self, module, f, node, scope):
        token = node.children[0]
        text = str(token)
        start_line = token.line or line_of(node)
        bound = set(re.findall(r"%\{~?\s*for\s+(\w+)(?:\s*,\s*(\w+))?\s+in\b", text))
        names = {n for pair in bound for n in pair if n}
        for offset, expr_text in template_expressions(text):
            line = start_line + text.count("\n", 0, offset)
            try:
                tree = hcl2_parser().parse(f"x = {expr_text}\n")
            except LarkError:
                self.report(f, line, f"cannot parse the template expression `{expr_text.strip()}`")
                continue
            attr = Attr(tree.children[0].children[0])
            relocate(attr.expr, line - 1)
            self.walk(module, f, attr.expr, scope.bind(*names))

    def check_reference(self, module, f, line, root, steps, scope, depends_on=False):
        def attr_at(i):
            return steps[i][1] if i < len(steps) and steps[i][0] == "attr" else None

        self.references += 1

        if root in LITERALS or root in scope.names:
            return
        first = attr_at(0)
        if root in scope.iterators:
            if first not in ("key", "value"):
                self.report(f, line, f"{root}.{first} does not exist (the iterator has {root}.key and {root}.value)")
            return
        if root == "var":
            if first is not None and first not in module.variables:
                self.report(f, line, f"reference to undeclared variable var.{first}")
            return
        if root == "local":
            if first is not None and first not in module.locals:
                self.report(f, line, f"reference to undeclared local value local.{first}")
            return
        if root == "each":
            if not scope.each:
                self.report(f, line, "`each` is used where `for_each` is not set")
            elif first not in ("key", "value"):
                self.report(f, line, f"each.{first} does not exist (each.key, each.value)")
            return
        if root == "count":
            if not scope.count:
                self.report(f, line, "`count` is used where `count` is not set")
            elif first != "index":
                self.report(f, line, f"count.{first} does not exist (count.index)")
            return
        if root == "path":
            if first not in ("module", "root", "cwd"):
                self.report(f, line, f"path.{first} does not exist (path.module, path.root, path.cwd)")
            return
        if root == "terraform":
            if first not in ("workspace", "applying"):
                self.report(f, line, f"terraform.{first} does not exist")
            return
        if root == "self":
            if not scope.self_ok:
                self.report(f, line, "`self` is used outside a resource's provisioner, connection or condition")
            return
        if root == "module":
            if first is None:
                return
            call = module.modules.get(first)
            if call is None:
                self.report(f, line, f"reference to undeclared module module.{first}")
                return
            rest = steps[1:]
            self.check_instance_key(f, line, f"module.{first}", call, rest, depends_on)
            rest = skip_keys(rest)
            if not rest or rest[0][0] != "attr":
                return
            callee = self.callee(module, call)
            if callee is not None and rest[0][1] not in callee.outputs:
                self.report(f, line, f"module {first} ({callee.display}) has no output `{rest[0][1]}`")
            return
        if root == "data":
            type_name, name = first, attr_at(1)
            if type_name is None or name is None:
                self.report(f, line, "a data source reference needs data.TYPE.NAME")
                return
            decl = module.data.get((type_name, name))
            if decl is None:
                self.report(f, line, f"reference to undeclared data source data.{type_name}.{name}")
                return
            block, _, _ = self.schemas.lookup("data", type_name)
            self.check_instance_key(f, line, f"data.{type_name}.{name}", decl, steps[2:], depends_on)
            if block is not None:
                self.check_attr_path(f, line, f"data.{type_name}.{name}", type_name, block, steps[2:])
            return
        if "_" in root:
            if first is None:
                self.report(f, line, f"a resource reference needs {root}.NAME")
                return
            decl = module.resources.get((root, first))
            if decl is None:
                self.report(f, line, f"reference to undeclared resource {root}.{first}")
                return
            block, _, _ = self.schemas.lookup("resource", root)
            self.check_instance_key(f, line, f"{root}.{first}", decl, steps[1:], depends_on)
            if block is not None:
                self.check_attr_path(f, line, f"{root}.{first}", root, block, steps[1:])
            return
        self.report(f, line, f"unknown name `{root}` (not a variable, local, module, resource or data source)")

    def check_instance_key(self, f, line, address, decl, rest, depends_on):
        if depends_on:
            return
        multi = decl.attr("count") is not None or decl.attr("for_each") is not None
        if multi and rest and rest[0][0] == "attr":
            kind = "for_each" if decl.attr("for_each") is not None else "count"
            self.report(f, line, f"{address} has `{kind}`: index it ({address}[...]) before `.{rest[0][1]}`")
        elif not multi and rest and rest[0][0] == "index":
            self.report(f, line, f"{address} has neither `count` nor `for_each`, so it takes no index")

    def check_attr_path(self, f, line, address, type_name, block, rest):
        where = type_name
        while True:
            rest = skip_keys(rest)
            if not rest or rest[0][0] != "attr":
                return
            name = rest[0][1]
            if block.get("*"):
                return
            if name in block.get("a", {}):
                return
            sub = block.get("b", {}).get(name)
            if sub is None:
                known = self.hint(name, block.get("a", {}), block.get("b", {}))
                self.report(f, line, f"{address}: {where} has no attribute `{name}`{known}")
                return
            block, where, address, rest = sub, f"{where}.{name}", f"{address}.{name}", rest[1:]
            if not self.check_nesting(f, line, address, sub.get("n"), rest):
                return

    def check_nesting(self, f, line, address, nesting, rest):
        """What may follow a nested block in a reference; False after a
        finding."""
        if not rest:
            return True
        step = rest[0]
        if nesting in ("list", "list1", "set", "set1") and step[0] == "attr":
            how = "[0]" if nesting.startswith("list") else "[*]"
            self.report(
                f,
                line,
                f"{address} is a {nesting.rstrip('1')} of objects: write {address}{how}.{step[1]}, "
                f"not {address}.{step[1]}",
            )
            return False
        if nesting in ("set", "set1") and step[0] == "index":
            self.report(
                f,
                line,
                f"{address} is a set: its elements have no index; use {address}[*], one(...) or a for expression",
            )
            return False
        if nesting == "object" and step[0] == "index" and step[1] is not None and str(step[1]).isdigit():
            self.report(f, line, f"{address} is a single object: write {address}.ATTRIBUTE, not {address}[{step[1]}]")
            return False
        return True


# --- expression helpers --------------------------------------------------------


def chain(node):
    """(root name or None, steps, base) of a traversal expression. A step is
    ("attr", name) or ("index", key or None, expression or None) or
    ("splat",). base is the innermost non-traversal tree."""
    steps = []
    cur = node
    while True:
        if isinstance(cur, Token):
            return None, steps, None
        if cur.data == "expr_term" and len(cur.children) == 1 and isinstance(cur.children[0], Tree):
            cur = cur.children[0]
            continue
        if cur.data == "identifier":
            return ident(cur), steps, cur
        if cur.data == "get_attr_expr_term":
            steps.insert(0, ("attr", ident(cur.children[1].children[0])))
            cur = cur.children[0]
        elif cur.data == "index_expr_term":
            steps.insert(0, index_step(cur.children[1]))
            cur = cur.children[0]
        elif cur.data in ("attr_splat_expr_term", "full_splat_expr_term"):
            after = [("splat",)]
            for child in cur.children[1].children:
                if isinstance(child, Tree) and child.data == "get_attr":
                    after.append(("attr", ident(child.children[0])))
                elif isinstance(child, Tree) and child.data == "index":
                    after.append(index_step(child))
            steps[0:0] = after
            cur = cur.children[0]
        else:
            return None, steps, cur


def index_step(index):
    exprs = [c for c in index.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
    if not exprs:
        digits = "".join(str(c) for c in index.children if isinstance(c, Token))
        return ("index", digits, None)
    expr = exprs[0]
    key = literal_string(expr)
    inner = unwrap(expr)
    if key is None and isinstance(inner, Tree) and inner.data == "int_lit":
        key = "".join(str(t) for t in inner.children)
    return ("index", key, expr)


def skip_keys(rest):
    while rest and rest[0][0] in ("index", "splat"):
        rest = rest[1:]
    return rest


def provider_ref(expr):
    """(name, alias or None) of a provider configuration reference, `aws`
    or `aws.eu`; None for anything else."""
    root, steps, _ = chain(expr)
    if root is None or root in LITERALS:
        return None
    if not steps:
        return root, None
    if len(steps) == 1 and steps[0][0] == "attr":
        return root, steps[0][1]
    return None


def provider_key(elem):
    """(name, alias or None) of a `providers` map key, `aws` or `aws.eu`."""
    key = elem.children[0]
    if not isinstance(key, Tree) or not key.children or not isinstance(key.children[0], Tree):
        return None
    inner = key.children[0]
    if inner.data == "identifier":
        return ident(inner), None
    if inner.data == "object_elem_key_dot_accessor":
        names = [ident(c) for c in inner.children if isinstance(c, Tree) and c.data == "identifier"]
        if len(names) == 2:
            return names[0], names[1]
    return None


def for_intro(node):
    names, collection, after_in = [], None, False
    for child in node.children:
        if isinstance(child, Token):
            if str(child) == "in":
                after_in = True
            continue
        if child.data == "identifier" and not after_in:
            names.append(ident(child))
        elif child.data != "new_line_or_comment" and after_in and collection is None:
            collection = child
    return names, collection


def object_key(elem):
    key = elem.children[0]
    if not isinstance(key, Tree) or not key.children:
        return None
    inner = key.children[0]
    if isinstance(inner, Tree) and inner.data == "identifier":
        return ident(inner)
    if isinstance(inner, Tree) and inner.data == "string":
        return string_value(inner)
    return None


def template_expressions(text):
    """(offset, text) of each `${...}` and `%{ if ... }` expression in a
    template, `$${` escapes skipped."""
    out = []
    i = 0
    while True:
        j = min([k for k in (text.find("${", i), text.find("%{", i)) if k >= 0], default=-1)
        if j < 0:
            return out
        if j > 0 and text[j - 1] == text[j]:  # `$${` and `%%{` are escapes
            i = j + 2
            continue
        depth, k, quote = 1, j + 2, False
        while k < len(text) and depth:
            c = text[k]
            if quote:
                if c == "\\":
                    k += 1
                elif c == '"':
                    quote = False
            elif c == '"':
                quote = True
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            k += 1
        body = text[j + 2 : k - 1].strip().strip("~").strip()
        if text[j] == "%":
            m = re.match(r"(?:if|elseif)\s+(.*)$", body, re.S)
            m2 = re.match(r"for\s+\w+(?:\s*,\s*\w+)?\s+in\s+(.*)$", body, re.S)
            if m:
                out.append((j, m.group(1)))
            elif m2:
                out.append((j, m2.group(1)))
        elif body:
            out.append((j, body))
        i = k


def relocate(tree, delta):
    """Shift the line numbers of a re-parsed template expression."""
    if delta == 0 or not isinstance(tree, Tree):
        return
    for sub in tree.iter_subtrees():
        if not getattr(sub.meta, "empty", True):
            sub.meta.line += delta
    for tok in tree.scan_values(lambda v: isinstance(v, Token)):
        if tok.line is not None:
            tok.line += delta


def similar(a, b):
    """How close a name is to a known one: 0 (same but for underscores), 1
    or 2 (edits apart), 3 (one is the other plus a `_word`), else None."""
    if a == b:
        return None
    if a.replace("_", "") == b.replace("_", ""):
        return 0
    if abs(len(a) - len(b)) <= 2:
        prev = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            cur = [i]
            for j, cb in enumerate(b, 1):
                cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
            prev = cur
        if prev[-1] <= 2:
            return prev[-1]
    if b.startswith(a + "_") or b.endswith("_" + a) or a.startswith(b + "_") or a.endswith("_" + b):
        return 3
    return None


# --- main ----------------------------------------------------------------------


def module_dirs(root):
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        if any(name.endswith(".tf") for name in files):
            found.append(directory)
    return sorted(found)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check Terraform modules against the providers' schemas, offline.")
    ap.add_argument("--schema-dir", default=os.path.join(HERE, "schema"), help="directory of *.json.gz schemas")
    ap.add_argument("--quiet", action="store_true", help="print findings only")
    ap.add_argument("roots", nargs="+", help="directories to walk for .tf files")
    args = ap.parse_args(argv)

    schemas = Schemas(args.schema_dir)
    validator = Validator(schemas, os.getcwd())
    dirs = []
    for root in args.roots:
        if not os.path.isdir(root):
            print(f"validate.py: {root} is not a directory", file=sys.stderr)
            return 2
        dirs.extend(module_dirs(root))
    if not dirs:
        print(f"validate.py: no .tf files under {' '.join(args.roots)}", file=sys.stderr)
        return 2
    for directory in dirs:
        validator.check_module(validator.load(directory))
    findings = sorted(validator.findings, key=lambda x: (x.path, x.line, x.message))
    unique = []
    for x in findings:
        if not unique or str(unique[-1]) != str(x):
            unique.append(x)
    for x in unique:
        print(x)
    if not args.quiet:
        for line in validator.summary:
            print(f"validate.py: {line}", file=sys.stderr)
    if unique:
        print(f"validate.py: {len(unique)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
