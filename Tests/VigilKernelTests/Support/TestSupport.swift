import Glibc
import Testing
import VigilKernel

// Shared by the VigilKernel tests: the captured files, a seeded random generator for property tests,
// temporary directory trees laid out like /proc or a cgroup hierarchy, and thin parse wrappers.

/// The real /proc and cgroup files in `Tests/Captured` (see its README), found by walking up from this
/// source file to the package root: no bundle resources.
enum Captured {
    static let directory: String = {
        var path = String(#filePath)
        while let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            path = String(path[..<slash])
            if access(path + "/Package.swift", F_OK) == 0 { return path + "/Tests/Captured" }
        }
        return "/nonexistent: no Package.swift above \(#filePath)"
    }()

    /// The bytes of a captured file; records an issue and throws when it cannot be read.
    static func bytes(_ name: String) throws -> [UInt8] {
        try #require(readFile(directory + "/" + name), "cannot read \(directory)/\(name)")
    }

    /// The text of a captured file, with a trailing newline removed.
    static func line(_ name: String) throws -> String {
        var text = String(decoding: try bytes(name), as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    static let statFiles = [
        "docker-sh.stat", "docker-sleep.stat", "host-sleep.stat", "odd-comm.stat", "deleted-exe.stat",
    ]
    static let statusFiles = [
        "docker-sh.status", "docker-sleep.status", "host-sleep.status", "odd-comm.status", "deleted-exe.status",
        "docker-default.status", "docker-user1000.status", "docker-capdropall.status", "docker-netadmin.status",
        "docker-nearpriv.status", "docker-nnp.status", "docker-pidhost.status",
    ]
    static let cmdlineFiles = [
        "docker-sh.cmdline", "docker-sleep.cmdline", "host-sleep.cmdline", "odd-comm.cmdline", "deleted-exe.cmdline",
    ]
    static let cgroupFiles = [
        "docker-sh.cgroup", "docker-sleep.cgroup", "host-sleep.cgroup", "odd-comm.cgroup", "deleted-exe.cgroup",
    ]
    static let mountinfoFiles = [
        "docker-sh.mountinfo", "docker-sleep.mountinfo", "docker-readonly.mountinfo", "host.mountinfo",
        "host-sleep.mountinfo", "odd-comm.mountinfo", "deleted-exe.mountinfo",
    ]
    static let nsFiles = ["docker-sh.ns.txt", "docker-sleep.ns.txt", "host-sleep.ns.txt", "odd-comm.ns.txt"]
    static let exeFiles = [
        "docker-sh.exe.txt", "docker-sleep.exe.txt", "host-sleep.exe.txt", "odd-comm.exe.txt", "deleted-exe.exe.txt",
    ]
}

// MARK: - Files

/// Reads a whole file with plain system calls (not the code under test).
func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { return result }
        result.append(contentsOf: chunk[0..<n])
    }
}

func readText(_ path: String) -> String? {
    readFile(path).map { String(decoding: $0, as: UTF8.self) }
}

/// A fresh directory under /tmp, removed (with everything in it) by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/vigil-kernel-tests.XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        self.path = try #require(created.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    }

    func makeDirectory(_ relative: String) throws {
        var current = path
        for component in relative.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                Issue.record("mkdir \(current): errno \(errno)")
                throw TestSetupError()
            }
        }
    }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        if let slash = relative.lastIndex(of: "/") { try makeDirectory(String(relative[..<slash])) }
        let full = path + "/" + relative
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            Issue.record("open \(full): errno \(errno)")
            throw TestSetupError()
        }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                Issue.record("write \(full): errno \(errno)")
                throw TestSetupError()
            }
            offset += n
        }
    }

    func write(_ relative: String, _ text: String) throws {
        try write(relative, Array(text.utf8))
    }

    func symlink(_ relative: String, to target: String) throws {
        if let slash = relative.lastIndex(of: "/") { try makeDirectory(String(relative[..<slash])) }
        guard Glibc.symlink(target, path + "/" + relative) == 0 else {
            Issue.record("symlink \(relative): errno \(errno)")
            throw TestSetupError()
        }
    }

    /// Removes the tree, not following symbolic links.
    func remove() {
        removeTree(absolute: path)
    }

    /// Removes a subtree.
    func removeTree(_ relative: String) {
        removeTree(absolute: path + "/" + relative)
    }

    private func removeTree(absolute path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            unlink(path)
            return
        }
        var names: [String] = []
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(directory)
        }
        for name in names { removeTree(absolute: path + "/" + name) }
        rmdir(path)
    }
}

struct TestSetupError: Error {}

// MARK: - Random

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so every property test is repeatable.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            var word = next()
            for _ in 0..<min(8, count - result.count) {
                result.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return result
    }

    /// Random bytes of random length in 0...maxLength: a quarter any byte at all, a quarter ASCII
    /// (control characters included), half from a small alphabet that makes the parsers' separators
    /// (digits, spaces, `:`, `(`, `)`, NUL, newline) likely.
    ///
    /// Only a quarter is arbitrary bytes because decoding invalid UTF-8 is slow under the test runner:
    /// the standard library throws internally for each invalid sequence, and Swift Testing captures a
    /// backtrace for every throw (about 30 times slower than outside the runner).
    mutating func arbitraryInput(maxLength: Int = 4096, alphabet: [UInt8]) -> [UInt8] {
        let length = Int.random(in: 0...maxLength, using: &self)
        switch next() % 4 {
        case 0: return bytes(count: length)
        case 1: return bytes(count: length).map { $0 & 0x7F }
        default: return (0..<length).map { _ in alphabet.randomElement(using: &self)! }
        }
    }

    /// A copy of `original` with a few random edits: byte flips, inserted separators, deletions, a cut.
    mutating func mutate(_ original: [UInt8], inserting specials: [UInt8] = [0x29, 0x28, 0x00, 0x0A, 0x20, 0x3A])
        -> [UInt8]
    {
        var bytes = original
        let edits = Int.random(in: 1...4, using: &self)
        for _ in 0..<edits {
            switch Int.random(in: 0..<5, using: &self) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &self)] = UInt8.random(in: 0...255, using: &self)
            case 1:
                bytes.insert(specials.randomElement(using: &self)!, at: Int.random(in: 0...bytes.count, using: &self))
            case 2 where !bytes.isEmpty:
                bytes.remove(at: Int.random(in: 0..<bytes.count, using: &self))
            case 3 where !bytes.isEmpty:
                bytes.removeLast(Int.random(in: 0...bytes.count, using: &self))
            default:
                if !bytes.isEmpty {
                    let i = Int.random(in: 0..<bytes.count, using: &self)
                    bytes[i] ^= UInt8(1) << UInt8.random(in: 0...7, using: &self)
                }
            }
        }
        return bytes
    }
}

/// Digits, separators and letters that appear in /proc files.
let procAlphabet: [UInt8] = Array("0123456789 ():\n\t\0/-,=abcdefxABCDEF[]\\".utf8)

// MARK: - Parse wrappers

func parseStat(_ bytes: [UInt8]) -> ProcStat? { bytes.withParserInput { ProcStat.parse($0) } }
func parseStatus(_ bytes: [UInt8]) -> ProcStatus? { bytes.withParserInput { ProcStatus.parse($0) } }
func parseCmdline(_ bytes: [UInt8]) -> [String] { bytes.withParserInput { ProcCmdline.parse($0) } }
func parseExe(_ bytes: [UInt8]) -> ExecutablePath { bytes.withParserInput { ExecutablePath.parse($0) } }
func parseCgroups(_ bytes: [UInt8]) -> [CgroupMembership] { bytes.withParserInput { CgroupMembership.parse($0) } }
func parseNamespace(_ bytes: [UInt8]) -> NamespaceLink? { bytes.withParserInput { NamespaceLink.parse($0) } }
func parseMounts(_ bytes: [UInt8]) -> [MountEntry] { bytes.withParserInput { MountEntry.parse($0) } }
func parseLimit(_ bytes: [UInt8]) -> UInt64? { bytes.withParserInput { PidCounters.parseLimit($0) } }
func parseEventsMax(_ bytes: [UInt8]) -> UInt64? { bytes.withParserInput { PidCounters.parseEventsMax($0) } }

func parseStat(_ text: String) -> ProcStat? { parseStat(Array(text.utf8)) }
func parseStatus(_ text: String) -> ProcStatus? { parseStatus(Array(text.utf8)) }
func parseCmdline(_ text: String) -> [String] { parseCmdline(Array(text.utf8)) }
func parseExe(_ text: String) -> ExecutablePath { parseExe(Array(text.utf8)) }
func parseCgroups(_ text: String) -> [CgroupMembership] { parseCgroups(Array(text.utf8)) }
func parseNamespace(_ text: String) -> NamespaceLink? { parseNamespace(Array(text.utf8)) }
func parseMounts(_ text: String) -> [MountEntry] { parseMounts(Array(text.utf8)) }
func parseLimit(_ text: String) -> UInt64? { parseLimit(Array(text.utf8)) }
func parseEventsMax(_ text: String) -> UInt64? { parseEventsMax(Array(text.utf8)) }

/// Runs `body` on `bytes` as a slice in the middle of a larger buffer whose surrounding bytes would
/// change the result if read: a parser must stay within the slice it is given.
func withEmbedded<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer.SubSequence) -> R) -> R {
    let guardBytes: [UInt8] = Array("1 (x) ) \0\n0::/leak\n9 9 0:1 / / rw - x y rw\n".utf8)
    let buffer = guardBytes + bytes + guardBytes
    return buffer.withUnsafeBytes { raw in
        body(raw[guardBytes.count..<(guardBytes.count + bytes.count)])
    }
}

/// The four ids of a Uid/Gid line as an array, for comparisons.
func quad(_ ids: (real: UInt32, effective: UInt32, saved: UInt32, filesystem: UInt32)) -> [UInt32] {
    [ids.real, ids.effective, ids.saved, ids.filesystem]
}

/// The value of a `Key:\tvalue` line of a status file, found with plain String operations.
func statusValue(_ text: String, _ key: String) -> String? {
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        return line.dropFirst(key.count + 1).trimmingBlanks()
    }
    return nil
}

/// The fields of a stat line after the comm (field 3 first), split with plain String operations.
func statFieldsAfterComm(_ text: String) -> [Substring] {
    guard let close = text.lastIndex(of: ")") else { return [] }
    return text[text.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
}

extension Substring {
    func trimmingBlanks() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
