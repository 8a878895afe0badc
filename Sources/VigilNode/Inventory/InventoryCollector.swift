public import VigilKernel

/// A failure that stops the inventory: the node's /proc or cgroup tree cannot be opened.
public struct InventoryError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// The paths given do not describe a node (exit status 2), rather than a failure to read one.
    public var isBadInput = false

    public init(description: String, isBadInput: Bool = false) {
        self.description = description
        self.isBadInput = isBadInput
    }
}

/// Builds the node inventory: walks the cgroup tree for containers, reads each container's processes
/// once from /proc, and adds PID counters and runtime metadata.
public enum InventoryCollector {
    /// Collects the inventory of the node seen through `paths`.
    /// - Parameters:
    ///   - includeHost: also report host processes, grouped by cgroup (`vigil ps --all`).
    ///   - recorder: receives a copy of every file read (`vigil record`).
    ///   - parallelReads: read /proc on several threads when there are many processes (off when recording).
    ///   - commandLine: when given, command lines are read through it (the agent bounds how long one
    ///     may block) instead of with the other files.
    public static func collect(
        paths: NodePaths, includeHost: Bool = false, recorder: (any FileRecorder)? = nil, parallelReads: Bool = true,
        commandLine: ((Int32) -> (arguments: [String], truncated: Bool)?)? = nil,
        only: Set<String>? = nil
    ) throws(InventoryError) -> Inventory {
        let layout: CgroupLayout
        do {
            layout = try CgroupLayout(cgroupRoot: paths.cgroupRoot, recorder: recorder)
        } catch {
            throw InventoryError(description: "cannot read the cgroup tree: \(error) (set --cgroup-root?)")
        }
        if layout.walked.isEmpty {
            throw InventoryError(
                description:
                    "\(paths.cgroupRoot) is not a cgroup tree: it has no cgroup.controllers (cgroup v2), no unified/ and no pids/ or systemd/ hierarchy (set --cgroup-root?)",
                isBadInput: true)
        }
        var proc: ProcReader
        do {
            proc = try ProcReader(root: paths.procRoot)
        } catch {
            throw InventoryError(description: "cannot read processes: \(error) (set --proc-root?)")
        }
        proc.recorder = recorder

        // Containers and the pids of their whole subtree, from every walked hierarchy.
        var matches: [String: ContainerMatch] = [:]
        var containerPids: [String: [Int32]] = [:]
        for hierarchy in layout.walked {
            for path in hierarchy.walk() {
                guard let match = ContainerMatcher.match(path) else { continue }
                if matches[match.cgroup] == nil { matches[match.cgroup] = match }
                containerPids[match.cgroup, default: []].append(contentsOf: hierarchy.processes(path))
            }
        }

        // Read every container process once; in parallel when there are many (the reads are independent
        // and the kernel serves them from both cores), in order when recording.
        // `only`: the containers (by cgroup) to report, when the caller needs just those.
        let orderedMatches = matches.sorted(by: { $0.key < $1.key }).filter { only?.contains($0.key) ?? true }
        let work: [[Int32]] = orderedMatches.map { cgroup, _ in Self.uniqueSorted(containerPids[cgroup] ?? []) }
        var records = ProcessBatchReader.read(
            work, procRoot: paths.procRoot, reader: &proc, parallel: parallelReads && recorder == nil,
            fields: commandLine == nil ? [.cmdline, .exe] : [.exe])
        if let commandLine {
            for group in records.indices {
                for index in records[group].indices {
                    if let (arguments, truncated) = commandLine(records[group][index].pid) {
                        records[group][index].cmdline = arguments
                        records[group][index].cmdlineTruncated = truncated
                    }
                }
            }
        }

        let files = HostFiles(root: paths.hostRoot, recorder: recorder)
        let metadataReader = MetadataReader(files: files)
        var containers: [Container] = []
        var seenPids = Set<Int32>()
        for (index, (cgroup, match)) in orderedMatches.enumerated() {
            let processes = records[index]
            // A cgroup with no live process is a leftover of a container that stopped.
            guard !processes.isEmpty else { continue }
            for process in processes { seenPids.insert(process.pid) }

            let metadata = metadataReader.metadata(for: match)
            var counters: PidCounters
            if let index = layout.pidsIndex, let read = layout.walked[index].pidCounters(cgroup) {
                counters = read
            } else {
                // No pids controller here: count tasks as pids.current would, with no limit known.
                counters = PidCounters(current: UInt64(processes.reduce(0) { $0 + Int($1.status.threads) }))
            }
            let runtime = metadata.runtime ?? match.runtime
            containers.append(
                Container(
                    id: match.id, runtime: runtime, name: metadata.name, image: metadata.image, cgroup: cgroup,
                    kubernetes: metadata.kubernetes, isSandbox: metadata.isSandbox, labels: metadata.labels,
                    workload: WorkloadKey.forContainer(runtime: runtime, id: match.id, metadata: metadata),
                    pids: counters, processes: processes))
        }
        containers.sort { ($0.name ?? $0.id, $0.id) < ($1.name ?? $1.id, $1.id) }

        var hostGroups: [HostGroup]?
        if includeHost {
            var byCgroup: [String: [ProcessRecord]] = [:]
            for pid in proc.listPids() where !seenPids.contains(pid) {
                guard let memberships = proc.readCgroups(pid: pid), let process = proc.read(pid: pid) else { continue }
                let cgroup = CgroupMembership.primaryPath(memberships) ?? "/"
                // A process that entered a container between the walk and now belongs to no host group.
                if ContainerMatcher.match(cgroup) != nil { continue }
                byCgroup[cgroup, default: []].append(process)
            }
            hostGroups = byCgroup.sorted(by: { $0.key < $1.key }).map { cgroup, processes in
                let leaf = cgroup.split(separator: "/").last.map(String.init)
                let unit = leaf.flatMap { name in
                    [".service", ".scope", ".slice", ".socket", ".mount"].contains(where: name.hasSuffix) ? name : nil
                }
                let workload = unit.map(WorkloadKey.forUnit) ?? WorkloadKey(rawValue: "host:\(cgroup)")
                return HostGroup(cgroup: cgroup, unit: unit, workload: workload, processes: processes)
            }
        }

        let lastCapability = proc.readValue("sys/kernel/cap_last_cap").flatMap { Int($0) } ?? 40
        return Inventory(
            hostname: hostname(paths, files: files), time: Timestamp.now(), cgroupMode: layout.mode,
            lastCapability: lastCapability, containers: containers, hostGroups: hostGroups,
            warnings: metadataReader.warnings)
    }

    static func uniqueSorted(_ pids: [Int32]) -> [Int32] {
        var unique: [Int32] = []
        unique.reserveCapacity(pids.count)
        for pid in pids.sorted() where unique.last != pid { unique.append(pid) }
        return unique
    }

    /// The live node's host name, or for another root (a fixture, a mounted host) its `etc/hostname`.
    static func hostname(_ paths: NodePaths, files: HostFiles) -> String {
        if !paths.isLiveRoot, let bytes = files.read("etc/hostname") {
            let name = bytes.withParserInput { Bytes.string(Bytes.trimmed($0)) }
            if !name.isEmpty { return name }
        }
        return systemHostname()
    }
}
