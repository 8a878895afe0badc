import Testing
import VigilKernel

@Suite("FileDescriptor and ReadBuffer")
struct FileDescriptorTests {
    static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test("readAll reads a whole file, growing the buffer, and reports it complete")
    func readsWholeFile() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try root.write("big", Self.pattern(300_000))
        let directory = try FileDescriptor.openDirectory(root.path)
        let file = try directory.open(relative: "big")
        var buffer = ReadBuffer(capacity: 64)
        let result = file.readAll(into: &buffer, limit: 1 << 20)
        #expect(result == .success(true))
        #expect(Array(buffer.bytes) == Self.pattern(300_000))
    }

    @Test("readAll stops at the limit and reports the file cut, with its first bytes")
    func stopsAtLimit() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try root.write("big", Self.pattern(100_000))
        let directory = try FileDescriptor.openDirectory(root.path)
        let file = try directory.open(relative: "big")
        var buffer = ReadBuffer(capacity: 64)
        let result = file.readAll(into: &buffer, limit: 10_000)
        #expect(result == .success(false))
        #expect(Array(buffer.bytes) == Array(Self.pattern(100_000).prefix(10_000)))
    }

    @Test("readAll honours the limit even when a reused buffer is already larger than it")
    func limitWithLargerReusedBuffer() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try root.write("big", Self.pattern(100_000))
        try root.write("small", [1, 2, 3])
        let directory = try FileDescriptor.openDirectory(root.path)
        var buffer = ReadBuffer(capacity: 256 * 1024)
        let big = try directory.open(relative: "big")
        #expect(big.readAll(into: &buffer, limit: 10_000) == .success(false))
        #expect(buffer.count == 10_000)
        #expect(Array(buffer.bytes) == Array(Self.pattern(100_000).prefix(10_000)))
        // The same buffer then reads a small file whole.
        let small = try directory.open(relative: "small")
        #expect(small.readAll(into: &buffer, limit: 10_000) == .success(true))
        #expect(Array(buffer.bytes) == [1, 2, 3])
    }

    @Test("readAll of an empty file is complete and empty")
    func emptyFile() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try root.write("empty", [])
        let directory = try FileDescriptor.openDirectory(root.path)
        let file = try directory.open(relative: "empty")
        var buffer = ReadBuffer()
        #expect(file.readAll(into: &buffer) == .success(true))
        #expect(buffer.count == 0)
    }

    @Test("open of a missing file throws ENOENT, which means gone")
    func missingFile() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let directory = try FileDescriptor.openDirectory(root.path)
        do {
            _ = try directory.open(relative: "nope")
            Issue.record("expected an error")
        } catch {
            #expect(error == .noSuchFile)
            #expect(error.meansGone)
        }
        let exists = directory.exists(relative: "nope")
        #expect(!exists)
    }

    @Test("readLink returns a link's target bytes; forEachEntry lists names and directories, not . or ..")
    func linksAndEntries() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try root.symlink("link", to: "/usr/bin/x (deleted)")
        try root.makeDirectory("sub")
        try root.write("file", "x")
        let directory = try FileDescriptor.openDirectory(root.path)
        #expect(directory.readLink(relative: "link") == .success(Array("/usr/bin/x (deleted)".utf8)))
        #expect(directory.readLink(relative: "file") == .failure(Errno(rawValue: 22)), "EINVAL: not a link")
        let fileExists = directory.exists(relative: "file")
        #expect(fileExists)
        var entries: [String: Bool] = [:]
        let listed = directory.forEachEntry { name, isDirectory in entries[String(cString: name)] = isDirectory }
        #expect((try? listed.get()) != nil)
        #expect(entries == ["link": false, "sub": true, "file": false])
    }
}
