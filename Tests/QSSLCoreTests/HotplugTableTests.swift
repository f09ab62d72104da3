import QSSLCore
import Testing

@Suite struct HotplugTableTests {
    let table = USBTable.standard

    @Test func ec25OnlyInterface2IsTheATPort() {
        #expect(table.classify(vid: 0x2C7C, pid: 0x0125, interface: 2) == .quectelUSB)
        for i in [0, 1, 3, 4, -1] { #expect(table.classify(vid: 0x2C7C, pid: 0x0125, interface: i) == .other) }
    }

    @Test(arguments: [(0x2C7C, 0x0121, 2), (0x2C7C, 0x0296, 2), (0x05C6, 0x9215, 2), (0x2C7C, 0x0128, 5)])
    func quectelATInterfaces(_ row: (Int, Int, Int)) {
        let (v, p, i) = row
        #expect(table.classify(vid: UInt16(v), pid: UInt16(p), interface: i) == .quectelUSB)
        #expect(table.classify(vid: UInt16(v), pid: UInt16(p), interface: i + 1) == .other)
    }

    @Test(arguments: [(0x0403, 0x6001), (0x0403, 0x6015), (0x10C4, 0xEA60), (0x1A86, 0x7523), (0x067B, 0x2303)])
    func bridgesAreCandidatesOnAnyInterface(_ id: (Int, Int)) {
        #expect(table.classify(vid: UInt16(id.0), pid: UInt16(id.1), interface: 0) == .bridge)
        #expect(table.classify(vid: UInt16(id.0), pid: UInt16(id.1), interface: 1) == .bridge)
    }

    @Test func unknownIdsAreOther() {
        #expect(table.classify(vid: 0x1D6B, pid: 0x0002, interface: 0) == .other)
        #expect(table.classify(vid: 0, pid: 0, interface: -1) == .other)
    }

    @Test func callersExtendReplaceAndRemove() {
        var t = table
        t.add(USBIDEntry(vid: 0x1234, pid: 0x5678, kind: .quectelUSB, atInterface: 3))
        #expect(t.classify(vid: 0x1234, pid: 0x5678, interface: 3) == .quectelUSB)
        t.add(USBIDEntry(vid: 0x2C7C, pid: 0x0125, kind: .quectelUSB, atInterface: 3))
        #expect(t.classify(vid: 0x2C7C, pid: 0x0125, interface: 3) == .quectelUSB)
        #expect(t.classify(vid: 0x2C7C, pid: 0x0125, interface: 2) == .other)
        t.add(USBIDEntry(vid: 0x0403, pid: 0x6001, kind: .other))
        #expect(t.classify(vid: 0x0403, pid: 0x6001, interface: 0) == .other)
        #expect(t.entries.count == table.entries.count)
        // The standard table is a value: unchanged.
        #expect(table.classify(vid: 0x0403, pid: 0x6001, interface: 0) == .bridge)
    }

    @Test func sysfsHex() {
        #expect(HotplugText.hex("2c7c") == 0x2C7C)
        #expect(HotplugText.hex("02") == 2)
        #expect(HotplugText.hex(" 5") == 5)
        #expect(HotplugText.hex("EA60\n") == nil)
        #expect(HotplugText.hex("zz") == nil)
        #expect(HotplugText.hex("") == nil)
        #expect(HotplugText.hex(nil) == nil)
    }

    @Test func atiOfAQuectel() throws {
        let m66 = try #require(HotplugText.parseATI(["Quectel_Ltd", "Quectel_M66", "Revision: M66FAR01A12"]))
        #expect(m66.model == "M66")
        #expect(m66.revision == "M66FAR01A12")
        let ec25 = try #require(HotplugText.parseATI(["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"]))
        #expect(ec25.model == "EC25")
        #expect(ec25.revision == "EC25EFAR06A06M4G")
        #expect(HotplugText.parseATI(["SIMCOM_Ltd", "SIMCOM_SIM800", "Revision:1418B04SIM800L24"]) == nil)
        #expect(HotplugText.parseATI([]) == nil)
    }

    @Test func imeiAndIdentities() throws {
        #expect(HotplugText.parseIMEI(["", "866000000000001"]) == "866000000000001")
        #expect(HotplugText.parseIMEI(["86600000000000"]) == nil)
        #expect(try DeviceIdentity.parse("imei:866000000000001") == .imei("866000000000001"))
        #expect(try DeviceIdentity.parse("usb:1-1.3") == .usbPath("1-1.3"))
        #expect(try DeviceIdentity.parse("/dev/ttyUSB0") == nil)
        #expect(throws: QsslError.invalidArgument) { try DeviceIdentity.parse("imei:12345") }
        #expect(throws: QsslError.invalidArgument) { try DeviceIdentity.parse("imei:86600000000000x") }
        #expect(throws: QsslError.invalidArgument) { try DeviceIdentity.parse("usb:") }
        #expect(throws: QsslError.invalidArgument) { try DeviceIdentity.parse("usb:1-1/../x") }
    }
}
