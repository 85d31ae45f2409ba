//! Reading a CSV file of one record kind into the records API's JSON records,
//! so an import is validated and stored exactly as `POST /api/v1/records` is.
//!
//! Spreadsheets are forgiving where JSON is not, so the cells are normalised
//! first: UTF-8 (with or without BOM), UTF-16 or Windows-1251 text; `,`, `;` or
//! tab between cells; money with spaces between thousands and a decimal comma
//! (`1 234,50`); times without an offset read in the organisation's time zone
//! (`2026-11-20 16:45`, `20.11.2026 16:45`, or a bare date for midnight).

use crate::records::{FieldType, Kind};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde_json::{Map, Value};

/// At most this many rows in one file (the API's batches are smaller, but an
/// export of a year's activities is not).
pub const MAX_ROWS: usize = 200_000;

/// A file read into records, with the line each came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The header's columns, as the file names them (lower case, trimmed).
    pub columns: Vec<String>,
    /// One JSON record per data row, with `kind` set; empty cells are left out.
    pub records: Vec<Value>,
    /// The file's line number of each record (the header is line 1).
    pub lines: Vec<u64>,
}

/// A problem with the file as a whole: nothing of it can be imported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SheetError {
    #[error("the file is empty: the first line must name the columns")]
    Empty,
    #[error("the file has a header but no rows")]
    NoRows,
    #[error("unknown column{} {} (a {kind} file has: {expected})", plural(&.columns.len()), quoted(.columns))]
    UnknownColumns { columns: Vec<String>, kind: &'static str, expected: String },
    #[error("missing required column{} {} for a {kind} file", plural(&.columns.len()), quoted(.columns))]
    MissingColumns { columns: Vec<String>, kind: &'static str },
    #[error("column `{0}` appears twice")]
    DuplicateColumn(String),
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("the file has more than {MAX_ROWS} rows; split it")]
    TooManyRows,
}

fn plural(n: &usize) -> &'static str {
    if *n == 1 {
        ""
    } else {
        "s"
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// Reads `bytes` as a CSV file of `kind` records.
pub fn read(bytes: &[u8], kind: Kind, tz: Tz) -> Result<Sheet, SheetError> {
    let text = decode(bytes);
    let first_line = text.lines().find(|l| !l.trim().is_empty()).ok_or(SheetError::Empty)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(first_line))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| malformed(&e))?.clone();
    let columns: Vec<String> = header.iter().map(|c| c.trim().to_lowercase()).collect();
    let fields = check_columns(&columns, kind)?;

    let mut records = Vec::new();
    let mut lines = Vec::new();
    let mut counter = LineCounter::new(&text);
    for row in reader.records() {
        let row = row.map_err(|e| malformed(&e))?;
        if row.iter().all(str::is_empty) {
            continue;
        }
        let line = counter.line_at(row.position().map(|p| p.byte()).unwrap_or_default() as usize);
        if row.len() > columns.len() {
            return Err(SheetError::Malformed {
                line,
                message: format!("{} cells, but the header names {} columns", row.len(), columns.len()),
            });
        }
        if records.len() == MAX_ROWS {
            return Err(SheetError::TooManyRows);
        }
        let mut object = Map::new();
        object.insert("kind".into(), Value::String(kind.name().into()));
        for (cell, (name, ty)) in row.iter().zip(&fields) {
            if !cell.is_empty() {
                object.insert(name.to_string(), Value::String(normalise(cell, *ty, tz)));
            }
        }
        records.push(Value::Object(object));
        lines.push(line);
    }
    if records.is_empty() {
        return Err(SheetError::NoRows);
    }
    Ok(Sheet { columns, records, lines })
}

/// The line a record starts on, from its byte offset. (The csv crate's own
/// line count is one short after a CRLF, as Excel writes them.)
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    newlines: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter { text: text.as_bytes(), offset: 0, newlines: 0 }
    }

    /// Offsets must not decrease between calls.
    fn line_at(&mut self, offset: usize) -> u64 {
        // A record's offset may point at the line break before it.
        let mut start = offset.min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            self.newlines += self.text[self.offset..start].iter().filter(|b| **b == b'\n').count() as u64;
            self.offset = start;
        }
        self.newlines + 1
    }
}

/// A cell of an exported file that a spreadsheet shows as text and never runs
/// as a formula: text starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return gets a leading `'` (OWASP's advice for CSV injection). For cells of
/// text the users wrote (names, ids), not for numbers the app formats.
pub fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A download's file name made of `parts`: letters, digits, `.`, `_` and `-`
/// kept, anything else (quotes, slashes, line breaks, non-ASCII) as `_`, so it is
/// safe inside `Content-Disposition: attachment; filename="…"`.
pub fn file_name(parts: &[&str], extension: &str) -> String {
    let base: String = parts
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .take(120)
        .collect();
    format!("{base}.{extension}")
}

/// The header row and one example row for `kind`, comma-separated.
pub fn template(kind: Kind) -> String {
    let fields = kind.fields();
    let header = fields.iter().map(|f| f.name).collect::<Vec<_>>().join(",");
    let example = fields.iter().map(|f| f.example).collect::<Vec<_>>().join(",");
    format!("{header}\n{example}\n")
}

fn malformed(e: &csv::Error) -> SheetError {
    let line = e.position().map(|p| p.line()).unwrap_or_default();
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid text".to_string(),
        _ => e.to_string(),
    };
    SheetError::Malformed { line, message }
}

/// Each column's field and how its cells are read; the file-level problems otherwise.
fn check_columns(columns: &[String], kind: Kind) -> Result<Vec<(&'static str, FieldType)>, SheetError> {
    let known = kind.fields();
    let mut unknown = Vec::new();
    let mut fields = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].contains(column) {
            return Err(SheetError::DuplicateColumn(column.clone()));
        }
        match known.iter().find(|f| f.name == column) {
            Some(f) => fields.push((f.name, f.ty)),
            None => unknown.push(if column.is_empty() { format!("(blank, column {})", i + 1) } else { column.clone() }),
        }
    }
    if !unknown.is_empty() {
        let expected = known.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
        return Err(SheetError::UnknownColumns { columns: unknown, kind: kind.name(), expected });
    }
    let missing: Vec<String> =
        known.iter().filter(|f| f.required && !columns.iter().any(|c| c == f.name)).map(|f| f.name.into()).collect();
    if !missing.is_empty() {
        return Err(SheetError::MissingColumns { columns: missing, kind: kind.name() });
    }
    Ok(fields)
}

/// The file's text: UTF-8 or UTF-16 by their byte-order marks, UTF-8 when it
/// is valid, else Windows-1251 (what Russian Excel saves as "CSV").
fn decode(bytes: &[u8]) -> String {
    if let Some((encoding, _)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_with_bom_removal(bytes).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The separator the header line uses most: `,`, `;` or tab.
fn delimiter(header: &str) -> u8 {
    [b',', b';', b'\t'].into_iter().max_by_key(|d| header.bytes().filter(|b| b == d).count()).unwrap_or(b',')
}

/// A cell as the records API reads it. A cell that is not understood is passed
/// on unchanged, so the records validation names it in its error.
fn normalise(cell: &str, ty: FieldType, tz: Tz) -> String {
    match ty {
        FieldType::Money => money(cell),
        FieldType::Time => time(cell, tz).unwrap_or_else(|| cell.to_string()),
        FieldType::Date => date(cell).map(|d| d.to_string()).unwrap_or_else(|| cell.to_string()),
        FieldType::Text | FieldType::Choice => cell.to_string(),
    }
}

/// `1 234,50` → `1234.50`: spaces (also non-breaking) between thousands go, and
/// a comma is the decimal point when there is no dot.
fn money(cell: &str) -> String {
    let digits: String = cell.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    if digits.contains('.') {
        digits
    } else {
        digits.replacen(',', ".", 1)
    }
}

const LOCAL_TIMES: [&str; 8] = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
];

/// An RFC 3339 timestamp as it is; a local time (or date, for midnight) in the
/// organisation's time zone, with its offset added.
fn time(cell: &str, tz: Tz) -> Option<String> {
    if DateTime::parse_from_rfc3339(cell).is_ok() {
        return Some(cell.to_string());
    }
    let local = LOCAL_TIMES
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(cell, f).ok())
        .or_else(|| date(cell).and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    // In a daylight-saving gap the time does not exist; in an overlap the first is meant.
    let at = tz.from_local_datetime(&local).earliest()?;
    Some(at.to_rfc3339())
}

fn date(cell: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"].iter().find_map(|f| NaiveDate::parse_from_str(cell, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::parse_record;
    use serde_json::json;

    const MOSCOW: Tz = chrono_tz::Europe::Moscow;

    #[test]
    fn exported_text_never_runs_as_a_formula_and_file_names_stay_plain() {
        for (cell, out) in [
            ("=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"),
            ("+7 999", "'+7 999"),
            ("-1+2", "'-1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("Анна", "Анна"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(inert(cell), out, "{cell:?}");
        }
        assert_eq!(
            file_name(&["team", "t\"1\r\n;x/../Москва", "2026-10"], "csv"),
            "team-t_1___x_.._______-2026-10.csv"
        );
    }

    #[test]
    fn a_russian_excel_file_is_read_with_local_times_and_decimal_commas() {
        // Windows-1251, semicolons, a decimal comma with spaces, Moscow local times.
        let text = "id;owner;amount;status;created_at;closed_at\r\n\
                    d1;u1;125 000,50;won;01.11.2026 09:00;20.11.2026 16:45\r\n\
                    d2;u1;300;open;2026-11-03;\r\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let sheet = read(&bytes, Kind::Deal, MOSCOW).unwrap();
        assert_eq!(sheet.columns, ["id", "owner", "amount", "status", "created_at", "closed_at"]);
        assert_eq!(sheet.lines, [2, 3]);
        let quoted = read(b"id,name,region\n\nt1,\"North\nside\",N\nt2,South,S\n", Kind::Team, MOSCOW).unwrap();
        assert_eq!(quoted.lines, [3, 5], "a blank line and a cell over two lines");
        assert_eq!(
            sheet.records[0],
            json!({"kind": "deal", "id": "d1", "owner": "u1", "amount": "125000.50", "status": "won",
                   "created_at": "2026-11-01T09:00:00+03:00", "closed_at": "2026-11-20T16:45:00+03:00"})
        );
        // The empty `closed_at` is left out, as the API expects of an open deal.
        assert_eq!(
            sheet.records[1],
            json!({"kind": "deal", "id": "d2", "owner": "u1", "amount": "300", "status": "open",
                   "created_at": "2026-11-03T00:00:00+03:00"})
        );
        assert!(sheet.records.iter().all(|r| parse_record(r).is_ok()));
    }

    #[test]
    fn cyrillic_text_survives_utf8_with_bom_and_windows_1251() {
        let utf8 = "\u{feff}id,name,region\nt1,Север,Москва\n".as_bytes().to_vec();
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("id,name,region\nt1,Север,Москва\n");
        for bytes in [utf8, cp1251.into_owned()] {
            let sheet = read(&bytes, Kind::Team, MOSCOW).unwrap();
            assert_eq!(sheet.records, [json!({"kind": "team", "id": "t1", "name": "Север", "region": "Москва"})]);
        }
    }

    #[test]
    fn a_time_with_an_offset_is_kept_and_a_tab_separated_file_is_read() {
        let sheet = read(b"id\towner\tactivity_type\tat\na1\tu1\tcall\t2026-11-27T14:30:00Z\n", Kind::Activity, MOSCOW)
            .unwrap();
        assert_eq!(sheet.records[0]["at"], "2026-11-27T14:30:00Z");
    }

    #[test]
    fn unknown_and_missing_columns_are_named() {
        let err = read(b"id,owner,amout,status,created_at\n", Kind::Deal, MOSCOW).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown column `amout` (a deal file has: id, owner, customer, product, amount, deal_type, created_at, \
             status, closed_at)"
        );
        let err = read(b"id,owner,status\nd1,u1,won\n", Kind::Deal, MOSCOW).unwrap_err();
        assert_eq!(err.to_string(), "missing required columns `amount`, `created_at` for a deal file");
        assert_eq!(
            read(b"id,id,name,region\n", Kind::Team, MOSCOW).unwrap_err(),
            SheetError::DuplicateColumn("id".into())
        );
        assert_eq!(read(b"", Kind::Team, MOSCOW).unwrap_err(), SheetError::Empty);
        assert_eq!(read(b"id,name,region\n\n", Kind::Team, MOSCOW).unwrap_err(), SheetError::NoRows);
    }

    #[test]
    fn a_row_with_more_cells_than_columns_names_its_line() {
        let err = read(b"id,name,region\nt1,North,N\nt2,South,S,extra\n", Kind::Team, MOSCOW).unwrap_err();
        assert_eq!(err.to_string(), "line 3: 4 cells, but the header names 3 columns");
    }

    #[test]
    fn a_cell_that_is_not_understood_reaches_the_records_validation_unchanged() {
        let sheet = read(b"id,owner,activity_type,at\na1,u1,call,yesterday\n", Kind::Activity, MOSCOW).unwrap();
        let message = parse_record(&sheet.records[0]).unwrap_err();
        assert!(message.contains("`at` must be an RFC 3339 timestamp"), "{message}");
    }

    #[test]
    fn a_local_time_in_the_spring_gap_is_not_guessed() {
        // 02:30 on 2026-03-08 does not exist in New York.
        assert_eq!(time("2026-03-08 02:30", chrono_tz::America::New_York), None);
        assert_eq!(time("2026-11-01 01:30", chrono_tz::America::New_York).unwrap(), "2026-11-01T01:30:00-04:00");
    }

    #[test]
    fn every_template_is_a_valid_file_of_its_kind() {
        for kind in Kind::ALL {
            let sheet = read(template(kind).as_bytes(), kind, MOSCOW).unwrap();
            assert_eq!(sheet.records.len(), 1, "{kind:?}");
            assert!(parse_record(&sheet.records[0]).is_ok(), "{kind:?}: {:?}", parse_record(&sheet.records[0]));
        }
    }
}
