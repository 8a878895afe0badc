import CLibseccomp
import CVigilShims
import Glibc

/// libseccomp, which Vigil uses to confine itself.
public enum SeccompLibrary {
    /// The linked library's version, such as `2.5.4`.
    public static var version: String {
        guard let v = seccomp_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.micro)"
    }

    /// The native system call number of `name` on this architecture, or nil when unknown.
    /// The corresponding C function is `seccomp_syscall_resolve_name`.
    public static func syscallNumber(_ name: String) -> Int32? {
        let number = seccomp_syscall_resolve_name(name)
        return number == __NR_SCMP_ERROR ? nil : number
    }
}

/// A seccomp filter being built, owned by exactly one value and released with it.
public struct SeccompFilter: ~Copyable {
    private let context: scmp_filter_ctx

    /// A filter whose default action allows every system call not otherwise ruled.
    public init?(allowingByDefault: Bool) {
        let action: UInt32 = allowingByDefault ? SCMP_ACT_ALLOW : SCMP_ACT_KILL_PROCESS
        guard let context = seccomp_init(action) else { return nil }
        self.context = context
    }

    deinit {
        seccomp_release(context)
    }

    /// Makes `syscall` fail with `errno` instead of running. The corresponding C function is
    /// `seccomp_rule_add`.
    public mutating func deny(_ syscall: String, errno: Int32) throws(Errno) {
        guard let number = SeccompLibrary.syscallNumber(syscall) else { throw .invalidArgument }
        let result = seccomp_rule_add_array(context, 0x0005_0000 | (UInt32(errno) & 0xFFFF), number, 0, nil)
        if result != 0 { throw Errno(rawValue: -result) }
    }

    /// Makes `load()` apply the filter to every thread of the process, not just the calling one.
    /// The corresponding C function is `seccomp_attr_set` with `SCMP_FLTATR_CTL_TSYNC`.
    public mutating func synchronizeThreads() throws(Errno) {
        let result = seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1)
        if result != 0 { throw Errno(rawValue: -result) }
    }

    /// Loads the filter into the kernel for the calling thread (and, with TSYNC, all threads).
    /// The corresponding C function is `seccomp_load`.
    public func load() throws(Errno) {
        let result = seccomp_load(context)
        if result != 0 { throw Errno(rawValue: -result) }
    }

    /// The filter in libseccomp's readable pseudo-filter-code form, for logs and review.
    /// The corresponding C function is `seccomp_export_pfc`.
    public func exportText() throws(Errno) -> String {
        let fd = vigil_memfd_create("vigil-seccomp")
        if fd < 0 { throw Errno.current }
        let file = FileDescriptor(adopting: fd)
        let result = seccomp_export_pfc(context, file.rawValue)
        if result != 0 { throw Errno(rawValue: -result) }
        var buffer = ReadBuffer(capacity: 8192)
        _ = lseek(file.rawValue, 0, SEEK_SET)
        switch file.readAll(into: &buffer) {
        case .success: return Bytes.string(buffer.bytes[...])
        case .failure(let errno): throw errno
        }
    }
}
