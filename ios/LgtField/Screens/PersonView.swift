import LgtCore
import SwiftUI

/// A person: who they are, their documents, where they live, their permits.
struct PersonView: View {
    let personId: String
    @EnvironmentObject var model: AppModel
    @State private var export: PersonExport?

    var body: some View {
        List {
            if let export {
                let person = export.person.person
                Section {
                    Text(person.name).font(.headline)
                    Text(L("person_line", codeLabel(.sex, person.sex), codeLabel(.ethnicity, person.ethnicity), person.birthDate))
                }
                Section(L("person_documents")) {
                    ForEach(export.person.identifiers, id: \.id) { identifier in
                        let line = codeLabel(.documentType, identifier.document.docType) + " " + identifier.document.number
                        Text(identifier.supersededAt == nil ? line : L("person_superseded", line))
                    }
                }
                Section(L("person_dwelling")) {
                    ForEach(export.registrations.filter { $0.status == .active }, id: \.id) { record in
                        NavigationLink(record.registration.dwelling.address, value: Route.dwelling(record.registration.dwelling.houseCode))
                        Text(L("person_moved_in", record.registration.movedIn, codeLabel(.reasonForStay, record.registration.reasonForStay))).font(.footnote)
                    }
                }
                Section(L("person_permits")) {
                    ForEach(export.permits, id: \.permit.id) { record in
                        NavigationLink((record.permit.number ?? L("permit_application")) + " · " + permitStateLabel(record.permit.state), value: Route.permit(record.permit.id))
                    }
                    if export.permits.allSatisfy({ $0.permit.state == .cancelled }) {
                        Button(L("person_apply")) {
                            model.run {
                                guard let core = model.core else { return }
                                let permit = try await core.permits.accept(personId: personId).permit
                                model.path.append(.permit(permit.id))
                            }
                        }
                    }
                }
            }
        }
        .privacySensitive()
        .navigationTitle(L("person_title"))
        // Audited by the core: opening a person is an access to their data.
        .task { model.run { export = try await model.core?.registrations.export(personId: personId) } }
    }
}

/// A dwelling and who lives there.
struct DwellingView: View {
    let houseCode: String
    @EnvironmentObject var model: AppModel
    @State private var record: DwellingRecord?

    var body: some View {
        List {
            if let record {
                Section {
                    Text(record.dwelling?.address ?? houseCode).font(.headline)
                    if let landlord = record.landlord { Text(L("dwelling_landlord", landlord.name)).font(.footnote) }
                }
                Section(L("dwelling_residents")) {
                    ForEach(record.registrations.filter { $0.status == .active }, id: \.id) { registration in
                        NavigationLink(registration.registration.person.name, value: Route.person(registration.personId))
                    }
                }
            }
            NavigationLink(L("dwelling_register"), value: Route.register(houseCode: houseCode))
        }
        .privacySensitive()
        .navigationTitle(L("dwelling_title"))
        .task { model.run { record = try await model.core?.registrations.dwelling(houseCode: houseCode) } }
    }
}

func permitStateLabel(_ state: PermitState) -> String {
    switch state {
    case .accepted: return L("permit_state_accepted")
    case .issued: return L("permit_state_issued")
    case .delivered: return L("permit_state_delivered")
    case .suspended: return L("permit_state_suspended")
    case .cancelled: return L("permit_state_cancelled")
    }
}

func verdictLabel(_ verdict: PermitVerdict) -> String {
    switch verdict {
    case .valid: return L("verdict_valid")
    case .forged: return L("verdict_forged")
    case .unknownIssuer: return L("verdict_unknown_issuer")
    case .expired: return L("verdict_expired")
    case .notYetValid: return L("verdict_not_yet_valid")
    case .cancelled: return L("verdict_cancelled")
    case .suspended: return L("verdict_suspended")
    }
}
