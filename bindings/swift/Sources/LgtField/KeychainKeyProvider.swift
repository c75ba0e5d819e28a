// A KeyProvider over the iOS Keychain: a random 32-byte data key stored as a generic
// password, readable only while the device is unlocked and never migrated to another device.
// Not compiled on the project's Linux machines: see README.md.
import Foundation
import LgtCore
import Security

public final class KeychainKeyProvider: KeyProvider, @unchecked Sendable {
    private let service: String
    private let account: String

    /// `account` names the store (one key per store directory).
    public init(service: String = "cn.lgt.field.datakey", account: String) {
        self.service = service
        self.account = account
    }

    private var query: [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: account]
    }

    public func dataKey() throws -> Data {
        var lookup = query
        lookup[kSecReturnData as String] = true
        var item: CFTypeRef?
        switch SecItemCopyMatching(lookup as CFDictionary, &item) {
        case errSecSuccess:
            if let key = item as? Data { return key }
            throw unavailable("keychain.malformed")
        case errSecItemNotFound:
            return try createKey()
        default:
            throw unavailable("keychain.locked")
        }
    }

    public func destroyKey() throws {
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw unavailable("keychain.delete_failed")
        }
    }

    private func createKey() throws -> Data {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes) == errSecSuccess else {
            throw unavailable("keychain.random_failed")
        }
        let key = Data(bytes)
        var add = query
        add[kSecValueData as String] = key
        add[kSecAttrAccessible as String] = kSecAttrAccessibleWhenUnlockedThisDeviceOnly
        guard SecItemAdd(add as CFDictionary, nil) == errSecSuccess else {
            throw unavailable("keychain.add_failed")
        }
        return key
    }

    private func unavailable(_ code: String) -> LgtError {
        .KeyUnavailable(code: code, messageEn: "the Keychain did not supply the data key",
                        messageZh: "钥匙串未能提供数据密钥")
    }
}
