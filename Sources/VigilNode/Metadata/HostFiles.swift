import VigilKernel

/// Reads runtime state under the host root (small JSON files, log directory names), recording what it
/// reads when a recorder is set. Not a hot path: clarity over speed.
final class HostFiles {
    let root: String
    var recorder: (any FileRecorder)?
    private var buffer = ReadBuffer(capacity: 64 * 1024)

    init(root: String, recorder: (any FileRecorder)?) {
        self.root = root
        self.recorder = recorder
    }

    /// The bytes of the file at `path` (relative to the host root); nil when absent or unreadable.
    func read(_ path: String, limit: Int = 8 << 20) -> [UInt8]? {
        guard let directory = try? FileDescriptor.openDirectory(root),
            let file = try? directory.open(relative: path)
        else { return nil }
        guard case .success = file.readAll(into: &buffer, limit: limit) else { return nil }
        recorder?.recordFile(.host, path, buffer.bytes)
        return Array(buffer.bytes)
    }

    /// Entry names of the directory at `path` (relative to the host root), sorted; empty when absent.
    /// Entries are not recorded here: the files read from them are.
    func list(_ path: String, directoriesOnly: Bool = false) -> [String] {
        guard let directory = try? FileDescriptor.openDirectory(NodePaths.join(root, path)) else { return [] }
        var names: [String] = []
        _ = directory.forEachEntry { name, isDirectory in
            if !directoriesOnly || isDirectory { names.append(String(cString: name)) }
        }
        return names.sorted()
    }

    /// The target of the symbolic link at `path`, recorded.
    func readLink(_ path: String) -> String? {
        guard let directory = try? FileDescriptor.openDirectory(root),
            case .success(let target) = directory.readLink(relative: path)
        else { return nil }
        recorder?.recordLink(.host, path, target: target)
        return Bytes.string(target)
    }

    /// Records that a directory exists (for listings whose entries are names only, like var/log/pods).
    func recordDirectory(_ path: String) {
        recorder?.recordDirectory(.host, path)
    }
}
