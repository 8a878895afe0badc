public import VigilKernel

/// Captures every file the inventory reads into a directory laid out like a host root, so that
/// `vigil ps --host-root DIR` replays the node exactly (`vigil record`).
public final class NodeRecorder: FileRecorder {
    public let output: String
    private let paths: NodePaths
    /// The first write failure; recording goes on so the user gets as much as possible, then it is reported.
    public private(set) var failure: SystemError?
    private var madeDirectories = Set<String>()

    public init(output: String, paths: NodePaths) {
        self.output = output
        self.paths = paths
    }

    private func destination(_ area: RecordArea, _ path: String) -> String {
        switch area {
        case .proc: return NodePaths.join(output, "proc/" + path)
        case .cgroup: return NodePaths.join(output, "sys/fs/cgroup/" + path)
        case .host: return NodePaths.join(output, path)
        }
    }

    private func makeParent(of path: String) -> Bool {
        guard let slash = path.lastIndex(of: "/") else { return true }
        let parent = String(path[..<slash])
        if madeDirectories.contains(parent) { return true }
        do {
            try FileSystem.makeDirectories(parent)
            madeDirectories.insert(parent)
            return true
        } catch {
            failure = failure ?? error
            return false
        }
    }

    public func recordFile(_ area: RecordArea, _ path: String, _ bytes: UnsafeRawBufferPointer) {
        let target = destination(area, path)
        guard makeParent(of: target) else { return }
        do { try FileSystem.writeFile(target, bytes) } catch { failure = failure ?? error }
    }

    public func recordLink(_ area: RecordArea, _ path: String, target: [UInt8]) {
        let link = destination(area, path)
        guard makeParent(of: link) else { return }
        do { try FileSystem.makeSymlink(link, target: target) } catch { failure = failure ?? error }
    }

    public func recordDirectory(_ area: RecordArea, _ path: String) {
        let directory = destination(area, path)
        do { try FileSystem.makeDirectories(directory) } catch { failure = failure ?? error }
    }

    /// Records the host name (as `etc/hostname`) for a replay to report.
    public func recordHostname(_ name: String) {
        let bytes = Array((name + "\n").utf8)
        bytes.withUnsafeBytes { recordFile(.host, "etc/hostname", $0) }
    }
}
