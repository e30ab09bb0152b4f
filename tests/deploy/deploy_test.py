"""Keeps deploy/ honest without a cluster or a Docker daemon.

Parses every YAML document of deploy/k8s and deploy/Dockerfile, and checks them
against the real chainverifyd: its flags come from `chainverifyd --helpfull`,
the policies are loaded by `chainverifyd --check_policy`, and the server is
started with the StatefulSet's own arguments (paths mapped onto directories laid
out as the kubelet lays out ConfigMap, Secret and persistent volumes, $(VAR)
references expanded as the kubelet expands them) and probed the way the kubelet
and Prometheus would; a pod deleted and rescheduled onto its volume is a server
stopped and started again on the same directory.

Writes one JUnit test case per check to $XML_OUTPUT_FILE (junit_main.py).
"""
import glob
import os
import re
import shutil
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
import urllib.request

import yaml

import junit_main

ROOT = os.path.join(os.environ.get("TEST_SRCDIR", ""), "chainverify")
K8S = os.path.join(ROOT, "deploy", "k8s")
CHAINVERIFYD = os.path.join(ROOT, "server", "chainverifyd")
CHAINVERIFY = os.path.join(ROOT, "client", "chainverify")
TMP = os.environ.get("TEST_TMPDIR") or tempfile.gettempdir()

# Beyond preStop and --shutdown_grace, the pod's grace period must leave this
# much for flushing the audit log and process exit.
GRACE_MARGIN_S = 5
# The process itself, its trust stores and gRPC buffers, beside the budgets the
# flags set (measured: about 28 MB resident idle with the OS store).
BASE_MEMORY_BYTES = 64 << 20
# server/pki/caches.h: a signature cache entry costs about 200 bytes.
SIGNATURE_ENTRY_BYTES = 200


# --- reading the server -------------------------------------------------------

def server_flags():
    """{flag: default text} parsed from `chainverifyd --helpfull`."""
    out = subprocess.run([CHAINVERIFYD, "--helpfull"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
    flags, current = {}, None
    entry = []
    for line in out.splitlines() + ["    --end_marker ("]:
        m = re.match(r"^    --([A-Za-z0-9_]+) \(", line)
        if m or not line.startswith("      "):
            if current is not None:
                text = " ".join(entry)
                d = re.search(r"; default: (.*);$", text)
                flags[current] = d.group(1).strip('"') if d else ""
            current, entry = (m.group(1), [line.strip()]) if m else (None, [])
        elif current is not None:
            entry.append(line.strip())
    flags.pop("end_marker", None)
    return flags


_FLAGS = None


def flags():
    global _FLAGS
    if _FLAGS is None:
        _FLAGS = server_flags()
        if "listen" not in _FLAGS or "policy_file" not in _FLAGS:
            raise AssertionError("could not read chainverifyd --helpfull")
    return _FLAGS


def parse_duration(text):
    """Seconds in an absl duration ("10s", "1m30s", "250ms")."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("not a duration: %r" % text)
    return sum(float(n) * units[u] for n, u in parts)


def parse_quantity(text):
    """Bytes or cores in a Kubernetes quantity ("512Mi", "500m", "2")."""
    text = str(text)
    suffixes = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
                "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    for suffix, factor in sorted(suffixes.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * factor
    return float(text)


def host_port(value):
    host, _, port = value.rpartition(":")
    return host, int(port)


# --- reading the manifests ----------------------------------------------------

def documents():
    docs = []
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    docs.append((os.path.basename(path), doc))
    return docs


def objects(kind):
    return [d for _, d in documents() if d.get("kind") == kind]


def one(kind, name=None):
    found = [d for d in objects(kind) if name is None or d["metadata"]["name"] == name]
    if len(found) != 1:
        raise AssertionError("expected one %s %s, found %d" % (kind, name or "", len(found)))
    return found[0]


def workload():
    """The StatefulSet running the replicas."""
    return one("StatefulSet")


def pod_spec():
    return workload()["spec"]["template"]["spec"]


def container():
    containers = pod_spec()["containers"]
    if len(containers) != 1:
        raise AssertionError("expected one container, found %d" % len(containers))
    return containers[0]


def args():
    """The container's flags as {name: value}; every arg must be --name=value."""
    result = {}
    for arg in container()["args"]:
        m = re.fullmatch(r"--([A-Za-z0-9_]+)=(.*)", arg)
        if m is None:
            raise AssertionError("arg %r is not --flag=value" % arg)
        if m.group(1) in result:
            raise AssertionError("flag --%s given twice" % m.group(1))
        result[m.group(1)] = m.group(2)
    return result


def flag_value(name):
    """The StatefulSet's value of --name, else the server's default."""
    return args().get(name, flags()[name])


def expand(value, pod_name):
    """`value` with $(VAR) replaced as the kubelet does it, from the
    container's env (literal values and the downward API's metadata.name);
    $$ is a literal $, an unknown $(VAR) stays as it is."""
    env = {}
    for var in container().get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[var["name"]] = pod_name
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
                  value)


def container_ports():
    return {p["name"]: p["containerPort"] for p in container()["ports"]}


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def volume_source(name):
    """A pod volume, or {"name", "persistentVolumeClaim": template} for one of
    the StatefulSet's volumeClaimTemplates."""
    for volume in pod_spec()["volumes"]:
        if volume["name"] == name:
            return volume
    for template in workload()["spec"].get("volumeClaimTemplates", []):
        if template["metadata"]["name"] == name:
            return {"name": name, "persistentVolumeClaim": template}
    raise AssertionError("no volume named %s" % name)


def keys_of(volume):
    """The file names a ConfigMap or Secret volume shows, with its `items`."""
    if "configMap" in volume:
        obj = one("ConfigMap", volume["configMap"]["name"])
        data = dict(obj.get("data", {}))
    else:
        obj = one("Secret", volume["secret"]["secretName"])
        data = dict(obj.get("stringData", {}), **obj.get("data", {}))
    items = (volume.get("configMap") or volume.get("secret")).get("items")
    if items:
        return {item["path"]: data.get(item["key"]) for item in items}
    return data


def mount_for(path):
    """(volumeMount, path relative to it) for an absolute path in the container."""
    best = None
    for mount in container().get("volumeMounts", []):
        prefix = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, mount)
    if best is None:
        raise AssertionError("%s is on no volume (the root filesystem is read-only)" % path)
    return best[1], path[len(best[0]):]


def write_kubelet_volume(directory, files):
    """Lays `files` out as the kubelet does: ..<stamp>/<key>, ..data -> ..<stamp>,
    <key> -> ..data/<key>."""
    os.makedirs(directory)
    stamp = "..2026_11_27_04_00_00.000000001"
    os.mkdir(os.path.join(directory, stamp))
    for name, text in files.items():
        with open(os.path.join(directory, stamp, name), "w") as f:
            f.write(text)
        os.symlink(os.path.join("..data", name), os.path.join(directory, name))
    os.symlink(stamp, os.path.join(directory, "..data"))


def update_kubelet_volume(directory, files):
    """A ConfigMap update as the kubelet makes it: the new version in a fresh
    ..<stamp> directory, a new ..data link renamed over the old one, the old
    directory removed."""
    old = os.readlink(os.path.join(directory, "..data"))
    stamp = "..2026_11_27_04_05_00.000000002"
    os.mkdir(os.path.join(directory, stamp))
    for name, text in files.items():
        with open(os.path.join(directory, stamp, name), "w") as f:
            f.write(text)
    os.symlink(stamp, os.path.join(directory, "..data_tmp"))
    os.rename(os.path.join(directory, "..data_tmp"), os.path.join(directory, "..data"))
    shutil.rmtree(os.path.join(directory, old))


def openssl(*argv, cwd):
    subprocess.run(("openssl",) + argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_tls(directory):
    """A CA, a server certificate it issued (localhost) and the CA as client CA."""
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Deploy Test CA", "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    openssl("req", "-new", *key, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "server.ext", "-out", "server.pem",
            cwd=directory)
    # A caller the ConfigMap's authorization section grants (spiffe://cluster.local/ns/*).
    openssl("req", "-new", *key, "-keyout", "client.key", "-out", "client.csr",
            "-subj", "/CN=billing", cwd=directory)
    with open(os.path.join(directory, "client.ext"), "w") as f:
        f.write("subjectAltName=URI:spiffe://cluster.local/ns/billing/sa/api\n"
                "extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "client.ext", "-out", "client.pem",
            cwd=directory)
    read = lambda name: open(os.path.join(directory, name)).read()
    return {"cert": read("server.pem"), "key": read("server.key"), "ca": read("ca.pem"),
            "dir": directory}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_volumes(base, claims=None):
    """Every volume of the pod as a local directory, as the kubelet would fill
    it: {mountPath: local dir}. Secret values the manifest leaves empty get a
    generated TLS identity (tls.crt / tls.key / ca.crt by the flag that names them).
    A persistent volume is the directory `claims` names for it (a pod back on
    its volume), else a new empty one."""
    claims = claims or {}
    tls = None
    mapping = {}
    by_flag_file = {}
    for name in ("tls_cert", "tls_key", "tls_client_ca"):
        if args().get(name):
            by_flag_file[args()[name]] = name
    for mount in container()["volumeMounts"]:
        volume = volume_source(mount["name"])
        local = os.path.join(base, mount["name"])
        if "persistentVolumeClaim" in volume and mount["name"] in claims:
            local = claims[mount["name"]]
        elif "emptyDir" in volume or "persistentVolumeClaim" in volume:
            os.makedirs(local)
        elif "configMap" in volume or "secret" in volume:
            files = {}
            for key, text in keys_of(volume).items():
                flag = by_flag_file.get(os.path.join(mount["mountPath"], key))
                if "secret" in volume and not text and flag:
                    tls = tls or make_tls(tempfile.mkdtemp(dir=base))
                    text = {"tls_cert": tls["cert"], "tls_key": tls["key"],
                            "tls_client_ca": tls["ca"]}[flag]
                files[key] = text or ""
            write_kubelet_volume(local, files)
        else:
            raise AssertionError("volume %s: unexpected source %s" % (mount["name"], volume))
        mapping[mount["mountPath"].rstrip("/")] = local
    return mapping, tls


def localize(value, mapping):
    for mount_path, local in mapping.items():
        if value.startswith(mount_path + "/"):
            return local + value[len(mount_path):]
    return value


def grpc_health(target, timeout=5):
    """grpc.health.v1.Health/Check over plaintext, as the kubelet probes:
    the serialized HealthCheckResponse, or raises grpc.RpcError."""
    import grpc
    with grpc.insecure_channel(target) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda b: b,
                                    response_deserializer=lambda b: b)
        return check(b"", timeout=timeout)


class ServerWithPodArgs:
    """chainverifyd started as pod `pod_name` of the StatefulSet: its args,
    $(VAR)s expanded, paths mapped to local volumes (`claims`: {volume name:
    directory} of persistent volumes to reuse) and ports to free local ones
    (host part kept)."""

    def __init__(self, pod_name="chainverify-0", claims=None):
        self.base = tempfile.mkdtemp(dir=TMP)
        self.pod_name = pod_name
        self.mapping, self.tls = local_volumes(self.base, claims)
        self.ports = {}
        argv = [CHAINVERIFYD]
        for name, value in args().items():
            value = expand(value, pod_name)
            if name in ("listen", "health_listen", "metrics_listen"):
                host, port = host_port(value)
                self.ports[port] = free_port()
                value = "%s:%d" % (host, self.ports[port])
            argv.append("--%s=%s" % (name, localize(value, self.mapping)))
        self.argv = argv
        self.stdout = open(os.path.join(self.base, "stdout"), "w+")
        self.stderr = open(os.path.join(self.base, "stderr"), "w+")
        self.proc = subprocess.Popen(argv, stdout=self.stdout, stderr=self.stderr)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("chainverifyd exited %d: %s" % (self.proc.returncode,
                                                                      self.log()))
            self.stdout.seek(0)
            if "listening on" in self.stdout.read():
                return
            time.sleep(0.05)
        raise AssertionError("chainverifyd did not start: %s" % self.log())

    def local_port(self, manifest_port):
        return self.ports[manifest_port]

    def claims(self):
        """{volume name: local directory} of the pod's persistent volumes."""
        result = {}
        for mount in container()["volumeMounts"]:
            if "persistentVolumeClaim" in volume_source(mount["name"]):
                result[mount["name"]] = self.mapping[mount["mountPath"].rstrip("/")]
        return result

    def verify(self, peer_der_pem):
        """One Verify call as a granted mutual-TLS caller, through the real
        CLI: the decision id (the verdict does not matter here)."""
        listen = "127.0.0.1:%d" % self.local_port(host_port(flag_value("listen"))[1])
        out = subprocess.run(
            [CHAINVERIFY, "verify", "--json", "--server=" + listen, "--host=localhost",
             "--tls_ca=" + os.path.join(self.tls["dir"], "ca.pem"),
             "--tls_cert=" + os.path.join(self.tls["dir"], "client.pem"),
             "--tls_key=" + os.path.join(self.tls["dir"], "client.key"), peer_der_pem],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if out.returncode not in (0, 1):
            raise AssertionError("chainverify verify exited %d: %s\n%s" %
                                 (out.returncode, out.stderr, self.log()))
        return json.loads(out.stdout)["decision_id"]

    def terminate(self):
        """SIGTERM, as the kubelet stops a pod; the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=pod_spec()["terminationGracePeriodSeconds"])

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --- the checks ---------------------------------------------------------------

class ManifestsParse(unittest.TestCase):

    def test_every_document_parses_and_is_named(self):
        docs = documents()
        self.assertGreater(len(docs), 0)
        seen = set()
        for source, doc in docs:
            self.assertIsInstance(doc, dict, source)
            for field in ("apiVersion", "kind"):
                self.assertIn(field, doc, source)
            if doc["kind"] == "Kustomization":
                continue
            name = doc.get("metadata", {}).get("name")
            self.assertTrue(name, "%s: a %s without metadata.name" % (source, doc["kind"]))
            self.assertNotIn((doc["kind"], name), seen, "%s: %s %s twice" % (source,
                                                                           doc["kind"], name))
            seen.add((doc["kind"], name))

    def test_kustomization_applies_every_manifest_but_the_secret_template(self):
        kustomization = one("Kustomization")
        resources = set(kustomization["resources"])
        files = {os.path.basename(p) for p in glob.glob(os.path.join(K8S, "*.yaml"))}
        templates = {source for source, d in documents() if d.get("kind") == "Secret"}
        self.assertEqual(resources, files - {"kustomization.yaml"} - templates)
        # The image kustomize rewrites is the one the StatefulSet names.
        names = {image["name"] for image in kustomization.get("images", [])}
        self.assertIn(container()["image"].split(":")[0], names)

    def test_every_kind_the_issue_asks_for_is_there(self):
        kinds = [d["kind"] for _, d in documents()]
        for kind in ("StatefulSet", "Service", "ConfigMap", "Secret", "PodDisruptionBudget",
                     "HorizontalPodAutoscaler", "NetworkPolicy"):
            self.assertIn(kind, kinds)
        services = objects("Service")
        self.assertTrue(any(s["spec"].get("clusterIP") == "None" for s in services),
                        "no headless Service for client-side balancing")
        self.assertTrue(any(s["spec"].get("clusterIP") != "None" for s in services))


class StatefulSetAgreesWithServer(unittest.TestCase):

    def test_every_arg_is_a_flag_of_chainverifyd(self):
        unknown = sorted(set(args()) - set(flags()))
        self.assertEqual(unknown, [], "flags chainverifyd does not have")

    def test_listen_addresses_match_the_container_ports(self):
        ports = container_ports()
        for flag, port_name in (("listen", "grpc"), ("health_listen", "health"),
                                ("metrics_listen", "metrics")):
            host, port = host_port(flag_value(flag))
            self.assertIn(port_name, ports, "no container port named %s" % port_name)
            self.assertEqual(port, ports[port_name], "--%s vs port %s" % (flag, port_name))
            # Probes, Services and Prometheus reach the pod IP, not loopback.
            self.assertIn(host, ("0.0.0.0", "[::]"), "--%s listens on %s" % (flag, host))
        self.assertEqual(len(set(ports.values())), len(ports), "two ports share a number")

    def test_probes_ask_grpc_health_on_the_plaintext_health_port(self):
        health = host_port(flag_value("health_listen"))[1]
        for probe_name in ("readinessProbe", "livenessProbe"):
            probe = container().get(probe_name)
            self.assertIsNotNone(probe, probe_name)
            self.assertIn("grpc", probe, "%s is not a gRPC health probe" % probe_name)
            # The --listen port needs TLS (and a client certificate), which the
            # kubelet's gRPC probe cannot do.
            self.assertEqual(probe["grpc"]["port"], health, probe_name)
            self.assertLess(probe.get("timeoutSeconds", 1), probe.get("periodSeconds", 10),
                            probe_name)

    def test_prometheus_annotations_name_the_metrics_port(self):
        annotations = workload()["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        self.assertEqual(int(annotations["prometheus.io/port"]),
                         host_port(flag_value("metrics_listen"))[1])
        self.assertEqual(annotations.get("prometheus.io/path", "/metrics"), "/metrics")

    def test_termination_grace_outlasts_the_drain(self):
        grace = pod_spec()["terminationGracePeriodSeconds"]
        pre_stop = container().get("lifecycle", {}).get("preStop", {})
        sleep = pre_stop.get("sleep", {}).get("seconds", 0)
        drain = parse_duration(flag_value("shutdown_grace"))
        self.assertGreater(grace, sleep + drain + GRACE_MARGIN_S,
                           "terminationGracePeriodSeconds %s vs preStop %ss + "
                           "--shutdown_grace %ss + %ss" % (grace, sleep, drain, GRACE_MARGIN_S))

    def test_file_flags_name_files_the_volumes_provide(self):
        file_flags = {n: v for n, v in args().items() if v.startswith("/")}
        for name in ("policy_file", "tls_cert", "tls_key", "tls_client_ca", "audit_log"):
            self.assertIn(name, file_flags, "--%s is not set to a mounted path" % name)
        for name, path in file_flags.items():
            mount, relative = mount_for(path)
            volume = volume_source(mount["name"])
            if name == "audit_log":
                # Written at run time, and must outlive the pod: a writable
                # volume claimed per replica.
                self.assertIn("persistentVolumeClaim", volume,
                              "--audit_log is not on a volumeClaimTemplate")
                self.assertFalse(mount.get("readOnly", False), "--audit_log on a read-only mount")
                continue
            self.assertTrue(mount.get("readOnly"), "%s mounted writable" % mount["name"])
            self.assertIn(relative, keys_of(volume),
                          "--%s=%s: no key %r in volume %s" % (name, path, relative,
                                                              mount["name"]))

    def test_memory_limit_covers_the_budgets_the_flags_set(self):
        resources = container()["resources"]
        for what in ("cpu", "memory"):
            self.assertIn(what, resources["requests"])
        limit = parse_quantity(resources["limits"]["memory"])
        self.assertLessEqual(parse_quantity(resources["requests"]["memory"]), limit)
        budget = (BASE_MEMORY_BYTES + int(flag_value("cert_cache_bytes")) +
                  int(flag_value("signature_cache_entries")) * SIGNATURE_ENTRY_BYTES +
                  int(flag_value("max_concurrent_requests")) *
                  int(flag_value("max_message_bytes")))
        self.assertGreaterEqual(limit, budget, "memory limit %d < %d the flags allow" %
                                (limit, budget))

    def test_runs_unprivileged_on_a_read_only_root(self):
        pod = pod_spec()["securityContext"]
        self.assertTrue(pod["runAsNonRoot"])
        self.assertNotEqual(pod["runAsUser"], 0)
        sc = container()["securityContext"]
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertIn("ALL", sc["capabilities"]["drop"])


class AuditVolumesOutliveThePods(unittest.TestCase):

    def test_each_replica_claims_its_own_audit_volume_and_keeps_it(self):
        spec = workload()["spec"]
        mount, _ = mount_for(args()["audit_log"])
        template = volume_source(mount["name"])["persistentVolumeClaim"]
        # One writer per lineage: the volume mounts on one node at a time.
        self.assertEqual(template["spec"]["accessModes"], ["ReadWriteOnce"])
        size = parse_quantity(template["spec"]["resources"]["requests"]["storage"])
        self.assertGreaterEqual(size, 4 * int(flag_value("audit_max_file_bytes")),
                                "room for a few rotated files at least")
        # Scaling down or deleting the StatefulSet keeps the volumes.
        self.assertEqual(spec["persistentVolumeClaimRetentionPolicy"],
                         {"whenScaled": "Retain", "whenDeleted": "Retain"})
        # A pod volume of that name would shadow the claim.
        self.assertNotIn(mount["name"], [v["name"] for v in pod_spec()["volumes"]])

    def test_governed_by_the_headless_service_and_scaled_in_parallel(self):
        spec = workload()["spec"]
        self.assertEqual(one("Service", spec["serviceName"])["spec"].get("clusterIP"), "None")
        # OrderedReady would add the autoscaler's pods one by one.
        self.assertEqual(spec.get("podManagementPolicy"), "Parallel")
        self.assertEqual(spec.get("updateStrategy", {}).get("type", "RollingUpdate"),
                         "RollingUpdate")

    def test_instance_name_is_the_pod_name(self):
        self.assertEqual(expand(args()["instance_name"], "chainverify-7"), "chainverify-7")

    def test_returned_decisions_survive_pod_deletion_and_rescheduling(self):
        pod = ServerWithPodArgs("chainverify-1")
        try:
            peer = os.path.join(pod.tls["dir"], "server.pem")
            returned = [pod.verify(peer), pod.verify(peer)]
            self.assertEqual(pod.terminate(), 0, pod.log())
        finally:
            pod.stop()
        # The pod is deleted; its claim is not. Its replacement, same name,
        # fresh ConfigMap and Secret volumes, mounts the claim again.
        again = ServerWithPodArgs("chainverify-1", claims=pod.claims())
        try:
            returned.append(again.verify(peer))
            self.assertEqual(again.terminate(), 0, again.log())
        finally:
            again.stop()
        files = sorted(glob.glob(localize(args()["audit_log"], again.mapping) + "*"))
        result = subprocess.run([CHAINVERIFY, "audit", "verify"] + files, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("audit chain intact: 3 record(s)", result.stdout)
        self.assertIn("written by: chainverify-1\n", result.stdout)
        query = subprocess.run([CHAINVERIFY, "audit", "query"] + files, stdout=subprocess.PIPE,
                               text=True, check=True)
        records = [json.loads(line) for line in query.stdout.splitlines()]
        self.assertEqual([r["decision_id"] for r in records], returned)
        self.assertEqual(len({r["lineage"] for r in records}), 1, "a new lineage after the restart")


class ObjectsReferToEachOther(unittest.TestCase):

    def pod_labels(self):
        return workload()["spec"]["template"]["metadata"]["labels"]

    def test_selectors_select_the_pods(self):
        labels = self.pod_labels()
        self.assertTrue(labels_match(workload()["spec"]["selector"]["matchLabels"], labels))
        for service in objects("Service"):
            self.assertTrue(labels_match(service["spec"]["selector"], labels),
                            service["metadata"]["name"])
        for kind in ("PodDisruptionBudget",):
            self.assertTrue(labels_match(one(kind)["spec"]["selector"]["matchLabels"], labels))
        self.assertTrue(labels_match(one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
                                     labels))

    def test_services_target_container_ports(self):
        ports = container_ports()
        for service in objects("Service"):
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                if isinstance(target, str):
                    self.assertIn(target, ports, service["metadata"]["name"])
                    target = ports[target]
                self.assertEqual(target, ports["grpc"],
                                 "%s exposes a port other than --listen" %
                                 service["metadata"]["name"])

    def test_networkpolicy_admits_the_api_and_the_scrape(self):
        ports = container_ports()
        admitted = set()
        for rule in one("NetworkPolicy")["spec"]["ingress"]:
            for port in rule.get("ports", []):
                value = port["port"]
                self.assertTrue(value in ports or value in ports.values(),
                                "NetworkPolicy port %r is no container port" % value)
                admitted.add(ports.get(value, value))
        self.assertIn(ports["grpc"], admitted)
        self.assertIn(ports["metrics"], admitted)

    def test_autoscaler_and_disruption_budget_fit_the_deployment(self):
        hpa = one("HorizontalPodAutoscaler")
        target = hpa["spec"]["scaleTargetRef"]
        self.assertEqual((target["kind"], target["name"]),
                         (workload()["kind"], workload()["metadata"]["name"]))
        # Utilization is a fraction of the request.
        self.assertIn("cpu", container()["resources"]["requests"])
        pdb = one("PodDisruptionBudget")["spec"]
        self.assertGreater(hpa["spec"]["minReplicas"], pdb.get("maxUnavailable", 0))
        # With an autoscaler, `replicas` in the manifest would reset its count on
        # every apply.
        self.assertNotIn("replicas", workload()["spec"])

    def test_volumes_name_objects_in_the_manifests(self):
        for volume in pod_spec()["volumes"]:
            if "configMap" in volume:
                one("ConfigMap", volume["configMap"]["name"])
            if "secret" in volume:
                one("Secret", volume["secret"]["secretName"])


class PoliciesLoad(unittest.TestCase):

    def check_policy(self, path):
        return subprocess.run([CHAINVERIFYD, "--check_policy", "--policy_file=" + path],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def test_configmap_policy_loads_from_a_kubelet_volume(self):
        mount, relative = mount_for(args()["policy_file"])
        volume = volume_source(mount["name"])
        directory = tempfile.mkdtemp(dir=TMP) + "/policy"
        write_kubelet_volume(directory, keys_of(volume))
        result = self.check_policy(os.path.join(directory, relative))
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("loads", result.stdout)

    def test_example_policy_loads_beside_its_fleet_root(self):
        directory = tempfile.mkdtemp(dir=TMP)
        shutil.copy(os.path.join(ROOT, "deploy", "policy", "example.textproto"), directory)
        make_tls(directory)
        shutil.copy(os.path.join(directory, "ca.pem"), os.path.join(directory, "fleet-root.pem"))
        # The fleet's intermediate store it names (any certificate will do here).
        shutil.copy(os.path.join(directory, "ca.pem"),
                    os.path.join(directory, "fleet-intermediates.pem"))
        result = self.check_policy(os.path.join(directory, "example.textproto"))
        self.assertEqual(result.returncode, 0, result.stdout)
        result = self.check_policy(os.path.join(ROOT, "deploy", "policy", "default.textproto"))
        self.assertEqual(result.returncode, 0, result.stdout)

    def test_check_policy_refuses_a_broken_policy(self):
        # Otherwise the two checks above would prove nothing.
        path = os.path.join(tempfile.mkdtemp(dir=TMP), "broken.textproto")
        with open(path, "w") as f:
            f.write('version: "x" policies { name: "p" trust_stores { pem_file: "gone.pem" } }\n')
        self.assertEqual(self.check_policy(path).returncode, 1)


class ServerRunsWithThePodArgs(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = ServerWithPodArgs()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def target(self, flag):
        return "127.0.0.1:%d" % self.server.local_port(host_port(flag_value(flag))[1])

    def test_health_port_answers_serving_in_plaintext(self):
        # HealthCheckResponse{status: SERVING}
        self.assertEqual(grpc_health(self.target("health_listen")), b"\x08\x01")

    def test_api_port_refuses_plaintext(self):
        import grpc
        with self.assertRaises(grpc.RpcError):
            grpc_health(self.target("listen"), timeout=3)

    def test_metrics_port_serves_every_metric_the_deploy_readme_explains(self):
        url = "http://%s/metrics" % self.target("metrics_listen")
        with urllib.request.urlopen(url, timeout=5) as response:
            self.assertEqual(response.status, 200)
            text = response.read().decode()
        names = set(re.findall(r"^# TYPE (chainverify_[a-z_]+) ", text, re.M))
        self.assertIn("chainverify_policy_info", names)
        with open(os.path.join(ROOT, "deploy", "README.md")) as f:
            readme = f.read()
        undocumented = sorted(n for n in names if n not in readme)
        self.assertEqual(undocumented, [], "metrics deploy/README.md does not explain")

    def test_configmap_update_reloads_the_policy_without_a_restart(self):
        mount, relative = mount_for(args()["policy_file"])
        volume = volume_source(mount["name"])
        files = dict(keys_of(volume))
        text, count = re.subn(r'^version: "([^"]*)"', r'version: "\1-updated"',
                              files[relative], count=1, flags=re.M)
        self.assertEqual(count, 1, "the ConfigMap's policy has no top-level version")
        version = re.search(r'^version: "([^"]*)"', text, re.M).group(1)
        files[relative] = text
        update_kubelet_volume(self.server.mapping[mount["mountPath"].rstrip("/")], files)
        # The watcher polls every --policy_watch_interval; the gauge is refreshed
        # every 2 s.
        deadline = time.time() + parse_duration(flag_value("policy_watch_interval")) + 10
        url = "http://%s/metrics" % self.target("metrics_listen")
        pattern = re.compile(r'^chainverify_policy_info\{version="%s\+[0-9a-f]+"\} 1' %
                             re.escape(version), re.M)
        while time.time() < deadline:
            with urllib.request.urlopen(url, timeout=5) as response:
                if pattern.search(response.read().decode()):
                    break
            time.sleep(0.25)
        else:
            self.fail("policy %s not serving: %s" % (version, self.server.log()))
        self.assertIsNone(self.server.proc.poll(), "the server restarted or exited")
        self.assertIn("policy_reloaded", self.server.log())

    def test_audit_log_is_on_the_audit_volume(self):
        path = localize(args()["audit_log"], self.server.mapping)
        self.assertTrue(os.path.exists(path), "%s: %s" % (path, self.server.log()))


class DrainFitsTheGracePeriod(unittest.TestCase):

    def test_sigterm_exits_cleanly_within_the_grace_period(self):
        server = ServerWithPodArgs()
        try:
            start = time.time()
            server.proc.send_signal(signal.SIGTERM)
            server.proc.wait(timeout=pod_spec()["terminationGracePeriodSeconds"])
            elapsed = time.time() - start
        finally:
            server.stop()
        self.assertEqual(server.proc.returncode, 0, server.log())
        self.assertIn("shutting_down", server.log())
        self.assertLess(elapsed, parse_duration(flag_value("shutdown_grace")) + GRACE_MARGIN_S)


class DockerfileAgrees(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "deploy", "Dockerfile")) as f:
            text = re.sub(r"\\\n", " ", f.read())
        cls.stages = []  # [(image, [(instruction, rest)])]
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            instruction, _, rest = line.partition(" ")
            instruction = instruction.upper()
            if instruction == "FROM":
                cls.stages.append((rest.split()[0], []))
            else:
                cls.stages[-1][1].append((instruction, rest.strip()))

    def instructions(self, stage, name):
        return [rest for instruction, rest in self.stages[stage][1] if instruction == name]

    def test_build_stage_is_debian_12_with_the_projects_setup(self):
        self.assertGreaterEqual(len(self.stages), 2, "not multi-stage")
        self.assertRegex(self.stages[0][0], r"^debian:(12|bookworm)\b")
        runs = " ".join(self.instructions(0, "RUN"))
        self.assertIn("bazel/dev.sh deps", runs)
        self.assertIn("bazel build", runs)

    def test_runtime_stage_is_debian_12_and_holds_only_the_build_output(self):
        image, instructions = self.stages[-1]
        self.assertRegex(image, r"(^debian:(12|bookworm)|-debian12)(\b|:|$)")
        for instruction, rest in instructions:
            self.assertIn(instruction, ("COPY", "ENV", "RUN", "USER", "WORKDIR", "EXPOSE",
                                        "ENTRYPOINT", "CMD", "LABEL"))
            if instruction == "COPY":
                self.assertIn("--from=build", rest, "runtime COPY from outside the build")
            if instruction == "RUN":
                # No package manager or shell in the runtime: only the binary itself.
                self.assertRegex(rest, r'^\["/usr/local/bin/chainverifyd"')

    def test_copied_binaries_are_the_bazel_targets_it_builds(self):
        runs = " ".join(self.instructions(0, "RUN"))
        targets = re.findall(r"//([\w/]+):(\w+)", runs)
        self.assertGreater(len(targets), 0)
        built = {"bazel-bin/%s/%s" % t for t in targets}
        copied = set(re.findall(r"bazel-bin/[\w/]+", runs))
        self.assertEqual(copied, built, "copies something it does not build, or vice versa")
        for package, name in targets:
            # The test depends on each target: it exists and builds.
            binary = os.path.join(ROOT, package, name)
            self.assertTrue(os.access(binary, os.X_OK), "//%s:%s not in the test's runfiles" %
                            (package, name))
        entrypoint = self.instructions(-1, "ENTRYPOINT")[0]
        self.assertIn('"/usr/local/bin/chainverifyd"', entrypoint)
        self.assertIn(("server", "chainverifyd"), targets)

    def test_user_is_non_root_and_the_pods_user(self):
        user = self.instructions(-1, "USER")[-1]
        uid, _, gid = user.partition(":")
        self.assertTrue(uid.isdigit(), "USER %s: numeric, so runAsNonRoot can check it" % user)
        self.assertNotEqual(int(uid), 0)
        pod = pod_spec()["securityContext"]
        self.assertEqual(int(uid), pod["runAsUser"])
        if gid:
            self.assertEqual(int(gid), pod["runAsGroup"])

    def test_exposed_ports_are_the_container_ports(self):
        exposed = {int(p.split("/")[0]) for rest in self.instructions(-1, "EXPOSE")
                   for p in rest.split()}
        self.assertEqual(exposed, set(container_ports().values()))


class ReadmesAgree(unittest.TestCase):

    def test_readme_links_the_deploy_readme(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            self.assertTrue("deploy/README.md" in f.read(), "README.md has no deploy/README.md")

    def test_flags_the_deploy_readme_names_exist(self):
        with open(os.path.join(ROOT, "deploy", "README.md")) as f:
            readme = f.read()
        cli = subprocess.run([CHAINVERIFY, "--helpfull"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout
        # chainverifyd's and the CLI's flags have underscores; kubectl's never do.
        named = set(re.findall(r"--([a-z0-9]+_[a-z0-9_]+)", readme))
        missing = sorted(n for n in named if n not in flags() and "--" + n not in cli)
        self.assertEqual(missing, [])
        for name in args():
            self.assertIn("--" + name, readme, "deploy/README.md does not explain --%s" % name)


if __name__ == "__main__":
    sys.exit(junit_main.main("tests/deploy/deploy_test"))
