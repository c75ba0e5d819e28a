import Foundation
import LgtCore

/// A string of Localizable.strings (zh-Hans first, en beside; made from the Android app's
/// res/values by ios/strings-from-android.py), formatted with [args].
func L(_ key: String, _ args: CVarArg...) -> String {
    let format = NSLocalizedString(key, comment: "")
    return args.isEmpty ? format : String(format: format, arguments: args)
}

/// Whether the UI speaks Chinese.
var chinese: Bool { Locale.preferredLanguages.first?.hasPrefix("zh") ?? true }

extension LgtError {
    /// The core's message in the UI's language (never holds a personal value). Every case
    /// carries `messageEn` and `messageZh`; they are read by label.
    var userMessage: String {
        let payload = Mirror(reflecting: self).children.first?.value
        let label = chinese ? "messageZh" : "messageEn"
        let message = payload.flatMap { Mirror(reflecting: $0).children.first { $0.label == label }?.value as? String }
        return message ?? L("error_unknown")
    }
}

/// The label of a code in one of the core's code tables, in the UI's language.
func codeLabel(_ table: CodeTableId, _ code: String) -> String {
    guard let entry = codeTable(id: table).entries.first(where: { $0.code == code }) else { return code }
    return chinese ? entry.zh : entry.en
}
