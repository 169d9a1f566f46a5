//! The Terraform functions the generated modules' policy documents, locals and environments
//! use, with Terraform's semantics for the values they get there (strings, numbers, lists,
//! objects). A function not here is named by [`Module`](crate::Module)'s error before
//! anything is evaluated; add it to [`FUNCTIONS`].

use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};
use hcl::{Map, Value};

type Func = fn(FuncArgs) -> Result<Value, String>;

/// Name, parameters, variadic parameter and implementation of each function provided.
const FUNCTIONS: &[(&str, &[Param], Option<Param>, Func)] = &[
    ("coalesce", &[], Some(Param::Any), coalesce),
    ("compact", &[Param::List], None, compact),
    ("concat", &[], Some(Param::List), concat),
    ("contains", &[Param::List, Param::Any], None, contains),
    ("distinct", &[Param::List], None, distinct),
    ("flatten", &[Param::List], None, flatten),
    ("format", &[Param::String], Some(Param::Any), format),
    ("join", &[Param::String], Some(Param::List), join),
    ("jsonencode", &[Param::Any], None, jsonencode),
    ("keys", &[Param::Object], None, keys),
    ("length", &[Param::Any], None, length),
    (
        "lookup",
        &[Param::Object, Param::String],
        Some(Param::Any),
        lookup,
    ),
    ("lower", &[Param::String], None, lower),
    ("merge", &[], Some(Param::NullableObject), merge),
    (
        "replace",
        &[Param::String, Param::String, Param::String],
        None,
        replace,
    ),
    ("tolist", &[Param::List], None, tolist),
    ("tomap", &[Param::Object], None, tomap),
    ("toset", &[Param::List], None, toset),
    ("tostring", &[Param::Any], None, tostring),
    (
        "trimprefix",
        &[Param::String, Param::String],
        None,
        trimprefix,
    ),
    (
        "trimsuffix",
        &[Param::String, Param::String],
        None,
        trimsuffix,
    ),
    ("upper", &[Param::String], None, upper),
    ("values", &[Param::Object], None, values),
];

#[derive(Clone, Copy)]
enum Param {
    Any,
    String,
    List,
    Object,
    NullableObject,
}

impl Param {
    fn hcl(self) -> ParamType {
        match self {
            Param::Any => ParamType::Any,
            Param::String => ParamType::String,
            Param::List => ParamType::array_of(ParamType::Any),
            Param::Object => ParamType::object_of(ParamType::Any),
            Param::NullableObject => ParamType::nullable(ParamType::object_of(ParamType::Any)),
        }
    }
}

/// The names of the functions provided, for error messages.
pub(crate) fn names() -> Vec<&'static str> {
    FUNCTIONS.iter().map(|(name, ..)| *name).collect()
}

pub(crate) fn is_provided(name: &str) -> bool {
    FUNCTIONS.iter().any(|(provided, ..)| *provided == name)
}

/// Declares every function in `ctx`.
pub(crate) fn declare(ctx: &mut Context<'_>) {
    for (name, params, variadic, func) in FUNCTIONS {
        let mut builder = FuncDef::builder().params(params.iter().map(|p| p.hcl()));
        if let Some(variadic) = variadic {
            builder = builder.variadic_param(variadic.hcl());
        }
        ctx.declare_func(*name, builder.build(*func));
    }
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn string(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// A primitive as Terraform converts it to a string; `None` for null, lists and objects.
fn primitive_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn coalesce(args: FuncArgs) -> Result<Value, String> {
    args.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "no non-null, non-empty-string arguments".to_owned())
}

fn compact(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(
        list(&args[0])
            .iter()
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .collect(),
    ))
}

fn concat(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(
        args.iter().flat_map(|l| list(l).iter().cloned()).collect(),
    ))
}

fn contains(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Bool(list(&args[0]).contains(&args[1])))
}

fn distinct(args: FuncArgs) -> Result<Value, String> {
    let mut out: Vec<Value> = Vec::new();
    for item in list(&args[0]) {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(Value::Array(out))
}

fn flatten(args: FuncArgs) -> Result<Value, String> {
    fn into(out: &mut Vec<Value>, items: &[Value]) {
        for item in items {
            match item {
                Value::Array(inner) => into(out, inner),
                other => out.push(other.clone()),
            }
        }
    }
    let mut out = Vec::new();
    into(&mut out, list(&args[0]));
    Ok(Value::Array(out))
}

/// `format` with the verbs the modules use: `%s`, `%d`, `%v`, `%q` and `%%`.
fn format(args: FuncArgs) -> Result<Value, String> {
    let spec = string(&args[0]);
    let mut values = args.iter().skip(1);
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let verb = chars
            .next()
            .ok_or_else(|| format!("format {spec:?} ends with a lone %"))?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let value = values
            .next()
            .ok_or_else(|| format!("format {spec:?} has more verbs than arguments"))?;
        match verb {
            's' | 'v' => out.push_str(
                &primitive_string(value).unwrap_or_else(|| value_json(value).to_string()),
            ),
            'd' => match value {
                Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
                other => return Err(format!("%d needs a whole number, got {other}")),
            },
            'q' => out.push_str(
                &serde_json::Value::String(
                    primitive_string(value).ok_or("%q needs a string".to_owned())?,
                )
                .to_string(),
            ),
            other => {
                return Err(format!(
                    "format verb %{other} is not supported by iam-policy (it knows %s %d %v %q %%)"
                ))
            }
        }
    }
    if values.next().is_some() {
        return Err(format!("format {spec:?} has fewer verbs than arguments"));
    }
    Ok(Value::String(out))
}

fn join(args: FuncArgs) -> Result<Value, String> {
    let separator = string(&args[0]);
    let mut parts = Vec::new();
    for item in args.iter().skip(1).flat_map(|l| list(l).iter()) {
        parts.push(
            primitive_string(item)
                .ok_or_else(|| format!("join needs a list of strings, got an element {item}"))?,
        );
    }
    Ok(Value::String(parts.join(separator)))
}

/// A value as JSON, objects' keys sorted (as Terraform's `jsonencode` writes them).
fn value_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64().map_or(serde_json::Value::Null, Into::into)
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(value_json).collect()),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), value_json(&map[k])))
                    .collect(),
            )
        }
    }
}

/// Terraform's `jsonencode`: compact JSON, with `<`, `>`, `&`, U+2028 and U+2029 escaped.
fn jsonencode(args: FuncArgs) -> Result<Value, String> {
    let text = value_json(&args[0]).to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    Ok(Value::String(out))
}

fn sorted_entries(value: &Value) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = value
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn keys(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(
        sorted_entries(&args[0])
            .into_iter()
            .map(|(k, _)| Value::String(k.clone()))
            .collect(),
    ))
}

fn values(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(
        sorted_entries(&args[0])
            .into_iter()
            .map(|(_, v)| v.clone())
            .collect(),
    ))
}

fn length(args: FuncArgs) -> Result<Value, String> {
    let n = match &args[0] {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        Value::String(s) => s.chars().count(),
        other => return Err(format!("length of {other} is not defined")),
    };
    Ok(Value::from(n))
}

fn lookup(args: FuncArgs) -> Result<Value, String> {
    let key = string(&args[1]);
    match args[0].as_object().and_then(|m| m.get(key)) {
        Some(value) => Ok(value.clone()),
        None => args
            .get(2)
            .cloned()
            .ok_or_else(|| format!("lookup: no key {key:?} and no default")),
    }
}

fn lower(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(string(&args[0]).to_lowercase()))
}

fn upper(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(string(&args[0]).to_uppercase()))
}

fn merge(args: FuncArgs) -> Result<Value, String> {
    let mut out = Map::new();
    for object in args.iter().filter_map(Value::as_object) {
        for (key, value) in object {
            out.insert(key.clone(), value.clone());
        }
    }
    Ok(Value::Object(out))
}

fn replace(args: FuncArgs) -> Result<Value, String> {
    let (text, search, with) = (string(&args[0]), string(&args[1]), string(&args[2]));
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        return Err(format!(
            "replace with a regular expression ({search}) is not supported by iam-policy"
        ));
    }
    Ok(Value::String(text.replace(search, with)))
}

fn tolist(args: FuncArgs) -> Result<Value, String> {
    Ok(args[0].clone())
}

/// A map as Terraform makes one of an object: its values of one type. Strings, numbers and
/// booleans mixed become strings, as Terraform unifies them; other mixes are refused, as
/// Terraform refuses them ("tomap", Terraform language documentation, "Type Conversion").
fn tomap(args: FuncArgs) -> Result<Value, String> {
    let Value::Object(object) = &args[0] else {
        return Err(format!("tomap of {} is not defined", args[0]));
    };
    let kinds: std::collections::BTreeSet<&str> = object
        .values()
        .filter(|v| !v.is_null())
        .map(|v| match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => "primitive",
            Value::Array(_) => "list",
            _ => "object",
        })
        .collect();
    if kinds.len() > 1 {
        return Err(format!("tomap of {} mixes value types", args[0]));
    }
    let strings = object.values().any(Value::is_string);
    let mut out = Map::new();
    for (key, value) in object {
        let value = match value {
            Value::Number(_) | Value::Bool(_) if strings => {
                Value::String(primitive_string(value).expect("a primitive"))
            }
            other => other.clone(),
        };
        out.insert(key.clone(), value);
    }
    Ok(Value::Object(out))
}

/// A set as Terraform lists it: distinct elements, strings in lexical order.
fn toset(args: FuncArgs) -> Result<Value, String> {
    let Value::Array(mut items) = distinct(args)? else {
        unreachable!("distinct returns a list")
    };
    if items.iter().all(Value::is_string) {
        items.sort_by(|a, b| string(a).cmp(string(b)));
    }
    Ok(Value::Array(items))
}

fn tostring(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        value => primitive_string(value)
            .map(Value::String)
            .ok_or_else(|| format!("tostring of {value} is not defined")),
    }
}

fn trimprefix(args: FuncArgs) -> Result<Value, String> {
    let (text, prefix) = (string(&args[0]), string(&args[1]));
    Ok(Value::String(
        text.strip_prefix(prefix).unwrap_or(text).to_owned(),
    ))
}

fn trimsuffix(args: FuncArgs) -> Result<Value, String> {
    let (text, suffix) = (string(&args[0]), string(&args[1]));
    Ok(Value::String(
        text.strip_suffix(suffix).unwrap_or(text).to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::eval::Evaluate;

    fn eval(source: &str) -> Result<Value, String> {
        let mut ctx = Context::new();
        declare(&mut ctx);
        ctx.declare_var(
            "o",
            Value::Object(Map::from_iter([
                ("b".to_owned(), Value::from(2)),
                ("a".to_owned(), Value::from("x")),
            ])),
        );
        let expr: hcl::Expression = source.parse().unwrap();
        expr.evaluate(&ctx).map_err(|e| e.to_string())
    }

    fn json(source: &str) -> serde_json::Value {
        value_json(&eval(source).unwrap())
    }

    #[test]
    fn functions_behave_as_terraform_does() {
        use serde_json::json;
        assert_eq!(
            json(r#"concat(["a"], [], ["b", "a"])"#),
            json!(["a", "b", "a"])
        );
        assert_eq!(json(r#"distinct(["b", "a", "b"])"#), json!(["b", "a"]));
        assert_eq!(json(r#"toset(["b", "a", "b"])"#), json!(["a", "b"]));
        assert_eq!(
            json(r#"flatten([["a"], [["b"]], "c"])"#),
            json!(["a", "b", "c"])
        );
        assert_eq!(json(r#"compact(["a", "", null])"#), json!(["a"]));
        assert_eq!(json(r#"join(",", ["a", 1, true])"#), json!("a,1,true"));
        assert_eq!(json(r#"join("", [])"#), json!(""));
        assert_eq!(json("tostring(10)"), json!("10"));
        assert_eq!(json("tostring(null)"), json!(null));
        assert_eq!(
            json(r#"format("%s:%d/%v %q 100%%", "a", 7, true, "b")"#),
            json!("a:7/true \"b\" 100%")
        );
        assert_eq!(json(r#"coalesce(null, "", "x")"#), json!("x"));
        assert_eq!(json(r#"length(["a", "b"])"#), json!(2));
        assert_eq!(json("keys(o)"), json!(["a", "b"]));
        assert_eq!(json("values(o)"), json!(["x", 2]));
        assert_eq!(json(r#"lookup(o, "c", "d")"#), json!("d"));
        assert_eq!(json(r#"merge(o, {b = 3})"#), json!({"a": "x", "b": 3}));
        assert_eq!(json(r#"replace("a/b/c", "/", "-")"#), json!("a-b-c"));
        assert_eq!(json(r#"trimsuffix("a/", "/")"#), json!("a"));
        assert_eq!(json(r#"upper(lower("aB"))"#), json!("AB"));
        assert_eq!(json(r#"contains(["a"], "a")"#), json!(true));
        assert_eq!(json("tomap(o)"), json!({"a": "x", "b": "2"}));
        assert_eq!(json("tomap({})"), json!({}));
        assert_eq!(
            json(r#"jsonencode({b = "<&>", a = [1]})"#),
            json!(r#"{"a":[1],"b":"\u003c\u0026\u003e"}"#)
        );
    }

    #[test]
    fn unsupported_uses_fail_with_a_reason() {
        assert!(eval(r#"format("%x", 1)"#).unwrap_err().contains("%x"));
        assert!(eval(r#"format("%s")"#).unwrap_err().contains("more verbs"));
        assert!(eval(r#"replace("a", "/a/", "b")"#)
            .unwrap_err()
            .contains("regular expression"));
        assert!(eval(r#"join(",", [["a"]])"#).unwrap_err().contains("join"));
        assert!(eval(r#"tomap({a = "x", b = ["y"]})"#)
            .unwrap_err()
            .contains("mixes value types"));
    }
}
