/// Where a node's files are seen: the host's filesystem, its /proc and its cgroup tree.
///
/// An agent in a Kubernetes pod sees the host under `/host`; a fixture is a directory laid out the same way.
public struct NodePaths: Equatable, Sendable {
    /// The host's filesystem root, for runtime state such as `var/lib/docker` and `var/log/pods`.
    public var hostRoot: String
    public var procRoot: String
    public var cgroupRoot: String

    /// - Parameters:
    ///   - hostRoot: default `/`.
    ///   - procRoot: default `<hostRoot>/proc`.
    ///   - cgroupRoot: default `<hostRoot>/sys/fs/cgroup`.
    public init(hostRoot: String = "/", procRoot: String? = nil, cgroupRoot: String? = nil) {
        let host = hostRoot.count > 1 && hostRoot.hasSuffix("/") ? String(hostRoot.dropLast()) : hostRoot
        self.hostRoot = host
        self.procRoot = procRoot ?? NodePaths.join(host, "proc")
        self.cgroupRoot = cgroupRoot ?? NodePaths.join(host, "sys/fs/cgroup")
    }

    /// True when this is the live node as seen from its own root (not a fixture, not a mounted host).
    public var isLiveRoot: Bool { hostRoot == "/" }

    /// `base` joined with a relative `path`.
    public static func join(_ base: String, _ path: String) -> String {
        let relative = path.drop(while: { $0 == "/" })
        if base.hasSuffix("/") { return base + relative }
        return base + "/" + relative
    }
}
