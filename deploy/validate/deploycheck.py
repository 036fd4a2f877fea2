"""Offline checks of DTP's deployment files against the code they deploy.

Everything here reads the repository and runs `kubectl kustomize`; nothing needs a Docker engine or a
cluster. `python3 deploy/validate/deploycheck.py` prints every problem and, with `--reads`, the variables
found for each executable; the tests in test_deploy.py call the same functions.

What "the code" means: the executables that Package.swift declares, the environment variables each one
reads (found in its own sources and in the Shared files it invokes with an `environment:` or `reader:`
argument, transitively), the port each one binds by default and the health paths ServiceKit serves.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

# The Kubernetes version every rendered object is validated against (kubectl here is 1.32).
KUBERNETES_VERSION = "1.32.0"
OVERLAYS = ("dev", "prod")
# Executables that are not deployed, with the reason; any other executable must be deployed in every mode.
NOT_DEPLOYED = {"dtp-bench": "the benchmarks run on a build machine (make bench), not in a deployment"}
# Executables that are tools, not servers: they bind no port and have no probes.
TOOLS = {"dtpctl"}

NAME = r"[A-Z][A-Z0-9_]*[A-Z0-9_]"
TEMPLATE = r"[A-Z0-9_]*\\\(\w+\)[A-Z0-9_]*"
READER_METHODS = "string|optionalString|int|double|bool|url|seconds|list|choice|secret|logLevel"
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


# ---------------------------------------------------------------------------------------------------
# Reading the code
# ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Read:
    """One read of the environment: any of `names` satisfies it (a name and its aliases)."""

    names: tuple[str, ...]
    where: str
    prefix: bool = False  # a family of variables: every NAME that starts with names[0]

    def label(self) -> str:
        text = " or ".join(self.names)
        return text + "*" if self.prefix else text


def strip_comments(text: str) -> str:
    """Drops whole-line `//` comments (doc comments name variables that are not read there)."""
    return "\n".join("" if line.lstrip().startswith("//") else line for line in text.splitlines())


def call_args(text: str, open_index: int) -> str:
    """The text between the parenthesis at `open_index` and its match (strings are skipped)."""
    depth, i, in_string = 0, open_index, False
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
            if depth == 0:
                return text[open_index + 1:i]
        i += 1
    return text[open_index + 1:]


def literals(text: str) -> list[str]:
    return re.findall(rf'"({NAME}|{TEMPLATE})"', text)


def first_argument(args: str) -> str:
    depth = 0
    for i, c in enumerate(args):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            return args[:i].strip()
    return args.strip()


def default_log_level_key(root: Path) -> str:
    text = (root / "Shared/ServiceKit/ConfigReader.swift").read_text()
    match = re.search(r'func logLevel\(\s*_ \w+: String = "(\w+)"', text)
    if not match:
        raise RuntimeError("ConfigReader.logLevel's default key not found: update deploycheck.py")
    return match.group(1)


@functools.lru_cache(maxsize=None)
def file_reads(path: Path, text: str, log_level_key: str) -> list[Read]:
    """Every environment read in one Swift file."""
    code = strip_comments(text)
    where = str(path)
    reads: list[Read] = []
    key_parameters: set[str] = set()

    def line_of(index: int) -> str:
        return f"{where}:{code.count(chr(10), 0, index) + 1}"

    for match in re.finditer(rf"\.({READER_METHODS})\(", code):
        args = call_args(code, match.end() - 1)
        first = first_argument(args)
        names: list[str] = []
        literal = re.fullmatch(rf'"({NAME}|{TEMPLATE})"', first)
        constant = re.fullmatch(r"(?:\w+\.)*(\w+)", first)
        if literal:
            names.append(literal.group(1))
        elif constant and first not in ("true", "false"):
            # A named constant (`static let portalDirectory = "DTP_PORTAL_DIR"`) or a helper's parameter.
            defined = re.search(rf'\blet\s+{constant.group(1)}\s*(?::\s*String)?\s*=\s*"({NAME})"', code)
            if defined:
                names.append(defined.group(1))
            else:
                key_parameters.add(constant.group(1))
        elif match.group(1) == "logLevel" and first == "":
            names.append(log_level_key)
        aliases = re.search(r"aliases:\s*\[([^\]]*)\]", args)
        if aliases and names:
            names += literals(aliases.group(1))
        if names:
            reads.append(Read(tuple(names), line_of(match.start())))
    for match in re.finditer(r"\braw\(\s*\[", code):
        args = call_args(code, match.end() - 1)
        names = literals(args)
        if names:
            reads.append(Read(tuple(names), line_of(match.start())))
        else:
            key_parameters.update(re.findall(r"\b(\w+)\b", args))
    for pattern in (rf'environment\[\s*"({NAME})"\s*\](?!\s*=[^=])', rf'\bvalue\(\s*"({NAME})"\s*\)',
                    rf'getenv\(\s*"({NAME})"\s*\)'):
        for match in re.finditer(pattern, code):
            reads.append(Read((match.group(1),), line_of(match.start())))
    for match in re.finditer(r"\b(?:environment\[|value\()\s*(\w+)\s*[\])]", code):
        key_parameters.add(match.group(1))
    # Literals handed to a helper of this file whose parameter is used as a key: `influx(url: "X_URL")`.
    key_parameters -= {"key", "keys"}
    for match in re.finditer(rf'\b(\w+):\s*"({NAME})"', code):
        if match.group(1) in key_parameters:
            reads.append(Read((match.group(2),), line_of(match.start())))
    # A family read by prefix: `for (key, value) in environment where key.hasPrefix(prefix)`.
    for match in re.finditer(r"environment\b[^\n]*hasPrefix\(\s*(\w+|\"[^\"]*\")\s*\)", code):
        token = match.group(1)
        prefix = token.strip('"')
        if not token.startswith('"'):
            definition = re.search(rf'let {token}\s*=\s*"({NAME})"', code)
            prefix = definition.group(1) if definition else ""
        if prefix:
            reads.append(Read((prefix,), line_of(match.start()), prefix=True))
    # One read per distinct name set (a file may name a variable twice).
    unique: dict[tuple[tuple[str, ...], bool], Read] = {}
    for read in reads:
        unique.setdefault((read.names, read.prefix), read)
    return list(unique.values())


def declared_types(text: str) -> list[str]:
    """The types a file declares or extends: calls into any of them bring in its reads."""
    return re.findall(
        r"^\s*(?:(?:public|internal|package|fileprivate|private|final)\s+)*(?:struct|enum|class|actor|extension)"
        r"\s+(\w+)", text, re.M)


@functools.lru_cache(maxsize=64)
def calls_by_type(text: str) -> dict[str, list[str]]:
    """`Type(...)` and `Type.member(...)` calls in `text` whose arguments include the environment or a
    ConfigReader, by type name (one pass, since every Shared type is looked up in the same text)."""
    calls: dict[str, list[str]] = {}
    for match in re.finditer(r"\b([A-Z]\w*)(?:\.\w+)?\(", text):
        args = call_args(text, match.end() - 1)
        if re.search(r"\b(environment|reader)\s*:", args):
            calls.setdefault(match.group(1), []).append(args)
    return calls


def invokes(text: str, type_name: str) -> list[str]:
    """The argument lists of calls into `type_name` that hand it the environment or a ConfigReader."""
    return calls_by_type(text).get(type_name, [])


@dataclasses.dataclass
class Executable:
    binary: str
    target: str
    path: str
    reads: list[Read]
    port: int | None
    sources: list[str]


def package_executables(root: Path) -> dict[str, tuple[str, str]]:
    """binary -> (target, folder), from Package.swift."""
    text = (root / "Package.swift").read_text()
    products = re.findall(r'\.executable\(\s*name:\s*"([^"]+)",\s*targets:\s*\["([^"]+)"\]', text)
    result = {}
    for binary, target in products:
        match = re.search(rf'\.executableTarget\(\s*name:\s*"{target}"(.*?)path:\s*"([^"]+)"', text, re.S)
        if not match:
            raise RuntimeError(f"Package.swift: no path for executable target {target}")
        result[binary] = (target, match.group(2))
    if not result:
        raise RuntimeError("Package.swift: no executables found")
    return result


def swift_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.swift") if ".build" not in p.parts)


def discover(root: Path) -> dict[str, Executable]:
    """Every deployed executable with the variables it reads, its port and its source files."""
    log_level_key = default_log_level_key(root)
    shared = {p: p.read_text() for p in swift_files(root / "Shared")}
    shared_types = {p: declared_types(strip_comments(t)) for p, t in shared.items()}
    result = {}
    for binary, (target, folder) in package_executables(root).items():
        if binary in NOT_DEPLOYED:
            continue
        own = {p: p.read_text() for p in swift_files(root / folder)}
        included = dict(own)
        changed = True
        while changed:
            changed = False
            corpus = "\n".join(strip_comments(t) for t in included.values())
            for path, text in shared.items():
                if path not in included and any(invokes(corpus, t) for t in shared_types[path]):
                    included[path] = text
                    changed = True
        corpus = "\n".join(strip_comments(t) for t in included.values())
        reads: list[Read] = []
        for path, text in included.items():
            for read in file_reads(path.relative_to(root), text, log_level_key):
                reads.append(resolve_templates(read, text, shared_types.get(path, []), corpus))
        port = None
        for text in own.values():
            match = re.search(r"defaultPort(?::\s*|\s*=\s*)(\d+)", text)
            if match:
                port = int(match.group(1))
        result[binary] = Executable(binary, target, folder, reads, port,
                                    sorted(str(p.relative_to(root)) for p in included))
    return result


def resolve_templates(read: Read, text: str, type_names: list[str], corpus: str) -> Read:
    """`"DTP_SERVICE_TOKEN_\\(upper)"` where `let upper = service.uppercased()` and the caller passes
    `service: "lift"` becomes DTP_SERVICE_TOKEN_LIFT. What cannot be resolved stays as written (and
    then fails the check unless allow-listed)."""
    names = []
    for name in read.names:
        match = re.search(r"\\\((\w+)\)", name)
        value = None
        if match and type_names:
            variable = match.group(1)
            source = re.search(rf"let {variable}\s*=\s*(\w+)\.uppercased\(\)", text)
            if source:
                values = set()
                for args in (a for t in type_names for a in invokes(corpus, t)):
                    given = re.search(rf'\b{source.group(1)}:\s*"([^"]+)"', args)
                    if given:
                        values.add(given.group(1).upper())
                if len(values) == 1:
                    value = values.pop()
        names.append(name.replace(match.group(0), value) if match and value else name)
    return dataclasses.replace(read, names=tuple(names))


def health_paths(root: Path) -> set[str]:
    text = (root / "Shared/ServiceKit/HealthController.swift").read_text()
    return {"/" + p for p in re.findall(r'router\.get\("(\w+)"\)', text)}


# ---------------------------------------------------------------------------------------------------
# Reading the deployment files
# ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Container:
    """One DTP container in one mode: what it runs, the variables it sets, its ports and probes."""

    mode: str
    name: str
    binary: str
    image: str
    env: dict[str, str]  # name -> value ("<secret>" for references)
    explicit: set[str]  # names its own definition sets (the image's ENV aside), which it must read
    ports: list[int]
    probes: dict[str, tuple[str, int]]  # liveness/readiness/healthcheck -> (path, port)
    labels: dict[str, str]
    service_ports: list[int]  # target ports of the Services that select it


def dockerfile_env(root: Path) -> dict[str, str]:
    text = (root / "deploy/Dockerfile").read_text().replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        if line.strip().startswith("ENV "):
            for key, value in re.findall(r"(\w+)=(\S+)", line):
                env[key] = value
    return env


def dotenv(path: Path) -> dict[str, str]:
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def interpolate(value: str, variables: dict[str, str], missing: list[str]) -> str:
    def replace(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if op in (":-", "-"):
            return arg or ""
        missing.append(name)
        return ""
    return re.sub(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", replace, str(value))


def compose_files(root: Path) -> list[Path]:
    return sorted((root / "deploy/compose").rglob("*.yaml"))


def compose_containers(root: Path, binaries: set[str], problems: list[str]) -> list[Container]:
    variables = dotenv(root / "deploy/compose/.env.example")
    image_env = dockerfile_env(root)
    containers = []
    for path in compose_files(root):
        document = yaml.safe_load(path.read_text()) or {}
        for name, service in (document.get("services") or {}).items():
            command = service.get("command") or []
            if isinstance(command, str):
                command = command.split()
            if not command or command[0] not in binaries:
                continue
            missing: list[str] = []
            raw_env = service.get("environment") or {}
            if isinstance(raw_env, list):
                raw_env = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw_env)
            env = {k: interpolate(v if v is not None else "", variables, missing) for k, v in raw_env.items()}
            for env_file in service.get("env_file") or []:
                env_path = env_file if isinstance(env_file, str) else env_file.get("path")
                env.update(dotenv(path.parent / env_path))
            image = interpolate(service.get("image", ""), variables, missing)
            for variable in missing:
                problems.append(f"compose {path.name}: {name}: ${{{variable}}} is neither in .env.example "
                                f"nor given a default")
            explicit = {k for k, v in env.items() if v != ""}
            merged = {**image_env, **{k: v for k, v in env.items() if v != ""}}
            ports = []
            for mapping in service.get("ports") or []:
                text = str(mapping.get("target") if isinstance(mapping, dict) else mapping)
                ports.append(int(text.split(":")[-1].split("/")[0]))
            probes = {}
            test = service.get("healthcheck", {}).get("test")
            if test:
                url = re.search(r"http://[^/:\s]+:(\d+)(/\w*)", " ".join(test) if isinstance(test, list) else test)
                probes["healthcheck"] = (url.group(2), int(url.group(1))) if url else ("", 0)
            containers.append(Container("compose", name, command[0], image, merged, explicit, ports, probes,
                                        {}, []))
    return containers


_rendered: dict[tuple[str, str], str] = {}


def render_overlay(root: Path, overlay: str) -> list[dict]:
    """`kubectl kustomize` of one overlay, remembered by the content of deploy/k8s (the drift tests
    render many copies of the same files)."""
    digest = hashlib.sha256()
    for path in sorted((root / "deploy/k8s").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    key = (digest.hexdigest(), overlay)
    if key not in _rendered:
        _rendered[key] = _kustomize(root, overlay)
    return [d for d in yaml.safe_load_all(_rendered[key]) if d]


def _kustomize(root: Path, overlay: str) -> str:
    result = subprocess.run(["kubectl", "kustomize", str(root / "deploy/k8s/overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize overlays/{overlay} failed: {result.stderr.strip()}")
    return result.stdout


def pod_spec(obj: dict) -> dict | None:
    if obj.get("kind") in POD_KINDS:
        return obj["spec"]["template"]["spec"]
    if obj.get("kind") == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(obj: dict) -> dict[str, str]:
    template = obj["spec"].get("template") or obj["spec"]["jobTemplate"]["spec"]["template"]
    return template.get("metadata", {}).get("labels", {})


def k8s_containers(root: Path, overlay: str, objects: list[dict], binaries: set[str]) -> list[Container]:
    image_env = dockerfile_env(root)
    maps: dict[tuple[str, str], dict[str, str]] = {}
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            maps[("configMap", obj["metadata"]["name"])] = dict(obj.get("data") or {})
        elif obj["kind"] == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
            data.update(obj.get("stringData") or {})
            maps[("secret", obj["metadata"]["name"])] = data
    services = [o for o in objects if o["kind"] == "Service"]
    containers = []
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        labels = pod_labels(obj)
        for c in spec.get("containers", []):
            command = (c.get("command") or []) + (c.get("args") or [])
            if not command or command[0] not in binaries:
                continue
            env: dict[str, str] = {}
            explicit: set[str] = set()
            for source in c.get("envFrom") or []:
                for kind in ("configMap", "secret"):
                    ref = source.get(kind + "Ref")
                    if ref:
                        for key, value in maps.get((kind, ref["name"]), {}).items():
                            if value != "":
                                env[source.get("prefix", "") + key] = value
                                explicit.add(source.get("prefix", "") + key)
            for item in c.get("env") or []:
                if "valueFrom" in item:
                    ref = item["valueFrom"].get("secretKeyRef") or item["valueFrom"].get("configMapKeyRef")
                    kind = "secret" if "secretKeyRef" in item["valueFrom"] else "configMap"
                    value = maps.get((kind, ref["name"]), {}).get(ref["key"], "") if ref else "<field>"
                else:
                    value = str(item.get("value", ""))
                if value != "":
                    env[item["name"]] = value
                    explicit.add(item["name"])
            named = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}

            def port_of(ref) -> int:
                return named.get(ref, 0) if isinstance(ref, str) else int(ref)

            probes = {}
            for kind in ("livenessProbe", "readinessProbe"):
                get = (c.get(kind) or {}).get("httpGet")
                probes[kind] = (get["path"], port_of(get["port"])) if get else ("", 0)
            service_ports = []
            for svc in services:
                selector = svc["spec"].get("selector") or {}
                if selector and all(labels.get(k) == v for k, v in selector.items()):
                    service_ports += [port_of(p.get("targetPort", p["port"])) for p in svc["spec"]["ports"]]
            containers.append(Container(
                f"k8s/{overlay}", f"{obj['kind']}/{obj['metadata']['name']}", command[0], c.get("image", ""),
                {**image_env, **env}, explicit, list(named.values()), probes, labels, service_ports))
    return containers


# ---------------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Allowed:
    binaries: frozenset[str]
    name: str
    reason: str

    def covers(self, binary: str, name: str) -> bool:
        return ("*" in self.binaries or binary in self.binaries) and name == self.name


def allow_list(root: Path, problems: list[str]) -> list[Allowed]:
    """deploy/validate/env-allowlist.txt: `<binaries or *> <VARIABLE> <reason>` per line."""
    entries = []
    path = root / "deploy/validate/env-allowlist.txt"
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or len(parts[2].strip()) < 10:
            problems.append(f"{path.name}:{number}: needs `<binaries> <VARIABLE> <reason>` with a real reason")
            continue
        entries.append(Allowed(frozenset(parts[0].split(",")), parts[1], parts[2].strip()))
    return entries


def check_allow_list_names(allowed: list[Allowed], executables: dict[str, Executable]) -> list[str]:
    return [f"env-allowlist.txt: {b} is not a deployed executable" for a in allowed for b in sorted(a.binaries)
            if b != "*" and b not in executables]


def check_readme_ports(root: Path, executables: dict[str, Executable]) -> list[str]:
    """The README's services table gives each executable's port: it must be the code's."""
    problems = []
    text = (root / "README.md").read_text()
    for binary, exe in sorted(executables.items()):
        row = re.search(rf"^\| `{re.escape(binary)}` \|.*\| (\d+) \|[^|]*\|$", text, re.M)
        if exe.port is None:
            continue
        if not row:
            problems.append(f"README.md: no row for {binary} in the services table")
        elif int(row.group(1)) != exe.port:
            problems.append(f"README.md gives {binary} port {row.group(1)}; the code binds {exe.port}")
    return problems


def check_environment(executables: dict[str, Executable], containers: list[Container],
                      allowed: list[Allowed], modes: list[str]) -> list[str]:
    problems = []
    for binary, exe in sorted(executables.items()):
        for mode in modes:
            mine = [c for c in containers if c.binary == binary and c.mode == mode]
            if not mine:
                problems.append(f"{mode}: no container runs {binary}")
            for c in mine:
                for read in exe.reads:
                    if read.prefix:
                        ok = any(name.startswith(read.names[0]) for name in c.env)
                    else:
                        ok = any(name in c.env for name in read.names)
                    ok = ok or any(a.covers(binary, name + ("*" if read.prefix else ""))
                                   for a in allowed for name in read.names)
                    if not ok:
                        problems.append(f"{mode}: {c.name} ({binary}) does not set {read.label()}, which "
                                        f"{read.where} reads (set it, or allow-list it with a reason)")
                known = {n for r in exe.reads if not r.prefix for n in r.names}
                prefixes = [r.names[0] for r in exe.reads if r.prefix]
                for name in sorted(c.explicit):
                    if name not in known and not any(name.startswith(p) for p in prefixes):
                        problems.append(f"{mode}: {c.name} sets {name}, which {binary} does not read")
                for a in allowed:
                    for name in [a.name] if binary in a.binaries else []:
                        if name.rstrip("*") not in known and not any(name.rstrip("*") == p for p in prefixes):
                            problems.append(f"env-allowlist.txt: {binary} does not read {name}: drop the line")
    return sorted(set(problems))


def check_ports_and_probes(executables: dict[str, Executable], containers: list[Container],
                           paths: set[str]) -> list[str]:
    problems = []
    for c in containers:
        exe = executables[c.binary]
        if c.binary in TOOLS:
            continue
        if exe.port is None:
            problems.append(f"{c.binary}: no default port found in {exe.path}")
            continue
        listens = int(c.env.get("DTP_HTTP_PORT", exe.port))
        if listens != exe.port:
            problems.append(f"{c.mode}: {c.name} listens on {listens}; {c.binary}'s port is {exe.port}")
        for port in c.ports + c.service_ports:
            if port != listens:
                problems.append(f"{c.mode}: {c.name} exposes {port}, but listens on {listens}")
        wanted = {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}
        if c.mode == "compose":
            wanted = {"healthcheck": "/readyz"}
        for kind, path in wanted.items():
            got_path, got_port = c.probes.get(kind, ("", 0))
            if path not in paths:
                problems.append(f"ServiceKit no longer serves {path}: update the probes and deploycheck.py")
            if (got_path, got_port) != (path, listens):
                problems.append(f"{c.mode}: {c.name} {kind} asks {got_path or 'nothing'} on {got_port}; "
                                f"expected {path} on {listens}")
    return problems


def check_images(containers: list[Container], compose_infra: list[str], k8s_infra: list[str]) -> list[str]:
    problems = []
    images = sorted({c.image for c in containers})
    if len(images) != 1:
        problems.append("DTP containers run different images: " + ", ".join(
            f"{img} ({', '.join(sorted({c.mode + ':' + c.name for c in containers if c.image == img}))})"
            for img in images))
    elif ":" not in images[0] or images[0].endswith(":latest"):
        problems.append(f"the DTP image {images[0]} needs an explicit tag")
    for image in compose_infra + k8s_infra:
        tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
        if not tag or tag == "latest":
            problems.append(f"store image {image} needs a pinned tag")
    return problems


def check_dockerfile(root: Path, executables: dict[str, Executable]) -> list[str]:
    """The image builds every deployed executable, resolves dependencies in a layer of their own, links
    the Swift runtime statically and runs as a non-root user; .dockerignore keeps the build folders out."""
    text = (root / "deploy/Dockerfile").read_text()
    problems = []
    build_loops = re.findall(r"for product in ([^;]+);", text)
    for binary in sorted(executables):
        if not build_loops or any(binary not in loop.split() for loop in build_loops):
            problems.append(f"deploy/Dockerfile does not build and install {binary}")
    order = [text.find("COPY Package.swift"), text.find("swift package resolve"), text.find("COPY . .")]
    if -1 in order or order != sorted(order):
        problems.append("deploy/Dockerfile must COPY Package.swift, run `swift package resolve`, then COPY . .")
    if "--static-swift-stdlib" not in text or "-c release" not in text:
        problems.append("deploy/Dockerfile must build with -c release --static-swift-stdlib")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("deploy/Dockerfile must end on a non-root USER")
    if len(re.findall(r"^FROM\s", text, re.M)) < 2:
        problems.append("deploy/Dockerfile must be multi-stage")
    ignored = {line.strip() for line in (root / ".dockerignore").read_text().splitlines()}
    for folder in (".build", ".dtp"):
        if folder not in ignored:
            problems.append(f".dockerignore must keep {folder} out of the build context")
    return problems


def check_copies(root: Path) -> list[str]:
    """kustomize reads only below deploy/k8s/base, so it holds copies that must not drift."""
    base = root / "deploy/k8s/base"
    pairs = [(base / "config/mosquitto.conf", root / "deploy/mosquitto/mosquitto.conf"),
             (base / "config/container.conf", root / "deploy/mosquitto/container.conf"),
             (base / "config/init.sql", root / "deploy/postgres/init.sql")]
    for twin in sorted((root / "twins").glob("*/twin.yaml")):
        pairs.append((base / "twins" / twin.parent.name / "twin.yaml", twin))
    problems = []
    for copy, original in pairs:
        if not copy.exists() or copy.read_bytes() != original.read_bytes():
            problems.append(f"{copy.relative_to(root)} differs from {original.relative_to(root)}: cp the original")
    return problems


def check_twins_mounted(root: Path, objects: list[dict], overlay: str) -> list[str]:
    twins = sorted(p.parent.name for p in (root / "twins").glob("*/twin.yaml"))
    problems = []
    for obj in objects:
        spec = pod_spec(obj)
        for volume in (spec or {}).get("volumes", []):
            cm = volume.get("configMap")
            if cm and cm["name"].startswith("dtp-twins"):
                paths = sorted(i["path"] for i in cm.get("items", []))
                expected = sorted(f"{t}/twin.yaml" for t in twins)
                if paths != expected:
                    problems.append(f"k8s/{overlay}: {obj['metadata']['name']} mounts twins {paths}; "
                                    f"twins/ has {expected}")
    return problems


# Workloads whose root filesystem stays writable, with the reason.
WRITABLE_ROOT = {"neo4j": "the image's entry point writes neo4j.conf from the NEO4J_* variables at start-up"}


def check_hardening(objects: list[dict], overlay: str) -> list[str]:
    """Every container of every workload: requests and limits, no privilege escalation, every capability
    dropped, non-root, a read-only root filesystem (WRITABLE_ROOT aside), and probes on long-running ones."""
    problems = []
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        name = obj["metadata"]["name"]
        pod_context = spec.get("securityContext") or {}
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            where = f"k8s/{overlay}: {obj['kind']}/{name} container {c['name']}"
            resources = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(kind) or {}):
                        problems.append(f"{where} has no {resource} {kind[:-1]}")
            context = c.get("securityContext") or {}
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where} allows privilege escalation")
            if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{where} does not drop every capability")
            if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
                problems.append(f"{where} may run as root")
            if context.get("readOnlyRootFilesystem") is not True and name not in WRITABLE_ROOT:
                problems.append(f"{where} has a writable root filesystem")
            if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
                for probe in ("livenessProbe", "readinessProbe"):
                    if probe not in c:
                        problems.append(f"{where} has no {probe}")
    return problems


def check_network_policies(objects: list[dict], containers: list[Container], overlay: str) -> list[str]:
    """Each store a DTP container is pointed at (by an env value naming its Service) must admit it."""
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    problems = []
    for c in containers:
        if c.mode != f"k8s/{overlay}":
            continue
        for name, value in sorted(c.env.items()):
            # An address: a URL (http://minio:9100) or a *_HOST variable (PGHOST=timescaledb).
            if "://" in value:
                host = re.match(r"^\w+://([a-z0-9-]+)(?::(\d+))?", value)
            elif name.endswith("HOST"):
                host = re.match(r"^([a-z0-9-]+)()$", value)
            else:
                continue
            if not host or host.group(1) not in services:
                continue
            svc = services[host.group(1)]
            selector = svc["spec"].get("selector") or {}
            # A service's own address (DTP_DISCOVERY_URL for discovery) is what it advertises when it
            # registers itself, not a connection it opens.
            if selector and all(c.labels.get(k) == v for k, v in selector.items()):
                continue
            port = int(host.group(2)) if host.group(2) else svc["spec"]["ports"][0]["port"]
            if not allowed_by(policies, selector, c.labels, port):
                problems.append(f"k8s/{overlay}: {c.name} reaches {host.group(1)}:{port} ({name}), but no "
                                f"NetworkPolicy lets it in")
    return problems


def allowed_by(policies: list[dict], target: dict, source: dict, port: int) -> bool:
    for policy in policies:
        spec = policy["spec"]
        match = spec.get("podSelector", {})
        if not selects(match, target):
            continue
        for rule in spec.get("ingress") or []:
            ports = [p.get("port") for p in rule.get("ports") or []]
            if ports and port not in ports:
                continue
            peers = rule.get("from")
            if not peers or any("podSelector" in p and "namespaceSelector" not in p
                                and selects(p["podSelector"], source) for p in peers):
                return True
    return False


def selects(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        if expression["operator"] == "In" and labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def validate_kubernetes(objects: list[dict], overlay: str) -> list[str]:
    import kubernetes_validate
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except Exception as error:  # the library raises several types; each is a finding
            message = str(error).splitlines()[0]
            problems.append(f"k8s/{overlay}: {obj['kind']}/{obj['metadata'].get('name')}: {message}")
    return problems


def compose_schema() -> dict:
    from importlib import resources
    schema = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    return json.loads(schema.read_text())


def validate_compose(root: Path) -> list[str]:
    import jsonschema
    validator = jsonschema.Draft202012Validator(compose_schema())
    problems = []
    for path in compose_files(root):
        document = yaml.safe_load(path.read_text())
        for error in validator.iter_errors(document):
            location = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"compose {path.relative_to(root)}: {location}: {error.message}")
    problems += check_compose_model(root)
    included = yaml.safe_load((root / "deploy/compose/compose.yaml").read_text()).get("include", [])
    included = {(i if isinstance(i, str) else i["path"]) for i in included}
    for path in compose_files(root):
        relative = str(path.relative_to(root / "deploy/compose"))
        if relative != "compose.yaml" and relative not in included:
            problems.append(f"compose.yaml does not include {relative}")
    return problems


def check_compose_model(root: Path) -> list[str]:
    """What the schema cannot see in the merged model: each service is defined once, starts after the
    health checks of what it depends on, has a health check itself (one-shot tools aside), and uses only
    volumes that its own file declares (compose loads each included file on its own)."""
    problems = []
    services: dict[str, tuple[str, dict]] = {}
    for path in compose_files(root):
        document = yaml.safe_load(path.read_text()) or {}
        declared = set((document.get("volumes") or {}).keys())
        for name, service in (document.get("services") or {}).items():
            if name in services:
                problems.append(f"compose: {name} is defined in {services[name][0]} and {path.name}")
            services[name] = (path.name, service)
            for volume in service.get("volumes") or []:
                source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
                if source and not source.startswith((".", "/")) and source not in declared:
                    problems.append(f"compose {path.name}: {name} mounts volume {source}, not declared there")
    for name, (file, service) in sorted(services.items()):
        if not service.get("profiles") and not service.get("healthcheck"):
            problems.append(f"compose {file}: {name} has no healthcheck")
        depends = service.get("depends_on") or {}
        for target in depends if isinstance(depends, list) else depends.keys():
            if target not in services:
                problems.append(f"compose {file}: {name} depends on {target}, which no file defines")
            elif not services[target][1].get("healthcheck"):
                problems.append(f"compose {file}: {name} depends on {target}, which has no healthcheck")
            elif isinstance(depends, list) or depends[target].get("condition") != "service_healthy":
                problems.append(f"compose {file}: {name} should wait for {target} to be healthy")
    return problems


def compose_store_images(root: Path, binaries: set[str]) -> list[str]:
    variables = dotenv(root / "deploy/compose/.env.example")
    images = []
    for path in compose_files(root):
        for service in ((yaml.safe_load(path.read_text()) or {}).get("services") or {}).values():
            command = service.get("command") or [""]
            if (command if isinstance(command, list) else command.split())[0] not in binaries:
                images.append(interpolate(service.get("image", ""), variables, []))
    return images


def k8s_store_images(objects: list[dict], binaries: set[str]) -> list[str]:
    images = []
    for obj in objects:
        for c in (pod_spec(obj) or {}).get("containers", []):
            if ((c.get("command") or [""]) + [""])[0] not in binaries:
                images.append(c["image"])
    return images


@dataclasses.dataclass
class Report:
    executables: dict[str, Executable]
    containers: list[Container]
    problems: dict[str, list[str]]


def run(root: Path, schemas: bool = True) -> Report:
    """Every check; `schemas=False` skips the (slower) schema validation."""
    root = root.resolve()
    executables = discover(root)
    binaries = set(executables)
    problems: dict[str, list[str]] = {}
    setup: list[str] = []
    allowed = allow_list(root, setup)
    containers = compose_containers(root, binaries, setup)
    rendered = {overlay: render_overlay(root, overlay) for overlay in OVERLAYS}
    for overlay, objects in rendered.items():
        containers += k8s_containers(root, overlay, objects, binaries)
    modes = ["compose"] + [f"k8s/{o}" for o in OVERLAYS]
    problems["setup"] = setup + check_allow_list_names(allowed, executables)
    problems["environment"] = check_environment(executables, containers, allowed, modes)
    problems["ports and probes"] = (check_ports_and_probes(executables, containers, health_paths(root))
                                    + check_readme_ports(root, executables))
    problems["images"] = check_images(
        containers, compose_store_images(root, binaries),
        [i for objects in rendered.values() for i in k8s_store_images(objects, binaries)])
    problems["dockerfile"] = check_dockerfile(root, executables)
    problems["copies"] = check_copies(root) + [
        p for overlay, objects in rendered.items() for p in check_twins_mounted(root, objects, overlay)]
    problems["hardening"] = [p for overlay, objects in rendered.items() for p in check_hardening(objects, overlay)]
    problems["network policies"] = [p for overlay, objects in rendered.items()
                                    for p in check_network_policies(objects, containers, overlay)]
    if schemas:
        problems["compose schema"] = validate_compose(root)
        problems["kubernetes schema"] = [p for overlay, objects in rendered.items()
                                         for p in validate_kubernetes(objects, overlay)]
    return Report(executables, containers, problems)


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    report = run(root)
    if "--reads" in argv:
        for binary, exe in sorted(report.executables.items()):
            print(f"{binary} (port {exe.port}):")
            for read in sorted(exe.reads, key=lambda r: r.names):
                print(f"  {read.label():55} {read.where}")
    failed = 0
    for check, problems in report.problems.items():
        for problem in problems:
            print(f"{check}: {problem}")
        failed += len(problems)
    print(f"deploycheck: {failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
