public import VigilKernel

/// A capability set as a person reads it at a glance: `none`, `all`, `docker default`,
/// `default +NET_ADMIN`, `all -SYS_RESOURCE`, or a short list.
public enum CapabilitySummary {
    /// - Parameters:
    ///   - runtime: whose default set to compare with; nil for host processes.
    ///   - lastCapability: the kernel's `cap_last_cap`.
    public static func describe(_ set: CapabilitySet, runtime: Runtime?, lastCapability: Int) -> String {
        if set.isEmpty { return "none" }
        let all = CapabilitySet.all(upTo: lastCapability)
        if all.isSubset(of: set) { return "all" }
        let missingFromAll = all.subtracting(set)
        if let runtime {
            let reference = runtime == .crio ? CapabilitySet.crioDefault : CapabilitySet.dockerDefault
            if set == reference { return "\(runtime.rawValue) default" }
            let added = set.subtracting(reference)
            let removed = reference.subtracting(set)
            if missingFromAll.count <= 6, set.contains(21) {
                return "all " + missingFromAll.numbers.map { "-" + CapabilityNames.shortName(of: $0) }.joined(separator: " ")
            }
            if added.count + removed.count <= 4 {
                let parts = removed.numbers.map { "-" + CapabilityNames.shortName(of: $0) }
                    + added.numbers.map { "+" + CapabilityNames.shortName(of: $0) }
                return "default " + parts.joined(separator: " ")
            }
        } else if missingFromAll.count <= 4 {
            return "all " + missingFromAll.numbers.map { "-" + CapabilityNames.shortName(of: $0) }.joined(separator: " ")
        }
        return set.numbers.map { CapabilityNames.shortName(of: $0) }.joined(separator: ",")
    }
}
