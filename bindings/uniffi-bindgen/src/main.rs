//! UniFFI's bindings generator, pinned to the scaffolding's version (the generated code checks
//! the contract version when it loads). See `bindings/generate.sh`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
