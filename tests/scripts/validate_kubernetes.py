"""Validates a generated `kubernetes/` folder against the Prometheus Operator's CRD schemas.

Usage: validate_kubernetes.py KUBERNETES_DIR SCHEMAS_DIR RULES_OUT

Each custom resource is checked against the `openAPIV3Schema` of its CRD with the `jsonschema`
package (the `x-kubernetes-*` extensions are annotations to it); the ConfigMap and the
kustomization against their documented shape below; every object's metadata against
Kubernetes' rules for names, namespaces and labels. The rule groups of the PrometheusRule are
written to RULES_OUT for `promtool check rules`. Prints one line per object, exits non-zero on
the first problem.
"""

import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml


class Loader(yaml.SafeLoader):
    """The CRDs spell `=` as a bare scalar, which PyYAML takes for its `value` tag."""


Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")

# https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/config-map-v1/
CONFIG_MAP = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "data"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "v1"},
        "kind": {"const": "ConfigMap"},
        "metadata": {"type": "object"},
        "data": {
            "type": "object",
            "propertyNames": {"pattern": r"^[-._a-zA-Z0-9]+$", "maxLength": 253},
            "additionalProperties": {"type": "string"},
        },
    },
}

# https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/
KUSTOMIZATION = {
    "type": "object",
    "required": ["apiVersion", "kind", "resources"],
    "properties": {
        "apiVersion": {"const": "kustomize.config.k8s.io/v1beta1"},
        "kind": {"const": "Kustomization"},
        "namespace": {"type": "string", "pattern": DNS_LABEL.pattern},
        "resources": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
}


def crd_schemas(directory):
    schemas = {}
    for path in Path(directory).glob("*.yaml"):
        crd = yaml.load(path.read_text(), Loader=Loader)
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            api = f"{crd['spec']['group']}/{version['name']}"
            schemas[(api, kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def is_subdomain(name):
    return len(name) <= 253 and all(DNS_LABEL.match(part) and len(part) <= 63 for part in name.split("."))


def check_metadata(obj, where):
    meta = obj.get("metadata", {})
    name = meta.get("name", "")
    assert is_subdomain(name), f"{where}: metadata.name {name!r} is not a DNS subdomain"
    namespace = meta.get("namespace", "")
    assert DNS_LABEL.match(namespace) and len(namespace) <= 63, f"{where}: namespace {namespace!r}"
    for key, value in meta.get("labels", {}).items():
        prefix, _, short = key.rpartition("/")
        assert not prefix or is_subdomain(prefix), f"{where}: label key {key!r}"
        assert short and len(short) <= 63 and LABEL_VALUE.match(short), f"{where}: label key {key!r}"
        assert isinstance(value, str) and len(value) <= 63 and LABEL_VALUE.match(value), f"{where}: label {key}={value!r}"


def main(directory, schemas_dir, rules_out):
    schemas = crd_schemas(schemas_dir)
    directory = Path(directory)
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    jsonschema.validate(kustomization, KUSTOMIZATION)
    print(f"kustomization.yaml: Kustomization of {len(kustomization['resources'])} resources, valid")
    for resource in kustomization["resources"]:
        obj = yaml.safe_load((directory / resource).read_text())
        api, kind = obj["apiVersion"], obj["kind"]
        check_metadata(obj, resource)
        if kind == "ConfigMap":
            jsonschema.validate(obj, CONFIG_MAP)
            for key, value in obj["data"].items():
                json.loads(value)
        else:
            schema = schemas.get((api, kind))
            assert schema is not None, f"{resource}: no CRD schema for {api} {kind}"
            # Not checked against the metaschema: the CRDs' patterns are Go's (`^(?i)…`), which
            # Python's `re` reads only at the start; a pattern is compiled when a value meets it.
            errors = list(jsonschema.Draft7Validator(schema).iter_errors(obj))
            assert not errors, f"{resource}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
        if kind == "PrometheusRule":
            Path(rules_out).write_text(yaml.safe_dump({"groups": obj["spec"]["groups"]}))
        print(f"{resource}: {kind} {obj['metadata']['name']}, valid")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except (AssertionError, jsonschema.ValidationError) as error:
        print(f"INVALID: {error}", file=sys.stderr)
        sys.exit(1)
