import Testing

@testable import VigilKernel

@Suite("MountEntry.parse")
struct MountinfoTests {
    @Test("every line of every captured mountinfo is an entry", arguments: Captured.mountinfoFiles)
    func everyLineParses(file: String) throws {
        let text = String(decoding: try Captured.bytes(file), as: UTF8.self)
        let lines = text.split(separator: "\n")
        let entries = parseMounts(Array(text.utf8))
        #expect(entries.count == lines.count)
        for (line, entry) in zip(lines, entries) {
            let fields = line.split(separator: " ")
            #expect(String(entry.id) == fields[0])
            #expect(String(entry.parentID) == fields[1])
            #expect(entry.device == fields[2])
            #expect(entry.options == fields[5].split(separator: ",").map(String.init))
            let separator = try #require(fields.firstIndex(of: "-"))
            #expect(entry.propagation == fields[6..<separator].map(String.init))
            #expect(entry.filesystemType == fields[separator + 1])
        }
    }

    @Test("the container's root is the overlay, with upperdir and lowerdir super options and master propagation")
    func containerOverlayRoot() throws {
        let entries = parseMounts(try Captured.bytes("docker-sh.mountinfo"))
        let root = try #require(entries.first { $0.mountPoint == "/" })
        #expect(root.id == 72)
        #expect(root.parentID == 48)
        #expect(root.device == "0:39")
        #expect(root.root == "/")
        #expect(root.options == ["rw", "relatime"])
        #expect(!root.isReadOnly)
        #expect(root.propagation == ["master:2"])
        #expect(root.filesystemType == "overlay")
        #expect(root.source == "overlay")
        let upper = try #require(root.superOption("upperdir"))
        #expect(upper.hasPrefix("/var/lib/docker/overlay2/"))
        #expect(upper.hasSuffix("/diff"))
        #expect(!upper.contains(","))
        #expect(root.superOption("workdir") == String(upper.dropLast("/diff".count)) + "/work")
        let lower = try #require(root.superOption("lowerdir"))
        #expect(lower.split(separator: ":").count == 2, "layers are joined with ':'")
        #expect(root.superOption("upper") == nil, "a key must match whole")
        #expect(root.superOption("nosuchkey") == nil)
        #expect(root.superOptions.first == "rw")
    }

    @Test("the host shares the overlay's upperdir: the same directory appears as a shared mount")
    func hostSeesTheOverlay() throws {
        let container = try #require(
            parseMounts(try Captured.bytes("docker-sh.mountinfo")).first { $0.mountPoint == "/" })
        let host = parseMounts(try Captured.bytes("host.mountinfo"))
        let merged = try #require(host.first { $0.superOption("upperdir") == container.superOption("upperdir") })
        #expect(merged.propagation == ["shared:2"])
        #expect(merged.mountPoint.hasSuffix("/merged"))
        let docker = try #require(host.first { $0.mountPoint == "/var/lib/docker" })
        #expect(docker.propagation == ["shared:1"])
        #expect(docker.root == "/var/lib/docker")
        #expect(docker.source == "/dev/vda")
    }

    @Test("the host's hybrid cgroup mounts: v1 hierarchies name their controller, cgroup2 at unified")
    func hybridCgroupMounts() throws {
        let host = parseMounts(try Captured.bytes("host.mountinfo"))
        let unified = try #require(host.first { $0.mountPoint == "/sys/fs/cgroup/unified" })
        #expect(unified.filesystemType == "cgroup2")
        #expect(unified.propagation.isEmpty)
        let pids = try #require(host.first { $0.mountPoint == "/sys/fs/cgroup/pids" })
        #expect(pids.filesystemType == "cgroup")
        #expect(pids.superOptions == ["rw", "pids"])
        let systemd = try #require(host.first { $0.mountPoint == "/sys/fs/cgroup/systemd" })
        #expect(systemd.superOptions.contains("name=systemd"))
        #expect(host.filter { $0.filesystemType == "cgroup" }.count == 9)
    }

    @Test("a --read-only container's root is ro per mount, while the overlay's super options stay rw")
    func readOnlyRoot() throws {
        let root = try #require(
            parseMounts(try Captured.bytes("docker-readonly.mountinfo")).first { $0.mountPoint == "/" })
        #expect(root.options == ["ro", "relatime"])
        #expect(root.isReadOnly)
        #expect(root.superOptions.first == "rw")
        #expect(root.propagation == ["master:3"])
    }

    @Test("the container's cgroup bind mounts have /docker/<id> as their root")
    func cgroupBindMountRoots() throws {
        let id = try Captured.line("docker-sh.id.txt")
        let entries = parseMounts(try Captured.bytes("docker-sh.mountinfo"))
        let cgroups = entries.filter { $0.filesystemType == "cgroup" }
        #expect(cgroups.count == 9)
        #expect(cgroups.allSatisfy { $0.root == "/docker/" + id && $0.isReadOnly })
        #expect(!entries.contains { $0.filesystemType == "cgroup2" }, "Docker 20.10 does not mount cgroup2 here")
    }

    @Test("several optional fields and none are both read")
    func optionalFields() {
        let entries = parseMounts(
            "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:5 propagate_from:2 unbindable"
                + " - ext3 /dev/root rw,errors=continue\n"
                + "37 35 98:0 / /x rw - ext4 /dev/sda rw\n")
        #expect(entries.count == 2)
        #expect(entries[0].propagation == ["master:1", "shared:5", "propagate_from:2", "unbindable"])
        #expect(entries[0].root == "/mnt1")
        #expect(entries[0].mountPoint == "/mnt2")
        #expect(entries[0].source == "/dev/root")
        #expect(entries[0].superOptions == ["rw", "errors=continue"])
        #expect(entries[0].superOption("errors") == "continue")
        #expect(entries[1].propagation == [])
        #expect(entries[1].filesystemType == "ext4")
    }

    @Test("octal escapes in root, mount point, source and super options are undone")
    func octalEscapes() throws {
        let line =
            #"40 27 0:50 /my\040dir /mnt/a\040b\011c\012d\134e rw - fuse.sshfs user@host:/x\040y"#
            + #" rw,path=/p\040q,upperdir=/a\054b"#
        let entry = try #require(parseMounts(line).first)
        #expect(entry.root == "/my dir")
        #expect(entry.mountPoint == "/mnt/a b\tc\nd\\e")
        #expect(entry.source == "user@host:/x y")
        #expect(entry.superOption("path") == "/p q")
        #expect(entry.superOption("upperdir") == "/a,b", "an escaped comma does not split the super options")
        #expect(entry.superOptions.count == 3)
    }

    @Test(
        "backslashes not followed by three octal digits are kept literally",
        arguments: [
            (#"a\"#, #"a\"#), (#"a\04"#, #"a\04"#), (#"\0"#, #"\0"#), (#"\999"#, #"\999"#), (#"\08a"#, #"\08a"#),
            (#"\777"#, #"\777"#), (#"\\040"#, #"\ "#), (#"\040\040"#, "  "), (#"\101BC"#, "ABC"), (#"\303\251"#, "é"),
            ("plain", "plain"), ("", ""),
        ])
    func unescapeEdges(input: String, expected: String) {
        #expect(Array(input.utf8).withParserInput { MountEntry.unescape($0) } == expected)
    }

    @Test("an escaped byte that is invalid UTF-8 becomes U+FFFD")
    func unescapeInvalidUTF8() {
        #expect(Array(#"/x\377y"#.utf8).withParserInput { MountEntry.unescape($0) } == "/x\u{FFFD}y")
    }

    @Test("lines without the '-' separator, with too few fields or non-numeric ids are skipped")
    func malformedLines() {
        let good = "37 35 98:0 / /x rw - ext4 /dev/sda rw"
        #expect(parseMounts(good).count == 1)
        for bad in [
            "", "37 35 98:0 / /x rw ext4 /dev/sda rw", "37 35 98:0 / /x rw - ext4",
            "a 35 98:0 / /x rw - ext4 /dev/sda rw",
            "37 -35 98:0 / /x rw - ext4 /dev/sda rw",
            "37 35 - / /x rw a b - ext4 /dev/sda rw",  // a '-' before the optional fields cannot be the separator
        ] {
            #expect(parseMounts(bad).isEmpty, "\(bad)")
            #expect(parseMounts(bad + "\n" + good).count == 1, "\(bad)")
        }
    }

    @Test("the parser reads only the slice it is given")
    func staysWithinSlice() throws {
        for file in Captured.mountinfoFiles {
            let bytes = try Captured.bytes(file)
            #expect(withEmbedded(bytes) { MountEntry.parse($0) } == parseMounts(bytes), "\(file)")
        }
    }
}
