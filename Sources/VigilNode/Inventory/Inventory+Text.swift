import VigilKernel

extension Inventory {
    /// The text form of `vigil ps`: one block per container with its process tree.
    public func text(width: Int = 160) -> String {
        var out = ""
        let count = containers.count
        out += "\(hostname): \(count) container\(count == 1 ? "" : "s"), cgroup \(cgroupMode.rawValue)\n"
        for container in containers {
            out += "\n"
            out += container.header()
            out += processTable(container.processes, runtime: container.runtime, width: width)
        }
        if let hostGroups {
            for group in hostGroups {
                out += "\nhost \(group.unit ?? group.cgroup)  cgroup \(group.cgroup)  workload \(group.workload)\n"
                out += processTable(group.processes, runtime: nil, width: width)
            }
        }
        for warning in warnings {
            out += "\nwarning: \(warning)"
        }
        if !warnings.isEmpty { out += "\n" }
        return out
    }

    func processTable(_ processes: [ProcessRecord], runtime: Runtime?, width: Int) -> String {
        var rows: [[String]] = [["PID", "PPID", "USER", "CAPS", "NNP", "SECCOMP", "COMMAND"]]
        for (process, depth, isLast, ancestorsLast) in ProcessTree.ordered(processes) {
            var prefix = ""
            for last in ancestorsLast { prefix += last ? "   " : "│  " }
            if depth > 0 { prefix += isLast ? "└─ " : "├─ " }
            let user =
                process.status.uid.effective == process.status.uid.real
                ? "\(process.status.uid.real)" : "\(process.status.uid.real)→\(process.status.uid.effective)"
            rows.append([
                "\(process.pid)", "\(process.ppid)", user,
                CapabilitySummary.describe(
                    process.status.capabilities.effective, runtime: runtime, lastCapability: lastCapability),
                process.status.noNewPrivs ? "yes" : "no",
                process.status.seccomp.rawValue,
                prefix + Self.commandText(process),
            ])
        }
        return TextTable.render(rows, indent: "  ", width: width)
    }

    /// The command line as a shell would show it, and the executable when its name differs from argv[0]'s.
    static func commandText(_ process: ProcessRecord) -> String {
        var text: String
        if process.cmdline.isEmpty {
            text = "[\(process.comm)]"
        } else {
            text = process.cmdline.map(quoted).joined(separator: " ")
            if process.cmdlineTruncated { text += " …" }
        }
        if let exe = process.exe {
            let exeName = exe.path.split(separator: "/").last.map(String.init) ?? exe.path
            let argv0Name = process.cmdline.first?.split(separator: "/").last.map(String.init) ?? ""
            if exeName != argv0Name || exe.deleted { text += "  [\(exe.display)]" }
        }
        return text
    }

    static func quoted(_ argument: String) -> String {
        let plain = !argument.isEmpty && argument.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value < 0x7F && !"\"'\\$`&|;<>(){}*?!#~".unicodeScalars.contains(scalar)
        }
        if plain { return argument }
        var escaped = ""
        for scalar in argument.unicodeScalars {
            switch scalar {
            case "\"", "\\", "$", "`": escaped += "\\" + String(scalar)
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    escaped += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        return "\"" + escaped + "\""
    }
}

extension Container {
    func header() -> String {
        var line = "\(runtime.rawValue)  \(shortID)  \(name ?? "-")"
        if let image { line += "  (\(image))" }
        line += "  pids \(pids.current.map(String.init) ?? "?")/\(pids.max.map(String.init) ?? "unlimited")"
        if let refused = pids.eventsMax, refused > 0 { line += " (\(refused) forks refused)" }
        line += "\n"
        if let kubernetes {
            line += "  k8s \(kubernetes.namespace ?? "?")/\(kubernetes.pod ?? "?")/\(kubernetes.container ?? "?")"
            if isSandbox { line += " (sandbox)" }
            line += "\n"
        }
        line += "  workload \(workload)  cgroup \(cgroup)\n"
        return line
    }
}

/// Orders processes as a tree by ppid: roots (parent outside the set) first, children under parents.
enum ProcessTree {
    static func ordered(
        _ processes: [ProcessRecord]
    ) -> [(ProcessRecord, depth: Int, isLast: Bool, ancestorsLast: [Bool])] {
        let pids = Set(processes.map(\.pid))
        var children: [Int32: [ProcessRecord]] = [:]
        var roots: [ProcessRecord] = []
        for process in processes {
            if process.ppid != process.pid, pids.contains(process.ppid) {
                children[process.ppid, default: []].append(process)
            } else {
                roots.append(process)
            }
        }
        var result: [(ProcessRecord, depth: Int, isLast: Bool, ancestorsLast: [Bool])] = []
        var visited = Set<Int32>()
        func visit(_ process: ProcessRecord, depth: Int, isLast: Bool, ancestorsLast: [Bool]) {
            guard visited.insert(process.pid).inserted else { return }
            result.append((process, depth, isLast, ancestorsLast))
            let kids = (children[process.pid] ?? []).sorted { $0.pid < $1.pid }
            let nextAncestors = depth == 0 ? [] : ancestorsLast + [isLast]
            for (index, child) in kids.enumerated() {
                visit(child, depth: depth + 1, isLast: index == kids.count - 1, ancestorsLast: nextAncestors)
            }
        }
        for root in roots.sorted(by: { $0.pid < $1.pid }) {
            visit(root, depth: 0, isLast: true, ancestorsLast: [])
        }
        // A cycle in ppids (impossible on a live node, possible in a hand-made fixture) leaves some unvisited.
        for process in processes where !visited.contains(process.pid) {
            visit(process, depth: 0, isLast: true, ancestorsLast: [])
        }
        return result
    }
}
