//! Prints the configuration reference table:
//! `cargo run -p tally-config --example reference > config/README-reference.md`.

fn main() {
    print!("{}", tally_config::reference_markdown());
}
