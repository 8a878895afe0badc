import Glibc
import Testing
import VigilBaseline
import VigilKernel
import VigilNode

/// The baseline directory: one file per workload under a name no two keys share, written atomically,
/// read back whole, and refused when a file is not what its name says.
@Suite("Baseline store")
struct BaselineStoreTests {
    static func baseline(_ workload: String, pids: UInt64 = 1) -> Baseline {
        var baseline = Baseline(workload: WorkloadKey(rawValue: workload), created: referenceTime, node: "node-a")
        baseline.pidsHigh = pids
        baseline.processes[key(kind("/bin/busybox", "sh"), parent: .none)] = ProcessEntry(
            users: [0], capabilities: .empty, seen: 1)
        return baseline
    }

    // MARK: File names

    @Test(
        "fileName percent-encodes `/`, `%`, a leading dot, whitespace, control and non-ASCII bytes",
        arguments: [
            ("image:web:1.4", "image:web:1.4.baseline"), ("k8s:shop/web/nginx", "k8s:shop%2Fweb%2Fnginx.baseline"),
            ("a/b", "a%2Fb.baseline"), ("a%2Fb", "a%252Fb.baseline"), (".hidden", "%2Ehidden.baseline"),
            ("..", "%2E..baseline"), ("a.b", "a.b.baseline"), ("a b", "a%20b.baseline"),
            ("a\tb\n", "a%09b%0A.baseline"),
            ("é", "%C3%A9.baseline"), ("\u{7F}", "%7F.baseline"),
        ])
    func fileNames(workload: String, name: String) {
        #expect(BaselineStore.fileName(for: WorkloadKey(rawValue: workload)) == name)
    }

    @Test("fileName gives every key its own name, without `/` and not hidden")
    func fileNamesAreInjective() {
        var random = SplitMix64(seed: 0xF11E)
        var keys: Set<String> = [
            "a/b", "a%2Fb", "a%2fb", "a%252Fb", ".a", "%2Ea", "%2ea", "a b", "a%20b", "a\u{A0}b", "image:web",
            "image:web.",
            "/", "//", "%", "%%", "k8s:ns/pod/c", "k8s:ns%2Fpod/c", "é", "e\u{301}", "..", ".", "%2E",
        ]
        for _ in 0..<300 {
            keys.insert(random.string(from: trickyScalars + [".", "%", "/"], maxLength: 8, minLength: 1))
        }
        var owners: [String: String] = [:]
        for key in keys {
            let name = BaselineStore.fileName(for: WorkloadKey(rawValue: key))
            #expect(!name.contains("/"), "\(key.debugDescription) → \(name)")
            #expect(!name.hasPrefix("."), "\(key.debugDescription) → \(name) is hidden")
            #expect(name.hasSuffix(".baseline"))
            #expect(name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "\(key.debugDescription) → \(name)")
            if let other = owners[name] {
                // Swift's String == is canonical equivalence; compare bytes.
                #expect(
                    Array(other.utf8) == Array(key.utf8),
                    "\(key.debugDescription) and \(other.debugDescription) share \(name)")
            }
            owners[name] = key
        }
    }

    @Test("a directory given with a trailing slash names the same files")
    func trailingSlash() {
        let workload = WorkloadKey(rawValue: "image:web")
        #expect(BaselineStore(directory: "/var/lib/vigil/").path(for: workload) == "/var/lib/vigil/image:web.baseline")
    }

    // MARK: Saving and loading

    @Test("save then load gives back the baseline; the file is private and the directory made")
    func saveAndLoad() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = BaselineStore(directory: temporary.path + "/state/baselines")
        let baseline = Self.baseline("k8s:shop/web/nginx")
        let identity = try store.save(baseline)
        #expect(identity != nil)
        #expect(identity == store.identity(of: baseline.workload))
        #expect(try store.load(baseline.workload) == baseline)
        #expect(try temporary.entries("state/baselines") == ["k8s:shop%2Fweb%2Fnginx.baseline"])
        #expect(permissions(store.path(for: baseline.workload)) == 0o600)
        #expect(permissions(store.directory) == 0o700)
        #expect(try temporary.read("state/baselines/k8s:shop%2Fweb%2Fnginx.baseline") == BaselineFile.encode(baseline))
    }

    @Test("saving again replaces the file: new content, new identity, no temporary file left")
    func saveReplaces() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = BaselineStore(directory: temporary.path)
        let first = try store.save(Self.baseline("w", pids: 1))
        let second = try store.save(Self.baseline("w", pids: 2))
        #expect(first != second)
        #expect(try store.load(WorkloadKey(rawValue: "w"))?.pidsHigh == 2)
        #expect(try temporary.entries() == ["w.baseline"])
    }

    @Test("load is nil for a workload without a file; remove deletes it once")
    func missingAndRemove() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = BaselineStore(directory: temporary.path)
        let workload = WorkloadKey(rawValue: "image:web")
        #expect(try store.load(workload) == nil)
        #expect(store.identity(of: workload) == nil)
        try store.save(Self.baseline("image:web"))
        #expect(try store.remove(workload))
        #expect(try !store.remove(workload))
        #expect(try store.load(workload) == nil)
    }

    @Test("loadAll reads every baseline and ignores temporary, hidden and other files")
    func loadAll() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = BaselineStore(directory: temporary.path)
        let workloads = ["image:web:1.4", "k8s:shop/web/nginx", "compose:app/db", ".dot", "a%2Fb", "a/b"]
        for workload in workloads { try store.save(Self.baseline(workload)) }
        try temporary.write(".image:web:1.4.baseline.tmp.123", "half a file")
        try temporary.write(".x.tmp.123", "half a file")
        try temporary.write(".hidden.baseline", "not a baseline")
        try temporary.write("README", "not a baseline")
        try temporary.write("notes.txt", "format 2")
        try temporary.write("web.baseline~", "an editor's backup")
        try temporary.write(".lock", "")

        let all = try store.loadAll()
        #expect(Set(all.keys) == Set(workloads.map { WorkloadKey(rawValue: $0) }))
        for workload in workloads { #expect(all[WorkloadKey(rawValue: workload)] == Self.baseline(workload)) }
    }

    @Test("loadAll of a directory that does not exist is empty")
    func loadAllMissingDirectory() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        #expect(try BaselineStore(directory: temporary.path + "/none").loadAll().isEmpty)
    }

    @Test("loadAll and load refuse a file whose workload is not the one its name says")
    func renamedFile() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = BaselineStore(directory: temporary.path)
        try store.save(Self.baseline("image:web"))
        try temporary.write("image:db.baseline", BaselineFile.encode(Self.baseline("image:web")))

        do throws(BaselineStoreError) {
            _ = try store.loadAll()
            Issue.record("loadAll accepted image:db.baseline holding image:web")
        } catch {
            #expect(error.isBadInput)
            guard case .file(let fileError) = error else { return }
            #expect(fileError.file == temporary.path + "/image:db.baseline")
            #expect(fileError.reason.contains("image:web"))
            #expect(fileError.reason.contains("image:web.baseline"))
        }
        do throws(BaselineStoreError) {
            _ = try store.load(WorkloadKey(rawValue: "image:db"))
            Issue.record("load accepted image:db.baseline holding image:web")
        } catch {
            #expect(error.isBadInput)
            #expect(error.description.contains("holds the baseline of image:web, not of image:db"))
        }
    }

    @Test("a malformed file stops loadAll with a bad-input error naming the file and line")
    func malformedFileStopsLoadAll() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = BaselineStore(directory: temporary.path)
        try store.save(Self.baseline("image:a"))
        try temporary.write("image:b.baseline", "format 1\nworkload image:b\nstate maybe\n")
        do throws(BaselineStoreError) {
            _ = try store.loadAll()
            Issue.record("loadAll accepted a malformed file")
        } catch {
            #expect(error.isBadInput)
            guard case .file(let fileError) = error else {
                Issue.record("expected .file, got \(error)")
                return
            }
            #expect(fileError.file == temporary.path + "/image:b.baseline")
            #expect(fileError.line == 3)
            #expect(
                error.description
                    == "\(temporary.path)/image:b.baseline:3: state must be learning or locked, found 'maybe'")
        }
    }

    @Test("a file that is not UTF-8 is bad input; an unreadable path is a system error")
    func notUTF8AndUnreadable() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        try temporary.write(
            "x.baseline", bytes: Array("format 1\nworkload x\nstate learning\nnode ".utf8) + [0xFF, 0xFE, 0x0A])
        do throws(BaselineStoreError) {
            _ = try BaselineStore.load(file: temporary.path + "/x.baseline")
            Issue.record("accepted bytes that are not UTF-8")
        } catch {
            #expect(error.isBadInput)
            #expect(error.description.contains("not UTF-8"))
        }
        do throws(BaselineStoreError) {
            _ = try BaselineStore.load(file: temporary.path + "/missing.baseline")
            Issue.record("loaded a missing file")
        } catch {
            #expect(!error.isBadInput)
            guard case .system(let systemError) = error else { return }
            #expect(systemError.errno.rawValue == ENOENT)
        }
    }

    @Test("save into a path that cannot be a directory is a system error")
    func saveFails() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        try temporary.write("file", "a plain file")
        let store = BaselineStore(directory: temporary.path + "/file/baselines")
        do throws(BaselineStoreError) {
            try store.save(Self.baseline("w"))
            Issue.record("saved under a plain file")
        } catch {
            #expect(!error.isBadInput)
        }
    }

    /// FNV-1a, 64 bits, written out here to pin down the hash `fileName` uses for long keys.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 1_099_511_628_211
        }
        return hash
    }

    @Test("the FNV-1a helper gives the published test vectors")
    func fnv1aVectors() {
        #expect(Self.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(Self.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(Self.fnv1a("foobar") == 0x8594_4171_f739_67e8)
    }

    @Test("a workload key longer than a file name may be still gets a file")
    func longWorkloadKey() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = BaselineStore(directory: temporary.path)
        // Image names may be 255 characters and tags 128: this key is 257 bytes, its encoded name 273,
        // so the name is cut to 180 bytes, `~` and 16 hex digits of the whole key's FNV-1a hash.
        let path = (1...8).map { "team-\($0)-" + String(repeating: "x", count: 20) }.joined(separator: "/")
        let workload = "image:registry.example.com/" + path + ":v1.2.3"
        #expect(workload.utf8.count == 257)
        let encoded = workload.replacing("/", with: "%2F")
        #expect(encoded.utf8.count == 273)
        let hex = String(Self.fnv1a(workload), radix: 16)
        let expected = String(encoded.prefix(180)) + "~" + String(repeating: "0", count: 16 - hex.count) + hex + ".baseline"
        let name = BaselineStore.fileName(for: WorkloadKey(rawValue: workload))
        #expect(name.utf8.count == 206)
        #expect(name == expected)

        // Another long key with the same first 180 bytes of name gets a name of its own.
        let sibling = String(workload.dropLast()) + "4"
        let siblingName = BaselineStore.fileName(for: WorkloadKey(rawValue: sibling))
        #expect(siblingName.utf8.count == 206)
        #expect(siblingName.prefix(180) == name.prefix(180))
        #expect(siblingName != name)

        try store.save(Self.baseline(workload))
        try store.save(Self.baseline(sibling, pids: 2))
        #expect(try Set(temporary.entries()) == [name, siblingName])
        #expect(try store.load(WorkloadKey(rawValue: workload)) == Self.baseline(workload))
        #expect(try store.load(WorkloadKey(rawValue: sibling)) == Self.baseline(sibling, pids: 2))
        let all = try store.loadAll()
        #expect(all.count == 2)
        #expect(all[WorkloadKey(rawValue: workload)] == Self.baseline(workload))
    }

    @Test("a name of 200 bytes is kept whole; one of 201 is cut to 206 with its suffix")
    func fileNameCutBoundary() {
        let kept = String(repeating: "a", count: 200)
        #expect(BaselineStore.fileName(for: WorkloadKey(rawValue: kept)) == kept + ".baseline")
        // 199 bytes and one `/`, which encodes as 3: 202 bytes.
        let cut = String(repeating: "a", count: 199) + "/"
        let hex = String(Self.fnv1a(cut), radix: 16)
        let name = BaselineStore.fileName(for: WorkloadKey(rawValue: cut))
        #expect(name == String(repeating: "a", count: 180) + "~" + String(repeating: "0", count: 16 - hex.count) + hex + ".baseline")
        #expect(BaselineStore.fileName(for: WorkloadKey(rawValue: String(repeating: "a", count: 201))).utf8.count == 206)
    }

    // MARK: The lock

    @Test("withLock holds the directory's lock: another taker waits until the body returns")
    func withLockExcludesOthers() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = BaselineStore(directory: temporary.path + "/baselines")
        let bodyDone = Flag()
        let sawBodyDone = Flag()
        let lockPath = store.directory + "/.lock"
        var waiter: SystemThread?
        let value = try store.withLock { () throws(BaselineStoreError) -> Int in
            waiter = try? SystemThread(name: "lock-waiter") {
                guard let lock = try? FileLock(lockPath) else { return }
                sawBodyDone.set(bodyDone.isSet)
                _ = consume lock
            }
            // Give the waiter time to block (not needed for correctness: it cannot see false anyway).
            usleep(20_000)
            bodyDone.set()
            return 42
        }
        let thread = try #require(waiter)
        thread.join()
        #expect(value == 42)
        #expect(sawBodyDone.isSet)
        #expect(FileSystem.exists(lockPath))
    }
}
