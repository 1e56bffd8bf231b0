"""Structure tests of terraform/modules/spin: the deployment contract the
Spin application relies on, read from the parsed HCL, offline.

    .tailor/tools/terraform-validate-venv/bin/python -m unittest discover -s infra/terraform -p 'test_*.py'

check.sh runs them. `check()` parses every `.tf` file of the module and
returns every way it differs from the contract:

- one SpinApp, running var.image with the containerd-shim-spin executor and
  every component of the application (no `components` list), whose spec is
  local.app_spec merged with the scaling options only, and which has CPU
  and memory limits;
- the application's Spin variables are exactly those the component reads:
  token_key and api_keys from secretKeyRefs to keys the module's secrets
  hold; destinations, policy_overlay and stream_consent (accept or refuse)
  as values. `function` is not among them: the
  application's manifest sets it per component;
- the runtime config binds the SQLite database `tailor` to libSQL, its URL
  from var.sqlite_url and its token from the secret;
- the secret values (var.token_key, var.sqlite_token) reach nothing but the
  write-only data of their secret, and their variables are sensitive;
- the SpinAppExecutor runs pods under var.runtime_class_name;
- every helm_release is pinned to an exact chart version; the operator's
  CRDs are fetched from its release tag and checked against pinned
  SHA-256 digests, as the shim's archives are;
- every variable has a type and a description.

`check_manifest()` holds the application's manifest (spin.toml) to the same
contract: an application `tailor` whose every component is one of the
functions (ingest, enrich, features, consent, score), is granted the
database `tailor` and sets `function` to its own ID, and whose variables are
the ones the SpinApp passes, secret ones from secrets. It runs on the
repository's manifest when there is one, and on sample manifests always.

The module passes, and broken copies of it (made in a temporary directory)
fail with the expected problem.
"""

import glob
import os
import re
import shutil
import tempfile
import tomllib
import unittest

import hcl2

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODULE = os.path.join(REPO, "terraform", "modules", "spin")
# The application's manifest, which `spin registry push` packages.
SPIN_MANIFEST = os.path.join(REPO, "infra", "spin", "spin.toml")

APPLICATION = "tailor"
FUNCTIONS = ["ingest", "enrich", "features", "consent", "score"]
DATABASE = "tailor"
EXECUTOR = "containerd-shim-spin"

# The Spin variables the SpinApp passes from secrets: variable => (secret
# resource, key).
SECRET_VARIABLES = {
    "token_key": ("secrets", "token_key"),
    "api_keys": ("api_keys", "api_keys"),
}

# The Spin variables the SpinApp passes as values: variable => expression.
PLAIN_VARIABLES = {
    "destinations": 'join(",",var.destinations)',
    "policy_overlay": "var.policy_overlay",
    "stream_consent": 'var.stream_consent?"accept":"refuse"',
    "cost_region": "var.cost_region",
}

# How the SpinApp's variables are composed, as python-hcl2 renders it
# (whitespace removed).
SPIN_VARIABLES = (
    'concat([for k , v in local.secret_variables : {"name": "${k}", "valueFrom": '
    '{"secretKeyRef": {"name": "${v.secret}", "key": "${v.key}"}}}], '
    '[for k , v in local.plain_variables : {"name": "${k}", "value": "${v}"} if v != null])'
)

# What only the secrets' write-only data may hold.
SECRET_INPUTS = {"var.token_key": "token_key", "var.sqlite_token": "sqlite_token"}

CHARTS = {"cert-manager", "runtime-class-manager", "spin-operator"}
OPERATOR_CRDS = {"spinapps", "spinappexecutors"}

EXACT_VERSION = re.compile(r"v?\d+\.\d+\.\d+")
DIGEST = re.compile(r"[0-9a-f]{64}")
SECRET_NAME = re.compile(r"kubernetes_secret_v1\.(\w+)\.metadata\[0\]\.name")


def squeeze(s):
    """An expression as python-hcl2 renders it, without `${ }` around the
    whole and without whitespace."""
    if isinstance(s, str):
        s = re.sub(r"\s+", "", s)
        if s.startswith("${") and closing(s, 1) == len(s) - 1:
            s = s[2:-1]
    return s


def closing(s, i):
    """Index of the brace closing the one at s[i] (quotes not counted)."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def without_interpolations(s):
    """s without its `${ ... }` parts."""
    out, i = [], 0
    while i < len(s):
        if s.startswith("${", i) and closing(s, i + 1) > i:
            i = closing(s, i + 1) + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def block(body, name):
    """The one nested block `name` of body, or None."""
    blocks = body.get(name) or []
    return blocks[0] if len(blocks) == 1 and isinstance(blocks[0], dict) else None


def strings(node, path=""):
    """(path, string) of every string under node."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


class Module:
    """A module's resources, data sources, locals, variables and outputs,
    parsed."""

    def __init__(self, directory):
        self.resources = {}
        self.data = {}
        self.locals = {}
        self.variables = {}
        self.outputs = {}
        for path in sorted(glob.glob(os.path.join(directory, "*.tf"))):
            with open(path, encoding="utf-8") as f:
                doc = hcl2.load(f)
            for kind, into in (("resource", self.resources), ("data", self.data)):
                for entry in doc.get(kind, []):
                    for rtype, named in entry.items():
                        for rname, body in named.items():
                            into[(rtype, rname)] = body
            for entry in doc.get("locals", []):
                self.locals.update(entry)
            for entry in doc.get("variable", []):
                self.variables.update(entry)
            for entry in doc.get("output", []):
                self.outputs.update(entry)

    def manifests(self, kind):
        """(address, manifest) of every kubernetes_manifest of kind."""
        return [
            (f"kubernetes_manifest.{name}", body["manifest"])
            for (rtype, name), body in self.resources.items()
            if rtype == "kubernetes_manifest" and isinstance(body.get("manifest"), dict)
            and body["manifest"].get("kind") == kind
        ]

    def secret_keys(self, name):
        """The keys kubernetes_secret_v1.<name> holds, or None."""
        body = self.resources.get(("kubernetes_secret_v1", name))
        if body is None:
            return None
        keys = set()
        for attr in ("data", "data_wo"):
            if isinstance(body.get(attr), dict):
                keys |= set(body[attr])
        return keys


def check(directory):
    """Every way the module in directory departs from the contract."""
    m = Module(directory)
    problems = []
    p = problems.append

    if m.locals.get("database") != DATABASE:
        p(f'local.database is "{m.locals.get("database")}", not "{DATABASE}"')
    if m.locals.get("executor_name") != EXECUTOR:
        p(f'local.executor_name is "{m.locals.get("executor_name")}", not "{EXECUTOR}"')

    check_app(m, p)
    check_variables(m, p)
    check_secrets(m, p)
    check_database(m, p)
    check_executor(m, p)
    check_stack(m, p)

    for name, body in m.variables.items():
        if "type" not in body or not body.get("description"):
            p(f"variable {name} has no type or no description")
    for name in ("namespace", "app_name", "service_name", "service_port"):
        if name not in m.outputs:
            p(f"no output {name}")
    return problems


def check_app(m, p):
    """The one SpinApp."""
    apps = m.manifests("SpinApp")
    if len(apps) != 1:
        p(f"{len(apps)} SpinApps, not 1")
        return
    address, manifest = apps[0]
    if manifest.get("apiVersion") != "core.spinkube.dev/v1alpha1":
        p(f"{address}: apiVersion is {manifest.get('apiVersion')}, not core.spinkube.dev/v1alpha1")
    metadata = manifest.get("metadata") or {}
    if squeeze(metadata.get("name")) != "var.name" or squeeze(metadata.get("namespace")) != "local.namespace":
        p(f"{address}: not named var.name in local.namespace")
    spec = squeeze(manifest.get("spec")) or ""
    if not spec.startswith("merge(local.app_spec,"):
        p(f"{address}: spec is not local.app_spec merged with the scaling options")
        return
    # Beyond local.app_spec, only these: replicas or enableAutoscaling, and
    # the pull secrets.
    extra = set(re.findall(r"[{,]['\"](\w+)['\"]:", without_interpolations(spec)))
    if extra - {"replicas", "enableAutoscaling", "imagePullSecrets"}:
        p(f"{address}: spec adds {sorted(extra - {'replicas', 'enableAutoscaling', 'imagePullSecrets'})} to local.app_spec")
    if "var.autoscaling==null?{'replicas':'${var.replicas}'}:{}" not in spec:
        p(f"{address}: replicas is not var.replicas when autoscaling is off")

    app = m.locals.get("app_spec")
    if not isinstance(app, dict):
        p("local.app_spec is not an object")
        return
    expected = {
        "image": "var.image",
        "executor": "local.executor_name",
        "variables": "local.spin_variables",
    }
    for key, value in expected.items():
        if squeeze(app.get(key)) != value:
            p(f"SpinApp {key} is {squeeze(app.get(key))}, not {value}")
    runtime = app.get("runtimeConfig") or {}
    if squeeze(runtime.get("sqliteDatabases")) != "local.sqlite_databases":
        p("SpinApp runtimeConfig.sqliteDatabases is not local.sqlite_databases")
    if set(runtime) - {"sqliteDatabases"}:
        p(f"SpinApp runtimeConfig also has {sorted(set(runtime) - {'sqliteDatabases'})}")
    limits = (app.get("resources") or {}).get("limits") or {}
    if not limits.get("cpu") or not limits.get("memory"):
        p("SpinApp has no CPU or no memory limit")
    if "components" in app:
        p(f"SpinApp runs only the components {app['components']}, not every function's")
    if "replicas" in app or "enableAutoscaling" in app:
        p("local.app_spec sets replicas or enableAutoscaling itself")


def spin_variables(m):
    """The SpinApp's variables: name => ("secret", (resource, key)) or
    ("value", expression), and problems with how they are composed."""
    out, problems = {}, []
    if squeeze(m.locals.get("spin_variables")) != squeeze(SPIN_VARIABLES):
        problems.append("local.spin_variables is not the secret variables from secretKeyRefs and the plain ones as values")
        return out, problems
    secrets = m.locals.get("secret_variables")
    plain = m.locals.get("plain_variables")
    if not isinstance(secrets, dict) or not isinstance(plain, dict):
        problems.append("local.secret_variables or local.plain_variables is not a map")
        return out, problems
    for name, ref in secrets.items():
        found = SECRET_NAME.fullmatch(squeeze((ref or {}).get("secret")) or "")
        out[name] = ("secret", (found.group(1) if found else squeeze((ref or {}).get("secret")), (ref or {}).get("key")))
    for name, value in plain.items():
        if name in out:
            problems.append(f"{name} is passed both plainly and from a secret")
        out[name] = ("value", squeeze(value))
    return out, problems


def check_variables(m, p):
    """The Spin variables against the contract."""
    actual, problems = spin_variables(m)
    for problem in problems:
        p(problem)
    if problems:
        return
    expected = {k: ("secret", v) for k, v in SECRET_VARIABLES.items()}
    expected.update({k: ("value", squeeze(v)) for k, v in PLAIN_VARIABLES.items()})
    for name in sorted(set(expected) - set(actual)):
        p(f"{name} is not passed to the SpinApp")
    for name in sorted(set(actual) - set(expected)):
        p(f"{name} is passed to the SpinApp but is not in the contract")
    for name in sorted(set(expected) & set(actual)):
        if actual[name] != expected[name]:
            p(f"{name} is {actual[name]}, not {expected[name]}")
    for name in actual:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            p(f"{name} is not a Spin variable name (lower case, digits, underscores)")
    for name, (how, what) in actual.items():
        if how == "secret":
            resource, key = what
            keys = m.secret_keys(resource)
            if keys is None or key not in keys:
                p(f"{name}: key {key} is not in kubernetes_secret_v1.{resource}")


def check_secrets(m, p):
    """Secret values only in their secret's write-only data."""
    secrets = m.resources.get(("kubernetes_secret_v1", "secrets")) or {}
    data_wo = secrets.get("data_wo") if isinstance(secrets.get("data_wo"), dict) else {}
    for ref, key in SECRET_INPUTS.items():
        if squeeze(data_wo.get(key)) != ref:
            p(f"kubernetes_secret_v1.secrets: data_wo.{key} is not {ref}")
        variable = m.variables.get(ref.split(".", 1)[1], {})
        if variable.get("sensitive") is not True:
            p(f"{ref} is not sensitive")
    api_keys = m.resources.get(("kubernetes_secret_v1", "api_keys")) or {}
    if squeeze((api_keys.get("data") or {}).get("api_keys")) != "local.api_keys_text":
        p("kubernetes_secret_v1.api_keys: data.api_keys is not local.api_keys_text")

    # Nothing else may read the secret inputs: not a manifest, a local, an
    # output, nor a secret's plain data.
    places = [(f"{t}.{n}", b) for (t, n), b in m.resources.items()]
    places += [(f"data.{t}.{n}", b) for (t, n), b in m.data.items()]
    places += [(f"local.{n}", v) for n, v in m.locals.items()]
    places += [(f"output.{n}", v) for n, v in m.outputs.items()]
    for address, body in places:
        for path, text in strings(body):
            if address == "kubernetes_secret_v1.secrets" and path.startswith("data_wo."):
                continue
            for ref in SECRET_INPUTS:
                if re.search(re.escape(ref) + r"\b", text):
                    p(f"{address}: {path} reads {ref}, which only the secret's write-only data may")


def check_database(m, p):
    """The SQLite database `tailor` on libSQL."""
    databases = m.locals.get("sqlite_databases")
    if not isinstance(databases, list) or len(databases) != 1 or not isinstance(databases[0], dict):
        p("local.sqlite_databases is not one database")
        return
    db = databases[0]
    if squeeze(db.get("name")) != "local.database":
        p(f"the SQLite database is {db.get('name')}, not local.database")
    if db.get("type") != "libsql":
        p(f"the SQLite database's type is {db.get('type')}, not libsql")
    options = {o.get("name"): o for o in db.get("options") or [] if isinstance(o, dict)}
    if set(options) != {"url", "token"}:
        p(f"the SQLite database's options are {sorted(options)}, not ['token', 'url']")
    url = options.get("url") or {}
    if squeeze(url.get("value")) != "var.sqlite_url":
        p("the SQLite database's url is not var.sqlite_url")
    token = options.get("token") or {}
    ref = ((token.get("valueFrom") or {}).get("secretKeyRef")) or {}
    if (
        "value" in token
        or squeeze(ref.get("name")) != "kubernetes_secret_v1.secrets.metadata[0].name"
        or ref.get("key") != "sqlite_token"
    ):
        p(f"the token of SQLite database {DATABASE} is not from kubernetes_secret_v1.secrets key sqlite_token")


def check_executor(m, p):
    """The SpinAppExecutor the SpinApp names."""
    executors = m.manifests("SpinAppExecutor")
    if len(executors) != 1:
        p(f"{len(executors)} SpinAppExecutors, not 1")
        return
    address, manifest = executors[0]
    metadata = manifest.get("metadata") or {}
    if squeeze(metadata.get("name")) != "local.executor_name" or squeeze(metadata.get("namespace")) != "local.namespace":
        p(f"{address}: not named local.executor_name in local.namespace")
    spec = manifest.get("spec") or {}
    config = spec.get("deploymentConfig") or {}
    if spec.get("createDeployment") is not True:
        p(f"{address}: createDeployment is not true")
    if squeeze(config.get("runtimeClassName")) != "var.runtime_class_name":
        p(f"{address}: runtimeClassName is not var.runtime_class_name")


def check_stack(m, p):
    """Pinned charts, CRDs checked against their digests, a pinned shim."""
    charts = m.locals.get("charts")
    if not isinstance(charts, dict):
        p("local.charts is not a map")
        charts = {}
    found = set()
    for (rtype, name), body in m.resources.items():
        if rtype != "helm_release":
            continue
        address = f"helm_release.{name}"
        version = squeeze(body.get("version"))
        ref = re.fullmatch(r"local\.charts\.(\w+)\.version", version or "")
        if ref:
            entry = charts.get(ref.group(1)) or {}
            version = entry.get("version")
            for attr in ("chart", "repository"):
                if squeeze(body.get(attr)) != f"local.charts.{ref.group(1)}.{attr}":
                    p(f"{address}: {attr} is not local.charts.{ref.group(1)}.{attr}")
            found.add(entry.get("chart"))
        else:
            found.add(body.get("chart"))
        if version is None:
            p(f"{address}: version is not pinned")
        elif not EXACT_VERSION.fullmatch(str(version)):
            p(f'{address}: version "{version}" is not an exact version')
    for chart in sorted(CHARTS - found):
        p(f"no helm_release of the {chart} chart")

    crds = m.locals.get("operator_crds")
    if not isinstance(crds, dict) or set(crds) != OPERATOR_CRDS:
        p(f"local.operator_crds is {crds}, not a digest for each of {sorted(OPERATOR_CRDS)}")
    else:
        for name, digest in crds.items():
            if not DIGEST.fullmatch(str(digest)):
                p(f"local.operator_crds.{name} is not a SHA-256 digest")
    fetch = m.data.get(("http", "operator_crd")) or {}
    if "local.charts.spin_operator.version" not in (fetch.get("url") or ""):
        p("data.http.operator_crd: url is not at the operator chart's release tag")
    lifecycle = block(fetch, "lifecycle") or {}
    conditions = [squeeze(c.get("condition")) or "" for c in lifecycle.get("postcondition") or []]
    if not any("sha256(self.response_body)==each.value" in c for c in conditions):
        p("data.http.operator_crd: no SHA-256 check of the response")
    crd = m.resources.get(("kubernetes_manifest", "operator_crd")) or {}
    if squeeze(crd.get("manifest")) != "yamldecode(data.http.operator_crd[each.key].response_body)":
        p("kubernetes_manifest.operator_crd: manifest is not the checked response")
    operator = m.resources.get(("helm_release", "spin_operator")) or {}
    needs = {squeeze(d) for d in operator.get("depends_on") or []}
    for dependency in ("kubernetes_manifest.operator_crd", "helm_release.cert_manager"):
        if dependency not in needs:
            p(f"helm_release.spin_operator does not depend on {dependency}")

    archives = m.locals.get("shim_archives")
    if not isinstance(archives, dict) or not archives:
        p("local.shim_archives is not a digest per architecture")
    else:
        for arch, digest in archives.items():
            if not DIGEST.fullmatch(str(digest)):
                p(f"local.shim_archives.{arch} is not a SHA-256 digest")
    for address, manifest in m.manifests("Shim"):
        platforms = squeeze(str(((manifest.get("spec") or {}).get("fetchStrategy") or {}).get("platforms")))
        if "local.shim_archives" not in platforms or '"sha256":"${digest}"' not in platforms:
            p(f"{address}: the shim's archives are not checked against local.shim_archives")


def check_manifest(path, m):
    """Every way the application's manifest at path departs from the
    contract the module m deploys."""
    with open(path, "rb") as f:
        manifest = tomllib.load(f)
    problems = []
    p = problems.append
    name = (manifest.get("application") or {}).get("name")
    if name != APPLICATION:
        p(f'the application is "{name}", not "{APPLICATION}"')
    components = manifest.get("component") or {}
    if not components:
        p("the manifest has no components")
    for cid in sorted(set(components) - set(FUNCTIONS)):
        p(f"component {cid} is not one of the functions {FUNCTIONS}")
    for cid, component in sorted(components.items()):
        if DATABASE not in (component.get("sqlite_databases") or []):
            p(f'component {cid} is not granted the SQLite database "{DATABASE}"')
        function = (component.get("variables") or {}).get("function")
        if function != cid:
            p(f'component {cid} sets function to "{function}", not "{cid}"')
    declared = manifest.get("variables") or {}
    passed, _ = spin_variables(m)
    for var, spec in sorted(declared.items()):
        spec = spec if isinstance(spec, dict) else {}
        if spec.get("required") and var not in passed:
            p(f"the manifest requires {var}, which the SpinApp does not pass")
        if spec.get("secret") and passed.get(var, ("secret",))[0] != "secret":
            p(f"the manifest's secret {var} is passed as a plain value")
    for var in sorted(set(passed) - set(declared)):
        p(f"the SpinApp passes {var}, which the manifest does not declare")
    # A component reads an application variable only through a variable of
    # its own whose template names it.
    templates = " ".join(
        str(v) for c in components.values() for v in (c.get("variables") or {}).values()
    )
    for var in sorted(set(passed) & set(declared)):
        if not re.search(r"\{\{\s*" + re.escape(var) + r"\s*\}\}", templates):
            p(f"the SpinApp passes {var}, which no component reads")
    return problems


class Copy:
    """terraform/modules/spin copied to a temporary directory, to break."""

    def __init__(self, test):
        base = tempfile.mkdtemp(prefix="tailor-spin-")
        test.addCleanup(shutil.rmtree, base)
        self.dir = os.path.join(base, "spin")
        shutil.copytree(MODULE, self.dir)

    def edit(self, name, old, new):
        path = os.path.join(self.dir, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if text.count(old) != 1:
            raise AssertionError(f"{name}: expected exactly one {old!r}, found {text.count(old)}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new))
        return self


# A manifest that meets the contract, for check_manifest's own tests.
SAMPLE_MANIFEST = """\
spin_manifest_version = 2

[application]
name = "tailor"

[variables]
token_key = { required = true, secret = true }
api_keys = { required = true, secret = true }
destinations = { default = "" }
policy_overlay = { default = "" }
stream_consent = { default = "refuse" }
cost_region = { default = "" }
""" + "".join(
    f"""
[component.{f}]
source = "tailor_spin.wasm"
sqlite_databases = ["tailor"]
[component.{f}.variables]
function = "{f}"
""" + "".join(f'{v} = "{{{{ {v} }}}}"\n' for v in [*SECRET_VARIABLES, *PLAIN_VARIABLES])
    for f in FUNCTIONS
)


class ModuleTest(unittest.TestCase):
    def test_module_meets_the_contract(self):
        self.assertEqual(check(MODULE), [])

    @unittest.skipUnless(os.path.exists(SPIN_MANIFEST), "no application manifest at infra/spin/spin.toml yet")
    def test_the_applications_manifest_reads_what_the_module_passes(self):
        self.assertEqual(check_manifest(SPIN_MANIFEST, Module(MODULE)), [])


class ManifestTest(unittest.TestCase):
    """check_manifest on sample manifests: the contract's one, and breaks
    of it."""

    def problems(self, text):
        directory = tempfile.mkdtemp(prefix="tailor-spin-manifest-")
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "spin.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return check_manifest(path, Module(MODULE))

    def test_the_sample_meets_the_contract(self):
        self.assertEqual(self.problems(SAMPLE_MANIFEST), [])

    def test_a_required_variable_the_spinapp_does_not_pass(self):
        text = SAMPLE_MANIFEST.replace("[variables]\n", "[variables]\nclock = { required = true }\n")
        self.assertIn("the manifest requires clock, which the SpinApp does not pass", self.problems(text))

    def test_a_passed_variable_the_manifest_does_not_declare(self):
        text = SAMPLE_MANIFEST.replace('stream_consent = { default = "refuse" }\n', "")
        self.assertIn("the SpinApp passes stream_consent, which the manifest does not declare", self.problems(text))

    def test_a_passed_variable_no_component_reads(self):
        text = SAMPLE_MANIFEST.replace('token_key = "{{ token_key }}"\n', "")
        self.assertIn("the SpinApp passes token_key, which no component reads", self.problems(text))

    def test_a_secret_variable_passed_plainly(self):
        text = SAMPLE_MANIFEST.replace('destinations = { default = "" }', 'destinations = { default = "", secret = true }')
        self.assertIn("the manifest's secret destinations is passed as a plain value", self.problems(text))

    def test_a_component_without_the_database(self):
        text = SAMPLE_MANIFEST.replace(
            '[component.score]\nsource = "tailor_spin.wasm"\nsqlite_databases = ["tailor"]',
            '[component.score]\nsource = "tailor_spin.wasm"\nsqlite_databases = ["default"]',
        )
        self.assertIn('component score is not granted the SQLite database "tailor"', self.problems(text))

    def test_a_component_running_another_function(self):
        text = SAMPLE_MANIFEST.replace('[component.enrich.variables]\nfunction = "enrich"', '[component.enrich.variables]\nfunction = "ingest"')
        self.assertIn('component enrich sets function to "ingest", not "enrich"', self.problems(text))

    def test_a_component_that_is_not_a_function(self):
        text = SAMPLE_MANIFEST.replace("[component.score]", "[component.admin]").replace(
            "[component.score.variables]\nfunction = \"score\"", "[component.admin.variables]\nfunction = \"admin\""
        )
        self.assertIn(f"component admin is not one of the functions {FUNCTIONS}", self.problems(text))


class BrokenCopyTest(unittest.TestCase):
    """Each break of a copy of the module is reported."""

    def broken(self, edits, expected):
        copy = Copy(self)
        for edit in edits:
            edit(copy)
        problems = check(copy.dir)
        self.assertIn(expected, problems, f"problems: {problems}")

    def test_a_spinapp_running_some_components_only(self):
        self.broken(
            [lambda c: c.edit("app.tf", "    variables = local.spin_variables\n", '    variables  = local.spin_variables\n    components = ["ingest"]\n')],
            "SpinApp runs only the components ['ingest'], not every function's",
        )

    def test_a_spinapp_spec_beside_app_spec(self):
        self.broken(
            [lambda c: c.edit("app.tf", "      local.app_spec,\n", "      local.app_spec,\n      { components = [\"score\"] },\n")],
            "kubernetes_manifest.app: spec adds ['components'] to local.app_spec",
        )

    def test_no_memory_limit(self):
        self.broken(
            [lambda c: c.edit("app.tf", "        memory = var.resources.memory_limit\n", "")],
            "SpinApp has no CPU or no memory limit",
        )

    def test_api_keys_not_passed(self):
        self.broken(
            [
                lambda c: c.edit(
                    "main.tf",
                    "    api_keys  = { secret = kubernetes_secret_v1.api_keys.metadata[0].name, key = \"api_keys\" }\n",
                    "",
                )
            ],
            "api_keys is not passed to the SpinApp",
        )

    def test_the_token_key_as_a_plain_variable(self):
        self.broken(
            [lambda c: c.edit("main.tf", '    stream_consent = var.stream_consent ? "accept" : "refuse"\n', '    stream_consent = var.stream_consent ? "accept" : "refuse"\n    token_key      = var.token_key\n')],
            "local.plain_variables: token_key reads var.token_key, which only the secret's write-only data may",
        )

    def test_a_secret_variable_from_a_key_the_secret_does_not_hold(self):
        self.broken(
            [lambda c: c.edit("main.tf", 'key = "token_key" }', 'key = "token" }')],
            "token_key: key token is not in kubernetes_secret_v1.secrets",
        )

    def test_stream_consent_as_true_or_false(self):
        self.broken(
            [lambda c: c.edit("main.tf", 'var.stream_consent ? "accept" : "refuse"', 'tostring(var.stream_consent)')],
            "stream_consent is ('value', 'tostring(var.stream_consent)'), "
            "not ('value', 'var.stream_consent?\"accept\":\"refuse\"')",
        )

    def test_a_variable_the_application_does_not_read(self):
        self.broken(
            [lambda c: c.edit("main.tf", '    stream_consent = var.stream_consent ? "accept" : "refuse"\n', '    stream_consent = var.stream_consent ? "accept" : "refuse"\n    function       = "score"\n')],
            "function is passed to the SpinApp but is not in the contract",
        )

    def test_the_database_under_another_label(self):
        self.broken(
            [lambda c: c.edit("main.tf", 'database = "tailor"', 'database = "default"')],
            'local.database is "default", not "tailor"',
        )

    def test_the_database_token_as_a_plain_value(self):
        self.broken(
            [
                lambda c: c.edit(
                    "main.tf",
                    '{ name = "token", valueFrom = { secretKeyRef = { name = kubernetes_secret_v1.secrets.metadata[0].name, key = "sqlite_token" } } }',
                    '{ name = "token", value = var.sqlite_token }',
                )
            ],
            f"the token of SQLite database {DATABASE} is not from kubernetes_secret_v1.secrets key sqlite_token",
        )

    def test_the_token_key_in_the_secrets_plain_data(self):
        self.broken(
            [lambda c: c.edit("secrets.tf", "  data_wo = {\n", "  data = {\n    token_key = var.token_key\n  }\n\n  data_wo = {\n")],
            "kubernetes_secret_v1.secrets: data.token_key reads var.token_key, which only the secret's write-only data may",
        )

    def test_a_token_key_that_is_not_sensitive(self):
        self.broken(
            [
                lambda c: c.edit(
                    "variables.tf",
                    "  sensitive   = true\n  ephemeral   = true\n\n  validation {\n    condition     = length(var.token_key) >= 16",
                    "  ephemeral   = true\n\n  validation {\n    condition     = length(var.token_key) >= 16",
                )
            ],
            "var.token_key is not sensitive",
        )

    def test_an_executor_on_another_runtime_class(self):
        self.broken(
            [lambda c: c.edit("app.tf", "runtimeClassName = var.runtime_class_name", 'runtimeClassName = "runc"')],
            "kubernetes_manifest.executor: runtimeClassName is not var.runtime_class_name",
        )

    def test_an_unpinned_chart(self):
        self.broken(
            [lambda c: c.edit("operator.tf", "  version          = local.charts.runtime_class_manager.version\n", "")],
            "helm_release.runtime_class_manager: version is not pinned",
        )

    def test_a_chart_version_range(self):
        self.broken(
            [lambda c: c.edit("operator.tf", 'version    = "0.6.1"', 'version    = "~> 0.6"')],
            'helm_release.spin_operator: version "~> 0.6" is not an exact version',
        )

    def test_crds_without_their_digest_check(self):
        self.broken(
            [lambda c: c.edit("operator.tf", "self.status_code == 200 && sha256(self.response_body) == each.value", "self.status_code == 200")],
            "data.http.operator_crd: no SHA-256 check of the response",
        )

    def test_the_operator_before_its_crds(self):
        self.broken(
            [lambda c: c.edit("operator.tf", "    kubernetes_manifest.operator_crd,\n  ]", "  ]")],
            "helm_release.spin_operator does not depend on kubernetes_manifest.operator_crd",
        )

    def test_a_shim_archive_without_digest(self):
        self.broken(
            [lambda c: c.edit("operator.tf", "            sha256   = digest\n", "")],
            "kubernetes_manifest.shim: the shim's archives are not checked against local.shim_archives",
        )

    def test_a_variable_without_description(self):
        self.broken(
            [lambda c: c.edit("variables.tf", '  description = "Pods of the SpinApp, when autoscaling is null."\n', "")],
            "variable replicas has no type or no description",
        )


if __name__ == "__main__":
    unittest.main()
