/// The identity a baseline is learned under: stable across container restarts and recreation, and the
/// same on every node.
///
/// - Kubernetes: `k8s:<namespace>/<owner>/<container>`, the owner being the pod name without its
///   ReplicaSet, Job, CronJob, StatefulSet or DaemonSet suffix.
/// - Docker Compose: `compose:<project>/<service>`.
/// - Docker and Podman: `image:<image>`, the image normalised (`busybox` = `docker.io/library/busybox:latest`).
/// - LXC and systemd-nspawn: `lxc:<name>`, `nspawn:<name>`; systemd units: `systemd:<unit>`.
/// - Nothing known: `container:<runtime>/<short id>`, which is not stable, and says so by its form.
public struct WorkloadKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (a: WorkloadKey, b: WorkloadKey) -> Bool { a.rawValue < b.rawValue }

    /// The key for a container from what is known of it.
    public static func forContainer(runtime: Runtime, id: String, metadata: ContainerMetadata) -> WorkloadKey {
        if let k8s = metadata.kubernetes, let namespace = k8s.namespace, let pod = k8s.pod {
            let container = metadata.isSandbox ? "POD" : (k8s.container ?? String(id.prefix(12)))
            return WorkloadKey(rawValue: "k8s:\(namespace)/\(ownerName(ofPod: pod))/\(container)")
        }
        if let project = metadata.composeProject, let service = metadata.composeService {
            return WorkloadKey(rawValue: "compose:\(project)/\(service)")
        }
        switch runtime {
        case .lxc: return WorkloadKey(rawValue: "lxc:\(id)")
        case .systemdNspawn: return WorkloadKey(rawValue: "nspawn:\(id)")
        default: break
        }
        if let image = metadata.image, !image.isEmpty {
            return WorkloadKey(rawValue: "image:\(normalizedImage(image))")
        }
        return WorkloadKey(rawValue: "container:\(runtime.rawValue)/\(id.prefix(12))")
    }

    /// The key of a systemd unit.
    public static func forUnit(_ unit: String) -> WorkloadKey { WorkloadKey(rawValue: "systemd:\(unit)") }

    /// `busybox`, `library/busybox`, `docker.io/library/busybox:latest` → `busybox:latest`; digests dropped.
    public static func normalizedImage(_ reference: String) -> String {
        var image = Substring(reference)
        if let at = image.firstIndex(of: "@") { image = image[..<at] }
        for prefix in ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/", "library/"]
        where image.hasPrefix(prefix) {
            image = image.dropFirst(prefix.count)
            break
        }
        let lastComponent = image.split(separator: "/").last ?? image
        if !lastComponent.contains(":") && !image.isEmpty { return image + ":latest" }
        return String(image)
    }

    /// Kubernetes' random suffix alphabet (`k8s.io/apimachinery/pkg/util/rand`): no vowels, no 0, 1, 3.
    private static let suffixAlphabet = Set("bcdfghjklmnpqrstvwxz2456789")

    /// The owning workload's name from a pod name:
    /// `web-7d4b9c8f6d-x2x9k` (Deployment) → `web`; `fluentd-x2x9k` (DaemonSet, Job) → `fluentd`;
    /// `backup-28419120-x2x9k` (CronJob) → `backup`; `db-0` (StatefulSet) → `db`; `nginx` → `nginx`.
    public static func ownerName(ofPod pod: String) -> String {
        var parts = pod.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return pod }
        if let last = parts.last, last.count == 5, last.allSatisfy(suffixAlphabet.contains) {
            parts.removeLast()
            if parts.count >= 2, let hash = parts.last {
                if (6...10).contains(hash.count), hash.allSatisfy(suffixAlphabet.contains) {
                    parts.removeLast()  // ReplicaSet pod-template-hash
                } else if hash.count >= 8, hash.allSatisfy(\.isNumber) {
                    parts.removeLast()  // CronJob's scheduled time in minutes
                }
            }
        } else if let last = parts.last, !last.isEmpty, last.count <= 5, last.allSatisfy(\.isNumber) {
            parts.removeLast()  // StatefulSet ordinal
        }
        let owner = parts.joined(separator: "-")
        return owner.isEmpty ? pod : owner
    }
}
