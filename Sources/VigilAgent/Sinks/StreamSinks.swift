import Glibc
import VigilKernel

/// Writes all of `bytes` to `fd`, waiting (through `waiter`) whenever the descriptor is full.
///
/// - Parameter chunk: the most written at once. With `pollFirst`, each write waits for POLLOUT first:
///   a blocking pipe that reported POLLOUT has a free page, so a write of at most 4096 bytes cannot
///   block there, and a reader that stopped reading can never stall the sink's thread.
func writeAll(
    _ fd: Int32, _ bytes: [UInt8], waiter: SinkWaiter, chunk: Int = .max, pollFirst: Bool = false
) -> Result<Void, WriteFailure> {
    var offset = 0
    return bytes.withUnsafeBytes { raw -> Result<Void, WriteFailure> in
        while offset < raw.count {
            if pollFirst {
                if waiter.wait(for: fd, events: Int16(POLLOUT)) == .stopping { return .failure(.stopping) }
            }
            let length = min(chunk, raw.count - offset)
            switch SinkCalls.write(fd, UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])) {
            case .success(let written):
                offset += written
            case .failure(let error) where error == .wouldBlock:
                if waiter.wait(for: fd, events: Int16(POLLOUT)) == .stopping { return .failure(.stopping) }
            case .failure(let error):
                if error == .brokenPipe { SinkCalls.discardBrokenPipeSignal() }
                return .failure(.error(error))
            }
        }
        return .success(())
    }
}

enum WriteFailure: Error {
    case error(Errno)
    case stopping
}

/// Standard output: JSON lines or text, per `--format`. It writes through its own duplicate of
/// descriptor 1 and never blocks on a reader that stopped reading.
final class StandardOutputSink: SinkTransport {
    private let descriptor: FileDescriptor
    private let format: LineFormat
    private let isRegularFile: Bool

    convenience init(format: LineFormat) throws(Errno) {
        try self.init(descriptor: SinkCalls.duplicate(1).get(), format: format)
    }

    /// Writes to `descriptor` (a pipe in tests) as if it were standard output.
    init(descriptor: consuming FileDescriptor, format: LineFormat) {
        isRegularFile = SinkCalls.isRegularFile(descriptor.rawValue)
        self.descriptor = descriptor
        self.format = format
    }

    func connect(_ waiter: SinkWaiter) -> ConnectOutcome {
        // A pipe whose reader is gone reports POLLERR.
        let (events, _) = SinkCalls.poll(descriptor.rawValue, events: Int16(POLLOUT), wakeup: -1, timeout: 0)
        if events & Int16(POLLERR | POLLNVAL) != 0 { return .failed("standard output is closed") }
        return .connected(resent: 0)
    }

    func deliver(_ record: OutputRecord, _ waiter: SinkWaiter) -> DeliveryOutcome {
        var line: [UInt8]
        switch format {
        case .json: line = record.json
        case .text: line = Array(record.text.utf8)
        }
        line.append(0x0A)
        switch writeAll(
            descriptor.rawValue, line, waiter: waiter, chunk: isRegularFile ? .max : 4096, pollFirst: !isRegularFile)
        {
        case .success: return .delivered
        case .failure(.stopping): return .stopping
        case .failure(.error(let error)) where error == .brokenPipe:
            return .down("standard output's reader is gone (broken pipe)")
        case .failure(.error(let error)): return .down("write to standard output: \(error)")
        }
    }

    func disconnect() {}
}

/// `file:PATH`: JSON lines appended to a file (O_APPEND, created 0640), reopened on SIGHUP so
/// logrotate can rename it away.
final class FileSink: SinkTransport {
    let path: String
    private var descriptor: FileDescriptor?

    /// - Parameter opened: the file, already opened by the caller to check it can be.
    init(path: String, opened: consuming FileDescriptor?) {
        self.path = path
        self.descriptor = opened
    }

    /// Opens `path` for appending: what `file:PATH` needs before the agent starts.
    static func open(_ path: String) -> Result<FileDescriptor, Errno> {
        SinkCalls.openForAppending(path)
    }

    /// Opening proves little: a full disk still opens. Only a write shows the file takes lines again.
    var connectShowsReachable: Bool { false }

    func connect(_ waiter: SinkWaiter) -> ConnectOutcome {
        if descriptor != nil { return .connected(resent: 0) }
        switch SinkCalls.openForAppending(path) {
        case .success(let opened):
            descriptor = consume opened
            return .connected(resent: 0)
        case .failure(let error):
            return .failed("open \(path): \(error)")
        }
    }

    func deliver(_ record: OutputRecord, _ waiter: SinkWaiter) -> DeliveryOutcome {
        guard let fd = descriptor?.rawValue else { return .down("\(path) is not open") }
        var line = record.json
        line.append(0x0A)
        switch writeAll(fd, line, waiter: waiter) {
        case .success: return .delivered
        case .failure(.stopping): return .stopping
        case .failure(.error(let error)):
            // Reopened on the retry: the disk may have room again, or the directory may be back.
            descriptor = nil
            return .down("write \(path): \(error)")
        }
    }

    func reopen() {
        descriptor = nil
        if case .success(let opened) = SinkCalls.openForAppending(path) { descriptor = consume opened }
    }

    func disconnect() {
        descriptor = nil
    }
}
