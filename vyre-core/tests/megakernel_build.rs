//! The megakernel program validates with and without payloads.
use vyre_core::megakernel::kernel::build_kernel;

#[test]
fn kernel_without_payloads_validates() {
    let p = build_kernel("mk", &[], 64, false).unwrap();
    if let Err(d) = vyre_core::validate::validate(&p) {
        panic!("{p}\n{d:#?}");
    }
}
