//! Printers shared by the commands that report (`vnetlab … -o table`, the
//! `az` front, `vnetlab test`'s matrix). They sit below [`crate::cli`],
//! [`crate::az`] and [`crate::expect`] so that none of those imports
//! another to print a table.

mod table;

pub use table::{tabulate, write_table};
