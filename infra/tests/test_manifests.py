"""Offline checks of the deployment files under infra/ (no Docker engine, cluster or network).

Kubernetes manifests are validated against the schemas bundled with `kubernetes-validate`,
compose.yaml against the Compose specification schema vendored by `check-jsonschema`; the
Dockerfile, nginx config and env.example are checked structurally and against saas/env.py.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
K8S = INFRA / "k8s"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
ENTRYPOINT = INFRA / "docker" / "entrypoint.sh"
COMPOSE = INFRA / "compose.yaml"
NGINX_CONF = INFRA / "nginx" / "nginx.conf"
ENV_EXAMPLE = INFRA / "env.example"
ENV_PY = ROOT / "saas" / "env.py"

SECRET_EXAMPLE = "secret.example.yaml"
KUSTOMIZATION = "kustomization.yaml"
APP_PORT = 8000
APP_UID = 10001
APP_SERVICES = ("web", "worker", "beat", "migrate")
# Read by saas/env.py but set by the test runner (pytest-xdist), never by an operator: not part
# of the deployment configuration.
TEST_RUNNER_VARIABLES = frozenset({"PYTEST_XDIST_WORKER"})
# Oldest Kubernetes minor version the manifests are checked against (all bundled newer ones too).
OLDEST_KUBERNETES = (1, 25)


# --- helpers -----------------------------------------------------------------------------


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@cache
def env_py_reads() -> frozenset[str]:
    """Names saas/env.py reads through its typed helpers: _str("X"..., _bool("X"..., _int("X"...)."""
    names = re.findall(r"""_(?:str|bool|int)\(\s*["']([A-Z][A-Z0-9_]*)["']""", ENV_PY.read_text())
    return frozenset(names)


def env_py_variables() -> frozenset[str]:
    """The deployment configuration: what saas/env.py reads, minus test-runner variables."""
    return env_py_reads() - TEST_RUNNER_VARIABLES


def env_example_entries() -> list[tuple[str, str]]:
    entries = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition("=")
        assert sep, f"not a NAME=value line in env.example: {line!r}"
        entries.append((name.strip(), value.strip()))
    return entries


def k8s_manifest_files() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != KUSTOMIZATION)


@cache
def k8s_resources() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(file name, document) of every Kubernetes object, the secret example included."""
    return tuple((path.name, doc) for path in k8s_manifest_files() for doc in load_yaml_documents(path))


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    matches = [doc for _, doc in k8s_resources() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected exactly one {kind}/{name}, found {len(matches)}"
    return copy.deepcopy(matches[0])


def kustomization() -> dict[str, Any]:
    docs = load_yaml_documents(K8S / KUSTOMIZATION)
    assert len(docs) == 1
    return docs[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def kubernetes_versions() -> list[str]:
    versions = {kv_utils.major_minor(version) for version in kv_utils.all_versions()}
    wanted = [v for v in versions if tuple(int(part) for part in v.split(".")) >= OLDEST_KUBERNETES]
    return sorted(wanted, key=lambda v: tuple(int(part) for part in v.split(".")))


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@cache
def compose_schema() -> dict[str, Any]:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema: dict[str, Any] = json.loads(schema_file.read_text())
    return schema


def compose_errors(document: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(compose_schema())
    validator = validator_class(compose_schema())
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        pending += line
        keyword, _, arguments = pending.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append((keyword, arguments))
    return stages


def from_image_and_alias(from_arguments: str) -> tuple[str, str | None]:
    tokens = [token for token in from_arguments.split() if not token.startswith("--")]
    image = tokens[0]
    alias = tokens[2] if len(tokens) == 3 and tokens[1].upper() == "AS" else None
    return image, alias


def copy_sources(arguments: str) -> tuple[dict[str, str], list[str]]:
    """Flags (--from=...) and source paths of a COPY/ADD instruction (shell or JSON form)."""
    flags = {}
    tokens = arguments.split()
    while tokens and tokens[0].startswith("--"):
        name, _, value = tokens.pop(0)[2:].partition("=")
        flags[name] = value
    rest = " ".join(tokens)
    paths = json.loads(rest) if rest.startswith("[") else rest.split()
    assert len(paths) >= 2, f"COPY needs a source and a destination: {arguments!r}"
    return flags, paths[:-1]


def exec_form(arguments: str) -> list[str]:
    assert arguments.startswith("["), f"use the exec (JSON) form: {arguments!r}"
    value = json.loads(arguments)
    assert isinstance(value, list)
    return [str(item) for item in value]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in dockerfile_stages()[-1]:
        if keyword == "ENV":
            for name, quoted, bare in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))', arguments):
                env[name] = quoted or bare
    return env


def nginx_conf() -> str:
    return NGINX_CONF.read_text()


def nginx_directives(name: str) -> list[str]:
    """Arguments of every `name ...;` directive of nginx.conf (comments removed)."""
    text = re.sub(r"#[^\n]*", "", nginx_conf())
    return [match.strip() for match in re.findall(rf"(?m)^\s*{re.escape(name)}\s+([^;]*);", text)]


# --- Kubernetes ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", kubernetes_versions())
def test_every_k8s_manifest_is_valid_for_kubernetes(version: str) -> None:
    assert k8s_resources(), "no manifests found in infra/k8s"
    for file_name, doc in k8s_resources():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{file_name} {doc['kind']}/{doc['metadata']['name']} (Kubernetes {version}): {exc}")


def test_kubernetes_validation_is_strict() -> None:
    """An unknown field is rejected, so the validation above really checks the manifests."""
    deployment = k8s_object("Deployment", "crm-web")
    only_container(deployment)["readinesProbe"] = {"httpGet": {"path": "/readyz", "port": "http"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_versions()[-1], strict=True)


def test_manifests_use_stable_api_versions() -> None:
    expected = {
        "Namespace": "v1",
        "ConfigMap": "v1",
        "Secret": "v1",
        "Service": "v1",
        "PersistentVolumeClaim": "v1",
        "Deployment": "apps/v1",
        "Job": "batch/v1",
        "Ingress": "networking.k8s.io/v1",
        "PodDisruptionBudget": "policy/v1",
    }
    for file_name, doc in k8s_resources():
        assert doc["kind"] in expected, f"{file_name}: unexpected kind {doc['kind']}"
        assert doc["apiVersion"] == expected[doc["kind"]], file_name
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == kustomization()["namespace"], file_name
    kinds = sorted((doc["kind"], doc["metadata"]["name"]) for _, doc in k8s_resources())
    for required in [
        ("Namespace", "crm"),
        ("ConfigMap", "crm-config"),
        ("Secret", "crm-secrets"),
        ("Deployment", "crm-web"),
        ("Deployment", "crm-worker"),
        ("Deployment", "crm-beat"),
        ("Job", "crm-migrate"),
        ("Service", "crm-web"),
        ("Ingress", "crm-web"),
        ("PodDisruptionBudget", "crm-web"),
    ]:
        assert required in kinds


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed)), "duplicate resources in kustomization.yaml"
    expected = {path.name for path in k8s_manifest_files()} - {SECRET_EXAMPLE}
    assert set(listed) == expected
    # Placeholder secrets must never be applied by `kubectl apply -k`.
    assert SECRET_EXAMPLE not in listed
    assert (K8S / SECRET_EXAMPLE).exists()
    for section in ("patches", "generators", "secretGenerator", "components"):
        assert section not in kustomization()


def test_kustomization_sets_the_image_of_every_workload() -> None:
    image_names = {image["name"] for image in kustomization()["images"]}
    for _, doc in k8s_resources():
        if doc["kind"] in ("Deployment", "Job"):
            for container in pod_spec(doc)["containers"]:
                assert container["image"] in image_names, doc["metadata"]["name"]


def test_kustomize_build_renders_valid_objects() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with built-in kustomize) is not installed")
    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(rendered) == sum(1 for name, _ in k8s_resources() if name != SECRET_EXAMPLE)
    assert not [doc for doc in rendered if doc["kind"] == "Secret"]
    image = kustomization()["images"][0]
    for doc in rendered:
        kubernetes_validate.validate(doc, kubernetes_versions()[-1], strict=True)
        if doc["kind"] in ("Deployment", "Job"):
            assert only_container(doc)["image"] == f"{image['newName']}:{image['newTag']}"


def test_web_deployment_replicas_probes_and_resources() -> None:
    web = k8s_object("Deployment", "crm-web")
    assert web["spec"]["replicas"] == 2
    container = only_container(web)
    assert container["args"] == ["web"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": APP_PORT}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in ("http", APP_PORT)
    rolling = web["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0


def test_beat_runs_exactly_once() -> None:
    beat = k8s_object("Deployment", "crm-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert only_container(beat)["args"] == ["beat"]


def test_worker_and_migration_job_roles() -> None:
    worker = k8s_object("Deployment", "crm-worker")
    assert only_container(worker)["args"][0] == "worker"
    job = k8s_object("Job", "crm-migrate")
    assert only_container(job)["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_every_pod_is_hardened_and_gets_the_whole_environment() -> None:
    config_name = k8s_object("ConfigMap", "crm-config")["metadata"]["name"]
    secret_name = k8s_object("Secret", "crm-secrets")["metadata"]["name"]
    workloads = [doc for _, doc in k8s_resources() if doc["kind"] in ("Deployment", "Job")]
    assert len(workloads) == 4
    for workload in workloads:
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == APP_UID, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        selector = workload["spec"].get("selector", {}).get("matchLabels", {})
        for key, value in selector.items():
            assert workload["spec"]["template"]["metadata"]["labels"][key] == value, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            resources_ = container["resources"]
            assert {"cpu", "memory"} <= set(resources_["requests"]), name
            assert "memory" in resources_["limits"], name
            sources = container["envFrom"]
            assert {"configMapRef": {"name": config_name}} in sources, name
            assert {"secretRef": {"name": secret_name}} in sources, name
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounts, f"{name}: a read-only root filesystem needs a writable /tmp"


def test_media_volume_is_mounted_at_media_root() -> None:
    media_root = k8s_object("ConfigMap", "crm-config")["data"]["MEDIA_ROOT"]
    claim = k8s_object("PersistentVolumeClaim", "crm-media")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("crm-web", "crm-worker"):
        deployment = k8s_object("Deployment", name)
        volumes = {volume["name"]: volume for volume in pod_spec(deployment)["volumes"]}
        mounts = {mount["mountPath"]: mount["name"] for mount in only_container(deployment)["volumeMounts"]}
        assert volumes[mounts[media_root]]["persistentVolumeClaim"]["claimName"] == "crm-media"


def test_service_ingress_and_pdb_point_at_web_pods() -> None:
    web = k8s_object("Deployment", "crm-web")
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    service = k8s_object("Service", "crm-web")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"].items() <= pod_labels.items()
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    container_ports = {port["name"] for port in only_container(web)["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= container_ports

    pdb = k8s_object("PodDisruptionBudget", "crm-web")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] < web["spec"]["replicas"]

    ingress = k8s_object("Ingress", "crm-web")
    base_domain = k8s_object("ConfigMap", "crm-config")["data"]["BASE_DOMAIN"]
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts == {base_domain, f"*.{base_domain}"}
    tls = ingress["spec"]["tls"]
    assert len(tls) == 1 and tls[0]["secretName"]
    assert set(tls[0]["hosts"]) == hosts
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["pathType"] in ("Prefix", "Exact", "ImplementationSpecific")
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in service_ports


def test_configmap_and_secret_example_hold_exactly_the_env_py_variables() -> None:
    config_keys = set(k8s_object("ConfigMap", "crm-config")["data"])
    secret_keys = set(k8s_object("Secret", "crm-secrets")["stringData"])
    assert not config_keys & secret_keys
    assert config_keys | secret_keys == env_py_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} <= secret_keys
    config = k8s_object("ConfigMap", "crm-config")["data"]
    assert all(isinstance(value, str) for value in config.values())
    assert config["TRUST_X_FORWARDED_HOST"] == "1"
    assert config["REQUIRE_SECRET_KEY"] == "1"
    assert config["DEBUG"] == "0"
    assert config["PUBLIC_SCHEME"] == "https"


# --- env.example -----------------------------------------------------------------------------


def test_env_py_parsing_finds_the_variables() -> None:
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "REQUIRE_SECRET_KEY", "BASE_DOMAIN"} <= (env_py_reads())
    # Nothing in saas/env.py reads os.environ except through the helpers.
    direct = re.findall(r"os\.environ(?:\.get)?\(\s*[\"']([A-Z_]+)", ENV_PY.read_text())
    assert not direct


def test_env_example_lists_exactly_the_variables_env_py_reads() -> None:
    names = [name for name, _ in env_example_entries()]
    assert len(names) == len(set(names)), "a variable is listed twice in env.example"
    unknown = set(names) - env_py_variables()
    missing = env_py_variables() - set(names)
    assert not unknown, f"env.example sets variables saas/env.py never reads: {sorted(unknown)}"
    assert not missing, f"env.example lacks variables saas/env.py reads: {sorted(missing)}"


def test_every_env_example_variable_has_a_comment() -> None:
    """Each group of NAME=value lines (no blank line between them) sits under a comment."""
    commented = False
    for line in ENV_EXAMPLE.read_text().splitlines():
        if not line.strip():
            commented = False
        elif line.startswith("#"):
            commented = True
        else:
            assert commented, f"no comment above {line.split('=')[0]}"


def test_env_example_is_safe_by_default() -> None:
    values = dict(env_example_entries())
    assert values["SECRET_KEY"] == "", "no usable secret key in an example file"
    assert values["REQUIRE_SECRET_KEY"] == "1"
    assert values["DEBUG"] in ("0", "")
    assert values["CELERY_TASK_ALWAYS_EAGER"] in ("0", "")


def test_image_paths_agree_everywhere() -> None:
    """DATA_DIR/MEDIA_ROOT/STATIC_ROOT of the image equal env.example's and the ConfigMap's."""
    image_env = dockerfile_env()
    example = dict(env_example_entries())
    config = k8s_object("ConfigMap", "crm-config")["data"]
    for name in ("DATA_DIR", "MEDIA_ROOT", "STATIC_ROOT"):
        assert image_env[name] == example[name] == config[name], name
    assert image_env["REQUIRE_SECRET_KEY"] == "1"


# --- Docker Compose -----------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    errors = compose_errors(compose())
    assert not errors, "\n".join(errors)


def test_compose_schema_rejects_unknown_keys() -> None:
    broken = compose()
    broken["services"]["web"]["helthcheck"] = {"disable": True}
    assert compose_errors(broken)


def test_compose_services_and_start_order() -> None:
    services = compose()["services"]
    assert {"web", "worker", "beat", "migrate", "postgres", "redis", "proxy"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["command"] == [name]
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert re.fullmatch(r"postgres:1[67](\..*)?", services["postgres"]["image"])
    assert re.fullmatch(r"(redis:7|valkey/valkey:[78])([.-].*)?", services["redis"]["image"])
    assert any(str(volume).endswith(":/var/lib/postgresql/data") for volume in services["postgres"]["volumes"])
    declared = set(compose()["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith("."):
                assert source in declared


def test_compose_app_services_share_image_environment_and_trust_the_proxy() -> None:
    services = compose()["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    builders = [name for name in APP_SERVICES if "build" in services[name]]
    assert builders == ["migrate"]
    build = services["migrate"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    for name in APP_SERVICES:
        env_files = [entry["path"] if isinstance(entry, dict) else entry for entry in services[name]["env_file"]]
        assert env_files[0] == ENV_EXAMPLE.name, name
        assert (COMPOSE.parent / env_files[0]).resolve() == ENV_EXAMPLE
        # nginx overwrites X-Forwarded-Host, so the app may (and must) trust it.
        assert services[name]["environment"]["TRUST_X_FORWARDED_HOST"] == "1", name


def test_compose_publishes_only_the_proxy() -> None:
    services = compose()["services"]
    published = sorted(name for name, service in services.items() if service.get("ports"))
    assert published == ["proxy"]
    assert [str(port).rsplit(":", 1)[1] for port in services["proxy"]["ports"]] == ["80"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_compose_proxy_renders_the_nginx_template() -> None:
    proxy = compose()["services"]["proxy"]
    mounts = {str(volume).split(":")[0]: str(volume).split(":")[1] for volume in proxy["volumes"]}
    template_target = mounts["./nginx/nginx.conf"]
    assert (COMPOSE.parent / "nginx" / "nginx.conf").resolve() == NGINX_CONF
    output_dir = proxy["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"]
    assert template_target == "/etc/nginx/templates/nginx.conf.template"
    assert output_dir == "/etc/nginx"
    # Every ${VAR} of the template is given to the container and allowed by the filter;
    # nginx's own $variables (no braces) are never substituted.
    template_variables = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", nginx_conf()))
    assert template_variables == {"BASE_DOMAIN", "PUBLIC_SCHEME"}
    env_filter = re.compile(proxy["environment"]["NGINX_ENVSUBST_FILTER"])
    for name in template_variables:
        assert name in proxy["environment"]
        assert env_filter.search(name)
    for name in ("HOSTNAME", "PATH", "HOME", "NGINX_VERSION", "PWD"):
        assert not env_filter.search(name)


# --- nginx -----------------------------------------------------------------------------------------


def test_nginx_serves_the_base_domain_and_every_subdomain() -> None:
    server_names = nginx_directives("server_name")
    assert "${BASE_DOMAIN} *.${BASE_DOMAIN}" in server_names
    assert "_" in server_names, "a default server must catch foreign hosts"
    proxy_passes = nginx_directives("proxy_pass")
    assert proxy_passes
    targets = nginx_directives("set")
    assert f"$web_upstream http://web:{APP_PORT}" in targets
    assert nginx_directives("resolver"), "variable proxy_pass needs a resolver"


def test_nginx_overwrites_forwarded_headers() -> None:
    headers = {}
    for arguments in nginx_directives("proxy_set_header"):
        name, _, value = arguments.partition(" ")
        headers[name.lower()] = value.strip()
    assert headers["x-forwarded-host"] in ("$http_host", "$host")
    assert headers["x-forwarded-proto"] in ("${PUBLIC_SCHEME}", "$scheme")
    assert headers["x-forwarded-for"] == "$remote_addr"
    assert headers["host"] in ("$http_host", "$host")
    # Never derived from what the client sent in the same headers.
    assert "$http_x_forwarded" not in nginx_conf()
    assert "$proxy_add_x_forwarded_for" not in nginx_conf()


def test_nginx_limits_and_timeouts() -> None:
    assert re.fullmatch(r"\d+[mM]", nginx_directives("client_max_body_size")[0])
    for directive in ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout"):
        assert re.fullmatch(r"\d+s", nginx_directives(directive)[0]), directive
    # Braces balance: a cheap syntax check without an nginx binary.
    text = re.sub(r"\$\{[A-Z_]+\}", "VALUE", re.sub(r"#[^\n]*", "", nginx_conf()))
    assert text.count("{") == text.count("}")


def test_nginx_config_syntax_with_nginx_binary(tmp_path: Path) -> None:
    """`nginx -t` on the rendered template, when an nginx binary is available."""
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed")
    conf = nginx_conf().replace("${BASE_DOMAIN}", "crm.example.com").replace("${PUBLIC_SCHEME}", "https")
    conf = conf.replace("/var/run/nginx.pid", str(tmp_path / "nginx.pid"))
    conf = conf.replace("include /etc/nginx/mime.types;", "types { text/html html; }")
    temp_paths = " ".join(
        f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("\nhttp {\n", f"\nhttp {{\n    {temp_paths}\n", 1)
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


# --- Dockerfile ----------------------------------------------------------------------------------


def test_dockerfile_has_a_node_stage_and_a_python_stage() -> None:
    stages = dockerfile_stages()
    assert len(stages) == 2
    node_image, node_alias = from_image_and_alias(stages[0][0][1])
    python_image, _ = from_image_and_alias(stages[-1][0][1])
    assert node_image.startswith("node:")
    assert node_alias
    assert python_image.startswith("python:3.12-slim")
    node_runs = " ".join(arguments for keyword, arguments in stages[0] if keyword == "RUN")
    assert "npm ci" in node_runs
    assert "npm run build" in node_runs
    from_node = [
        copy_sources(arguments)
        for keyword, arguments in stages[-1]
        if keyword == "COPY" and f"--from={node_alias}" in arguments
    ]
    assert from_node and all(sources == ["/frontend/build"] for _, sources in from_node)


def test_dockerfile_installs_runtime_dependencies_only() -> None:
    runs = [arguments for keyword, arguments in dockerfile_stages()[-1] if keyword == "RUN"]
    joined = " ".join(runs)
    assert re.search(r"pip install (--no-deps )?\.(\s|$)", joined)
    assert "[dev" not in joined and "[test" not in joined and ".[" not in joined
    assert "['project']['dependencies']" in joined
    assert "optional-dependencies" not in joined


def test_dockerfile_builds_translations_and_static_files() -> None:
    runs = [arguments for keyword, arguments in dockerfile_stages()[-1] if keyword == "RUN"]
    assert any("python -m frontend.i18n compile" in run for run in runs)
    collect = [run for run in runs if "collectstatic --noinput" in run]
    assert len(collect) == 1
    # The dummy values are given inline to that command only, not as image ENV.
    assert re.search(r"DATABASE_URL=\S+ SECRET_KEY=\S+ python manage.py collectstatic --noinput", collect[0])
    assert "DATABASE_URL" not in dockerfile_env()
    assert "SECRET_KEY" not in dockerfile_env()
    assert not [arguments for keyword, arguments in dockerfile_instructions() if keyword == "ARG"]


def test_dockerfile_copies_no_local_state() -> None:
    forbidden = {"node_modules", ".venv", ".data", ".git", ".env"}
    for keyword, arguments in dockerfile_instructions():
        assert keyword != "ADD", "use COPY"
        if keyword == "COPY":
            _, sources = copy_sources(arguments)
            for source in sources:
                assert not forbidden & set(Path(source).parts), arguments


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".git", ".venv", ".data", "**/node_modules", "frontend/build", "**/.env"):
        assert required in patterns, required
    # `COPY . .` needs these.
    for needed in ("pyproject.toml", "manage.py", "locale", "saas", "infra", "frontend"):
        assert needed not in patterns


def test_dockerfile_runtime_user_healthcheck_and_command() -> None:
    final = dockerfile_stages()[-1]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user == str(APP_UID), "numeric UID so that Kubernetes can verify runAsNonRoot"
    last_user_index = max(i for i, (keyword, _) in enumerate(final) if keyword == "USER")
    assert all(keyword != "RUN" for keyword, _ in final[last_user_index:])

    healthchecks = [arguments for keyword, arguments in final if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert "/healthz" in healthchecks[0]
    assert f"127.0.0.1:{APP_PORT}" in healthchecks[0]

    cmd = exec_form(next(arguments for keyword, arguments in reversed(final) if keyword == "CMD"))
    assert cmd[:2] == ["gunicorn", "saas.wsgi:application"]
    assert cmd[cmd.index("--bind") + 1] == f"0.0.0.0:{APP_PORT}"
    entrypoint = exec_form(next(arguments for keyword, arguments in reversed(final) if keyword == "ENTRYPOINT"))
    assert entrypoint == ["/app/infra/docker/entrypoint.sh"]
    exposed = [arguments for keyword, arguments in final if keyword == "EXPOSE"]
    assert exposed == [str(APP_PORT)]
    # gunicorn's default control socket lives in $HOME, which is read-only in the pods.
    assert "--no-control-socket" in dockerfile_env()["GUNICORN_CMD_ARGS"]


# --- entrypoint ------------------------------------------------------------------------------------


def run_entrypoint(tmp_path: Path, *arguments: str) -> list[str]:
    """Run entrypoint.sh with stub gunicorn/celery/python that print their arguments."""
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for command in ("gunicorn", "celery", "python"):
        stub = stubs / command
        stub.write_text(f'#!/bin/sh\necho {command} "$@"\n')
        stub.chmod(0o755)
    script = tmp_path / "entrypoint.sh"
    script.write_text(ENTRYPOINT.read_text().replace("cd /app", f"cd {tmp_path}"))
    result = subprocess.run(
        ["sh", str(script), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    return result.stdout.splitlines()


def test_entrypoint_modes(tmp_path: Path) -> None:
    if shutil.which("sh") is None:
        pytest.skip("no POSIX shell")
    assert "cd /app\n" in ENTRYPOINT.read_text()
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    web = f"gunicorn saas.wsgi:application --bind 0.0.0.0:{APP_PORT}"
    # Long-running roles first refuse a transaction pooler (tenants/pooling.py).
    pooling = "python manage.py check --database default --tag database --fail-level ERROR"
    assert run_entrypoint(tmp_path, "web") == [pooling, web]
    assert run_entrypoint(tmp_path) == [pooling, web]
    assert run_entrypoint(tmp_path, "worker")[1].startswith("celery -A saas worker")
    assert run_entrypoint(tmp_path, "worker", "--concurrency", "8")[1].endswith("--concurrency 8")
    assert run_entrypoint(tmp_path, "beat") == [pooling, "celery -A saas beat --loglevel INFO"]
    assert run_entrypoint(tmp_path, "migrate") == [
        "python manage.py migrate_schemas --shared --noinput",
        "python manage.py migrate_tenants",
    ]
    # Anything else is executed as given (the image's default CMD goes through here).
    assert run_entrypoint(tmp_path, "gunicorn", "saas.wsgi:application", "--bind", "0.0.0.0:8000") == [web]
    assert pooling not in run_entrypoint(tmp_path, "migrate")  # migrate runs the database checks itself


def test_entrypoint_is_executable_in_the_repository() -> None:
    assert os.access(ENTRYPOINT, os.X_OK)


# --- docs ------------------------------------------------------------------------------------------


def test_deployment_docs_cover_the_pooling_warning_and_single_beat() -> None:
    docs = (ROOT / "docs" / "deployment.md").read_text()
    for phrase in ("transaction", "RDS Proxy", "search_path", "session", "exactly one", "*.localhost"):
        assert phrase in docs, phrase
