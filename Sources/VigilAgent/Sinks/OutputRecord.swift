public import VigilDetect
public import VigilKernel

/// One line Vigil writes, in every form a sink may need: the JSON object, the text line, the sentence,
/// and the RFC 5424 structured data. Encoded once by the agent, then fanned out to the sinks.
public struct OutputRecord: Sendable {
    /// When it happened (the `time` field).
    public var time: Timestamp
    /// The alert's priority (`VigilDetect.Priority`); its syslog severity becomes the message's.
    public var priority: Priority
    /// The rule id or event name (`shell_in_container`, `agent_status`): syslog's MSGID.
    public var name: String
    /// One JSON object, without a newline.
    public var json: [UInt8]
    /// One human line, without a newline.
    public var text: String
    /// The one-sentence `output`.
    public var message: String
    /// RFC 5424 structured-data elements, for example
    /// `("vigil@32473", [("rule", "shell_in_container"), ("container", "web"), ("pid", "123")])`.
    public var structuredData: [(id: String, params: [(String, String)])]
    /// Syslog's APP-NAME and the local syslog tag.
    public var appName: String

    public init(
        time: Timestamp, priority: Priority, name: String, json: [UInt8], text: String, message: String,
        structuredData: [(id: String, params: [(String, String)])] = [], appName: String = "vigil"
    ) {
        self.time = time
        self.priority = priority
        self.name = name
        self.json = json
        self.text = text
        self.message = message
        self.structuredData = structuredData
        self.appName = appName
    }
}

/// The syslog facility Vigil logs under; `authpriv` by default, as security messages usually are.
public enum SyslogFacility: String, Sendable, CaseIterable {
    case kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp
    case local0, local1, local2, local3, local4, local5, local6, local7

    public static let `default` = SyslogFacility.authpriv

    /// The facility named `name` (`authpriv`, `local3`); nil for anything else.
    public init?(name: String) {
        self.init(rawValue: name)
    }

    /// The facility's number (RFC 5424 table 1): kern 0 … authpriv 10, ftp 11, local0 16 … local7 23.
    public var code: Int {
        switch self {
        case .kern: 0
        case .user: 1
        case .mail: 2
        case .daemon: 3
        case .auth: 4
        case .syslog: 5
        case .lpr: 6
        case .news: 7
        case .uucp: 8
        case .cron: 9
        case .authpriv: 10
        case .ftp: 11
        case .local0: 16
        case .local1: 17
        case .local2: 18
        case .local3: 19
        case .local4: 20
        case .local5: 21
        case .local6: 22
        case .local7: 23
        }
    }

    /// The PRI value of a message of `priority` under this facility: facility × 8 + severity.
    public func pri(_ priority: Priority) -> Int {
        code * 8 + priority.syslogSeverity
    }
}
