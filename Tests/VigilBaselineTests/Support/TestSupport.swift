import Glibc
import Synchronization
import Testing
import VigilBaseline
import VigilKernel
import VigilNode

/// A small, fast, seedable generator, so a failing property case repeats.
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

    /// A string of 0 to `maxLength` scalars drawn from `alphabet`.
    mutating func string(from alphabet: [Unicode.Scalar], maxLength: Int = 12, minLength: Int = 0) -> String {
        var text = String.UnicodeScalarView()
        let length = Int.random(in: minLength...maxLength, using: &self)
        for _ in 0..<length { text.append(alphabet.randomElement(using: &self)!) }
        return String(text)
    }
}

/// Scalars that stress a line-and-field text format: separators, escapes, brackets, the format's own
/// punctuation, non-ASCII letters, an emoji, U+FFFD, and line or paragraph separators of Unicode.
let trickyScalars: [Unicode.Scalar] = [
    " ", "\t", "\n", "\r", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "\\", "]", "=", "#", "%", "/", ",", "*", "-",
    ":", ".", "x", "X", "0", "9", "a", "z", "é", "ß", "中", "😀", "\u{FFFD}", "\u{85}", "\u{A0}", "\u{2028}",
]

/// Scalars that change where Swift's Character boundaries fall (a combining accent and a zero width
/// joiner extend the character before them; U+0600 ARABIC NUMBER SIGN prepends itself to the next).
let graphemeJoiningScalars: [Unicode.Scalar] = ["\u{301}", "\u{200D}", "\u{600}"]

/// 2026-11-30T05:10:00Z.
let referenceTime = Timestamp(seconds: 1_796_015_400, nanoseconds: 0)

/// `referenceTime` plus `seconds`.
func time(_ seconds: Int64) -> Timestamp {
    Timestamp(seconds: referenceTime.seconds + seconds, nanoseconds: 0)
}

func kind(_ executable: String, _ name: String? = nil) -> ProcessKind {
    ProcessKind(executable: executable, name: name ?? String(executable.split(separator: "/").last ?? ""))
}

func key(_ kind: ProcessKind, parent: ParentKind) -> ProcessEntryKey {
    ProcessEntryKey(kind: kind, parent: parent)
}

/// A capability set from names such as `chown`.
func caps(_ names: String...) -> CapabilitySet {
    var set = CapabilitySet.empty
    for name in names {
        guard let number = CapabilityNames.number(of: name) else {
            Issue.record("unknown capability \(name) in a test")
            continue
        }
        set = set.union(CapabilitySet(rawValue: 1 << UInt64(number)))
    }
    return set
}

/// The decode error of `text`, or nil (with an issue recorded) when it decodes.
func decodeError(
    _ text: String, file: String = "/srv/baselines/web.baseline", sourceLocation: SourceLocation = #_sourceLocation
) -> BaselineFileError? {
    do throws(BaselineFileError) {
        let baseline = try BaselineFile.decode(text, file: file)
        Issue.record("expected an error, decoded \(baseline)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// `baseline` written out and read back.
func roundTrip(_ baseline: Baseline) throws -> Baseline {
    try BaselineFile.decode(BaselineFile.encode(baseline), file: "round-trip.baseline")
}

/// A fresh directory under /tmp, removed with everything in it by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/vigil-baseline-tests.XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(created.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    }

    func write(_ name: String, _ text: String) throws {
        try FileSystem.writeFile(path + "/" + name, Array(text.utf8))
    }

    func write(_ name: String, bytes: [UInt8]) throws {
        try FileSystem.writeFile(path + "/" + name, bytes)
    }

    func read(_ name: String) throws -> String {
        String(decoding: try FileSystem.readFile(path + "/" + name), as: UTF8.self)
    }

    func entries(_ relative: String = "") throws -> [String] {
        try FileSystem.entries(relative.isEmpty ? path : path + "/" + relative)
    }

    /// Removes the tree, not following symbolic links.
    func remove() {
        Self.removeTree(path)
    }

    private static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in (try? FileSystem.entries(path)) ?? [] { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// The permission bits of the file at `path`, or nil when there is none.
func permissions(_ path: String) -> UInt32? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return UInt32(info.st_mode) & 0o7777
}

/// A flag one thread sets and another reads.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    func set(_ newValue: Bool = true) {
        value.store(newValue, ordering: .releasing)
    }

    var isSet: Bool { value.load(ordering: .acquiring) }
}
