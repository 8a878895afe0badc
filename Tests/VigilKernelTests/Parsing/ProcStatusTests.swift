import Testing
import VigilKernel

@Suite("ProcStatus.parse")
struct ProcStatusTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        var file: String
        var effective: UInt64
        var permitted: UInt64
        var bounding: UInt64
        var inheritable: UInt64 = 0
        var ambient: UInt64 = 0
        var uid: UInt32 = 0
        var seccomp: SeccompMode = .filter
        var noNewPrivs = false
        var namespacePidCount = 2

        var testDescription: String { file }
    }

    /// The README's table of the captured status files.
    static let table: [Expected] = [
        Expected(file: "docker-sh.status", effective: 0xa804_25fb, permitted: 0xa804_25fb, bounding: 0xa804_25fb),
        Expected(file: "docker-sleep.status", effective: 0xa804_25fb, permitted: 0xa804_25fb, bounding: 0xa804_25fb),
        Expected(file: "docker-default.status", effective: 0xa804_25fb, permitted: 0xa804_25fb, bounding: 0xa804_25fb),
        Expected(file: "docker-user1000.status", effective: 0, permitted: 0, bounding: 0xa804_25fb, uid: 1000),
        Expected(file: "docker-capdropall.status", effective: 0, permitted: 0, bounding: 0),
        Expected(file: "docker-netadmin.status", effective: 0xa804_35fb, permitted: 0xa804_35fb, bounding: 0xa804_35fb),
        Expected(
            file: "docker-nearpriv.status", effective: 0x3f_feff_ffff, permitted: 0x3f_feff_ffff,
            bounding: 0x3f_feff_ffff, seccomp: .disabled),
        Expected(
            file: "docker-nnp.status", effective: 0xa804_25fb, permitted: 0xa804_25fb, bounding: 0xa804_25fb,
            noNewPrivs: true),
        Expected(
            file: "docker-pidhost.status", effective: 0xa804_25fb, permitted: 0xa804_25fb, bounding: 0xa804_25fb,
            namespacePidCount: 1),
        Expected(
            file: "host-sleep.status", effective: 0x1ff_feff_ffff, permitted: 0x1ff_feff_ffff,
            bounding: 0x1ff_feff_ffff, seccomp: .disabled, namespacePidCount: 1),
        Expected(
            file: "odd-comm.status", effective: 0x1ff_feff_ffff, permitted: 0x1ff_feff_ffff,
            bounding: 0x1ff_feff_ffff, seccomp: .disabled, namespacePidCount: 1),
        Expected(
            file: "deleted-exe.status", effective: 0x1ff_feff_ffff, permitted: 0x1ff_feff_ffff,
            bounding: 0x1ff_feff_ffff, seccomp: .disabled, namespacePidCount: 1),
    ]

    @Test("every capability set, uid, seccomp mode, no_new_privs and NSpid match the captured file", arguments: table)
    func capturedStatus(expected: Expected) throws {
        let status = try #require(parseStatus(try Captured.bytes(expected.file)))
        #expect(status.capabilities.effective.rawValue == expected.effective)
        #expect(status.capabilities.permitted.rawValue == expected.permitted)
        #expect(status.capabilities.bounding.rawValue == expected.bounding)
        #expect(status.capabilities.inheritable.rawValue == expected.inheritable)
        #expect(status.capabilities.ambient.rawValue == expected.ambient)
        #expect(quad(status.uid) == Array(repeating: expected.uid, count: 4))
        #expect(quad(status.gid) == Array(repeating: expected.uid, count: 4))
        #expect(status.seccomp == expected.seccomp)
        #expect(status.noNewPrivs == expected.noNewPrivs)
        #expect(status.namespacePids.count == expected.namespacePidCount)
    }

    @Test(
        "the parsed fields equal the file's own lines, read with plain string operations",
        arguments: Captured.statusFiles)
    func fieldsAgreeWithText(file: String) throws {
        let text = String(decoding: try Captured.bytes(file), as: UTF8.self)
        let status = try #require(parseStatus(Array(text.utf8)))
        for (key, set) in [
            ("CapInh", status.capabilities.inheritable), ("CapPrm", status.capabilities.permitted),
            ("CapEff", status.capabilities.effective), ("CapBnd", status.capabilities.bounding),
            ("CapAmb", status.capabilities.ambient),
        ] {
            let hex = try #require(statusValue(text, key))
            #expect(set.rawValue == UInt64(hex, radix: 16), "\(key)")
        }
        #expect(String(status.tgid) == statusValue(text, "Tgid"))
        #expect(String(status.ppid) == statusValue(text, "PPid"))
        #expect(String(status.threads) == statusValue(text, "Threads"))
        let uids = try #require(statusValue(text, "Uid")).split(separator: "\t").compactMap { UInt32($0) }
        #expect(quad(status.uid) == uids)
        let gids = try #require(statusValue(text, "Gid")).split(separator: "\t").compactMap { UInt32($0) }
        #expect(quad(status.gid) == gids)
        let nspids = try #require(statusValue(text, "NSpid")).split(separator: "\t").compactMap { Int32($0) }
        #expect(status.namespacePids == nspids)
        #expect(status.namespacePids.first == status.tgid, "the outermost NSpid is the host pid")
    }

    @Test("a container's main process is pid 1 in its own PID namespace; --pid=host has one NSpid entry")
    func namespacePids() throws {
        let sh = try #require(parseStatus(try Captured.bytes("docker-sh.status")))
        #expect(sh.namespacePids.count == 2)
        #expect(sh.namespacePids.last == 1)
        #expect(sh.namespacePids.first == sh.tgid)
        let sleep = try #require(parseStatus(try Captured.bytes("docker-sleep.status")))
        #expect(sleep.namespacePids.last == 7)
        let hostPid = try #require(parseStatus(try Captured.bytes("docker-pidhost.status")))
        #expect(hostPid.namespacePids == [hostPid.tgid])
    }

    @Test("Docker's default effective set is CapabilitySet.dockerDefault; NET_ADMIN adds bit 12")
    func dockerCapabilitySets() throws {
        let base = try #require(parseStatus(try Captured.bytes("docker-default.status")))
        #expect(base.capabilities.effective == .dockerDefault)
        let netAdmin = try #require(parseStatus(try Captured.bytes("docker-netadmin.status")))
        #expect(netAdmin.capabilities.effective.subtracting(.dockerDefault).numbers == [12])
        let nearPrivileged = try #require(parseStatus(try Captured.bytes("docker-nearpriv.status")))
        #expect(
            CapabilitySet.all(upTo: 40).subtracting(nearPrivileged.capabilities.effective).numbers == [24, 38, 39, 40])
        let dropAll = try #require(parseStatus(try Captured.bytes("docker-capdropall.status")))
        #expect(dropAll.capabilities == CapabilitySets())
    }

    @Test("the four ids of Uid and Gid keep their order: real, effective, saved, filesystem")
    func idQuadOrder() throws {
        let status = try #require(
            parseStatus("Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nCapEff:\t0000000000000001\n"))
        #expect(quad(status.uid) == [1, 2, 3, 4])
        #expect(quad(status.gid) == [5, 6, 7, 8])
        #expect(status.capabilities.effective.numbers == [0])
    }

    @Test("Seccomp 0, 1 and 2 are disabled, strict and filter")
    func seccompModes() {
        let base = "Uid:\t0\t0\t0\t0\nCapEff:\t0\n"
        #expect(parseStatus(base + "Seccomp:\t0\n")?.seccomp == .disabled)
        #expect(parseStatus(base + "Seccomp:\t1\n")?.seccomp == .strict)
        #expect(parseStatus(base + "Seccomp:\t2\n")?.seccomp == .filter)
        #expect(parseStatus(base)?.seccomp == .disabled, "kernels without seccomp have no line")
        // Seccomp_filters (count of filters) must not be mistaken for the mode.
        #expect(parseStatus(base + "Seccomp_filters:\t2\n")?.seccomp == .disabled)
    }

    @Test("NoNewPrivs 1 is set, 0 and absent are not")
    func noNewPrivs() {
        let base = "Uid:\t0\t0\t0\t0\nCapEff:\t0\n"
        #expect(parseStatus(base + "NoNewPrivs:\t1\n")?.noNewPrivs == true)
        #expect(parseStatus(base + "NoNewPrivs:\t0\n")?.noNewPrivs == false)
        #expect(parseStatus(base)?.noNewPrivs == false)
    }

    @Test("a status without Uid or without CapEff is rejected")
    func requiredLines() throws {
        let text = String(decoding: try Captured.bytes("docker-sh.status"), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let withoutUid = lines.filter { !$0.hasPrefix("Uid:") }.joined(separator: "\n")
        let withoutCapEff = lines.filter { !$0.hasPrefix("CapEff:") }.joined(separator: "\n")
        let withoutGid = lines.filter { !$0.hasPrefix("Gid:") }.joined(separator: "\n")
        #expect(parseStatus(withoutUid) == nil)
        #expect(parseStatus(withoutCapEff) == nil)
        #expect(parseStatus(withoutGid) != nil, "Gid is not required")
        #expect(parseStatus("") == nil)
        #expect(parseStatus("Uid:\t0\t0\t0\nCapEff:\t0\n") == nil, "a Uid line with three ids is malformed")
        #expect(parseStatus("Uid:\t0\t0\t0\t0\nCapEff:\t00000000000000000\n") == nil, "17 hex digits")
        #expect(parseStatus("Uid:\t0\t0\t0\t0\nCapEff:\tzz\n") == nil)
    }

    @Test("unknown lines and lines a newer kernel may add are ignored")
    func unknownLinesIgnored() throws {
        let original = try Captured.bytes("docker-sh.status")
        let extra = Array("Cpus:\tmany\nXyz\nCapFoo:\t1\nUidx:\t9\t9\t9\t9\nNSpidx:\t1\n:\n\n".utf8)
        #expect(parseStatus(extra + original + extra) == parseStatus(original))
    }

    @Test("CRLF line ends and trailing spaces do not change values")
    func blanksAroundValues() {
        let status = parseStatus("Uid:\t7\t7\t7\t7 \r\nCapEff:\t  00000000a80425fb\r\nNoNewPrivs:\t1\r\n")
        #expect(status.map { quad($0.uid) } == [7, 7, 7, 7])
        #expect(status?.capabilities.effective == .dockerDefault)
        #expect(status?.noNewPrivs == true)
    }

    @Test("the parser reads only the slice it is given")
    func staysWithinSlice() throws {
        for file in Captured.statusFiles {
            let bytes = try Captured.bytes(file)
            #expect(withEmbedded(bytes) { ProcStatus.parse($0) } == parseStatus(bytes), "\(file)")
        }
    }
}
