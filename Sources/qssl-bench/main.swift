// qssl-bench: prints throughput, latency and scale figures, and the command line that produced them. Never run as a test.
//
//   swift run -c release qssl-bench                 every section (the uart and sweep ones take minutes)
//   swift run -c release qssl-bench parser [opts]   one section; options after the name go to that section
//   swift run -c release qssl-bench --list          section names
//
// To add a section: write `let fooBenchSection = BenchSection(...)` in its own file and list it below.

#if canImport(Glibc)
import Glibc
#endif

let sections: [BenchSection] = [
    parserBenchSection,
    dataModeBenchSection,
    uartBenchSection,
    sweepBenchSection,
    latencyBenchSection,
    scaleBenchSection,
]

let argv = Array(CommandLine.arguments.dropFirst())
if argv.first == "--list" || argv.first == "-h" || argv.first == "--help" {
    print("usage: qssl-bench [section [options...]]")
    for s in sections { print("  \(s.name)\t\(s.summary)") }
    exit(0)
}

var chosen: [(BenchSection, [String])] = []
if let name = argv.first, name != "all" {
    guard let s = sections.first(where: { $0.name == name }) else {
        print("qssl-bench: unknown section '\(name)'; known: \(sections.map(\.name).joined(separator: ", "))")
        exit(2)
    }
    chosen = [(s, Array(argv.dropFirst()))]
} else {
    chosen = sections.map { ($0, []) }
}

#if DEBUG
print("warning: debug build; figures are meaningless. Use: swift run -c release qssl-bench ...")
#endif
for (section, args) in chosen {
    print("== \(section.name)")
    section.run(args)
}
