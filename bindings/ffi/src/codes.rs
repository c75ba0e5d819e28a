//! Code tables, for the pickers of the registration form. Static data: no store needed.

use lgt_core::codes::{self, CodeTable, CodeTableId};

/// The current version of one code table.
#[uniffi::export]
pub fn code_table(id: CodeTableId) -> CodeTable {
    codes::table(id).clone()
}
