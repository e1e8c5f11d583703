//! What JSON Schemas check, read where it is: input records and outputs.
//!
//! A flow checks its input against the source payload's schema, and its output against the
//! destination's. jsonschema reads instances through its JSON representation traits; [`InPlace`]
//! implements them for what the engine holds, so neither check builds a `serde_json::Value`:
//! - an input record's fields ([`Fields`], a map with a fast hasher: a webhook's field names are
//!   hashed for every record, and SipHash was a tenth of the sidecar's work);
//! - an output as its destination sees it ([`Instance`]): the endpoint's fixed parameters, then
//!   the output fields, with nulls left out (they are not sent) and, for a form or query
//!   encoding, every scalar as the text it is sent as. Building that as a `Value` copied every
//!   field and hashed every name for each record.
//!
//! [`Instance::to_value`] builds the `Value` for the cold paths (error messages) and for tests,
//! which check that both forms give the same answers.

use std::borrow::Cow;

use jsonschema::json::{Array, Json, Node, NodeIdentity, Object};
use jsonschema::types::JsonType;
use serde_json::{Map, Number, Value};

use crate::codec::scalar_text;
use crate::record::{Fields, Hint};

/// jsonschema's name for the representation: validators are `jsonschema::Validator<InPlace>`.
pub struct InPlace;

/// One member of an output instance: a fixed parameter's text or an output value.
#[derive(Clone, Copy, Debug)]
enum Member<'a> {
    Param(&'a str),
    Field(&'a Value),
}

/// The object a destination schema checks: names in first-seen order, each with its last value,
/// as inserting them one by one into a JSON object would leave them.
#[derive(Debug)]
pub struct Instance<'a> {
    members: Vec<(&'a str, Member<'a>)>,
    /// Form and query encodings carry only text: scalars are checked as their text.
    text_only: bool,
}

impl<'a> Instance<'a> {
    /// `params` first, then `fields`; null fields are left out.
    pub fn new(
        params: &'a [(String, String)],
        fields: &'a [(Cow<'a, str>, Value)],
        text_only: bool,
    ) -> Instance<'a> {
        let mut members: Vec<(&'a str, Member<'a>)> =
            Vec::with_capacity(params.len() + fields.len());
        let all = params
            .iter()
            .map(|(k, v)| (k.as_str(), Member::Param(v)))
            .chain(
                fields
                    .iter()
                    .filter_map(|(k, v)| (!v.is_null()).then_some((k.as_ref(), Member::Field(v)))),
            );
        for (k, m) in all {
            // A later value of a name takes the earlier one's place (names are almost always
            // distinct, and outputs short: a scan costs less than hashing every name).
            match members.iter_mut().find(|(n, _)| *n == k) {
                Some(slot) => slot.1 = m,
                None => members.push((k, m)),
            }
        }
        Instance { members, text_only }
    }

    /// The node of the whole object, to validate.
    pub fn node(&self) -> View<'_> {
        View::Output(self)
    }

    /// The instance as a JSON value (error messages, tests).
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(self.members.len());
        for (k, member) in &self.members {
            m.insert(
                (*k).to_owned(),
                self.member_node(*member).to_value().into_owned(),
            );
        }
        Value::Object(m)
    }

    fn member_node(&self, m: Member<'a>) -> View<'a> {
        match m {
            Member::Param(text) => View::Text(Cow::Borrowed(text)),
            Member::Field(v @ (Value::Array(_) | Value::Object(_))) => View::Value(v),
            Member::Field(v) if self.text_only => View::Text(scalar_text(v)),
            Member::Field(v) => View::Value(v),
        }
    }
}

/// A node jsonschema reads: a whole output or input record, a text an output value is sent as,
/// or a value (of a field, or inside one).
#[derive(Clone, Debug)]
pub enum View<'a> {
    Output(&'a Instance<'a>),
    Fields(&'a Fields),
    Text(Cow<'a, str>),
    Value(&'a Value),
}

/// A property name of a schema, prepared when the schema is compiled: the name, and where the
/// last record had it (records from one sender list their fields in the same order, see
/// [`Hint`]).
#[derive(Debug)]
pub struct Key {
    name: String,
    hint: Hint,
}

/// The object of a [`View`].
#[derive(Clone, Copy, Debug)]
pub enum ViewObject<'a> {
    Output(&'a Instance<'a>),
    Fields(&'a Fields),
    Map(&'a Map<String, Value>),
}

impl Json for InPlace {
    type Node<'a> = View<'a>;
    type PreparedKey = Key;
    type StringBuffer = String;

    /// An output is searched name by name, so a pass over its members costs no more than a few
    /// lookups; a record's fields are hashed (checked by name above that size).
    const KEYS_PER_LOOKUP: usize = 4;

    fn prepare_key(key: &str) -> Key {
        Key {
            name: key.to_owned(),
            hint: Hint::default(),
        }
    }

    fn with_string_node<T>(buffer: &mut String, string: &str, f: impl FnOnce(View<'_>) -> T) -> T {
        buffer.clear();
        buffer.push_str(string);
        f(View::Text(Cow::Borrowed(buffer.as_str())))
    }
}

impl<'a> Node<'a, InPlace> for View<'a> {
    type Object = ViewObject<'a>;
    type Array = &'a [Value];
    type Number = &'a Number;

    fn as_object(&self) -> Option<ViewObject<'a>> {
        match self {
            View::Output(i) => Some(ViewObject::Output(i)),
            View::Fields(f) => Some(ViewObject::Fields(f)),
            View::Value(Value::Object(m)) => Some(ViewObject::Map(m)),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&'a [Value]> {
        match self {
            View::Value(Value::Array(a)) => Some(a),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self {
            View::Text(t) => Some(t.clone()),
            View::Value(Value::String(s)) => Some(Cow::Borrowed(s)),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<&'a Number> {
        match self {
            View::Value(Value::Number(n)) => Some(n),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self {
            View::Value(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, View::Value(Value::Null))
    }

    fn json_type(&self) -> JsonType {
        match self {
            View::Output(_) | View::Fields(_) => JsonType::Object,
            View::Text(_) => JsonType::String,
            View::Value(v) => match v {
                Value::Null => JsonType::Null,
                Value::Bool(_) => JsonType::Boolean,
                Value::Number(_) => JsonType::Number,
                Value::String(_) => JsonType::String,
                Value::Array(_) => JsonType::Array,
                Value::Object(_) => JsonType::Object,
            },
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        match self {
            View::Output(i) => Cow::Owned(i.to_value()),
            View::Fields(f) => Cow::Owned(Value::Object(
                f.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            )),
            View::Text(t) => Cow::Owned(Value::String(t.to_string())),
            View::Value(v) => Cow::Borrowed(v),
        }
    }

    fn identity(&self) -> Option<NodeIdentity> {
        match self {
            View::Output(i) => Some(NodeIdentity::new(std::ptr::from_ref(*i) as usize)),
            View::Fields(f) => Some(NodeIdentity::new(std::ptr::from_ref(*f) as usize)),
            // A text made for the check has no address of its own.
            View::Text(_) => None,
            View::Value(v) => Some(NodeIdentity::new(std::ptr::from_ref(*v) as usize)),
        }
    }
}

/// The members of a [`ViewObject`].
pub struct Members<'a>(MembersOf<'a>);

enum MembersOf<'a> {
    Output(
        &'a Instance<'a>,
        std::slice::Iter<'a, (&'a str, Member<'a>)>,
    ),
    Fields(indexmap::map::Iter<'a, String, Value>),
    Map(serde_json::map::Iter<'a>),
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, View<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            MembersOf::Output(i, it) => it.next().map(|(k, m)| (*k, i.member_node(*m))),
            MembersOf::Fields(it) => it.next().map(|(k, v)| (k.as_str(), View::Value(v))),
            MembersOf::Map(it) => it.next().map(|(k, v)| (k.as_str(), View::Value(v))),
        }
    }
}

impl<'a> Object<'a, InPlace> for ViewObject<'a> {
    type Node = View<'a>;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        match self {
            ViewObject::Output(i) => i.members.len(),
            ViewObject::Fields(f) => f.len(),
            ViewObject::Map(m) => m.len(),
        }
    }

    fn get(&self, key: &Key) -> Option<View<'a>> {
        let name = key.name.as_str();
        match self {
            ViewObject::Output(i) => i
                .members
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, m)| i.member_node(*m)),
            ViewObject::Fields(f) => key.hint.get(f, name).map(View::Value),
            ViewObject::Map(m) => Map::get(m, name).map(View::Value),
        }
    }

    fn members(&self) -> Members<'a> {
        match self {
            ViewObject::Output(i) => Members(MembersOf::Output(i, i.members.iter())),
            ViewObject::Fields(f) => Members(MembersOf::Fields(f.iter())),
            ViewObject::Map(m) => Members(MembersOf::Map(m.iter())),
        }
    }
}

impl<'a> Array<'a, InPlace> for &'a [Value] {
    type Node = View<'a>;
    type ElementsIter = std::iter::Map<std::slice::Iter<'a, Value>, fn(&'a Value) -> View<'a>>;

    fn len(&self) -> usize {
        <[Value]>::len(self)
    }

    fn elements(&self) -> Self::ElementsIter {
        self.iter().map(View::Value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::testing::Rng;
    use serde_json::json;

    /// What the destination schema checked before: the instance built as a `Value`, the way
    /// inserting the members one by one into a JSON object does it.
    fn reference(params: &[(String, String)], fields: &[(Cow<str>, Value)], text: bool) -> Value {
        let mut m = Map::new();
        for (k, v) in params {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        for (k, v) in fields {
            let v = match v {
                Value::Null => continue,
                Value::Array(_) | Value::Object(_) => v.clone(),
                other if text => Value::String(scalar_text(other).into_owned()),
                other => other.clone(),
            };
            m.insert(k.to_string(), v);
        }
        Value::Object(m)
    }

    fn fields(pairs: &[(&'static str, Value)]) -> Vec<(Cow<'static, str>, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
            .collect()
    }

    #[test]
    fn members_are_params_then_fields_without_nulls_last_value_first_place() {
        let params = vec![("Action".to_owned(), "Insert".to_owned())];
        let f = fields(&[
            ("N", json!(5)),
            ("Gone", Value::Null),
            ("Tags", json!(["a", 1])),
            ("N", json!(6)),
            ("Action", json!("Override")),
            ("Ok", json!(true)),
        ]);
        let i = Instance::new(&params, &f, false);
        let v = i.to_value();
        assert_eq!(
            v,
            json!({"Action": "Override", "N": 6, "Tags": ["a", 1], "Ok": true})
        );
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["Action", "N", "Tags", "Ok"]);
        assert_eq!(v, reference(&params, &f, false));
        // A text encoding sends scalars as text; arrays and objects stay as they are.
        let t = Instance::new(&params, &f, true).to_value();
        assert_eq!(
            t,
            json!({"Action": "Override", "N": "6", "Tags": ["a", 1], "Ok": "true"})
        );
        assert_eq!(t, reference(&params, &f, true));
    }

    #[test]
    fn validators_answer_on_records_and_outputs_as_on_values() {
        let schemas = [
            json!({
                "type": "object",
                "required": ["Phone", "State"],
                "properties": {
                    "Phone": {"type": "string", "pattern": "^[0-9]{10}$"},
                    "State": {"enum": ["CA", "NY", "TX"]},
                    "Age": {"type": "integer", "minimum": 18, "maximum": 99},
                    "Name": {"type": "string", "minLength": 2, "maxLength": 5},
                    "Tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                    "Extra": {"type": "object", "properties": {"a": {"type": "number"}},
                              "additionalProperties": false},
                    "Ok": {"type": "boolean"},
                    "Action": {"const": "Insert"}
                }
            }),
            json!({
                "type": "object",
                "additionalProperties": false,
                "patternProperties": {"^adv_": {"type": "string", "maxLength": 3}},
                "properties": {"Phone": {}, "State": {}, "Age": {}, "Name": {}, "Action": {}},
                "propertyNames": {"maxLength": 7},
                "minProperties": 2,
                "maxProperties": 5
            }),
            json!({
                "type": "object",
                "properties": {"Age": {"type": "string", "pattern": "^[0-9]+$"},
                               "Ok": {"enum": ["true", "false"]}},
                "dependentRequired": {"Name": ["Age"]},
                "not": {"required": ["Nope"]}
            }),
        ];
        let keys = [
            "Phone", "State", "Age", "Name", "Tags", "Extra", "Ok", "Action", "adv_x", "adv_long",
            "Nope",
        ];
        let values = [
            json!("9492651111"),
            json!("949"),
            json!("CA"),
            json!("ZZ"),
            json!(17),
            json!(42),
            json!(4.5),
            json!("Ann"),
            json!("Annabelle"),
            json!(["a", "b"]),
            json!(["a", 2]),
            json!({"a": 1}),
            json!({"b": 1}),
            json!(true),
            json!("Insert"),
            json!("ab"),
            Value::Null,
        ];
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut checked = [0usize; 2];
        for schema in &schemas {
            let on_value = jsonschema::validator_for(schema).unwrap();
            let in_place = jsonschema::options_for::<InPlace>().build(schema).unwrap();
            for _ in 0..3000 {
                let n = rng.next(7);
                let f: Vec<(Cow<str>, Value)> = (0..n)
                    .map(|_| {
                        (
                            Cow::Borrowed(keys[rng.next(keys.len())]),
                            values[rng.next(values.len())].clone(),
                        )
                    })
                    .collect();
                let params = match rng.next(3) {
                    0 => vec![("Action".to_owned(), "Insert".to_owned())],
                    _ => Vec::new(),
                };
                let text = rng.next(2) == 0;
                let expected = reference(&params, &f, text);
                let i = Instance::new(&params, &f, text);
                assert_eq!(i.to_value(), expected);
                let valid = on_value.is_valid(&expected);
                assert_eq!(in_place.is_valid(i.node()), valid, "{expected}");
                checked[usize::from(valid)] += 1;
                // The first error is the same, at the same place.
                let a: Vec<(String, String)> = on_value
                    .iter_errors(&expected)
                    .map(|e| (e.instance_path().to_string(), e.to_string()))
                    .collect();
                let b: Vec<(String, String)> = in_place
                    .iter_errors(i.node())
                    .map(|e| (e.instance_path().to_string(), e.to_string()))
                    .collect();
                assert_eq!(a.first(), b.first(), "{expected}");
                // The same object as an input record's fields.
                let mut rec = crate::record::fields_with_capacity(4);
                if let Value::Object(m) = &expected {
                    rec.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                assert_eq!(in_place.is_valid(View::Fields(&rec)), valid, "{expected}");
                let c: Vec<(String, String)> = in_place
                    .iter_errors(View::Fields(&rec))
                    .map(|e| (e.instance_path().to_string(), e.to_string()))
                    .collect();
                assert_eq!(a.first(), c.first(), "{expected}");
            }
        }
        // Both answers were seen often.
        assert!(checked[0] > 1000 && checked[1] > 1000, "{checked:?}");
    }
}
