
import CCLI

import CQSSL

// qssl: every job of libqssl from a shell. `qssl [global options] <command> [options] [arguments]`.

let usageText = """
    usage: qssl [-d DEVICE] [-b BAUD] [--rtscts] [--json] [-v] <command> [options] [arguments]

    Drives the SSL/TCP stack of a Quectel M10/M66/M85/M95 module over its serial port.

    global options:
      -d, --device DEV    the module's serial port (e.g. /dev/ttyUSB0; qssl-sim prints a pty path), or
                          imei:<15 digits> / usb:<USB path> (found by hot-plug detection); default: the only
                          candidate port `qssl devices` lists
      -b, --baud N        line rate, 9600-921600 (default 115200; the module autobauds)
          --rtscts        RTS/CTS hardware flow control (after AT+IFC=2,2 on the module)
          --json          data as one JSON document on stdout
      -v, --verbose       the AT trace on stderr (certificate and key bytes are redacted)
      -h, --help          this text; `qssl COMMAND --help` for a command
      -V, --version       the version of qssl and of the libqssl it runs on

    commands:
      devices [--probe] [--all]     the candidate serial ports (Quectel USB modems, USB-UART bridges)
      watch [--count N]             ports as they are plugged in and removed
      info                          model, revision, IMEI, SIM, registration, signal, PDP, sockets
      at COMMAND                    one raw AT command; the module's lines as they are
      cert put NAME FILE            upload a certificate or key (size and checksum verified)
      cert check NAME               is NAME stored and intact (the module's own flag)
      cert rm NAME                  delete NAME
      pdp up --apn APN              activate packet data (with the note's diagnosis on failure)
      pdp down | pdp status         deactivate; show state and local IP
      ctx set N [options]           configure SSL context N (0-5)
      ctx show [N]                  show SSL context N, or all
      connect HOST:PORT             stdin to the peer, the peer to stdout, over the module's TLS
      proxy --listen A:P --to H:P   a local TCP port carried over the module's TLS, one socket per connection
      demo                          the application note's procedure against qssl-sim and a local TLS server

    """ + Exit.helpText

/// The API version the command was built against (the header's); the library's own may be newer.
let cliVersion = String(QSSL_VERSION_MAJOR) + "." + String(QSSL_VERSION_MINOR)

func run(_ argv: [String]) -> Int32 {
    let ctx = Context()
    var operands: [String]
    do throws(Failure) {
        operands = try parseOptions(argv, [
            LongOption(name: "device", hasArgument: true, key: "d"),
            LongOption(name: "baud", hasArgument: true, key: "b"),
            LongOption(name: "json", hasArgument: false, key: "\u{100}"),
            LongOption(name: "rtscts", hasArgument: false, key: "\u{101}"),
            LongOption(name: "verbose", hasArgument: false, key: "v"),
            LongOption(name: "version", hasArgument: false, key: "V"),
        ], stopAtOperand: true) { key, arg throws(Failure) in
            switch key {
            case "d": ctx.device = arg
            case "b": ctx.baud = Int32(try integer(arg, "--baud", 1200...4_000_000))
            case "\u{100}": ctx.json = true
            case "\u{101}": ctx.rtscts = true
            case "v": ctx.verbose = true
            case "V":
                writeText(1, "qssl " + cliVersion + " (libqssl " + String(cString: qssl_version()) + ")\n")
                exit(0)
            default:
                writeText(1, usageText)
                exit(0)
            }
        }
    } catch {
        err("qssl: " + error.message)
        return error.status
    }
    guard let name = operands.first else {
        writeText(2, usageText)
        return Exit.usage
    }
    defer { ctx.close() }
    do throws(Failure) {
        try dispatch(name, operands, ctx)
        return Exit.ok
    } catch {
        err("qssl " + name + ": " + error.message)
        return error.status
    }
}

func dispatch(_ name: String, _ args: [String], _ ctx: Context) throws(Failure) {
    switch name {
    case "info": try cmdInfo(args, ctx)
    case "at": try cmdAT(args, ctx)
    case "cert": try cmdCert(args, ctx)
    case "pdp": try cmdPDP(args, ctx)
    case "ctx": try cmdCtx(args, ctx)
    case "connect": try cmdConnect(args, ctx)
    case "proxy": try cmdProxy(args, ctx)
    case "demo": try cmdDemo(args, ctx)
    case "devices": try cmdDevices(args, ctx)
    case "watch": try cmdWatch(args, ctx)
    default:
        throw Failure.usage("unknown command '" + name + "' (see qssl --help)")
    }
}

/// Parses a command's options; `--help` prints `help` and exits 0.
func commandOptions(_ args: [String], _ help: String, _ longs: [LongOption],
                    _ handle: (Unicode.Scalar, String?) throws(Failure) -> Void) throws(Failure) -> [String] {
    try parseOptions(args, longs) { key, arg throws(Failure) in
        if key == "h" {
            writeText(1, help)
            exit(0)
        }
        try handle(key, arg)
    }
}

/// The program's arguments. Embedded Swift has no CommandLine: Linux keeps them in /proc/self/cmdline.
func arguments() -> [String] {
    #if hasFeature(Embedded)
    guard let raw = try? readFile("/proc/self/cmdline") else { return [] }
    return raw.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
        String(decoding: $0, as: UTF8.self)
    }
    #else
    return CommandLine.arguments
    #endif
}

cli_ignore_sigpipe()
let argv = arguments()
exit(run(argv.isEmpty ? ["qssl"] : ["qssl"] + argv.dropFirst()))
