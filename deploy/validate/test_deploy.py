"""The deployment files, validated offline: `python3 deploy/validate/test_deploy.py` (scripts/test runs it).

The first group checks the repository as it is; the second changes a copy of it the way drift happens
(a service reads a new variable, a port or an image tag changes, a policy forgets a client) and checks
that deploycheck.py notices.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deploycheck  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class Repository(unittest.TestCase):
    """Every check against the files as committed."""

    report: deploycheck.Report

    @classmethod
    def setUpClass(cls) -> None:
        cls.report = deploycheck.run(ROOT)

    def assertNoProblems(self, check: str) -> None:
        self.assertEqual(self.report.problems[check], [], f"{check}:\n" + "\n".join(self.report.problems[check]))

    def test_every_overlay_renders_a_workload_per_executable(self) -> None:
        for overlay in deploycheck.OVERLAYS:
            objects = deploycheck.render_overlay(ROOT, overlay)
            self.assertTrue(objects, overlay)
            containers = deploycheck.k8s_containers(ROOT, overlay, objects, set(self.report.executables))
            running = {c.binary for c in containers}
            self.assertEqual(running, set(self.report.executables), overlay)

    def test_rendered_objects_validate_against_the_kubernetes_schemas(self) -> None:
        self.assertNoProblems("kubernetes schema")

    def test_compose_files_validate_against_the_compose_spec(self) -> None:
        self.assertNoProblems("compose schema")

    def test_every_variable_each_executable_reads_is_set_in_every_mode(self) -> None:
        self.assertNoProblems("setup")
        self.assertNoProblems("environment")

    def test_ports_and_health_paths_match_the_code(self) -> None:
        self.assertNoProblems("ports and probes")

    def test_every_dtp_container_runs_the_same_image_and_stores_are_pinned(self) -> None:
        self.assertNoProblems("images")

    def test_the_image_builds_every_deployed_executable_as_the_issue_asks(self) -> None:
        self.assertNoProblems("dockerfile")

    def test_copies_under_the_kustomize_base_match_their_originals(self) -> None:
        self.assertNoProblems("copies")

    def test_every_container_has_resources_probes_and_a_locked_down_security_context(self) -> None:
        self.assertNoProblems("hardening")

    def test_network_policies_admit_each_service_to_the_stores_it_is_given(self) -> None:
        self.assertNoProblems("network policies")

    def test_the_scanner_finds_reads_through_every_path_it_knows(self) -> None:
        # A scanner that found nothing would pass every check above, so it must see the reads that each
        # way of reading the environment produces in today's code.
        reads = {b: {n for r in e.reads for n in r.names} for b, e in self.report.executables.items()}
        for binary, executable in self.report.executables.items():
            if binary not in deploycheck.TOOLS:
                self.assertLessEqual({"LOG_LEVEL", "DTP_HTTP_PORT", "DTP_HTTP_HOST", "DTP_ENV"}, reads[binary])
                self.assertIsNotNone(executable.port, binary)
        self.assertLessEqual({"PGUSER", "MINIO_ENDPOINT", "NEO4J_URL", "DTP_JWT_SECRET"}, reads["dtp-registry"])
        self.assertIn(("DTP_SERVICE_TOKEN_",), {r.names for r in self.report.executables["dtp-registry"].reads
                                                if r.prefix})
        self.assertLessEqual({"DTP_SERVICE_TOKEN_LIFT", "DTP_LIFT_URL", "LOCAL_INFLUX_URL"}, reads["dtp-lift"])
        self.assertLessEqual({"DTP_SERVICE_TOKEN_HVAC", "DTP_HVAC_URL"}, reads["dtp-hvac"])
        self.assertLessEqual({"INFLUX_URL", "PGHOST", "MQTT_BROKER_HOST"}, reads["dtpctl"])
        for reads_of_one in reads.values():
            self.assertFalse([n for n in reads_of_one if "\\(" in n], "an interpolated name was not resolved")


class Drift(unittest.TestCase):
    """Each test edits a copy of the repository and expects deploycheck.py to report the change."""

    def setUp(self) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="dtp-deploycheck-")
        self.root = Path(self.directory.name)
        for name in ("Package.swift", ".dockerignore", "README.md"):
            shutil.copy2(ROOT / name, self.root / name)
        for name in ("Services", "Shared", "Tools", "twins", "deploy"):
            shutil.copytree(ROOT / name, self.root / name, ignore=shutil.ignore_patterns("__pycache__"))

    def tearDown(self) -> None:
        self.directory.cleanup()

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        self.assertIn(old, text, f"{relative} changed: update this test")
        path.write_text(text.replace(old, new, 1))

    def problems(self) -> list[str]:
        report = deploycheck.run(self.root, schemas=False)
        return [p for problems in report.problems.values() for p in problems]

    def test_a_service_reading_a_new_variable_that_no_manifest_sets_fails_in_every_mode(self) -> None:
        self.edit("Services/registry/RegistryConfig.swift", "        poolSize = reader.int(",
                  '        _ = reader.string("DTP_REGISTRY_DRIFT_PROBE", default: "x")\n        poolSize = reader.int(')
        problems = [p for p in self.problems() if "DTP_REGISTRY_DRIFT_PROBE" in p]
        modes = {p.split(":")[0] for p in problems}
        self.assertEqual(modes, {"compose", "k8s/dev", "k8s/prod"}, "\n".join(problems))
        self.assertTrue(all("dtp-registry" in p for p in problems), problems)
        # An allow-list line with a reason accepts it.
        with open(self.root / "deploy/validate/env-allowlist.txt", "a") as allow:
            allow.write("dtp-registry DTP_REGISTRY_DRIFT_PROBE a probe of this test, left to its default\n")
        self.assertEqual(self.problems(), [])

    def test_a_new_variable_in_a_shared_library_reaches_every_service_that_uses_it(self) -> None:
        self.edit("Shared/TwinStack/TwinStackSettings.swift", "        tenant = reader.string(",
                  '        _ = reader.optionalString("DTP_TWIN_DRIFT_PROBE")\n        tenant = reader.string(')
        problems = [p for p in self.problems() if "DTP_TWIN_DRIFT_PROBE" in p]
        self.assertEqual({re.search(r"\((dtp-\w+)\)", p).group(1) for p in problems}, {"dtp-lift", "dtp-hvac"})

    def test_a_variable_named_by_a_constant_is_found(self) -> None:
        self.edit("Services/registry/RegistryConfig.swift", "        poolSize = reader.int(",
                  '        _ = reader.string(Keys.probe, default: "x")\n        poolSize = reader.int(')
        with open(self.root / "Services/registry/RegistryConfig.swift", "a") as source:
            source.write('\nenum Keys {\n    static let probe = "DTP_REGISTRY_CONSTANT_PROBE"\n}\n')
        self.assertTrue([p for p in self.problems() if "does not set DTP_REGISTRY_CONSTANT_PROBE" in p])

    def test_an_alias_is_satisfied_by_either_name(self) -> None:
        self.edit("Services/hvac-generator/HVACConfiguration.swift", 'reader.string("SITE_ID", default:',
                  'reader.string("DTP_SITE", aliases: ["SITE_ID"], default:')
        self.assertEqual(self.problems(), [])

    def test_a_variable_set_but_never_read_fails(self) -> None:
        self.edit("deploy/compose/registry.yaml", '      DTP_REGISTRY_PG_POOL: "8"\n',
                  '      DTP_REGISTRY_PG_POOL: "8"\n      DTP_REGISTRY_POOL: "8"\n')
        self.assertIn("compose: registry sets DTP_REGISTRY_POOL, which dtp-registry does not read", self.problems())

    def test_a_port_that_differs_from_the_code_fails(self) -> None:
        self.edit("deploy/compose/gateway.yaml", 'DTP_HTTP_PORT: "8083"', 'DTP_HTTP_PORT: "9083"')
        self.edit("deploy/k8s/base/hvac.yaml", "path: /readyz\n            port: http",
                  "path: /ready\n            port: http")
        problems = self.problems()
        self.assertIn("compose: gateway listens on 9083; dtp-gateway's port is 8083", problems)
        self.edit("Services/lift-generator/LiftConfiguration.swift", "defaultPort = 3001", "defaultPort = 3011")
        self.assertIn("README.md gives dtp-lift port 3001; the code binds 3011", self.problems())
        self.assertTrue([p for p in problems if "Deployment/hvac readinessProbe asks /ready" in p], problems)

    def test_an_image_tag_that_differs_fails(self) -> None:
        self.edit("deploy/k8s/overlays/prod/kustomization.yaml", "newTag: 0.1.0", "newTag: 0.2.0")
        problems = self.problems()
        self.assertTrue([p for p in problems if p.startswith("DTP containers run different images")], problems)

    def test_a_store_that_does_not_admit_its_client_fails(self) -> None:
        self.edit("deploy/k8s/base/mosquitto.yaml", "app.kubernetes.io/name: lift\n",
                  "app.kubernetes.io/name: lift-old\n")
        problems = self.problems()
        self.assertIn("k8s/dev: Deployment/lift reaches mosquitto:1883 (MQTT_BROKER_HOST), but no NetworkPolicy "
                      "lets it in", problems)

    def test_a_new_executable_that_is_not_deployed_fails(self) -> None:
        self.edit("Package.swift", '.executable(name: "dtpctl", targets: ["DTPCtl"]),',
                  '.executable(name: "dtpctl", targets: ["DTPCtl"]),\n'
                  '        .executable(name: "dtp-probe", targets: ["DTPCtl"]),')
        problems = self.problems()
        for expected in ("compose: no container runs dtp-probe", "k8s/dev: no container runs dtp-probe",
                         "k8s/prod: no container runs dtp-probe",
                         "deploy/Dockerfile does not build and install dtp-probe"):
            self.assertIn(expected, problems)

    def test_a_dependency_on_a_missing_service_fails(self) -> None:
        self.edit("deploy/compose/gateway.yaml", "      registry: {condition: service_healthy}",
                  "      registry: {condition: service_healthy}\n      portal-cache: {condition: service_healthy}")
        problems = deploycheck.validate_compose(self.root)
        self.assertIn("compose gateway.yaml: gateway depends on portal-cache, which no file defines", problems)

    def test_a_container_without_limits_or_with_a_writable_root_fails(self) -> None:
        self.edit("deploy/k8s/base/minio.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")
        self.edit("deploy/k8s/base/minio.yaml", "          limits:\n            cpu: '2'\n", "          limits:\n")
        problems = self.problems()
        for overlay in deploycheck.OVERLAYS:
            self.assertIn(f"k8s/{overlay}: StatefulSet/minio container minio has a writable root filesystem", problems)
            self.assertIn(f"k8s/{overlay}: StatefulSet/minio container minio has no cpu limit", problems)

    def test_a_copy_that_drifts_from_its_original_fails(self) -> None:
        self.edit("deploy/mosquitto/mosquitto.conf", "max_inflight_messages 100", "max_inflight_messages 50")
        self.assertIn("deploy/k8s/base/config/mosquitto.conf differs from deploy/mosquitto/mosquitto.conf: "
                      "cp the original", self.problems())


def main() -> int:
    """Runs every test and prints one closing line that scripts/test adds to its own."""
    start = time.monotonic()
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"deploy tests took {time.monotonic() - start:.1f} s")
    print(f"deploy tests: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
