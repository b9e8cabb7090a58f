"""Checks a deploy/ directory: its Kubernetes manifests and how they fit the Dockerfile and serve.toml.

    check_deploy.py DEPLOY_DIR [-k VERSION]...

1. Every manifest in DEPLOY_DIR/k8s is validated strictly (an unknown field is an error, and so is a
   kind or apiVersion with no schema) against the OpenAPI schemas of each Kubernetes VERSION, from
   the kubernetes-validate package (offline: the schemas ship inside it). YAML with a duplicate key
   is an error too, as in kubectl. kustomization.yaml has no such schema: its fields and file list
   are checked here.
2. The pieces agree: the probes, the Service's targetPort, the Prometheus annotations and the
   Dockerfile's EXPOSE name the port that serve.toml (in the ConfigMap) binds; serve.toml parses and
   has exactly the documented keys; the config file, models and Secret the Deployment refers to
   exist; the container runs as a non-root numeric UID (the Dockerfile's USER) with a locked-down
   securityContext; a graceful shutdown fits in terminationGracePeriodSeconds.

Prints what it checked and every failure; exits 1 if anything failed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import yaml
from kubernetes_validate import utils as kv
from kubernetes_validate.version import __version__ as kv_version

# What serve.toml may hold (`smelt serve --config`): required and optional keys, with their types.
SERVER_KEYS = {"host": str, "port": int, "max_body_bytes": int, "request_timeout_ms": int}
# Keep in step with crates/smelt-serve/src/config.rs (ServerConfig, ModelConfig).
SERVER_OPTIONAL = {"auth": str, "reload_interval_s": int, "cache_dir": str, "default_model": str}
MODEL_OPTIONAL = {"workers": int, "unseen_category": str, "version": str}
MODEL_KEYS = {
    "name": str,
    "source": str,
    "max_batch_size": int,
    "max_queue_delay_us": int,
    "queue_capacity": int,
}
LIVE_PATH = "/v2/health/live"
READY_PATH = "/v2/health/ready"
METRICS_PATH = "/metrics"
KUSTOMIZATION_FIELDS = {
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "labels",
    "commonLabels",
    "commonAnnotations",
    "images",
    "replicas",
    "patches",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "configurations",
    "crds",
    "openapi",
    "helmCharts",
    "buildMetadata",
    "sortOptions",
    "replacements",
}

failures: list[str] = []
passed = 0


def check(ok: bool, what: str) -> bool:
    """Records one consistency check; `what` says what should hold."""
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
    return ok


def fail(what: str) -> None:
    failures.append(what)


# ---------------------------------------------------------------- YAML (duplicate keys are errors)
class StrictLoader(yaml.SafeLoader):
    pass


def _mapping_no_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates)


def load_manifests(k8s: Path) -> list[tuple[str, dict]]:
    docs = []
    files = sorted([*k8s.glob("*.yaml"), *k8s.glob("*.yml")])
    if not files:
        fail(f"{k8s}: no manifests (*.yaml)")
    for f in files:
        try:
            items = [d for d in yaml.load_all(f.read_text(), Loader=StrictLoader) if d is not None]
        except yaml.YAMLError as e:
            fail(f"{f.name}: not valid YAML: {e}")
            continue
        if not items:
            fail(f"{f.name}: no document")
        for d in items:
            if not isinstance(d, dict) or not all(isinstance(d.get(k), str) for k in ("apiVersion", "kind")):
                fail(f"{f.name}: a document without apiVersion and kind")
                continue
            if d["kind"] != "Kustomization" and not (d.get("metadata") or {}).get("name"):
                fail(f"{f.name}: a {d['kind']} without metadata.name")
                continue
            docs.append((f.name, d))
    return docs


# ---------------------------------------------------------------- 1. schemas
def validate_schemas(docs: list[tuple[str, dict]], versions: list[str]) -> None:
    for fname, d in docs:
        if d["kind"] == "Kustomization":
            continue
        name = f"{d['kind']}/{(d.get('metadata') or {}).get('name')}"
        ok_versions = []
        for v in versions:
            try:
                ok_versions.append(kv.validate(d, v, strict=True))
            except kv.ValidationError as e:
                path = ".".join(str(p) for p in e.path) or "(top level)"
                fail(f"{fname}: {name} is invalid for Kubernetes {e.version}: {path}: {e.message}")
            except kv.SchemaNotFoundError:
                fail(f"{fname}: {name}: Kubernetes {v} has no {d['kind']} in {d['apiVersion']}")
            except kv.VersionNotSupportedError:
                fail(f"kubernetes-validate {kv_version} has no schemas for Kubernetes {v}")
        if len(ok_versions) == len(versions):
            print(f"  valid  {fname}: {name} (Kubernetes {', '.join(ok_versions)}, strict)")


def check_kustomization(k8s: Path, docs: list[tuple[str, dict]]) -> dict | None:
    ks = [d for f, d in docs if d["kind"] == "Kustomization"]
    if not check(len(ks) == 1, "exactly one Kustomization (kustomization.yaml)"):
        return None
    k = ks[0]
    check(
        k["apiVersion"] == "kustomize.config.k8s.io/v1beta1",
        "kustomization.yaml: apiVersion kustomize.config.k8s.io/v1beta1",
    )
    unknown = sorted(set(k) - KUSTOMIZATION_FIELDS)
    check(not unknown, f"kustomization.yaml: unknown fields {unknown}")
    before = len(failures)
    listed = k.get("resources") or []
    for r in listed:
        check((k8s / r).is_file(), f"kustomization.yaml lists {r}, which is not in {k8s}")
    for f in sorted({f for f, d in docs if d["kind"] != "Kustomization"}):
        check(
            f in listed or ".example." in f,
            f"{f} is neither listed in kustomization.yaml's resources nor named *.example.yaml",
        )
    if len(failures) == before:
        print(f"  valid  kustomization.yaml: {len(listed)} resources, all present")
    return k


# ---------------------------------------------------------------- the Dockerfile's final stage
def dockerfile_final_stage(path: Path) -> dict[str, list[str]]:
    """Instruction -> arguments (last one wins) of the Dockerfile's last stage; EXPOSE accumulates."""
    lines, cur = [], ""
    for raw in path.read_text().splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        lines.append(cur + s)
        cur = ""
    stage: dict[str, list[str]] = {}
    for line in lines:
        instr, _, rest = line.partition(" ")
        instr, rest = instr.upper(), rest.strip()
        if instr == "FROM":
            stage = {}
        if instr in ("ENTRYPOINT", "CMD") and rest.startswith("["):
            try:
                stage[instr] = json.loads(rest)
            except json.JSONDecodeError:
                stage[instr] = ["<unparsable>", rest]
        elif instr == "EXPOSE":
            stage.setdefault("EXPOSE", []).extend(rest.split())
        else:
            stage[instr] = shlex.split(rest) if instr == "USER" else [rest]
    return stage


# ---------------------------------------------------------------- serve.toml
# `smelt` itself, when given (--smelt): `smelt serve --check` parses serve.toml with the server's
# own parser and rules, so a key this file's lists miss is still caught.
SMELT: str | None = None


def check_with_smelt(text: str) -> None:
    if SMELT is None:
        return
    # Model files live in the image, not here: each local source becomes a stand-in of its
    # kind (a folder, or an empty file with its extension), so everything else is checked.
    stand_ins = tempfile.mkdtemp(prefix="smelt-deploy-check-")

    def local(m: re.Match) -> str:
        src = m.group(2)
        if ":/" in src:
            return m.group(0)
        stand_in = os.path.join(stand_ins, str(len(os.listdir(stand_ins))) + Path(src).suffix)
        if Path(src).suffix in (".json", ".txt", ".onnx"):
            Path(stand_in).touch()
        else:
            os.mkdir(stand_in)
        return f'{m.group(1)}"{stand_in}"'

    text = re.sub(r'^(\s*source\s*=\s*)"([^"]*)"', local, text, flags=re.M)
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        # The Secret supplies the keys at run time; a placeholder of a valid length stands in.
        env = {**os.environ, "SMELT_API_KEYS": "deploy-check:" + "0" * 24}
        r = subprocess.run([SMELT, "serve", "--check", "--config", path], capture_output=True, text=True, env=env)
        check(r.returncode == 0, f"`smelt serve --check` accepts serve.toml: {r.stderr.strip() or r.stdout.strip()}")
    finally:
        os.unlink(path)
        shutil.rmtree(stand_ins, ignore_errors=True)


def check_serve_toml(text: str) -> dict | None:
    check_with_smelt(text)
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        fail(f"serve.toml in the ConfigMap does not parse: {e}")
        return None
    check(
        set(cfg) <= {"server", "model"},
        f"serve.toml: unknown tables {sorted(set(cfg) - {'server', 'model'})}",
    )
    server = cfg.get("server")
    if not check(isinstance(server, dict), "serve.toml has a [server] table"):
        return None
    for key, ty in SERVER_KEYS.items():
        check(
            isinstance(server.get(key), ty) and not isinstance(server.get(key), bool),
            f"serve.toml [server] {key} is a {ty.__name__}",
        )
    for key, ty in SERVER_OPTIONAL.items():
        if key in server:
            check(isinstance(server[key], ty), f"serve.toml [server] {key} is a {ty.__name__}")
    unknown = sorted(set(server) - set(SERVER_KEYS) - set(SERVER_OPTIONAL))
    check(not unknown, f"serve.toml [server]: unknown keys {unknown}")
    port = server.get("port")
    check(isinstance(port, int) and 1 <= port <= 65535, "serve.toml [server] port is 1-65535")
    models = cfg.get("model")
    if not check(isinstance(models, list) and len(models) > 0, "serve.toml has at least one [[model]]"):
        return cfg
    for i, m in enumerate(models):
        for key, ty in MODEL_KEYS.items():
            check(
                isinstance(m.get(key), ty) and not isinstance(m.get(key), bool),
                f"serve.toml [[model]] #{i + 1}: {key} is a {ty.__name__}",
            )
        unknown = sorted(set(m) - set(MODEL_KEYS) - set(MODEL_OPTIONAL))
        check(not unknown, f"serve.toml [[model]] #{i + 1}: unknown keys {unknown}")
        for key in ("max_batch_size", "queue_capacity"):
            check(
                not isinstance(m.get(key), int) or m[key] >= 1, f"serve.toml [[model]] #{i + 1}: {key} >= 1"
            )
    names = [m.get("name") for m in models]
    check(len(names) == len(set(names)), f"serve.toml: model names are unique (got {names})")
    return cfg


# ---------------------------------------------------------------- 2. how the pieces fit
def one(docs: list[tuple[str, dict]], kind: str) -> dict | None:
    found = [d for f, d in docs if d["kind"] == kind and ".example." not in f]
    return found[0] if check(len(found) == 1, f"exactly one {kind} (got {len(found)})") else None


def selects(selector: dict | None, labels: dict) -> bool:
    match = (selector or {}).get("matchLabels", selector or {})
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def cross_check(deploy_dir: Path, docs: list[tuple[str, dict]], kustomization: dict | None) -> None:
    dep, svc, cm, hpa = (
        one(docs, k) for k in ("Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler")
    )
    if dep is None:
        return
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"].get("labels") or {}
    check(selects(spec.get("selector"), pod_labels), "the Deployment's selector matches its pod labels")
    containers = pod.get("containers") or []
    if not check(len(containers) >= 1, "the Deployment has a container"):
        return
    c = next((c for c in containers if c.get("name") == "smelt"), containers[0])
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}

    def port_of(ref) -> int | None:
        return ref if isinstance(ref, int) else ports.get(ref)

    # -- the image and the command line
    dockerfile = deploy_dir / "Dockerfile"
    df = dockerfile_final_stage(dockerfile) if check(dockerfile.is_file(), f"{dockerfile} exists") else {}
    entry = c.get("command") or df.get("ENTRYPOINT") or []
    args = c.get("args") if "args" in c else df.get("CMD")
    args = args or []
    check(entry == ["/usr/local/bin/smelt"], f"the container runs /usr/local/bin/smelt (entrypoint {entry})")
    check(args[:1] == ["serve"], f"the container runs `smelt serve` (args {args})")
    check(
        not df or df.get("CMD") == args,
        f"the Deployment's args {args} equal the Dockerfile's CMD {df.get('CMD')}",
    )
    config_path = args[args.index("--config") + 1] if "--config" in args[:-1] else None
    if not check(config_path is not None, "`smelt serve` is given --config PATH"):
        return

    # -- the ConfigMap mounted where --config points, holding serve.toml
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    mounts = c.get("volumeMounts") or []
    cfg_dir, cfg_file = posixpath.split(config_path)
    mount = next((m for m in mounts if m["mountPath"].rstrip("/") == cfg_dir), None)
    cfg = None
    if check(
        mount is not None, f"a volume is mounted at {cfg_dir} (the directory of --config {config_path})"
    ):
        src = (volumes.get(mount["name"]) or {}).get("configMap")
        if check(
            src is not None and cm is not None and src.get("name") == cm["metadata"]["name"],
            f"the volume at {cfg_dir} is the ConfigMap {cm and cm['metadata']['name']}",
        ):
            key = next(
                (i["key"] for i in src.get("items") or [] if i["path"] == cfg_file),
                None if src.get("items") else cfg_file,
            )
            text = (cm.get("data") or {}).get(key)
            if check(
                isinstance(text, str), f"the ConfigMap has the key {key or cfg_file} that --config reads"
            ):
                cfg = check_serve_toml(text)
    if cfg is None or not isinstance(cfg.get("server"), dict):
        return
    server = cfg["server"]
    port = server.get("port")

    # -- one port everywhere
    check(port in ports.values(), f"containerPort {sorted(ports.values())} includes serve.toml's port {port}")
    check(
        str(port) in df.get("EXPOSE", []),
        f"the Dockerfile EXPOSEs serve.toml's port {port} (EXPOSE {df.get('EXPOSE')})",
    )
    probes = {k: c.get(k) for k in ("startupProbe", "livenessProbe", "readinessProbe")}
    want_path = {
        "startupProbe": (LIVE_PATH, READY_PATH),
        "livenessProbe": (LIVE_PATH,),
        "readinessProbe": (READY_PATH,),
    }
    for k, p in probes.items():
        if check(p is not None and "httpGet" in p, f"the container has an HTTP {k}"):
            g = p["httpGet"]
            check(
                g.get("path") in want_path[k], f"{k} GETs {' or '.join(want_path[k])} (got {g.get('path')})"
            )
            check(port_of(g.get("port")) == port, f"{k}'s port {g.get('port')} is serve.toml's port {port}")
    if svc is not None:
        check(svc["spec"].get("type", "ClusterIP") == "ClusterIP", "the Service is a ClusterIP")
        check(
            selects(svc["spec"].get("selector"), pod_labels), "the Service's selector matches the pod labels"
        )
        for sp in svc["spec"].get("ports") or []:
            check(
                port_of(sp.get("targetPort", sp.get("port"))) == port,
                f"the Service's targetPort {sp.get('targetPort')} is serve.toml's port {port}",
            )
    ann = spec["template"]["metadata"].get("annotations") or {}
    check(ann.get("prometheus.io/scrape") == "true", 'the pods are annotated prometheus.io/scrape: "true"')
    check(ann.get("prometheus.io/port") == str(port), f"prometheus.io/port is serve.toml's port {port}")
    check(ann.get("prometheus.io/path") == METRICS_PATH, f"prometheus.io/path is {METRICS_PATH}")

    # -- what serve.toml needs from the pod
    env = {e["name"]: e for e in c.get("env") or []}
    loopback = server.get("host") in ("127.0.0.1", "localhost", "::1")
    if not loopback and server.get("auth") != "none":
        ref = ((env.get("SMELT_API_KEYS") or {}).get("valueFrom") or {}).get("secretKeyRef")
        if check(
            ref is not None, f"host {server.get('host')!r} needs API keys: SMELT_API_KEYS comes from a Secret"
        ):
            example = [d for f, d in docs if d["kind"] == "Secret"]
            check(
                any(
                    d["metadata"]["name"] == ref["name"]
                    and ref["key"] in {**(d.get("stringData") or {}), **(d.get("data") or {})}
                    for d in example
                ),
                f"a Secret (example) {ref['name']} with the key {ref['key']} is in the manifests",
            )
            check(
                not ref.get("optional"),
                "the API keys' Secret is not optional (the pod must not start without it)",
            )
    for m in cfg.get("model") or []:
        source = m.get("source") or ""
        if source.startswith(("models:/", "runs:/")):
            check(
                "SMELT_TRACKING_URI" in env,
                f"model {m.get('name')}: {source} needs SMELT_TRACKING_URI in the container's env",
            )
        elif source.startswith("/"):
            check(
                any(
                    source == mt["mountPath"] or source.startswith(mt["mountPath"].rstrip("/") + "/")
                    for mt in mounts
                ),
                f"model {m.get('name')}: {source} is on a mounted volume",
            )

    # -- non-root and locked down
    psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}

    def eff(key):
        return csc.get(key, psc.get(key))

    check(eff("runAsNonRoot") is True, "runAsNonRoot: true (pod or container)")
    uid = eff("runAsUser")
    image_user = (df.get("USER") or [""])[0]
    image_uid = image_user.split(":")[0]
    check(
        image_uid.isdigit() and int(image_uid) != 0,
        f"the Dockerfile's USER is a numeric non-root UID (got {image_user!r})",
    )
    check(
        uid is None or str(uid) == image_uid,
        f"the container's runAsUser {uid} is the image's UID {image_uid}",
    )
    for where, sc in [("the pod", psc)] + [
        (f"container {x.get('name')}", x.get("securityContext") or {})
        for x in [*containers, *(pod.get("initContainers") or [])]
    ]:
        check(
            sc.get("runAsUser") != 0 and sc.get("runAsNonRoot") is not False,
            f"{where} does not run as root (runAsUser 0 or runAsNonRoot false)",
        )
    check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem: true")
    check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    check(csc.get("privileged") is not True, "not privileged")
    check("ALL" in ((csc.get("capabilities") or {}).get("drop") or []), "capabilities drop ALL")
    check((eff("seccompProfile") or {}).get("type") == "RuntimeDefault", "seccompProfile RuntimeDefault")
    res = c.get("resources") or {}
    for kind, key in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
        check(key in (res.get(kind) or {}), f"resources.{kind}.{key} is set")

    # -- graceful shutdown: the preStop sleep, then up to request_timeout_ms of in-flight work, within
    #    the grace period
    grace = pod.get("terminationGracePeriodSeconds", 30)
    sleep = (((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds")
    if check(isinstance(sleep, int) and sleep > 0, "a preStop sleep lets the Service drain before SIGTERM"):
        timeout_s = (server.get("request_timeout_ms") or 0) / 1000
        check(
            sleep + timeout_s < grace,
            f"preStop sleep {sleep}s + request_timeout_ms {timeout_s:g}s"
            f" < terminationGracePeriodSeconds {grace}s",
        )

    # -- scaling
    if hpa is not None:
        ref = hpa["spec"]["scaleTargetRef"]
        check(
            ref.get("kind") == "Deployment" and ref.get("name") == dep["metadata"]["name"],
            f"the HPA scales the Deployment {dep['metadata']['name']}",
        )
        lo, hi = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
        check(
            lo <= spec.get("replicas", 1) <= hi, f"the Deployment's replicas lie within the HPA's {lo}..{hi}"
        )
        cpu_metric = any(
            m.get("type") == "Resource" and m["resource"]["name"] == "cpu"
            for m in hpa["spec"].get("metrics") or []
        )
        check(
            not cpu_metric or "cpu" in (res.get("requests") or {}),
            "a CPU-utilisation HPA has a CPU request to measure against",
        )
    for f, pdb in docs:
        if pdb["kind"] == "PodDisruptionBudget":
            check(
                selects(pdb["spec"].get("selector"), pod_labels),
                f"{f}: the PodDisruptionBudget selects the pods",
            )

    # -- kustomize's image override names the container's image
    if kustomization is not None:
        image_name = c.get("image", "").rsplit(":", 1)[0]
        for img in kustomization.get("images") or []:
            check(
                img.get("name") == image_name,
                f"kustomization.yaml's images[].name {img.get('name')} is the container's image {image_name}",
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("deploy_dir", type=Path)
    ap.add_argument("-k", "--kubernetes-version", action="append", dest="versions")
    ap.add_argument("--smelt", help="a smelt binary: serve.toml is also checked by `smelt serve --check`")
    a = ap.parse_args()
    global SMELT
    SMELT = a.smelt
    versions = a.versions or [kv.latest_version()]
    k8s = a.deploy_dir / "k8s"
    print(f"check_deploy: {k8s} against Kubernetes {', '.join(versions)} (kubernetes-validate {kv_version})")
    docs = load_manifests(k8s)
    validate_schemas(docs, versions)
    kustomization = check_kustomization(k8s, docs)
    try:
        cross_check(a.deploy_dir, docs, kustomization)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
        # A manifest the schemas rejected (or one with a missing or mistyped field) can stop the
        # cross-checks part way; the schema errors above say why.
        fail(f"the cross-checks stopped at a malformed manifest: {type(e).__name__}: {e}")
    print(f"check_deploy: {passed} checks passed, {len(failures)} failed")
    for f in failures:
        print(f"  FAIL  {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
