import Testing
import VigilKernel

@Suite("CapabilityNames and CapabilitySet")
struct CapabilityTests {
    @Test("libcap's names for well-known numbers")
    func namesOfNumbers() {
        #expect(CapabilityNames.name(of: 0) == "CAP_CHOWN")
        #expect(CapabilityNames.name(of: 12) == "CAP_NET_ADMIN")
        #expect(CapabilityNames.name(of: 13) == "CAP_NET_RAW")
        #expect(CapabilityNames.name(of: 21) == "CAP_SYS_ADMIN")
        #expect(CapabilityNames.name(of: 24) == "CAP_SYS_RESOURCE")
        #expect(CapabilityNames.name(of: 37) == "CAP_AUDIT_READ")
        #expect(CapabilityNames.name(of: 40) == "CAP_CHECKPOINT_RESTORE")
        #expect(CapabilityNames.shortName(of: 12) == "NET_ADMIN")
    }

    @Test("numbers outside libcap's knowledge or the 0..<64 range read CAP_N")
    func unknownNumbers() {
        #expect(CapabilityNames.name(of: 63) == "CAP_63")
        #expect(CapabilityNames.name(of: 64) == "CAP_64")
        #expect(CapabilityNames.name(of: -1) == "CAP_-1")
        #expect(CapabilityNames.table.count == 64)
    }

    @Test("the table of known capabilities has 41 distinct upper-case CAP_ names")
    func tableShape() {
        let known = CapabilityNames.table.prefix(41)
        #expect(Set(known).count == 41)
        #expect(known.allSatisfy { $0.hasPrefix("CAP_") && $0 == $0.uppercased() })
    }

    @Test(
        "number(of:) accepts CAP_ and bare names in either case",
        arguments: ["net_admin", "CAP_NET_ADMIN", "NET_ADMIN", "cap_net_admin", "Net_Admin"])
    func numberOfName(name: String) {
        #expect(CapabilityNames.number(of: name) == 12)
    }

    @Test("number(of:) is nil for unknown names and name(of:) round-trips for every known number")
    func numberRoundTrip() {
        #expect(CapabilityNames.number(of: "NET_ADMINX") == nil)
        #expect(CapabilityNames.number(of: "") == nil)
        #expect(CapabilityNames.number(of: "CAP_") == nil)
        for number in 0...40 {
            #expect(CapabilityNames.number(of: CapabilityNames.name(of: number)) == number)
            #expect(CapabilityNames.number(of: CapabilityNames.shortName(of: number)) == number)
        }
    }

    @Test("Docker's default set is exactly its 14 documented capabilities")
    func dockerDefaultNames() {
        #expect(
            CapabilitySet.dockerDefault.names == [
                "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
                "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
                "CAP_SETFCAP",
            ])
        #expect(CapabilitySet.dockerDefault.count == 14)
        #expect(!CapabilitySet.dockerDefault.contains(21))
    }

    @Test("CRI-O's default is Docker's without NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE and SETFCAP")
    func crioDefault() {
        #expect(CapabilitySet.crioDefault.isSubset(of: .dockerDefault))
        #expect(
            CapabilitySet.dockerDefault.subtracting(.crioDefault).names == [
                "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
            ])
    }

    @Test("all(upTo:) holds every capability up to and including the last, clamped to 0...63")
    func allUpTo() {
        #expect(CapabilitySet.all(upTo: 40).rawValue == 0x1ff_ffff_ffff)
        #expect(CapabilitySet.all(upTo: 40).count == 41)
        #expect(CapabilitySet.all(upTo: 40).numbers == Array(0...40))
        #expect(CapabilitySet.all(upTo: 0).numbers == [0])
        #expect(CapabilitySet.all(upTo: -1).isEmpty)
        #expect(CapabilitySet.all(upTo: -100).isEmpty)
        #expect(CapabilitySet.all(upTo: 63).rawValue == UInt64.max)
        #expect(CapabilitySet.all(upTo: 1000).rawValue == UInt64.max)
        #expect(CapabilitySet.all(upTo: 62).rawValue == UInt64.max >> 1)
    }

    @Test("the host's captured set is every capability up to 40 but SYS_RESOURCE")
    func hostSet() throws {
        let status = try #require(parseStatus(try Captured.bytes("host-sleep.status")))
        #expect(CapabilitySet.all(upTo: 40).subtracting(status.capabilities.effective).names == ["CAP_SYS_RESOURCE"])
    }

    @Test("set operations: contains, union, subtracting, isSubset, ordering")
    func setOperations() {
        let netAdmin = CapabilitySet(rawValue: 1 << 12)
        let withNetAdmin = CapabilitySet.dockerDefault.union(netAdmin)
        #expect(withNetAdmin.rawValue == 0xa804_35fb)
        #expect(withNetAdmin.contains(12))
        #expect(!CapabilitySet.dockerDefault.contains(12))
        #expect(!withNetAdmin.contains(-1) && !withNetAdmin.contains(64))
        #expect(CapabilitySet.dockerDefault.isSubset(of: withNetAdmin))
        #expect(!withNetAdmin.isSubset(of: .dockerDefault))
        #expect(CapabilitySet.empty.isSubset(of: .empty))
        #expect(withNetAdmin.subtracting(.dockerDefault) == netAdmin)
        #expect(CapabilitySet.empty < .dockerDefault)
        #expect(CapabilitySet(rawValue: 1 << 63).numbers == [63])
    }
}
