import LgtCore
import SwiftUI

/// Enrollment: scan the supervisor's QR (or type what it says).
struct EnrollView: View {
    @EnvironmentObject var model: AppModel
    @State private var scanning = false
    @State private var server = ""
    @State private var pin = ""
    @State private var code = ""

    var body: some View {
        Form {
            Text(L("enroll_intro"))
            Button(L("enroll_scan")) {
                model.run {
                    try await model.unlock()
                    scanning = true
                }
            }
            Section(L("enroll_or_type")) {
                TextField(L("enroll_server"), text: $server).textInputAutocapitalization(.never).keyboardType(.URL)
                TextField(L("enroll_pin"), text: $pin).textInputAutocapitalization(.never)
                TextField(L("enroll_code"), text: $code).textInputAutocapitalization(.never)
                Button(L("enroll_submit")) {
                    let pins = pin.isEmpty ? [] : [pin.trimmingCharacters(in: .whitespaces)]
                    enroll(EnrollmentQR(server: server.trimmingCharacters(in: .whitespaces), pins: pins, code: code, watchlistRoots: []))
                }
            }
        }
        .navigationTitle(L("enroll_title"))
        .navigationDestination(isPresented: $scanning) {
            ScanView(title: L("scan_enroll_title"), hint: L("scan_enroll_hint")) { result in
                if let qr = EnrollmentQR.parse(result.text) { enroll(qr) } else { model.message = L("enroll_not_a_code") }
            }
        }
    }

    private func enroll(_ qr: EnrollmentQR) {
        model.message = L("enroll_running")
        model.run { try await model.enroll(qr) }
    }
}

/// The store is closed: unlock it (the Keychain item is readable only while the phone is unlocked), or wipe it.
struct LockedView: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        Form {
            Text(L("locked_explain"))
            Button(L("unlock")) { model.run { try await model.unlock() } }
            WipeButton()
        }
        .navigationTitle(L("locked_title"))
    }
}

/// Lock now, or wipe (asked twice).
struct LockView: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        Form {
            Text(L("lock_explain")).font(.footnote)
            Button(L("lock_now")) { model.lock() }
            Text(L("wipe_explain")).font(.footnote)
            WipeButton()
        }
        .navigationTitle(L("lock_title"))
    }
}

struct WipeButton: View {
    @EnvironmentObject var model: AppModel
    @State private var confirming = false

    var body: some View {
        Button(L("wipe")) { confirming = true }
        if confirming {
            Button(L("wipe_confirm"), role: .destructive) { Task { await model.wipe() } }
        }
    }
}
