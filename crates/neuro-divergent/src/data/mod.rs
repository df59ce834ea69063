//! Long-format panel data (`unique_id, ds, y` plus extra columns): parsing, validation and
//! frequency handling.

mod arrivals;
mod builder;
mod columnar;
mod csv_input;
mod csv_reader;
mod decoder_guard;
mod ds_style;
mod fingerprint;
mod format;
mod frame;
mod freq;
mod id_index;
mod infer;
mod json_input;
mod line_numbers;
mod line_tracker;
mod order;
mod series_ds;
mod timestamp;
pub(crate) mod validate;

pub use csv_input::DS_FORMS;
pub(crate) use csv_input::{open_file, parse_ds, parse_number, CsvInput};
pub use csv_reader::{read_csv, read_csv_from};
pub use ds_style::{DateLayout, DsStyle, DsStyleVote, ZoneSuffix};
pub use fingerprint::DataFingerprint;
pub use format::{read_frame, read_frame_from, DataFormat};
pub use frame::{Row, Series, TimeSeriesFrame};
pub use freq::Freq;
pub(crate) use id_index::IdIndex;
pub(crate) use order::{permute, sort_order};
pub use series_ds::SeriesDs;
pub use timestamp::Timestamp;
