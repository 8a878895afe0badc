import Testing
import VigilNode

/// Every container cgroup layout of DESIGN.md ("Container cgroup layouts"), and the cgroups that look like
/// them but are not containers.
@Suite("Container matcher")
struct ContainerMatcherTests {
    // 64-hex container ids and pod uids as the runtimes and the API server make them.
    static let a = "6bbdc18085bb4443362299306f2bf8111c7b84fceb01de352e5c373bb7ac717f"
    static let b = "d989ce94b9b93c896354e22c631c83bf6f0bd9ab201e117c618bd11df86e41ee"
    static let uid = "7cf92822-3443-485f-a0fc-be60ba24d5f2"
    static let uid_ = "7cf92822_3443_485f_a0fc_be60ba24d5f2"
    static let podmanPod = "0b743708aaa73e503987a14f4081ef399c79db9bbcdb625287eb1b0dd8af73fb"
    /// The systemd driver's pod slices.
    static let burstable = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid_).slice"
    static let besteffort = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uid_).slice"

    /// A cgroup path and the container it names.
    struct Case: Sendable, CustomTestStringConvertible {
        var layout: String
        var path: String
        var expected: ContainerMatch
        var testDescription: String { layout }
    }

    static let containers: [Case] = [
        // Docker
        Case(
            layout: "Docker, systemd driver", path: "/system.slice/docker-\(a).scope",
            expected: ContainerMatch(runtime: .docker, id: a, cgroup: "/system.slice/docker-\(a).scope")),
        Case(
            layout: "Docker, cgroupfs driver", path: "/docker/\(a)",
            expected: ContainerMatch(runtime: .docker, id: a, cgroup: "/docker/\(a)")),
        Case(
            layout: "Docker-in-Docker, the inner container", path: "/docker/\(a)/docker/\(b)",
            expected: ContainerMatch(runtime: .docker, id: b, cgroup: "/docker/\(a)/docker/\(b)")),
        Case(
            layout: "Docker-in-Docker, the outer container's init subgroup (cgroup v2 dind)", path: "/docker/\(a)/init",
            expected: ContainerMatch(runtime: .docker, id: a, cgroup: "/docker/\(a)")),
        Case(
            layout: "Docker-in-Docker under the systemd driver (private cgroup namespace)",
            path: "/system.slice/docker-\(a).scope/docker/\(b)",
            expected: ContainerMatch(runtime: .docker, id: b, cgroup: "/system.slice/docker-\(a).scope/docker/\(b)")),
        Case(
            layout: "Docker with --cgroup-parent: a guess that runtime metadata confirms", path: "/ci/jobs/\(a)",
            expected: ContainerMatch(runtime: .docker, id: a, cgroup: "/ci/jobs/\(a)", runtimeIsGuess: true)),
        // A 64-hex leaf under an unknown parent (here the sandbox's /process_api) is taken as a container:
        // Docker's --cgroup-parent puts containers anywhere, and a monitor that ignored them could be evaded
        // by choosing a parent. It is marked a guess; with no runtime record it shows its id only. (The
        // 32-hex names this machine really has under /process_api are not ids: see the negative cases.)
        Case(
            layout: "a 64-hex cgroup under /process_api", path: "/process_api/\(a)",
            expected: ContainerMatch(runtime: .docker, id: a, cgroup: "/process_api/\(a)", runtimeIsGuess: true)),
        Case(
            layout: "upper-case hex is read as the same id", path: "/docker/\(a.uppercased())",
            expected: ContainerMatch(runtime: .docker, id: a, cgroup: "/docker/\(a.uppercased())")),

        // Kubernetes, cgroupfs driver: the path does not say which runtime made the container.
        Case(
            layout: "Kubernetes cgroupfs, BestEffort", path: "/kubepods/besteffort/pod\(uid)/\(a)",
            expected: ContainerMatch(
                runtime: .containerd, id: a, cgroup: "/kubepods/besteffort/pod\(uid)/\(a)",
                podUID: uid, runtimeIsGuess: true)),
        Case(
            layout: "Kubernetes cgroupfs, Burstable", path: "/kubepods/burstable/pod\(uid)/\(a)",
            expected: ContainerMatch(
                runtime: .containerd, id: a, cgroup: "/kubepods/burstable/pod\(uid)/\(a)",
                podUID: uid, runtimeIsGuess: true)),
        Case(
            layout: "Kubernetes cgroupfs, Guaranteed", path: "/kubepods/pod\(uid)/\(a)",
            expected: ContainerMatch(
                runtime: .containerd, id: a, cgroup: "/kubepods/pod\(uid)/\(a)", podUID: uid,
                runtimeIsGuess: true)),

        // Kubernetes, systemd driver, containerd.
        Case(
            layout: "Kubernetes systemd, Burstable",
            path: "\(burstable)/cri-containerd-\(a).scope",
            expected: ContainerMatch(
                runtime: .containerd, id: a,
                cgroup: "\(burstable)/cri-containerd-\(a).scope",
                podUID: uid)),
        Case(
            layout: "Kubernetes systemd, BestEffort",
            path: "\(besteffort)/cri-containerd-\(a).scope",
            expected: ContainerMatch(
                runtime: .containerd, id: a,
                cgroup: "\(besteffort)/cri-containerd-\(a).scope",
                podUID: uid)),
        Case(
            layout: "Kubernetes systemd, Guaranteed",
            path: "/kubepods.slice/kubepods-pod\(uid_).slice/cri-containerd-\(a).scope",
            expected: ContainerMatch(
                runtime: .containerd, id: a,
                cgroup: "/kubepods.slice/kubepods-pod\(uid_).slice/cri-containerd-\(a).scope",
                podUID: uid)),
        Case(
            layout: "Kubernetes systemd, dockershim",
            path: "/kubepods.slice/kubepods-pod\(uid_).slice/docker-\(a).scope",
            expected: ContainerMatch(
                runtime: .docker, id: a,
                cgroup: "/kubepods.slice/kubepods-pod\(uid_).slice/docker-\(a).scope", podUID: uid)),
        Case(
            layout: "containerd without SystemdCgroup under a systemd-driver kubelet",
            path: "/system.slice/containerd.service/kubepods-besteffort-pod\(uid_).slice:cri-containerd:\(a)",
            expected: ContainerMatch(
                runtime: .containerd, id: a,
                cgroup: "/system.slice/containerd.service/kubepods-besteffort-pod\(uid_).slice:cri-containerd:\(a)",
                podUID: uid)),
        Case(
            layout: "containerd without SystemdCgroup, Guaranteed",
            path: "/system.slice/containerd.service/kubepods-pod\(uid_).slice:cri-containerd:\(a)",
            expected: ContainerMatch(
                runtime: .containerd, id: a,
                cgroup: "/system.slice/containerd.service/kubepods-pod\(uid_).slice:cri-containerd:\(a)", podUID: uid)),

        // CRI-O
        Case(
            layout: "CRI-O, systemd manager",
            path: "\(burstable)/crio-\(a).scope",
            expected: ContainerMatch(
                runtime: .crio, id: a,
                cgroup: "\(burstable)/crio-\(a).scope",
                podUID: uid)),
        Case(
            layout: "CRI-O, cgroupfs manager", path: "/kubepods/burstable/pod\(uid)/crio-\(a)",
            expected: ContainerMatch(
                runtime: .crio, id: a, cgroup: "/kubepods/burstable/pod\(uid)/crio-\(a)",
                podUID: uid)),
        Case(
            layout: "CRI-O with crun's container subgroup",
            path: "/kubepods.slice/kubepods-pod\(uid_).slice/crio-\(a).scope/container",
            expected: ContainerMatch(
                runtime: .crio, id: a, cgroup: "/kubepods.slice/kubepods-pod\(uid_).slice/crio-\(a).scope",
                podUID: uid)),

        // containerd standalone (ctr run): /<namespace>/<id>, namespace default.
        Case(
            layout: "containerd standalone, hex id", path: "/default/\(a)",
            expected: ContainerMatch(runtime: .containerd, id: a, cgroup: "/default/\(a)")),
        Case(
            layout: "containerd standalone, named id", path: "/default/registry-mirror",
            expected: ContainerMatch(runtime: .containerd, id: "registry-mirror", cgroup: "/default/registry-mirror")),

        // Podman
        Case(
            layout: "Podman rootful (crun's container subgroup)", path: "/machine.slice/libpod-\(a).scope/container",
            expected: ContainerMatch(runtime: .podman, id: a, cgroup: "/machine.slice/libpod-\(a).scope")),
        Case(
            layout: "Podman rootful (runc: processes in the scope)", path: "/machine.slice/libpod-\(a).scope",
            expected: ContainerMatch(runtime: .podman, id: a, cgroup: "/machine.slice/libpod-\(a).scope")),
        Case(
            layout: "Podman pod member",
            path: "/machine.slice/machine-libpod_pod_\(podmanPod).slice/libpod-\(a).scope/container",
            expected: ContainerMatch(
                runtime: .podman, id: a,
                cgroup: "/machine.slice/machine-libpod_pod_\(podmanPod).slice/libpod-\(a).scope")),
        Case(
            layout: "Podman rootless",
            path: "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(a).scope/container",
            expected: ContainerMatch(
                runtime: .podman, id: a,
                cgroup: "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(a).scope")),
        Case(
            layout: "Podman, cgroupfs manager", path: "/libpod_parent/libpod-\(a)",
            expected: ContainerMatch(runtime: .podman, id: a, cgroup: "/libpod_parent/libpod-\(a)")),

        // LXC and systemd-nspawn
        Case(
            layout: "LXC", path: "/lxc.payload.web01",
            expected: ContainerMatch(runtime: .lxc, id: "web01", cgroup: "/lxc.payload.web01")),
        Case(
            layout: "LXC, a unit of the guest's own systemd", path: "/lxc.payload.web01/system.slice/nginx.service",
            expected: ContainerMatch(runtime: .lxc, id: "web01", cgroup: "/lxc.payload.web01")),
        Case(
            layout: "systemd-nspawn, escaped name", path: "/machine.slice/machine-build\\x2dbox.scope",
            expected: ContainerMatch(
                runtime: .systemdNspawn, id: "build-box",
                cgroup: "/machine.slice/machine-build\\x2dbox.scope")),
        Case(
            layout: "systemd-nspawn, the guest's payload subgroup",
            path: "/machine.slice/machine-build\\x2dbox.scope/payload/system.slice/ssh.service",
            expected: ContainerMatch(
                runtime: .systemdNspawn, id: "build-box",
                cgroup: "/machine.slice/machine-build\\x2dbox.scope")),
        Case(
            layout: "systemd-nspawn started by machinectl (systemd-nspawn@.service)",
            path: "/machine.slice/systemd-nspawn@fedora40.service/payload/init.scope",
            expected: ContainerMatch(
                runtime: .systemdNspawn, id: "fedora40",
                cgroup: "/machine.slice/systemd-nspawn@fedora40.service")),
    ]

    @Test("A container cgroup is recognised with its runtime, id, own cgroup and pod", arguments: containers)
    func recognisesContainer(_ example: Case) {
        #expect(ContainerMatcher.match(example.path) == example.expected, "\(example.path)")
    }

    /// Cgroups that are not containers, though some look like one.
    static let notContainers: [(String, String)] = [
        ("the root", "/"),
        ("a slice", "/system.slice"),
        ("the Docker daemon's service", "/system.slice/docker.service"),
        ("containerd's service (where its shims live)", "/system.slice/containerd.service"),
        ("PID 1's scope", "/init.scope"),
        ("a login session", "/user.slice/user-1000.slice/session-3.scope"),
        (
            ".mount unit of a container's rootfs",
            "/system.slice/run-containerd-io.containerd.runtime.v2.task-k8s.io-\(a)-rootfs.mount"
        ),
        (".mount unit named by a 64-hex path", "/system.slice/\(a).mount"),
        (".mount unit of an overlay", "/system.slice/var-lib-docker-overlay2-\(a)-merged.mount"),
        ("a FUSE daemon's .mount unit", "/system.slice/mnt-backup.mount"),
        ("kubepods root, cgroupfs", "/kubepods"),
        ("kubepods QoS class, cgroupfs", "/kubepods/burstable"),
        ("pod cgroup, cgroupfs", "/kubepods/besteffort/pod\(uid)"),
        ("Guaranteed pod cgroup, cgroupfs", "/kubepods/pod\(uid)"),
        ("kubepods.slice", "/kubepods.slice"),
        ("QoS slice", "/kubepods.slice/kubepods-besteffort.slice"),
        ("pod slice", "\(burstable)"),
        ("Guaranteed pod slice", "/kubepods.slice/kubepods-pod\(uid_).slice"),
        (
            "CRI-O's conmon, systemd",
            "\(burstable)/crio-conmon-\(a).scope"
        ),
        ("CRI-O's conmon, cgroupfs", "/kubepods/burstable/pod\(uid)/crio-conmon-\(a)"),
        ("Podman's conmon", "/machine.slice/libpod-conmon-\(a).scope"),
        (
            "Podman's conmon, rootless",
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-\(a).scope"
        ),
        (
            "Podman's rootless pause process",
            "/user.slice/user-1000.slice/user@1000.service/user.slice/podman-pause-7c3e1a90.scope"
        ),
        ("a Podman pod's slice", "/machine.slice/machine-libpod_pod_\(podmanPod).slice"),
        ("LXC's monitor", "/lxc.monitor.web01"),
        ("lxc.payload. with no name", "/lxc.payload."),
        ("systemd-nspawn's supervisor (--keep-unit)", "/machine.slice/systemd-nspawn@fedora40.service/supervisor"),
        ("a libvirt QEMU virtual machine", "/machine.slice/machine-qemu\\x2d1\\x2dwin11.scope/libvirt/emulator"),
        ("a 32-hex name (the sandbox's /process_api)", "/process_api/9507c77e9b9532b39a26e4fb2581f1a4"),
        ("63 hex digits", "/docker/\(a.dropLast())"),
        ("65 hex digits", "/docker/\(a)0"),
        ("64 characters, not all hex", "/docker/\(a.dropLast())g"),
        ("a short id in a Docker scope", "/system.slice/docker-\(a.prefix(12)).scope"),
        ("a 64-hex leaf under a pod-like name that is not a pod uid", "/kubepods/besteffort/podnotauid/\(a)"),
        ("machine.slice itself", "/machine.slice"),
    ]

    @Test("Cgroups that are not containers are not matched", arguments: notContainers)
    func ignoresNonContainer(_ reason: String, _ path: String) {
        #expect(
            ContainerMatcher.match(path) == nil,
            "\(reason): \(path) matched \(String(describing: ContainerMatcher.match(path)))")
    }

    @Test("A process deep inside a container's subtree belongs to the innermost container")
    func innermostContainerWins() {
        // Docker in an LXC guest: the Docker container, not the LXC one.
        let path = "/lxc.payload.web01/system.slice/docker-\(Self.a).scope"
        #expect(ContainerMatcher.match(path) == ContainerMatch(runtime: .docker, id: Self.a, cgroup: path))
    }

    @Test("Trailing and doubled slashes do not change the match")
    func slashesAreTolerated() {
        let expected = ContainerMatch(runtime: .docker, id: Self.a, cgroup: "/docker/\(Self.a)")
        #expect(ContainerMatcher.match("/docker/\(Self.a)/") == expected)
        #expect(ContainerMatcher.match("//docker//\(Self.a)") == expected)
    }
}
