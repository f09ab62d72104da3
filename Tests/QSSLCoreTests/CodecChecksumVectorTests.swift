import QSSLCore
import Testing

/// The upload checksum against values real modules printed (spec/facts.md), with the files they printed them
/// for: independent of the virtual module, which uses the same code.
@Suite struct CodecChecksumVectorTests {
    /// Amazon Root CA 1 (public root certificate), LF endings, with its final newline.
    static let amazonRootCA1 = """
-----BEGIN CERTIFICATE-----
MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF
ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6
b24gUm9vdCBDQSAxMB4XDTE1MDUyNjAwMDAwMFoXDTM4MDExNzAwMDAwMFowOTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJv
b3QgQ0EgMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALJ4gHHKeNXj
ca9HgFB0fW7Y14h29Jlo91ghYPl0hAEvrAIthtOgQ3pOsqTQNroBvo3bSMgHFzZM
9O6II8c+6zf1tRn4SWiw3te5djgdYZ6k/oI2peVKVuRF4fn9tBb6dNqcmzU5L/qw
IFAGbHrQgLKm+a/sRxmPUDgH3KKHOVj4utWp+UhnMJbulHheb4mjUcAwhmahRWa6
VOujw5H5SNz/0egwLX0tdHA114gk957EWW67c4cX8jJGKLhD+rcdqsq08p8kDi1L
93FcXmn/6pUCyziKrlA4b9v7LWIbxcceVOF34GfID5yHI9Y/QCB/IIDEgEw+OyQm
jgSubJrIqg0CAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMC
AYYwHQYDVR0OBBYEFIQYzIU07LwMlJQuCFmcx7IQTgoIMA0GCSqGSIb3DQEBCwUA
A4IBAQCY8jdaQZChGsV2USggNiMOruYou6r4lK5IpDB/G/wkjUu0yKGX9rbxenDI
U5PMCCjjmCXPI6T53iHTfIUJrU6adTrCC2qJeHZERxhlbI1Bjjt/msv0tadQ1wUs
N+gDS63pYaACbvXy8MWy7Vu33PqUXHeeE6V/Uq2V8viTO96LXFvKWlJbYK8U90vv
o/ufQJVtMVT8QtPHRh8jrdkPSHCa2XV4cdFyQzR1bldZwgJcJmApzyMZFo6IQ6XU
5MsI+yMRQ+hDKXJioaldXgjUkK642M4UwtBV8ob2xJNDd2ZhwLnoQdeXeGADbkpy
rqXRfboQnoZsG4q5WTP468SQvvG5
-----END CERTIFICATE-----
""" + "\n"

    /// bacnh85/Quectel-AT-Examples "2G IoT Module/mosquitoo/CA" (a test CA of Quectel's MQTT demo).
    static let mosquittoCA = """
-----BEGIN CERTIFICATE-----
MIIEEDCCAvigAwIBAgIJANFLsARF5DA2MA0GCSqGSIb3DQEBCwUAMIGbMQswCQYD
VQQGEwJjbjEOMAwGA1UECAwFYW5odWkxDjAMBgNVBAcMBWhlZmVpMRAwDgYDVQQK
DAdxdWVjdGVsMRcwFQYDVQQLDA4xOTIuMTY4LjIxLjI0ODEgMB4GA1UEAwwXanN1
dGluLnpob3VAcXVlY3RlbC5jb20xHzAdBgkqhkiG9w0BCQEWEG1haWwucXVlY3Rl
bC5jb20wIBcNMTcwNDEyMTI0ODMxWhgPMjExNzAzMTkxMjQ4MzFaMIGbMQswCQYD
VQQGEwJjbjEOMAwGA1UECAwFYW5odWkxDjAMBgNVBAcMBWhlZmVpMRAwDgYDVQQK
DAdxdWVjdGVsMRcwFQYDVQQLDA4xOTIuMTY4LjIxLjI0ODEgMB4GA1UEAwwXanN1
dGluLnpob3VAcXVlY3RlbC5jb20xHzAdBgkqhkiG9w0BCQEWEG1haWwucXVlY3Rl
bC5jb20wggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDa+IKPMN5OQkiO
mRzeDVNW1/5xht3BrSxsDwTJyu5PwnfocDngendVOfI6eTOHatcxz8OVVZjDjJFD
mkSWBy/HI4HrR3qrCATH6XeugufeF+dp0IxiBC+ziporSNlBkSgYcx1M6ovI7/f4
j9aUkH9u/kSbBFUhvzWvi95WtM8KlNbf4bj+QaldG5UV7mpbZ88hcDGjRzHmLNqp
vR6QcOITxwYwJpSati3g/xghYRk0z7LG38DCKZM9q6e9hIgQ0ZIhijMpjj59Tfz2
II3b0g8npzVLqziH5ShnwkaUrE+3YQcUNtQTjZiVLu2sJBSbBx1Favp6ETTfFkds
gl2A3qvhAgMBAAGjUzBRMB0GA1UdDgQWBBTREWd3Du80r40F8xTa/DWViZs9WTAf
BgNVHSMEGDAWgBTREWd3Du80r40F8xTa/DWViZs9WTAPBgNVHRMBAf8EBTADAQH/
MA0GCSqGSIb3DQEBCwUAA4IBAQCgpEJYlETyEioxv9qvO0yn9TNvzIa7Ezr/i8ib
P+sF/jYjpMToI2+JAq4s8ht8b3UEkfYr/6rjswSEvyL3XHgCCrFxwHyIPovTjgtV
QLVbUOwxRNtTLhGlOk+T8pW2O5Nuw8YF5H1GZFLHRPcHFLqIco2afwupjRmi8x2+
jrhvM+AB0vhs+4wTtkjzvdxafMV5eRPovd7hlK2eSRwLY00N7N2J2f2u96sDbVsa
mTfSF86LXxMyK0rnfsDEoqjE4H0+4JlavpVeD3Wc1M+o5fm+yL1dBZS5HrBVQXHV
ffawVV7w2QPGa10R83jihg2NPl/fUZ55t48tcawsM9T8BwhF
-----END CERTIFICATE-----
""" + "\n"

    /// The same repository's "CC" (client certificate for that demo).
    static let mosquittoCC = """
-----BEGIN CERTIFICATE-----
MIIDrDCCApQCCQDap/pt+urfQzANBgkqhkiG9w0BAQsFADCBmzELMAkGA1UEBhMC
Y24xDjAMBgNVBAgMBWFuaHVpMQ4wDAYDVQQHDAVoZWZlaTEQMA4GA1UECgwHcXVl
Y3RlbDEXMBUGA1UECwwOMTkyLjE2OC4yMS4yNDgxIDAeBgNVBAMMF2pzdXRpbi56
aG91QHF1ZWN0ZWwuY29tMR8wHQYJKoZIhvcNAQkBFhBtYWlsLnF1ZWN0ZWwuY29t
MCAXDTE3MDQxMzAyNTU1NVoYDzIxMTcwMzIwMDI1NTU1WjCBkTELMAkGA1UEBhMC
Y24xDjAMBgNVBAgMBWFuaHVpMQ4wDAYDVQQHDAVoZWZlaTEQMA4GA1UECgwHcXVl
Y3RlbDEPMA0GA1UECwwGanVzdGluMRcwFQYDVQQDDA4xOTIuMTY4LjIxLjI0ODEm
MCQGCSqGSIb3DQEJARYXanVzdGluLnpob3VAcXVlY3RlbC5jb20wggEiMA0GCSqG
SIb3DQEBAQUAA4IBDwAwggEKAoIBAQCuggWwTcdoTC/YuDxzBN2/jPvNFoAt5k2z
96ulxVSvw7oz3Vb/b6VT6hsHyqSfgwR+1Jl6IO6ane20rbAba63wJ6EE/5lne96+
y211SeLhk2sV4jD8lxOSkpjoncHqPFFjo18k0/wdAijgDSMMjgtkrO9V4H3p7weC
oBjnMPTaxCgCfPutNc9Acu9pRabLd/t3J1F5vwobGU0ImuKF1dzqujrtmZZvv/c2
4g1YQeOfVnrfLAWdzU7tq5vg45KVSIz1PCt7sgIuxve667iGZMXuoxvb88lIVO8P
2Jon65I6YsvAUeOIrhJpiMkLayfRWwRtT97GK43JNiR2cxzt10XBAgMBAAEwDQYJ
KoZIhvcNAQELBQADggEBAHF6Umekk8DZ1yb5pbxhZnZmccWd/StuLUzS43Kk4EiE
uuXpsxEb4XYGo1gdc3euS5UsDTvKCVa8NdM70YBIV9hUQHD7qiyVp+SfLoclByjZ
ubFpcwyUICvi+Nv8tKYTQUJ9VtWME+VdlmHAH2hX5RlF88H4FsuGQPJOiJ3WFJFW
hMmXflidTKUDbDJwWxEWFklv0ncxnxXkzWjePX+Q/xdm8O6aapudIH68d6V+ch04
Aud9w4fgF9FcBwBaHlWNIbl/ONbUZzyftsVMYjwMcNkEtODJnxFNUE7HvQjv053G
5C3B3VMBaXZ027t7QY25R2A63Nyeez9TmRIBcauZYXU=
-----END CERTIFICATE-----
""" + "\n"

    static func crlf(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        for b in s.utf8 {
            if b == 0x0A { out.append(0x0D) }
            out.append(b)
        }
        return out
    }

    /// One vector: size and checksum as the module printed them, in every chunking the upload could have.
    static func check(_ bytes: [UInt8], size: Int, hex: String) {
        #expect(bytes.count == size)
        #expect(hexString(UploadChecksum.of(bytes)) == hex)
        for step in [1, 3, 64, 1460] {
            var c = UploadChecksum()
            var i = 0
            while i < bytes.count {
                let n = min(step, bytes.count - i)
                c.update(Array(bytes[i..<(i + n)]))
                i += n
            }
            #expect(c.hex == hex, "chunks of \(step)")
        }
    }

    @Test func amazonRootCAWithAndWithoutFinalNewline() {
        let lf = Array(Self.amazonRootCA1.utf8)
        Self.check(lf, size: 1188, hex: "2d13")
        // 1187 bytes: an odd last byte is the high byte of a final word.
        Self.check(Array(lf.dropLast()), size: 1187, hex: "2d19")
    }

    @Test func crlfFilesOfARealM95Log() {
        Self.check(Self.crlf(Self.mosquittoCA), size: 1492, hex: "2554")
        Self.check(Self.crlf(Self.mosquittoCC), size: 1356, hex: "1629")
    }

    @Test func moduleStyleHex() {
        #expect(hexString(0x013b) == "13b" && hexString(0x0618) == "618" && hexString(0) == "0")
        #expect(parseHex16("2D13") == 0x2d13 && parseHex16("12345") == nil && parseHex16("g") == nil)
    }
}
