// swift-tools-version: 6.0
import PackageDescription

// The library keeps to the subset that also builds as Embedded Swift (see scripts/embedded-check.sh).
// Dropping the implicit Concurrency / StringProcessing imports keeps libqssl.so's dependencies to
// libswiftCore and libswiftGlibc.
let lean: [SwiftSetting] = [
    .unsafeFlags([
        "-Xfrontend", "-disable-implicit-concurrency-module-import",
        "-Xfrontend", "-disable-implicit-string-processing-module-import",
    ]),
]

let package = Package(
    name: "qssl",
    products: [
        .library(name: "qssl", type: .dynamic, targets: ["QSSL"]),
        .executable(name: "qssl-sim", targets: ["qssl-sim"]),
        .executable(name: "qssl-bench", targets: ["qssl-bench"]),
        .executable(name: "qssl-faults", targets: ["qssl-faults"]),
        // The `qssl` command (SwiftPM will not give it the library product's name; installed as `qssl`).
        .executable(name: "qssl-cli", targets: ["qssl-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // The C contract: include/qssl.h, header only.
        .target(name: "CQSSL", path: "include", publicHeadersPath: "."),
        .systemLibrary(name: "CPosix", path: "Sources/CPosix"),
        // libudev for hot-plug detection (Sources/QSSL/Hotplug).
        .systemLibrary(name: "CUdev", path: "Sources/CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        // Pure protocol: parser, codecs, checksum. No I/O.
        .target(name: "QSSLCore", swiftSettings: lean),
        // The driver: transport, channel, modem API and the C ABI shell.
        // scripts/qssl.map: libqssl.so exports the qssl_* functions of include/qssl.h and nothing else.
        .target(name: "QSSL", dependencies: ["QSSLCore", "CPosix", "CQSSL", "CUdev"], swiftSettings: lean,
                linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/scripts/qssl.map"])]),
        // The virtual module (not shipped in libqssl.so).
        .target(name: "QSSLSim", dependencies: [
            "QSSLCore", "CPosix",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
        ]),
        .executableTarget(name: "qssl-sim", dependencies: [
            "QSSLSim",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Prints throughput and memory figures; never run as a test.
        .executableTarget(name: "qssl-bench", dependencies: ["QSSLCore", "QSSL", "QSSLSim", "CPosix"]),
        // The fault matrix under load (scripts/test.sh runs --short); exits 1 when a cell fails.
        .executableTarget(name: "qssl-faults", dependencies: ["QSSLCore", "QSSL", "QSSLSim"]),
        // The `qssl` command: a client of include/qssl.h alone (imports CQSSL, links QSSL), no Foundation, options
        // by getopt_long, libc through its own module map CCLI. Swift 5 mode: it uses libc's globals (optind, optarg).
        .systemLibrary(name: "CCLI", path: "Sources/CCLI"),
        .executableTarget(name: "qssl-cli", dependencies: ["QSSL", "CQSSL", "CCLI"],
                          swiftSettings: lean + [.swiftLanguageMode(.v5)]),
        .testTarget(name: "QSSLCoreTests", dependencies: ["QSSLCore"]),
        .testTarget(name: "QSSLTests", dependencies: ["QSSL", "QSSLCore", "QSSLSim", "CPosix"]),
        .testTarget(name: "QSSLSimTests", dependencies: ["QSSLSim", "QSSLCore", "CPosix"]),
    ],
    swiftLanguageModes: [.v6]
)
