package cn.lgt.app.screens

import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.row
import cn.lgt.core.types.PersonRecord

/** Several people found by a name: pick one. */
class PeopleScreen(private val people: List<PersonRecord>) : Screen() {
    override val title = R.string.people_title

    override fun build(root: LinearLayout) {
        people.forEach { record ->
            val dwelling = record.currentRegistration?.registration?.dwelling?.address.orEmpty()
            root.row(record.person.name + " · " + record.person.birthDate + " · " + dwelling, "person:${record.personId}") {
                host.show(PersonScreen(record.personId))
            }
        }
    }
}
