import Testing
import VigilKernel

@Suite("CgroupMembership.parse and primaryPath")
struct CgroupMembershipTests {
    @Test("a Docker container in hybrid mode is /docker/<id> in every hierarchy, cgroup2 included")
    func dockerHybrid() throws {
        let id = try Captured.line("docker-sh.id.txt")
        #expect(id.count == 64)
        let memberships = parseCgroups(try Captured.bytes("docker-sh.cgroup"))
        #expect(memberships.count == 10)
        #expect(memberships.allSatisfy { $0.path == "/docker/" + id })
        #expect(memberships.map(\.hierarchy) == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
        #expect(
            memberships.first == CgroupMembership(hierarchy: 9, controllers: ["name=systemd"], path: "/docker/" + id))
        #expect(memberships[1].controllers == ["pids"])
        #expect(memberships.last == CgroupMembership(hierarchy: 0, controllers: [], path: "/docker/" + id))
        #expect(CgroupMembership.primaryPath(memberships) == "/docker/" + id)
    }

    @Test("a host process is / everywhere but memory; primaryPath does not pick the sandbox's memory cgroup")
    func hostProcess() throws {
        let memberships = parseCgroups(try Captured.bytes("host-sleep.cgroup"))
        #expect(memberships.count == 10)
        let memory = try #require(memberships.first { $0.controllers == ["memory"] })
        #expect(memory.path.hasPrefix("/process_api/"))
        #expect(memory.path.count == "/process_api/".count + 32)
        #expect(memberships.filter { $0.path == "/" }.count == 9)
        #expect(CgroupMembership.primaryPath(memberships) == "/")
    }

    @Test("v1 lines with several controllers split on commas")
    func multipleControllers() {
        let memberships = parseCgroups("4:cpu,cpuacct:/a\n3:net_cls,net_prio:/b\n")
        #expect(
            memberships == [
                CgroupMembership(hierarchy: 4, controllers: ["cpu", "cpuacct"], path: "/a"),
                CgroupMembership(hierarchy: 3, controllers: ["net_cls", "net_prio"], path: "/b"),
            ])
    }

    @Test("a path containing ':' is kept whole: only the first two colons split")
    func pathWithColons() {
        let line = "0::/system.slice/containerd.service/kubepods-besteffort-pod1_2.slice:cri-containerd:abc"
        #expect(
            parseCgroups(line) == [
                CgroupMembership(
                    hierarchy: 0, controllers: [],
                    path: "/system.slice/containerd.service/kubepods-besteffort-pod1_2.slice:cri-containerd:abc")
            ])
    }

    @Test("pure cgroup v2: the one 0:: line is the primary path, even at the root")
    func unifiedOnly() {
        #expect(CgroupMembership.primaryPath(parseCgroups("0::/kubepods.slice/x.scope\n")) == "/kubepods.slice/x.scope")
        #expect(CgroupMembership.primaryPath(parseCgroups("0::/\n")) == "/")
    }

    @Test("hybrid with an empty cgroup2 placement falls back to pids, then name=systemd, memory, cpu")
    func preferenceOrder() {
        let all = parseCgroups("5:cpu:/c\n4:memory:/m\n3:name=systemd:/s\n2:pids:/p\n0::/\n")
        #expect(CgroupMembership.primaryPath(all) == "/p")
        #expect(CgroupMembership.primaryPath(parseCgroups("5:cpu:/c\n4:memory:/m\n3:name=systemd:/s\n0::/\n")) == "/s")
        #expect(CgroupMembership.primaryPath(parseCgroups("5:cpu:/c\n4:memory:/m\n")) == "/m")
        #expect(CgroupMembership.primaryPath(parseCgroups("5:cpu,cpuacct:/c\n6:blkio:/b\n")) == "/c")
        #expect(CgroupMembership.primaryPath(parseCgroups("6:blkio:/b\n")) == "/b")
        #expect(CgroupMembership.primaryPath([]) == nil)
    }

    @Test(
        "malformed lines are skipped, good ones kept",
        arguments: [
            "", "\n", "garbage", "x:cpu:/a", ":cpu:/a", "1:cpu", "-1:cpu:/a", "1048576:cpu:/a",
            "99999999999999999999999:cpu:/a",
        ])
    func malformedLinesSkipped(line: String) {
        #expect(parseCgroups(line).isEmpty)
        #expect(
            parseCgroups(line + "\n1:pids:/ok\n") == [
                CgroupMembership(hierarchy: 1, controllers: ["pids"], path: "/ok")
            ])
    }

    @Test("the parser reads only the slice it is given")
    func staysWithinSlice() throws {
        for file in Captured.cgroupFiles {
            let bytes = try Captured.bytes(file)
            #expect(withEmbedded(bytes) { CgroupMembership.parse($0) } == parseCgroups(bytes), "\(file)")
        }
    }
}

@Suite("NamespaceLink.parse")
struct NamespaceLinkTests {
    @Test("every captured ns link parses to its type and inode", arguments: Captured.nsFiles)
    func capturedLinks(file: String) throws {
        let text = try Captured.line(file)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 10)
        for line in lines {
            let parts = line.split(separator: " -> ")
            try #require(parts.count == 2)
            let link = try #require(parseNamespace(String(parts[1])), "\(line)")
            // pid_for_children is a pid namespace, time_for_children a time namespace.
            #expect(parts[0].hasPrefix(link.type))
            #expect("\(link.type):[\(link.inode)]" == parts[1])
            #expect(link.inode > 4_026_531_000)
        }
    }

    @Test("a container shares the host's cgroup and user namespaces and has its own pid namespace")
    func containerVersusHost() throws {
        func links(_ file: String) throws -> [String: NamespaceLink] {
            var result: [String: NamespaceLink] = [:]
            for line in try Captured.line(file).split(separator: "\n") {
                let parts = line.split(separator: " -> ")
                result[String(parts[0])] = parseNamespace(String(parts[1]))
            }
            return result
        }
        let container = try links("docker-sh.ns.txt")
        let host = try links("host-sleep.ns.txt")
        #expect(container["cgroup"] == host["cgroup"])
        #expect(container["user"] == host["user"])
        for type in ["ipc", "mnt", "net", "pid", "uts"] {
            #expect(container[type] != nil && container[type] != host[type], "\(type)")
        }
        #expect(container["pid"] == container["pid_for_children"])
    }

    @Test("a synthetic link parses")
    func synthetic() {
        #expect(parseNamespace("pid:[4026531836]") == NamespaceLink(type: "pid", inode: 4_026_531_836))
        #expect(parseNamespace("net:[0]") == NamespaceLink(type: "net", inode: 0))
    }

    @Test(
        "malformed targets are nil",
        arguments: [
            "", "pid", "pid:", "pid:[", "pid:[]", "pid:[12", "pid:12]", "pid:(12)", "pid:[1a]", "pid:[-1]",
            "pid:[99999999999999999999]", "/proc/1/ns/pid", "pid:[12] ",
        ])
    func malformed(target: String) {
        #expect(parseNamespace(target) == nil)
    }

    @Test("the parser reads only the slice it is given")
    func staysWithinSlice() {
        for target in ["pid:[4026531836]", "pid:[", "pid:[]", "x:[1]"] {
            let bytes = Array(target.utf8)
            #expect(withEmbedded(bytes) { NamespaceLink.parse($0) } == parseNamespace(bytes), "\(target)")
        }
    }
}
