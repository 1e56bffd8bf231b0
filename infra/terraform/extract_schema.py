#!/usr/bin/env python3
"""Extract a compact Terraform provider schema from a CDKTF provider package.

    extract_schema.py PACKAGE.tgz OUT.json.gz

A prebuilt CDKTF provider package (`@cdktf/provider-aws` and the like) is
generated from the provider's own schema. Its jsii assembly (`.jsii` at the
package root) lists, for every resource and data source, a `...Config`
struct with each argument and nested block (`optional` or not) and a class
whose getters are every attribute, computed ones included. The HCL name of
a Config property is the anchor of its registry link in the docs; the HCL
name of a getter is in the generated JavaScript beside it
(`get invokeArn() { return this.getStringAttribute('invoke_arn'); }`), which
is read from the same package.

The output is gzip-compressed JSON (no timestamp in the gzip header, keys
sorted), so the same package always gives the same file:

    {"format": 1, "package": "@cdktf/provider-aws", "package_version": ...,
     "provider": "hashicorp/aws", "provider_version": "6.25.0",
     "provider_config": BLOCK,
     "resources": {"aws_lambda_function": BLOCK, ...},
     "data_sources": {"aws_region": BLOCK, ...}}

    BLOCK = {"a": {name: FLAG, ...},          # attributes
             "b": {name: NESTED, ...}}        # nested blocks / nested objects
    NESTED = BLOCK + {"n": NESTING, "m": FLAG}
    NESTING = "object"            # one object: x.attr
            | "list" | "set"      # any number: x[0].attr, x[*].attr
            | "list1" | "set1"    # a list or set of at most one (SDKv2's MaxItems 1)
            | "single"            # at most one; list or object not known
            | "map"               # objects by key: x["k"].attr
    FLAG = "r" (required) | "o" (optional) | "c" (computed only: read-only)

Empty "a"/"b" members are left out. The assembly does not say whether a
nested object is written as a block (`x { ... }`) or as an attribute
(`x = { ... }`); the validator accepts both spellings for an entry in "b".
"""

import gzip
import io
import json
import re
import sys
import tarfile

FORMAT = 1
MAX_DEPTH = 48

LINK = re.compile(r"\{@link (https://registry\.terraform\.io/\S+) ([^}\s]+)\}")
ANCHOR = re.compile(r"\{@link https://registry\.terraform\.io/\S+#(\S+) [^}]*\}")
PROVIDER_URL = re.compile(r"registry\.terraform\.io/providers/([\w-]+/[\w-]+)/([\w.+-]+)/docs")
JS_CLASS = re.compile(r"^class (\w+) extends ", re.M)
JS_GETTER = re.compile(
    r"get (\w+)\(\) \{\s*return [\w.(]*?this\.(?:get\w*Attribute|interpolationForAttribute)\('([^']+)'\)"
)
JS_GETTER_NEW = re.compile(r"get (\w+)\(\) \{\s*return new [\w.]+\(this, \"([^\"]+)\"")
JS_FIELD = re.compile(r"this\._(\w+) = new [\w.]+\(this, \"([^\"]+)\"(, (true|false))?\)")
JS_GETTER_FIELD = re.compile(r"get (\w+)\(\) \{\s*return this\._(\w+);\s*\}")
JS_TO_TERRAFORM = re.compile(r"^\s+(\w+): [^\n]*?\((?:struct\.|this\._)(\w+)(?:\.internalValue)?\),?$", re.M)
JS_FUNCTION = re.compile(r"^function (\w+)\(", re.M)
JS_HCL_TYPE = re.compile(r"^\s+(\w+): \{\n\s+value: [^\n]*\n\s+isBlock: (?:true|false),\n\s+type: \"(\w+)\",", re.M)
JS_TYPE_NAME = re.compile(r"^(\w+)\.tfResourceType = \"([^\"]+)\";", re.M)


def die(msg):
    print(f"extract_schema.py: {msg}", file=sys.stderr)
    sys.exit(1)


def docs_text(docs):
    """All of a docs entry's text: a summary with `@word` in it spills the
    rest into jsii's `custom` tags."""
    if isinstance(docs, dict):
        return " ".join(docs_text(v) for v in docs.values())
    return docs if isinstance(docs, str) else ""


def snake(name):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


class Package:
    def __init__(self, path):
        self.assembly = None
        # JS file (relative to lib/, without extension) -> class -> camel -> HCL name
        self.js_names = {}
        self.js_type_names = {}
        self.js_written = {}
        self.js_hcl_types = {}
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                name = member.name
                if name == "package/.jsii":
                    self.assembly = json.load(tar.extractfile(member))
                elif name.startswith("package/lib/") and name.endswith(".js"):
                    text = tar.extractfile(member).read().decode("utf-8")
                    self._read_js(name[len("package/lib/") : -len(".js")], text)
        if self.assembly is None:
            die(f"{path}: no .jsii assembly at the package root")
        self.types = self.assembly["types"]
        self.fallbacks = 0

    def _read_js(self, rel, text):
        classes = {}
        starts = [(m.start(), m.group(1)) for m in JS_CLASS.finditer(text)]
        for i, (start, cls) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
            section = text[start:end]
            names, sets = {}, set()
            for pattern in (JS_FIELD, JS_GETTER_NEW, JS_GETTER):
                for m in pattern.finditer(section):
                    names.setdefault(m.group(1), m.group(2))
                    if pattern is JS_FIELD and m.group(4) == "true":
                        sets.add(m.group(1))
            # `get buildAttribute() { return this._build; }`
            for m in JS_GETTER_FIELD.finditer(section):
                if m.group(1) not in names and m.group(2) in names:
                    names[m.group(1)] = names[m.group(2)]
                    if m.group(2) in sets:
                        sets.add(m.group(1))
            classes[cls] = (names, sets)
            # How the resource writes its blocks: `type: "list"` or "struct".
            hcl = section.find("synthesizeHclAttributes() {")
            if hcl >= 0:
                hcl_end = section.find("\n    }\n", hcl)
                self.js_hcl_types[(rel, cls)] = {
                    m.group(1): m.group(2) for m in JS_HCL_TYPE.finditer(section, hcl, hcl_end)
                }
        self.js_names[rel] = classes
        # What each struct property is written as, in the struct's
        # `function xToTerraform(struct)`: `code: cdktf.stringToTerraform(struct.code)`.
        starts = [(m.start(), m.group(1)) for m in JS_FUNCTION.finditer(text)]
        for i, (start, fn) in enumerate(starts):
            if not fn.endswith("ToTerraform") or fn.endswith("ToHclTerraform"):
                continue
            end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
            struct = fn[0].upper() + fn[1 : -len("ToTerraform")]
            written = {m.group(2): m.group(1) for m in JS_TO_TERRAFORM.finditer(text, start, end)}
            self.js_written[(rel, struct)] = written
        # How each struct writes its nested blocks, in `xToHclTerraform(struct)`.
        for i, (start, fn) in enumerate(starts):
            if not fn.endswith("ToHclTerraform"):
                continue
            end = text.find("\n}\n", start)
            struct = fn[0].upper() + fn[1 : -len("ToHclTerraform")]
            self.js_hcl_types[(rel, struct)] = {m.group(1): m.group(2) for m in JS_HCL_TYPE.finditer(text, start, end)}
        for m in JS_TYPE_NAME.finditer(text):
            self.js_type_names[(rel, m.group(1))] = m.group(2)

    def js_file(self, t):
        filename = t.get("locationInModule", {}).get("filename", "")
        if not filename.startswith("src/") or not filename.endswith(".ts"):
            return None
        return filename[len("src/") : -len(".ts")]

    def js_class(self, cls):
        return self.js_names.get(self.js_file(cls), {}).get(cls["name"], ({}, set()))

    def getter_hcl_name(self, cls, prop):
        names, _ = self.js_class(cls)
        camel = prop["name"]
        if camel in names:
            return names[camel]
        self.fallbacks += 1
        return snake(camel)

    def wraps_set(self, cls, prop):
        return prop["name"] in self.js_class(cls)[1]

    # -- type classification -------------------------------------------------

    def local_type(self, fqn):
        if fqn.startswith(self.assembly["name"] + "."):
            return self.types.get(fqn)
        return None

    def struct_nesting(self, ref):
        """For a Config property's type: (nesting, struct fqn) of a nested
        struct, or None for a plain attribute."""
        if "fqn" in ref:
            t = self.local_type(ref["fqn"])
            if t is not None and t.get("datatype"):
                return "single", ref["fqn"]
            return None
        if "collection" in ref:
            kind = ref["collection"]["kind"]
            inner = ref["collection"]["elementtype"]
            if "fqn" in inner:
                t = self.local_type(inner["fqn"])
                if t is not None and t.get("datatype"):
                    return ("list" if kind == "array" else "map"), inner["fqn"]
            return None
        if "union" in ref:
            for option in ref["union"]["types"]:
                found = self.struct_nesting(option)
                if found is not None:
                    return found
        return None

    def class_nesting(self, ref, wraps_set=False):
        """For a getter's type: (nesting, element class fqn) of a nested
        object class of this package, or None for a plain attribute."""
        fqn = ref.get("fqn")
        if fqn is None:
            return None
        t = self.local_type(fqn)
        if t is None or t.get("kind") != "class":
            return None
        base = t.get("base")
        if base == "cdktf.ComplexObject":
            return "single", fqn
        if base in ("cdktf.ComplexList", "cdktf.ComplexMap"):
            element = None
            for method in t.get("methods", []):
                if method["name"] == "get" and "returns" in method:
                    element = method["returns"]["type"].get("fqn")
            if element is None:
                die(f"{fqn}: no get() giving its element type")
            if base == "cdktf.ComplexMap":
                return "map", element
            return ("set" if wraps_set else "list"), element
        return None

    # -- blocks ---------------------------------------------------------------

    def struct_props(self, fqn):
        """All properties of a struct, its parent interfaces' included."""
        props = []
        t = self.types[fqn]
        for parent in t.get("interfaces", []):
            if self.local_type(parent) is not None:
                props.extend(self.struct_props(parent))
        props.extend(t.get("properties", []))
        return props

    def hcl_types(self, *fqns):
        """HCL name -> how the JavaScript writes it ("list", "set", "struct",
        ...), from the struct's or the class's generated code."""
        out = {}
        for fqn in fqns:
            if fqn is not None:
                t = self.types[fqn]
                out.update(self.js_hcl_types.get((self.js_file(t), t["name"]), {}))
        return out

    def block(self, struct_fqn, class_fqn, where, depth=0, writer_fqn=None):
        if depth > MAX_DEPTH:
            die(f"{where}: nested deeper than {MAX_DEPTH} levels")
        attrs, blocks = {}, {}
        by_camel = {}
        written_as = self.hcl_types(struct_fqn, class_fqn, writer_fqn)
        if struct_fqn is not None:
            for prop in self.struct_props(struct_fqn):
                m = ANCHOR.search(docs_text(prop.get("docs", {})))
                if m is not None:
                    name = m.group(1)
                else:
                    # Docs that the generator mangled: the JavaScript that
                    # writes the struct names the attribute.
                    struct = self.types[struct_fqn]
                    name = self.js_written.get((self.js_file(struct), struct["name"]), {}).get(prop["name"])
                    if name is None:
                        die(f"{where}: property {prop['name']} has no registry anchor in its docs")
                flag = "o" if prop.get("optional") else "r"
                nested = self.struct_nesting(prop["type"])
                by_camel[prop["name"]] = name
                if nested is None:
                    attrs[name] = flag
                    continue
                nesting = nested[0]
                if nesting == "single":
                    # At most one: a list or set of one (SDKv2's MaxItems 1)
                    # or a single object; the generated code tells which.
                    nesting = {"struct": "object", "list": "list1", "set": "set1"}.get(written_as.get(name), "single")
                blocks[name] = (nesting, flag, nested[1], None)
        if class_fqn is not None:
            cls = self.types[class_fqn]
            own = {prop["name"] for prop in cls.get("properties", [])}
            names, _ = self.js_class(cls)
            for prop in cls.get("properties", []):
                camel = prop["name"]
                if prop.get("static") or camel == "internalValue":
                    continue
                if camel not in names and camel.endswith("Input") and camel[: -len("Input")] in own:
                    continue  # the input getter of attribute `camel` less "Input"
                name = by_camel.get(camel) or self.getter_hcl_name(cls, prop)
                nested = self.class_nesting(prop["type"], self.wraps_set(cls, prop))
                if name in blocks:
                    nesting, flag, sfqn, _ = blocks[name]
                    if nested is not None:
                        # The class knows list from set; the struct does not.
                        if nesting in ("list", "set") and nested[0] in ("list", "set"):
                            nesting = nested[0]
                        blocks[name] = (nesting, flag, sfqn, nested[1])
                    continue
                if name in attrs:
                    continue
                if nested is None:
                    attrs[name] = "c"
                else:
                    nesting = "object" if nested[0] == "single" else nested[0]
                    blocks[name] = (nesting, "c", None, nested[1])
        out = {}
        if attrs:
            out["a"] = dict(sorted(attrs.items()))
        if blocks:
            out["b"] = {}
            for name in sorted(blocks):
                nesting, flag, sfqn, cfqn = blocks[name]
                child = self.block(sfqn, cfqn, f"{where}.{name}", depth + 1)
                child["n"] = nesting
                child["m"] = flag
                out["b"][name] = child
        return out

    def type_name(self, cls):
        m = LINK.search(cls.get("docs", {}).get("summary", ""))
        if m is None:
            die(f"{cls['fqn']}: no registry link naming its Terraform type")
        name = m.group(2)
        js = self.js_type_names.get((self.js_file(cls), cls["name"]))
        if js is not None and js != name:
            die(f"{cls['fqn']}: docs name {name}, JavaScript names {js}")
        return name, m.group(1)

    def config_fqn(self, cls):
        for param in cls.get("initializer", {}).get("parameters", []):
            if param["name"] == "config":
                return param["type"]["fqn"]
        die(f"{cls['fqn']}: its initializer takes no config")

    def extract(self):
        resources, data_sources = {}, {}
        provider, provider_config = None, None
        for fqn in sorted(self.types):
            t = self.types[fqn]
            if t.get("kind") != "class":
                continue
            base = t.get("base")
            if base not in ("cdktf.TerraformResource", "cdktf.TerraformDataSource", "cdktf.TerraformProvider"):
                continue
            name, url = self.type_name(t)
            config = self.config_fqn(t)
            if base == "cdktf.TerraformProvider":
                m = PROVIDER_URL.search(url)
                if m is None:
                    die(f"{fqn}: provider link {url} names no provider version")
                provider = {"source": m.group(1), "version": m.group(2), "name": name}
                provider_config = self.block(config, None, name, writer_fqn=fqn)
                continue
            target = resources if base == "cdktf.TerraformResource" else data_sources
            if name in target:
                die(f"{fqn}: a second class for {name}")
            target[name] = self.block(config, fqn, name)
        if provider is None:
            die("the assembly has no provider class")
        return {
            "format": FORMAT,
            "package": self.assembly["name"],
            "package_version": self.assembly["version"],
            "provider": provider["source"],
            "provider_version": provider["version"],
            "provider_name": provider["name"],
            "provider_config": provider_config,
            "resources": resources,
            "data_sources": data_sources,
        }


def main():
    if len(sys.argv) != 3:
        die("usage: extract_schema.py PACKAGE.tgz OUT.json.gz")
    package = Package(sys.argv[1])
    schema = package.extract()
    text = json.dumps(schema, sort_keys=True, separators=(",", ":")) + "\n"
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    with open(sys.argv[2], "wb") as f:
        f.write(buf.getvalue())
    print(
        f"{schema['package']}@{schema['package_version']} ({schema['provider']} "
        f"{schema['provider_version']}): {len(schema['resources'])} resources, "
        f"{len(schema['data_sources'])} data sources, {len(text)} bytes of JSON, "
        f"{len(buf.getvalue())} gzipped; {package.fallbacks} names guessed from camelCase",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
