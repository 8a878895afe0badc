import VigilBaseline
import VigilDetect
import VigilKernel
import VigilNode

/// Learns each workload's baseline while it is new, locks it when it has been learned long enough,
/// and from then on compares what runs against it.
///
/// Learning time is the time a workload has at least one container running while the agent watches;
/// it is kept in the file, so a restarted agent goes on where it stopped. Baselines being learned are
/// written every few seconds when they changed (atomically: a crash leaves the previous version), at
/// lock time and at shutdown. Files changed by someone else (`vigil baseline lock`, `allow`, `forget`,
/// a hand edit) are taken in as soon as the directory reports them.
final class BaselineLearner {
    let store: BaselineStore
    /// How long a new workload is learned before its baseline locks; 0: no learning.
    var learnFor: UInt64
    /// Whether baselines lock by themselves once learned long enough (`vigil learn` leaves that to people).
    let locksItself: Bool
    /// Whether locked baselines raise alerts (`vigil learn` only learns).
    let enforces: Bool
    private let hostname: String
    /// How soon a changed baseline is written; learning time alone is written six times less often.
    let flushInterval: UInt64
    static let rateWindow: UInt64 = 1_000_000_000

    private struct Entry {
        var baseline: Baseline
        /// The file as last read or written by the agent: anything else there was written by someone else.
        var file: FileSystem.FileIdentity?
        /// Unsaved changes.
        var dirty = false
        /// Monotonic time since which it has been learned without a break (a container of it running).
        var activeSince: UInt64?
    }

    private var baselines: [WorkloadKey: Entry] = [:]
    /// Running containers (cgroups) by workload.
    private var running: [WorkloadKey: Set<String>] = [:]
    /// Fork counts at the start of each container's current rate window.
    private var windows: [String: (start: UInt64, forks: UInt64)] = [:]
    private var forksSeen = false
    private var writeFailures: Set<WorkloadKey> = []
    /// Workloads whose baseline reached `kindLimit` (said once).
    private var full: Set<WorkloadKey> = []
    static let kindLimit = 4096
    private var nextFlush: UInt64 = .max
    private let watcher: DirectoryWatcher?
    /// Messages for agent_status lines.
    private(set) var notes: [String] = []

    /// Loads every baseline in the store; a malformed file stops the start (the agent must not treat
    /// that workload as having none).
    init(
        store: BaselineStore, learnFor: UInt64, locksItself: Bool, enforces: Bool, hostname: String,
        writeInterval: UInt64 = 5_000_000_000
    ) throws(BaselineStoreError) {
        self.store = store
        flushInterval = writeInterval
        self.learnFor = learnFor
        self.locksItself = locksItself
        self.enforces = enforces
        self.hostname = hostname
        for (workload, baseline) in try store.loadAll() {
            baselines[workload] = Entry(baseline: baseline, file: store.identity(of: workload))
        }
        if learnFor > 0 { try? store.prepare() }
        // A writer killed mid-write leaves its temporary file (never the baseline itself): remove those.
        if FileSystem.exists(store.directory) {
            try? store.withLock { () throws(BaselineStoreError) in
                for name in (try? FileSystem.entries(store.directory)) ?? [] where name.hasPrefix(".") && name.contains(".tmp.") {
                    _ = try? FileSystem.remove(store.directory + "/" + name)
                }
            }
        }
        let watcher = try? DirectoryWatcher(limit: 1, includeFiles: true)
        if let watcher, FileSystem.exists(store.directory) { watcher.watch(store.directory) }
        self.watcher = watcher
    }

    /// The directory watcher's descriptor, for the agent's poll.
    var readyDescriptor: Int32? { watcher?.rawValue }

    var count: Int { baselines.count }
    var lockedCount: Int { baselines.values.filter { $0.baseline.state == .locked }.count }

    func takeNotes() -> [String] {
        defer { notes.removeAll() }
        return notes
    }

    /// When the learner next has something to do: a lock falling due, a flush, a fork-rate window.
    func nextDeadline() -> UInt64 {
        var deadline = nextFlush
        if forksSeen, let start = windows.values.map(\.start).min() { deadline = min(deadline, start + Self.rateWindow) }
        if locksItself, learnFor > 0 {
            for entry in baselines.values where entry.baseline.state == .learning {
                guard let since = entry.activeSince else { continue }
                let remaining = learnFor > entry.baseline.learned ? learnFor - entry.baseline.learned : 0
                deadline = min(deadline, since + remaining)
            }
        }
        return deadline
    }

    /// Forks were handled: fork-rate windows start now if they were idle (a window reaching back
    /// into a quiet minute would dilute a burst).
    func noteForks() {
        guard !forksSeen else { return }
        forksSeen = true
        let now = monotonicNanoseconds()
        for (cgroup, window) in windows where now - window.start > Self.rateWindow { windows[cgroup] = (now, window.forks) }
    }

    // MARK: Events

    func handle(_ events: [ActivityEvent], tracker: Tracker, configuration: DetectionConfiguration, into alerts: inout [Alert]) {
        let now = monotonicNanoseconds()
        for event in events {
            guard let container = event.container else { continue }
            let workload = container.workload
            switch event.kind {
            case .containerStart:
                containerStarted(container, now: now)
                if let state = tracker.containers[container.cgroup] {
                    windows[container.cgroup] = (now, state.forks)
                    if let pids = state.pids?.current { observe(workload, pids: pids, forkRate: nil, container: container, alerts: &alerts, configuration: configuration) }
                }
                // Processes already running when the agent started are learned (or checked) too.
                if event.source == .initial {
                    for process in tracker.processes.values where process.container == container.cgroup {
                        var sighting = event
                        sighting.process = process
                        sighting.kind = .processExec
                        processStarted(sighting, tracker: tracker, configuration: configuration, into: &alerts)
                    }
                }
            case .containerStop:
                containerStopped(container, now: now)
                windows[container.cgroup] = nil
            case .processExec:
                processStarted(event, tracker: tracker, configuration: configuration, into: &alerts)
            case .credentialsChanged:
                guard let process = event.process, var entry = baselines[workload],
                    let key = BaselineRules.key(of: process, parent: tracker.processes[process.ppid])
                else { continue }
                switch entry.baseline.state {
                case .learning:
                    if learnFor > 0, entry.activeSince != nil {
                        entry.baseline.learn(key, user: process.euid, capabilities: process.capabilities.effective, at: event.time)
                        entry.dirty = true
                        baselines[workload] = entry
                        scheduleFlush(now)
                    }
                case .locked:
                    if enforces {
                        alerts.append(
                            contentsOf: BaselineRules.inspectCredentials(event, key: key, baseline: entry.baseline, configuration: configuration))
                    }
                }
            default:
                break
            }
        }
    }

    private func processStarted(_ event: ActivityEvent, tracker: Tracker, configuration: DetectionConfiguration, into alerts: inout [Alert]) {
        guard let process = event.process, let workload = event.container?.workload, var entry = baselines[workload],
            let key = BaselineRules.key(of: process, parent: tracker.processes[process.ppid])
        else { return }
        switch entry.baseline.state {
        case .learning:
            guard learnFor > 0 || !locksItself, entry.activeSince != nil else { return }
            // Bounded: a workload that makes up program names cannot grow the agent (or the file) without end.
            if entry.baseline.processes.count >= Self.kindLimit, entry.baseline.entry(for: key) == nil {
                if full.insert(workload).inserted {
                    notes.append("baseline of \(workload) holds \(Self.kindLimit) process kinds, the most kept: new kinds are not learned (review it: vigil baseline show \(workload))")
                }
                return
            }
            entry.baseline.learn(key, user: process.euid, capabilities: process.capabilities.effective, at: event.time)
            entry.dirty = true
            baselines[workload] = entry
            scheduleFlush(monotonicNanoseconds())
        case .locked:
            if enforces {
                alerts.append(contentsOf: BaselineRules.inspect(event, key: key, baseline: entry.baseline, configuration: configuration))
            }
        }
    }

    private func containerStarted(_ container: ContainerIdentity, now: UInt64) {
        let workload = container.workload
        running[workload, default: []].insert(container.cgroup)
        if baselines[workload] == nil {
            // Keys with a container id in them change with every container: a baseline would never be used again.
            guard learnFor > 0 || !locksItself, !workload.rawValue.hasPrefix("container:") else { return }
            var baseline = Baseline(workload: workload, created: .now(), node: hostname)
            baseline.changed = baseline.created
            baselines[workload] = Entry(baseline: baseline, file: nil, dirty: true)
            notes.append("learning a baseline for \(workload) (\(container.name ?? container.shortID) started)")
            scheduleFlush(now)
        }
        if learnFor > 0 || !locksItself, var entry = baselines[workload], entry.baseline.state == .learning, entry.activeSince == nil {
            entry.activeSince = now
            entry.baseline.nodes.insert(hostname)
            baselines[workload] = entry
        }
    }

    private func containerStopped(_ container: ContainerIdentity, now: UInt64) {
        let workload = container.workload
        running[workload]?.remove(container.cgroup)
        guard running[workload]?.isEmpty ?? true else { return }
        running[workload] = nil
        if var entry = baselines[workload], let since = entry.activeSince {
            entry.baseline.learned += now - since
            entry.activeSince = nil
            entry.dirty = true
            baselines[workload] = entry
            scheduleFlush(now)
        }
    }

    private func scheduleFlush(_ now: UInt64) {
        if nextFlush == .max { nextFlush = now + flushInterval }
    }

    private func observe(
        _ workload: WorkloadKey, pids: UInt64?, forkRate: UInt64?, container: ContainerIdentity, alerts: inout [Alert],
        configuration: DetectionConfiguration
    ) {
        guard var entry = baselines[workload] else { return }
        switch entry.baseline.state {
        case .learning:
            guard entry.activeSince != nil else { return }
            if entry.baseline.observe(pids: pids, forkRate: forkRate, at: .now()) {
                entry.dirty = true
                baselines[workload] = entry
                scheduleFlush(monotonicNanoseconds())
            }
        case .locked:
            if enforces {
                alerts.append(
                    contentsOf: BaselineRules.inspectCounters(
                        container: container, pids: pids, forkRate: forkRate, baseline: entry.baseline, time: .now(),
                        configuration: configuration))
            }
        }
    }

    // MARK: Time

    /// Locks what has been learned long enough, measures fork rates, writes what changed.
    func tick(tracker: Tracker, configuration: DetectionConfiguration, into alerts: inout [Alert]) {
        let now = monotonicNanoseconds()
        if forksSeen {
            var pending = false
            for (cgroup, window) in windows {
                guard let state = tracker.containers[cgroup] else {
                    windows[cgroup] = nil
                    continue
                }
                let forks = state.forks &- window.forks
                if forks == 0 {
                    windows[cgroup] = (now, state.forks)
                    continue
                }
                guard now - window.start >= Self.rateWindow else {
                    pending = true
                    continue
                }
                let rate = forks * 1_000_000_000 / max(1, now - window.start)
                windows[cgroup] = (now, state.forks)
                let pids = tracker.samplePids(cgroup)?.current
                observe(state.identity.workload, pids: pids, forkRate: rate, container: state.identity, alerts: &alerts, configuration: configuration)
            }
            forksSeen = pending
        }
        if locksItself, learnFor > 0 {
            for (workload, entry) in baselines where entry.baseline.state == .learning {
                guard let since = entry.activeSince, entry.baseline.learned + (now - since) >= learnFor else { continue }
                lock(workload, now: now)
            }
        }
        if now >= nextFlush { flush(now: now) }
    }

    private func lock(_ workload: WorkloadKey, now: UInt64) {
        guard var entry = baselines[workload] else { return }
        if let since = entry.activeSince { entry.baseline.learned += now - since }
        entry.activeSince = nil
        entry.baseline.state = .locked
        entry.baseline.lockedAt = .now()
        entry.baseline.changed = entry.baseline.lockedAt!
        entry.dirty = true
        baselines[workload] = entry
        save(workload)
        let kinds = baselines[workload]?.baseline.processes.count ?? 0
        notes.append(
            "baseline of \(workload) locked after \(DurationParser.format(entry.baseline.learned / 1_000_000_000 * 1_000_000_000)) of learning: \(kinds) process kind\(kinds == 1 ? "" : "s"); anything else raises unexpected_process"
        )
    }

    /// Writes every baseline with unsaved changes (learning time included).
    func flush(now: UInt64 = monotonicNanoseconds()) {
        nextFlush = .max
        for workload in Array(baselines.keys) {
            guard let entry = baselines[workload], entry.dirty || entry.activeSince != nil else { continue }
            save(workload, now: now)
        }
        if baselines.values.contains(where: { $0.activeSince != nil }) { nextFlush = now + flushInterval * 6 }
    }

    /// Writes one baseline under the directory's lock; when the file was changed by someone else since
    /// the agent last read it, their version wins (a lock, an allow, a forget) and what the agent
    /// learned meanwhile is added to it if it is still learning.
    private func save(_ workload: WorkloadKey, now: UInt64 = monotonicNanoseconds()) {
        guard var entry = baselines[workload] else { return }
        var snapshot = entry.baseline
        if let since = entry.activeSince { snapshot.learned += now - since }
        do {
            let outcome: (Entry?, String?) = try store.withLock { () throws(BaselineStoreError) -> (Entry?, String?) in
                let current = store.identity(of: workload)
                if current != entry.file {
                    if current == nil, entry.file != nil {
                        // Forgotten by a person: start over if it is still running.
                        return (nil, "baseline of \(workload) was removed from \(store.directory); learning it again from now on")
                    }
                    if current != nil, let theirs = try store.load(workload) {
                        var merged = theirs
                        if theirs.state == .learning, entry.baseline.state == .learning { Self.addLearned(snapshot, to: &merged) }
                        entry.baseline = merged
                        let active = merged.state == .learning && !(running[workload]?.isEmpty ?? true) && (learnFor > 0 || !locksItself)
                        entry.activeSince = active ? now : nil
                        snapshot = merged
                        if merged.state == .locked {
                            entry.file = current
                            entry.dirty = false
                            return (entry, "baseline of \(workload) changed on disk: taken in (\(merged.state.rawValue), \(merged.processes.count) process kinds)")
                        }
                    }
                }
                entry.file = try store.save(snapshot)
                entry.dirty = false
                if entry.activeSince != nil {
                    entry.baseline.learned = snapshot.learned
                    entry.activeSince = now
                }
                return (entry, nil)
            }
            if let note = outcome.1 { notes.append(note) }
            if let updated = outcome.0 {
                baselines[workload] = updated
            } else {
                baselines[workload] = nil
                restartLearning(workload, now: now)
            }
        } catch {
            // Said once per workload; retried at every flush.
            if writeFailures.insert(workload).inserted {
                notes.append("cannot write the baseline of \(workload): \(error); learning goes on in memory and the write is retried")
            }
            scheduleFlush(now)
        }
    }

    /// What this agent learned, added to a version someone else wrote of the same learning baseline
    /// (theirs wins on everything else). Both hold what the agent wrote before, so counts are not added.
    private static func addLearned(_ mine: Baseline, to theirs: inout Baseline) {
        for (key, entry) in mine.processes {
            guard var known = theirs.processes[key] else {
                theirs.processes[key] = entry
                continue
            }
            let seen = max(known.seen, entry.seen)
            known.absorb(entry)
            known.seen = seen
            theirs.processes[key] = known
        }
        theirs.observe(pids: mine.pidsHigh, forkRate: mine.forkRateHigh, at: mine.changed)
        theirs.learned = max(theirs.learned, mine.learned)
        theirs.nodes.formUnion(mine.nodes)
    }

    private func restartLearning(_ workload: WorkloadKey, now: UInt64) {
        guard let cgroups = running[workload], !cgroups.isEmpty, learnFor > 0 || !locksItself else { return }
        var baseline = Baseline(workload: workload, created: .now(), node: hostname)
        baseline.changed = baseline.created
        baselines[workload] = Entry(baseline: baseline, file: nil, dirty: true, activeSince: now)
        scheduleFlush(now)
    }

    // MARK: Changes on disk

    /// Takes in files changed by someone else: those the directory watcher reported (its own writes
    /// among them, which are recognised and skipped), or with `everything` (SIGHUP, a watcher
    /// overflow) every file.
    func refresh(everything: Bool = false) {
        var names: Set<String>?
        if let watcher {
            let (changes, overflowed) = watcher.changes()
            if watcher.count == 0, FileSystem.exists(store.directory) { watcher.watch(store.directory) }
            if !everything && !overflowed {
                names = Set(
                    changes.compactMap { change in
                        let name = String(change.path.split(separator: "/").last ?? "")
                        return name.hasSuffix(BaselineStore.fileExtension) && !name.hasPrefix(".") ? name : nil
                    })
                if names!.isEmpty { return }
            }
        }
        let now = monotonicNanoseconds()
        do {
            try store.withLock { () throws(BaselineStoreError) in
                let onDisk: Set<String> =
                    names
                    ?? Set(
                        ((try? FileSystem.entries(store.directory)) ?? []).filter {
                            $0.hasSuffix(BaselineStore.fileExtension) && !$0.hasPrefix(".")
                        })
                for workload in Array(baselines.keys) where names?.contains(BaselineStore.fileName(for: workload)) ?? true {
                    guard var entry = baselines[workload] else { continue }
                    let current = store.identity(of: workload)
                    guard current != entry.file else { continue }
                    if current == nil {
                        guard entry.file != nil else { continue }  // never written yet
                        baselines[workload] = nil
                        notes.append("baseline of \(workload) was removed; learning it again while it runs")
                        restartLearning(workload, now: now)
                        continue
                    }
                    do {
                        guard let theirs = try store.load(workload) else { continue }
                        if theirs.state == .learning, entry.baseline.state == .learning {
                            var merged = theirs
                            Self.addLearned(entry.baseline, to: &merged)
                            entry.baseline = merged
                            entry.dirty = true
                        } else {
                            entry.baseline = theirs
                            entry.dirty = false
                        }
                        entry.file = current
                        let active = theirs.state == .learning && !(running[workload]?.isEmpty ?? true) && (learnFor > 0 || !locksItself)
                        entry.activeSince = active ? now : nil
                        baselines[workload] = entry
                        notes.append(
                            "baseline of \(workload) changed on disk: taken in (\(theirs.state.rawValue), \(theirs.processes.count) process kinds)")
                    } catch {
                        notes.append("baseline file changed on disk but cannot be read, keeping the previous one: \(error)")
                        entry.file = current
                        baselines[workload] = entry
                    }
                }
                // Baselines written for workloads the agent had none for (`vigil baseline merge --out`, a copy).
                let known = Set(baselines.keys.map(BaselineStore.fileName(for:)))
                for name in onDisk.subtracting(known) {
                    let path = store.directory + "/" + name
                    guard FileSystem.exists(path) else { continue }
                    do {
                        let baseline = try BaselineStore.load(file: path)
                        guard BaselineStore.fileName(for: baseline.workload) == name else { continue }
                        let active = baseline.state == .learning && !(running[baseline.workload]?.isEmpty ?? true)
                        baselines[baseline.workload] = Entry(
                            baseline: baseline, file: FileSystem.identity(path), activeSince: active ? now : nil)
                        notes.append("baseline of \(baseline.workload) added on disk: taken in (\(baseline.state.rawValue))")
                    } catch {
                        notes.append("new baseline file cannot be read, ignored: \(error)")
                    }
                }
            }
        } catch {
            notes.append("cannot reread the baseline directory: \(error)")
        }
        if baselines.values.contains(where: \.dirty) { scheduleFlush(now) }
    }

    // MARK: Reports

    /// One line per baseline: workload, state, kinds (for `vigil learn`'s summary).
    func summary() -> [(workload: WorkloadKey, state: Baseline.State, kinds: Int, learned: UInt64)] {
        baselines.keys.sorted().map { key in
            let baseline = baselines[key]!.baseline
            return (key, baseline.state, baseline.processes.count, baseline.learned)
        }
    }

    /// The workload's baseline as the learner holds it (tests).
    func baseline(of workload: WorkloadKey) -> Baseline? { baselines[workload]?.baseline }

    /// Locks every learning baseline now (`vigil learn --lock`).
    func lockAll() {
        let now = monotonicNanoseconds()
        for (workload, entry) in baselines where entry.baseline.state == .learning { lock(workload, now: now) }
    }
}
