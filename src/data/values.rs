//! Cell values: how text from a CSV or a filter parameter becomes a typed value, the same way
//! at import and at query time. Timestamps are stored as UTC `YYYY-MM-DD HH:MM:SS.sss` (LabKey's
//! JSON date format) so that text order is time order; dates as `YYYY-MM-DD`.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::catalog::DataType;

/// A value read from, or bound into, a dataset query.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Cell {
    pub fn display(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Int(i) => Some(i.to_string()),
            Cell::Float(f) => Some(f.to_string()),
            Cell::Text(s) => Some(s.clone()),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Cell::Null => serde_json::Value::Null,
            Cell::Int(i) => (*i).into(),
            Cell::Float(f) => serde_json::Number::from_f64(*f).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null),
            Cell::Text(s) => s.clone().into(),
        }
    }
}

fn is_plain_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'))
}

fn is_plain_decimal(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let int_ok = is_plain_integer(int) || int == "-0";
    let frac_ok = s.contains('.') == !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit());
    int_ok && frac_ok && s.len() <= 32
}

pub fn parse_date(s: &str) -> Option<String> {
    let f = format_description!("[year]-[month]-[day]");
    (s.len() == 10).then(|| Date::parse(s, &f).ok().map(|d| d.format(&f).expect("formats"))).flatten()
}

const TS_OUT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]");

/// RFC 3339 (any offset, converted to UTC) or `YYYY-MM-DD HH:MM:SS[.fff]` taken as UTC.
pub fn parse_timestamp(s: &str) -> Option<String> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return t.to_offset(time::UtcOffset::UTC).format(TS_OUT).ok();
    }
    let plain = format_description!(version = 2, "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]");
    PrimitiveDateTime::parse(s, &plain).ok().and_then(|t| t.format(TS_OUT).ok())
}

/// Which types a non-empty text value fits.
#[derive(Clone, Copy, Debug)]
pub struct Fits {
    pub integer: bool,
    pub decimal: bool,
    pub date: bool,
    pub timestamp: bool,
}

impl Fits {
    pub const ALL: Fits = Fits { integer: true, decimal: true, date: true, timestamp: true };

    pub fn narrow(&mut self, s: &str) {
        self.integer = self.integer && is_plain_integer(s);
        self.decimal = self.decimal && is_plain_decimal(s);
        self.date = self.date && parse_date(s).is_some();
        self.timestamp = self.timestamp && parse_timestamp(s).is_some();
    }

    /// The narrowest type every value fits; text when nothing else does (or no value was seen).
    pub fn data_type(&self, saw_value: bool) -> DataType {
        if !saw_value {
            DataType::Text
        } else if self.integer {
            DataType::Integer
        } else if self.decimal {
            DataType::Decimal
        } else if self.date {
            DataType::Date
        } else if self.timestamp {
            DataType::Timestamp
        } else {
            DataType::Text
        }
    }
}

/// Text to a value of the column's type; empty text is NULL. Err says what was expected
/// (never repeating the value, which could be sensitive).
pub fn parse_cell(dt: DataType, raw: &str) -> Result<Cell, &'static str> {
    if raw.is_empty() {
        return Ok(Cell::Null);
    }
    match dt {
        DataType::Integer => raw.trim().parse::<i64>().map(Cell::Int).map_err(|_| "not an integer"),
        DataType::Decimal => {
            let t = raw.trim();
            let ok = t.parse::<f64>().ok().filter(|f| f.is_finite() && !t.contains(['e', 'E', 'n', 'N', 'i', 'I']));
            ok.map(Cell::Float).ok_or("not a decimal number")
        }
        DataType::Date => parse_date(raw.trim()).map(Cell::Text).ok_or("not a date (YYYY-MM-DD)"),
        DataType::Timestamp => parse_timestamp(raw.trim())
            .or_else(|| parse_date(raw.trim()).map(|d| format!("{d} 00:00:00.000")))
            .map(Cell::Text)
            .ok_or("not a timestamp (YYYY-MM-DDTHH:MM:SSZ)"),
        DataType::Text => Ok(Cell::Text(raw.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(values: &[&str]) -> DataType {
        let mut f = Fits::ALL;
        let mut saw = false;
        for v in values.iter().filter(|v| !v.is_empty()) {
            saw = true;
            f.narrow(v);
        }
        f.data_type(saw)
    }

    #[test]
    fn infers_the_narrowest_type() {
        assert_eq!(infer(&["1", "-20", ""]), DataType::Integer);
        assert_eq!(infer(&["1", "2.50"]), DataType::Decimal);
        assert_eq!(infer(&["2022-07-20", ""]), DataType::Date);
        assert_eq!(infer(&["2022-07-20T07:13:55Z"]), DataType::Timestamp);
        assert_eq!(infer(&["999-49-3983"]), DataType::Text);
        assert_eq!(infer(&["", ""]), DataType::Text);
        // leading zeros are codes, not numbers: keep them
        assert_eq!(infer(&["08", "10"]), DataType::Text);
        assert_eq!(infer(&["1e5"]), DataType::Text);
        assert_eq!(infer(&["2022-02-30"]), DataType::Text);
    }

    #[test]
    fn timestamps_are_stored_in_utc_in_one_format() {
        assert_eq!(parse_timestamp("2022-07-20T07:13:55Z").unwrap(), "2022-07-20 07:13:55.000");
        assert_eq!(parse_timestamp("2022-07-20T09:13:55+02:00").unwrap(), "2022-07-20 07:13:55.000");
        assert_eq!(parse_timestamp("2022-07-20 07:13:55.5").unwrap(), "2022-07-20 07:13:55.500");
        assert_eq!(parse_cell(DataType::Timestamp, "2022-07-20").unwrap(), Cell::Text("2022-07-20 00:00:00.000".into()));
    }

    #[test]
    fn filter_values_parse_by_column_type() {
        assert_eq!(parse_cell(DataType::Integer, "42").unwrap(), Cell::Int(42));
        assert_eq!(parse_cell(DataType::Integer, "4x"), Err("not an integer"));
        assert_eq!(parse_cell(DataType::Decimal, "2.5").unwrap(), Cell::Float(2.5));
        assert_eq!(parse_cell(DataType::Decimal, "NaN"), Err("not a decimal number"));
        assert_eq!(parse_cell(DataType::Text, "").unwrap(), Cell::Null);
    }
}
