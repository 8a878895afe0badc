/// What a cgroup path says about the container it belongs to.
public struct ContainerMatch: Equatable, Sendable {
    public var runtime: Runtime
    /// The full id (64 hex for most runtimes; the name for LXC and systemd-nspawn; the containerd id).
    public var id: String
    /// The container's own cgroup: the path up to and including the component that names it.
    public var cgroup: String
    /// The Kubernetes pod uid, when the path runs through a pod cgroup.
    public var podUID: String?
    /// The runtime was inferred from a layout several runtimes share (Kubernetes cgroupfs pods);
    /// metadata on disk may correct it.
    public var runtimeIsGuess: Bool

    public init(runtime: Runtime, id: String, cgroup: String, podUID: String? = nil, runtimeIsGuess: Bool = false) {
        self.runtime = runtime
        self.id = id
        self.cgroup = cgroup
        self.podUID = podUID
        self.runtimeIsGuess = runtimeIsGuess
    }
}

/// Recognises containers from cgroup paths, for every runtime layout Vigil supports.
///
/// The rules, innermost component first (so Docker-in-Docker finds the inner container):
/// - `docker-<64hex>.scope` (Docker, systemd driver); `<64hex>` under `docker` (cgroupfs, DinD)
/// - `cri-containerd-<64hex>.scope`; `...slice:cri-containerd:<64hex>` (containerd without SystemdCgroup)
/// - `crio-<64hex>.scope`, `crio-<64hex>` (CRI-O; `crio-conmon-*` is its monitor, not a container)
/// - `libpod-<64hex>.scope`, `libpod-<64hex>` (Podman, rootful and rootless; `libpod-conmon-*` is not)
/// - `<64hex>` under `pod<uid>` (Kubernetes, cgroupfs driver, any QoS class)
/// - `/default/<id>` (containerd standalone)
/// - `lxc.payload.<name>` (LXC); `machine-<name>.scope` or `systemd-nspawn@<name>.service` under
///   `machine.slice` (systemd-nspawn; its `supervisor` subgroup is the host-side nspawn)
/// Never containers: `.mount` units, pod-level cgroups, `kubepods*` and `*.slice` themselves, libvirt's
/// `machine-qemu\x2d<N>\x2d<name>.scope` virtual machines.
public enum ContainerMatcher {
    /// The innermost container whose cgroup contains `path`, or nil for a host cgroup.
    public static func match(_ path: String) -> ContainerMatch? {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        var index = components.count - 1
        while index >= 0 {
            if let found = matchComponent(components, index) {
                // systemd-nspawn --keep-unit moves itself into `supervisor` beside the guest's `payload`:
                // the host-side nspawn process is not part of the container.
                if found.runtime == .systemdNspawn, index + 1 < components.count,
                    components[index + 1] == "supervisor"
                {
                    return nil
                }
                var match = found
                match.cgroup = "/" + components[0...index].joined(separator: "/")
                if match.podUID == nil { match.podUID = podUID(in: components[0..<index]) }
                return match
            }
            index -= 1
        }
        return nil
    }

    private static func matchComponent(_ components: [Substring], _ index: Int) -> ContainerMatch? {
        let name = components[index]
        let parent = index > 0 ? components[index - 1] : nil
        if name.hasSuffix(".mount") || name.hasSuffix(".slice") && !name.contains(":") { return nil }

        if let id = hexID(name, prefix: "docker-", suffix: ".scope") {
            return ContainerMatch(runtime: .docker, id: id, cgroup: "")
        }
        if let id = hexID(name, prefix: "cri-containerd-", suffix: ".scope") {
            return ContainerMatch(runtime: .containerd, id: id, cgroup: "")
        }
        if let range = name.firstRange(of: ":cri-containerd:"), let id = hexID(name[range.upperBound...], prefix: "", suffix: "") {
            let slice = name[name.startIndex..<range.lowerBound]
            return ContainerMatch(runtime: .containerd, id: id, cgroup: "", podUID: podUID(inSlice: slice))
        }
        if let id = hexID(name, prefix: "crio-", suffix: ".scope") ?? hexID(name, prefix: "crio-", suffix: "") {
            return ContainerMatch(runtime: .crio, id: id, cgroup: "")
        }
        if let id = hexID(name, prefix: "libpod-", suffix: ".scope") ?? hexID(name, prefix: "libpod-", suffix: "") {
            return ContainerMatch(runtime: .podman, id: id, cgroup: "")
        }
        if let id = hexID(name, prefix: "", suffix: "") {
            if parent == "docker" { return ContainerMatch(runtime: .docker, id: id, cgroup: "") }
            if let parent, podUID(cgroupfs: parent) != nil {
                // Kubernetes with the cgroupfs driver: the path does not say which runtime.
                return ContainerMatch(runtime: .containerd, id: id, cgroup: "", runtimeIsGuess: true)
            }
            if index == 1 && parent == "default" {
                return ContainerMatch(runtime: .containerd, id: id, cgroup: "")
            }
            // A 64-hex cgroup elsewhere (Docker's --cgroup-parent): Docker unless metadata says otherwise.
            if let parent, !parent.hasPrefix("pod") {
                return ContainerMatch(runtime: .docker, id: id, cgroup: "", runtimeIsGuess: true)
            }
            return nil
        }
        if index == 1 && parent == "default" && isContainerdID(name) {
            return ContainerMatch(runtime: .containerd, id: String(name), cgroup: "")
        }
        if name.hasPrefix("lxc.payload."), name.count > "lxc.payload.".count {
            return ContainerMatch(runtime: .lxc, id: String(name.dropFirst("lxc.payload.".count)), cgroup: "")
        }
        if parent == "machine.slice", name.hasPrefix("machine-"), name.hasSuffix(".scope") {
            let escaped = name.dropFirst("machine-".count).dropLast(".scope".count)
            guard !escaped.isEmpty, !isLibvirtQEMUMachine(escaped) else { return nil }
            return ContainerMatch(runtime: .systemdNspawn, id: unescapeSystemdName(escaped), cgroup: "")
        }
        // `machinectl start NAME` runs systemd-nspawn@NAME.service with --keep-unit: the service is the
        // machine's cgroup (no machine-NAME.scope is made).
        if parent == "machine.slice", name.hasPrefix("systemd-nspawn@"), name.hasSuffix(".service") {
            let escaped = name.dropFirst("systemd-nspawn@".count).dropLast(".service".count)
            guard !escaped.isEmpty else { return nil }
            return ContainerMatch(runtime: .systemdNspawn, id: unescapeSystemdName(escaped), cgroup: "")
        }
        return nil
    }

    /// libvirt registers its QEMU guests with machined too, as `machine-qemu\x2d<N>\x2d<name>.scope`:
    /// virtual machines, not containers.
    private static func isLibvirtQEMUMachine(_ escaped: Substring) -> Bool {
        let marker = "\\x2d"
        guard escaped.hasPrefix("qemu" + marker) else { return false }
        let rest = escaped.dropFirst(("qemu" + marker).count)
        let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
        return !digits.isEmpty && rest.dropFirst(digits.count).hasPrefix(marker)
    }

    /// The 64-hex id between `prefix` and `suffix`, lowercased; nil when the rest is not exactly that.
    static func hexID(_ name: Substring, prefix: String, suffix: String) -> String? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count == prefix.count + 64 + suffix.count
        else { return nil }
        let id = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard id.utf8.allSatisfy(isHexDigit) else { return nil }
        return id.lowercased()
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
    }

    /// containerd ids: letters, digits, `_`, `-`, `.`, at most 76 characters.
    private static func isContainerdID(_ name: Substring) -> Bool {
        !name.isEmpty && name.count <= 76
            && name.utf8.allSatisfy { isHexDigit($0) || ($0 >= 0x41 && $0 <= 0x7A && $0 != 0x5B && $0 != 0x5C && $0 != 0x5D && $0 != 0x5E && $0 != 0x60) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }
    }

    /// The pod uid named by any ancestor component.
    static func podUID(in components: ArraySlice<Substring>) -> String? {
        for component in components.reversed() {
            if let uid = podUID(cgroupfs: component) ?? podUID(inSlice: component) { return uid }
        }
        return nil
    }

    /// `pod<uid>` (cgroupfs driver).
    static func podUID(cgroupfs component: Substring) -> String? {
        guard component.hasPrefix("pod") else { return nil }
        let uid = component.dropFirst(3)
        return isUUID(uid) ? String(uid).lowercased() : nil
    }

    /// `kubepods-<qos>-pod<uid with _>.slice` or `kubepods-pod<uid_>.slice` (systemd driver).
    static func podUID(inSlice component: Substring) -> String? {
        guard component.hasPrefix("kubepods"), let range = component.ranges(of: "-pod").last else {
            return nil
        }
        var uid = component[range.upperBound...]
        if uid.hasSuffix(".slice") { uid = uid.dropLast(6) }
        let dashed = String(uid.map { $0 == "_" ? "-" : $0 })
        return isUUID(Substring(dashed)) ? dashed.lowercased() : nil
    }

    private static func isUUID(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, byte) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if byte != 0x2D { return false }
            } else if !isHexDigit(byte) {
                return false
            }
        }
        return true
    }

    /// Undoes systemd's unit-name escaping (`\x2d` → `-`).
    static func unescapeSystemdName(_ escaped: Substring) -> String {
        var out: [UInt8] = []
        let bytes = Array(escaped.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x5C, i + 3 < bytes.count, bytes[i + 1] == 0x78,
                let value = UInt8(String(decoding: bytes[(i + 2)...(i + 3)], as: UTF8.self), radix: 16)
            {
                out.append(value)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
