import Testing
import VigilNode

/// The baseline identity (DESIGN.md "Workload key"): stable across restarts and recreation and the same on
/// every node -- so the random parts of pod names and the digests of images must not be in it.
@Suite("Workload key")
struct WorkloadKeyTests {
    // MARK: Owners from pod names

    /// A pod name and the workload that owns it. Random parts use Kubernetes' alphabet
    /// (k8s.io/apimachinery/pkg/util/rand: no vowels, no 0, 1 or 3).
    static let podNames: [(pod: String, owner: String, kind: String)] = [
        ("web-7d4b9c8f6d-x2x9k", "web", "Deployment (pod-template-hash and 5 random)"),
        ("nginx-66b6c48dd5-8vhzq", "nginx", "Deployment"),
        ("coredns-5d78c9869d-2bx4q", "coredns", "Deployment with a 10-character hash"),
        ("frontend-api-5f8d7b9c4-q7w9z", "frontend-api", "Deployment with a dash in its name, 9-character hash"),
        ("api-v2-5d8f9c7b4-q7w9z", "api-v2", "Deployment whose name ends in a digit"),
        ("frontend-x7k9p", "frontend", "ReplicaSet made directly (no Deployment)"),
        ("db-0", "db", "StatefulSet"),
        ("kafka-broker-12", "kafka-broker", "StatefulSet, two-digit ordinal"),
        ("fluentd-x2x9k", "fluentd", "DaemonSet"),
        ("node-exporter-v6cqj", "node-exporter", "DaemonSet with a dash in its name"),
        ("migrate-7xk2q", "migrate", "Job"),
        ("backup-28561020-487gs", "backup", "CronJob (scheduled minute, then 5 random)"),
        ("nightly-report-28419120-x2x9k", "nightly-report", "CronJob with a dash in its name"),
        ("nginx", "nginx", "a bare pod"),
        ("debug-shell", "debug-shell", "a bare pod whose last word is not a random suffix"),
    ]

    @Test("The owner is the pod name without its controller's suffixes", arguments: podNames)
    func ownerOfPod(_ pod: String, _ owner: String, _ kind: String) {
        #expect(WorkloadKey.ownerName(ofPod: pod) == owner, "\(kind): \(pod)")
    }

    @Test("Pods of the same Deployment, recreated, share one key")
    func recreatedPodsShareAKey() {
        let first = key(namespace: "shop", pod: "web-7d4b9c8f6d-x2x9k", container: "nginx")
        let rolledOut = key(namespace: "shop", pod: "web-5c9f8b7d6f-q7w9z", container: "nginx")
        let rescheduled = key(namespace: "shop", pod: "web-7d4b9c8f6d-bt4kp", container: "nginx")
        #expect(first.rawValue == "k8s:shop/web/nginx")
        #expect(first == rolledOut)
        #expect(first == rescheduled)
        #expect(first != key(namespace: "staging", pod: "web-7d4b9c8f6d-x2x9k", container: "nginx"))
        #expect(first != key(namespace: "shop", pod: "web-7d4b9c8f6d-x2x9k", container: "exporter"))
    }

    @Test("Each CronJob run's pod has the CronJob's key")
    func cronJobRunsShareAKey() {
        #expect(
            key(namespace: "shop", pod: "backup-28561020-487gs", container: "pg-dump")
                == key(namespace: "shop", pod: "backup-28561080-zl2dw", container: "pg-dump"))
    }

    @Test("A pod's sandbox is keyed POD")
    func sandboxKey() {
        var metadata = ContainerMetadata()
        metadata.kubernetes = KubernetesIdentity(namespace: "shop", pod: "db-0", podUID: nil, container: "POD")
        metadata.isSandbox = true
        metadata.image = "registry.k8s.io/pause:3.9"
        #expect(
            WorkloadKey.forContainer(runtime: .containerd, id: Self.id, metadata: metadata).rawValue
                == "k8s:shop/db/POD")
    }

    @Test("A Kubernetes container whose name is unknown is keyed by its short id, within its pod's owner")
    func unnamedKubernetesContainer() {
        var metadata = ContainerMetadata()
        metadata.kubernetes = KubernetesIdentity(namespace: "monitoring", pod: "node-exporter-v6cqj", podUID: nil)
        #expect(
            WorkloadKey.forContainer(runtime: .containerd, id: Self.id, metadata: metadata).rawValue
                == "k8s:monitoring/node-exporter/\(Self.id.prefix(12))")
    }

    @Test("With only a pod uid known, the key falls back to the image, else the runtime and short id")
    func podWithoutNames() {
        var metadata = ContainerMetadata()
        metadata.kubernetes = KubernetesIdentity(podUID: "cf4d531a-274a-4668-8603-ce1e59e7f16c")
        #expect(
            WorkloadKey.forContainer(runtime: .containerd, id: Self.id, metadata: metadata).rawValue
                == "container:containerd/\(Self.id.prefix(12))")
        metadata.image = "registry.k8s.io/etcd:3.5.12-0"
        #expect(
            WorkloadKey.forContainer(runtime: .containerd, id: Self.id, metadata: metadata).rawValue
                == "image:registry.k8s.io/etcd:3.5.12-0")
    }

    // MARK: Docker, Podman, LXC, systemd-nspawn

    @Test("Compose containers are keyed by project and service, whatever their image")
    func composeKey() {
        var metadata = ContainerMetadata()
        metadata.image = "shop-api"
        metadata.labels = ["com.docker.compose.project": "shop", "com.docker.compose.service": "worker"]
        let key = WorkloadKey.forContainer(runtime: .docker, id: Self.id, metadata: metadata)
        #expect(key.rawValue == "compose:shop/worker")
        metadata.image = "shop-api:2.0"
        #expect(WorkloadKey.forContainer(runtime: .docker, id: Self.other, metadata: metadata) == key)
    }

    @Test("Plain Docker and Podman containers are keyed by their normalised image")
    func imageKey() {
        var busybox = ContainerMetadata()
        busybox.image = "busybox"
        var qualified = ContainerMetadata()
        qualified.image = "docker.io/library/busybox:latest"
        let docker = WorkloadKey.forContainer(runtime: .docker, id: Self.id, metadata: busybox)
        #expect(docker.rawValue == "image:busybox:latest")
        #expect(WorkloadKey.forContainer(runtime: .podman, id: Self.other, metadata: qualified) == docker)
    }

    @Test("LXC and systemd-nspawn containers are keyed by their name")
    func machineKeys() {
        var metadata = ContainerMetadata()
        metadata.name = "web01"
        #expect(WorkloadKey.forContainer(runtime: .lxc, id: "web01", metadata: metadata).rawValue == "lxc:web01")
        metadata.name = "build-box"
        #expect(
            WorkloadKey.forContainer(runtime: .systemdNspawn, id: "build-box", metadata: metadata).rawValue
                == "nspawn:build-box")
    }

    @Test("With nothing known the key names the runtime and short id (and is not stable, visibly)")
    func unknownContainer() {
        #expect(
            WorkloadKey.forContainer(runtime: .docker, id: Self.id, metadata: ContainerMetadata()).rawValue
                == "container:docker/\(Self.id.prefix(12))")
    }

    @Test("systemd units are keyed by the unit name")
    func unitKey() {
        #expect(WorkloadKey.forUnit("kubelet.service").rawValue == "systemd:kubelet.service")
    }

    // MARK: Image normalisation

    static let sameImages: [(String, String)] = [
        ("busybox", "busybox:latest"),
        ("library/busybox", "busybox:latest"),
        ("docker.io/library/busybox", "busybox:latest"),
        ("docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox:latest", "busybox:latest"),
        ("nginx:1.25", "nginx:1.25"),
        ("docker.io/library/nginx:1.25", "nginx:1.25"),
        ("docker.io/bitnami/redis:7.2", "bitnami/redis:7.2"),
        ("bitnami/redis", "bitnami/redis:latest"),
        ("quay.io/prometheus/node-exporter:v1.7.0", "quay.io/prometheus/node-exporter:v1.7.0"),
        ("ghcr.io/acme/app", "ghcr.io/acme/app:latest"),
        // Digests are dropped: a key survives an image update.
        ("nginx:1.25@sha256:\(id)", "nginx:1.25"),
        ("docker.io/library/nginx:1.25@sha256:\(other)", "nginx:1.25"),
        // A registry's port is not a tag.
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("localhost:5000/app:1.2", "localhost:5000/app:1.2"),
        ("registry.example.com:5000/team/api:1.8.2", "registry.example.com:5000/team/api:1.8.2"),
        ("registry.example.com:5000/team/api", "registry.example.com:5000/team/api:latest"),
    ]

    @Test("Image references normalise to one spelling", arguments: sameImages)
    func normalisedImage(_ reference: String, _ normalised: String) {
        #expect(WorkloadKey.normalizedImage(reference) == normalised, "\(reference)")
    }

    @Test("An image pinned by digest alone keeps one key across digests, with no port taken for a tag")
    func digestOnlyReferences() {
        let a = WorkloadKey.normalizedImage("localhost:5000/app@sha256:\(Self.id)")
        let b = WorkloadKey.normalizedImage("localhost:5000/app@sha256:\(Self.other)")
        #expect(a == b)
        #expect(!a.contains("sha256"))
        #expect(a.hasPrefix("localhost:5000/app"))
        #expect(WorkloadKey.normalizedImage("busybox@sha256:\(Self.id)") == WorkloadKey.normalizedImage("busybox"))
    }

    // MARK: Helpers

    static let id = "6bbdc18085bb4443362299306f2bf8111c7b84fceb01de352e5c373bb7ac717f"
    static let other = "d989ce94b9b93c896354e22c631c83bf6f0bd9ab201e117c618bd11df86e41ee"

    private func key(namespace: String, pod: String, container: String) -> WorkloadKey {
        var metadata = ContainerMetadata()
        metadata.kubernetes = KubernetesIdentity(namespace: namespace, pod: pod, podUID: nil, container: container)
        return WorkloadKey.forContainer(runtime: .containerd, id: Self.id, metadata: metadata)
    }
}
