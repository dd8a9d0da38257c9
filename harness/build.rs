//! Rebuilds djbench when a file it embeds changes (`assets.rs` embeds these folders; a
//! proc macro cannot tell Cargo so on stable Rust).
fn main() {
    println!("cargo:rerun-if-changed=../django_sample");
    println!("cargo:rerun-if-changed=../scenarios");
    println!("cargo:rerun-if-changed=../fixtures/seed");
}
