/// One benchmark section, selected by name on the command line.
struct BenchSection: Sendable {
    let name: String
    let summary: String
    /// Runs the section with the options that followed its name; prints its figures.
    let run: @Sendable ([String]) -> Void
}

/// Monotonic seconds.
func benchNow() -> Double {
    let t = ContinuousClock.now.duration(to: benchEpoch)
    return -Double(t.components.seconds) - Double(t.components.attoseconds) * 1e-18
}
private let benchEpoch = ContinuousClock.now

/// Reads `--name value` from a section's options, or the default.
func benchOption(_ args: [String], _ name: String, default d: Int) -> Int {
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return d
}

/// The command that reproduces a figure, as printed under it.
func benchCommandLine() -> String {
    "swift run -c release qssl-bench " + CommandLine.arguments.dropFirst().joined(separator: " ")
}
