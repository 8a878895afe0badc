import ArgumentParser
import Glibc
import VigilBaseline
import VigilKernel
import VigilNode

/// `--baseline-dir`, taken by `watch`, `learn` and every `baseline` subcommand.
struct BaselineDirectoryOption: ParsableArguments {
    @Option(help: ArgumentHelp("Where baselines are kept, one file per workload (default \(BaselineStore.defaultDirectory)).", valueName: "DIR"))
    var baselineDir: String?

    var store: BaselineStore { BaselineStore(directory: baselineDir ?? BaselineStore.defaultDirectory) }
}

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Review and change the learned baselines: what each workload normally runs.",
        discussion: """
            A baseline holds, per workload, every process kind it runs (executable and name, so busybox \
            applets differ, with the kind of its parent), the users each runs as, their effective \
            capabilities, and the most PIDs and forks per second a container of it reached. `vigil watch` \
            learns new workloads for --learn-for, then locks their baselines and raises unexpected_process \
            for anything else. Files are plain text (see Baselines/README.md); edits made here while the \
            agent runs take effect at once.

            WORKLOAD is a workload key as `vigil baseline list` shows it (image:nginx:1.27, \
            k8s:shop/web/app); where a file is accepted, a path to a .baseline file works too.
            """,
        subcommands: [List.self, Show.self, Diff.self, Lock.self, Unlock.self, Allow.self, Forget.self, Merge.self]
    )
}

/// Finds a baseline by workload key or file path.
private func resolve(_ argument: String, in store: BaselineStore) throws(BaselineStoreError) -> (baseline: Baseline, path: String)? {
    if argument.contains("/") || argument.hasSuffix(BaselineStore.fileExtension), FileSystem.exists(argument) {
        return (try BaselineStore.load(file: argument), argument)
    }
    let workload = WorkloadKey(rawValue: argument)
    guard let baseline = try store.load(workload) else { return nil }
    return (baseline, store.path(for: workload))
}

extension ParsableCommand {
    func fail(_ error: BaselineStoreError) -> ExitCode {
        error.isBadInput ? badInput(error.description) : fail(error.description)
    }

    func noBaseline(_ argument: String, _ store: BaselineStore) -> ExitCode {
        badInput("no baseline for '\(argument)' in \(store.directory) (see `vigil baseline list`)")
    }
}

private func age(_ time: Timestamp) -> String {
    let seconds = max(0, Timestamp.now().seconds - time.seconds)
    if seconds < 120 { return "\(seconds)s ago" }
    if seconds < 7200 { return "\(seconds / 60)m ago" }
    if seconds < 172_800 { return "\(seconds / 3600)h ago" }
    return "\(seconds / 86400)d ago"
}

private func table(_ rows: [[String]]) -> String { TextTable.render(rows) }

private func learnedText(_ nanoseconds: UInt64) -> String { DurationParser.format(nanoseconds / 1_000_000_000 * 1_000_000_000) }

extension BaselineCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the baselines: workload, state, process kinds, time learned, last change.")

        @OptionGroup var directory: BaselineDirectoryOption

        func run() throws {
            let baselines: [WorkloadKey: Baseline]
            do { baselines = try directory.store.loadAll() } catch { throw fail(error) }
            if baselines.isEmpty {
                print("No baselines in \(directory.store.directory). `vigil watch` learns them as workloads start; `vigil learn --for 10m` learns only.")
                return
            }
            var rows = [["WORKLOAD", "STATE", "KINDS", "LEARNED", "CHANGED"]]
            for key in baselines.keys.sorted() {
                let baseline = baselines[key]!
                rows.append([key.rawValue, baseline.state.rawValue, String(baseline.processes.count), learnedText(baseline.learned), age(baseline.changed)])
            }
            print(table(rows), terminator: "")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one baseline: every process kind, its parent, users and capabilities.")

        @OptionGroup var directory: BaselineDirectoryOption

        @Argument(help: ArgumentHelp("A workload key, or a .baseline file.", valueName: "WORKLOAD"))
        var workload: String

        @Flag(help: "Print the file itself.")
        var raw = false

        func run() throws {
            let found: (baseline: Baseline, path: String)?
            do { found = try resolve(workload, in: directory.store) } catch { throw fail(error) }
            guard let (baseline, path) = found else { throw noBaseline(workload, directory.store) }
            if raw {
                print(BaselineFile.encode(baseline), terminator: "")
                return
            }
            print("Workload:  \(baseline.workload)")
            print("File:      \(path)")
            print("State:     \(baseline.state.rawValue)\(baseline.lockedAt.map { " since \($0.rfc3339Seconds)" } ?? "")")
            print("Learned:   \(learnedText(baseline.learned)) (created \(baseline.created.rfc3339Seconds), changed \(baseline.changed.rfc3339Seconds))")
            print("Peaks:     \(baseline.pidsHigh) PIDs, \(baseline.forkRateHigh) forks/s in one container")
            if !baseline.nodes.isEmpty { print("Nodes:     \(baseline.nodes.sorted().joined(separator: ", "))") }
            print("")
            var rows = [["PROCESS", "PARENT", "USERS", "CAPABILITIES", "SEEN"]]
            for key in baseline.processes.keys.sorted() {
                let entry = baseline.processes[key]!
                rows.append([
                    key.kind.description, key.parent.description,
                    entry.users.map(BaselineFile.formatUsers) ?? "*",
                    entry.capabilities.map(BaselineFile.formatCapabilities) ?? "*", String(entry.seen),
                ])
            }
            print(table(rows), terminator: "")
        }
    }

    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare two baselines, or one baseline with what the node runs now.",
            discussion: """
                With two arguments (workload keys or files), lines starting with + are only in the second, \
                - only in the first, ~ in both with other users or capabilities. With one, + marks processes \
                running now in the workload's containers that its baseline would not admit, ~ ones running \
                as other users or with more capabilities than learned: what `vigil watch` would alert on.
                """)

        @OptionGroup var directory: BaselineDirectoryOption
        @OptionGroup var node: NodeOptions

        @Argument(help: ArgumentHelp("One or two workload keys or .baseline files.", valueName: "BASELINE"))
        var baselines: [String]

        @Flag(help: "Exit with status 3 when there are differences.")
        var exitCode = false

        func validate() throws {
            guard (1...2).contains(baselines.count) else { throw ValidationError("diff takes one or two baselines, not \(baselines.count)") }
        }

        func run() throws {
            var loaded: [Baseline] = []
            for argument in baselines {
                do {
                    guard let (baseline, _) = try resolve(argument, in: directory.store) else { throw noBaseline(argument, directory.store) }
                    loaded.append(baseline)
                } catch let error as BaselineStoreError {
                    throw fail(error)
                }
            }
            let lines: [String]
            if loaded.count == 2 {
                lines = BaselineDiff.between(loaded[0], loaded[1])
                print("--- \(baselines[0]) (\(loaded[0].workload), \(loaded[0].state.rawValue), \(loaded[0].processes.count) kinds)")
                print("+++ \(baselines[1]) (\(loaded[1].workload), \(loaded[1].state.rawValue), \(loaded[1].processes.count) kinds)")
            } else {
                let inventory: Inventory
                do { inventory = try InventoryCollector.collect(paths: node.paths) } catch { throw fail(error) }
                let containers = inventory.containers.filter { $0.workload == loaded[0].workload }
                let running = BaselineDiff.running(in: containers)
                lines = BaselineDiff.against(loaded[0], running: running)
                print("--- \(baselines[0]) (\(loaded[0].workload), \(loaded[0].state.rawValue), \(loaded[0].processes.count) kinds)")
                print("+++ running now (\(containers.count) container\(containers.count == 1 ? "" : "s") of \(loaded[0].workload), \(running.count) kinds)")
            }
            for line in lines { print(line) }
            if lines.isEmpty { print("(no differences)") }
            if exitCode, !lines.isEmpty { throw ExitCode(3) }
        }
    }

    struct Lock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lock baselines now: from here on anything outside them raises unexpected_process.")

        @OptionGroup var directory: BaselineDirectoryOption

        @Argument(help: ArgumentHelp("Workload keys.", valueName: "WORKLOAD"))
        var workloads: [String] = []

        @Flag(help: "Every baseline still learning.")
        var all = false

        func validate() throws {
            if workloads.isEmpty == !all { throw ValidationError("give workload keys or --all") }
        }

        func run() throws {
            try change(directory.store, workloads: workloads, all: all, command: self) { baseline in
                guard baseline.state != .locked else { return "already locked" }
                baseline.state = .locked
                baseline.lockedAt = .now()
                baseline.changed = baseline.lockedAt!
                return "locked (\(baseline.processes.count) process kinds)"
            }
        }
    }

    struct Unlock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unlock baselines: they learn again for a whole --learn-for, keeping what they hold.")

        @OptionGroup var directory: BaselineDirectoryOption

        @Argument(help: ArgumentHelp("Workload keys.", valueName: "WORKLOAD"))
        var workloads: [String] = []

        @Flag(help: "Every locked baseline.")
        var all = false

        func validate() throws {
            if workloads.isEmpty == !all { throw ValidationError("give workload keys or --all") }
        }

        func run() throws {
            try change(directory.store, workloads: workloads, all: all, command: self) { baseline in
                guard baseline.state != .learning else { return "already learning" }
                baseline.state = .learning
                baseline.lockedAt = nil
                baseline.learned = 0
                baseline.changed = .now()
                return "unlocked: learning again"
            }
        }
    }

    struct Allow: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a process kind to a baseline without relearning it.",
            discussion: """
                PROCESS is a kind as `vigil baseline show` prints it: /usr/bin/curl, or /bin/busybox[wget] \
                for a program that runs under another name. Without --parent it is allowed whatever started \
                it; without --user or --cap, as any user and with any capabilities. Given again, the users \
                and capabilities add up.
                """)

        @OptionGroup var directory: BaselineDirectoryOption

        @Argument(help: ArgumentHelp("The workload key.", valueName: "WORKLOAD"))
        var workload: String

        @Argument(help: ArgumentHelp("The process kind, such as /bin/busybox[cat].", valueName: "PROCESS"))
        var process: String

        @Option(help: ArgumentHelp("Only when started by this: a kind, - (the container's first process) or outside (exec).", valueName: "PARENT"))
        var parent: String?

        @Option(name: .customLong("user"), help: ArgumentHelp("A user id it may run as (repeatable).", valueName: "UID"))
        var users: [UInt32] = []

        @Option(name: .customLong("cap"), help: ArgumentHelp("Capabilities it may hold: names, comma-separated, or - for none.", valueName: "LIST"))
        var capabilities: String?

        func validate() throws {
            guard ProcessKind(parsing: process) != nil else {
                throw ValidationError("'\(process)' is not a process kind such as /usr/bin/curl or /bin/busybox[wget]")
            }
            if let parent, ParentKind(parsing: parent) == nil {
                throw ValidationError("--parent must be a process kind, - or outside, not '\(parent)'")
            }
            if let capabilities, BaselineFile.parseCapabilities(Substring(capabilities)) == nil {
                throw ValidationError("--cap must be capability names such as net_raw,chown, or -, not '\(capabilities)'")
            }
        }

        func run() throws {
            let kind = ProcessKind(parsing: process)!
            let key = ProcessEntryKey(kind: kind, parent: parent.flatMap(ParentKind.init(parsing:)) ?? .any)
            let capabilitySet: CapabilitySet?? = capabilities.flatMap { BaselineFile.parseCapabilities(Substring($0)) }
            let allowed = ProcessEntry(users: users.isEmpty ? nil : Set(users), capabilities: capabilitySet ?? nil, seen: 0)
            try change(directory.store, workloads: [workload], all: false, command: self) { baseline in
                if var entry = baseline.processes[key] {
                    entry.absorb(allowed)
                    baseline.processes[key] = entry
                } else {
                    baseline.processes[key] = allowed
                }
                baseline.changed = .now()
                return "allows \(key)"
            }
        }
    }

    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete baselines: the workloads are learned again from scratch the next time they run.")

        @OptionGroup var directory: BaselineDirectoryOption

        @Argument(help: ArgumentHelp("Workload keys.", valueName: "WORKLOAD"))
        var workloads: [String]

        func run() throws {
            let store = directory.store
            for argument in workloads {
                do {
                    let removed = try store.withLock { () throws(BaselineStoreError) in try store.remove(WorkloadKey(rawValue: argument)) }
                    guard removed else { throw noBaseline(argument, store) }
                    print("\(argument): forgotten")
                } catch let error as BaselineStoreError {
                    throw fail(error)
                }
            }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge one workload's baselines from several nodes into one.",
            discussion: """
                The result holds every process kind of every input, with the union of their users and \
                capabilities and the higher PID and fork-rate peaks; it is locked only if every input is. \
                Written to standard output, to --out FILE, or with --save into --baseline-dir, where a \
                running agent takes it in at once.
                """)

        @OptionGroup var directory: BaselineDirectoryOption

        @Argument(help: ArgumentHelp("Baseline files (or workload keys) to merge.", valueName: "FILE"))
        var files: [String]

        @Option(help: ArgumentHelp("Write the merged baseline to this file (atomically).", valueName: "FILE"))
        var out: String?

        @Flag(help: "Write it into --baseline-dir, replacing the workload's baseline there.")
        var save = false

        func validate() throws {
            if files.count < 1 { throw ValidationError("merge needs at least one baseline file") }
            if out != nil && save { throw ValidationError("give --out or --save, not both") }
        }

        func run() throws {
            var merged: Baseline?
            for argument in files {
                do {
                    guard let (baseline, path) = try resolve(argument, in: directory.store) else { throw noBaseline(argument, directory.store) }
                    if let first = merged, first.workload != baseline.workload {
                        throw badInput("\(path) is the baseline of \(baseline.workload), not of \(first.workload): merge one workload at a time")
                    }
                    if merged == nil { merged = baseline } else { merged!.merge(baseline) }
                } catch let error as BaselineStoreError {
                    throw fail(error)
                }
            }
            guard let merged else { return }
            if save {
                let store = directory.store
                do { _ = try store.withLock { () throws(BaselineStoreError) in try store.save(merged) } } catch { throw fail(error) }
                FileSystem.writeStandardError("vigil: merged \(files.count) baselines of \(merged.workload) into \(store.path(for: merged.workload))\n")
            } else if let out {
                do { try FileSystem.writeAtomically(out, Array(BaselineFile.encode(merged).utf8), mode: 0o644) } catch { throw fail(error.description) }
            } else {
                FileSystem.writeStandardOutput(Array(BaselineFile.encode(merged).utf8))
            }
        }
    }
}

/// A read-modify-write of baselines in the store, under its lock, one line of outcome each.
private func change(
    _ store: BaselineStore, workloads: [String], all: Bool, command: some ParsableCommand, _ edit: (inout Baseline) -> String
) throws {
    do {
        try store.withLock { () throws(BaselineStoreError) in
            let keys: [WorkloadKey] = all ? try store.loadAll().keys.sorted() : workloads.map(WorkloadKey.init(rawValue:))
            for key in keys {
                guard var baseline = try store.load(key) else { throw .file(BaselineFileError(file: store.path(for: key), line: 0, reason: "no baseline for \(key) (see `vigil baseline list`)")) }
                let before = baseline
                let outcome = edit(&baseline)
                if baseline != before { try store.save(baseline) }
                print("\(key): \(outcome)")
            }
        }
    } catch {
        throw command.fail(error)
    }
}

/// Differences between baselines, and between a baseline and what runs.
enum BaselineDiff {
    static func line(_ mark: String, _ key: ProcessEntryKey, _ entry: ProcessEntry) -> String {
        "\(mark) " + BaselineFile.processLine(key, entry, seen: false)
    }

    static func between(_ a: Baseline, _ b: Baseline) -> [String] {
        var lines: [String] = []
        if a.workload != b.workload { lines.append("~ workload \(a.workload) → \(b.workload)") }
        if a.state != b.state { lines.append("~ state \(a.state.rawValue) → \(b.state.rawValue)") }
        if a.pidsHigh != b.pidsHigh { lines.append("~ pids-high \(a.pidsHigh) → \(b.pidsHigh)") }
        if a.forkRateHigh != b.forkRateHigh { lines.append("~ fork-rate-high \(a.forkRateHigh) → \(b.forkRateHigh)") }
        for key in Set(a.processes.keys).union(b.processes.keys).sorted() {
            switch (a.processes[key], b.processes[key]) {
            case (let x?, nil): lines.append(line("-", key, x))
            case (nil, let y?): lines.append(line("+", key, y))
            case (let x?, let y?):
                var changes: [String] = []
                if x.users != y.users { changes.append("users \(users(x.users)) → \(users(y.users))") }
                if x.capabilities != y.capabilities { changes.append("caps \(caps(x.capabilities)) → \(caps(y.capabilities))") }
                if !changes.isEmpty { lines.append("~ process \(key): \(changes.joined(separator: ", "))") }
            default: break
            }
        }
        return lines
    }

    private static func users(_ set: Set<UInt32>?) -> String { set.map(BaselineFile.formatUsers) ?? "*" }
    private static func caps(_ set: CapabilitySet?) -> String { set.map(BaselineFile.formatCapabilities) ?? "*" }

    /// The process kinds running in `containers`, as a baseline would learn them.
    static func running(in containers: [Container]) -> [ProcessEntryKey: ProcessEntry] {
        var result: [ProcessEntryKey: ProcessEntry] = [:]
        for container in containers {
            let tracked = Dictionary(
                container.processes.map { ($0.pid, TrackedProcess(record: $0, container: container.cgroup, startedAt: 0)) },
                uniquingKeysWith: { first, _ in first })
            for process in tracked.values {
                guard let kind = ProcessKind(of: process), let parent = ParentKind.of(process, parent: tracked[process.ppid]) else { continue }
                let sighting = ProcessEntry(users: [process.euid], capabilities: process.capabilities.effective, seen: 1)
                let key = ProcessEntryKey(kind: kind, parent: parent)
                if var entry = result[key] {
                    entry.absorb(sighting)
                    result[key] = entry
                } else {
                    result[key] = sighting
                }
            }
        }
        return result
    }

    /// What `vigil watch` would say of `running` against `baseline`, were it locked.
    static func against(_ baseline: Baseline, running: [ProcessEntryKey: ProcessEntry]) -> [String] {
        var lines: [String] = []
        for key in running.keys.sorted() {
            let now = running[key]!
            guard let (known, entry) = baseline.entry(for: key) else {
                lines.append(line("+", key, now))
                continue
            }
            var changes: [String] = []
            if let learned = entry.users, let users = now.users, !users.isSubset(of: learned) {
                changes.append("users \(Self.users(learned)) → \(Self.users(learned.union(users)))")
            }
            if let learned = entry.capabilities, let caps = now.capabilities, !caps.isSubset(of: learned) {
                changes.append("caps + \(BaselineFile.formatCapabilities(caps.subtracting(learned)))")
            }
            if !changes.isEmpty { lines.append("~ process \(known): \(changes.joined(separator: ", "))") }
        }
        return lines
    }
}
