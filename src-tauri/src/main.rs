// A release build on Windows must not open a console next to the window.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Before any thread starts: see crates/grove-node/src/heaps.rs.
    grove_node::heaps::limit();
    grove_desktop::run();
}
