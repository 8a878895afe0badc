import Glibc
import Testing
import VigilKernel

/// The file-system pieces the baseline store stands on: atomic replacement, whole-file reads, directory
/// listings, file identities, and the advisory lock writers take.
@Suite("File writing and locking")
struct FileWritingTests {
    @Test("writeAtomically creates, then replaces, a file and leaves no temporary file behind")
    func writeAtomically() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = temporary.path + "/file"
        try FileSystem.writeAtomically(path, Array("first version, longer than the second\n".utf8), mode: 0o640)
        #expect(try temporary.read("file") == "first version, longer than the second\n")
        #expect(permissions(path) == 0o640)
        let before = try #require(FileSystem.identity(path))

        try FileSystem.writeAtomically(path, Array("second\n".utf8), mode: 0o600)
        #expect(try temporary.read("file") == "second\n")
        #expect(try temporary.entries() == ["file"])
        let after = try #require(FileSystem.identity(path))
        #expect(after.inode != before.inode, "a new file was renamed over the old one")
        #expect(after.size == 7)

        try FileSystem.writeAtomically(path, [])
        #expect(try FileSystem.readFile(path).isEmpty)
        #expect(try temporary.entries() == ["file"])
    }

    @Test("writeAtomically into a missing directory fails and creates nothing")
    func writeAtomicallyFails() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        do throws(SystemError) {
            try FileSystem.writeAtomically(temporary.path + "/none/file", Array("x".utf8))
            Issue.record("wrote into a missing directory")
        } catch {
            #expect(error.errno.rawValue == ENOENT)
        }
        #expect(try temporary.entries().isEmpty)
    }

    @Test("writeAtomically over a directory fails and removes its temporary file")
    func writeAtomicallyRenameFails() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        try FileSystem.makeDirectories(temporary.path + "/taken/inner")
        do throws(SystemError) {
            try FileSystem.writeAtomically(temporary.path + "/taken", Array("x".utf8))
            Issue.record("replaced a non-empty directory with a file")
        } catch {
            #expect(error.operation == "rename")
        }
        #expect(try temporary.entries() == ["taken"])
    }

    @Test("readFile reads a whole file and refuses one over its limit")
    func readFile() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let bytes = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try temporary.write("big", bytes: bytes)
        #expect(try FileSystem.readFile(temporary.path + "/big") == bytes)
        do throws(SystemError) {
            _ = try FileSystem.readFile(temporary.path + "/big", limit: 1000)
            Issue.record("read past the limit")
        } catch {
            #expect(error.errno.rawValue == EFBIG)
        }
    }

    @Test("entries lists names sorted, without . and ..; remove says whether there was a file")
    func entriesAndRemove() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        for name in ["b", ".hidden", "a b", "a"] { try temporary.write(name, "") }
        #expect(try temporary.entries() == [".hidden", "a", "a b", "b"])
        #expect(try FileSystem.remove(temporary.path + "/a"))
        #expect(try !FileSystem.remove(temporary.path + "/a"))
        #expect(try temporary.entries() == [".hidden", "a b", "b"])
        #expect(FileSystem.identity(temporary.path + "/a") == nil)
    }

    @Test("a second FileLock on the same path waits until the first is released")
    func fileLockExcludes() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = temporary.path + "/.lock"
        let released = Flag()
        let sawReleased = Flag()
        let acquired = Flag()
        let first = try FileLock(path)
        let waiter = try SystemThread(name: "lock-waiter") {
            guard let second = try? FileLock(path) else { return }
            // The first holder sets `released` before it lets go, so a waiter that got the lock early
            // would see it unset.
            sawReleased.set(released.isSet)
            acquired.set()
            _ = consume second
        }
        // Give the waiter time to block (not needed for correctness: it cannot see the flag unset
        // after a proper wait).
        usleep(20_000)
        #expect(!acquired.isSet, "the second lock was taken while the first was held")
        released.set()
        _ = consume first
        waiter.join()
        #expect(acquired.isSet)
        #expect(sawReleased.isSet)
    }

    @Test("a FileLock creates its file and can be taken again once released")
    func fileLockReleases() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = temporary.path + "/lock"
        do {
            let lock = try FileLock(path)
            _ = consume lock
        }
        #expect(FileSystem.exists(path))
        #expect(permissions(path) == 0o600)
        let again = try FileLock(path)
        _ = consume again
        do throws(SystemError) {
            _ = try FileLock(temporary.path + "/none/lock")
            Issue.record("locked a file in a missing directory")
        } catch {
            #expect(error.errno.rawValue == ENOENT)
        }
    }
}
