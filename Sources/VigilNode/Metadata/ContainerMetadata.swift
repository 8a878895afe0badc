import VigilJSON

/// Kubernetes identity of a container.
public struct KubernetesIdentity: Equatable, Sendable {
    public var namespace: String?
    public var pod: String?
    public var podUID: String?
    public var container: String?

    public init(namespace: String? = nil, pod: String? = nil, podUID: String? = nil, container: String? = nil) {
        self.namespace = namespace
        self.pod = pod
        self.podUID = podUID
        self.container = container
    }

    /// Fills in what `self` lacks from `other`.
    mutating func merge(_ other: KubernetesIdentity?) {
        guard let other else { return }
        namespace = namespace ?? other.namespace
        pod = pod ?? other.pod
        podUID = podUID ?? other.podUID
        container = container ?? other.container
    }
}

/// What the runtime's files on disk say about a container.
public struct ContainerMetadata: Equatable, Sendable {
    public var runtime: Runtime?
    public var name: String?
    public var image: String?
    public var labels: [String: String] = [:]
    public var kubernetes: KubernetesIdentity?
    /// The pod's sandbox (pause) container rather than one of its workload containers.
    public var isSandbox = false

    public init() {}

    var composeProject: String? { labels["com.docker.compose.project"] }
    var composeService: String? { labels["com.docker.compose.service"] }
}

/// A problem worth telling the user that does not stop the command: missing or malformed metadata.
public struct Warning: Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads container metadata from runtime state files under the host root, never from a runtime socket.
final class MetadataReader {
    private let files: HostFiles
    private(set) var warnings: [Warning] = []
    private var podsByUID: [String: (namespace: String, pod: String)]?
    private var logNamesByID: [String: KubernetesIdentity]?
    private var podmanByID: [String: ContainerMetadata]?
    /// Files (relative to the host root) that exist but do not parse; each has had a warning.
    private var malformed = Set<String>()

    init(files: HostFiles) {
        self.files = files
    }

    /// Everything known about the container `match` names, merged from every source that has it.
    func metadata(for match: ContainerMatch) -> ContainerMetadata {
        var metadata = ContainerMetadata()
        switch match.runtime {
        case .docker:
            if let docker = dockerMetadata(match.id) {
                metadata = docker
            } else if !match.runtimeIsGuess && !malformed.contains(dockerConfigPath(match.id)) {
                // (A malformed config.v2.json has had its own warning, naming the file and line.)
                warnings.append(
                    Warning(
                        "docker container \(match.id.prefix(12)): no metadata at var/lib/docker/containers/\(match.id)/config.v2.json; showing its id only"
                    ))
            } else if let containerd = containerdMetadata(match.id) {
                metadata = containerd
            }
        case .containerd:
            // A Kubernetes cgroupfs path does not name its runtime. Docker's own record comes first: under
            // dockershim every Docker container is also a containerd task (namespace "moby") whose spec
            // carries no names, so containerd's state would hide Docker's names and labels.
            if match.runtimeIsGuess, let docker = dockerMetadata(match.id) {
                metadata = docker
            } else if let containerd = containerdMetadata(match.id) {
                metadata = containerd
            } else if let crio = crioMetadata(match.id) {
                metadata = crio
            }
        case .crio:
            if let crio = crioMetadata(match.id) { metadata = crio }
        case .podman:
            if let podman = podmanMetadata(match.id) { metadata = podman }
        case .lxc, .systemdNspawn:
            metadata.name = match.id
        }
        if match.podUID != nil || metadata.kubernetes != nil {
            var identity = metadata.kubernetes ?? KubernetesIdentity()
            identity.podUID = identity.podUID ?? match.podUID
            identity.merge(kubernetesFromLogs(id: match.id, podUID: identity.podUID))
            metadata.kubernetes = identity
            // With no runtime state on disk (only the kubelet's log tree), the Kubernetes container name is
            // the container's name, as containerd and CRI-O would have given it.
            if metadata.name == nil { metadata.name = identity.container }
            if match.podUID != nil && identity.namespace == nil {
                warnings.append(
                    Warning(
                        "container \(match.id.prefix(12)) in pod \(match.podUID!): no pod names found in var/log/pods or runtime state"
                    ))
            }
        }
        return metadata
    }

    // MARK: Docker

    private func dockerConfigPath(_ id: String) -> String { "var/lib/docker/containers/\(id)/config.v2.json" }

    /// `var/lib/docker/containers/<id>/config.v2.json`: Name, Config.Image, Config.Labels.
    private func dockerMetadata(_ id: String) -> ContainerMetadata? {
        let path = dockerConfigPath(id)
        guard let json = parse(path) else { return nil }
        var metadata = ContainerMetadata()
        metadata.runtime = .docker
        if let name = json["Name"]?.string {
            metadata.name = name.hasPrefix("/") ? String(name.dropFirst()) : name
        }
        metadata.image = json["Config"]?["Image"]?.string
        metadata.labels = stringMap(json["Config"]?["Labels"])
        // dockershim (Kubernetes on Docker) labels its containers.
        if let namespace = metadata.labels["io.kubernetes.pod.namespace"] {
            metadata.kubernetes = KubernetesIdentity(
                namespace: namespace, pod: metadata.labels["io.kubernetes.pod.name"],
                podUID: metadata.labels["io.kubernetes.pod.uid"],
                container: metadata.labels["io.kubernetes.container.name"])
            metadata.isSandbox = metadata.labels["io.kubernetes.docker.type"] == "podsandbox"
        }
        return metadata
    }

    // MARK: containerd

    /// `run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json`: CRI annotations.
    private func containerdMetadata(_ id: String) -> ContainerMetadata? {
        for namespace in ["k8s.io", "moby", "default"] {
            let path = "run/containerd/io.containerd.runtime.v2.task/\(namespace)/\(id)/config.json"
            guard let json = parse(path, quietWhenMissing: true) else { continue }
            var metadata = ContainerMetadata()
            // "moby" is Docker's namespace: such a task is a Docker container (its names are Docker's).
            metadata.runtime = namespace == "moby" ? .docker : .containerd
            let annotations = stringMap(json["annotations"])
            metadata.labels = annotations
            // A sandbox's image (the pause image) has its own annotation (containerd >= 1.7).
            metadata.image =
                annotations["io.kubernetes.cri.image-name"] ?? annotations["io.kubernetes.cri.podsandbox.image-name"]
            if let namespace = annotations["io.kubernetes.cri.sandbox-namespace"] {
                metadata.isSandbox = annotations["io.kubernetes.cri.container-type"] == "sandbox"
                metadata.kubernetes = KubernetesIdentity(
                    namespace: namespace, pod: annotations["io.kubernetes.cri.sandbox-name"],
                    podUID: annotations["io.kubernetes.cri.sandbox-uid"],
                    container: metadata.isSandbox ? "POD" : annotations["io.kubernetes.cri.container-name"])
            }
            if metadata.name == nil { metadata.name = metadata.kubernetes?.container }
            if metadata.name == nil && namespace != "moby" {
                // containerd has no display name: a container started with ctr is known by its id, one
                // started with nerdctl by its "nerdctl/name" (what `nerdctl ps` shows).
                metadata.name = annotations["nerdctl/name"] ?? id
            }
            return metadata
        }
        return nil
    }

    // MARK: CRI-O

    /// `run/containers/storage/overlay-containers/<id>/userdata/config.json` (or under var/lib).
    private func crioMetadata(_ id: String) -> ContainerMetadata? {
        for base in ["run/containers/storage", "var/lib/containers/storage"] {
            let path = "\(base)/overlay-containers/\(id)/userdata/config.json"
            guard let json = parse(path, quietWhenMissing: true) else { continue }
            var metadata = ContainerMetadata()
            metadata.runtime = .crio
            let annotations = stringMap(json["annotations"])
            metadata.labels = annotations
            metadata.image = annotations["io.kubernetes.cri-o.ImageName"]
            metadata.isSandbox = annotations["io.kubernetes.cri-o.ContainerType"] == "sandbox"
            if let namespace = annotations["io.kubernetes.pod.namespace"] {
                metadata.kubernetes = KubernetesIdentity(
                    namespace: namespace, pod: annotations["io.kubernetes.pod.name"],
                    podUID: annotations["io.kubernetes.pod.uid"],
                    container: metadata.isSandbox ? "POD" : annotations["io.kubernetes.container.name"])
            }
            metadata.name = metadata.kubernetes?.container
            return metadata
        }
        return nil
    }

    // MARK: Podman

    /// `containers.json` of the rootful store and of every user's rootless store: names and image name.
    private func podmanMetadata(_ id: String) -> ContainerMetadata? {
        if podmanByID == nil {
            var table: [String: ContainerMetadata] = [:]
            var stores = ["var/lib/containers/storage/overlay-containers/containers.json"]
            for user in files.list("home", directoriesOnly: true) {
                stores.append("home/\(user)/.local/share/containers/storage/overlay-containers/containers.json")
            }
            stores.append("root/.local/share/containers/storage/overlay-containers/containers.json")
            for store in stores {
                guard let json = parse(store, quietWhenMissing: true), let entries = json.array else { continue }
                for entry in entries {
                    guard let entryID = entry["id"]?.string else { continue }
                    var metadata = ContainerMetadata()
                    metadata.runtime = .podman
                    metadata.name = entry["names"]?.array?.first?.string
                    if let inner = entry["metadata"]?.string, let details = try? JSONParser.parse(inner) {
                        metadata.image = details["image-name"]?.string
                        metadata.name = metadata.name ?? details["name"]?.string
                    }
                    table[entryID] = metadata
                }
            }
            podmanByID = table
        }
        return podmanByID?[id]
    }

    // MARK: Kubernetes logs

    /// Names from kubelet's log directories: `var/log/containers/<pod>_<namespace>_<container>-<id>.log`
    /// names the container; `var/log/pods/<namespace>_<pod>_<uid>/` names the pod.
    private func kubernetesFromLogs(id: String, podUID: String?) -> KubernetesIdentity? {
        if logNamesByID == nil { loadContainerLogs() }
        if let byID = logNamesByID?[id] {
            var identity = byID
            if identity.podUID == nil { identity.podUID = podUID }
            return identity
        }
        guard let podUID else { return nil }
        if podsByUID == nil { loadPodLogs() }
        guard let pod = podsByUID?[podUID] else { return nil }
        return KubernetesIdentity(namespace: pod.namespace, pod: pod.pod, podUID: podUID)
    }

    private func loadContainerLogs() {
        var table: [String: KubernetesIdentity] = [:]
        for file in files.list("var/log/containers") where file.hasSuffix(".log") {
            let stem = file.dropLast(4)
            // The id is the last 64 characters after a `-`.
            guard stem.count > 65, let dash = stem.index(stem.endIndex, offsetBy: -65, limitedBy: stem.startIndex),
                stem[dash] == "-"
            else { continue }
            let id = String(stem[stem.index(after: dash)...])
            let parts = stem[..<dash].split(separator: "_", omittingEmptySubsequences: false)
            guard parts.count == 3, ContainerMatcher.hexID(Substring(id), prefix: "", suffix: "") != nil else {
                continue
            }
            // The link points into var/log/pods/<namespace>_<pod>_<uid>/<container>/N.log.
            var uid: String?
            if let target = files.readLink("var/log/containers/\(file)") {
                let components = target.split(separator: "/")
                if let podsIndex = components.lastIndex(of: "pods"), podsIndex + 1 < components.count {
                    uid = components[podsIndex + 1].split(separator: "_").last.map(String.init)
                }
            }
            table[id] = KubernetesIdentity(
                namespace: String(parts[1]), pod: String(parts[0]), podUID: uid, container: String(parts[2]))
        }
        logNamesByID = table
    }

    private func loadPodLogs() {
        var table: [String: (namespace: String, pod: String)] = [:]
        for directory in files.list("var/log/pods", directoriesOnly: true) {
            let parts = directory.split(separator: "_", omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            table[String(parts[2]).lowercased()] = (String(parts[0]), String(parts[1]))
            files.recordDirectory("var/log/pods/\(directory)")
        }
        podsByUID = table
    }

    // MARK: Parsing

    /// Parses the JSON file at `path`; a malformed file becomes a warning naming the file and line.
    private func parse(_ path: String, quietWhenMissing: Bool = false) -> JSONValue? {
        guard let bytes = files.read(path) else { return nil }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            malformed.insert(path)
            // Named as the node itself has it (not under --host-root), so the inventory of a node is the same
            // whether read live, through a mounted host root, or replayed from a recording.
            warnings.append(Warning("/\(path):\(error.line): malformed JSON (\(error.reason)); ignoring it"))
            return nil
        }
    }

    private func stringMap(_ value: JSONValue?) -> [String: String] {
        var map: [String: String] = [:]
        for (key, member) in value?.members ?? [] {
            if let string = member.string { map[key] = string }
        }
        return map
    }
}
