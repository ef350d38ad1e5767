"""deploy/k8s rendered with kustomize and checked: Kubernetes' own schemas (kubernetes-validate,
offline, strict: unknown fields fail), required fields of the CRDs, and the cross-references
that a schema cannot see (settings, ports, selectors, grace period vs. shutdown timeout)."""

from __future__ import annotations

import copy

import jsonschema
import kubernetes_validate
import pytest
from deploy_support import DEPLOY, render_kustomization

from streamscribe.settings import Settings

K8S_VERSION = "1.32.0"
OVERLAYS = ["base", "overlays/gpu", "overlays/cpu"]
BUILTIN = {"Namespace", "ConfigMap", "Secret", "Service", "Deployment", "PodDisruptionBudget", "PersistentVolumeClaim"}

# The fields the KEDA and Prometheus-operator controllers require (their CRDs' openAPIV3Schema).
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): {
        "type": "object",
        "required": ["metadata", "spec"],
        "properties": {"spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer"},
                "cooldownPeriod": {"type": "integer"},
                "triggers": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["type", "metadata"],
                    "properties": {"type": {"type": "string"},
                                   "metadata": {"type": "object", "additionalProperties": {"type": "string"}}},
                }},
            },
        }},
    },
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "type": "object",
        "required": ["metadata", "spec"],
        "properties": {"spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {"type": "object"},
                "endpoints": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["port"],
                    "properties": {"port": {"type": "string"}, "path": {"type": "string"}, "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"}},
                }},
            },
        }},
    },
}


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, render_kustomization(DEPLOY / "k8s" / request.param)


def one(docs: list[dict], kind: str) -> dict:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def config(docs: list[dict]) -> dict[str, str]:
    return one(docs, "ConfigMap")["data"]


def container(docs: list[dict]) -> dict:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def test_every_manifest_validates(rendered):
    _, docs = rendered
    kinds = {d["kind"] for d in docs}
    assert kinds == BUILTIN | {"ScaledObject", "ServiceMonitor"}
    for doc in docs:
        if doc["kind"] in BUILTIN:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        else:
            jsonschema.validate(doc, CRD_SCHEMAS[(doc["apiVersion"], doc["kind"])])


def test_the_validators_reject_mistakes(rendered):
    """Guards the check above: a typo in a Deployment and a ScaledObject without triggers fail."""
    _, docs = rendered
    deployment = copy.deepcopy(one(docs, "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {"path": "/readyz"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    scaled = copy.deepcopy(one(docs, "ScaledObject"))
    del scaled["spec"]["triggers"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, CRD_SCHEMAS[("keda.sh/v1alpha1", "ScaledObject")])


def test_config_map_holds_valid_streamscribe_settings(rendered, monkeypatch):
    _, docs = rendered
    data = config(docs)
    fields = {f"STREAMSCRIBE_{name.upper()}" for name in Settings.model_fields}
    assert set(data) <= fields, f"not streamscribe settings: {sorted(set(data) - fields)}"
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    Settings()  # every value parses


def test_grace_period_covers_the_job_drain_deadline(rendered):
    _, docs = rendered
    shutdown = float(config(docs).get("STREAMSCRIBE_SHUTDOWN_TIMEOUT_S", Settings.model_fields["shutdown_timeout_s"].default))
    grace = one(docs, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= shutdown + 10, f"terminationGracePeriodSeconds {grace} leaves no margin over shutdown_timeout_s {shutdown}"


def test_probes_ports_and_selectors_line_up(rendered):
    _, docs = rendered
    deployment, service, monitor, pdb = (one(docs, k) for k in ("Deployment", "Service", "ServiceMonitor", "PodDisruptionBudget"))
    c = container(docs)
    port = next(p for p in c["ports"] if p["name"] == "metrics")
    assert port["containerPort"] == int(config(docs).get("STREAMSCRIBE_METRICS_PORT", Settings.model_fields["metrics_port"].default))
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (deployment["spec"]["selector"]["matchLabels"], service["spec"]["selector"], pdb["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= pod_labels.items()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
    assert all(p["targetPort"] == "metrics" for p in service["spec"]["ports"])
    sc = deployment["spec"]["template"]["spec"]["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0


def test_referenced_objects_exist(rendered):
    _, docs = rendered
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    for volume in pod["volumes"]:
        if "secret" in volume:
            assert ("Secret", volume["secret"]["secretName"]) in names
        if "persistentVolumeClaim" in volume:
            assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in names
    for ref in container(docs)["envFrom"]:
        assert ("ConfigMap", ref["configMapRef"]["name"]) in names
    # The API key file lies in the mounted Secret, under a key the Secret has.
    key_file = config(docs)["STREAMSCRIBE_OPENAI_API_KEY_FILE"]
    secret_volume = next(v for v in pod["volumes"] if "secret" in v)
    mount = next(m for m in container(docs)["volumeMounts"] if m["name"] == secret_volume["name"])
    directory, key = key_file.rsplit("/", 1)
    assert directory == mount["mountPath"]
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == secret_volume["secret"]["secretName"])
    assert key in secret.get("stringData", secret.get("data", {}))


def test_keda_scales_on_lag_with_at_most_one_pod_per_partition(rendered):
    _, docs = rendered
    scaled, data = one(docs, "ScaledObject"), config(docs)
    assert scaled["spec"]["scaleTargetRef"]["name"] == one(docs, "Deployment")["metadata"]["name"]
    assert scaled["spec"]["maxReplicaCount"] <= int(data["STREAMSCRIBE_TOPIC_PARTITIONS"])
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    assert meta["topic"] == data["STREAMSCRIBE_INPUT_TOPIC"]
    assert meta["consumerGroup"] == data["STREAMSCRIBE_GROUP_ID"]
    assert meta["bootstrapServers"] == data["STREAMSCRIBE_BOOTSTRAP_SERVERS"]
    assert meta.get("allowIdleConsumers", "false") == "false"


def test_gpu_overlay_puts_one_gpu_pod_on_gpu_nodes(rendered):
    overlay, docs = rendered
    resources = container(docs)["resources"]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    if overlay != "overlays/gpu":
        assert "nvidia.com/gpu" not in resources.get("limits", {})
        assert config(docs)["STREAMSCRIBE_USE_GPU_PIPELINE"] == "false"
        return
    assert resources["limits"]["nvidia.com/gpu"] == 1 and resources["requests"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"]
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert config(docs)["STREAMSCRIBE_USE_GPU_PIPELINE"] == "true"
    assert container(docs)["image"].endswith(":gpu")
    # A rolling update must not need a second GPU per replica.
    assert one(docs, "Deployment")["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
