import LgtCore
import SwiftUI
import UIKit

/// A permit: state and log, the actions its state allows (each naming the version it was
/// decided on), the cancellation reason from the code table, and its signed QR shown and
/// verified offline.
struct PermitView: View {
    let permitId: String
    @EnvironmentObject var model: AppModel
    @State private var record: PermitRecord?
    @State private var number = ""
    @State private var reason = "3"
    @State private var qr: UIImage?
    @State private var qrText: String?
    @State private var verdict: String?

    var body: some View {
        List {
            if let record {
                let permit = record.permit
                Section {
                    Text(permit.number ?? L("permit_application")).font(.headline)
                    Text(permitStateLabel(permit.state))
                    if let due = permit.endorsementDue { Text(L("permit_endorse_by", due)).font(.footnote) }
                    if let reason = permit.cancelReason { Text(L("permit_cancelled_for", codeLabel(.cancellationReason, reason))).font(.footnote) }
                }
                Section { actions(permit) }
                if permit.state != .cancelled {
                    Section(L("permit_cancel_heading")) {
                        Picker(L("permit_cancel_reason"), selection: $reason) {
                            ForEach(codeTable(id: .cancellationReason).entries, id: \.code) { Text(chinese ? $0.zh : $0.en).tag($0.code) }
                        }
                        Button(L("permit_cancel"), role: .destructive) { apply(.cancel(reason: reason)) }
                    }
                }
                if let qr {
                    Section {
                        Image(uiImage: qr).interpolation(.none).resizable().scaledToFit().frame(width: 240, height: 240)
                        Button(L("permit_verify")) { verify() }
                        if let verdict { Text(verdict).font(.footnote) }
                    }
                }
                Section(L("permit_log")) {
                    ForEach(record.events, id: \.version) { Text($0.occurredOn + " · " + eventLabel($0.event)).font(.footnote) }
                }
            }
        }
        .privacySensitive()
        .navigationTitle(L("permit_title"))
        .task { model.run { try await show(model.core?.permits.show(permitId: permitId)) } }
    }

    @ViewBuilder private func actions(_ permit: Permit) -> some View {
        switch permit.state {
        case .accepted:
            TextField(L("permit_number"), text: $number)
            Button(L("permit_issue")) { apply(.issue(number: number.trimmingCharacters(in: .whitespaces))) }
        case .issued: Button(L("permit_deliver")) { apply(.deliver) }
        case .delivered:
            Button(L("permit_endorse")) { apply(.endorse) }
            Button(L("permit_suspend")) { apply(.suspend) }
        case .suspended: Button(L("permit_restore")) { apply(.restore) }
        case .cancelled: EmptyView()
        }
    }

    private func show(_ shown: PermitRecord?) async throws {
        guard let core = model.core, let shown else { return }
        record = shown
        if shown.permit.state == .accepted, number.isEmpty { number = try await core.sync.nextPermitNumber() ?? "" }
        if shown.permit.state == .issued || shown.permit.state == .delivered {
            let text = try await core.permits.qrCode(permitId)
            qrText = text
            qr = image(try renderQr(text: text, modulePx: 6))
        } else {
            qr = nil
        }
    }

    private func apply(_ event: PermitEvent) {
        guard let core = model.core, let version = record?.permit.version else { return }
        model.run {
            let changed = try await core.permits.apply(event, to: permitId, baseVersion: version)
            BackgroundSync.schedule(afterMs: 0)
            try await show(changed)
        }
    }

    private func verify() {
        guard let core = model.core, let qrText else { return }
        model.run {
            let result = try await core.scanner().interpret(qrText, format: .qr)
            verdict = result.permit.map { verdictLabel($0.verdict) }
        }
    }

    /// The core's grey pixels as an image.
    private func image(_ qr: QrImage) -> UIImage? {
        let size = Int(qr.size)
        guard let provider = CGDataProvider(data: qr.pixels as CFData),
              let cg = CGImage(width: size, height: size, bitsPerComponent: 8, bitsPerPixel: 8, bytesPerRow: size,
                               space: CGColorSpaceCreateDeviceGray(), bitmapInfo: CGBitmapInfo(rawValue: 0),
                               provider: provider, decode: nil, shouldInterpolate: false, intent: .defaultIntent)
        else { return nil }
        return UIImage(cgImage: cg)
    }

    private func eventLabel(_ event: PermitEvent) -> String {
        switch event {
        case .accept: return L("event_accept")
        case .issue: return L("event_issue")
        case .deliver: return L("event_deliver")
        case .endorse: return L("event_endorse")
        case .suspend: return L("event_suspend")
        case .restore: return L("event_restore")
        case .changeAddress: return L("event_change_address")
        case .cancel: return L("event_cancel")
        }
    }
}
