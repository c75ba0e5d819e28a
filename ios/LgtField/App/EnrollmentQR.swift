import Foundation

/// The supervisor's enrollment QR, as the Android app reads it (EnrollmentQr.kt):
/// `lgt-enroll:?server=...&pin=sha256%2F...&code=...&root=<hex>` (pins and roots repeatable).
struct EnrollmentQR {
    let server: String
    let pins: [String]
    let code: String
    let watchlistRoots: [Data]

    static let prefix = "lgt-enroll:?"

    static func parse(_ text: String) -> EnrollmentQR? {
        guard text.hasPrefix(prefix) else { return nil }
        let pairs: [(String, String)] = text.dropFirst(prefix.count).split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = parts[1].removingPercentEncoding else { return nil }
            return (parts[0], value)
        }
        func all(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }
        guard all("server").count == 1, all("code").count == 1 else { return nil }
        var roots: [Data] = []
        for hex in all("root") {
            guard let bytes = Data(hex: hex) else { return nil }
            roots.append(bytes)
        }
        return EnrollmentQR(server: all("server")[0], pins: all("pin"), code: all("code")[0], watchlistRoots: roots)
    }
}

extension Data {
    init?(hex: String) {
        guard hex.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
