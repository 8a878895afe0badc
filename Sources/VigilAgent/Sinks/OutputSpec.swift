import Glibc

/// Where `vigil watch` writes its lines: one `--output SPEC`.
///
/// `stdout`, `file:PATH`, `syslog` (the local socket `/dev/log`), `syslog:unix:PATH`,
/// `syslog:udp://HOST:PORT` and `syslog:tcp://HOST:PORT`, where HOST is an IPv4 address, an IPv6
/// address in brackets (`[::1]`) or `localhost`. Names are not resolved: a sink must never wait on DNS.
public enum OutputSpec: Sendable, Hashable, CustomStringConvertible {
    case standardOutput
    /// JSON lines appended to a file, reopened on SIGHUP for logrotate.
    case file(path: String)
    /// The local syslog daemon's datagram socket (`/dev/log`, or rsyslog's or journald's path).
    case localSyslog(path: String)
    /// A remote syslog receiver speaking RFC 5424 (over TCP with octet-counting framing).
    case remoteSyslog(SyslogTransport, IPAddress, port: UInt16)

    /// The local syslog socket's usual path.
    public static let defaultLocalSyslogPath = "/dev/log"

    /// The spec as written on the command line, and as sinks name themselves in status lines.
    public var description: String {
        switch self {
        case .standardOutput: "stdout"
        case .file(let path): "file:" + path
        case .localSyslog(let path):
            path == Self.defaultLocalSyslogPath ? "syslog" : "syslog:unix:" + path
        case .remoteSyslog(let transport, let address, let port):
            "syslog:\(transport.rawValue)://\(address.uriHost):\(port)"
        }
    }

    /// Parses one `--output` value.
    public static func parse(_ spec: String) throws(OutputSpecError) -> OutputSpec {
        if spec == "stdout" { return .standardOutput }
        if spec == "syslog" { return .localSyslog(path: defaultLocalSyslogPath) }
        if let path = spec.dropPrefix("file:") {
            guard !path.isEmpty else {
                throw OutputSpecError(spec, "file: needs a path, as in file:/var/log/vigil.json")
            }
            guard !path.utf8.contains(0) else { throw OutputSpecError(spec, "the path contains a NUL byte") }
            return .file(path: path)
        }
        if let path = spec.dropPrefix("syslog:unix:") {
            guard !path.isEmpty else {
                throw OutputSpecError(spec, "syslog:unix: needs the socket's path, as in syslog:unix:/dev/log")
            }
            guard !path.utf8.contains(0) else { throw OutputSpecError(spec, "the path contains a NUL byte") }
            // sockaddr_un holds 108 bytes including the terminating NUL.
            guard path.utf8.count <= 107 else {
                throw OutputSpecError(spec, "a unix socket path is at most 107 bytes; this one has \(path.utf8.count)")
            }
            return .localSyslog(path: path)
        }
        for transport in SyslogTransport.allCases {
            guard let rest = spec.dropPrefix("syslog:\(transport.rawValue)://") else { continue }
            let (address, port) = try parseHostAndPort(rest, spec: spec)
            return .remoteSyslog(transport, address, port: port)
        }
        if let rest = spec.dropPrefix("syslog:") {
            let scheme = rest.split(separator: ":", maxSplits: 1).first.map(String.init) ?? rest
            throw OutputSpecError(
                spec,
                "unknown syslog transport \"\(scheme)\"; use syslog:unix:PATH, syslog:udp://HOST:PORT or syslog:tcp://HOST:PORT"
            )
        }
        throw OutputSpecError(spec, "not an output")
    }

    private static func parseHostAndPort(_ text: String, spec: String) throws(OutputSpecError) -> (IPAddress, UInt16) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw OutputSpecError(spec, "an IPv6 address in brackets is missing its \"]\"")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else {
                throw OutputSpecError(spec, "expected :PORT after the address, as in syslog:udp://[::1]:514")
            }
            portText = after.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw OutputSpecError(spec, "expected HOST:PORT, as in syslog:udp://127.0.0.1:514")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw OutputSpecError(spec, "an IPv6 address goes in brackets, as in syslog:udp://[::1]:514")
            }
        }
        guard !host.isEmpty else { throw OutputSpecError(spec, "the host is missing") }
        guard let address = IPAddress(String(host)) else {
            throw OutputSpecError(
                spec,
                "HOST must be an IPv4 address, an IPv6 address in brackets or localhost, not \"\(host)\" (Vigil does not resolve host names)"
            )
        }
        guard !portText.isEmpty, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let port = Int(portText), port >= 1, port <= 65535
        else {
            throw OutputSpecError(spec, "PORT must be a number from 1 to 65535, not \"\(portText)\"")
        }
        return (address, UInt16(port))
    }
}

/// How remote syslog messages travel.
public enum SyslogTransport: String, Sendable, Hashable, CaseIterable {
    /// One RFC 5424 message per datagram (RFC 5426).
    case udp
    /// A stream of RFC 5424 messages with octet-counting framing, `LEN SP MSG` (RFC 6587).
    case tcp
}

/// An IPv4 or IPv6 address, parsed from its literal form (`localhost` means 127.0.0.1).
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    public let bytes: [UInt8]

    public var isIPv6: Bool { bytes.count == 16 }

    /// Parses an address literal (`127.0.0.1`, `::1`) or `localhost`. The corresponding C function is
    /// `inet_pton`; no name is ever resolved.
    public init?(_ text: String) {
        if text == "localhost" {
            bytes = [127, 0, 0, 1]
            return
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// The address in its usual text form (`127.0.0.1`, `::1`). The corresponding C function is `inet_ntop`.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = isIPv6 ? AF_INET6 : AF_INET
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The form a URI uses: IPv6 in brackets.
    public var uriHost: String { isIPv6 ? "[\(description)]" : description }
}

/// A `--output` value that is not one Vigil knows, with what was expected.
public struct OutputSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spec as given.
    public var spec: String
    /// What is wrong with it.
    public var problem: String

    public init(_ spec: String, _ problem: String) {
        self.spec = spec
        self.problem = problem
    }

    public var description: String {
        "--output \(spec): \(problem) (expected stdout, file:PATH, syslog, syslog:unix:PATH, "
            + "syslog:udp://HOST:PORT or syslog:tcp://HOST:PORT)"
    }
}

extension String {
    fileprivate func dropPrefix(_ prefix: String) -> String? {
        // Byte-wise, so a combining character after the prefix cannot merge with its last character.
        guard utf8.starts(with: prefix.utf8) else { return nil }
        return String(decoding: utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }
}
