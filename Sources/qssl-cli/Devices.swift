
import CCLI

import CQSSL

// qssl devices / qssl watch, and the default device: hot-plug detection through the HOT-PLUG part of qssl.h.

let deviceKindNames = ["other", "quectel-usb", "usb-uart-bridge"]
let probeNames: [String?] = [nil, "quectel", "no-quectel", "busy", "failed"]

func kindName(_ d: qssl_device) -> String {
    d.kind >= 0 && Int(d.kind) < deviceKindNames.count ? deviceKindNames[Int(d.kind)] : "other"
}

func probeName(_ d: qssl_device) -> String? {
    d.probe >= 0 && Int(d.probe) < probeNames.count ? probeNames[Int(d.probe)] : nil
}

/// A USB id as four lower-case hex digits ("2c7c").
func hex4(_ v: Int32) -> String {
    var s = ""
    for shift in [12, 8, 4, 0] { s.append(hexDigits[Int((v >> Int32(shift)) & 0xF)]) }
    return s
}

func deviceJSON(_ d: qssl_device) -> JSON {
    func text(_ s: String) -> JSON { s.isEmpty ? .null : .str(s) }
    return JSON.obj([
        ("path", .str(fieldString(d.path))), ("by_id", text(fieldString(d.by_id))), ("kind", .str(kindName(d))),
        ("vid", d.vid != 0 ? .str(hex4(d.vid)) : .null), ("pid", d.vid != 0 ? .str(hex4(d.pid)) : .null),
        ("interface", d.interface >= 0 ? .int(Int(d.interface)) : .null), ("usb_path", text(fieldString(d.usb_path))),
        ("driver", text(fieldString(d.driver))), ("manufacturer", text(fieldString(d.manufacturer))),
        ("product", text(fieldString(d.product))), ("serial", text(fieldString(d.serial))),
        ("probe", .opt(probeName(d))), ("busy", .bool(d.probe == Int32(QSSL_PROBE_BUSY.rawValue))),
        ("model", text(fieldString(d.model))), ("revision", text(fieldString(d.revision))),
        ("imei", text(fieldString(d.imei))),
    ])
}

/// "/dev/ttyUSB2  quectel-usb  2c7c:0125 if02  usb 1-1  option  Quectel EG25-G  M66 M66FAR01A12 imei 866..."
func deviceLine(_ d: qssl_device) -> String {
    var parts = [fieldString(d.path), kindName(d)]
    if d.vid != 0 {
        parts.append(hex4(d.vid) + ":" + hex4(d.pid) + (d.interface >= 0 ? " if" + String(d.interface) : ""))
    }
    let usb = fieldString(d.usb_path)
    if !usb.isEmpty { parts.append("usb " + usb) }
    for f in [fieldString(d.driver), (fieldString(d.manufacturer) + " " + fieldString(d.product))] {
        let t = f.utf8.allSatisfy { $0 == 0x20 } ? "" : f
        if !t.isEmpty { parts.append(t) }
    }
    switch probeName(d) {
    case "quectel"?:
        parts.append(fieldString(d.model) + " " + fieldString(d.revision) + " imei " + fieldString(d.imei))
    case let p?: parts.append("probe: " + p)
    case nil: break
    }
    let byID = fieldString(d.by_id)
    if !byID.isEmpty { parts.append(byID) }
    var line = ""
    for (i, p) in parts.enumerated() { line += (i == 0 ? "" : "  ") + p }
    return line
}

func devicesOptions(probe: Bool, all: Bool, baud: Int32) -> qssl_devices_options {
    var o = qssl_devices_options()
    qssl_devices_options_init(&o)
    o.flags = (all ? UInt32(QSSL_DEVICES_ALL) : 0) | (probe ? UInt32(QSSL_DEVICES_PROBE) : 0)
    o.baud = baud
    return o
}

/// The ports present now (candidates, or all).
func listDevices(_ opts: qssl_devices_options) throws(Failure) -> [qssl_device] {
    var o = opts
    var list: UnsafeMutablePointer<UnsafeMutablePointer<qssl_device>?>? = nil
    let n = try check(qssl_devices(&o, &list), "listing serial ports")
    defer { qssl_devices_free(list) }
    var found: [qssl_device] = []
    for i in 0..<Int(n) {
        if let p = list?[i] { found.append(p.pointee) }
    }
    return found
}

/// The device to use when -d is not given: the only candidate port hot-plug detection finds.
func defaultDevice(baud: Int32) throws(Failure) -> String {
    let found = try listDevices(devicesOptions(probe: false, all: false, baud: baud))
    if found.isEmpty {
        throw Failure(status: Exit.device, message: "no modem found (no Quectel USB modem and no USB-UART bridge is "
                      + "plugged in; see qssl devices --all): give the port with -d PATH")
    }
    if found.count > 1 {
        var names = ""
        for (i, d) in found.enumerated() { names += (i == 0 ? "" : ", ") + fieldString(d.path) }
        throw Failure.usage("several candidate ports (" + names + "): choose one with -d PATH, -d imei:IMEI or "
                            + "-d usb:PATH (qssl devices --probe tells which is which)")
    }
    return fieldString(found[0].path)
}

func cmdDevices(_ args: [String], _ ctx: Context) throws(Failure) {
    var probe = false
    var all = false
    let ops = try commandOptions(args, """
        usage: qssl devices [--probe] [--all]
        The candidate serial ports present now: the AT port of each Quectel USB modem and every USB-UART bridge
        (FTDI, CP210x, CH340, PL2303) an M10/M66/M85/M95 may sit behind.
          --probe   ask each one (ATI, AT+GSN; at most 2 s per port): model, revision, IMEI; a port another
                    program holds is reported busy and left alone
          --all     every serial port, the modems' other interfaces and board UARTs too (kind "other")

        """, [LongOption(name: "probe", hasArgument: false, key: "p"),
              LongOption(name: "all", hasArgument: false, key: "a")]) { key, _ throws(Failure) in
        if key == "p" { probe = true }
        if key == "a" { all = true }
    }
    if ops.count > 1 { throw Failure.usage("devices takes no arguments") }
    let found = try listDevices(devicesOptions(probe: probe, all: all, baud: ctx.baud))
    if ctx.json {
        out(JSON.obj([("devices", .arr(found.map(deviceJSON)))]).text)
        return
    }
    if found.isEmpty { err("qssl devices: no candidate port" + (all ? "" : " (qssl devices --all lists every serial port)")) }
    for d in found { out(deviceLine(d)) }
}

func cmdWatch(_ args: [String], _ ctx: Context) throws(Failure) {
    var count = 0
    var timeoutMs = -1
    var all = false
    let ops = try commandOptions(args, """
        usage: qssl watch [--count N] [--timeout MS] [--all]
        Serial ports as they are plugged in and removed, one line each (with --json one JSON object per line:
        {"action": "add"|"remove", "device": {...}}). A removed port is described as it was when it came.
          --count N       stop after N events
          --timeout MS    stop after MS milliseconds without an event (exit 0)
          --all           every serial port, not only candidates

        """, [LongOption(name: "count", hasArgument: true, key: "c"),
              LongOption(name: "timeout", hasArgument: true, key: "t"),
              LongOption(name: "all", hasArgument: false, key: "a")]) { key, arg throws(Failure) in
        switch key {
        case "c": count = try integer(arg, "--count", 1...1_000_000)
        case "t": timeoutMs = try integer(arg, "--timeout", 0...86_400_000)
        case "a": all = true
        default: break
        }
    }
    if ops.count > 1 { throw Failure.usage("watch takes no arguments") }
    var o = devicesOptions(probe: false, all: all, baud: ctx.baud)
    var mon: OpaquePointer? = nil
    _ = try check(qssl_monitor_open(&mon, &o), "starting the udev monitor")
    defer { qssl_monitor_close(mon) }
    let source = qssl_monitor_source(mon) == Int32(QSSL_MONITOR_KERNEL.rawValue) ? "kernel uevents" : "udev"
    err("qssl watch: watching serial ports (" + source + ")")   // stderr: also the sign that events are seen now
    var seen = 0
    while count == 0 || seen < count {
        var ev = qssl_device_event()
        ev.size = UInt32(MemoryLayout<qssl_device_event>.size)
        let rc = qssl_monitor_next(mon, &ev, Int32(timeoutMs))
        if rc == QSSL_ETIMEDOUT.rawValue { return }
        _ = try check(rc, "waiting for a udev event")
        seen += 1
        let action = ev.action == Int32(QSSL_DEVICE_ADDED.rawValue) ? "add" : "remove"
        if ctx.json {
            out(JSON.obj([("action", .str(action)), ("device", deviceJSON(ev.device))]).text)
        } else {
            out(action + "  " + deviceLine(ev.device))
        }
    }
}
