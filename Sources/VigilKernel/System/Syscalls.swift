import CVigilShims
import Glibc

// Every system call Vigil makes goes through here: one place retries EINTR and turns -1 into Errno.

@inline(__always)
func valueOrErrno<T: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ body: () -> T) -> Result<T, Errno> {
    while true {
        let result = body()
        if result != -1 { return .success(result) }
        let error = Errno.current
        if retryOnInterrupt && error == .interrupted { continue }
        return .failure(error)
    }
}

@inline(__always)
func system_openat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32) -> Result<Int32, Errno> {
    valueOrErrno { Glibc.openat(directory, path, flags) }
}

@inline(__always)
func system_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Result<Int, Errno> {
    valueOrErrno { Glibc.read(fd, buffer, count) }
}

@inline(__always)
func system_pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int) -> Result<Int, Errno> {
    valueOrErrno { Glibc.pread(fd, buffer, count, off_t(offset)) }
}

@inline(__always)
func system_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Result<Int, Errno> {
    valueOrErrno { Glibc.write(fd, buffer, count) }
}

@inline(__always)
func system_readlinkat(
    _ directory: Int32, _ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int
) -> Result<Int, Errno> {
    valueOrErrno { Glibc.readlinkat(directory, path, buffer, size) }
}

@inline(__always)
func system_getdents64(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Result<Int, Errno> {
    valueOrErrno { vigil_getdents64(fd, buffer, count) }
}

@inline(__always)
func system_close(_ fd: Int32) {
    // close(2) must not be retried on EINTR on Linux: the descriptor is already released.
    _ = Glibc.close(fd)
}

@inline(__always)
func system_faccessat(_ directory: Int32, _ path: UnsafePointer<CChar>) -> Bool {
    Glibc.faccessat(directory, path, F_OK, 0) == 0
}
