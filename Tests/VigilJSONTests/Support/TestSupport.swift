import Glibc
import Testing
import VigilJSON

/// Real JSON documents from `Tests/Captured` (Docker's `config.v2.json` and `hostconfig.json`), found by
/// walking up from this source file to the package root.
enum Captured {
    static let directory: String = {
        var path = String(#filePath)
        while let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            path = String(path[..<slash])
            if access(path + "/Package.swift", F_OK) == 0 { return path + "/Tests/Captured" }
        }
        return "/nonexistent: no Package.swift above \(#filePath)"
    }()

    static let jsonFiles = ["docker-sh.config.v2.json", "docker-sh.hostconfig.json"]

    static func bytes(_ name: String) throws -> [UInt8] {
        try #require(readFile(directory + "/" + name), "cannot read \(directory)/\(name)")
    }
}

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

/// SplitMix64: a tiny seeded generator, so every property test is repeatable.
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
}

/// The parse error of `text`, or nil (with an issue recorded) when it parses.
func parseError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONParseError? {
    do {
        let value = try JSONParser.parse(text)
        Issue.record("expected an error, parsed \(value)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Writes `value` with a fresh writer.
func written(_ value: JSONValue, indent: Int = 0) -> String {
    var writer = JSONWriter(indent: indent)
    writer.value(value)
    return String(decoding: writer.bytes, as: UTF8.self)
}
