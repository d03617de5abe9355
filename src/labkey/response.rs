//! selectRows/executeSql response shapes: 8.3 (the default), 9.1 (cells as objects) and
//! 13.2+ (17.1: `rows[].data`, schemaName as an array, no columnModel).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Map, Value};

use crate::data::catalog::DataType;
use crate::data::gate::Released;
use crate::data::values::Cell;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    V83,
    V91,
    V171,
}

impl Format {
    pub fn from_api_version(v: Option<&str>) -> Format {
        match v.and_then(|s| s.trim().parse::<f64>().ok()) {
            Some(x) if x >= 13.2 => Format::V171,
            Some(x) if x >= 9.1 => Format::V91,
            _ => Format::V83,
        }
    }
}

pub fn json_type(dt: DataType) -> &'static str {
    match dt {
        DataType::Integer => "int",
        DataType::Decimal => "float",
        DataType::Date | DataType::Timestamp => "date",
        DataType::Text => "string",
    }
}

/// One cell as LabKey writes it; dates in LabKey's JSON format `yyyy-MM-dd HH:mm:ss.SSS`.
struct CellOut<'a>(&'a Cell, DataType);

impl Serialize for CellOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.0, self.1) {
            (Cell::Text(t), DataType::Date) if t.len() == 10 => s.serialize_str(&format!("{t} 00:00:00.000")),
            (Cell::Text(t), _) => s.serialize_str(t),
            (Cell::Int(i), _) => s.serialize_i64(*i),
            (Cell::Float(f), _) if f.is_finite() => s.serialize_f64(*f),
            (Cell::Float(_), _) | (Cell::Null, _) => s.serialize_none(),
        }
    }
}

/// `{"value": cell}` (9.1 and later).
struct Wrapped<'a>(CellOut<'a>);

impl Serialize for Wrapped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("value", &self.0)?;
        m.end()
    }
}

/// One row: column name → cell.
struct RowOut<'a> {
    r: &'a Released,
    row: &'a [Cell],
    format: Format,
}

impl Serialize for RowOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.row.len()))?;
        for (c, cell) in self.r.columns.iter().zip(self.row) {
            let v = CellOut(cell, c.data_type);
            match self.format {
                Format::V83 => m.serialize_entry(&c.name, &v)?,
                Format::V91 | Format::V171 => m.serialize_entry(&c.name, &Wrapped(v))?,
            }
        }
        m.end()
    }
}

/// 17.1: `{"data": row, "links": null}`.
struct DataRow<'a>(RowOut<'a>);

impl Serialize for DataRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("data", &self.0)?;
        m.serialize_entry("links", &())?;
        m.end()
    }
}

struct RowsOut<'a> {
    r: &'a Released,
    format: Format,
}

impl Serialize for RowsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.r.rows.len()))?;
        for row in &self.r.rows {
            let out = RowOut { r: self.r, row, format: self.format };
            match self.format {
                Format::V171 => seq.serialize_element(&DataRow(out))?,
                _ => seq.serialize_element(&out)?,
            }
        }
        seq.end()
    }
}

/// A response body: the small parts as JSON values, the rows written straight from the cells
/// (building a JSON value per cell was a tenth of a request's time).
pub struct Rendered<'a> {
    head: Map<String, Value>,
    rows: RowsOut<'a>,
}

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.head.len() + 1))?;
        for (k, v) in &self.head {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("rows", &self.rows)?;
        m.end()
    }
}

pub struct Shape<'a> {
    pub schema: &'a str,
    pub query_name: &'a str,
    pub sort: Option<(&'a str, bool)>,
    pub row_count: i64,
}

pub fn render<'a>(r: &'a Released, format: Format, shape: &Shape<'_>) -> Rendered<'a> {
    let fields: Vec<Value> = r
        .columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "fieldKey": c.name, "fieldKeyPath": c.name, "fieldKeyArray": [c.name],
                "caption": c.name, "shortCaption": c.name, "type": json_type(c.data_type), "jsonType": json_type(c.data_type),
                "sqlType": c.data_type.as_str(), "isKeyField": r.key_column.as_deref() == Some(c.name.as_str()),
                "isHidden": false, "isNullable": true, "isReadOnly": true, "isUserEditable": false, "isMvEnabled": false,
                "phi": c.phi.as_str(),
            })
        })
        .collect();
    let mut meta = Map::new();
    meta.insert("root".into(), json!("rows"));
    meta.insert("totalProperty".into(), json!("rowCount"));
    meta.insert("fields".into(), Value::Array(fields));
    if let Some(k) = r.key_column.as_deref().filter(|k| r.columns.iter().any(|c| c.name == *k)) {
        meta.insert("id".into(), json!(k));
    }
    meta.insert("title".into(), json!(shape.query_name));
    meta.insert("description".into(), Value::Null);
    meta.insert("importMessage".into(), Value::Null);
    meta.insert("importTemplates".into(), json!([]));
    if let Some((field, desc)) = shape.sort {
        let info = json!({ "field": field, "direction": if desc { "DESC" } else { "ASC" } });
        meta.insert("sortInfo".into(), info.clone());
        meta.insert("sortInfoArray".into(), json!([info]));
    }

    let mut out = Map::new();
    match format {
        Format::V171 => {
            out.insert("schemaName".into(), json!([shape.schema]));
            out.insert("queryName".into(), json!(shape.query_name));
        }
        _ => {
            out.insert("schemaName".into(), json!(shape.schema));
            out.insert("queryName".into(), json!(shape.query_name));
            out.insert("formatVersion".into(), json!(if format == Format::V83 { 8.3 } else { 9.1 }));
            let model: Vec<Value> = r
                .columns
                .iter()
                .map(|c| {
                    let numeric = matches!(c.data_type, DataType::Integer | DataType::Decimal);
                    json!({ "dataIndex": c.name, "header": c.name, "hidden": false, "sortable": true, "filterable": true,
                            "editable": false, "required": false, "align": if numeric { "right" } else { "left" },
                            "width": if numeric { 60 } else { 120 }, "scale": 0 })
                })
                .collect();
            out.insert("columnModel".into(), Value::Array(model));
        }
    }
    out.insert("metaData".into(), Value::Object(meta));
    out.insert("rowCount".into(), json!(shape.row_count));
    Rendered { head: out, rows: RowsOut { r, format } }
}
