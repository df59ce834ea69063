//! Exogenous variables: columns of the panel and static and future values given beside it (plus
//! the generated features of [`crate::preprocess`]), turned into the numeric columns each model
//! reads through its `hist_exog_list`, `futr_exog_list` and `stat_exog_list`.

mod assemble;
mod tables;

pub(crate) use assemble::{check_static_values, future_values, Needs, Panel};
pub use tables::{FutureTable, StaticTable};
