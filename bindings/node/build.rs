//! Emits the link settings a Node.js addon needs.

fn main() {
    napi_build::setup();
}
