// swift-tools-version:6.1

import PackageDescription

let package = Package(
    name: "vigil",
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .library(name: "VigilNode", targets: ["VigilNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // C: what Swift cannot import directly (macros, netlink and connector structs).
        .target(name: "CVigilShims"),
        // System libraries: libcap (capability names, dropping privileges), libseccomp (confinement).
        .systemLibrary(
            name: "CLibcap",
            pkgConfig: "libcap",
            providers: [.apt(["libcap-dev"])]
        ),
        .systemLibrary(
            name: "CLibseccomp",
            pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]
        ),

        // One JSON reader and writer, no Foundation.
        .target(name: "VigilJSON"),
        // Kernel-facing code: syscalls, file descriptors, byte parsers for /proc and cgroup files,
        // capabilities and seccomp.
        .target(
            name: "VigilKernel",
            dependencies: ["CVigilShims", "CLibcap", "CLibseccomp"]
        ),
        // Node state: cgroup layouts, containers, runtime metadata, workload keys, the inventory.
        .target(
            name: "VigilNode",
            dependencies: ["VigilKernel", "VigilJSON"]
        ),
        // Baselines: what each workload normally runs, its file format, and the store of those files.
        .target(
            name: "VigilBaseline",
            dependencies: ["VigilNode", "VigilKernel"]
        ),
        // Detectors: pure functions from what happened (and the node state) to alerts; deduplication.
        .target(
            name: "VigilDetect",
            dependencies: ["VigilBaseline", "VigilNode", "VigilKernel"]
        ),
        // The agent: event sources, its loop, configuration, and the lines it writes.
        .target(
            name: "VigilAgent",
            dependencies: ["VigilDetect", "VigilBaseline", "VigilNode", "VigilKernel", "VigilJSON", "CVigilShims"]
        ),
        // The thin command-line front end.
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilAgent",
                "VigilBaseline",
                "VigilNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks: an executable, run by hand or by Scripts/bench; never gates tests on time.
        .executableTarget(
            name: "vigil-bench",
            dependencies: ["VigilBaseline", "VigilDetect", "VigilNode", "VigilKernel", "VigilJSON", "CVigilShims"],
            path: "Benchmarks/vigil-bench"
        ),

        // What the live tests of several targets share: gates (root, Docker, cgroups, CI) and process helpers.
        .target(name: "VigilTestSupport", dependencies: ["VigilKernel"], path: "Tests/VigilTestSupport"),

        .testTarget(name: "VigilJSONTests", dependencies: ["VigilJSON"]),
        .testTarget(name: "VigilKernelTests", dependencies: ["VigilKernel"]),
        .testTarget(name: "VigilBaselineTests", dependencies: ["VigilBaseline", "VigilNode", "VigilKernel"]),
        .testTarget(name: "VigilDetectTests", dependencies: ["VigilDetect", "VigilBaseline", "VigilNode", "VigilKernel"]),
        .testTarget(
            name: "VigilAgentTests", dependencies: ["VigilTestSupport", "VigilAgent", "VigilBaseline", "VigilDetect", "VigilNode", "VigilKernel", "VigilJSON"]),
        .testTarget(
            name: "VigilNodeTests",
            dependencies: ["VigilTestSupport", "VigilNode", "VigilKernel", "VigilJSON"]
        ),
    ]
)

for target in package.targets where [.executable, .test, .regular].contains(target.type) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
