/// The container runtime that made a container, as the inventory names it.
public enum Runtime: String, Sendable, Equatable, Hashable, CaseIterable {
    case docker
    case containerd
    case crio = "cri-o"
    case podman
    case lxc
    case systemdNspawn = "systemd-nspawn"
}
