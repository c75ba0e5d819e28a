import LgtCore
import SwiftUI

/// Register a person: scan the document or the door plate, or type; each of the core's issues
/// is shown under its field, and what was typed stays for the fix.
struct RegisterView: View {
    let houseCode: String?
    @EnvironmentObject var model: AppModel
    @State private var text: [String: String] = ["moved_in": ISO8601DateFormatter.string(from: Date(), timeZone: .current, formatOptions: [.withFullDate])]
    @State private var codes: [String: String] = ["person.sex": "1", "person.ethnicity": "01", "document.type": "1", "dwelling.housing_type": "3", "reason_for_stay": "1", "occupation": "1"]
    @State private var errors: [String: String] = [:]
    @State private var scanning: (title: String, hint: String)?

    var body: some View {
        Form {
            Section {
                Button(L("register_scan_document")) { scanning = (L("scan_document_title"), L("scan_document_hint")) }
                Button(L("register_scan_plate")) { scanning = (L("scan_plate_title"), L("scan_plate_hint")) }
            }
            Section(L("register_person")) {
                field("person.name", L("field_name"))
                picker("person.sex", L("field_sex"), .sex)
                picker("person.ethnicity", L("field_ethnicity"), .ethnicity)
                field("person.birth_date", L("field_birth_date"))
                picker("document.type", L("field_document_type"), .documentType)
                field("document.number", L("field_document_number"))
                field("household_address", L("field_household_address"))
                field("contact_phone", L("field_phone"))
            }
            Section(L("register_dwelling")) {
                field("dwelling.house_code", L("field_house_code"))
                field("dwelling.address", L("field_address"))
                picker("dwelling.housing_type", L("field_housing_type"), .housingType)
                field("moved_in", L("field_moved_in"))
                picker("reason_for_stay", L("field_reason"), .reasonForStay)
                picker("occupation", L("field_occupation"), .occupation)
            }
            Button(L("register_submit"), action: submit)
        }
        .privacySensitive()
        .navigationTitle(L("register_title"))
        .onAppear { if let houseCode, text["dwelling.house_code"] == nil { text["dwelling.house_code"] = houseCode } }
        .navigationDestination(isPresented: Binding(get: { scanning != nil }, set: { if !$0 { scanning = nil } })) {
            ScanView(title: scanning?.title ?? "", hint: scanning?.hint ?? "", onResult: onScanned)
        }
    }

    private func field(_ key: String, _ label: String) -> some View {
        VStack(alignment: .leading) {
            TextField(label, text: Binding(get: { text[key] ?? "" }, set: { text[key] = $0 }))
            if let error = errors[key] { Text(error).font(.footnote).foregroundColor(Color(red: 0.69, green: 0, blue: 0.13)) }
        }
    }

    private func picker(_ key: String, _ label: String, _ table: CodeTableId) -> some View {
        VStack(alignment: .leading) {
            Picker(label, selection: Binding(get: { codes[key] ?? "" }, set: { codes[key] = $0 })) {
                ForEach(codeTable(id: table).entries, id: \.code) { entry in Text(chinese ? entry.zh : entry.en).tag(entry.code) }
            }
            if let error = errors[key] { Text(error).font(.footnote).foregroundColor(Color(red: 0.69, green: 0, blue: 0.13)) }
        }
    }

    private func value(_ key: String) -> String { (text[key] ?? "").trimmingCharacters(in: .whitespaces) }
    private func optional(_ key: String) -> String? { value(key).isEmpty ? nil : value(key) }

    private func submit() {
        guard let core = model.core else { return }
        let input = RegistrationInput(
            person: PersonInput(name: value("person.name"), formerName: nil, sex: codes["person.sex"]!, ethnicity: codes["person.ethnicity"]!, birthDate: optional("person.birth_date")),
            document: DocumentInput(docType: codes["document.type"]!, number: value("document.number")),
            householdAddress: value("household_address"),
            dwelling: Dwelling(houseCode: value("dwelling.house_code"), address: value("dwelling.address"), housingType: codes["dwelling.housing_type"]!),
            movedIn: value("moved_in"), expectedStayUntil: nil,
            reasonForStay: codes["reason_for_stay"]!, occupation: codes["occupation"]!,
            employer: nil, landlord: nil, householder: nil, contactPhone: optional("contact_phone"))
        errors = [:]
        Task {
            do {
                let receipt = try await core.registrations.register(input)
                model.visited.append((receipt.personId, value("person.name")))
                BackgroundSync.schedule(afterMs: 0)
                model.path.removeLast()
                model.path.append(.person(receipt.personId))
            } catch let LgtError.Invalid(_, _, _, fields) {
                for (field, issues) in Dictionary(grouping: fields, by: \.field) {
                    errors[field] = issues.map { chinese ? $0.messageZh : $0.messageEn }.joined(separator: "；")
                }
                model.message = L("register_fix")
            } catch let error as LgtError {
                model.message = error.userMessage
            }
        }
    }

    private func onScanned(_ result: ScanResult) {
        switch result.payload {
        case .idNumber(let info):
            codes["document.type"] = "1"
            text["document.number"] = info.number
            text["person.birth_date"] = info.birthDate
            codes["person.sex"] = info.sex == .male ? "1" : "2"
        case .invalidIdNumber(let issue):
            text["document.number"] = result.text.trimmingCharacters(in: .whitespaces)
            errors["document.number"] = chinese ? issue.messageZh : issue.messageEn
        case .doorPlate(let houseCode, let address):
            text["dwelling.house_code"] = houseCode
            if let address { text["dwelling.address"] = address }
        default:
            model.message = L("scan_unknown")
        }
    }
}
