public import VigilKernel
public import VigilNode

/// The baseline directory (`--baseline-dir`): one file per workload, `<key>.baseline`, each written
/// atomically, so a crash at any moment leaves every file whole (the old version or the new one).
///
/// Writers (the agent, `vigil baseline ...`) take the directory's lock file around every
/// read-modify-write, so an edit made while the agent runs is never overwritten with an older copy.
public struct BaselineStore: Sendable {
    public let directory: String
    public static let defaultDirectory = "/var/lib/vigil/baselines"
    public static let fileExtension = ".baseline"

    public init(directory: String) {
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    }

    /// The file name of a workload's baseline: its key with `/`, `%`, `~`, whitespace and control
    /// characters percent-encoded, so every key has its own file (`k8s:shop%2Fweb%2Fnginx.baseline`).
    public static func fileName(for workload: WorkloadKey) -> String {
        var name = ""
        for byte in workload.rawValue.utf8 {
            // `~` is kept for the hash of a cut name, so a key's own `~` is encoded.
            let keep = byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "/") && byte != UInt8(ascii: "%") && byte != UInt8(ascii: "~")
            if keep && !(name.isEmpty && byte == UInt8(ascii: ".")) {
                name.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                name += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        // Names longer than a file system allows (255 bytes, with room for the temporary file's
        // prefix and suffix) are cut, and keep their uniqueness by a hash of the whole key.
        if name.utf8.count > 200 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
            for byte in workload.rawValue.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            let hex = String(hash, radix: 16)
            name = String(name.prefix(180)) + "~" + String(repeating: "0", count: 16 - hex.count) + hex
        }
        return name + fileExtension
    }

    public func path(for workload: WorkloadKey) -> String { directory + "/" + Self.fileName(for: workload) }

    /// Creates the directory (mode 0700: baselines say what runs where) when missing.
    public func prepare() throws(SystemError) {
        try FileSystem.makeDirectories(directory, mode: 0o700)
    }

    /// Holds the directory's lock while `body` runs.
    public func withLock<T>(_ body: () throws(BaselineStoreError) -> T) throws(BaselineStoreError) -> T {
        do { try prepare() } catch { throw .system(error) }
        let lock: FileLock
        do { lock = try FileLock(directory + "/.lock") } catch { throw .system(error) }
        let result = try body()
        _ = consume lock
        return result
    }

    /// Reads one file.
    public static func load(file path: String) throws(BaselineStoreError) -> Baseline {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path) } catch { throw .system(error) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .file(BaselineFileError(file: path, line: 0, reason: "not UTF-8 text"))
        }
        do { return try BaselineFile.decode(text, file: path) } catch { throw .file(error) }
    }

    /// The workload's baseline; nil when it has none.
    public func load(_ workload: WorkloadKey) throws(BaselineStoreError) -> Baseline? {
        let path = path(for: workload)
        guard FileSystem.exists(path) else { return nil }
        let baseline = try Self.load(file: path)
        guard baseline.workload == workload else {
            throw .file(
                BaselineFileError(
                    file: path, line: 0,
                    reason: "holds the baseline of \(baseline.workload), not of \(workload) (was it renamed by hand?)"))
        }
        return baseline
    }

    /// Every baseline in the directory, by workload; the first bad file stops the load.
    public func loadAll() throws(BaselineStoreError) -> [WorkloadKey: Baseline] {
        guard FileSystem.exists(directory) else { return [:] }
        let names: [String]
        do { names = try FileSystem.entries(directory) } catch { throw .system(error) }
        var baselines: [WorkloadKey: Baseline] = [:]
        for name in names where name.hasSuffix(Self.fileExtension) && !name.hasPrefix(".") {
            let path = directory + "/" + name
            let baseline = try Self.load(file: path)
            guard Self.fileName(for: baseline.workload) == name else {
                throw .file(
                    BaselineFileError(
                        file: path, line: 0,
                        reason: "holds the baseline of \(baseline.workload), whose file is \(Self.fileName(for: baseline.workload))"))
            }
            baselines[baseline.workload] = baseline
        }
        return baselines
    }

    /// Writes the workload's file atomically; returns the new file's identity.
    @discardableResult
    public func save(_ baseline: Baseline) throws(BaselineStoreError) -> FileSystem.FileIdentity? {
        let path = path(for: baseline.workload)
        do {
            try prepare()
            try FileSystem.writeAtomically(path, Array(BaselineFile.encode(baseline).utf8), mode: 0o600)
        } catch {
            throw .system(error)
        }
        return FileSystem.identity(path)
    }

    /// Deletes the workload's file; false when there was none.
    @discardableResult
    public func remove(_ workload: WorkloadKey) throws(BaselineStoreError) -> Bool {
        do { return try FileSystem.remove(path(for: workload)) } catch { throw .system(error) }
    }

    public func identity(of workload: WorkloadKey) -> FileSystem.FileIdentity? {
        FileSystem.identity(path(for: workload))
    }
}

/// Why the baseline store could not do something.
public enum BaselineStoreError: Error, Sendable, CustomStringConvertible {
    /// A file that is not a valid baseline (exit status 2).
    case file(BaselineFileError)
    /// The file system refused (exit status 1).
    case system(SystemError)

    public var description: String {
        switch self {
        case .file(let error): error.description
        case .system(let error): error.description
        }
    }

    /// Whether the fault is in the input (a bad file), not in the system.
    public var isBadInput: Bool {
        switch self {
        case .file: true
        case .system: false
        }
    }
}
