//! selectRows/executeSql response shapes: 8.3 (the default), 9.1 (cells as objects) and
//! 13.2+ (17.1: `rows[].data`, schemaName as an array, no columnModel).

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

/// LabKey's JSON date format: `yyyy-MM-dd HH:mm:ss.SSS`.
fn value(cell: &Cell, dt: DataType) -> Value {
    match (cell, dt) {
        (Cell::Text(s), DataType::Date) if s.len() == 10 => Value::String(format!("{s} 00:00:00.000")),
        _ => cell.to_json(),
    }
}

pub struct Shape<'a> {
    pub schema: &'a str,
    pub query_name: &'a str,
    pub sort: Option<(&'a str, bool)>,
    pub row_count: i64,
}

pub fn render(r: &Released, format: Format, shape: &Shape<'_>) -> Value {
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

    let rows: Vec<Value> = r
        .rows
        .iter()
        .map(|row| {
            let mut obj = Map::new();
            for (c, cell) in r.columns.iter().zip(row) {
                let v = value(cell, c.data_type);
                let v = match format {
                    Format::V83 => v,
                    Format::V91 | Format::V171 => json!({ "value": v }),
                };
                obj.insert(c.name.clone(), v);
            }
            match format {
                Format::V171 => json!({ "data": Value::Object(obj), "links": Value::Null }),
                _ => Value::Object(obj),
            }
        })
        .collect();

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
    out.insert("rows".into(), Value::Array(rows));
    out.insert("rowCount".into(), json!(shape.row_count));
    Value::Object(out)
}
