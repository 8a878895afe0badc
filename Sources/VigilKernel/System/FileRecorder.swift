/// Where a recorded file came from: the three roots a node is seen through.
public enum RecordArea: Sendable {
    /// Relative to the /proc root.
    case proc
    /// Relative to the cgroup root.
    case cgroup
    /// Relative to the host root (runtime state such as var/lib/docker).
    case host
}

/// Receives a copy of every file and link a reader reads, so a node can be captured as a fixture that
/// replays exactly (`vigil record`). Readers call it only when one is set.
public protocol FileRecorder: AnyObject {
    func recordFile(_ area: RecordArea, _ path: String, _ bytes: UnsafeRawBufferPointer)
    func recordLink(_ area: RecordArea, _ path: String, target: [UInt8])
    /// A directory whose existence (not its contents) was read.
    func recordDirectory(_ area: RecordArea, _ path: String)
}
