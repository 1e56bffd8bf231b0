"""Structure tests of terraform/modules/gcp: the deployment contract the
Cloud Run functions rely on, read from the parsed HCL, offline.

    .tailor/tools/terraform-validate-venv/bin/python -m unittest discover -s infra/terraform -p 'test_*.py'

check.sh runs them. `check()` parses every `.tf` file of the module, expands
each resource's `for_each` where it is one of the module's own locals (the
function, topic and collection lists, and the trigger, publisher and secret
maps, which the module derives from its one map of per-function permissions,
`local.permissions`), binds `each.key` and `each.value` in its arguments,
and returns every way the module differs from the contract:

- every function (ingest, enrich, features, consent, score) has one Cloud
  Run service running the image with args [function], as its own service
  account;
- each stream function has exactly one push subscription, on its input
  topic, to its service's `/push`, with message ordering, an OIDC token of
  its own invoker account (audience: TAILOR_PUSH_AUDIENCE), a retry policy,
  a dead-letter policy to its own dead-letter topic and an ack deadline
  equal to the service's timeout; each invoker may invoke its own service
  only;
- each dead-letter topic has a pull subscription that keeps messages 7
  days, and the Pub/Sub service agent may publish to it and acknowledge on
  the source subscription;
- roles/pubsub.publisher goes to a function only on the topics it publishes
  to (ingest: ingested; enrich: enriched and consent-changes), and no
  function has a project role but roles/datastore.user;
- roles/secretmanager.secretAccessor goes to a function only on the secrets
  it reads (every function: the token key; score: its API keys too);
- every collection `<name>-<table>` has a TTL policy on `expire_at`;
- each function's environment holds exactly the variables of the contract;
- spend controls: one billing budget, created exactly when
  var.monthly_budget is set, on var.billing_account (a precondition
  requires it then), over the deployment's project alone, of
  var.monthly_budget USD, alerting var.notification_channels at 80% of
  actual and 100% of forecast spend; and for every function a log-based
  distribution of the totals of its service's cost records.

The module passes, and broken copies of it (made in a temporary directory)
fail with the expected problem.
"""

import glob
import os
import re
import shutil
import tempfile
import unittest

import hcl2

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODULE = os.path.join(REPO, "terraform", "modules", "gcp")

FUNCTIONS = ["ingest", "enrich", "features", "consent", "score"]

# Each stream function's input topic.
TRIGGERS = {
    "ingest": "events",
    "enrich": "ingested",
    "features": "enriched",
    "consent": "consent-changes",
}

TOPICS = ["events", "ingested", "enriched", "consent-changes"]

# The secrets each function reads, and no others. score's API keys exist
# only when it has keys (SECRET_IDS).
SECRETS = {
    "ingest": ["token_key"],
    "enrich": ["token_key"],
    "features": ["token_key"],
    "consent": ["token_key"],
    "score": ["token_key", "api_keys"],
}

# The topics each function publishes to, and no others.
PUBLISHES = {
    "ingest": ["ingested"],
    "enrich": ["enriched", "consent-changes"],
    "features": [],
    "consent": [],
    "score": [],
}

TABLES = [
    "dedup",
    "identity",
    "feature_inputs",
    "features",
    "slow_lane",
    "consent",
    "audit",
    "dead_letters",
    "tombstones",
    "erasure_index",
    "decisions",
    "subjects",
]

# Plain environment of every function: variable => expression.
COMMON_ENV = {
    "GOOGLE_CLOUD_PROJECT": "var.project_id",
    "TAILOR_COLLECTION_PREFIX": "var.name",
    "TAILOR_FIRESTORE_DATABASE": "google_firestore_database.this.name",
    "TAILOR_LOG": "var.log_level",
    "TAILOR_DESTINATIONS": 'join(",",var.destinations)',
    "TAILOR_POLICY_OVERLAY": "var.policy_overlay",
}

# The publishing topics' variables: function => variable => topic.
TOPIC_ENV = {
    "ingest": {"TAILOR_TOPIC_INGESTED": "ingested"},
    "enrich": {"TAILOR_TOPIC_ENRICHED": "enriched", "TAILOR_TOPIC_CONSENT_CHANGES": "consent-changes"},
}


def push_env(f):
    """What a stream function's push requests must carry, its clock, and
    the subscription it pulls when it is in var.pull_functions."""
    return {
        "TAILOR_PUSH_AUDIENCE": f'local.push_audience["{f}"]',
        "TAILOR_PUSH_INVOKER": f'google_service_account.invoker["{f}"].email',
        "TAILOR_CLOCK": "var.clock",
        "TAILOR_PULL_SUBSCRIPTION": f'local.pulls["{f}"]?local.subscription_names["{f}"]:null',
    }


SCORE_ENV = {
    "TAILOR_MODEL_DIR": "var.score_model_dir",
    "TAILOR_ENGINE": "var.score_engine",
    "TAILOR_STORE_BUDGET_MS": "tostring(var.score_store_budget_ms)",
}

# Variables from Secret Manager: the token key for every function, and
# score's API keys when it has any (unset, score trusts Cloud Run's IAM).
TOKEN_KEY_REF = {
    "secret": "google_secret_manager_secret.token_key.secret_id",
    "version": "google_secret_manager_secret_version.token_key.version",
}
API_KEYS_REF = (
    "local.api_keys?{'secret':'${google_secret_manager_secret.api_keys[0].secret_id}',"
    "'version':'${google_secret_manager_secret_version.api_keys[0].version}'}:null"
)
# How the secret environment is composed, as python-hcl2 renders it
# (whitespace removed).
SECRET_ENVIRONMENT = (
    '{forfinlocal.function_names:f=>merge({"TAILOR_TOKEN_KEY":"${local.token_key_ref}"},'
    "f==\"score\"&&local.api_keys?{'TAILOR_API_KEYS':'${local.api_keys_ref}'}:{})}"
)

# Names: collections `<name>-<table>` (underscores as hyphens, as the
# functions name them), services `<name>-<function>`, and
# each stream service's push audience, its deterministic URL.
COLLECTIONS = '{for t in local.table_names : t => "${var.name}-${replace(t, "_", "-")}"}'
SERVICE_NAMES = '{for f in local.function_names : f => "${var.name}-${f}"}'
PUSH_AUDIENCE = (
    '{for f in keys(local.triggers) : f => '
    '"https://${local.service_names[f]}-${local.project_number}.${var.region}.run.app"}'
)

# What the module derives from local.permissions, as python-hcl2 renders it
# (the `...` of merge is lost): the trigger map, one publisher grant per
# (function, topic), one secret grant per (function, secret) the deployment
# has, and the secrets it has.
TRIGGERS_FROM_PERMISSIONS = (
    "${{for f , p in local.permissions : f => p.triggered_by if p.triggered_by != null}}"
)
PUBLISHER_GRANTS = (
    '${merge([for f , p in local.permissions : {for t in p.publishes : "${f}/${t}" =>'
    ' {"function": "${f}", "topic": "${t}"}}])}'
)
SECRET_GRANTS = (
    '${merge([for f , p in local.permissions : {for s in p.secrets : "${f}/${s}" =>'
    ' {"function": "${f}", "secret": "${s}"} if contains(keys(local.secret_ids), s)}])}'
)
SECRET_IDS = (
    '${merge({"token_key": "${google_secret_manager_secret.token_key.secret_id}"}, local.api_keys ? '
    "{'api_keys': '${google_secret_manager_secret.api_keys[0].secret_id}'} : {})}"
)

# How the plain environment is composed (whitespace removed).
ENVIRONMENT = (
    "{forfinlocal.function_names:f=>{fork,vinmerge(local.common_environment,"
    "local.function_environment[f],local.cost_environment[f]):k=>vifv!=null}}"
)

# How each service is billed, for its cost records: variable => expression
# (`f` the function).
COST_ENV = {
    "TAILOR_COST_REGION": "var.region",
    "TAILOR_CPU": "var.cpu[f]",
    "TAILOR_MEMORY": "var.memory[f]",
}
COST_ENVIRONMENT = "{forfinlocal.function_names:f=>{" + ",".join(
    f'"{k}":"${{{v}}}"' for k, v in COST_ENV.items()
) + "}}"


# The budget's threshold rules: (fraction of the budget, spend basis).
BUDGET_THRESHOLDS = [(0.8, "CURRENT_SPEND"), (1.0, "FORECASTED_SPEND")]

# What each function's cost metric reads: its service's cost records, by
# their priced total.
COST_RECORDS = 'jsonPayload.message = "cost record"'
COST_VALUE = "EXTRACT(jsonPayload.cost.total)"


def collection(table):
    """A table's collection name, as the module writes it."""
    return "${var.name}-" + table.replace("_", "-")


def squeeze(s):
    """An expression as python-hcl2 renders it, without `${ }` around the
    whole and without whitespace."""
    if isinstance(s, str):
        s = re.sub(r"\s+", "", s)
        if s.startswith("${") and closing(s, 1) == len(s) - 1:
            s = s[2:-1]
    return s


def nulls(s):
    """squeeze(s), with null however python-hcl2 renders it (`None` in some
    places)."""
    s = squeeze(s)
    return re.sub(r"\bNone\b", "null", s) if isinstance(s, str) else ""


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


def ref_key(s, prefix):
    """The key `k` of `prefix["k"]...` in an expression, or None."""
    m = re.fullmatch(re.escape(prefix) + r'\["([^"]+)"\]\.\w+', squeeze(s) or "")
    return m.group(1) if m else None


def choose(s):
    """`"a"=="b"?x:y` (a bound `each.key == ...` condition) evaluated."""
    m = re.fullmatch(r'"([^"]*)"(==|!=)"([^"]*)"\?(.+?):(.+)', squeeze(s))
    if not m:
        return squeeze(s)
    equal = m.group(1) == m.group(3)
    return m.group(4) if equal == (m.group(2) == "==") else m.group(5)


def bind(node, key, value):
    """node with each.key and each.value replaced by the instance's."""
    if isinstance(node, dict):
        return {k: bind(v, key, value) for k, v in node.items()}
    if isinstance(node, list):
        return [bind(v, key, value) for v in node]
    if not isinstance(node, str) or key is None:
        return node
    if isinstance(value, dict):
        for attr, v in value.items():
            node = node.replace("${each.value.%s}" % attr, v).replace("each.value.%s" % attr, '"%s"' % v)
    else:
        node = node.replace("${each.value}", value).replace("each.value", '"%s"' % value)
    return node.replace("${each.key}", key).replace("each.key", '"%s"' % key)


def block(body, name):
    """The one nested block `name` of body, or None."""
    blocks = body.get(name) or []
    return blocks[0] if len(blocks) == 1 and isinstance(blocks[0], dict) else None


def push_config(body, key=None):
    """A subscription's push_config: a block, or a dynamic block left out
    only for a function in var.pull_functions (its for_each is
    `local.pulls[f] ? [] : [f]`); None for a pull subscription."""
    config = block(body, "push_config")
    if config is not None:
        return config
    for entry in body.get("dynamic") or []:
        dynamic = entry.get("push_config") if isinstance(entry, dict) else None
        if not isinstance(dynamic, dict):
            continue
        m = re.fullmatch(r'local\.pulls\["(\w+)"\]\?\[\]:\[[\'"](\w+)[\'"]\]', squeeze(dynamic.get("for_each")) or "")
        if m and m.group(1) == m.group(2) and (key is None or m.group(1) == key):
            return block(dynamic, "content")
    return None


class Module:
    """A module's resources, locals and variables, parsed."""

    def __init__(self, directory):
        self.resources = {}
        self.locals = {}
        self.variables = {}
        for path in sorted(glob.glob(os.path.join(directory, "*.tf"))):
            with open(path, encoding="utf-8") as f:
                doc = hcl2.load(f)
            for entry in doc.get("resource", []):
                for rtype, named in entry.items():
                    for rname, body in named.items():
                        self.resources[(rtype, rname)] = body
            for entry in doc.get("locals", []):
                self.locals.update(entry)
            for entry in doc.get("variable", []):
                self.variables.update(entry)

    def permissions(self):
        """local.permissions: function => its trigger, topics and secrets."""
        permissions = self.locals.get("permissions")
        return permissions if isinstance(permissions, dict) else {}

    def triggers(self):
        """local.triggers, evaluated from local.permissions; None if it is
        not derived from it."""
        if squeeze(self.locals.get("triggers")) != squeeze(TRIGGERS_FROM_PERMISSIONS):
            return None
        return {f: p.get("triggered_by") for f, p in self.permissions().items() if p.get("triggered_by") is not None}

    def grants(self, name, expected, field, attr):
        """local.<name> evaluated: one (function, item) instance per item in
        each function's permissions[field], as `<function>/<item>`; None if
        the local is not that expansion."""
        if squeeze(self.locals.get(name)) != squeeze(expected):
            return None
        return [
            (f"{f}/{item}", {"function": f, attr: item})
            for f, p in self.permissions().items()
            for item in p.get(field) or []
        ]

    def for_each(self, body):
        """(key, value) of every instance, [(None, None)] for a single
        resource, None where for_each is not one this test evaluates."""
        if "for_each" not in body:
            return [(None, None)] if "count" not in body else None
        fe = squeeze(body["for_each"])
        if fe == "toset(local.function_names)":
            return [(f, f) for f in self.locals.get("function_names", [])]
        if fe == "toset(local.topic_names)":
            return [(t, t) for t in self.locals.get("topic_names", [])]
        if fe == "local.triggers":
            triggers = self.triggers()
            return None if triggers is None else list(triggers.items())
        if fe == "local.collections":
            if squeeze(self.locals.get("collections")) != squeeze(COLLECTIONS):
                return None
            return [(t, collection(t)) for t in self.locals.get("table_names", [])]
        if "local." not in fe and "var." in fe:
            # Members from the caller's variables (score_invokers,
            # event_publishers): one symbolic instance.
            return [("*", "*")]
        if fe == "local.publisher_grants":
            return self.grants("publisher_grants", PUBLISHER_GRANTS, "publishes", "topic")
        if fe == "local.secret_grants":
            # Every secret a function lists: whether the deployment has it
            # is SECRET_IDS's to say.
            return self.grants("secret_grants", SECRET_GRANTS, "secrets", "secret")
        return None

    def instances(self, rtype):
        """(address, bound body) of every instance of every resource of
        rtype, and the addresses of those whose for_each is opaque."""
        out, opaque = [], []
        for (t, name), body in self.resources.items():
            if t != rtype:
                continue
            keys = self.for_each(body)
            if keys is None:
                opaque.append(f"{t}.{name}")
                continue
            for key, value in keys:
                address = f"{t}.{name}" + (f'["{key}"]' if key is not None else "")
                out.append((address, bind(body, key, value)))
        return out, opaque


def check(directory):
    """Every way the module in directory departs from the contract."""
    m = Module(directory)
    problems = []
    p = problems.append

    if m.locals.get("function_names") != FUNCTIONS:
        p(f"local.function_names is {m.locals.get('function_names')}, not {FUNCTIONS}")
    if sorted(m.permissions()) != sorted(FUNCTIONS):
        p(f"local.permissions is for {sorted(m.permissions())}, not {sorted(FUNCTIONS)}")
    triggers = m.triggers()
    if triggers != TRIGGERS:
        p(f"local.triggers is {m.locals.get('triggers') if triggers is None else triggers}, not {TRIGGERS}")
    if m.locals.get("topic_names") != TOPICS:
        p(f"local.topic_names is {m.locals.get('topic_names')}, not {TOPICS}")
    if squeeze(m.locals.get("service_names")) != squeeze(SERVICE_NAMES):
        p("local.service_names is not `<name>-<function>` for every function")
    if squeeze(m.locals.get("push_audience")) != squeeze(PUSH_AUDIENCE):
        p("local.push_audience is not each stream service's deterministic URL")

    # --- Cloud Run services and service accounts ---------------------------
    services, opaque = m.instances("google_cloud_run_v2_service")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    by_function = {}
    for address, body in services:
        container = block(block(body, "template") or {}, "containers") or {}
        args = container.get("args")
        if isinstance(args, list) and len(args) == 1:
            by_function.setdefault(args[0], []).append((address, body, container))
    for f in FUNCTIONS:
        found = by_function.get(f, [])
        if len(found) != 1:
            p(f'{len(found)} Cloud Run services with args ["{f}"], not 1')
            continue
        address, body, container = found[0]
        template = block(body, "template")
        if squeeze(body.get("name")) != f'local.service_names["{f}"]':
            p(f"{address}: name is not local.service_names[\"{f}\"]")
        if squeeze(container.get("image")) != f'lookup(var.images,"{f}",var.image)':
            p(f"{address}: image is not its function's entry in var.images, else var.image")
        if ref_key(template.get("service_account"), "google_service_account.this") != f:
            p(f"{address}: does not run as google_service_account.this[\"{f}\"]")
        if f in TRIGGERS:
            if squeeze(choose(body.get("ingress"))) != '"INGRESS_TRAFFIC_INTERNAL_ONLY"':
                p(f"{address}: ingress is not INGRESS_TRAFFIC_INTERNAL_ONLY")
            if squeeze(choose(body.get("invoker_iam_disabled"))) not in (None, "False", "false"):
                p(f"{address}: invoker IAM may be disabled")
            if f'local.push_audience["{f}"]' not in squeeze(choose(body.get("custom_audiences")) or ""):
                p(f"{address}: custom_audiences does not hold local.push_audience[\"{f}\"]")
        else:
            if squeeze(choose(body.get("invoker_iam_disabled"))) != "var.score_public":
                p(f"{address}: invoker IAM is not disabled by var.score_public alone")
            default = m.variables.get("score_public", {}).get("default")
            if default is not False:
                p(f"var.score_public defaults to {default}, not false")
        check_environment(m, f, address, container, p)

    accounts, _ = m.instances("google_service_account")
    account_ids = {a: squeeze(b.get("account_id")) for a, b in accounts}
    for f in FUNCTIONS:
        if account_ids.get(f'google_service_account.this["{f}"]') != f"${{var.name}}-{f}":
            p(f"no service account `<name>-{f}` for {f}")
    for f in TRIGGERS:
        if account_ids.get(f'google_service_account.invoker["{f}"]') != f"${{var.name}}-{f}-push":
            p(f"no invoker service account `<name>-{f}-push` for {f}")

    # --- Push subscriptions ------------------------------------------------
    subscriptions, opaque = m.instances("google_pubsub_subscription")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    push = {}
    for address, body in subscriptions:
        config = push_config(body)
        if config is None:
            continue
        endpoint = squeeze(config.get("push_endpoint"))
        mm = re.fullmatch(r'\$\{google_cloud_run_v2_service\.this\["(\w+)"\]\.uri\}/push', endpoint or "")
        if not mm:
            p(f"{address}: pushes to {endpoint}, not a service's `/push`")
            continue
        push.setdefault(mm.group(1), []).append((address, body, config))
    for f in push:
        if f not in TRIGGERS:
            p(f"{f} has a push subscription but is not a stream function")
    for f, topic in TRIGGERS.items():
        found = push.get(f, [])
        if len(found) != 1:
            p(f"{len(found)} push subscriptions to {f}, not 1")
            continue
        address, body, config = found[0]
        if ref_key(body.get("topic"), "google_pubsub_topic.this") != topic:
            p(f"{address}: topic is not {topic}")
        if body.get("enable_message_ordering") is not True:
            p(f"{address}: message ordering is not enabled")
        token = block(config, "oidc_token")
        if token is None:
            p(f"{address}: no oidc_token")
        else:
            if ref_key(token.get("service_account_email"), "google_service_account.invoker") != f:
                p(f"{address}: OIDC token is not of google_service_account.invoker[\"{f}\"]")
            if squeeze(token.get("audience")) != f'local.push_audience["{f}"]':
                p(f"{address}: OIDC audience is not local.push_audience[\"{f}\"]")
        retry = block(body, "retry_policy")
        if retry is None or not retry.get("minimum_backoff") or not retry.get("maximum_backoff"):
            p(f"{address}: no retry_policy with minimum and maximum backoff")
        dead = block(body, "dead_letter_policy")
        if dead is None:
            p(f"{address}: no dead_letter_policy")
        else:
            if ref_key(dead.get("dead_letter_topic"), "google_pubsub_topic.dead_letter") != f:
                p(f"{address}: dead-letter topic is not google_pubsub_topic.dead_letter[\"{f}\"]")
            if squeeze(dead.get("max_delivery_attempts")) != "var.max_delivery_attempts":
                p(f"{address}: max_delivery_attempts is not var.max_delivery_attempts")
        if squeeze(body.get("ack_deadline_seconds")) != f'var.timeout["{f}"]':
            p(f"{address}: ack deadline is not var.timeout[\"{f}\"], the service's timeout")
        service = by_function.get(f, [(None, {}, {})])[0][1]
        if squeeze((block(service, "template") or {}).get("timeout")) != squeeze(f'${{var.timeout["{f}"]}}s'):
            p(f"{f}'s service timeout is not var.timeout[\"{f}\"]")
    if m.variables.get("max_delivery_attempts", {}).get("default") != 5:
        p("var.max_delivery_attempts does not default to 5")

    # --- Dead letters ------------------------------------------------------
    dl_topics, _ = m.instances("google_pubsub_topic")
    dl_keys = {ref_key(a + ".id", "google_pubsub_topic.dead_letter") for a, _ in dl_topics} - {None}
    if dl_keys != set(TRIGGERS):
        p(f"dead-letter topics are {sorted(dl_keys)}, not one per stream function")
    for f in TRIGGERS:
        subs = [
            (a, b)
            for a, b in subscriptions
            if ref_key(b.get("topic"), "google_pubsub_topic.dead_letter") == f and push_config(b) is None
        ]
        if not subs:
            p(f"the dead-letter topic of {f} has no pull subscription")
        elif not any(b.get("message_retention_duration") == "604800s" for _, b in subs):
            p(f"the dead-letter subscription of {f} does not keep messages 7 days")
    agent = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
    if m.locals.get("pubsub_agent") != agent:
        p("local.pubsub_agent is not the Pub/Sub service agent")
    topic_grants, opaque = m.instances("google_pubsub_topic_iam_member")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    sub_grants, opaque = m.instances("google_pubsub_subscription_iam_member")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    for f in TRIGGERS:
        if not any(
            ref_key(b.get("topic"), "google_pubsub_topic.dead_letter") == f
            and b.get("role") == "roles/pubsub.publisher"
            and squeeze(b.get("member")) == "local.pubsub_agent"
            for _, b in topic_grants
        ):
            p(f"the Pub/Sub service agent may not publish to the dead-letter topic of {f}")
        if not any(
            ref_key(b.get("subscription"), "google_pubsub_subscription.trigger") == f
            and b.get("role") == "roles/pubsub.subscriber"
            and squeeze(b.get("member")) == "local.pubsub_agent"
            for _, b in sub_grants
        ):
            p(f"the Pub/Sub service agent may not acknowledge on the trigger subscription of {f}")

    # --- Pull mode -----------------------------------------------------------
    # A function in var.pull_functions pulls its own trigger subscription:
    # push by default, the subscriber role for its account alone, the
    # subscription named in its environment (see push_env).
    pull_default = m.variables.get("pull_functions", {}).get("default")
    if pull_default != []:
        p(f"var.pull_functions defaults to {pull_default}, not [] (push)")
    pullers = [
        b
        for a, b in sub_grants
        if a.startswith("google_pubsub_subscription_iam_member.pull")
    ]
    if len(pullers) != 1:
        p(f"{len(pullers)} subscriber grants for pulling functions, not 1 over var.pull_functions")
    else:
        b = pullers[0]
        if (
            b.get("role") != "roles/pubsub.subscriber"
            or ref_key(b.get("subscription"), "google_pubsub_subscription.trigger") != "*"
            or squeeze(b.get("member")) != squeeze('serviceAccount:${google_service_account.this["*"].email}')
        ):
            p("a pulling function's account is not a subscriber on its own trigger subscription alone")

    # --- Publishers and project roles --------------------------------------
    granted = {f: set() for f in FUNCTIONS}
    for address, body in topic_grants:
        f = ref_key(body.get("member"), "google_service_account.this")
        if f is None:
            continue
        topic = ref_key(body.get("topic"), "google_pubsub_topic.this")
        if f not in granted:
            p(f"{address}: grants {body.get('role')} to the account of {f}, which is no function")
        elif topic is None:
            p(f"{address}: grants {f} {body.get('role')} on {body.get('topic')}")
        else:
            granted[f].add(topic)
    for f in FUNCTIONS:
        for t in sorted(granted[f] - set(PUBLISHES[f])):
            p(f"{f} may publish to {t}")
        for t in sorted(set(PUBLISHES[f]) - granted[f]):
            p(f"{f} may not publish to {t}")
    for address, body in sub_grants:
        f = ref_key(body.get("member"), "google_service_account.this")
        if f is not None:
            p(f"{address}: grants {f} {body.get('role')} on a subscription; push needs none")

    # --- Secrets -------------------------------------------------------------
    if squeeze(m.locals.get("secret_ids")) != squeeze(SECRET_IDS):
        p("local.secret_ids is not the token key, and score's API keys when it has any")
    secret_grants, opaque = m.instances("google_secret_manager_secret_iam_member")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    reads = {f: set() for f in FUNCTIONS}
    for address, body in secret_grants:
        f = ref_key(body.get("member"), "google_service_account.this")
        if f is None:
            continue
        secret = re.fullmatch(r'local\.secret_ids\["(\w+)"\]', squeeze(body.get("secret_id")) or "")
        if f not in reads:
            p(f"{address}: grants {body.get('role')} to the account of {f}, which is no function")
        elif body.get("role") != "roles/secretmanager.secretAccessor" or secret is None:
            p(f"{address}: grants {f} {body.get('role')} on {body.get('secret_id')}")
        else:
            reads[f].add(secret.group(1))
    for f in FUNCTIONS:
        for s in sorted(reads[f] - set(SECRETS[f])):
            p(f"{f} may read {s}")
        for s in sorted(set(SECRETS[f]) - reads[f]):
            p(f"{f} may not read {s}")
    project_grants, opaque = m.instances("google_project_iam_member")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    datastore = set()
    for address, body in project_grants:
        f = ref_key(body.get("member"), "google_service_account.this")
        if f is None:
            continue
        if body.get("role") != "roles/datastore.user":
            p(f"{address}: grants {f} {body.get('role')} on the project")
        else:
            datastore.add(f)
    for f in sorted(set(FUNCTIONS) - datastore):
        p(f"{f} has no roles/datastore.user")

    # --- Invokers ----------------------------------------------------------
    run_grants, opaque = m.instances("google_cloud_run_v2_service_iam_member")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    invokes = {f: [] for f in TRIGGERS}
    for address, body in run_grants:
        service = ref_key(body.get("name"), "google_cloud_run_v2_service.this")
        member = squeeze(body.get("member"))
        if service in TRIGGERS and member in ("allUsers", "allAuthenticatedUsers"):
            p(f"{address}: {service} is public")
        f = ref_key(body.get("member"), "google_service_account.invoker")
        if f is not None:
            invokes.setdefault(f, []).append((service, body.get("role")))
    for f in TRIGGERS:
        if invokes[f] != [(f, "roles/run.invoker")]:
            p(f"the invoker of {f} has {invokes[f]}, not roles/run.invoker on {f} alone")

    # --- Firestore ---------------------------------------------------------
    if m.locals.get("table_names") != TABLES:
        p(f"local.table_names is {m.locals.get('table_names')}, not {TABLES}")
    database = m.resources.get(("google_firestore_database", "this"), {})
    if database.get("type") != "FIRESTORE_NATIVE":
        p("the Firestore database is not FIRESTORE_NATIVE")
    if database.get("point_in_time_recovery_enablement") != "POINT_IN_TIME_RECOVERY_ENABLED":
        p("the Firestore database has no point-in-time recovery")
    if "var.deletion_protection" not in squeeze(database.get("delete_protection_state") or ""):
        p("the Firestore database's delete protection is not var.deletion_protection")
    fields, opaque = m.instances("google_firestore_field")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    ttl = {
        b.get("collection")
        for _, b in fields
        if b.get("field") == "expire_at"
        and block(b, "ttl_config") is not None
        and squeeze(b.get("database")) == "google_firestore_database.this.name"
    }
    for t in TABLES:
        if collection(t) not in ttl:
            p(f"collection `<name>-{t.replace('_', '-')}` has no TTL on expire_at")

    # --- Spend controls ------------------------------------------------------
    check_spend(m, p)
    metrics, opaque = m.instances("google_logging_metric")
    problems.extend(f"{a}: for_each not evaluated" for a in opaque)
    for f in FUNCTIONS:
        service = f'resource.labels.service_name = "${{local.service_names["{f}"]}}"'
        found = [
            (a, b)
            for a, b in metrics
            if COST_RECORDS in (b.get("filter") or "")
            and service in (b.get("filter") or "")
            and b.get("value_extractor") == COST_VALUE
            and (block(b, "metric_descriptor") or {}).get("value_type") == "DISTRIBUTION"
        ]
        if len(found) != 1:
            p(f"{len(found)} log-based distributions of {f}'s cost records (the total of its service's "
              f"`{COST_RECORDS}` entries), not 1")

    for name, body in m.variables.items():
        if "type" not in body or not body.get("description"):
            p(f"variable {name} has no type or no description")
    return problems


def check_spend(m, p):
    """The monthly budget against the contract."""
    for name in ("monthly_budget", "billing_account"):
        variable = m.variables.get(name)
        if variable is None:
            p(f"no variable {name}")
        elif "default" not in variable or variable["default"] is not None:
            p(f"var.{name} does not default to null")
    budgets = [(n, b) for (t, n), b in m.resources.items() if t == "google_billing_budget"]
    if len(budgets) != 1:
        p(f"{len(budgets)} billing budgets, not 1")
        return
    name, body = budgets[0]
    a = f"google_billing_budget.{name}"
    if "for_each" in body or nulls(body.get("count")) != "var.monthly_budget==null?0:1":
        p(f"{a}: not created exactly when var.monthly_budget is set")
    if squeeze(body.get("billing_account")) != "var.billing_account":
        p(f"{a}: billing_account is not var.billing_account")
    preconditions = [
        c
        for lifecycle in body.get("lifecycle") or []
        for c in (lifecycle.get("precondition") or [])
        if isinstance(c, dict)
    ]
    if not any(nulls(c.get("condition")) == "var.billing_account!=null" for c in preconditions):
        p(f"{a}: no precondition that var.billing_account is set")
    budget_filter = block(body, "budget_filter")
    if budget_filter is None or budget_filter.get("projects") != ["projects/${local.project_number}"]:
        p(f"{a}: not filtered to the deployment's project alone")
    amount = block(block(body, "amount") or {}, "specified_amount") or {}
    if squeeze(amount.get("units")) != "tostring(var.monthly_budget)" or amount.get("currency_code") != "USD":
        p(f"{a}: the amount is not var.monthly_budget USD")
    rules = sorted(
        (r.get("threshold_percent"), r.get("spend_basis", "CURRENT_SPEND"))
        for r in body.get("threshold_rules") or []
        if isinstance(r, dict)
    )
    if rules != BUDGET_THRESHOLDS:
        p(f"{a}: threshold rules are {rules}, not {BUDGET_THRESHOLDS}")
    notify = block(body, "all_updates_rule")
    if notify is None or squeeze(notify.get("monitoring_notification_channels")) != "var.notification_channels":
        p(f"{a}: does not notify var.notification_channels")


def check_environment(m, f, address, container, p):
    """f's environment against the contract."""
    if squeeze(m.locals.get("environment")) != ENVIRONMENT:
        p("local.environment is not common_environment merged with function_environment, nulls left out")
        return
    if squeeze(m.locals.get("cost_environment")) != COST_ENVIRONMENT:
        p("local.cost_environment is not the region, cpu and memory of each function")
    if "env" in container:
        p(f"{address}: env blocks outside local.environment and local.secret_environment")
    dynamic = {squeeze(d["env"].get("for_each")): d["env"] for d in container.get("dynamic", []) if "env" in d}
    plain = dynamic.pop(f'local.environment["{f}"]', None)
    secret = dynamic.pop(f'local.secret_environment["{f}"]', None)
    if dynamic:
        p(f"{address}: env also from {sorted(dynamic)}")
    if plain is None:
        p(f"{address}: env does not come from local.environment[\"{f}\"]")
    else:
        content = block(plain, "content") or {}
        if squeeze(content.get("name")) != "env.key" or squeeze(content.get("value")) != "env.value":
            p(f"{address}: plain env is not name = env.key, value = env.value")
    if secret is None:
        p(f"{address}: no env from local.secret_environment[\"{f}\"]")
    else:
        content = block(secret, "content") or {}
        ref = block(block(content, "value_source") or {}, "secret_key_ref") or {}
        if (
            squeeze(content.get("name")) != "env.key"
            or "value" in content
            or squeeze(ref.get("secret")) != "env.value.secret"
            or squeeze(ref.get("version")) != "env.value.version"
        ):
            p(f"{address}: secret env is not name = env.key from secret env.value.secret at env.value.version")
    expected = dict(COMMON_ENV)
    if f in TRIGGERS:
        expected.update(push_env(f))
    for name, topic in TOPIC_ENV.get(f, {}).items():
        if topic not in PUBLISHES[f]:
            p(f"{name} names {topic}, which {f} does not publish to")
        expected[name] = f'google_pubsub_topic.this["{topic}"].name'
    if f == "score":
        expected.update(SCORE_ENV)
    common = m.locals.get("common_environment")
    own = (m.locals.get("function_environment") or {}).get(f)
    if not isinstance(common, dict) or not isinstance(own, dict):
        p(f"{f}: common_environment or function_environment[\"{f}\"] is not a map")
        return
    actual = {k: squeeze(v) for k, v in {**common, **own}.items()}
    for name in sorted(set(expected) - set(actual)):
        p(f"{f} environment: {name} is missing")
    for name in sorted(set(actual) - set(expected)):
        p(f"{f} environment: {name} is not in the contract")
    for name in sorted(set(expected) & set(actual)):
        if actual[name] != squeeze(expected[name]):
            p(f"{f} environment: {name} is {actual[name]}, not {expected[name]}")
    if squeeze(m.locals.get("secret_environment")) != SECRET_ENVIRONMENT:
        p("local.secret_environment is not the token key for every function and score's API keys")
        return
    token = m.locals.get("token_key_ref")
    if not isinstance(token, dict) or {k: squeeze(v) for k, v in token.items()} != TOKEN_KEY_REF:
        p(f"local.token_key_ref is {token}, not {TOKEN_KEY_REF}")
    if f == "score" and squeeze(m.locals.get("api_keys_ref")) != API_KEYS_REF:
        p("local.api_keys_ref is not the API keys secret's version")
    secrets = {"TAILOR_TOKEN_KEY"} | ({"TAILOR_API_KEYS"} if f == "score" else set())
    for name in sorted(secrets & set(actual)):
        p(f"{f} environment: {name} is set both plainly and from a secret")


class Copy:
    """terraform/modules/gcp copied to a temporary directory, to break."""

    def __init__(self, test):
        base = tempfile.mkdtemp(prefix="tailor-gcp-")
        test.addCleanup(shutil.rmtree, base)
        self.dir = os.path.join(base, "gcp")
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

    def append(self, name, text):
        with open(os.path.join(self.dir, name), "a", encoding="utf-8") as f:
            f.write(text)
        return self


class ModuleTest(unittest.TestCase):
    def test_module_meets_the_contract(self):
        self.assertEqual(check(MODULE), [])


class BrokenCopyTest(unittest.TestCase):
    """Each break of a copy of the module is reported."""

    def broken(self, edits, expected):
        copy = Copy(self)
        for edit in edits:
            edit(copy)
        problems = check(copy.dir)
        self.assertIn(expected, problems, f"problems: {problems}")

    def test_a_function_publishing_to_another_topic(self):
        self.broken(
            [
                lambda c: c.edit(
                    "iam.tf",
                    '      triggered_by = "enriched"\n      publishes    = []\n',
                    '      triggered_by = "enriched"\n      publishes    = ["events"]\n',
                )
            ],
            "features may publish to events",
        )

    def test_a_function_reading_another_secret(self):
        self.broken(
            [
                lambda c: c.edit(
                    "iam.tf",
                    '      triggered_by = "consent-changes"\n'
                    '      publishes    = []\n'
                    '      secrets      = ["token_key"]\n',
                    '      triggered_by = "consent-changes"\n      publishes    = []\n'
                    '      secrets      = ["token_key", "api_keys"]\n',
                )
            ],
            "consent may read api_keys",
        )

    def test_a_function_without_the_token_key(self):
        self.broken(
            [
                lambda c: c.edit(
                    "iam.tf",
                    '      secrets      = ["token_key", "api_keys"]\n',
                    '      secrets      = ["api_keys"]\n',
                )
            ],
            "score may not read token_key",
        )

    def test_a_secret_grant_outside_the_permissions(self):
        extra = """
resource "google_secret_manager_secret_iam_member" "extra" {
  project   = var.project_id
  secret_id = local.secret_ids["api_keys"]
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.this["ingest"].member
}
"""
        self.broken([lambda c: c.append("iam.tf", extra)], "ingest may read api_keys")

    def test_api_keys_secret_without_api_keys(self):
        self.broken(
            [
                lambda c: c.edit(
                    "iam.tf",
                    "    local.api_keys ? { api_keys = google_secret_manager_secret.api_keys[0].secret_id } : {},\n",
                    "    { api_keys = google_secret_manager_secret.api_keys[0].secret_id },\n",
                )
            ],
            "local.secret_ids is not the token key, and score's API keys when it has any",
        )

    def test_a_stream_function_without_its_trigger(self):
        self.broken(
            [lambda c: c.edit("iam.tf", '      triggered_by = "enriched"\n', "      triggered_by = null\n")],
            "local.triggers is {'ingest': 'events', 'enrich': 'ingested', 'consent': 'consent-changes'}, not "
            "{'ingest': 'events', 'enrich': 'ingested', 'features': 'enriched', 'consent': 'consent-changes'}",
        )

    def test_a_grant_outside_the_publisher_map(self):
        extra = """
resource "google_pubsub_topic_iam_member" "extra" {
  project = var.project_id
  topic   = google_pubsub_topic.this["enriched"].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.this["score"].member
}
"""
        self.broken([lambda c: c.append("iam.tf", extra)], "score may publish to enriched")

    def test_wrong_args(self):
        self.broken(
            [lambda c: c.edit("run.tf", "args  = [each.key]", 'args  = ["serve", each.key]')],
            '0 Cloud Run services with args ["score"], not 1',
        )

    def test_shared_service_account(self):
        self.broken(
            [
                lambda c: c.edit(
                    "run.tf",
                    "google_service_account.this[each.key].email",
                    'google_service_account.this["ingest"].email',
                )
            ],
            'google_cloud_run_v2_service.this["enrich"]: does not run as google_service_account.this["enrich"]',
        )

    def test_no_dead_letter_policy(self):
        self.broken(
            [
                lambda c: c.edit(
                    "pubsub.tf",
                    "  dead_letter_policy {\n"
                    "    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id\n"
                    "    max_delivery_attempts = var.max_delivery_attempts\n"
                    "  }\n",
                    "",
                )
            ],
            'google_pubsub_subscription.trigger["consent"]: no dead_letter_policy',
        )

    def test_no_oidc_token(self):
        self.broken(
            [
                lambda c: c.edit(
                    "pubsub.tf",
                    "      oidc_token {\n"
                    "        service_account_email = google_service_account.invoker[each.key].email\n"
                    "        audience              = local.push_audience[each.key]\n"
                    "      }\n",
                    "",
                )
            ],
            'google_pubsub_subscription.trigger["ingest"]: no oidc_token',
        )

    def test_a_second_push_subscription(self):
        extra = """
resource "google_pubsub_subscription" "again" {
  project = var.project_id
  name    = "again"
  topic   = google_pubsub_topic.this["ingested"].id

  push_config {
    push_endpoint = "${google_cloud_run_v2_service.this["enrich"].uri}/push"
  }
}
"""
        self.broken([lambda c: c.append("pubsub.tf", extra)], "2 push subscriptions to enrich, not 1")

    def test_a_function_that_pulls_another_subscription(self):
        self.broken(
            [
                lambda c: c.edit(
                    "main.tf",
                    'TAILOR_PULL_SUBSCRIPTION = local.pulls["features"] ? local.subscription_names["features"] : null',
                    'TAILOR_PULL_SUBSCRIPTION = local.subscription_names["enrich"]',
                )
            ],
            'features environment: TAILOR_PULL_SUBSCRIPTION is local.subscription_names["enrich"], '
            'not local.pulls["features"]?local.subscription_names["features"]:null',
        )

    def test_pull_granted_on_another_subscription(self):
        self.broken(
            [
                lambda c: c.edit(
                    "pubsub.tf",
                    "  subscription = google_pubsub_subscription.trigger[each.key].name\n"
                    '  role         = "roles/pubsub.subscriber"\n'
                    '  member       = "serviceAccount:${google_service_account.this[each.key].email}"',
                    '  subscription = google_pubsub_subscription.trigger["ingest"].name\n'
                    '  role         = "roles/pubsub.subscriber"\n'
                    '  member       = "serviceAccount:${google_service_account.this[each.key].email}"',
                )
            ],
            "a pulling function's account is not a subscriber on its own trigger subscription alone",
        )

    def test_a_subscription_on_the_wrong_topic(self):
        self.broken(
            [
                lambda c: c.edit(
                    "pubsub.tf",
                    "  topic   = google_pubsub_topic.this[each.value].id\n",
                    '  topic   = google_pubsub_topic.this["events"].id\n',
                )
            ],
            'google_pubsub_subscription.trigger["enrich"]: topic is not ingested',
        )

    def test_ack_deadline_shorter_than_the_timeout(self):
        self.broken(
            [
                lambda c: c.edit(
                    "pubsub.tf",
                    "ack_deadline_seconds       = var.timeout[each.key]",
                    "ack_deadline_seconds       = 10",
                )
            ],
            'google_pubsub_subscription.trigger["features"]: ack deadline is not var.timeout["features"], '
            "the service's timeout",
        )

    def test_a_dead_letter_topic_without_subscription(self):
        self.broken(
            [
                lambda c: c.edit(
                    "pubsub.tf",
                    "  topic   = google_pubsub_topic.dead_letter[each.key].id\n",
                    '  topic   = google_pubsub_topic.this["events"].id\n',
                )
            ],
            "the dead-letter topic of enrich has no pull subscription",
        )

    def test_a_collection_without_ttl(self):
        self.broken(
            [lambda c: c.edit("main.tf", '    "tombstones",\n', "")],
            "collection `<name>-tombstones` has no TTL on expire_at",
        )

    def test_collections_named_otherwise(self):
        self.broken(
            [lambda c: c.edit("main.tf", '"${var.name}-${replace(t, "_", "-")}"', '"${var.name}-${t}"')],
            "collection `<name>-feature-inputs` has no TTL on expire_at",
        )

    def test_score_without_its_api_keys(self):
        self.broken(
            [
                lambda c: c.edit(
                    "main.tf",
                    '      f == "score" && local.api_keys ? { TAILOR_API_KEYS = local.api_keys_ref } : {},\n',
                    "",
                )
            ],
            "local.secret_environment is not the token key for every function and score's API keys",
        )

    def test_ttl_on_another_field(self):
        self.broken(
            [lambda c: c.edit("firestore.tf", 'field      = "expire_at"', 'field      = "expires_at"')],
            "collection `<name>-audit` has no TTL on expire_at",
        )

    def test_a_missing_topic_variable(self):
        self.broken(
            [
                lambda c: c.edit(
                    "main.tf",
                    "      TAILOR_TOPIC_CONSENT_CHANGES = google_pubsub_topic.this[\"consent-changes\"].name\n",
                    "",
                )
            ],
            "enrich environment: TAILOR_TOPIC_CONSENT_CHANGES is missing",
        )

    def test_a_topic_variable_where_nothing_is_published(self):
        self.broken(
            [
                lambda c: c.edit(
                    "main.tf",
                    '    consent = {\n',
                    '    consent = {\n      TAILOR_TOPIC_ENRICHED = google_pubsub_topic.this["enriched"].name\n',
                )
            ],
            "consent environment: TAILOR_TOPIC_ENRICHED is not in the contract",
        )

    def test_another_functions_push_audience(self):
        self.broken(
            [
                lambda c: c.edit(
                    "main.tf",
                    'TAILOR_PUSH_AUDIENCE     = local.push_audience["features"]',
                    'TAILOR_PUSH_AUDIENCE     = local.push_audience["consent"]',
                )
            ],
            'features environment: TAILOR_PUSH_AUDIENCE is local.push_audience["consent"], not local.push_audience["features"]',
        )

    def test_token_key_in_plain_environment(self):
        self.broken(
            [
                lambda c: c.edit(
                    "main.tf",
                    "    TAILOR_LOG                = var.log_level\n",
                    "    TAILOR_LOG                = var.log_level\n    TAILOR_TOKEN_KEY          = var.token_key\n",
                )
            ],
            "ingest environment: TAILOR_TOKEN_KEY is not in the contract",
        )

    def test_every_service_billed_at_one_functions_size(self):
        self.broken(
            [lambda c: c.edit("main.tf", "TAILOR_MEMORY      = var.memory[f]", 'TAILOR_MEMORY      = var.memory["score"]')],
            "local.cost_environment is not the region, cpu and memory of each function",
        )

    def test_a_public_stream_service(self):
        self.broken(
            [lambda c: c.edit("run.tf", '"INGRESS_TRAFFIC_INTERNAL_ONLY"', '"INGRESS_TRAFFIC_ALL"')],
            'google_cloud_run_v2_service.this["consent"]: ingress is not INGRESS_TRAFFIC_INTERNAL_ONLY',
        )

    def test_an_invoker_on_another_service(self):
        self.broken(
            [
                lambda c: c.edit(
                    "iam.tf",
                    "  name     = google_cloud_run_v2_service.this[each.key].name\n",
                    '  name     = google_cloud_run_v2_service.this["score"].name\n',
                )
            ],
            "the invoker of ingest has [('score', 'roles/run.invoker')], not roles/run.invoker on ingest alone",
        )

    def test_a_project_role_beyond_firestore(self):
        extra = """
resource "google_project_iam_member" "extra" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = google_service_account.this["features"].member
}
"""
        self.broken(
            [lambda c: c.append("iam.tf", extra)],
            "google_project_iam_member.extra: grants features roles/pubsub.publisher on the project",
        )

    def test_a_budget_without_notifications(self):
        self.broken(
            [
                lambda c: c.edit(
                    "budget.tf",
                    "  all_updates_rule {\n"
                    "    monitoring_notification_channels = var.notification_channels\n"
                    "  }\n",
                    "",
                )
            ],
            "google_billing_budget.monthly: does not notify var.notification_channels",
        )

    def test_a_budget_over_the_whole_billing_account(self):
        self.broken(
            [
                lambda c: c.edit(
                    "budget.tf",
                    '    projects        = ["projects/${local.project_number}"]\n',
                    "",
                )
            ],
            "google_billing_budget.monthly: not filtered to the deployment's project alone",
        )

    def test_a_budget_without_the_forecast(self):
        self.broken(
            [lambda c: c.edit("budget.tf", '"FORECASTED_SPEND"', '"CURRENT_SPEND"')],
            "google_billing_budget.monthly: threshold rules are [(0.8, 'CURRENT_SPEND'), (1.0, 'CURRENT_SPEND')], "
            "not [(0.8, 'CURRENT_SPEND'), (1.0, 'FORECASTED_SPEND')]",
        )

    def test_a_budget_whatever_monthly_budget(self):
        self.broken(
            [lambda c: c.edit("budget.tf", "count = var.monthly_budget == null ? 0 : 1", "count = 1")],
            "google_billing_budget.monthly: not created exactly when var.monthly_budget is set",
        )

    def test_a_budget_without_its_billing_account(self):
        self.broken(
            [
                lambda c: c.edit(
                    "budget.tf",
                    "      condition     = var.billing_account != null\n",
                    "      condition     = true\n",
                )
            ],
            "google_billing_budget.monthly: no precondition that var.billing_account is set",
        )

    def test_a_cost_metric_of_other_entries(self):
        self.broken(
            [lambda c: c.edit("monitoring.tf", 'jsonPayload.message = \\"cost record\\"', 'jsonPayload.message = \\"report\\"')],
            "0 log-based distributions of score's cost records (the total of its service's "
            '`jsonPayload.message = "cost record"` entries), not 1',
        )


if __name__ == "__main__":
    unittest.main()
