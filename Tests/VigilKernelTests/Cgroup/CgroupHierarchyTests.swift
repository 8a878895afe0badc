import Testing
import VigilKernel

@Suite("CgroupHierarchy on a directory tree")
struct CgroupHierarchyTests {
    /// A small hierarchy: the root, a docker container with two nested cgroups, a systemd slice.
    static func makeTree() throws -> TemporaryDirectory {
        let root = try TemporaryDirectory()
        try root.write("cgroup.procs", "1\n2\n")
        try root.write("docker/cgroup.procs", "30\n10\n20\n30\n10\n\nabc\n0\n-5\n 40 \n4294967296\n")
        try root.write("docker/pids.current", "3\n")
        try root.write("docker/pids.max", "64\n")
        try root.write("docker/pids.events", "max 2\n")
        try root.write("docker/memory.max", "  max\n")
        try root.write("docker/b/cgroup.procs", "")
        try root.write("docker/a/cgroup.procs", "7\n")
        try root.write("docker/a/pids.current", "1\n")
        try root.write("docker/a/pids.max", "max\n")
        try root.write("system.slice/x.scope/cgroup.procs", "99\n")
        try root.write("system.slice/x.scope/pids.current", "1\n")
        try root.write("system.slice/x.scope/pids.events", "")
        return root
    }

    @Test("walk lists every cgroup depth first, parents before children, siblings sorted, files skipped")
    func walkOrder() throws {
        let root = try Self.makeTree()
        defer { root.remove() }
        let hierarchy = try CgroupHierarchy(root: root.path, name: "")
        #expect(
            hierarchy.walk() == ["/", "/docker", "/docker/a", "/docker/b", "/system.slice", "/system.slice/x.scope"])
    }

    @Test("walk lists a pruned cgroup but not its children, and stops at maxDepth")
    func walkPruningAndDepth() throws {
        let root = try Self.makeTree()
        defer { root.remove() }
        let hierarchy = try CgroupHierarchy(root: root.path, name: "")
        #expect(
            hierarchy.walk(descend: { $0 != "/docker" }) == ["/", "/docker", "/system.slice", "/system.slice/x.scope"])
        #expect(hierarchy.walk(maxDepth: 1) == ["/", "/docker", "/system.slice"])
        #expect(hierarchy.walk(maxDepth: 0) == ["/"])
    }

    @Test("processes are deduplicated and sorted; blank, zero, negative, oversized and non-numeric lines dropped")
    func processesDedupAndSort() throws {
        let root = try Self.makeTree()
        defer { root.remove() }
        let hierarchy = try CgroupHierarchy(root: root.path, name: "")
        let docker = hierarchy.processes("/docker")
        #expect(docker == [10, 20, 30, 40])
        let rootProcesses = hierarchy.processes("/")
        #expect(rootProcesses == [1, 2])
        let empty = hierarchy.processes("/docker/b")
        #expect(empty == [])
        let missing = hierarchy.processes("/nonexistent")
        #expect(missing == [])
        let nested = hierarchy.processes("docker/a")
        #expect(nested == [7], "a path without a leading '/' is relative to the root too")
    }

    @Test("the captured cgroup.procs of a container reads as its three processes")
    func capturedProcs() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let lines = try Captured.line("docker-unified.procs").split(separator: "\n")
        // Unordered and repeated, as cgroup.procs may be.
        try root.write("docker/abc/cgroup.procs", (lines.reversed() + lines).joined(separator: "\n") + "\n")
        let hierarchy = try CgroupHierarchy(root: root.path, name: "unified")
        let pids = hierarchy.processes("/docker/abc")
        let expected = lines.compactMap { Int32($0) }.sorted()
        #expect(expected.count == 3)
        #expect(pids == expected)
    }

    @Test("pidCounters reads current, max and events; 'max' is unlimited; no pids.current means no controller")
    func pidCounters() throws {
        let root = try Self.makeTree()
        defer { root.remove() }
        let hierarchy = try CgroupHierarchy(root: root.path, name: "pids")
        let docker = hierarchy.pidCounters("/docker")
        #expect(docker == PidCounters(current: 3, max: 64, eventsMax: 2))
        let unlimited = hierarchy.pidCounters("/docker/a")
        #expect(unlimited == PidCounters(current: 1, max: nil, eventsMax: nil), "no pids.events file")
        let emptyEvents = hierarchy.pidCounters("/system.slice/x.scope")
        #expect(emptyEvents == PidCounters(current: 1, max: nil, eventsMax: 0), "an events file without 'max' counts 0")
        let none = hierarchy.pidCounters("/docker/b")
        #expect(none == nil)
    }

    @Test("the captured pids files of both containers read as their counters")
    func capturedPidCounters() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        for (container, prefix) in [("sh", "docker-pids"), ("hit", "docker-pids-hit")] {
            for file in ["current", "max", "events", "peak"] {
                try root.write("docker/\(container)/pids.\(file)", try Captured.bytes("\(prefix).\(file)"))
            }
        }
        let hierarchy = try CgroupHierarchy(root: root.path, name: "pids")
        let sh = hierarchy.pidCounters("/docker/sh")
        #expect(sh == PidCounters(current: 3, max: 64, eventsMax: 0))
        let hit = hierarchy.pidCounters("/docker/hit")
        #expect(hit?.max == 5)
        #expect(hit?.eventsMax == 1)
    }

    @Test("value trims a small file; has tells whether a file exists")
    func valueAndHas() throws {
        let root = try Self.makeTree()
        defer { root.remove() }
        let hierarchy = try CgroupHierarchy(root: root.path, name: "")
        let memory = hierarchy.value("/docker", "memory.max")
        #expect(memory == "max")
        let missing = hierarchy.value("/docker", "cpu.max")
        #expect(missing == nil)
        let has = hierarchy.has("/docker", "pids.max")
        let hasNot = hierarchy.has("/docker/b", "pids.max")
        #expect(has && !hasNot)
    }

    @Test("a cgroup removed after the walk reads as empty, not as an error")
    func removedCgroup() throws {
        let root = try Self.makeTree()
        defer { root.remove() }
        let hierarchy = try CgroupHierarchy(root: root.path, name: "")
        #expect(hierarchy.walk().contains("/docker/a"))
        root.removeTree("docker/a")
        let pids = hierarchy.processes("/docker/a")
        #expect(pids == [])
        let counters = hierarchy.pidCounters("/docker/a")
        #expect(counters == nil)
        #expect(!hierarchy.walk().contains("/docker/a"))
    }

    @Test("a recorder receives each file read, under the hierarchy's name")
    func recorder() throws {
        let root = try Self.makeTree()
        defer { root.remove() }
        let spy = RecordingSpy()
        let hierarchy = try CgroupHierarchy(root: root.path, name: "pids")
        hierarchy.recorder = spy
        _ = hierarchy.pidCounters("/docker")
        #expect(
            spy.files.map(\.path) == ["pids/docker/pids.current", "pids/docker/pids.max", "pids/docker/pids.events"])
        #expect(spy.files.allSatisfy { $0.area == .cgroup })
        #expect(spy.files[1].bytes == Array("64\n".utf8))
    }

    @Test("opening a missing root throws a SystemError naming it")
    func missingRoot() {
        do {
            _ = try CgroupHierarchy(root: "/nonexistent/vigil-cgroup", name: "")
            Issue.record("expected an error")
        } catch {
            #expect(error.path == "/nonexistent/vigil-cgroup")
            #expect(error.errno.meansGone)
        }
    }
}
