"""The Kubernetes manifests parse, fit together, and probe routes the app really serves."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.routing import Route

from relayer.api.app import create_app
from relayer.config import load_settings
from tests.factories import make_settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"


def documents() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert isinstance(document, dict), path
            if document.get("kind") == "Kustomization":
                continue
            assert {"apiVersion", "kind", "metadata"} <= set(document), path
            key = f"{document['kind']}/{document['metadata']['name']}"
            assert key not in found, f"{key} defined twice"
            found[key] = document
    return found


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    return documents()


@pytest.fixture(scope="module")
def get_routes(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    app = create_app(make_settings(data_dir=str(tmp_path_factory.mktemp("app"))),
                     run_scheduler=False)
    return {route.path for route in app.routes
            if isinstance(route, Route) and "GET" in (route.methods or ())}


def container(manifests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (main,) = manifests["Deployment/relayer"]["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = main
    return result


def configured_settings(manifests: dict[str, dict[str, Any]], tmp_path: Path) -> Any:
    path = tmp_path / "relayer.toml"
    path.write_text(manifests["ConfigMap/relayer-config"]["data"]["relayer.toml"])
    return load_settings(path)


def test_every_manifest_parses_and_every_kind_is_there(
        manifests: dict[str, dict[str, Any]]) -> None:
    kinds = {key.split("/")[0] for key in manifests}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler",
            "PodDisruptionBudget", "NetworkPolicy", "PrometheusRule"} <= kinds
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    for generator in kustomization.get("configMapGenerator", []):
        for file in generator["files"]:
            assert (K8S / file).is_file(), file
    # The Secret is a template, kept out of `kubectl apply -k`.
    assert "secret.example.yaml" not in kustomization["resources"]


def test_probes_hit_real_routes_on_the_configured_port(
        manifests: dict[str, dict[str, Any]], get_routes: set[str], tmp_path: Path) -> None:
    main = container(manifests)
    ports = {port["name"]: port["containerPort"] for port in main["ports"]}
    settings = configured_settings(manifests, tmp_path)
    assert ports == {"http": settings.server.port}
    assert settings.server.host == "0.0.0.0"
    probes = {name: main[name] for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    for name, probe in probes.items():
        get = probe["httpGet"]
        assert get["path"] in get_routes, (name, get["path"])
        port = get["port"]
        assert (ports[port] if isinstance(port, str) else port) == settings.server.port, name
        assert probe["timeoutSeconds"] < probe["periodSeconds"], name
    assert probes["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    annotations = manifests["Deployment/relayer"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] in get_routes
    assert int(annotations["prometheus.io/port"]) == settings.server.port
    service = manifests["Service/relayer"]["spec"]
    assert all(port["targetPort"] in ports for port in service["ports"])
    policy_ports = {port["port"] for rule in manifests["NetworkPolicy/relayer"]["spec"]["ingress"]
                    for port in rule["ports"]}
    assert policy_ports == {settings.server.port}


def test_configmap_is_a_valid_configuration_without_secrets(
        manifests: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    text = manifests["ConfigMap/relayer-config"]["data"]["relayer.toml"]
    settings = configured_settings(manifests, tmp_path)
    assert settings.log.format == "json"
    assert not settings.store.url and "password" not in text.lower()
    assert "custody_keys =" not in text and "secret_key =" not in text
    main = container(manifests)
    mounts = {mount["name"]: mount["mountPath"] for mount in main["volumeMounts"]}
    keys_file = Path(settings.security.api_keys_file)
    assert keys_file.parent == Path(mounts["secrets"])
    assert tomllib.loads(text)["data_dir"] == mounts["data"]


def test_secrets_come_from_the_secret_template(manifests: dict[str, dict[str, Any]]) -> None:
    main = container(manifests)
    template = manifests["Secret/relayer-secrets"]["stringData"]
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in main["env"]
           if "valueFrom" in item}
    assert set(env) == {"RELAYER_STORE_URL", "RELAYER_SETTLEMENT_CUSTODY_KEYS",
                        "RELAYER_WEBHOOKS_SECRET_KEY"}
    for ref in env.values():
        assert ref["name"] == "relayer-secrets" and ref["key"] in template
    volumes = {v["name"]: v for v in
               manifests["Deployment/relayer"]["spec"]["template"]["spec"]["volumes"]}
    for item in volumes["secrets"]["secret"]["items"]:
        assert item["key"] in template
    # Every RELAYER_* variable names a real setting.
    load_settings(environ={name: "x" if "URL" not in name else "postgresql://h/db"
                           for name in env if name != "RELAYER_WEBHOOKS_SECRET_KEY"}
                  | {"RELAYER_WEBHOOKS_SECRET_KEY": "00" * 32})


def test_pod_runs_unprivileged_with_resources(manifests: dict[str, dict[str, Any]]) -> None:
    pod = manifests["Deployment/relayer"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    main = container(manifests)
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(main["resources"][kind])


def test_selectors_and_targets_agree(manifests: dict[str, dict[str, Any]]) -> None:
    deployment = manifests["Deployment/relayer"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    assert selects(manifests["Service/relayer"]["spec"]["selector"])
    assert selects(manifests["PodDisruptionBudget/relayer"]["spec"]["selector"]["matchLabels"])
    assert selects(manifests["NetworkPolicy/relayer"]["spec"]["podSelector"]["matchLabels"])
    hpa = manifests["HorizontalPodAutoscaler/relayer"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "relayer"}
    assert hpa["minReplicas"] >= 2 > manifests["PodDisruptionBudget/relayer"]["spec"][
        "minAvailable"]
    assert deployment["spec"]["replicas"] >= hpa["minReplicas"]
