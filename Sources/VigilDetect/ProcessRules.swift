import VigilKernel
public import VigilNode

/// What a socket on a process's standard streams is.
public enum SocketKind: Sendable, Equatable {
    /// TCP or UDP, with the remote address (`10.0.0.5:4444`).
    case internet(String)
    case unix
    /// Not found (the process or socket is gone): treated as suspicious.
    case unknown
}

/// The rules that look at one process as it starts: shells, reverse shells, privilege gains, volatile
/// and drifted executables, suspicious tools. Pure functions of the event, what is known of the
/// parent, and the configuration, except the two facts only the kernel can tell at that moment (is a
/// socket on stdin an internet one; is the executable in the container's upper layer), which come in
/// through `Facts`.
public enum ProcessRules {
    /// Questions the rules may ask the node. The agent answers them from /proc and the host's
    /// filesystem; tests answer them directly.
    public struct Facts {
        /// What kind of socket the inode is, as `pid` holds it.
        public var socketKind: (_ pid: Int32, _ inode: UInt64) -> SocketKind
        /// True when the executable at `path` (as the container sees it) exists in the container's
        /// writable upper layer: written or changed after the container started.
        public var inUpperLayer: (_ container: ContainerIdentity, _ pid: Int32, _ path: String) -> Bool

        public init(
            socketKind: @escaping (Int32, UInt64) -> SocketKind,
            inUpperLayer: @escaping (ContainerIdentity, Int32, String) -> Bool
        ) {
            self.socketKind = socketKind
            self.inUpperLayer = inUpperLayer
        }
    }

    public static let shells: Set<String> = ["ash", "bash", "csh", "dash", "ksh", "mksh", "sh", "tcsh", "zsh", "fish", "rbash", "pdksh", "yash"]
    static let interpreters: Set<String> = [
        "python", "python2", "python3", "perl", "ruby", "php", "node", "nodejs", "lua", "tclsh", "wish", "awk", "gawk", "mawk", "nawk", "irb", "pwsh",
    ]
    static let packageManagers: Set<String> = [
        "apt", "apt-get", "aptitude", "dpkg", "yum", "dnf", "microdnf", "rpm", "apk", "zypper", "pacman", "snap", "emerge",
    ]
    static let languagePackageManagers: Set<String> = ["pip", "pip3", "gem", "cpan", "cpanm"]
    static let networkTools: Set<String> = [
        "nc", "ncat", "netcat", "nc.traditional", "nc.openbsd", "socat", "nmap", "masscan", "zmap", "tcpdump", "tshark", "dumpcap",
        "hping3", "arpspoof", "ettercap", "telnet", "tcpflow", "ngrep",
    ]
    static let volatileDirectories = ["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/", "/dev/mqueue/"]

    /// The names a process goes by: its comm and the base name of argv[0] (busybox applets differ
    /// only there; the executable is /bin/busybox for all).
    static func names(_ process: TrackedProcess) -> [String] {
        var names = [process.comm]
        if let argv0 = process.cmdline.first {
            let base = String(argv0.split(separator: "/").last ?? Substring(argv0))
            let trimmed = base.hasPrefix("-") ? String(base.dropFirst()) : base  // login shells: "-sh"
            if !names.contains(trimmed) { names.append(trimmed) }
        }
        if let exe = process.exe, !process.unread {
            let base = String(exe.path.split(separator: "/").last ?? "")
            if base != "busybox", !names.contains(base) { names.append(base) }
        }
        // `busybox sh -c …`, `busybox nc …`: the applet is the first argument.
        if names.contains(where: { $0 == "busybox" || $0 == "toybox" }), process.cmdline.count > 1 {
            let applet = process.cmdline[1]
            if !applet.hasPrefix("-"), !names.contains(applet) { names.append(applet) }
        }
        return names
    }

    static func isShell(_ process: TrackedProcess) -> Bool { names(process).contains(where: shells.contains) }

    static func isInterpreter(_ process: TrackedProcess) -> Bool {
        names(process).contains { name in
            interpreters.contains(name) || interpreters.contains(where: { name.hasPrefix($0) && name.dropFirst($0.count).allSatisfy { $0.isNumber || $0 == "." } })
        }
    }

    /// Alerts for a process_exec of a container process.
    public static func inspectExec(
        _ event: ActivityEvent, parent: TrackedProcess?, configuration: DetectionConfiguration, facts: Facts
    ) -> [Alert] {
        guard let process = event.process, let container = event.container, !process.unread else { return [] }
        var alerts: [Alert] = []
        let processNames = names(process)
        func make(
            _ rule: RuleID, _ output: String, priority: Priority? = nil, subject: String = "", fields: [(String, FieldValue)] = []
        ) {
            guard
                configuration.applies(
                    rule, workload: container.workload.rawValue, exe: process.exe?.path, name: processNames.first,
                    parent: event.ancestors.first)
            else { return }
            let chosen = configuration.settings(rule).priority ?? priority ?? rule.defaultPriority
            var alert = Alert(
                rule: rule, priority: chosen, time: event.time, output: output, container: container,
                process: process, ancestors: event.ancestors, parentExe: event.parentExe, fields: fields)
            alert.subject = subject.isEmpty ? (process.exe?.path ?? process.comm) : subject
            alerts.append(alert)
        }
        let place = "in container \(container.name ?? container.shortID) (\(container.shortID), \(container.workload))"
        let command = process.cmdline.isEmpty ? process.comm : process.cmdline.joined(separator: " ")
        let chain = event.ancestors.isEmpty ? "" : ", parents " + event.ancestors.prefix(5).joined(separator: " ← ")
        let isContainerInit = process.namespacePid == 1

        // A shell, interactive (a terminal: docker exec -it) or scripted. The container's own init
        // (its entrypoint) is how it was built to start, not an event.
        let shell = isShell(process)
        let stdinIsTerminal = process.stdio.first.map { $0.hasPrefix("/dev/pts/") || $0.hasPrefix("/dev/tty") } ?? false
        let interactive = process.tty != 0 || stdinIsTerminal
        if shell && !isContainerInit {
            make(
                .shellInContainer,
                "\(interactive ? "Interactive shell" : "Shell") started \(place): \(command) (pid \(process.pid), uid \(process.uid)\(chain))",
                priority: interactive ? .warning : .notice, subject: processNames.first(where: shells.contains) ?? "sh",
                fields: [("vigil.shell.interactive", .bool(interactive))])
        }

        // A shell or interpreter talking to a socket on stdin, stdout or stderr; or a command line that
        // wires one to a program.
        if shell || isInterpreter(process) {
            for (index, target) in process.stdio.enumerated() where target.hasPrefix("socket:[") {
                let inode = UInt64(target.dropFirst(8).dropLast()) ?? 0
                // A Unix socket on a shell's stdio is rare but legitimate (socket activation); an
                // internet one, or one that cannot be told apart (the process is gone), is a reverse shell.
                var remote: String?
                switch facts.socketKind(process.pid, inode) {
                case .unix: continue
                case .internet(let address): remote = address
                case .unknown: remote = nil
                }
                let stream = ["stdin", "stdout", "stderr"][index]
                make(
                    .reverseShell,
                    "Reverse shell \(place): \(command) has its \(stream) on a network socket\(remote.map { " to \($0)" } ?? "") (pid \(process.pid), uid \(process.uid)\(chain))",
                    fields: [("fd.num", .int(Int64(index))), ("fd.name", .string(remote ?? target))])
                break
            }
        }
        if let pattern = reverseShellCommandLine(process) {
            make(
                .reverseShell,
                "Reverse shell command \(place): \(command) (\(pattern); pid \(process.pid), uid \(process.uid)\(chain))",
                fields: [("vigil.pattern", .string(pattern))])
        }

        // Privilege gains at exec: a setuid or setgid program, or capabilities beyond the parent's.
        // The file's bits tell even when the program drops what it gained at once.
        if let file = process.exeFile, process.uid != 0,
            (file.isSetUID && file.owner != process.uid) || (file.isSetGID && file.group != process.gid)
        {
            let kind = file.isSetUID ? "setuid \(file.owner == 0 ? "root" : "uid \(file.owner)")" : "setgid gid \(file.group)"
            make(
                .privilegeEscalation,
                "A \(kind) program was run \(place) by uid \(process.uid): \(command) (pid \(process.pid), effective uid \(process.euid)\(chain))",
                subject: process.exe?.path ?? process.comm,
                fields: [
                    ("vigil.escalation", .string(file.isSetUID ? "setuid" : "setgid")),
                    ("vigil.exe_owner", .int(Int64(file.owner))), ("vigil.exe_group", .int(Int64(file.group))),
                ])
        } else if process.euid != process.uid && process.euid == 0 {
            make(
                .privilegeEscalation,
                "Setuid program run \(place): \(command) runs as root for uid \(process.uid) (pid \(process.pid)\(chain))",
                fields: [("vigil.escalation", .string("setuid"))])
        } else if let parent, process.euid == parent.euid, process.uid != 0, !parent.capabilities.effective.contains(21),
            !process.capabilities.effective.isSubset(of: parent.capabilities.effective)
        {
            let gained = process.capabilities.effective.subtracting(parent.capabilities.effective)
            make(
                .privilegeEscalation,
                "Capabilities gained \(place): \(command) has \(gained.names.joined(separator: " ")) beyond its parent \(parent.comm) (pid \(process.pid), uid \(process.uid)\(chain))",
                fields: [("vigil.escalation", .string("capabilities")), ("vigil.capabilities_gained", .strings(gained.names))])
        }

        // An executable that lives in memory, was deleted, or sits in a world-writable scratch
        // directory; or a script run from one.
        if let exe = process.exe {
            var reason: String?
            if exe.isMemfd {
                reason = "runs from memory (\(exe.path))"
            } else if exe.deleted {
                reason = "was deleted after it started (\(exe.path))"
            } else if let directory = volatileDirectories.first(where: { exe.path.hasPrefix($0) }) {
                reason = "runs from \(directory) (\(exe.path))"
            } else if shell || isInterpreter(process), let script = scriptArgument(process),
                let directory = volatileDirectories.first(where: { script.hasPrefix($0) })
            {
                reason = "runs the script \(script) from \(directory)"
            }
            if let reason {
                make(
                    .execFromVolatilePath, "Executable \(reason) \(place): \(command) (pid \(process.pid), uid \(process.uid)\(chain))",
                    priority: exe.isMemfd ? .critical : nil)
            }
            // Drift: an executable that is not in the image.
            if !exe.isMemfd, !exe.deleted, facts.inUpperLayer(container, process.pid, exe.path) {
                make(
                    .containerDrift,
                    "Executable not in the image \(place): \(exe.path) was added or changed after the container started (pid \(process.pid), uid \(process.uid)\(chain))"
                )
            }
        }

        // Suspicious tools.
        if processNames.contains(where: PostureChecks.sshServers.contains) {
            make(.sshdInContainer, "SSH server started \(place): \(command) (pid \(process.pid)\(chain))")
        }
        let installs = process.cmdline.dropFirst().first == "install"
        if processNames.contains(where: packageManagers.contains)
            || (installs && processNames.contains(where: languagePackageManagers.contains))
        {
            make(.packageManagerInContainer, "Package manager run \(place): \(command) (pid \(process.pid), uid \(process.uid)\(chain))")
        }
        if let tool = processNames.first(where: networkTools.contains) {
            make(
                .networkToolInContainer, "Network tool \(tool) run \(place): \(command) (pid \(process.pid), uid \(process.uid)\(chain))",
                subject: tool)
        }
        return alerts
    }

    /// Alerts for a change of user of a running container process: root from non-root.
    public static func inspectCredentials(_ event: ActivityEvent, configuration: DetectionConfiguration) -> [Alert] {
        guard let process = event.process, let container = event.container, let previous = event.previousEffectiveUID,
            previous != 0, process.euid == 0,
            configuration.applies(
                .privilegeEscalation, workload: container.workload.rawValue, exe: process.exe?.path, name: process.comm,
                parent: event.ancestors.first)
        else { return [] }
        let command = process.cmdline.isEmpty ? process.comm : process.cmdline.joined(separator: " ")
        return [
            Alert(
                rule: .privilegeEscalation,
                priority: configuration.settings(.privilegeEscalation).priority ?? .critical, time: event.time,
                output:
                    "Process became root in container \(container.name ?? container.shortID) (\(container.shortID), \(container.workload)): \(command) (pid \(process.pid)) effective uid \(previous) → 0",
                container: container, process: process, ancestors: event.ancestors, parentExe: event.parentExe,
                fields: [("vigil.escalation", .string("uid")), ("vigil.previous_euid", .int(Int64(previous)))])
        ]
    }

    /// The script a shell or interpreter runs: its first argument that is not an option.
    static func scriptArgument(_ process: TrackedProcess) -> String? {
        var arguments = process.cmdline.dropFirst()
        let names = names(process)
        if names.contains(where: { $0 == "busybox" || $0 == "toybox" }) { arguments = arguments.dropFirst() }
        // `-e` is inline code for perl, ruby and node; for shells it is errexit.
        let dashEIsCode = names.contains { ["perl", "ruby", "node", "nodejs"].contains($0) }
        while let first = arguments.first, first.hasPrefix("-") {
            if first == "-c" || (first == "-e" && dashEIsCode) { return nil }
            arguments = arguments.dropFirst()
            // Options that take a value: `-o errexit`, `+o`.
            if first == "-o" || first == "+o" { arguments = arguments.dropFirst() }
        }
        return arguments.first
    }

    /// Command lines that wire a shell to the network: `nc -e`, `ncat --sh-exec`, `socat exec:`,
    /// `bash -i >& /dev/tcp/...`, scripting one-liners with sockets and a shell.
    static func reverseShellCommandLine(_ process: TrackedProcess) -> String? {
        let names = names(process)
        let arguments = process.cmdline
        let joined = arguments.joined(separator: " ")
        if names.contains(where: { ["nc", "ncat", "netcat", "nc.traditional", "nc.openbsd"].contains($0) }) {
            for (index, argument) in arguments.enumerated() {
                if ["-e", "-c", "--exec", "--sh-exec", "--lua-exec"].contains(argument) {
                    return "\(argument) \(index + 1 < arguments.count ? arguments[index + 1] : "")"
                }
                if argument.hasPrefix("-e") && argument.count > 2 && !argument.hasPrefix("--") { return argument }
            }
        }
        if names.contains("socat"), arguments.contains(where: { $0.lowercased().hasPrefix("exec:") || $0.lowercased().hasPrefix("system:") }) {
            return "socat exec"
        }
        if joined.contains("/dev/tcp/") || joined.contains("/dev/udp/") { return "shell redirection to /dev/tcp" }
        if isInterpreter(process), joined.contains("socket"), joined.contains("pty") || joined.contains("/bin/sh")
            || joined.contains("/bin/bash") || joined.contains("subprocess") || joined.contains("dup2")
        {
            return "socket and shell in a one-liner"
        }
        return nil
    }
}
