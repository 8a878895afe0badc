import CVigilShims
import Glibc
import VigilBaseline
import VigilDetect
import VigilKernel
public import VigilNode

/// What the agent is run for.
public enum AgentMode: Sendable, Equatable {
    /// `vigil watch`: follow, learn new workloads, alert, until SIGTERM or SIGINT.
    case watch
    /// `vigil learn`: learn baselines for `duration` (or until SIGTERM/SIGINT), write them, and stop;
    /// with `lock`, lock them at the end. No alerts.
    case learn(duration: UInt64, lock: Bool)
}

/// The node agent: follows every container process until SIGTERM or SIGINT, reloads its configuration
/// on SIGHUP, and writes activity lines.
///
/// One loop thread owns all state (the tracker); the connector's receiver runs on its own thread, and
/// command-line reads on guarded workers, so neither a burst of events nor one stuck process stalls it.
public final class Agent {
    public private(set) var configuration: WatchConfiguration
    private let configurationFile: String?
    /// Flags given on the command line, applied over the file on every reload.
    private let overrides: (inout WatchConfiguration) -> Void
    private let paths: NodePaths
    private let outputs: [OutputSpec]
    private let facility: SyslogFacility
    private var sinks: SinkSet?
    private let encoder: EventLineEncoder
    private var engine: AlertEngine?
    private var alerts: [Alert] = []
    private var tracker: Tracker?
    private let mode: AgentMode
    private var learner: BaselineLearner?
    private let hostname: String
    /// Set by `learn` when it stops: one line per workload (workload, state, process kinds, learned).
    public private(set) var learnedSummary: [(workload: String, state: String, kinds: Int, learned: UInt64)] = []

    public init(
        mode: AgentMode = .watch,
        paths: NodePaths, configuration: WatchConfiguration, configurationFile: String?,
        overrides: @escaping (inout WatchConfiguration) -> Void, format: LineFormat, outputs: [OutputSpec],
        facility: SyslogFacility
    ) {
        self.mode = mode
        self.paths = paths
        self.configuration = configuration
        self.configurationFile = configurationFile
        self.overrides = overrides
        self.outputs = outputs.isEmpty ? [.standardOutput] : outputs
        self.facility = facility
        var hostname = systemHostname()
        if !paths.isLiveRoot, let name = try? FileDescriptor.openDirectory(paths.hostRoot) {
            if let file = try? name.open(relative: "etc/hostname") {
                var buffer = ReadBuffer(capacity: 256)
                if case .success = file.readAll(into: &buffer) {
                    let text = Bytes.string(Bytes.trimmed(buffer.bytes[...]))
                    if !text.isEmpty { hostname = text }
                }
            }
        }
        self.hostname = hostname
        self.encoder = EventLineEncoder(hostname: hostname, format: format)
    }

    /// A failure that stops the agent before it runs: exit status 1, or 2 for bad input (a malformed
    /// baseline file).
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
        public var isBadInput = false
    }

    /// Runs until SIGTERM or SIGINT; returns normally after flushing everything.
    public func run() throws(StartError) {
        let signals: SignalDescriptor
        do { signals = try SignalDescriptor() } catch { throw StartError(description: "cannot set up signal handling: \(error)") }
        do {
            sinks = try SinkSet(specs: outputs, encoder: encoder, facility: facility)
        } catch {
            throw StartError(description: error.description)
        }
        defer {
            // Everything written so far is delivered (or counted as lost) before the agent exits.
            sinks?.close(timeout: 5_000_000_000)
        }

        // Baselines first: a malformed file stops the agent before it watches anything.
        let learning: (duration: UInt64, lock: Bool)? = if case .learn(let duration, let lock) = mode { (duration, lock) } else { nil }
        let learner: BaselineLearner
        do {
            learner = try BaselineLearner(
                store: BaselineStore(directory: configuration.baselineDirectory),
                learnFor: learning == nil ? configuration.learnFor : .max, locksItself: learning == nil, enforces: learning == nil,
                hostname: hostname, writeInterval: configuration.baselineWriteInterval)
            self.learner = learner
        } catch {
            throw StartError(description: "cannot use the baselines: \(error)", isBadInput: error.isBadInput)
        }

        let tracker: Tracker
        do { tracker = try Tracker(paths: paths) } catch { throw StartError(description: error.description) }
        self.tracker = tracker
        // One guarded reader per calling thread (the loop's tracker, the connector's receiver): a reader
        // serves one caller at a time.
        let cmdlines = GuardedCommandLineReader(procRoot: paths.procRoot)
        let receiverCmdlines = GuardedCommandLineReader(procRoot: paths.procRoot)
        let slowReadTimeout = configuration.slowReadTimeout
        tracker.readCommandLine = { pid in cmdlines.read(pid: pid, timeout: slowReadTimeout) }

        var source: ConnectorSource?
        if configuration.source != .poll {
            do {
                let connector = try ProcessEventsConnector(receiveBuffer: configuration.receiveBuffer)
                let timeout = configuration.slowReadTimeout
                let started = try ConnectorSource(
                    connector: connector, procRoot: paths.procRoot,
                    commandLine: { pid in receiverCmdlines.read(pid: pid, timeout: timeout) })
                try started.start()
                source = started
            } catch let error as ConnectorUnavailable {
                if configuration.source == .connector { throw StartError(description: error.description) }
                status(
                    "process-events connector unavailable (\(error)); polling the cgroup tree every \(DurationParser.format(configuration.pollInterval)) instead: processes that live shorter than that may be missed, exit codes are unknown and fork rates are estimated from PID churn",
                    counters: [])
            } catch {
                if configuration.source == .connector { throw StartError(description: "cannot start the connector source: \(error)") }
                status("cannot start the connector source (\(error)); polling instead", counters: [])
            }
        }
        // The loop turns events into lines; at the same raised weight as the receiver, a busy node's
        // workloads do not hold its lines back. (Best effort: needs CAP_SYS_NICE.)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(vigil_gettid()), -10)

        // Set up: from here on the agent needs none of the system calls it denies itself.
        if configuration.confine {
            switch Confinement.apply() {
            case .success(let count):
                status(
                    "confined: \(count) system calls refused in every thread (running programs, tracing other processes, mounts, namespaces, kernel modules, credentials)",
                    counters: [])
            case .failure(let error):
                status("could not confine itself with seccomp (\(error)); running unconfined", counters: [])
            }
        }

        let engine = AlertEngine(configuration: configuration.detection, paths: paths)
        self.engine = engine
        engine.learner = learner
        var events: [ActivityEvent] = []
        do { try tracker.seed(into: &events) } catch { throw StartError(description: error.description) }
        publish(&events)
        // The posture of what already runs, once, before watching begins.
        if learning == nil { engine.auditAll(tracker: tracker, into: &alerts) }
        publish(&events)
        let stopAt = learning.map { monotonicNanoseconds() + $0.duration } ?? .max
        // Said once the node has been taken in: from here on every change is reported.
        if let source {
            status(
                "watching with the process-events connector (\(source.usesFilterRequest ? "8-byte" : "4-byte") subscription, receive buffer \(source.receiveBufferSize) bytes\(source.receiveBufferForced ? ", forced" : ""))",
                counters: [("containers", UInt64(tracker.containers.count)), ("processes", UInt64(tracker.processes.count))])
        } else {
            status(
                "watching by polling the cgroup tree every \(DurationParser.format(configuration.pollInterval))",
                counters: [("containers", UInt64(tracker.containers.count)), ("processes", UInt64(tracker.processes.count))])
        }

        // Polling: containers appearing or going make the cgroup tree change; a directory watcher sees
        // that at once, so a container's start and stop are not a whole interval late. (With the
        // connector, its events already tell.)
        var watcher: DirectoryWatcher?
        if source == nil {
            watcher = try? DirectoryWatcher()
            if let watcher {
                for directory in tracker.directoriesWhereContainersAppear() where !watcher.watch(directory) {
                    if watcher.count >= watcher.limit {
                        status("watching \(watcher.limit) cgroup directories, the most allowed; containers in others are seen at the next poll", counters: [])
                        break
                    }
                }
            }
        }

        var treeChanged = true
        var lastWalk: UInt64 = 0
        var messages: [SourceEvent] = []
        messages.reserveCapacity(4096)
        let interval = { [self] in source == nil ? configuration.pollInterval : configuration.resyncInterval }
        var nextReconcile = monotonicNanoseconds() + interval()
        // Fork storms and deduplication windows are looked at four times a second, and only while
        // there is something to look at: an idle node wakes the loop only for its resync.
        let tickInterval: UInt64 = 250_000_000
        var nextTick = monotonicNanoseconds() + tickInterval
        var running = true
        while running {
            var descriptors = [pollfd(fd: signals.rawValue, events: Int16(POLLIN), revents: 0)]
            if let source { descriptors.append(pollfd(fd: source.readyDescriptor, events: Int16(POLLIN), revents: 0)) }
            if let watcher { descriptors.append(pollfd(fd: watcher.rawValue, events: Int16(POLLIN), revents: 0)) }
            if let fd = learner.readyDescriptor { descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            let now = monotonicNanoseconds()
            let wake = min(engine.wantsTick ? min(nextReconcile, nextTick) : nextReconcile, engine.deadline, stopAt)
            let wait = wake > now ? Int32(min((wake - now) / 1_000_000 + 1, 60_000)) : 0
            _ = poll(&descriptors, nfds_t(descriptors.count), wait)

            while let signal = signals.next() {
                if signal == SIGHUP {
                    reload()
                } else {
                    running = false
                }
            }
            if monotonicNanoseconds() >= stopAt { running = false }
            if let fd = learner.readyDescriptor, descriptors.contains(where: { $0.fd == fd && $0.revents != 0 }) {
                learner.refresh()
            }

            if let source {
                let losses = source.take(into: &messages)
                let forksBefore = tracker.containerForks
                for event in messages { tracker.handle(event.message, prefetched: event.snapshot, into: &events) }
                // Forks in containers wake the fork-storm detector; host activity does not.
                if tracker.containerForks != forksBefore { engine.noteActivity() }
                messages.removeAll(keepingCapacity: true)
                if losses.any {
                    var counters: [(String, UInt64)] = [("lost_events", losses.lostInKernel + losses.droppedInQueue)]
                    if losses.overruns > 0 { counters.append(("buffer_overruns", losses.overruns)) }
                    status(
                        "process events were lost (\(losses.lostInKernel) missing from the kernel's sequence, \(losses.droppedInQueue) dropped from a full queue, \(losses.overruns) socket buffer overruns); resyncing from /proc",
                        counters: counters)
                    tracker.reconcile(source: .resync, into: &events)
                    nextReconcile = monotonicNanoseconds() + interval()
                }
            }
            if let watcher {
                let (changes, overflowed) = watcher.changes()
                if !changes.isEmpty || overflowed { treeChanged = true }
                if changes.contains(where: { $0.created }) || overflowed {
                    // Watch new directories, and any made inside them before their watch existed.
                    for directory in tracker.directoriesWhereContainersAppear() { watcher.watch(directory) }
                }
                // Soon, not at once: a runtime makes the cgroup first and moves the process in after.
                if !changes.isEmpty || overflowed {
                    nextReconcile = min(nextReconcile, monotonicNanoseconds() + 20_000_000)
                }
            }
            if monotonicNanoseconds() >= nextReconcile {
                // Everything the connector delivered goes first: a resync must not see a process its
                // queued fork event has not yet introduced.
                if let source {
                    _ = source.take(into: &messages)
                    for event in messages { tracker.handle(event.message, prefetched: event.snapshot, into: &events) }
                    messages.removeAll(keepingCapacity: true)
                }
                // Polling with a directory watcher: the tree is walked again only when a cgroup directory
                // appeared or went (and every 10 s regardless); otherwise the known containers' cgroup.procs
                // are all there is to read.
                let now = monotonicNanoseconds()
                let rewalk = source != nil || watcher == nil || treeChanged || now - lastWalk >= 10_000_000_000
                tracker.reconcile(source: source == nil ? .poll : .resync, rewalk: rewalk, into: &events)
                if rewalk {
                    treeChanged = false
                    lastWalk = now
                }
                // Polling: the PID counters were just sampled; the fork-storm detector looks at them.
                if source == nil { engine.noteActivity() }
                let soon: UInt64 = tracker.wantsEarlyReconcile ? 50_000_000 : .max
                nextReconcile = monotonicNanoseconds() + min(interval(), soon)
            }
            if monotonicNanoseconds() >= engine.deadline { engine.tickBaselines(tracker: tracker, into: &alerts) }
            if engine.wantsTick, monotonicNanoseconds() >= nextTick {
                engine.tick(tracker: tracker, into: &alerts)
                nextTick = monotonicNanoseconds() + tickInterval
            } else if !engine.wantsTick {
                nextTick = monotonicNanoseconds() + tickInterval
            }
            publish(&events)
            }

        source?.stop()
        // Whatever arrived before the stop is still reported.
        if let source {
            _ = source.take(into: &messages)
            for event in messages { tracker.handle(event.message, prefetched: event.snapshot, into: &events) }
            publish(&events)
        }
        engine.flush(into: &alerts)
        publish(&events)
        if learning?.lock == true { learner.lockAll() }
        learner.flush()
        learnedSummary = learner.summary().map { ($0.workload.rawValue, $0.state.rawValue, $0.kinds, $0.learned) }
        publishNotes()
        status(
            "stopping",
            counters: [("received_events", source?.received ?? 0), ("slow_cmdline_reads", cmdlines.timedOut + receiverCmdlines.timedOut)])
    }

    private func publish(_ events: inout [ActivityEvent]) {
        if let engine, let tracker { engine.inspect(events, tracker: tracker, into: &alerts) }
        for event in events {
            switch event.kind {
            case .processExec, .processExit, .containerStart, .containerStop:
                if configuration.events { sinks?.publish(encoder.record(event)) }
            case .agentStatus:
                sinks?.publish(encoder.record(event))
            case .credentialsChanged:
                break
            }
        }
        events.removeAll(keepingCapacity: true)
        publishNotes()
        // `vigil learn` only learns.
        if mode == .watch {
            for alert in alerts { sinks?.publish(encoder.record(alert)) }
        }
        alerts.removeAll(keepingCapacity: true)
    }

    private func publishNotes() {
        guard let learner else { return }
        for note in learner.takeNotes() { status(note, counters: []) }
    }

    private func status(_ message: String, counters: [(String, UInt64)]) {
        sinks?.publish(encoder.record(.status(message, counters: counters)))
    }

    /// Rereads the configuration file; a bad file keeps the running configuration and says why.
    private func reload() {
        var reloaded = WatchConfiguration()
        if let configurationFile {
            do {
                reloaded = try ConfigurationFile.load(configurationFile)
            } catch {
                status("configuration reload failed, keeping the previous configuration: \(error)", counters: [])
                return
            }
        }
        overrides(&reloaded)
        // The event source cannot change while running.
        reloaded.source = configuration.source
        // The baseline directory cannot change while running; the learning time can.
        reloaded.baselineDirectory = configuration.baselineDirectory
        configuration = reloaded
        engine?.configuration = reloaded.detection
        if mode == .watch { learner?.learnFor = reloaded.learnFor }
        learner?.refresh(everything: true)
        sinks?.reopen()
        status("configuration reloaded\(configurationFile.map { " from \($0)" } ?? "")", counters: [])
    }
}
