public import Glibc
public import Testing
import VigilKernel

// Live tests run against the real kernel, real cgroups and a real Docker daemon. On a machine that
// lacks one of these they are skipped with the reason shown; under CI (CI=true) they always run, so a
// missing daemon or missing privilege fails loudly instead of silently skipping.

/// What a live test needs, whether this machine has it, and small process helpers built on
/// posix_spawn (no Foundation).
public enum LiveGate {
    // MARK: Environment

    /// True under CI (`CI=true`, as GitHub Actions and most CI systems set it): nothing is skipped there.
    public static let isCI: Bool = {
        guard let value = environment("CI")?.lowercased() else { return false }
        return value == "true" || value == "1"
    }()

    public static let isRoot: Bool = geteuid() == 0

    /// The docker client: `$VIGIL_DOCKER` (set by Scripts/docker-env.sh), else Debian's /usr/bin/docker,
    /// else `docker` on PATH.
    public static let dockerClient: String = {
        if let client = environment("VIGIL_DOCKER"), !client.isEmpty { return client }
        if access("/usr/bin/docker", X_OK) == 0 { return "/usr/bin/docker" }
        return "docker"
    }()

    /// The test image (`$VIGIL_TEST_IMAGE`, built by Scripts/busybox-image.sh).
    public static let testImage: String = environment("VIGIL_TEST_IMAGE").flatMap { $0.isEmpty ? nil : $0 }
        ?? "vigil-busybox:latest"

    /// A Docker daemon answers and the test image is there.
    public static let dockerAvailable: Bool = {
        run([dockerClient, "info", "--format", "{{.ServerVersion}}"], timeoutSeconds: 30).status == 0
            && run([dockerClient, "image", "inspect", "--format", "{{.Id}}", testImage], timeoutSeconds: 30).status == 0
    }()

    /// The cgroup2 hierarchy: `/sys/fs/cgroup/unified` on a hybrid node, `/sys/fs/cgroup` on a pure v2 node.
    public static let unifiedCgroupRoot: String? = {
        for candidate in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        where access(candidate + "/cgroup.controllers", F_OK) == 0 {
            return candidate
        }
        return nil
    }()

    /// Root, with a cgroup2 hierarchy in which this process can make (and remove) a cgroup.
    public static let cgroupWritable: Bool = {
        guard isRoot, let root = unifiedCgroupRoot else { return false }
        let probe = "\(root)/vigil-gate-probe-\(getpid())"
        guard mkdir(probe, 0o755) == 0 else { return false }
        rmdir(probe)
        return true
    }()

    // MARK: Traits

    /// Skips (with the reason) unless Docker and the test image are available; runs anyway under CI.
    public static var needsDocker: ConditionTrait {
        .enabled(
            if: dockerAvailable || isCI,
            "needs a Docker daemon and the image \(testImage) (run Scripts/test, which starts both)")
    }

    /// Skips unless root may make cgroups in the cgroup2 hierarchy; runs anyway under CI.
    public static var needsCgroupWrite: ConditionTrait {
        .enabled(
            if: cgroupWritable || isCI,
            "needs root and a writable cgroup2 hierarchy (/sys/fs/cgroup/unified or /sys/fs/cgroup)")
    }

    /// Skips unless running as root (to read every process's /proc files); runs anyway under CI.
    public static var needsRoot: ConditionTrait {
        .enabled(if: isRoot || isCI, "needs root")
    }

    /// Inside a gated test: fails with a clear message when the requirement is missing (under CI).
    public static func require(_ available: Bool, _ what: String) throws {
        try #require(available, "\(what) is missing (CI=true: live tests run and fail rather than skip)")
    }

    // MARK: Package paths

    /// The package root: the directory holding Package.swift above this source file.
    public static let packageRoot: String? = {
        var path = String(#filePath)
        while let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            path = String(path[..<slash])
            if access(path + "/Package.swift", F_OK) == 0 { return path }
        }
        return nil
    }()

    /// The built `vigil` executable, which `swift build` and `swift test` leave in `.build/debug`.
    public static let vigilBinary: String? = {
        guard let root = packageRoot else { return nil }
        let candidates = [root + "/.build/debug/vigil", root + "/.build/x86_64-unknown-linux-gnu/debug/vigil",
                          root + "/.build/aarch64-unknown-linux-gnu/debug/vigil"]
        return candidates.first { access($0, X_OK) == 0 }
    }()

    /// The vigil binary, or a recorded failure saying how to build it.
    public static func requireVigil() throws -> String {
        try #require(vigilBinary, "no built vigil under \(packageRoot ?? "?")/.build/debug (run swift build)")
    }

    // MARK: Processes

    /// What a finished command left: exit status (128 + N for a signal), standard output and error.
    public struct Output: CustomStringConvertible {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]

        public init(status: Int32, stdout: [UInt8], stderr: [UInt8]) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        public var text: String { String(decoding: stdout, as: UTF8.self) }
        public var errorText: String { String(decoding: stderr, as: UTF8.self) }
        /// The first line of standard output without its newline (a docker id, a version).
        public var line: String { String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "") }

        public var description: String { "exit \(status); stdout: \(text.prefix(2000)); stderr: \(errorText.prefix(2000))" }
    }

    /// Runs `argv` (argv[0] looked up on PATH), standard input from /dev/null, and collects its output.
    /// A command still running after `timeoutSeconds` is killed (it is our own child) and reports 137.
    ///
    /// Output goes to unlinked temporary files opened with O_CLOEXEC, not pipes: a pipe's write end
    /// could leak into a child another test spawns at the same moment and hold our read open.
    public static func run(_ argv: [String], timeoutSeconds: Int = 120) -> Output {
        guard let out = openScratchFile() else { return spawnFailure(argv, errno) }
        defer { close(out) }
        guard let err = openScratchFile() else { return spawnFailure(argv, errno) }
        defer { close(err) }
        let pid: pid_t
        switch spawn(argv, stdout: out, stderr: err) {
        case .success(let started): pid = started
        case .failure(let error): return spawnFailure(argv, error.value)
        }

        let deadline = monotonicSeconds() + Double(timeoutSeconds)
        var status: Int32 = 0
        var killed = false
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 && errno != EINTR { return spawnFailure(argv, errno) }
            if !killed && monotonicSeconds() > deadline {
                kill(pid, SIGKILL)
                killed = true
            }
            pause(milliseconds: 5)
        }
        let signal = status & 0x7F
        var output = Output(
            status: signal == 0 ? (status >> 8) & 0xFF : 128 + signal, stdout: readAll(out), stderr: readAll(err))
        if killed {
            output.stderr.append(contentsOf: Array("\n[killed after \(timeoutSeconds)s]\n".utf8))
        }
        return output
    }

    /// A new, already unlinked file under /tmp, open for reading and writing, close-on-exec.
    public static func openScratchFile() -> Int32? {
        for _ in 0..<100 {
            let path = "/tmp/vigil-test-output-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                unlink(path)
                return fd
            }
            if errno != EEXIST { return nil }
        }
        return nil
    }

    /// Everything written to `fd` so far, from its start.
    private static func readAll(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var offset: off_t = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return result }
            result.append(contentsOf: chunk[0..<n])
            offset += off_t(n)
        }
    }

    public struct SpawnError: Error {
        public var value: Int32
    }

    /// A setup step of a live test failed; the message says which and why.
    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Starts `argv` (argv[0] looked up on PATH) with standard input from /dev/null and standard output
    /// and error to the given descriptors (/dev/null when nil). The caller owns the child: it must
    /// `wait(for:)` it.
    public static func spawn(_ argv: [String], stdout: Int32? = nil, stderr: Int32? = nil) -> Result<pid_t, SpawnError> {
        precondition(!argv.isEmpty)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let stdout {
            posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        if let stderr {
            posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        // The child starts with default signal handling and an empty mask, whatever the test runner set.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArguments.append(nil)
        defer { for argument in cArguments { free(argument) } }
        let cEnvironment = environmentPointers()
        defer { for entry in cEnvironment { free(entry) } }

        var pid: pid_t = 0
        let result = cEnvironment.withUnsafeBufferPointer { environment in
            posix_spawnp(&pid, argv[0], &actions, &attributes, cArguments, environment.baseAddress)
        }
        return result == 0 ? .success(pid) : .failure(SpawnError(value: result))
    }

    /// Waits for our child `pid` to end; its exit status, or 128 + the signal that ended it.
    @discardableResult
    public static func wait(for pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    private static func spawnFailure(_ argv: [String], _ code: Int32) -> Output {
        Output(status: 127, stdout: [], stderr: Array("cannot run \(argv[0]): \(String(cString: strerror(code)))".utf8))
    }

    /// A copy of this process's environment (from /proc/self/environ, so no shared global is touched),
    /// NUL-terminated strings and a final nil.
    private static func environmentPointers() -> [UnsafeMutablePointer<CChar>?] {
        var pointers: [UnsafeMutablePointer<CChar>?] = []
        if let bytes = readFile("/proc/self/environ") {
            for entry in bytes.split(separator: 0) where !entry.isEmpty {
                pointers.append(strdup(String(decoding: entry, as: UTF8.self)))
            }
        }
        pointers.append(nil)
        return pointers
    }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Sleeps for `milliseconds`.
    public static func pause(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass; whether it held.
    public static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = monotonicSeconds() + seconds
        while true {
            if condition() { return true }
            if monotonicSeconds() > deadline { return false }
            pause(milliseconds: 50)
        }
    }

    // MARK: Files (plain system calls, not the code under test)

    /// A whole file's bytes; nil when it cannot be read.
    public static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { return result }
            result.append(contentsOf: chunk[0..<n])
        }
    }

    public static func readText(_ path: String) -> String? {
        readFile(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes `text` to an existing file (a cgroup control file) in one write; the errno on failure.
    public static func writeExisting(_ path: String, _ text: String) -> Int32? {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count ? nil : (n < 0 ? errno : EIO)
    }

    /// The target of a symbolic link, such as `/proc/PID/exe`.
    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buffer, 4096)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The names in a directory (no `.` and `..`); empty when it cannot be opened.
    public static func listDirectory(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A fresh directory under /tmp; remove it with `removeTree`.
    public static func makeTemporaryDirectory(_ label: String) throws -> String {
        var template = Array("/tmp/vigil-\(label).XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return try #require(created.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    }

    /// Removes a directory tree without following symbolic links.
    public static func removeTree(_ path: String) {
        guard path.hasPrefix("/tmp/vigil-") else {
            Issue.record("refusing to remove \(path): not a test directory")
            return
        }
        removeEntry(path)
        if access(path, F_OK) == 0 { Issue.record("could not remove \(path)") }
    }

    private static func removeEntry(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in listDirectory(path) { removeEntry(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Makes `relative` and its missing parents under `base`.
    public static func makeDirectories(_ base: String, _ relative: String) throws {
        var current = base
        for component in relative.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw SetupError("mkdir \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Writes a new file `relative` under `base`, making its parent directories.
    public static func writeFile(_ base: String, _ relative: String, _ text: String) throws {
        if let slash = relative.lastIndex(of: "/") { try makeDirectories(base, String(relative[..<slash])) }
        let path = base + "/" + relative
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SetupError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw SetupError("write \(path): \(String(cString: strerror(errno)))") }
    }

    /// Makes a symbolic link `relative` under `base` pointing to `target`, making its parent directories.
    public static func symlink(_ base: String, _ relative: String, to target: String) throws {
        if let slash = relative.lastIndex(of: "/") { try makeDirectories(base, String(relative[..<slash])) }
        guard Glibc.symlink(target, base + "/" + relative) == 0 else {
            throw SetupError("symlink \(relative): \(String(cString: strerror(errno)))")
        }
    }

    // MARK: /proc, read independently of Vigil

    /// The fields of `/proc/PID/status` Vigil reports, parsed here with plain String operations.
    public struct ProcStatusLines: Equatable {
        public var ppid: Int32
        public var uid: [UInt32]
        public var gid: [UInt32]
        public var capEff: UInt64
        public var capPrm: UInt64
        public var capBnd: UInt64
        public var capInh: UInt64
        public var capAmb: UInt64
        public var noNewPrivs: Bool
        /// 0 disabled, 1 strict, 2 filter.
        public var seccomp: Int
        public var nspid: [Int32]

        /// Vigil's seccomp word for `seccomp`.
        public var seccompName: String { seccomp == 2 ? "filter" : seccomp == 1 ? "strict" : "disabled" }
    }

    public static func procStatus(_ pid: Int32, procRoot: String = "/proc") -> ProcStatusLines? {
        guard let text = readText("\(procRoot)/\(pid)/status") else { return nil }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            values[String(line[..<colon])] = line[line.index(after: colon)...]
                .trimmingCharacters(where: { $0 == " " || $0 == "\t" })
        }
        func ids(_ key: String) -> [UInt32]? {
            guard let value = values[key] else { return nil }
            let parts = value.split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { UInt32($0) }
            return parts.count == 4 ? parts : nil
        }
        func hex(_ key: String) -> UInt64? { values[key].flatMap { UInt64($0, radix: 16) } }
        guard let ppid = values["PPid"].flatMap({ Int32($0) }), let uid = ids("Uid"), let gid = ids("Gid"),
            let eff = hex("CapEff"), let prm = hex("CapPrm"), let bnd = hex("CapBnd"), let inh = hex("CapInh"),
            let amb = hex("CapAmb")
        else { return nil }
        let nspid = (values["NSpid"] ?? "").split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { Int32($0) }
        return ProcStatusLines(
            ppid: ppid, uid: uid, gid: gid, capEff: eff, capPrm: prm, capBnd: bnd, capInh: inh, capAmb: amb,
            noNewPrivs: values["NoNewPrivs"] == "1", seccomp: values["Seccomp"].flatMap { Int($0) } ?? 0,
            nspid: nspid)
    }

    /// The command line of a process, split at NULs.
    public static func cmdline(_ pid: Int32) -> [String]? {
        guard let bytes = readFile("/proc/\(pid)/cmdline") else { return nil }
        var parts = bytes.split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    public static func comm(_ pid: Int32) -> String? {
        readText("/proc/\(pid)/comm").map { String($0.prefix(while: { $0 != "\n" })) }
    }

    /// The pids whose parent is `pid`, found by scanning every /proc/N/status.
    public static func children(of pid: Int32) -> [Int32] {
        var result: [Int32] = []
        for name in listDirectory("/proc") {
            guard let candidate = Int32(name), candidate != pid, let status = procStatus(candidate) else { continue }
            if status.ppid == pid { result.append(candidate) }
        }
        return result.sorted()
    }

    /// The names of the capabilities whose bits are set, ascending by number.
    public static func capabilityNames(_ mask: UInt64) -> [String] {
        (0..<64).filter { mask & (UInt64(1) << UInt64($0)) != 0 }.map { CapabilityNames.name(of: $0) }
    }

    /// The kernel's highest capability number.
    public static let lastCapability: Int = readText("/proc/sys/kernel/cap_last_cap").flatMap {
        Int($0.trimmingCharacters(where: { $0 == "\n" || $0 == " " }))
    } ?? 40
}


extension StringProtocol {
    /// The text without leading and trailing characters matching `predicate`.
    fileprivate func trimmingCharacters(where predicate: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !predicate($0) }), let last = lastIndex(where: { !predicate($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
