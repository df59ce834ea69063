//! `ds` values as other tools write them: ISO 8601 with `T`, fractional seconds, `Z` and
//! offsets (normalised to UTC), slashed and day-first dates; forecasts, cross-validation and
//! checkpoints write them back in the input's style.

mod common;

use neuro_divergent::data::{read_csv_from, TimeSeriesFrame};
use neuro_divergent::{FitOptions, Forecasts, NeuralForecast};

/// Thirty hourly points starting at 2020-01-01 00:00 UTC, each written by `ds(hour)`.
fn hourly(ds: impl Fn(u32) -> String) -> TimeSeriesFrame {
    let mut text = String::from("unique_id,ds,y\n");
    for hour in 0..30 {
        let y = f64::from(hour % 24) + 10.0;
        text.push_str(&format!("s,{},{y}\n", ds(hour)));
    }
    read_csv_from(text.as_bytes(), "hourly.csv", None).unwrap()
}

/// Day `hour / 24 + 1` of January 2020 and the hour of that day.
fn day_hour(hour: u32) -> (u32, u32) {
    (hour / 24 + 1, hour % 24)
}

/// Writes the `ds` of an hour after 2020-01-01 00:00 UTC.
type Writer<'a> = &'a dyn Fn(u32) -> String;

fn fitted(frame: &TimeSeriesFrame) -> NeuralForecast {
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 3, 6, 5)], None).unwrap();
    nf.fit(frame, FitOptions::default(), None).unwrap();
    nf
}

fn csv(forecasts: &Forecasts) -> String {
    let mut out = Vec::new();
    forecasts.write_csv(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The `ds` column of a forecast CSV.
fn ds_column(forecasts: &Forecasts) -> Vec<String> {
    csv(forecasts)
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn forecasts_are_written_in_the_inputs_style() {
    let cases: [(Writer, [&str; 3]); 5] = [
        (
            &|h| {
                let (d, h) = day_hour(h);
                format!("2020-01-{d:02}T{h:02}:00:00Z")
            },
            [
                "2020-01-02T06:00:00Z",
                "2020-01-02T07:00:00Z",
                "2020-01-02T08:00:00Z",
            ],
        ),
        (
            &|h| {
                let (d, h) = day_hour(h);
                format!("2020-01-{d:02}T{h:02}:00:00.000000")
            },
            [
                "2020-01-02T06:00:00.000000",
                "2020-01-02T07:00:00.000000",
                "2020-01-02T08:00:00.000000",
            ],
        ),
        (
            // pandas writes zoned times with an offset; they are converted to UTC.
            &|h| {
                let (d, h) = day_hour(h + 1);
                format!("2020-01-{d:02} {h:02}:00:00+01:00")
            },
            [
                "2020-01-02 06:00:00+00:00",
                "2020-01-02 07:00:00+00:00",
                "2020-01-02 08:00:00+00:00",
            ],
        ),
        (
            &|h| {
                let (d, h) = day_hour(h);
                format!("{d:02}.01.2020 {h:02}:00")
            },
            ["02.01.2020 06:00", "02.01.2020 07:00", "02.01.2020 08:00"],
        ),
        (
            &|h| {
                let (d, h) = day_hour(h);
                format!("2020/01/{d:02} {h:02}:00:00")
            },
            [
                "2020/01/02 06:00:00",
                "2020/01/02 07:00:00",
                "2020/01/02 08:00:00",
            ],
        ),
    ];
    let plain = fitted(&hourly(|h| {
        let (d, h) = day_hour(h);
        format!("2020-01-{d:02} {h:02}:00:00")
    }))
    .predict(None)
    .unwrap();
    assert_eq!(ds_column(&plain)[0], "2020-01-02 06:00:00");
    for (write, expected) in cases {
        let frame = hourly(write);
        let forecasts = fitted(&frame).predict(None).unwrap();
        assert_eq!(ds_column(&forecasts), expected);
        // The same instants and values: the style changes the text only.
        assert_eq!(forecasts.ds, plain.ds);
        assert_eq!(forecasts.values, plain.values);
    }
}

#[test]
fn cross_validation_and_checkpoints_keep_the_style() {
    let frame = hourly(|h| {
        let (d, h) = day_hour(h);
        format!("2020-01-{d:02}T{h:02}:00:00Z")
    });
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 3, 6, 5)], None).unwrap();
    let cv = nf
        .cross_validation(&frame, 2, 1, FitOptions::default(), None)
        .unwrap();
    let text = csv(&cv);
    let first = text.lines().nth(1).unwrap();
    assert!(
        first.starts_with("s,2020-01-02T02:00:00Z,2020-01-02T01:00:00Z,"),
        "{first}"
    );
    let nf = fitted(&frame);
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(
        ds_column(&loaded.predict(None).unwrap())[0],
        "2020-01-02T06:00:00Z"
    );
}

#[test]
fn daily_dates_written_with_midnight_times_keep_their_times() {
    let text = "unique_id,ds,y\na,2020-01-01 00:00:00,1\na,2020-01-02 00:00:00,2\n\
                a,2020-01-03 00:00:00,3\na,2020-01-04 00:00:00,4\n";
    let frame = read_csv_from(text.as_bytes(), "d.csv", None).unwrap();
    assert!(!frame.date_only());
    let text = "unique_id,ds,y\na,2020-01-01,1\na,2020-01-02,2\n";
    assert!(read_csv_from(text.as_bytes(), "d.csv", None)
        .unwrap()
        .date_only());
}

#[test]
fn bad_timestamps_are_refused_with_the_row() {
    let text = "unique_id,ds,y\na,2020-01-01T00:00:00Z,1\na,2020-01-01T01:00:00,2\n";
    let err = read_csv_from(text.as_bytes(), "z.csv", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("z.csv: column 'ds' mixes times with and without a time zone: line 2 has one and line 3 has none"),
        "{err}"
    );
    let text = "unique_id,ds,y\na,01/31/2020,1\n";
    let err = read_csv_from(text.as_bytes(), "us.csv", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2: series 'a': column 'ds' holds '01/31/2020'")
            && err.contains("YYYY/MM/DD or DD.MM.YYYY"),
        "{err}"
    );
}

#[test]
fn forecast_times_past_the_year_9999_are_refused() {
    // Thirty hours ending at 9999-12-31 23:00: every forecast hour is in the year 10000, and
    // the error names the first.
    let frame = hourly(|hour| {
        let (day, hour) = (30 + (18 + hour) / 24, (18 + hour) % 24);
        format!("9999-12-{day:02} {hour:02}:00:00")
    });
    let err = fitted(&frame).predict(None).unwrap_err().to_string();
    assert!(
        err.contains("moving ds 9999-12-31 23:00:00 by 1 steps of frequency")
            && err.contains("leaves the representable range"),
        "{err}"
    );
}
